-- 022: ranked search over a period reads only the period's articles (issue
-- 15, part 3).
--
-- "Articles of the last 7 days that hold a word, best first" was answered by
-- two indexes and a BitmapAnd: the week's ~19,000 articles from the
-- publication-time index, and every article that holds the word from the
-- GIN index on search.  For a common word (in 45 % of a million articles)
-- the second half read 471,000 entries and checked each: 76 ms of a 102 ms
-- query.  The search index becomes one GIN index over (search,
-- published_at), with btree_gin's operator class for the timestamp: a
-- query with both conditions is one index scan that steps through the
-- word's entries only where the period has articles (9 ms for the same
-- word, 26 ms for the query; a word in 2 % of them 4.5 ms, was 9.5; a rare
-- term over all time unchanged, under a millisecond).  A search without a
-- period uses the same index.  The index count stays at nine.
--
-- The index holds only articles that have a search vector (WHERE search IS
-- NOT NULL; a search condition implies it, so every search can use it):
-- an article is stored without one and the search indexer fills it in a
-- second or so later (013), so the store's inserts no longer write to this
-- index at all, nor flush its pending list into a million-article index
-- in the middle of a first ingestion; the indexer's update does.
--
-- btree_gin is a contrib extension shipped with PostgreSQL and trusted:
-- whoever may create in the database may install it (as `feedd migrate`
-- does when it creates schema feedd).  Where the role that runs `feedd
-- migrate` may not, a superuser runs `CREATE EXTENSION btree_gin` once
-- (in any schema) and this migration uses it.  Installed here, its
-- functions live in schema feedd, as extension members.
--
-- Locks: as 015 and 020.  The index is built CONCURRENTLY (SHARE UPDATE
-- EXCLUSIVE on articles: inserts and updates go on; 83 s for a million
-- articles with maintenance_work_mem = 256MB on 2 cores, about ten times
-- that at ten million), the old one is dropped CONCURRENTLY, and until
-- then queries use the old one.  Each statement may run again; an
-- interrupted build leaves an invalid index that `feedd migrate` drops
-- before it runs this file again.
-- feedd: outside a transaction
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA feedd;
SET maintenance_work_mem = '256MB';
CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_search_time_idx
  ON feedd.articles USING gin (search, published_at) WHERE search IS NOT NULL;
RESET maintenance_work_mem;
DROP INDEX CONCURRENTLY IF EXISTS feedd.articles_search_idx;
