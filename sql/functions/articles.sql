-- Articles: feedd.store_article, the daemon's one write per article from a
-- feed, and store_article_claimed for an article whose claimed publication
-- time was not taken (see sql/010).
--
-- These files are code, not history: `feedd migrate` applies every file in
-- sql/functions after the migrations whenever they changed (see
-- sql/012_code_version.sql).  Change a function here; a change that CREATE
-- OR REPLACE cannot make (signature, return type) also needs a migration
-- that drops the old one.

-- store_article: inserts a new article, links a known one to another feed,
-- or revises it when its content hash changed (the old revision goes to
-- article_revisions).  Outcomes: 'inserted', 'linked', 'unchanged',
-- 'revised'.  An article whose page was extracted (p_fetch sources) is
-- only linked, whatever the feed's text says.
CREATE OR REPLACE FUNCTION feedd.store_article(p_source text, p_feed text, p_news_id text, p_url text,
                                    p_title text, p_lead text, p_body text, p_author text,
                                    p_tags text[], p_published_at timestamptz, p_image text,
                                    p_language text, p_content_hash text,
                                    p_seen_at timestamptz, p_fetch boolean DEFAULT false)
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
  v_visits int;
  v_linked int;
  v_tries int := 0;
  cur feedd.articles%ROWTYPE;
BEGIN
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

  -- (See 001_init.sql for why the insert comes first, why the lookups are
  -- EXECUTEd, and what the bounded loop is for.)
  LOOP
    v_tries := v_tries + 1;
    IF v_tries > 3 THEN
      RAISE EXCEPTION 'feedd.store_article: source "%" news ID "%" keeps changing under us',
        p_source, p_news_id USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO feedd.articles AS a (source_id, news_id, url, title, lead, body, author, tags,
                                     image, language, published_at, first_seen_at,
                                     updated_at, content_hash, extract_status)
    VALUES (v_source, p_news_id, p_url, p_title, p_lead, p_body, p_author, v_tags, p_image,
            p_language, p_published_at, v_seen, v_seen, p_content_hash,
            CASE WHEN p_fetch THEN 'pending' END)
    ON CONFLICT (source_id, news_id) DO NOTHING
    RETURNING a.id INTO v_id;
    IF v_id IS NOT NULL THEN
      INSERT INTO feedd.article_feeds (source_id, article_id, feed_id, first_seen_at)
      VALUES (v_source, v_id, v_feed, v_seen);
      IF p_fetch THEN
        INSERT INTO feedd.page_visits (source_id, article_id, due_at)
        VALUES (v_source, v_id, v_seen);
      END IF;
      article_id := v_id;
      outcome := 'inserted';
      revision := 1;
      RETURN NEXT;
      RETURN;
    END IF;

    EXECUTE 'SELECT a.id, a.content_hash, a.revision, a.visits FROM feedd.articles a '
            'WHERE a.source_id = $1 AND a.news_id = $2'
      INTO v_id, v_hash, v_rev, v_visits USING v_source, p_news_id;
    IF v_id IS NULL THEN
      CONTINUE;
    END IF;

    -- Once its page is extracted, the page owns the article's content.
    IF v_hash IS DISTINCT FROM p_content_hash AND v_visits = 0 THEN
      EXECUTE 'SELECT a.* FROM feedd.articles a WHERE a.source_id = $1 AND a.id = $2 '
              'FOR UPDATE'
        INTO cur USING v_source, v_id;
      IF cur.id IS NULL THEN
        CONTINUE;
      END IF;
      IF cur.content_hash IS DISTINCT FROM p_content_hash AND cur.visits = 0 THEN
        INSERT INTO feedd.article_revisions (source_id, article_id, revision, url, title, lead,
                                             body, author, tags, image, published_at,
                                             content_hash, valid_from, replaced_at, caption,
                                             modified_at)
        VALUES (cur.source_id, cur.id, cur.revision, cur.url, cur.title, cur.lead, cur.body,
                cur.author, cur.tags, cur.image, cur.published_at, cur.content_hash,
                cur.updated_at, v_seen, cur.caption, cur.modified_at);
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

-- feedd.store_article for an article whose claimed publication time was not
-- taken: the same, then the claim kept beside it.
CREATE OR REPLACE FUNCTION feedd.store_article_claimed(p_source text, p_feed text, p_news_id text,
                                            p_url text, p_title text, p_lead text,
                                            p_body text, p_author text, p_tags text[],
                                            p_published_at timestamptz, p_image text,
                                            p_language text, p_content_hash text,
                                            p_seen_at timestamptz, p_fetch boolean,
                                            p_published_claimed timestamptz)
