-- 017: feed leases (issue 15, part 1): the database is the schedule.
--
-- Several `feedd run` instances of one group share its feeds: an instance
-- polls a feed only while it holds the feed's lease (lease_holder,
-- lease_until), which it takes in batches with feedd.claim_feeds, renews
-- with its heartbeat (feedd.renew_feed_leases) and gives back with the
-- poll's record (feedd.record_fetch), which also sets the next poll time.
-- The lease of an instance that died runs out and another takes the feed.
--
-- Politeness is a property of the host: no instance claims a feed whose
-- host (the host of the URL it is polled at) another instance holds a live
-- lease on, so one instance at a time polls a host and its per-host limits
-- hold across instances.  feeds.host is computed from the URL (a generated
-- column, so it follows a permanent redirect's new URL too).
--
-- polls.instance says which instance polled; instances.feeds_held how
-- many feeds an instance holds at its last heartbeat.
--
-- Locks: feedd.feeds is rewritten once under ACCESS EXCLUSIVE for the
-- generated column (one row per feed, never articles: a fraction of a
-- second at 100,000 feeds).  polls.instance and instances.feeds_held are
-- catalogue-only (NULL and a constant default).  The two indexes on
-- feedd.feeds are small partial ones.

-- The lower-cased host of an http(s) URL, without port or user; NULL for
-- anything else.  As util.c's url_host, which the per-host limits use.
-- (The same as in sql/functions/feeds.sql, which keeps it; here because the
-- column below needs it before that file runs.)
CREATE OR REPLACE FUNCTION feedd.url_host(p_url text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
AS $$
  SELECT nullif(lower(substring(p_url FROM
    '^[Hh][Tt][Tt][Pp][Ss]?://(?:[^/?#@]*@)?(\[[^]/?#]*\]|[^/?#:]*)')), '');
$$;
ALTER TABLE feedd.feeds
  ADD COLUMN host text GENERATED ALWAYS AS (feedd.url_host(coalesce(permanent_url, url))) STORED,
  ADD COLUMN lease_holder text,
  ADD COLUMN lease_until timestamptz;

COMMENT ON COLUMN feedd.feeds.host IS
  'the host the feed is polled at (of permanent_url, else url): one instance at a time polls a host';
COMMENT ON COLUMN feedd.feeds.lease_holder IS
  'the instance (feedd.instances.id) that holds the feed''s lease and polls it; NULL: nobody';
COMMENT ON COLUMN feedd.feeds.lease_until IS
  'when the holder''s lease runs out unless renewed; after that another instance may take the feed';

-- What claim_feeds looks for: enabled feeds by due time, and the leases
-- held (by holder, with their hosts).
CREATE INDEX feeds_due_idx ON feedd.feeds (next_poll_at NULLS FIRST) WHERE enabled;
CREATE INDEX feeds_leased_idx ON feedd.feeds (lease_holder, host) WHERE lease_holder IS NOT NULL;

ALTER TABLE feedd.polls ADD COLUMN instance text;
COMMENT ON COLUMN feedd.polls.instance IS
  'the instance (feedd.instances.id) that polled; NULL for polls recorded before migration 017 '
  'and for feedd once';

ALTER TABLE feedd.instances ADD COLUMN feeds_held int NOT NULL DEFAULT 0;
COMMENT ON COLUMN feedd.instances.feeds_held IS
  'the feeds whose lease it held at its last heartbeat';

-- record_fetch and record_fetches gain the polling instance (which the
-- record releases the lease of); the new ones are in
-- sql/functions/polls.sql.
DROP FUNCTION IF EXISTS feedd.record_fetches(text[], timestamptz[], int[], int[], bigint[], int[], int[],
                                             text[], text[], text[], timestamptz[], text[], text[]);
DROP FUNCTION IF EXISTS feedd.record_fetch(text, timestamptz, int, int, bigint, int, int, text, text, text,
                                           timestamptz, text, text);
