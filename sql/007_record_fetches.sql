-- 007: the polls of a batch in one call, and record_fetch in two statements
-- instead of four.
--
-- Every poll the daemon makes ends in one call of record_fetch.  Until now it
-- called record_poll (look the feed up, insert the polls row, update the
-- feed's counters) and then updated the feed's fetch state: two functions,
-- four statements, two new versions of the feed's row.  Now the polls row is
-- inserted straight from the feed's name, and one update writes the counters
-- and the state together.  Same signature, same results (test_migrate.sh
-- checks them: duplicates counted once, late older polls change nothing,
-- validators kept when a 304 sends none, an unknown feed named in the
-- error); a 304 poll costs PostgreSQL about a third less.  record_poll stays
-- for whoever calls it.
--
-- feedd.record_fetches takes the same thirteen values as arrays, one element
-- per poll, and records them in order: the daemon sends the consecutive
-- polls of a batch as one statement (one parse of one result instead of a
-- result per poll).  A batch it refuses is sent again poll by poll through
-- record_fetch, as any refused batch is.

CREATE OR REPLACE FUNCTION feedd.record_fetch(p_feed text, p_started_at timestamptz,
                                              p_duration_ms int, p_http_status int,
                                              p_bytes bigint, p_items_seen int,
                                              p_new_items int, p_error text, p_etag text,
                                              p_last_modified text,
                                              p_next_poll_at timestamptz,
                                              p_permanent_url text, p_disabled_reason text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_feed bigint;
  v_new boolean;
  v_ok boolean := p_error IS NULL AND (p_http_status IS NULL OR p_http_status < 400);
BEGIN
  INSERT INTO feedd.polls AS p (feed_id, started_at, duration_ms, http_status, bytes, items_seen,
                                new_items, error)
  SELECT f.id, p_started_at, p_duration_ms, p_http_status, p_bytes, p_items_seen, p_new_items,
         p_error
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
                         ELSE f.error_count + 1 END
  WHERE f.id = v_feed
    AND NOT EXISTS (SELECT 1 FROM feedd.polls p
                    WHERE p.feed_id = v_feed AND p.started_at > p_started_at);
END;
$$;

CREATE FUNCTION feedd.record_fetches(p_feed text[], p_started_at timestamptz[],
                                     p_duration_ms int[], p_http_status int[],
                                     p_bytes bigint[], p_items_seen int[], p_new_items int[],
                                     p_error text[], p_etag text[], p_last_modified text[],
                                     p_next_poll_at timestamptz[], p_permanent_url text[],
                                     p_disabled_reason text[])
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
                                        array_length(p_disabled_reason, 1)]) AS l(len)
             WHERE coalesce(l.len, 0) <> n) THEN
    RAISE EXCEPTION 'feedd.record_fetches: the arrays differ in length'
      USING ERRCODE = 'array_subscript_error';
  END IF;
  FOR i IN 1 .. n LOOP
    PERFORM feedd.record_fetch(p_feed[i], p_started_at[i], p_duration_ms[i], p_http_status[i],
                               p_bytes[i], p_items_seen[i], p_new_items[i], p_error[i],
                               p_etag[i], p_last_modified[i], p_next_poll_at[i],
                               p_permanent_url[i], p_disabled_reason[i]);
  END LOOP;
  RETURN n;
END;
$$;
