-- 001_init: feedd's first schema.
--
-- Everything lives in schema feedd.  `feedd migrate` runs this file in one
-- transaction under its advisory lock and records it in
-- feedd.schema_migrations; it is compiled into the binary, which never reads
-- sql/ at run time.  Needs PostgreSQL 14 or later.
--
-- The schema is kept distributable by source_id (Citus): sources and feeds
-- are small reference tables, and every primary and unique key of the
-- article-side tables (articles, article_feeds, article_revisions) starts
-- with source_id, so one source's articles, links and history can live on
-- one shard.  polls is keyed by feed.
--
-- feedd writes through the functions at the end (sync_source, sync_feed,
-- store_article, record_poll), so that "insert, or link, or revise" is one
-- round trip and one place in the code; users read the tables and the views
-- latest_articles and feed_health.

CREATE SCHEMA IF NOT EXISTS feedd;

-- `feedd migrate` creates this table itself before applying anything (with
-- the same definition), so that it can read the version of any database;
-- IF NOT EXISTS keeps this file runnable on its own with psql.
CREATE TABLE IF NOT EXISTS feedd.schema_migrations (
  version int PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- A publisher: its feeds share one news-ID space.
CREATE TABLE feedd.sources (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name <> ''),
  home text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A feed and its fetch state.  name, source, url, interval and enabled come
-- from the configuration (sync_feed); the rest is the daemon's.
CREATE TABLE feedd.feeds (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_id bigint NOT NULL REFERENCES feedd.sources,
  name text NOT NULL UNIQUE CHECK (name <> ''),
  url text NOT NULL,
  interval_s int CHECK (interval_s > 0),
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason text,
  etag text,
  last_modified text,
  -- where a permanent redirect (301/308) said the feed now lives
  permanent_url text,
  next_poll_at timestamptz,
  -- consecutive failed polls; 0 after a success
  error_count int NOT NULL DEFAULT 0 CHECK (error_count >= 0),
  last_success_at timestamptz,
  last_status int,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feeds_source_id_idx ON feedd.feeds (source_id);

-- One row per article of a source, whichever of its feeds carried it.
CREATE TABLE feedd.articles (
  id bigint GENERATED ALWAYS AS IDENTITY,
  source_id bigint NOT NULL REFERENCES feedd.sources,
  news_id text NOT NULL CHECK (news_id <> ''),
  url text,
  title text,
  lead text,
  body text,
  author text,
  tags text[] NOT NULL DEFAULT '{}',
  image text,
  language text,
  published_at timestamptz,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  -- when the current revision was first seen
  updated_at timestamptz NOT NULL DEFAULT now(),
  content_hash text NOT NULL,
  revision int NOT NULL DEFAULT 1 CHECK (revision >= 1),
  extract_status text,
  -- 'simple' because feeds come in every language and stemming one would
  -- mangle the others.  The inputs are cut to lengths whose lexemes always
  -- fit a tsvector (at most 1 MB), so that an enormous body is still stored
  -- (and searchable in its first 200000 characters) rather than rejected.
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', left(coalesce(title, ''), 2000)), 'A') ||
    setweight(to_tsvector('simple', left(coalesce(lead, ''), 10000)), 'B') ||
    setweight(to_tsvector('simple', left(coalesce(body, ''), 200000)), 'C')
  ) STORED,
  PRIMARY KEY (source_id, id),
  UNIQUE (source_id, news_id)
);
CREATE INDEX articles_source_published_idx ON feedd.articles (source_id, published_at DESC);
CREATE INDEX articles_published_idx ON feedd.articles (published_at DESC);
CREATE INDEX articles_first_seen_idx ON feedd.articles (first_seen_at);
-- the order of latest_articles, so that "the newest N" reads N rows
CREATE INDEX articles_newest_idx ON feedd.articles ((coalesce(published_at, first_seen_at)) DESC);
CREATE INDEX articles_tags_idx ON feedd.articles USING gin (tags);
CREATE INDEX articles_search_idx ON feedd.articles USING gin (search);

-- Which feeds carried an article, and when each first did.
CREATE TABLE feedd.article_feeds (
  source_id bigint NOT NULL,
  article_id bigint NOT NULL,
  feed_id bigint NOT NULL REFERENCES feedd.feeds,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, article_id, feed_id),
  FOREIGN KEY (source_id, article_id) REFERENCES feedd.articles (source_id, id) ON DELETE CASCADE
);
CREATE INDEX article_feeds_feed_idx ON feedd.article_feeds (feed_id, first_seen_at DESC);

