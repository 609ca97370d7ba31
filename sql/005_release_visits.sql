-- 005: feedd.release_visits hands claimed pages back.  A daemon that stops
-- with pages claimed but not yet fetched releases them, so that they are due
-- at once for the next daemon rather than when their lease ends.

CREATE FUNCTION feedd.release_visits(p_sources text[], p_news_ids text[])
RETURNS int
LANGUAGE sql
AS $$
  WITH released AS (
    UPDATE feedd.articles AS a
    SET next_visit_at = now()
    FROM unnest(p_sources, p_news_ids) AS r(source, news_id), feedd.sources s
    WHERE s.name = r.source AND a.source_id = s.id AND a.news_id = r.news_id
      AND a.next_visit_at > now()
    RETURNING 1
  )
  SELECT count(*)::int FROM released;
$$;
