-- Search (GET /api/search): one FTS5 row per live note (its text) and one
-- per board (its title). FTS5 needs integer rowids and notes are WITHOUT
-- ROWID, so `search_keys` gives each (board, note) its rowid; note_id is ''
-- for a board's title. The triggers below keep both tables in step with
-- every write to `notes` and `boards`, inside the writing transaction:
-- creates, text changes (plain and Yjs edits alike: both rewrite
-- `notes.text`), deletes (a deleted note leaves `notes`), restores (it comes
-- back), renames and board deletes (its notes are deleted first).
CREATE TABLE search_keys (
    rowid    INTEGER PRIMARY KEY,
    board_id TEXT NOT NULL,
    note_id  TEXT NOT NULL,
    UNIQUE (board_id, note_id)
);

-- Words are folded like the server's query parser does (lowercase, no
-- diacritics); prefix indexes make the prefix queries ("sti"*) cheap.
CREATE VIRTUAL TABLE search_fts USING fts5(
    body,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

CREATE TRIGGER search_note_insert AFTER INSERT ON notes BEGIN
    INSERT INTO search_keys (board_id, note_id) VALUES (new.board_id, new.id);
    INSERT INTO search_fts (rowid, body) VALUES (last_insert_rowid(), new.text);
END;

-- The writer's upsert names `text` in every update (moves too): only a
-- real change of the text touches the index.
CREATE TRIGGER search_note_text AFTER UPDATE OF text ON notes
WHEN old.text IS NOT new.text BEGIN
    UPDATE search_fts SET body = new.text WHERE rowid =
        (SELECT rowid FROM search_keys WHERE board_id = new.board_id AND note_id = new.id);
END;

CREATE TRIGGER search_note_delete AFTER DELETE ON notes BEGIN
    DELETE FROM search_fts WHERE rowid =
        (SELECT rowid FROM search_keys WHERE board_id = old.board_id AND note_id = old.id);
    DELETE FROM search_keys WHERE board_id = old.board_id AND note_id = old.id;
END;

CREATE TRIGGER search_board_insert AFTER INSERT ON boards BEGIN
    INSERT INTO search_keys (board_id, note_id) VALUES (new.id, '');
    INSERT INTO search_fts (rowid, body) VALUES (last_insert_rowid(), new.title);
END;

CREATE TRIGGER search_board_title AFTER UPDATE OF title ON boards
WHEN old.title IS NOT new.title BEGIN
    UPDATE search_fts SET body = new.title WHERE rowid =
        (SELECT rowid FROM search_keys WHERE board_id = new.id AND note_id = '');
END;

CREATE TRIGGER search_board_delete AFTER DELETE ON boards BEGIN
    DELETE FROM search_fts WHERE rowid IN
        (SELECT rowid FROM search_keys WHERE board_id = old.id);
    DELETE FROM search_keys WHERE board_id = old.id;
END;

-- What exists already.
INSERT INTO search_keys (board_id, note_id) SELECT id, '' FROM boards;
INSERT INTO search_keys (board_id, note_id) SELECT board_id, id FROM notes;
INSERT INTO search_fts (rowid, body)
    SELECT k.rowid, b.title FROM search_keys k JOIN boards b ON b.id = k.board_id
    WHERE k.note_id = '';
INSERT INTO search_fts (rowid, body)
    SELECT k.rowid, n.text FROM search_keys k
    JOIN notes n ON n.board_id = k.board_id AND n.id = k.note_id;