-- Earlier versions of an article: revision N was current from valid_from
-- until replaced_at, when revision N + 1 (in article_revisions or, for the
-- newest, in articles) was first seen.
CREATE TABLE feedd.article_revisions (
  source_id bigint NOT NULL,
  article_id bigint NOT NULL,
  revision int NOT NULL,
  url text,
  title text,
  lead text,
  body text,
  author text,
  tags text[],
  image text,
  published_at timestamptz,
  content_hash text NOT NULL,
  valid_from timestamptz NOT NULL,
  replaced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, article_id, revision),
  FOREIGN KEY (source_id, article_id) REFERENCES feedd.articles (source_id, id) ON DELETE CASCADE
);

-- One row per fetch of a feed.  Removing a feed takes its polls with it;
-- its article links stay in the way until removed on purpose.
CREATE TABLE feedd.polls (
  feed_id bigint NOT NULL REFERENCES feedd.feeds ON DELETE CASCADE,
  started_at timestamptz NOT NULL,
  duration_ms int,
  http_status int,
  bytes bigint,
  items_seen int,
  new_items int,
  error text,
  PRIMARY KEY (feed_id, started_at)
);
CREATE INDEX polls_started_idx ON feedd.polls (started_at);

-- Articles, newest first, with their source's name and the names of the
-- feeds that carried them (in the order they did).
CREATE VIEW feedd.latest_articles AS
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
  ) AS feeds
FROM feedd.articles a
JOIN feedd.sources s ON s.id = a.source_id
ORDER BY coalesce(a.published_at, a.first_seen_at) DESC;

-- One row per feed: is it working, and is it bringing anything?
CREATE VIEW feedd.feed_health AS
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
  day.new_articles AS new_articles_24h
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

-- sync_source(name, home): creates or updates the source of that name and
-- returns its id.  An unchanged source is not rewritten.
CREATE FUNCTION feedd.sync_source(p_name text, p_home text)
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

-- sync_feed(name, source, url, interval_s, enabled): creates or updates the
-- feed of that name from the configuration and returns its id.  The fetch
-- state (next_poll_at, error_count, ...) is kept, and so are the ETag,
-- Last-Modified and permanent redirect unless the URL changed, since they
-- belong to the old URL.  enabled follows the configuration: a feed the
-- daemon disabled is enabled again by the next sync that says so.
CREATE FUNCTION feedd.sync_feed(p_name text, p_source text, p_url text, p_interval_s int,
                                p_enabled bool)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_source bigint;
  v_id bigint;
BEGIN
  SELECT s.id INTO v_source FROM feedd.sources s WHERE s.name = p_source;
  IF v_source IS NULL THEN
    RAISE EXCEPTION 'feedd.sync_feed: feed "%": unknown source "%"', p_name, p_source
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  INSERT INTO feedd.feeds AS f (source_id, name, url, interval_s, enabled, disabled_reason)
  VALUES (v_source, p_name, p_url, p_interval_s, p_enabled,
          CASE WHEN NOT p_enabled THEN 'disabled in the configuration' END)
  ON CONFLICT (name) DO UPDATE
    SET source_id = excluded.source_id,
        url = excluded.url,
        interval_s = excluded.interval_s,
        enabled = excluded.enabled,
        disabled_reason = excluded.disabled_reason,
        etag = CASE WHEN f.url = excluded.url THEN f.etag END,
        last_modified = CASE WHEN f.url = excluded.url THEN f.last_modified END,
        permanent_url = CASE WHEN f.url = excluded.url THEN f.permanent_url END,
        updated_at = now()
    WHERE (f.source_id, f.url, f.interval_s, f.enabled, f.disabled_reason)
          IS DISTINCT FROM
          (excluded.source_id, excluded.url, excluded.interval_s, excluded.enabled,
           excluded.disabled_reason)
  RETURNING f.id INTO v_id;
  IF v_id IS NULL THEN
    SELECT f.id INTO v_id FROM feedd.feeds f WHERE f.name = p_name;
  END IF;
  RETURN v_id;