RETURNS TABLE (article_id bigint, outcome text, revision int)
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM feedd.store_article(p_source, p_feed, p_news_id, p_url, p_title,
                                              p_lead, p_body, p_author, p_tags,
                                              p_published_at, p_image, p_language,
                                              p_content_hash, p_seen_at, p_fetch)
  LOOP
    UPDATE feedd.articles AS a SET published_claimed = p_published_claimed
    FROM feedd.sources s
    WHERE s.name = p_source AND a.source_id = s.id AND a.id = r.article_id
      AND a.published_claimed IS DISTINCT FROM p_published_claimed;
    article_id := r.article_id;
    outcome := r.outcome;
    revision := r.revision;
    RETURN NEXT;
  END LOOP;
END
$$;

-- store_articles: a batch of articles from feeds in one statement (issue
-- 14): the arrays are parallel, one element per article (p_tags holds each
-- article's tags as a text[] literal; p_published_claimed NULL where the
-- claim was taken).  The articles new to the database go in by one
-- INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, linked to
-- their feeds by one more INSERT; every other one (already stored, a news
-- ID repeated within the batch, or one whose source or feed the database
-- does not know, which store_article then refuses) goes through
-- store_article (or store_article_claimed) as before, after the new ones.
-- Both go by source and news ID (one article's items in batch order), so
-- that concurrent batches of several instances lock rows in one order.
-- Returns one row per article: its 1-based position in the
-- arrays (item) and what store_article would have returned.  An error fails
-- the whole statement; the daemon then sends the batch item by item, so
-- that one bad article is found and rejected alone.
CREATE OR REPLACE FUNCTION feedd.store_articles(p_source text[], p_feed text[], p_news_id text[],
                                     p_url text[], p_title text[], p_lead text[],
                                     p_body text[], p_author text[], p_tags text[],
                                     p_published_at timestamptz[], p_image text[],
                                     p_language text[], p_content_hash text[],
                                     p_seen_at timestamptz[], p_fetch boolean[],
                                     p_published_claimed timestamptz[])
RETURNS TABLE (item int, article_id bigint, outcome text, revision int)
LANGUAGE plpgsql
-- The planner cannot know how many rows the arrays hold and, joining the
-- inserted rows back to the input, picked nested loops: 2 x n^2 comparisons,
-- 300 ms of a 1,000-article batch's 390.  Hash joins make it 40 ms.
SET enable_nestloop = off
AS $$
#variable_conflict use_column
DECLARE
  v_new int[];
  v_ids bigint[];
  i int;
BEGIN
  WITH input AS (
    SELECT u.*, s.id AS sid, f.id AS fid
    FROM unnest(p_source, p_feed, p_news_id, p_url, p_title, p_lead, p_body, p_author,
                p_tags, p_published_at, p_image, p_language, p_content_hash, p_seen_at,
                p_fetch, p_published_claimed)
         WITH ORDINALITY AS u(src, feed, nid, url, title, lead, body, author, tags, pub,
                              image, lang, hash, seen, want_page, claimed, pos)
    JOIN feedd.sources s ON s.name = u.src
    JOIN feedd.feeds f ON f.name = u.feed AND f.source_id = s.id
  ), firsts AS (
    SELECT DISTINCT ON (i.sid, i.nid) i.* FROM input i ORDER BY i.sid, i.nid, i.pos
  ), ins AS (
    INSERT INTO feedd.articles AS a (source_id, news_id, url, title, lead, body, author, tags,
                                     image, language, published_at, published_claimed,
                                     first_seen_at, updated_at, content_hash, extract_status)
    SELECT f.sid, f.nid, f.url, f.title, f.lead, f.body, f.author,
           coalesce(f.tags::text[], '{}'), f.image, f.lang, f.pub, f.claimed,
           coalesce(f.seen, now()), coalesce(f.seen, now()), f.hash,
           CASE WHEN f.want_page THEN 'pending' END
    FROM firsts f ORDER BY f.sid, f.nid
    ON CONFLICT (source_id, news_id) DO NOTHING
    RETURNING a.id, a.source_id, a.news_id
  ), links AS (
    INSERT INTO feedd.article_feeds (source_id, article_id, feed_id, first_seen_at)
    SELECT ins.source_id, ins.id, f.fid, coalesce(f.seen, now())
    FROM ins JOIN firsts f ON f.sid = ins.source_id AND f.nid = ins.news_id
    RETURNING 1
  ), pages AS (
    -- the pages to fetch join the queue (021)
    INSERT INTO feedd.page_visits (source_id, article_id, due_at)
    SELECT ins.source_id, ins.id, coalesce(f.seen, now())
    FROM ins JOIN firsts f ON f.sid = ins.source_id AND f.nid = ins.news_id
    WHERE f.want_page
    RETURNING 1
  )
  SELECT coalesce(array_agg(f.pos::int ORDER BY f.pos), '{}'),
         coalesce(array_agg(ins.id ORDER BY f.pos), '{}')
  INTO v_new, v_ids
  FROM ins JOIN firsts f ON f.sid = ins.source_id AND f.nid = ins.news_id;

  RETURN QUERY SELECT n.pos, n.id, 'inserted'::text, 1 FROM unnest(v_new, v_ids) AS n(pos, id);

  -- By source and news ID (an article's own items in their order), as
  -- the insert above: two instances storing the same articles take their
  -- row locks in one order and do not deadlock.
  FOR i IN SELECT g FROM generate_series(1, cardinality(p_news_id)) AS g
           WHERE g <> ALL (v_new) ORDER BY p_source[g], p_news_id[g], g
  LOOP
    IF p_published_claimed[i] IS NULL THEN
      RETURN QUERY SELECT i, x.article_id, x.outcome, x.revision
        FROM feedd.store_article(p_source[i], p_feed[i], p_news_id[i], p_url[i], p_title[i],
                                 p_lead[i], p_body[i], p_author[i], p_tags[i]::text[],
                                 p_published_at[i], p_image[i], p_language[i],
                                 p_content_hash[i], p_seen_at[i],
                                 coalesce(p_fetch[i], false)) AS x;
    ELSE
      RETURN QUERY SELECT i, x.article_id, x.outcome, x.revision
        FROM feedd.store_article_claimed(p_source[i], p_feed[i], p_news_id[i], p_url[i],
                                         p_title[i], p_lead[i], p_body[i], p_author[i],
                                         p_tags[i]::text[], p_published_at[i], p_image[i],
                                         p_language[i], p_content_hash[i], p_seen_at[i],
                                         coalesce(p_fetch[i], false),
                                         p_published_claimed[i]) AS x;
    END IF;
  END LOOP;
END;
$$;

-- prune_articles(sources, keep_s, limit): the article retention of
-- `[source] article_retention` (issue 15, part 3).  Deletes up to p_limit
-- articles of those sources, each source with its own retention in
-- seconds (0 keeps them all), that were published longer ago than it
-- (undated ones: first seen), with their feeds' links, revisions and queued
-- pages (ON DELETE CASCADE); returns how many.  Small batches, called
-- again while a batch comes back full, so that no statement holds many
-- locks or runs long.  A row another session holds is left for a later
-- call (SKIP LOCKED): neither the store nor a page visit ever waits for
-- this.  Through articles_source_recent_idx (source, publication time).
-- SECURITY DEFINER: feedd_writer may not delete articles itself.
CREATE OR REPLACE FUNCTION feedd.prune_articles(p_sources text[], p_keep_s bigint[], p_limit int,
                                                p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_left int := greatest(coalesce(p_limit, 0), 0);
  v_n int;
  r record;
BEGIN
  FOR r IN SELECT s.id, p_now - make_interval(secs => k.keep_s) AS cutoff
           FROM unnest(p_sources, p_keep_s) AS k(name, keep_s)
           JOIN feedd.sources s ON s.name = k.name
           WHERE k.keep_s > 0
           ORDER BY s.id
  LOOP
    EXIT WHEN v_left <= 0;
    -- The dated ones in the index's order, so that the scan stops after
    -- v_left rows (an OR of both kinds made a bitmap of every old row of
    -- the source first, at every call); then the undated ones.
    WITH doomed AS (
      SELECT a.id FROM feedd.articles a
      WHERE a.source_id = r.id AND a.published_at < r.cutoff
      ORDER BY a.published_at DESC NULLS LAST
      LIMIT v_left
      FOR UPDATE OF a SKIP LOCKED
    )
    DELETE FROM feedd.articles a USING doomed d
    WHERE a.source_id = r.id AND a.id = d.id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_left := v_left - v_n;
    EXIT WHEN v_left <= 0;
    WITH doomed AS (
      SELECT a.id FROM feedd.articles a
      WHERE a.source_id = r.id AND a.published_at IS NULL AND a.first_seen_at < r.cutoff
      LIMIT v_left
      FOR UPDATE OF a SKIP LOCKED
    )
    DELETE FROM feedd.articles a USING doomed d
    WHERE a.source_id = r.id AND a.id = d.id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_left := v_left - v_n;
  END LOOP;
  RETURN greatest(coalesce(p_limit, 0), 0) - v_left;
END;
$$;
