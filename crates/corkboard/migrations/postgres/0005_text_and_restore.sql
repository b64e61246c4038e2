-- Collaborative text: each note's Yjs document, compacted (the whole state as
-- one update). NULL until the text is first edited: the document is then
-- seeded from `text` (deterministically, by the server's client id 0).
ALTER TABLE notes ADD COLUMN text_state BYTEA;

-- Deleted notes as they were when deleted, for note.restore (undo of a
-- delete). A note restored leaves this table; deleted again, it comes back.
-- Gone with their board.
CREATE TABLE deleted_notes (
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
    text_state BYTEA,
    PRIMARY KEY (board_id, id)
);
