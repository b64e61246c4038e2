-- Board history (protocol.md, "History"): events are kept for the board's
-- life, and history replays them onto the board as it was created. The
-- title it was created with is recorded here. NULL for boards created
-- before: their current title is the initial one when they were never
-- renamed; otherwise the title before their first rename is unknown and
-- history below that rename is `gone`.
ALTER TABLE boards ADD COLUMN initial_title TEXT;
