-- Sources and feeds as the configuration declares them: sync_source and
-- sync_feed, called for each at every start and reload.  (Code, not
-- history: see the head of articles.sql.)

-- url_host(url): the lower-cased host of an http(s) URL, without port or
-- user; NULL for anything else.  As util.c's url_host, which the per-host
-- limits use; feeds.host is computed with it (sql/017_feed_leases.sql:
-- a change here reaches rows as they are next written).
CREATE OR REPLACE FUNCTION feedd.url_host(p_url text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
AS $$
  SELECT nullif(lower(substring(p_url FROM
    '^[Hh][Tt][Tt][Pp][Ss]?://(?:[^/?#@]*@)?(\[[^]/?#]*\]|[^/?#:]*)')), '');
$$;

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
-- A new URL makes the feed due at once, a shorter interval due within it.
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
        -- A new URL is polled soon; a shortened interval is waited out
        -- no longer than the new one (whoever polls the feed next).
        next_poll_at = CASE
          WHEN f.url <> excluded.url THEN NULL
          WHEN excluded.interval_s < f.interval_s THEN
            least(f.next_poll_at,
                  now() + make_interval(secs => excluded.interval_s * (0.5 + random() / 2)))
          ELSE f.next_poll_at END,
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

-- claim_feeds(instance, group, limit, lease, horizon, max_interval, skip, mine):
-- the feed leases of sql/017_feed_leases.sql.  Gives back first the leases
-- p_instance holds on the feeds named in p_skip (feeds of its group that its
-- configuration does not have), then leases to it for p_lease_s seconds up
-- to p_limit enabled feeds of group p_group, none in p_skip, that are due
-- within p_horizon_ms (or were never polled, or are scheduled further off
-- than p_max_interval_s, which the instance brings within it), soonest
-- first, and returns them with the fetch state the last poll, by whichever
-- instance, left.  Feeds it holds already are not returned again (the
-- daemon keeps them; one whose record it lost it polls on by itself),
-- unless p_mine asks for them: then they are renewed and returned first,
-- whatever the limit (sql/018_claim_mine.sql: the answer to an earlier
-- claim may have been lost).
--
-- Hosts: a feed is taken only if nobody else holds a live lease on a feed
-- of its host, so one instance at a time polls a host.  A feed falling due
-- is taken only by the instance its host falls to when the group's hosts
-- are shared out by a hash among its live instances (a row in
-- feedd.instances, not stopped, beaten within the lease; this one counts
-- whether or not its row exists yet), so that the hosts spread over the
-- instances instead of staying with whoever claimed first: an instance
-- holding a host that is not its own takes none of its feeds falling due,
-- so its leases there drain within an interval and the host's own
-- instance takes it.  A feed overdue by more than the lease (its host's
-- instance is gone, or too busy), never polled, or scheduled beyond
-- p_max_interval_s is anybody's.  When an instance stops or dies its share
-- is dealt again to the others, who take each host once its leases there
-- are given back or run out.
--
-- Claims are made one at a time (a transaction advisory lock, tried, not
-- waited for): two never lease feeds of one host to two instances.  A row another transaction
-- holds (a poll's record) is skipped, not waited for.
CREATE OR REPLACE FUNCTION feedd.claim_feeds(p_instance text, p_group text, p_limit int,
                                             p_lease_s int, p_horizon_ms int,
                                             p_max_interval_s int, p_skip text[] DEFAULT '{}',
                                             p_mine bool DEFAULT false)
RETURNS TABLE (name text, url text, etag text, last_modified text, next_poll_us bigint,
               error_count int, permanent_url text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  v_rank bigint;
  v_live bigint;
BEGIN
  -- Never waits: a claim that finds another one under way (or a session
  -- left behind by a stalled connection still holding it) takes nothing
  -- this time; its instance claims again a second later.
  IF NOT pg_try_advisory_xact_lock(439804732517) THEN
    RETURN;
  END IF;
  IF coalesce(cardinality(p_skip), 0) > 0 THEN
    UPDATE feedd.feeds AS f SET lease_holder = NULL, lease_until = NULL
    WHERE f.id IN (SELECT h.id FROM feedd.feeds h
                   WHERE h.lease_holder = p_instance AND h.name = ANY (p_skip)
                   FOR UPDATE SKIP LOCKED);
  END IF;
  IF p_mine THEN
    RETURN QUERY
    UPDATE feedd.feeds AS f
    SET lease_until = now() + make_interval(secs => p_lease_s)
    WHERE f.id IN (SELECT h.id FROM feedd.feeds h
                   WHERE h.lease_holder = p_instance AND h.enabled
                     AND NOT (h.name = ANY (coalesce(p_skip, '{}')))
                   FOR UPDATE SKIP LOCKED)
    RETURNING f.name, f.url, f.etag, f.last_modified,
              (extract(epoch FROM f.next_poll_at) * 1000000)::bigint, f.error_count,
              f.permanent_url;
  END IF;
  SELECT r.rank, r.live INTO v_rank, v_live
  FROM (
    SELECT l.id, row_number() OVER (ORDER BY l.id) - 1 AS rank, count(*) OVER () AS live
    FROM (
      SELECT i.id FROM feedd.instances i
      WHERE i.group_name = p_group AND i.stopped_at IS NULL
        AND i.heartbeat_at > now() - make_interval(secs => p_lease_s)
      UNION
      SELECT p_instance
    ) l
  ) r
  WHERE r.id = p_instance;
  RETURN QUERY
  WITH busy AS (
    SELECT DISTINCT b.host
    FROM feedd.feeds b
    WHERE b.lease_holder IS NOT NULL AND b.lease_holder <> p_instance AND b.lease_until > now()
  ), due AS (
    SELECT f.id
    FROM feedd.feeds f
    WHERE f.enabled AND f.group_name = p_group
      AND (f.next_poll_at IS NULL
           OR f.next_poll_at < now() - make_interval(secs => p_lease_s)
           OR f.next_poll_at > now() + make_interval(secs => p_max_interval_s)
           OR (f.next_poll_at <= now() + make_interval(secs => p_horizon_ms / 1000.0)
               AND (f.host IS NULL OR abs(hashtext(f.host)::bigint) % v_live = v_rank)))
      AND (f.lease_holder IS NULL OR f.lease_until <= now())
      AND NOT EXISTS (SELECT 1 FROM busy WHERE busy.host = f.host)
      AND NOT (f.name = ANY (coalesce(p_skip, '{}')))
    ORDER BY f.next_poll_at NULLS FIRST, f.id
    LIMIT p_limit
    FOR UPDATE OF f SKIP LOCKED
  )
  UPDATE feedd.feeds AS f
  SET lease_holder = p_instance, lease_until = now() + make_interval(secs => p_lease_s)
  FROM due
  WHERE f.id = due.id
  RETURNING f.name, f.url, f.etag, f.last_modified,
            (extract(epoch FROM f.next_poll_at) * 1000000)::bigint, f.error_count,
            f.permanent_url;
END;
$$;

-- renew_feed_leases(instance, lease, release): with the instance's
-- heartbeat (every third of the lease), its leases are renewed to p_lease_s
-- from now (those that ran out too, unless another instance took the feed
-- meanwhile): a few rows, the feeds due within seconds or being polled, so
-- that a heartbeat delayed behind slow writes still comes in time; with
-- p_release (a clean stop) they are all given back instead, the feeds due
-- as they were.  Returns how many
-- it holds, which its row of feedd.instances shows as feeds_held.
CREATE OR REPLACE FUNCTION feedd.renew_feed_leases(p_instance text, p_lease_s int,
                                                   p_release bool DEFAULT false)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
  v_held int := 0;
BEGIN
  -- Rows another transaction holds are skipped, not waited for: a
  -- heartbeat must not queue behind, say, a transaction that a stalled
  -- connection of this very instance left open (its rows' leases are
  -- renewed by the next beat, or lapse).
  IF p_release THEN
    UPDATE feedd.feeds AS f SET lease_holder = NULL, lease_until = NULL
    WHERE f.id IN (SELECT h.id FROM feedd.feeds h WHERE h.lease_holder = p_instance
                   FOR UPDATE SKIP LOCKED);
  ELSE
    UPDATE feedd.feeds AS f SET lease_until = now() + make_interval(secs => p_lease_s)
    WHERE f.id IN (SELECT h.id FROM feedd.feeds h WHERE h.lease_holder = p_instance
                   FOR UPDATE SKIP LOCKED);
    SELECT count(*) INTO v_held FROM feedd.feeds f WHERE f.lease_holder = p_instance;
  END IF;
  UPDATE feedd.instances AS i SET feeds_held = v_held WHERE i.id = p_instance;
  RETURN v_held;
END;
$$;
