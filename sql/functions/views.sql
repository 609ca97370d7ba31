-- The views users query: latest_articles, feed_health, feed_state (the
-- daemon's own reading of feeds at start) and edited_articles.  A view
-- keeps its columns in place: CREATE OR REPLACE VIEW can only add columns
-- at the end.  (Code, not history: see the head of articles.sql.)
--
-- No view has an ORDER BY of its own: a caller says the order it wants
-- (a built-in one cost a sort under every query that wanted another, or a
-- count).  latest_articles carries newest_at for "newest first", which
-- articles_newest_idx serves: ORDER BY newest_at DESC LIMIT n.

-- latest_articles: articles with the source's name and the feeds carrying
-- each, and newest_at, the publication time or else when first seen.
CREATE OR REPLACE VIEW feedd.latest_articles AS
SELECT
  a.source_id,
  s.name AS source,
  a.id,
  a.news_id,
  a.url,
  a.title,
  a.lead,
  a.body,
  a.author,
  a.tags,
  a.image,
  a.language,
  a.published_at,
  a.first_seen_at,
  a.updated_at,
  a.content_hash,
  a.revision,
  a.extract_status,
  ARRAY(
    SELECT f.name
    FROM feedd.article_feeds af
    JOIN feedd.feeds f ON f.id = af.feed_id
    WHERE af.source_id = a.source_id AND af.article_id = a.id
    ORDER BY af.first_seen_at, f.name
  ) AS feeds,
  a.caption,
  a.modified_at,
  a.visits,
  a.page_error,
  coalesce(a.published_at, a.first_seen_at) AS newest_at,
  a.search
FROM feedd.articles a
JOIN feedd.sources s ON s.id = a.source_id;

COMMENT ON COLUMN feedd.latest_articles.newest_at IS
  'the publication time, or when feedd first saw the article if it has none: '
  'ORDER BY newest_at DESC for newest first (an index serves it)';
COMMENT ON COLUMN feedd.latest_articles.search IS
  'the full-text search vector (articles.search): WHERE search @@ '
  'websearch_to_tsquery(''simple'', ...) uses its GIN index';

-- One row per feed: is it working, and is it bringing anything?
CREATE OR REPLACE VIEW feedd.feed_health AS
SELECT
  f.name AS feed,
  s.name AS source,
  f.url,
  f.enabled,
  f.disabled_reason,
  f.last_success_at,
  f.error_count AS consecutive_errors,
  lp.http_status AS last_http_status,
  lp.error AS last_error,
  lp.started_at AS last_poll_at,
  f.next_poll_at,
  day.polls AS polls_24h,
  day.new_articles AS new_articles_24h,
  f.group_name,
  CASE WHEN f.lease_until > now() THEN f.lease_holder END AS held_by,
  CASE WHEN f.lease_until > now() THEN f.lease_until END AS lease_until
FROM feedd.feeds f
JOIN feedd.sources s ON s.id = f.source_id
LEFT JOIN LATERAL (
  SELECT p.started_at, p.http_status, p.error
  FROM feedd.polls p
  WHERE p.feed_id = f.id
  ORDER BY p.started_at DESC
  LIMIT 1
) lp ON true
CROSS JOIN LATERAL (
  SELECT count(*) AS polls, coalesce(sum(p.new_items), 0) AS new_articles
  FROM feedd.polls p
  WHERE p.feed_id = f.id AND p.started_at > now() - interval '24 hours'
) day;

COMMENT ON COLUMN feedd.feed_health.group_name IS
  'the group of feedd instances whose configuration registered the feed ([feedd] group)';
COMMENT ON COLUMN feedd.feed_health.held_by IS
  'the instance (feedd.instances.id) holding the feed''s lease, which polls it now or next; '
  'NULL: nobody (sql/017_feed_leases.sql)';
COMMENT ON COLUMN feedd.feed_health.lease_until IS
  'when that lease runs out unless its holder renews it';

-- feed_state: what the daemon reads at start for each feed (validators,
-- next poll, errors, disable) to resume where it stopped, and who registered
-- it from how new a configuration (sql/014_feed_groups.sql).
CREATE OR REPLACE VIEW feedd.feed_state AS
SELECT f.name, f.url, f.etag, f.last_modified, f.next_poll_at, f.error_count,
       f.disabled_reason, f.permanent_url, f.enabled, s.name AS source, f.interval_s,
       f.group_name, f.config_at
FROM feedd.feeds f
JOIN feedd.sources s ON s.id = f.source_id;

COMMENT ON COLUMN feedd.feed_state.group_name IS
  'the group of feedd instances whose configuration registered the feed';
COMMENT ON COLUMN feedd.feed_state.config_at IS
  'how new the configuration that last changed the feed''s row was';

-- Articles whose content changed after it was first extracted (or, for
-- feed-only sources, after it was first seen): how often and when last.
CREATE OR REPLACE VIEW feedd.edited_articles AS
SELECT
  a.source_id,
  s.name AS source,
  a.id,
  a.news_id,
  a.url,
  a.title,
  a.published_at,
  a.first_seen_at,
  a.revision,
  a.revision - 1 AS edits,
  a.updated_at AS last_changed_at,
  a.modified_at
FROM feedd.articles a
JOIN feedd.sources s ON s.id = a.source_id
WHERE a.revision > 1;
