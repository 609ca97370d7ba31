-- 015: "newest first, undated last" is read from an index (issue 15, part 3).
--
-- The two publication-time indexes sorted NULLs first (the default for
-- DESC), so the natural query, ORDER BY published_at DESC NULLS LAST, could
-- not use them: PostgreSQL read every article of the source (or all of
-- them) and sorted, 620 ms at 60,000 articles where the index answers in a
-- few.  They are built again with NULLS LAST, which still serves every
-- range condition on published_at (the week's tags, articles per day).
--
-- Outside a transaction (the marker below; daemon/store/migrate.c): CREATE
-- INDEX CONCURRENTLY takes a SHARE UPDATE EXCLUSIVE lock on feedd.articles,
-- which lets the daemon insert and update throughout the build, and DROP
-- INDEX CONCURRENTLY waits for the queries using the old index instead of
-- blocking everyone behind an ACCESS EXCLUSIVE lock.  No lock on articles
-- blocks a write for longer than a moment.  Each statement may run again:
-- a build that did not finish leaves an invalid index, which `feedd
-- migrate` drops before it runs this file again.
-- feedd: outside a transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_source_recent_idx
  ON feedd.articles (source_id, published_at DESC NULLS LAST);
CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_recent_idx
  ON feedd.articles (published_at DESC NULLS LAST);
DROP INDEX CONCURRENTLY IF EXISTS feedd.articles_source_published_idx;
DROP INDEX CONCURRENTLY IF EXISTS feedd.articles_published_idx;
