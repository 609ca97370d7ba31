-- 003: article pages.
--
-- A source with `articles = fetch` has each new article's page fetched and
-- extracted.  The article is stored from the feed at once (extract_status
-- 'pending'), so a page that never comes loses nothing; the page then
-- fills it in through feedd.record_page.  The database is the queue of
-- page visits: next_visit_at says when the page is due (first fetch,
-- retry after a failure, or a revisit at a configured age), and
-- feedd.claim_visits hands due pages to a daemon with a lease, so a daemon
-- that dies with pages in hand only delays them, and several daemons on one
-- database do not fetch the same page.
--
-- extract_status: NULL (a feed-only source), 'pending' (not fetched yet),
-- 'ok' (extracted at least once), or why the last attempt at the first
-- visit failed: 'http_error', 'fetch_error', 'not_html', 'not_article',
-- 'refused' (a foreign host or a private address: never retried).  A failed
-- revisit keeps 'ok' and says what happened in page_error.
--
-- Revisions: the feed's text is the article until its page is extracted;
-- the first extraction replaces it in place (no revision: that is not an
-- edit).  After that the page owns the content: feeds only link to it, and a
-- revisit whose extracted content differs keeps the old version in
-- article_revisions and bumps revision.  feedd.edited_articles lists them.

ALTER TABLE feedd.articles
  ADD COLUMN caption text,
  -- when the publisher says it last changed the article (from the page)
  ADD COLUMN modified_at timestamptz,
  -- successful page extractions, first visit included
  ADD COLUMN visits int NOT NULL DEFAULT 0 CHECK (visits >= 0),
  ADD COLUMN visited_at timestamptz,
  -- failed attempts at the current visit; 0 after a success
  ADD COLUMN page_attempts int NOT NULL DEFAULT 0 CHECK (page_attempts >= 0),
  ADD COLUMN page_error text,
  ADD COLUMN next_visit_at timestamptz;
CREATE INDEX articles_next_visit_idx ON feedd.articles (next_visit_at)
  WHERE next_visit_at IS NOT NULL;

ALTER TABLE feedd.article_revisions
  ADD COLUMN caption text,
  ADD COLUMN modified_at timestamptz;

-- store_article gains p_fetch: the article's source fetches pages.  A new
-- article of such a source is queued for its page; a known one whose page
-- was extracted is only linked to the feed, whatever the feed's text says
-- (two feeds with different teasers no longer alternate revisions).
DROP FUNCTION feedd.store_article(text, text, text, text, text, text, text, text, text[],
                                  timestamptz, text, text, text, timestamptz);

CREATE FUNCTION feedd.store_article(p_source text, p_feed text, p_news_id text, p_url text,
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
                                     updated_at, content_hash, extract_status, next_visit_at)
    VALUES (v_source, p_news_id, p_url, p_title, p_lead, p_body, p_author, v_tags, p_image,
            p_language, p_published_at, v_seen, v_seen, p_content_hash,
            CASE WHEN p_fetch THEN 'pending' END, CASE WHEN p_fetch THEN v_seen END)
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

-- claim_visits(sources, limit, lease): up to p_limit articles of those
-- sources whose page is due, oldest due first; each is leased for p_lease_s
-- seconds (next_visit_at moves past the lease), so that a daemon that dies
-- holding it only delays it.  Rows another session holds are skipped.
CREATE FUNCTION feedd.claim_visits(p_sources text[], p_limit int, p_lease_s int)
RETURNS TABLE (source text, news_id text, url text, visits int, attempts int)
LANGUAGE sql
AS $$
  WITH due AS (
    SELECT a.source_id, a.id
    FROM feedd.articles a
    WHERE a.next_visit_at <= now()
      AND a.source_id IN (SELECT s.id FROM feedd.sources s WHERE s.name = ANY (p_sources))
    ORDER BY a.next_visit_at
    LIMIT p_limit
    FOR UPDATE OF a SKIP LOCKED
  )
  UPDATE feedd.articles AS a
  SET next_visit_at = now() + make_interval(secs => p_lease_s)
  FROM due, feedd.sources s
  WHERE a.source_id = due.source_id AND a.id = due.id AND s.id = a.source_id
  RETURNING s.name, a.news_id, a.url, a.visits, a.page_attempts;
$$;

-- record_page: the outcome of one visit of an article's page.
--
-- p_status 'ok': the extracted fields (NULL where the page had nothing)
-- merged over the stored ones (the page wins where it has a value; tags when
-- it has any), with p_content_hash the hash of what the page gave.  The next
-- visit is the first of p_revisit_s (ages after first sight, in seconds) not
-- yet reached, if any.  Outcomes: 'extracted' (the first page), 'unchanged'
-- or 'revised' (a revisit), 'missing' (no such article).
--
-- Any other p_status: the attempt failed (p_error says why); the page is
-- tried again at p_retry_at, or, when that is NULL, given up: a first visit
-- stays with p_status, a revisit moves on to the next revisit age.
-- Outcome 'failed'.
CREATE FUNCTION feedd.record_page(p_source text, p_news_id text, p_status text, p_error text,
                                  p_title text, p_lead text, p_body text, p_author text,
                                  p_tags text[], p_published_at timestamptz,
                                  p_modified_at timestamptz, p_image text, p_caption text,
                                  p_language text, p_content_hash text, p_seen_at timestamptz,
                                  p_retry_at timestamptz, p_revisit_s int[])
