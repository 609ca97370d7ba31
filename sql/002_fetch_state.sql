-- 002: what the daemon remembers about fetching each feed.
--
-- feedd.record_fetch is feedd.record_poll plus the feed's fetch state, in
-- one statement so that a poll and the validators it produced are written
-- together: ETag and Last-Modified for the next conditional GET, the next
-- poll time (so a restart neither loses validators nor polls everything at
-- once), a permanent redirect's target, and why the daemon disabled the feed
-- (410 Gone).  NULL validators keep the stored ones (a 304 sends none).

CREATE FUNCTION feedd.record_fetch(p_feed text, p_started_at timestamptz, p_duration_ms int,
                                   p_http_status int, p_bytes bigint, p_items_seen int,
                                   p_new_items int, p_error text, p_etag text,
                                   p_last_modified text, p_next_poll_at timestamptz,
                                   p_permanent_url text, p_disabled_reason text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM feedd.record_poll(p_feed, p_started_at, p_duration_ms, p_http_status, p_bytes,
                            p_items_seen, p_new_items, p_error);
  -- A late re-send of an older poll must not roll the state back.
  UPDATE feedd.feeds AS f
  SET etag = coalesce(p_etag, f.etag),
      last_modified = coalesce(p_last_modified, f.last_modified),
      next_poll_at = p_next_poll_at,
      permanent_url = coalesce(p_permanent_url, f.permanent_url),
      disabled_reason = coalesce(p_disabled_reason, f.disabled_reason),
      enabled = f.enabled AND p_disabled_reason IS NULL,
      updated_at = now()
  WHERE f.name = p_feed
    AND NOT EXISTS (SELECT 1 FROM feedd.polls p
                    WHERE p.feed_id = f.id AND p.started_at > p_started_at);
END;
$$;

-- What the daemon reads back at start: one row per configured feed.
CREATE VIEW feedd.feed_state AS
SELECT f.name, f.url, f.etag, f.last_modified, f.next_poll_at, f.error_count,
       f.disabled_reason, f.permanent_url, f.enabled
FROM feedd.feeds f;
