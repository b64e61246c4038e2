-- History checkpoints: the board's replay state (title, notes) right after
-- event `seq`, for every multiple of --history-checkpoint-every that a
-- history read has replayed past. A read starts from the nearest one at or
-- below its position instead of from the board's creation. Written after
-- the fact from the immutable event log, so any row can be dropped (history
-- stays exact, only slower); they go with their board.
CREATE TABLE history_checkpoints (
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (board_id, seq)
) WITHOUT ROWID;
