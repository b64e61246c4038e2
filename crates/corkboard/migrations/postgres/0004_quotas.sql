-- Answers remembered per user rather than per board, for mutations whose
-- board does not exist yet (board create) or no longer exists (board
-- delete): a retry with the same `op` gets the original answer. Keys are
-- `board.create:{op}` and `board.delete:{board}:{op}`; rows older than
-- --log-min-age are pruned.
CREATE TABLE user_ops (
    user_id TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    status  BIGINT NOT NULL,
    body    TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX user_ops_at ON user_ops(at);
-- Board create counts the boards its caller owns (--max-boards-per-user).
CREATE INDEX boards_owner ON boards(owner_id);
