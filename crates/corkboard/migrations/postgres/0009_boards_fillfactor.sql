-- Room on each page of `boards` for updated rows.
--
-- Every mutation updates its board's row (the seq). Since 0008 the table
-- has a GIN index (`boards_search`), and an update that cannot stay on its
-- page (not a HOT update) must insert into every index, the GIN one too:
-- in psql, 20,000 seq updates over 64 boards took 1.63–1.74 s with the index
-- against 0.95 s without it. With half of each page kept free, the updates
-- stay HOT and skip the indexes: 0.80–0.93 s with the index. Applies to
-- pages written from now on (all of them on a new database).
ALTER TABLE boards SET (fillfactor = 50);
