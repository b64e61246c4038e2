-- Search (GET /api/search): generated tsvector columns with GIN indexes,
-- so the index follows every write to a note's text or a board's title in
-- the writing transaction, and existing rows are indexed by this migration
-- (adding a stored generated column computes it for every row).
--
-- Words are folded like SQLite's `unicode61 remove_diacritics 2` and the
-- server's query parser: lowercase, without diacritics (the `unaccent`
-- extension, shipped with PostgreSQL's contrib and trusted, so a database
-- owner may create it), and not stemmed (the 'simple' configuration). A
-- generated column needs an immutable function: the dictionary is named
-- explicitly and the search path pinned, which makes this one so.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE FUNCTION corkboard_search_words(t text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    SET search_path = public, pg_temp
    AS $$ SELECT to_tsvector('simple', lower(unaccent('unaccent'::regdictionary, t))) $$;

ALTER TABLE notes ADD COLUMN search tsvector
    GENERATED ALWAYS AS (corkboard_search_words(text)) STORED;
CREATE INDEX notes_search ON notes USING GIN (search);

ALTER TABLE boards ADD COLUMN search tsvector
    GENERATED ALWAYS AS (corkboard_search_words(title)) STORED;
CREATE INDEX boards_search ON boards USING GIN (search);
