-- Corkboard schema, PostgreSQL. The same tables as the SQLite schema, with
-- BIGINT ids/seqs and times as Unix milliseconds (BIGINT). Identifiers and
-- names use the "C" collation so that ORDER BY gives the same (bytewise)
-- order as SQLite, whatever the database's default collation.

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Sessions and API tokens; only a SHA-256 of the secret is stored.
CREATE TABLE credentials (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    name        TEXT,
    secret_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX credentials_user ON credentials(user_id, kind);

-- seq: the board's last committed event; a mutation locks this row
-- (SELECT … FOR UPDATE) and bumps it in its transaction, so seqs have no
-- gap and no duplicate whichever node writes. log_floor: events with
-- seq <= log_floor were pruned. note_count: the number of rows in notes for
-- this board, kept in the same transactions (the note limit reads it).
CREATE TABLE boards (
    id         TEXT COLLATE "C" PRIMARY KEY,
    title      TEXT NOT NULL,
    owner_id   TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    seq        BIGINT NOT NULL DEFAULT 0,
    log_floor  BIGINT NOT NULL DEFAULT 0,
    note_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE members (
    board_id  TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (board_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

-- *_v: the seq at which each field last changed (the conflict rule reads them).
CREATE TABLE notes (
    board_id   TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    text       TEXT NOT NULL,
    x          DOUBLE PRECISION NOT NULL,
    y          DOUBLE PRECISION NOT NULL,
    w          DOUBLE PRECISION NOT NULL,
    h          DOUBLE PRECISION NOT NULL,
    color      TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    text_v     BIGINT NOT NULL,
    x_v        BIGINT NOT NULL,
    y_v        BIGINT NOT NULL,
    w_v        BIGINT NOT NULL,
    h_v        BIGINT NOT NULL,
    color_v    BIGINT NOT NULL,
    PRIMARY KEY (board_id, id)
);

-- The event log: body is the event JSON exactly as sent to subscribers
-- (TEXT, not JSONB, so the bytes are kept as they are).
CREATE TABLE events (
    board_id TEXT COLLATE "C" NOT NULL,
    seq      BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (board_id, seq)
);

-- Idempotency: the original answer of each applied mutation, by op id or create id.
CREATE TABLE ops (
    board_id TEXT COLLATE "C" NOT NULL,
    key      TEXT COLLATE "C" NOT NULL,
    seq      BIGINT NOT NULL,
    status   BIGINT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (board_id, key)
);

CREATE TABLE invites (
    token      TEXT COLLATE "C" PRIMARY KEY,
    board_id   TEXT COLLATE "C" NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX invites_board ON invites(board_id);

-- Per-user notifications; id increases per user.
CREATE TABLE notifications (
    user_id  TEXT COLLATE "C" NOT NULL,
    id       BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    board_id TEXT COLLATE "C",
    note_id  TEXT COLLATE "C",
    by_id    TEXT COLLATE "C" NOT NULL,
    at       BIGINT NOT NULL,
    text     TEXT NOT NULL,
    read     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX notifications_board ON notifications(board_id);

-- The last notification id given to each user. A transaction that adds a
-- notification bumps this row, which locks it until commit: ids are handed
-- out in commit order per user and never reused (not even after a board's
-- notifications are deleted with it).
CREATE TABLE notification_counters (
    user_id TEXT COLLATE "C" PRIMARY KEY,
    last_id BIGINT NOT NULL
);
