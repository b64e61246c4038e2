-- Collaborative text: each note's Yjs document, compacted (the whole state as
-- one update). NULL until the text is first edited: the document is then
-- seeded from `text` (deterministically, by the server's client id 0).
ALTER TABLE notes ADD COLUMN text_state BLOB;

-- Deleted notes as they were when deleted, for note.restore (undo of a
-- delete). A note restored leaves this table; deleted again, it comes back.
-- Gone with their board.
CREATE TABLE deleted_notes (
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
    text_state BLOB,
    PRIMARY KEY (board_id, id)
) WITHOUT ROWID;
