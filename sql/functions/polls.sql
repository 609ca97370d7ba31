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
