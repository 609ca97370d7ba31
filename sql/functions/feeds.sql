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

-- sync_feed(name, source, url, interval_s, enabled, group, config_at):
-- creates or updates the feed of that name as the configuration of group
-- p_group, written at p_config_at, declares it (sql/014_feed_groups.sql),
-- and returns its id.  Its row is left as it is when
--  * an older configuration than the one that last changed it speaks
--    (config_at later than p_config_at): a machine that missed a deploy
--    does not undo it;
--  * another group's configuration has it enabled: two groups do not take
--    a feed from each other (one that group disabled may be taken, and so
--    may a row no configuration has claimed since migration 014).
-- feedd's own disable (HTTP 410) at an unchanged URL is kept (sql/008).
CREATE OR REPLACE FUNCTION feedd.sync_feed(p_name text, p_source text, p_url text,
                                           p_interval_s int, p_enabled bool,
                                           p_group text DEFAULT 'default',
                                           p_config_at timestamptz DEFAULT NULL)
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
  INSERT INTO feedd.feeds AS f (source_id, name, url, interval_s, enabled, disabled_reason,
                                group_name, config_at)
  VALUES (v_source, p_name, p_url, p_interval_s, p_enabled,
          CASE WHEN NOT p_enabled THEN 'disabled in the configuration' END,
          coalesce(p_group, 'default'), p_config_at)
  ON CONFLICT (name) DO UPDATE
    SET source_id = excluded.source_id,
        url = excluded.url,
        interval_s = excluded.interval_s,
        enabled = CASE WHEN v_keep THEN f.enabled ELSE excluded.enabled END,
        disabled_reason = CASE WHEN v_keep THEN f.disabled_reason ELSE excluded.disabled_reason END,
        etag = CASE WHEN f.url = excluded.url THEN f.etag END,
        last_modified = CASE WHEN f.url = excluded.url THEN f.last_modified END,
        permanent_url = CASE WHEN f.url = excluded.url THEN f.permanent_url END,
        group_name = excluded.group_name,
        config_at = coalesce(excluded.config_at, f.config_at),
        updated_at = now()
    WHERE ((f.source_id, f.url, f.interval_s, f.group_name) IS DISTINCT FROM
           (excluded.source_id, excluded.url, excluded.interval_s, excluded.group_name)
           OR (NOT v_keep AND (f.enabled, f.disabled_reason) IS DISTINCT FROM
                              (excluded.enabled, excluded.disabled_reason))
           OR (f.config_at IS NULL AND excluded.config_at IS NOT NULL))
      AND NOT coalesce(f.config_at > excluded.config_at, false)
      AND (f.group_name = excluded.group_name OR NOT f.enabled OR f.config_at IS NULL)
  RETURNING f.id INTO v_id;
  IF v_id IS NULL THEN
    SELECT f.id INTO v_id FROM feedd.feeds f WHERE f.name = p_name;
  END IF;
  RETURN v_id;
END;
$$;
