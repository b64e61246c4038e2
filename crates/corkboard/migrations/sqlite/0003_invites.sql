-- Invites (security issue 17, item 4): the token is stored as its SHA-256
-- (hex), never in plaintext; an invite expires, may be single use
-- (max_uses 1; 0 is unlimited) and can be revoked by the owner.
-- Old rows held plaintext tokens and SQLite has no SHA-256, so they are
-- dropped: links created before this migration stop working.
DROP TABLE invites;
CREATE TABLE invites (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    board_id      TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by    TEXT NOT NULL,
    -- The user the invite names (notified), if any.
    target_id     TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    max_uses      INTEGER NOT NULL DEFAULT 0,
    uses          INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER,
    -- Idempotency: the creator's op id and the answer replayed to a retry
    -- (cleared on revocation).
    create_op     TEXT,
    create_answer TEXT
);
CREATE INDEX invites_board ON invites(board_id);
CREATE INDEX invites_creator ON invites(created_by, created_at);
CREATE UNIQUE INDEX invites_op ON invites(board_id, created_by, create_op);

-- When an owner last removed a member or lowered their role: invites
-- created before then cannot bring that user back.
CREATE TABLE member_cuts (
    board_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (board_id, user_id)
) WITHOUT ROWID;
