-- Search: the articles' full-text vector, computed off the daemon's
-- critical path (see sql/013_search_off_path.sql).

-- search_vector: what articles.search holds for an article's title, lead
-- and body.  The inputs are cut to lengths whose lexemes always fit a
-- tsvector (at most 1 MB), so that an enormous body is still stored (and
-- searchable in its first 200000 characters) rather than rejected.
-- 'simple' because feeds come in every language and stemming one would
-- mangle the others.
CREATE OR REPLACE FUNCTION feedd.search_vector(p_title text, p_lead text, p_body text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT setweight(to_tsvector('simple', left(coalesce(p_title, ''), 2000)), 'A') ||
         setweight(to_tsvector('simple', left(coalesce(p_lead, ''), 10000)), 'B') ||
         setweight(to_tsvector('simple', left(coalesce(p_body, ''), 200000)), 'C')
$$;

-- index_search: fills articles.search for up to p_limit articles that have
-- none, oldest first, skipping rows another session holds.  Returns how
-- many it indexed and, of those it left, the oldest one's first sight
-- (NULL: none left).
CREATE OR REPLACE FUNCTION feedd.index_search(p_limit int)
RETURNS TABLE (indexed int, oldest_waiting timestamptz)
LANGUAGE sql
AS $$
  WITH todo AS (
    SELECT a.source_id, a.id FROM feedd.articles a
    WHERE a.search IS NULL
    ORDER BY a.first_seen_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), done AS (
    UPDATE feedd.articles AS a SET search = feedd.search_vector(a.title, a.lead, a.body)
    FROM todo WHERE a.source_id = todo.source_id AND a.id = todo.id
    RETURNING 1
  )
  -- The oldest left: the waiting rows in order, the first not in todo
  -- (hashed).  min() over an anti-join with todo compared every waiting
  -- row with every row of todo: 456 ms a call with 15,000 waiting, where
  -- this takes 103 ms; a slower indexer let more wait, so it fell behind.
  SELECT (SELECT count(*)::int FROM done),
         (SELECT a.first_seen_at FROM feedd.articles a
          WHERE a.search IS NULL
            AND (a.source_id, a.id) NOT IN (SELECT t.source_id, t.id FROM todo t)
          ORDER BY a.first_seen_at LIMIT 1)
$$;

-- An UPDATE that changes title, lead or body computes the vector at once.
CREATE OR REPLACE FUNCTION feedd.articles_search_refresh()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.search := feedd.search_vector(NEW.title, NEW.lead, NEW.body);
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS articles_search_refresh ON feedd.articles;
CREATE TRIGGER articles_search_refresh
  BEFORE UPDATE OF title, lead, body ON feedd.articles
  FOR EACH ROW
  WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.lead IS DISTINCT FROM NEW.lead
        OR OLD.body IS DISTINCT FROM NEW.body)
  EXECUTE FUNCTION feedd.articles_search_refresh();