RETURNS TABLE (article_id bigint, outcome text, revision int)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  v_source bigint;
  v_seen timestamptz := coalesce(p_seen_at, now());
  v_next timestamptz;
  v_rev int;
  cur feedd.articles%ROWTYPE;
BEGIN
  SELECT s.id INTO v_source FROM feedd.sources s WHERE s.name = p_source;
  IF v_source IS NULL THEN
    RAISE EXCEPTION 'feedd.record_page: unknown source "%"', p_source
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  SELECT a.* INTO cur FROM feedd.articles a
  WHERE a.source_id = v_source AND a.news_id = p_news_id
  FOR UPDATE;
  IF NOT FOUND THEN
    article_id := NULL;
    outcome := 'missing';
    revision := NULL;
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT min(cur.first_seen_at + make_interval(secs => r)) INTO v_next
  FROM unnest(coalesce(p_revisit_s, '{}')) AS r
  WHERE cur.first_seen_at + make_interval(secs => r) > v_seen;

  IF p_status <> 'ok' THEN
    UPDATE feedd.articles AS a
    SET page_attempts = a.page_attempts + 1,
        page_error = p_error,
        extract_status = CASE WHEN a.visits > 0 THEN a.extract_status ELSE p_status END,
        next_visit_at = coalesce(p_retry_at, CASE WHEN a.visits > 0 THEN v_next END)
    WHERE a.source_id = v_source AND a.id = cur.id;
    article_id := cur.id;
    outcome := 'failed';
    revision := cur.revision;
    RETURN NEXT;
    RETURN;
  END IF;

  IF cur.visits > 0 AND cur.content_hash = p_content_hash THEN
    UPDATE feedd.articles AS a
    SET visits = a.visits + 1, visited_at = v_seen, page_attempts = 0, page_error = NULL,
        extract_status = 'ok', next_visit_at = v_next
    WHERE a.source_id = v_source AND a.id = cur.id;
    article_id := cur.id;
    outcome := 'unchanged';
    revision := cur.revision;
    RETURN NEXT;
    RETURN;
  END IF;

  IF cur.visits > 0 THEN
    INSERT INTO feedd.article_revisions (source_id, article_id, revision, url, title, lead,
                                         body, author, tags, image, published_at,
                                         content_hash, valid_from, replaced_at, caption,
                                         modified_at)
    VALUES (cur.source_id, cur.id, cur.revision, cur.url, cur.title, cur.lead, cur.body,
            cur.author, cur.tags, cur.image, cur.published_at, cur.content_hash,
            cur.updated_at, v_seen, cur.caption, cur.modified_at)
    ON CONFLICT DO NOTHING;
  END IF;
  UPDATE feedd.articles AS a
  SET title = coalesce(p_title, a.title),
      lead = coalesce(p_lead, a.lead),
      body = coalesce(p_body, a.body),
      author = coalesce(p_author, a.author),
      tags = CASE WHEN cardinality(p_tags) > 0 THEN p_tags ELSE a.tags END,
      published_at = coalesce(p_published_at, a.published_at),
      modified_at = coalesce(p_modified_at, a.modified_at),
      image = coalesce(p_image, a.image),
      caption = coalesce(p_caption, a.caption),
      language = coalesce(p_language, a.language),
      content_hash = p_content_hash,
      revision = a.revision + CASE WHEN cur.visits > 0 THEN 1 ELSE 0 END,
      updated_at = CASE WHEN cur.visits > 0 THEN v_seen ELSE a.updated_at END,
      visits = a.visits + 1, visited_at = v_seen, page_attempts = 0, page_error = NULL,
      extract_status = 'ok', next_visit_at = v_next
  WHERE a.source_id = v_source AND a.id = cur.id
  RETURNING a.revision INTO v_rev;
  article_id := cur.id;
  outcome := CASE WHEN cur.visits > 0 THEN 'revised' ELSE 'extracted' END;
  revision := v_rev;
  RETURN NEXT;
END;
$$;

-- Articles whose content changed after it was first extracted (or, for
-- feed-only sources, after it was first seen): how often and when last.
CREATE VIEW feedd.edited_articles AS
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
WHERE a.revision > 1
ORDER BY a.updated_at DESC;

-- latest_articles gains the page's columns (at the end: a view's columns
-- keep their places).
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
  a.page_error
FROM feedd.articles a
JOIN feedd.sources s ON s.id = a.source_id
ORDER BY coalesce(a.published_at, a.first_seen_at) DESC;
