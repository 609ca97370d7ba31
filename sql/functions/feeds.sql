-- Sources and feeds as the configuration declares them: sync_source and
-- sync_feed, called for each at every start and reload.  (Code, not
-- history: see the head of articles.sql.)

-- sync_source(name, home): creates or updates the source of that name and
-- returns its id.  An unchanged source is not rewritten.
CREATE OR REPLACE FUNCTION feedd.sync_source(p_name text, p_home text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO feedd.sources AS s (name, home)
  VALUES (p_name, p_home)
  ON CONFLICT (name) DO UPDATE
    SET home = excluded.home, updated_at = now()
    WHERE s.home IS DISTINCT FROM excluded.home
  RETURNING s.id INTO v_id;
  IF v_id IS NULL THEN
    SELECT s.id INTO v_id FROM feedd.sources s WHERE s.name = p_name;
  END IF;
  RETURN v_id;
END;
$$;

CREATE OR REPLACE FUNCTION feedd.sync_feed(p_name text, p_source text, p_url text,
                                           p_interval_s int, p_enabled bool)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_source bigint;
  v_id bigint;
  v_keep bool;
BEGIN
  SELECT s.id INTO v_source FROM feedd.sources s WHERE s.name = p_source;
  IF v_source IS NULL THEN
    RAISE EXCEPTION 'feedd.sync_feed: feed "%": unknown source "%"', p_name, p_source
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  -- feedd's own verdict on this URL, which the configuration did not give.
  SELECT p_enabled AND NOT f.enabled AND f.disabled_reason IS NOT NULL
         AND f.disabled_reason <> 'disabled in the configuration' AND f.url = p_url
    INTO v_keep
    FROM feedd.feeds f WHERE f.name = p_name;
  v_keep := coalesce(v_keep, false);
  INSERT INTO feedd.feeds AS f (source_id, name, url, interval_s, enabled, disabled_reason)
  VALUES (v_source, p_name, p_url, p_interval_s, p_enabled,
          CASE WHEN NOT p_enabled THEN 'disabled in the configuration' END)
  ON CONFLICT (name) DO UPDATE
    SET source_id = excluded.source_id,
        url = excluded.url,
        interval_s = excluded.interval_s,
        enabled = CASE WHEN v_keep THEN f.enabled ELSE excluded.enabled END,
        disabled_reason = CASE WHEN v_keep THEN f.disabled_reason ELSE excluded.disabled_reason END,
        etag = CASE WHEN f.url = excluded.url THEN f.etag END,
        last_modified = CASE WHEN f.url = excluded.url THEN f.last_modified END,
        permanent_url = CASE WHEN f.url = excluded.url THEN f.permanent_url END,
        updated_at = now()
    WHERE (f.source_id, f.url, f.interval_s) IS DISTINCT FROM
          (excluded.source_id, excluded.url, excluded.interval_s)
       OR (NOT v_keep AND (f.enabled, f.disabled_reason) IS DISTINCT FROM
                          (excluded.enabled, excluded.disabled_reason))
  RETURNING f.id INTO v_id;
  IF v_id IS NULL THEN
    SELECT f.id INTO v_id FROM feedd.feeds f WHERE f.name = p_name;
  END IF;
  RETURN v_id;
END;
$$;
