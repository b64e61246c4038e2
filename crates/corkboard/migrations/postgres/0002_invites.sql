-- Invites (security issue 17, item 4): the token is stored as its SHA-256
-- (hex), never in plaintext; an invite expires, may be single use
-- (max_uses 1; 0 is unlimited) and can be revoked by the owner.
-- Existing links are kept, hashed here, and expire 7 days after they were
-- created (so links older than that stop working at once).
DROP INDEX invites_board;
ALTER TABLE invites RENAME TO invites_old;
CREATE TABLE invites (
    id            TEXT COLLATE "C" PRIMARY KEY,
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    board_id      TEXT COLLATE "C" NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by    TEXT COLLATE "C" NOT NULL,
    -- The user the invite names (notified), if any.
    target_id     TEXT COLLATE "C",
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    max_uses      BIGINT NOT NULL DEFAULT 0,
    uses          BIGINT NOT NULL DEFAULT 0,
    revoked_at    BIGINT,
    -- Idempotency: the creator's op id and the answer replayed to a retry
    -- (cleared on revocation).
    create_op     TEXT COLLATE "C",
    create_answer TEXT
);
INSERT INTO invites (id, token_hash, board_id, role, created_by, created_at, expires_at)
SELECT 'legacy-' || md5(token), encode(sha256(convert_to(token, 'UTF8')), 'hex'),
       board_id, role, created_by, created_at, created_at + 604800000
FROM invites_old;
DROP TABLE invites_old;
CREATE INDEX invites_board ON invites(board_id);
CREATE INDEX invites_creator ON invites(created_by, created_at);
CREATE UNIQUE INDEX invites_op ON invites(board_id, created_by, create_op);

-- When an owner last removed a member or lowered their role: invites
-- created before then cannot bring that user back.
CREATE TABLE member_cuts (
    board_id TEXT COLLATE "C" NOT NULL,
    user_id  TEXT COLLATE "C" NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (board_id, user_id)
);
