-- Polls: one row per fetch of a feed, with the feed's fetch state
-- (validators, next poll, errors).  record_fetch is what the daemon calls,
-- record_fetches the same for consecutive polls in one statement;
-- record_poll is the older call without fetch state.  (Code, not history:
-- see the head of articles.sql.)

-- record_poll(...): records one fetch of feed p_feed.  A second call with
-- the same (feed, started_at) changes nothing, so a resent poll is harmless.
-- Unless a later poll of the feed is already recorded (polls replayed from
-- the spool arrive late), it also sets the feed's last_status and either
-- last_success_at and error_count = 0 (no error and a status below 400 or
-- none) or error_count + 1.
CREATE OR REPLACE FUNCTION feedd.record_poll(p_feed text, p_started_at timestamptz, p_duration_ms int,
                                  p_http_status int, p_bytes bigint, p_items_seen int,
                                  p_new_items int, p_error text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_feed bigint;
  v_ok boolean := p_error IS NULL AND (p_http_status IS NULL OR p_http_status < 400);
  v_rows int;
BEGIN
  SELECT f.id INTO v_feed FROM feedd.feeds f WHERE f.name = p_feed;
  IF v_feed IS NULL THEN
    RAISE EXCEPTION 'feedd.record_poll: unknown feed "%"', p_feed
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  INSERT INTO feedd.polls (feed_id, started_at, duration_ms, http_status, bytes, items_seen,
                           new_items, error)
  VALUES (v_feed, p_started_at, p_duration_ms, p_http_status, p_bytes, p_items_seen,
          p_new_items, p_error)
  ON CONFLICT (feed_id, started_at) DO NOTHING;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  IF v_rows = 0 THEN
    RETURN;
  END IF;
  UPDATE feedd.feeds AS f
  SET last_status = p_http_status,
      last_success_at = CASE WHEN v_ok THEN p_started_at ELSE f.last_success_at END,
      error_count = CASE WHEN v_ok THEN 0 ELSE f.error_count + 1 END
  WHERE f.id = v_feed
    AND NOT EXISTS (SELECT 1 FROM feedd.polls p
                    WHERE p.feed_id = v_feed AND p.started_at > p_started_at);
END;
$$;

-- record_fetch(...): record_poll plus the feed's fetch state: its
-- validators (ETag, Last-Modified) and the next poll time, the permanent URL
-- a redirect gave and a disable (410 Gone) with its reason.  A resent poll
-- (same feed and started_at) changes nothing; a poll older than the last
-- recorded one does not roll the feed's state back.  p_instance, the
-- instance that polled, is kept in the poll's row, and the feed's lease is
-- given back if that instance still holds it (sql/017_feed_leases.sql).
CREATE OR REPLACE FUNCTION feedd.record_fetch(p_feed text, p_started_at timestamptz,
                                              p_duration_ms int, p_http_status int,
                                              p_bytes bigint, p_items_seen int,
                                              p_new_items int, p_error text, p_etag text,
                                              p_last_modified text,
                                              p_next_poll_at timestamptz,
                                              p_permanent_url text, p_disabled_reason text,
                                              p_instance text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_feed bigint;
  v_new boolean;
  v_ok boolean := p_error IS NULL AND (p_http_status IS NULL OR p_http_status < 400);
BEGIN
  INSERT INTO feedd.polls AS p (feed_id, started_at, duration_ms, http_status, bytes, items_seen,
                                new_items, error, instance)
  SELECT f.id, p_started_at, p_duration_ms, p_http_status, p_bytes, p_items_seen, p_new_items,
         p_error, p_instance
  FROM feedd.feeds f WHERE f.name = p_feed
  ON CONFLICT (feed_id, started_at) DO NOTHING
  RETURNING p.feed_id INTO v_feed;
  v_new := v_feed IS NOT NULL;
  IF NOT v_new THEN
    -- Sent before (its counters were counted then), or no such feed.
    SELECT f.id INTO v_feed FROM feedd.feeds f WHERE f.name = p_feed;
    IF v_feed IS NULL THEN
      RAISE EXCEPTION 'feedd.record_fetch: unknown feed "%"', p_feed
        USING ERRCODE = 'foreign_key_violation';
    END IF;
  END IF;
  -- A late re-send of an older poll must not roll the state back.
  UPDATE feedd.feeds AS f
  SET etag = coalesce(p_etag, f.etag),
      last_modified = coalesce(p_last_modified, f.last_modified),
      next_poll_at = p_next_poll_at,
      permanent_url = coalesce(p_permanent_url, f.permanent_url),
      disabled_reason = coalesce(p_disabled_reason, f.disabled_reason),
      enabled = f.enabled AND p_disabled_reason IS NULL,
      updated_at = now(),
      last_status = CASE WHEN v_new THEN p_http_status ELSE f.last_status END,
      last_success_at = CASE WHEN v_new AND v_ok THEN p_started_at ELSE f.last_success_at END,
      error_count = CASE WHEN NOT v_new THEN f.error_count
                         WHEN v_ok THEN 0
                         ELSE f.error_count + 1 END,
      lease_holder = CASE WHEN f.lease_holder = p_instance THEN NULL ELSE f.lease_holder END,
      lease_until = CASE WHEN f.lease_holder = p_instance THEN NULL ELSE f.lease_until END
  WHERE f.id = v_feed
    AND NOT EXISTS (SELECT 1 FROM feedd.polls p
                    WHERE p.feed_id = v_feed AND p.started_at > p_started_at);
END;
$$;

-- record_fetches(...): record_fetch for several polls at once, each
-- parameter an array with one element per poll (p_instance may be NULL:
-- none known); returns how many.
CREATE OR REPLACE FUNCTION feedd.record_fetches(p_feed text[], p_started_at timestamptz[],
                                     p_duration_ms int[], p_http_status int[],
                                     p_bytes bigint[], p_items_seen int[], p_new_items int[],
                                     p_error text[], p_etag text[], p_last_modified text[],
                                     p_next_poll_at timestamptz[], p_permanent_url text[],
                                     p_disabled_reason text[],
                                     p_instance text[] DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
  n int := coalesce(array_length(p_feed, 1), 0);
BEGIN
  IF EXISTS (SELECT 1 FROM unnest(ARRAY[array_length(p_started_at, 1),
                                        array_length(p_duration_ms, 1),
                                        array_length(p_http_status, 1),
                                        array_length(p_bytes, 1),
                                        array_length(p_items_seen, 1),
                                        array_length(p_new_items, 1),
                                        array_length(p_error, 1),
                                        array_length(p_etag, 1),
                                        array_length(p_last_modified, 1),
                                        array_length(p_next_poll_at, 1),
                                        array_length(p_permanent_url, 1),
                                        array_length(p_disabled_reason, 1),
                                        coalesce(array_length(p_instance, 1), n)]) AS l(len)
             WHERE coalesce(l.len, 0) <> n) THEN
    RAISE EXCEPTION 'feedd.record_fetches: the arrays differ in length'
      USING ERRCODE = 'array_subscript_error';
  END IF;
  FOR i IN 1 .. n LOOP
    PERFORM feedd.record_fetch(p_feed[i], p_started_at[i], p_duration_ms[i], p_http_status[i],
                               p_bytes[i], p_items_seen[i], p_new_items[i], p_error[i],
                               p_etag[i], p_last_modified[i], p_next_poll_at[i],
                               p_permanent_url[i], p_disabled_reason[i], p_instance[i]);
  END LOOP;
  RETURN n;
END;
$$;

-- maintain_polls(retention, ahead, now): the upkeep of the partitions of
-- feedd.polls (sql/019_polls_partitioned.sql), which `feedd run` calls at
-- start and every hour (on the search indexer's connection, off the
-- store's path); several instances may call it, one at a time does the
-- work (the others get NULL at once).  As of p_now, with the cutoff the
-- start of the UTC day p_retention_s before it (none when 0 or NULL):
--   1. a partition for each UTC day from today to p_ahead_days ahead, and
--      for each earlier day since the cutoff that polls_default has rows
--      of; each takes its day's rows from polls_default (made apart,
--      filled, then attached: a brief lock on polls_default, none that
--      stops inserts into the other partitions);
--   2. each complete day since the cutoff rolled up into poll_stats if it
--      is not there yet, and yesterday and the day before again (records
--      from a spool come late);
--   3. the partitions (polls_legacy too) that end by the cutoff are rolled
--      up once more and dropped, so is an empty polls_legacy whatever the
--      retention, and rows of polls_default before the
--      cutoff (records that came after their day was dropped) are added to
--      their day's counts and deleted.
-- Returns what it did, in one line (NULL: another call was under way).
-- SECURITY DEFINER: it runs with the rights of the schema's owner (who
-- runs feedd migrate), since feedd_writer may not create or drop tables.
CREATE OR REPLACE FUNCTION feedd.maintain_polls(p_retention_s bigint, p_ahead_days int DEFAULT 7,
                                                p_now timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_today timestamptz := date_trunc('day', p_now, 'UTC');
  v_cutoff timestamptz := CASE WHEN coalesce(p_retention_s, 0) > 0
                          THEN date_trunc('day', p_now - make_interval(secs => p_retention_s), 'UTC')
                          ELSE '-infinity' END;
  v_legacy_until timestamptz;
  v_day timestamptz;
  v_name text;
  v_part record;
  v_made int := 0;
  v_moved bigint := 0;
  v_n bigint;
  v_rolled int := 0;
  v_dropped int := 0;
  v_late bigint := 0;
  v_drop text[] := '{}';
BEGIN
  IF NOT pg_try_advisory_xact_lock(439804732518) THEN
    RETURN NULL;
  END IF;
  -- polls_legacy covers every time before its bound.
  SELECT feedd.partition_bound(c.oid, 'TO') INTO v_legacy_until
  FROM pg_class c WHERE c.oid = to_regclass('feedd.polls_legacy');

  -- 1. Day partitions.
  FOR v_day IN
    SELECT v_today + make_interval(days => i) FROM generate_series(0, greatest(p_ahead_days, 0)) i
    UNION
    SELECT DISTINCT date_trunc('day', d.started_at, 'UTC') FROM feedd.polls_default d
    WHERE d.started_at >= v_cutoff AND d.started_at < v_today
    ORDER BY 1
  LOOP
    v_name := 'polls_' || to_char(v_day AT TIME ZONE 'UTC', 'YYYYMMDD');
    CONTINUE WHEN to_regclass('feedd.' || v_name) IS NOT NULL
               OR v_day < coalesce(v_legacy_until, '-infinity');
    EXECUTE format('CREATE TABLE feedd.%I (LIKE feedd.polls INCLUDING DEFAULTS '
                   'INCLUDING CONSTRAINTS)', v_name);
    EXECUTE format('WITH m AS (DELETE FROM feedd.polls_default WHERE started_at >= %L '
                   'AND started_at < %L RETURNING *) INSERT INTO feedd.%I SELECT * FROM m',
                   v_day, v_day + interval '1 day', v_name);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_moved := v_moved + v_n;
    EXECUTE format('ALTER TABLE feedd.polls ATTACH PARTITION feedd.%I FOR VALUES FROM (%L) TO (%L)',
                   v_name, v_day, v_day + interval '1 day');
    EXECUTE format('COMMENT ON TABLE feedd.%I IS %L', v_name,
                   'polls of ' || to_char(v_day AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' (UTC)');
    v_made := v_made + 1;
  END LOOP;

  -- 2. The daily roll-up.
  FOR v_day IN
    SELECT d FROM generate_series(greatest(v_cutoff,
                                           coalesce(date_trunc('day', (SELECT min(started_at)
                                                                       FROM feedd.polls), 'UTC'),
                                                    v_today)),
                                  v_today - interval '1 day', interval '1 day') AS d
    WHERE d >= v_today - interval '2 days'
       OR NOT EXISTS (SELECT 1 FROM feedd.poll_stats s WHERE s.day = (d AT TIME ZONE 'UTC')::date)
  LOOP
    PERFORM feedd.roll_up_polls(v_day);
    v_rolled := v_rolled + 1;
  END LOOP;

  -- 3. Retention: every partition that ends by the cutoff is rolled up,
  -- then all of them dropped (a drop locks polls until the commit, so
  -- nothing slow comes after the first).  An empty polls_legacy (a
  -- database without polls at migration 019) goes too, locked first so
  -- that no record goes in between the look and the drop.
  IF v_legacy_until IS NOT NULL THEN
    LOCK TABLE feedd.polls_legacy IN ACCESS EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM feedd.polls_legacy) THEN
      v_drop := ARRAY['polls_legacy'];
    END IF;
  END IF;
  IF v_cutoff > '-infinity' THEN
    FOR v_part IN
      SELECT c.relname, feedd.partition_bound(c.oid, 'FROM') AS lo,
             feedd.partition_bound(c.oid, 'TO') AS hi
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'feedd.polls'::regclass AND c.relname <> 'polls_default'
    LOOP
      CONTINUE WHEN v_part.hi IS NULL OR v_part.hi > v_cutoff OR v_part.relname = ANY (v_drop);
      FOR v_day IN
        SELECT DISTINCT date_trunc('day', p.started_at, 'UTC') FROM feedd.polls p
        WHERE p.started_at >= coalesce(v_part.lo, '-infinity') AND p.started_at < v_part.hi
      LOOP
        PERFORM feedd.roll_up_polls(v_day);
        v_rolled := v_rolled + 1;
      END LOOP;
      v_drop := v_drop || v_part.relname::text;
    END LOOP;
  END IF;
  FOREACH v_name IN ARRAY v_drop LOOP
    EXECUTE format('DROP TABLE feedd.%I', v_name);
    v_dropped := v_dropped + 1;
  END LOOP;
  IF v_cutoff > '-infinity' THEN
    WITH gone AS (
      DELETE FROM feedd.polls_default d WHERE d.started_at < v_cutoff RETURNING d.*
    )
    INSERT INTO feedd.poll_stats AS s (feed_id, day, polls, errors, not_modified, bytes,
                                       new_articles)
    SELECT g.feed_id, (g.started_at AT TIME ZONE 'UTC')::date, count(*),
           count(*) FILTER (WHERE g.error IS NOT NULL), count(*) FILTER (WHERE g.http_status = 304),
           coalesce(sum(g.bytes), 0), coalesce(sum(g.new_items), 0)
    FROM gone g
    GROUP BY 1, 2
    ON CONFLICT (feed_id, day) DO UPDATE
    SET polls = s.polls + excluded.polls, errors = s.errors + excluded.errors,
        not_modified = s.not_modified + excluded.not_modified, bytes = s.bytes + excluded.bytes,
        new_articles = s.new_articles + excluded.new_articles;
    GET DIAGNOSTICS v_late = ROW_COUNT;
  END IF;
  RETURN format('%s partitions made (%s rows moved in), %s days rolled up, %s partitions dropped, '
                '%s late feed-days added', v_made, v_moved, v_rolled, v_dropped, v_late);
END;
$$;

-- partition_bound(partition, 'FROM' | 'TO'): a range partition's bound as
-- a timestamptz (NULL: MINVALUE, MAXVALUE, or not a range partition).
CREATE OR REPLACE FUNCTION feedd.partition_bound(p_rel oid, p_which text)
RETURNS timestamptz
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), p_which || ' \(''([^'']+)''\)'))[1]::timestamptz
  FROM pg_class c WHERE c.oid = p_rel;
$$;

-- roll_up_polls(day): the day's row of poll_stats for every feed polled on
-- the UTC day starting at p_day, computed afresh from polls (rows of a feed
-- no longer polled that day are left as they were).
CREATE OR REPLACE FUNCTION feedd.roll_up_polls(p_day timestamptz)
RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO feedd.poll_stats AS s (feed_id, day, polls, errors, not_modified, bytes, new_articles)
  SELECT p.feed_id, (p_day AT TIME ZONE 'UTC')::date, count(*),
         count(*) FILTER (WHERE p.error IS NOT NULL), count(*) FILTER (WHERE p.http_status = 304),
         coalesce(sum(p.bytes), 0), coalesce(sum(p.new_items), 0)
  FROM feedd.polls p
  WHERE p.started_at >= p_day AND p.started_at < p_day + interval '1 day'
  GROUP BY p.feed_id
  ON CONFLICT (feed_id, day) DO UPDATE
  SET polls = excluded.polls, errors = excluded.errors, not_modified = excluded.not_modified,
      bytes = excluded.bytes, new_articles = excluded.new_articles;
$$;