END;
$$;

-- store_article(...): stores one article of source p_source seen in feed
-- p_feed at p_seen_at (NULL: now) and says what happened:
--   'inserted'   new (source, news_id): revision 1, linked to the feed
--   'linked'     known, same content_hash, first time in this feed
--   'unchanged'  known, same content_hash, already linked: nothing written
--   'revised'    known, other content_hash: the old version is copied to
--                article_revisions, the article takes the new values and
--                revision + 1, and the feed is linked if it was not
-- Calling it again with the same arguments gives 'unchanged', and two
-- sessions storing the same news ID at once both succeed (the second waits
-- for the first's insert and then links or revises).  An unknown source or
-- feed, or a feed of another source, raises foreign_key_violation.
CREATE FUNCTION feedd.store_article(p_source text, p_feed text, p_news_id text, p_url text,
                                    p_title text, p_lead text, p_body text, p_author text,
                                    p_tags text[], p_published_at timestamptz, p_image text,
                                    p_language text, p_content_hash text,
                                    p_seen_at timestamptz)
RETURNS TABLE (article_id bigint, outcome text, revision int)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  v_source bigint;
  v_feed bigint;
  v_feed_source bigint;
  v_seen timestamptz := coalesce(p_seen_at, now());
  v_tags text[] := coalesce(p_tags, '{}');
  v_id bigint;
  v_hash text;
  v_rev int;
  v_linked int;
  v_tries int := 0;
  cur feedd.articles%ROWTYPE;
BEGIN
  -- One statement for both names: each PL/pgSQL statement costs, and this
  -- function runs once per article.
  SELECT (SELECT s.id FROM feedd.sources s WHERE s.name = p_source), f.id, f.source_id
  INTO v_source, v_feed, v_feed_source
  FROM (SELECT 1) AS one LEFT JOIN feedd.feeds f ON f.name = p_feed;
  IF v_source IS NULL THEN
    RAISE EXCEPTION 'feedd.store_article: unknown source "%"', p_source
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF v_feed IS NULL THEN
    RAISE EXCEPTION 'feedd.store_article: unknown feed "%"', p_feed
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF v_feed_source <> v_source THEN
    RAISE EXCEPTION 'feedd.store_article: feed "%" is not a feed of source "%"', p_feed, p_source
      USING ERRCODE = 'foreign_key_violation';
  END IF;

  -- Loops only when a concurrent session deletes the article between our
  -- failed insert and our read, which no feedd session does; bounded all
  -- the same.
  LOOP
    v_tries := v_tries + 1;
    IF v_tries > 3 THEN
      RAISE EXCEPTION 'feedd.store_article: source "%" news ID "%" keeps changing under us',
        p_source, p_news_id USING ERRCODE = 'serialization_failure';
    END IF;
    -- The insert first: the daemon's dedup set already filters the articles
    -- it knows, so what reaches the database is mostly new.  ON CONFLICT DO
    -- NOTHING waits for a concurrent insert of the same news ID to commit
    -- (then inserts nothing) or to roll back (then inserts), so it never
    -- fails on the unique key, and it assigns no transaction ID when the
    -- article exists.
    INSERT INTO feedd.articles AS a (source_id, news_id, url, title, lead, body, author, tags,
                                     image, language, published_at, first_seen_at,
                                     updated_at, content_hash)
    VALUES (v_source, p_news_id, p_url, p_title, p_lead, p_body, p_author, v_tags, p_image,
            p_language, p_published_at, v_seen, v_seen, p_content_hash)
    ON CONFLICT (source_id, news_id) DO NOTHING
    RETURNING a.id INTO v_id;
    IF v_id IS NOT NULL THEN
      INSERT INTO feedd.article_feeds (source_id, article_id, feed_id, first_seen_at)
      VALUES (v_source, v_id, v_feed, v_seen);
      article_id := v_id;
      outcome := 'inserted';
      revision := 1;
      RETURN NEXT;
      RETURN;
    END IF;

    -- Known: read it.  The lookups on this path are EXECUTEd so that each
    -- is planned for its values: a generic plan cached while the table was
    -- small may pick the (source_id, published_at) index and filter the
    -- whole source, which turned inserts quadratic in a benchmark.
    EXECUTE 'SELECT a.id, a.content_hash, a.revision FROM feedd.articles a '
            'WHERE a.source_id = $1 AND a.news_id = $2'
      INTO v_id, v_hash, v_rev USING v_source, p_news_id;
    IF v_id IS NULL THEN
      CONTINUE; -- deleted since our insert found it: try again
    END IF;

    IF v_hash IS DISTINCT FROM p_content_hash THEN
      -- Lock, then look again: a concurrent session may have revised it.
      EXECUTE 'SELECT a.* FROM feedd.articles a WHERE a.source_id = $1 AND a.id = $2 '
              'FOR UPDATE'
        INTO cur USING v_source, v_id;
      IF cur.id IS NULL THEN -- (EXECUTE does not set FOUND)
        CONTINUE;
      END IF;
      IF cur.content_hash IS DISTINCT FROM p_content_hash THEN
        INSERT INTO feedd.article_revisions (source_id, article_id, revision, url, title, lead,
                                             body, author, tags, image, published_at,
                                             content_hash, valid_from, replaced_at)
        VALUES (cur.source_id, cur.id, cur.revision, cur.url, cur.title, cur.lead, cur.body,
                cur.author, cur.tags, cur.image, cur.published_at, cur.content_hash,
                cur.updated_at, v_seen);
        EXECUTE 'UPDATE feedd.articles AS a SET url = $3, title = $4, lead = $5, body = $6, '
                'author = $7, tags = $8, image = $9, language = $10, published_at = $11, '
                'content_hash = $12, revision = a.revision + 1, updated_at = $13 '
                'WHERE a.source_id = $1 AND a.id = $2 RETURNING a.revision'
          INTO v_rev
          USING v_source, v_id, p_url, p_title, p_lead, p_body, p_author, v_tags, p_image,
                p_language, p_published_at, p_content_hash, v_seen;
        INSERT INTO feedd.article_feeds (source_id, article_id, feed_id, first_seen_at)
        VALUES (v_source, v_id, v_feed, v_seen)
        ON CONFLICT DO NOTHING;
        article_id := v_id;
        outcome := 'revised';
        revision := v_rev;
        RETURN NEXT;
        RETURN;
      END IF;
      v_rev := cur.revision;
    END IF;

    -- Same content: at most a new link.
    EXECUTE 'SELECT count(*) FROM feedd.article_feeds af WHERE af.source_id = $1 '
            'AND af.article_id = $2 AND af.feed_id = $3'
      INTO v_linked USING v_source, v_id, v_feed;
    IF v_linked > 0 THEN
      v_linked := 0;
    ELSE
      INSERT INTO feedd.article_feeds (source_id, article_id, feed_id, first_seen_at)
      VALUES (v_source, v_id, v_feed, v_seen)
      ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS v_linked = ROW_COUNT;
    END IF;
    article_id := v_id;
    outcome := CASE WHEN v_linked > 0 THEN 'linked' ELSE 'unchanged' END;
    revision := v_rev;
    RETURN NEXT;
    RETURN;
  END LOOP;
END;
$$;

-- record_poll(...): records one fetch of feed p_feed.  A second call with
-- the same (feed, started_at) changes nothing, so a resent poll is harmless.
-- Unless a later poll of the feed is already recorded (polls replayed from
-- the spool arrive late), it also sets the feed's last_status and either
-- last_success_at and error_count = 0 (no error and a status below 400 or
-- none) or error_count + 1.
CREATE FUNCTION feedd.record_poll(p_feed text, p_started_at timestamptz, p_duration_ms int,
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
