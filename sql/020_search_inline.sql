-- 020: the week's ranked search and the week's tags read less (issue 15,
-- part 3).
--
-- articles.search is kept in the row (STORAGE MAIN) instead of in TOAST:
-- a tsvector with positions is ~2.5 kB for a 300-word article, just over
-- the 2 kB at which PostgreSQL moves a column out of line, so every
-- ts_rank fetched it back from the TOAST table through its index.  Ranking
-- the ~9,000 articles of a week that hold a common word took 79 ms that way
-- and 17 ms in the row (bench/scale's rows, all in memory).  A row still
-- over a page is moved out as before.  Existing articles keep their stored
-- form until the row is written again (the search indexer, an update of
-- the article); nothing is rewritten here.  The heap grows by what TOAST
-- loses (34 -> 58 MB for 21,581 articles, the total the same), which is why
-- the second index below exists.
--
-- articles_recent_idx (publication time, undated last) becomes
-- articles_recent_cover_idx, the same key covering source_id and tags: the
-- tags of a period and the articles per source and day are then read from
-- the index alone (77 ms -> 19 ms for the week's tags above), not from
-- ~19,000 wide rows.  The index count stays at ten.
--
-- Locks: ALTER COLUMN ... SET STORAGE changes the catalog only, under an
-- ACCESS EXCLUSIVE lock held for a moment; lock_timeout makes it give up
-- (the migration fails, saying so, and can run again) rather than queue
-- behind a long query on articles with every writer queued behind it.  The
-- index is built CONCURRENTLY (SHARE UPDATE EXCLUSIVE: inserts and updates
-- go on) and the old one dropped CONCURRENTLY, as in 015.  Each statement
-- may run again.
-- feedd: outside a transaction
SET lock_timeout = '10s';
ALTER TABLE feedd.articles ALTER COLUMN search SET STORAGE MAIN;
RESET lock_timeout;
CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_recent_cover_idx
  ON feedd.articles (published_at DESC NULLS LAST) INCLUDE (source_id, tags);
DROP INDEX CONCURRENTLY IF EXISTS feedd.articles_recent_idx;
