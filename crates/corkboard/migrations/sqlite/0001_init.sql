-- Corkboard schema, SQLite. Times are Unix milliseconds.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Sessions and API tokens; only a SHA-256 of the secret is stored.
CREATE TABLE credentials (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    name        TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX credentials_user ON credentials(user_id, kind);

-- seq: the board's last committed event. log_floor: events with seq <= log_floor were pruned.
CREATE TABLE boards (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    owner_id   TEXT NOT NULL REFERENCES users(id),
    seq        INTEGER NOT NULL DEFAULT 0,
    log_floor  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE members (
    board_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (board_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members(user_id);

-- *_v: the seq at which each field last changed (the conflict rule reads them).
-- Clustered by board: a snapshot is one range scan, an insert one b-tree write.
CREATE TABLE notes (
    board_id   TEXT NOT NULL,
    id         TEXT NOT NULL,
    text       TEXT NOT NULL,
    x          REAL NOT NULL,
    y          REAL NOT NULL,
    w          REAL NOT NULL,
    h          REAL NOT NULL,
    color      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    text_v     INTEGER NOT NULL,
    x_v        INTEGER NOT NULL,
    y_v        INTEGER NOT NULL,
    w_v        INTEGER NOT NULL,
    h_v        INTEGER NOT NULL,
    color_v    INTEGER NOT NULL,
    PRIMARY KEY (board_id, id)
) WITHOUT ROWID;

-- The event log: body is the event JSON exactly as sent to subscribers,
-- clustered by (board, seq) so a replay is one range scan.
CREATE TABLE events (
    board_id TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (board_id, seq)
) WITHOUT ROWID;

-- Idempotency: the original answer of each applied mutation, by op id or create id.
CREATE TABLE ops (
    board_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    status   INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (board_id, key)
) WITHOUT ROWID;
CREATE TABLE invites (
    token      TEXT PRIMARY KEY,
    board_id   TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX invites_board ON invites(board_id);

-- Per-user notifications; id increases per user.
CREATE TABLE notifications (
    user_id  TEXT NOT NULL,
    id       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    board_id TEXT,
    note_id  TEXT,
    by_id    TEXT NOT NULL,
    at       INTEGER NOT NULL,
    text     TEXT NOT NULL,
    read     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, id)
) WITHOUT ROWID;
