-- 006: feedd.settle_statistics() gives a new articles table its first
-- planner statistics.
--
-- Why: the foreign-key checks behind every article_feeds insert look an
-- article up by (source_id, id).  PostgreSQL plans that lookup once per
-- session, when the session first inserts a link, and keeps the plan until
-- the table's statistics change.  Planned while feedd.articles is empty and
-- has never been analysed, it uses articles_source_published_idx with only
-- source_id as the index condition and filters on id: every check then
-- reads all of the source's articles, and a first import of many feeds
-- becomes quadratic (50,000 articles took twice as long as they should in
-- bench/poll).  Autovacuum fixes it after a minute or so; a first `feedd
-- once` does not wait that long.  So the daemon calls this once it has
-- inserted some articles in a session: while the table's statistics say
-- fewer than 1,000 rows, it analyses the article tables, which makes every
-- session plan the lookup again, now by the primary key.
--
-- SECURITY DEFINER because ANALYZE needs the table's owner and the daemon
-- may run as a feedd_writer (sql/roles.sql grants it EXECUTE).  Returns
-- whether it analysed.

CREATE FUNCTION feedd.settle_statistics()
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'feedd.articles'::regclass) >= 1000 THEN
    RETURN false;
  END IF;
  ANALYZE feedd.sources, feedd.feeds, feedd.articles, feedd.article_feeds;
  RETURN true;
END;
$$;

REVOKE EXECUTE ON FUNCTION feedd.settle_statistics() FROM PUBLIC;
