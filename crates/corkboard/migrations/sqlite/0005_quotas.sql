-- Answers remembered per user rather than per board, for mutations whose
-- board does not exist yet (board create) or no longer exists (board
-- delete): a retry with the same `op` gets the original answer. Keys are
-- `board.create:{op}` and `board.delete:{board}:{op}`; rows older than
-- --log-min-age are pruned.
CREATE TABLE user_ops (
    user_id TEXT NOT NULL,
    key     TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    status  INTEGER NOT NULL,
    body    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX user_ops_at ON user_ops(at);
-- Board create counts the boards its caller owns (--max-boards-per-user).
CREATE INDEX boards_owner ON boards(owner_id);
