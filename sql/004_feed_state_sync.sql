-- 004: feed_state says enough for the daemon to tell whether a feed's row
-- already matches the configuration (source, URL, interval, enabled), so
-- that a start registers only the feeds that changed instead of calling
-- feedd.sync_feed for every one of tens of thousands.

CREATE OR REPLACE VIEW feedd.feed_state AS
SELECT f.name, f.url, f.etag, f.last_modified, f.next_poll_at, f.error_count,
       f.disabled_reason, f.permanent_url, f.enabled, s.name AS source, f.interval_s
FROM feedd.feeds f
JOIN feedd.sources s ON s.id = f.source_id;
