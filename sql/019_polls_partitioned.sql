-- 019: polls partitioned by day, kept for [database] polls_retention, with
-- a daily roll-up that outlives them (issue 15, part 3).
--
-- At 100,000 feeds polled every 15 minutes polls grows by ~9.6 million rows
-- a day.  feedd.polls becomes a table partitioned by range of started_at:
-- one partition per UTC day (feedd.polls_YYYYMMDD), made ahead of time by
-- feedd.maintain_polls (sql/functions/polls.sql), which `feedd run` calls
-- at start and every hour; a day older than the retention is rolled up
-- into feedd.poll_stats and its partition dropped, never DELETEd row by
-- row.  feedd.polls_default takes any row no day partition covers (a clock
-- far off, a record from a spool older than the retention), so that an
-- insert never fails for want of a partition; maintain_polls moves such
-- rows into the partition of their day when it makes it.
--
-- The rows already there stay where they are: the old table becomes the
-- partition feedd.polls_legacy, for every time before the end of the day
-- of its newest row, and is dropped whole once that is older than the
-- retention (or by the first maintain_polls if it is empty).
--
-- Locks: feedd.polls is renamed and a new table made under ACCESS
-- EXCLUSIVE on the old one; attaching it reads it once (a sequential scan
-- for the range check, a few seconds at tens of millions of rows) under
-- that lock.  articles and feeds are not locked beyond the foreign key's
-- SHARE ROW EXCLUSIVE on feeds for the new table (no scan of feeds).
DO $$
DECLARE
  v_until timestamptz;
BEGIN
  -- Run again on a database that has it (a migration re-applied): nothing.
  IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'feedd.polls'::regclass) = 'p' THEN
    RETURN;
  END IF;
  ALTER TABLE feedd.polls RENAME TO polls_legacy;
  ALTER INDEX feedd.polls_pkey RENAME TO polls_legacy_pkey;
  ALTER INDEX feedd.polls_started_idx RENAME TO polls_legacy_started_idx;

  CREATE TABLE feedd.polls (
    LIKE feedd.polls_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS,
    PRIMARY KEY (feed_id, started_at)
  ) PARTITION BY RANGE (started_at);
  ALTER TABLE feedd.polls ADD CONSTRAINT polls_feed_id_fkey
    FOREIGN KEY (feed_id) REFERENCES feedd.feeds ON DELETE CASCADE;
  CREATE INDEX polls_started_idx ON feedd.polls (started_at);
  COMMENT ON TABLE feedd.polls IS
    'Fetches of feeds, one row per poll, successful or not; partitioned by UTC day '
    '(polls_YYYYMMDD) and kept for [database] polls_retention (poll_stats keeps the daily '
    'counts after).  Deleting a feed deletes its polls.';

  CREATE TABLE feedd.polls_default PARTITION OF feedd.polls DEFAULT;
  COMMENT ON TABLE feedd.polls_default IS
    'polls no day partition covers (moved into their day''s partition when feedd makes it)';

  -- Empty, it is attached up to today and dropped by the first
  -- maintain_polls (feed_health still reads it until sql/functions is
  -- applied after this migration).
  v_until := date_trunc('day', coalesce((SELECT max(started_at) FROM feedd.polls_legacy)
                                        + interval '1 day', now()), 'UTC');
  EXECUTE format('ALTER TABLE feedd.polls ATTACH PARTITION feedd.polls_legacy '
                 'FOR VALUES FROM (MINVALUE) TO (%L)', v_until);
  COMMENT ON TABLE feedd.polls_legacy IS
    'polls recorded before migration 019, a partition of polls until it is older than '
    '[database] polls_retention';
END
$$;

CREATE TABLE IF NOT EXISTS feedd.poll_stats (
  feed_id bigint NOT NULL REFERENCES feedd.feeds ON DELETE CASCADE,
  day date NOT NULL,
  polls int NOT NULL CHECK (polls >= 0),
  errors int NOT NULL CHECK (errors >= 0),
  not_modified int NOT NULL CHECK (not_modified >= 0),
  bytes bigint NOT NULL,
  new_articles bigint NOT NULL,
  PRIMARY KEY (feed_id, day)
);
CREATE INDEX IF NOT EXISTS poll_stats_day_idx ON feedd.poll_stats (day);
COMMENT ON TABLE feedd.poll_stats IS
  'Polls per feed and UTC day, rolled up from polls: each complete day once it is over '
  '(again the next day, for records that came late) and finally when its polls are '
  'dropped (polls_retention); kept for ever';
COMMENT ON COLUMN feedd.poll_stats.feed_id IS 'the feed (feedd.feeds.id)';
COMMENT ON COLUMN feedd.poll_stats.day IS 'the UTC day the polls started on';
COMMENT ON COLUMN feedd.poll_stats.polls IS 'polls started that day';
COMMENT ON COLUMN feedd.poll_stats.errors IS
  'of which failed (polls.error set: no response, an HTTP error, not a feed)';
COMMENT ON COLUMN feedd.poll_stats.not_modified IS 'of which answered 304 Not Modified';
COMMENT ON COLUMN feedd.poll_stats.bytes IS 'response bytes received that day';
COMMENT ON COLUMN feedd.poll_stats.new_articles IS 'entries that were new that day (polls.new_items)';
