-- The instances table's one writer (sql/016_instances.sql).  (Code, not
-- history: see the head of articles.sql.)

-- instance_beat: creates the instance's row or beats it; p_stopping marks
-- it stopped.
CREATE OR REPLACE FUNCTION feedd.instance_beat(p_id text, p_group text, p_host text,
                                               p_pid int, p_version text,
                                               p_started_at timestamptz, p_feeds int,
                                               p_config_at timestamptz, p_stopping bool)
RETURNS void
LANGUAGE sql
AS $$
  INSERT INTO feedd.instances AS i (id, group_name, host, pid, version, started_at,
                                    heartbeat_at, stopped_at, feeds, config_at)
  VALUES (p_id, p_group, p_host, p_pid, p_version, p_started_at, now(),
          CASE WHEN p_stopping THEN now() END, p_feeds, p_config_at)
  ON CONFLICT (id) DO UPDATE
    SET heartbeat_at = now(),
        stopped_at = excluded.stopped_at,
        feeds = excluded.feeds,
        config_at = excluded.config_at;
$$;
