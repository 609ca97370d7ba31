-- settle_statistics: analyses the article tables of a fresh database once
-- the first articles are in, so that the planner does not keep plans made
-- for empty tables (see sql/006).  SECURITY DEFINER because ANALYZE needs
-- the tables' owner and the daemon's role is not.  (Code, not history: see
-- the head of articles.sql.)
CREATE OR REPLACE FUNCTION feedd.settle_statistics()
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
