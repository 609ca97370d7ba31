-- Article pages (sources with articles = fetch), queued in feedd.page_visits
-- (021): claim_visits leases the pages that are due, record_page stores one
-- visit's outcome and plans the next (and record_page_claimed one whose
-- claimed publication time was not taken), release_visits hands back
-- leases a stopping daemon did not use.  (Code,
-- not history: see the head of articles.sql.)

-- claim_visits(sources, limit, lease): up to p_limit pages of articles of
-- those sources that are due and nobody holds, oldest due first; each is
-- leased for p_lease_s seconds (page_visits.lease_until), so that a daemon
-- that dies holding it only delays it.  The lease is the only column
-- written: a HOT update of the narrow queue row (021), never of the
-- article.  A due row another claim holds is waited for, not skipped:
-- that claim commits at once and its rows are then leased, so the wait
-- ends with them left out.  The order is total so that two claims lock
-- rows in the same order and never deadlock.
CREATE OR REPLACE FUNCTION feedd.claim_visits(p_sources text[], p_limit int, p_lease_s int)
RETURNS TABLE (source text, news_id text, url text, visits int, attempts int)
LANGUAGE sql
AS $$
  WITH due AS (
    SELECT v.source_id, v.article_id
    FROM feedd.page_visits v
    WHERE v.due_at <= now()
      AND (v.lease_until IS NULL OR v.lease_until <= now())
      AND v.source_id IN (SELECT s.id FROM feedd.sources s WHERE s.name = ANY (p_sources))
    ORDER BY v.due_at, v.source_id, v.article_id
    LIMIT p_limit
    FOR UPDATE OF v
  )
  UPDATE feedd.page_visits AS v
  SET lease_until = now() + make_interval(secs => p_lease_s)
  FROM due, feedd.articles a, feedd.sources s
  WHERE v.source_id = due.source_id AND v.article_id = due.article_id
    AND a.source_id = v.source_id AND a.id = v.article_id AND s.id = v.source_id
  RETURNING s.name, a.news_id, a.url, a.visits, a.page_attempts;
$$;

-- plan_visit(source id, article id, due): the article's page is next due at
-- p_due (queued anew, or moved, and no longer leased); NULL: nothing is left
-- to visit and its queue row goes.
CREATE OR REPLACE FUNCTION feedd.plan_visit(p_source_id bigint, p_article_id bigint,
                                            p_due timestamptz)
RETURNS void
LANGUAGE sql
AS $$
  DELETE FROM feedd.page_visits v
  WHERE p_due IS NULL AND v.source_id = p_source_id AND v.article_id = p_article_id;
  INSERT INTO feedd.page_visits AS v (source_id, article_id, due_at)
  SELECT p_source_id, p_article_id, p_due
  WHERE p_due IS NOT NULL
  ON CONFLICT (source_id, article_id) DO UPDATE SET due_at = excluded.due_at, lease_until = NULL;
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
CREATE OR REPLACE FUNCTION feedd.record_page(p_source text, p_news_id text, p_status text, p_error text,
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
        extract_status = CASE WHEN a.visits > 0 THEN a.extract_status ELSE p_status END
    WHERE a.source_id = v_source AND a.id = cur.id;
    PERFORM feedd.plan_visit(v_source, cur.id,
                             coalesce(p_retry_at, CASE WHEN cur.visits > 0 THEN v_next END));
    article_id := cur.id;
    outcome := 'failed';
    revision := cur.revision;
    RETURN NEXT;
    RETURN;
  END IF;

  IF cur.visits > 0 AND cur.content_hash = p_content_hash THEN
    UPDATE feedd.articles AS a
    SET visits = a.visits + 1, visited_at = v_seen, page_attempts = 0, page_error = NULL,
        extract_status = 'ok'
    WHERE a.source_id = v_source AND a.id = cur.id;
    PERFORM feedd.plan_visit(v_source, cur.id, v_next);
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
      extract_status = 'ok'
  WHERE a.source_id = v_source AND a.id = cur.id
  RETURNING a.revision INTO v_rev;
  PERFORM feedd.plan_visit(v_source, cur.id, v_next);
  article_id := cur.id;
  outcome := CASE WHEN cur.visits > 0 THEN 'revised' ELSE 'extracted' END;
  revision := v_rev;
  RETURN NEXT;
END;
$$;

-- feedd.record_page for a page whose claimed publication time was not taken.
CREATE OR REPLACE FUNCTION feedd.record_page_claimed(p_source text, p_news_id text, p_status text,
                                          p_error text, p_title text, p_lead text,
                                          p_body text, p_author text, p_tags text[],
                                          p_published_at timestamptz,
                                          p_modified_at timestamptz, p_image text,
                                          p_caption text, p_language text,
                                          p_content_hash text, p_seen_at timestamptz,
                                          p_retry_at timestamptz, p_revisit_s int[],
                                          p_published_claimed timestamptz)
RETURNS TABLE (article_id bigint, outcome text, revision int)
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM feedd.record_page(p_source, p_news_id, p_status, p_error, p_title,
                                            p_lead, p_body, p_author, p_tags, p_published_at,
                                            p_modified_at, p_image, p_caption, p_language,
                                            p_content_hash, p_seen_at, p_retry_at,
                                            p_revisit_s)
  LOOP
    IF r.outcome IN ('extracted', 'revised', 'unchanged') THEN
      UPDATE feedd.articles AS a SET published_claimed = p_published_claimed
      FROM feedd.sources s
      WHERE s.name = p_source AND a.source_id = s.id AND a.id = r.article_id
        AND a.published_claimed IS DISTINCT FROM p_published_claimed;
    END IF;
    article_id := r.article_id;
    outcome := r.outcome;
    revision := r.revision;
    RETURN NEXT;
  END LOOP;
END
$$;

-- release_visits(sources, news_ids): hands back the leases of claimed pages
-- a stopping daemon did not visit, so that they are due again at once (their
-- due time is already past); returns how many.  A HOT update, as the claim.
CREATE OR REPLACE FUNCTION feedd.release_visits(p_sources text[], p_news_ids text[])
RETURNS int
LANGUAGE sql
AS $$
  WITH released AS (
    UPDATE feedd.page_visits AS v
    SET lease_until = NULL
    FROM unnest(p_sources, p_news_ids) AS r(source, news_id), feedd.sources s, feedd.articles a
    WHERE s.name = r.source AND a.source_id = s.id AND a.news_id = r.news_id
      AND v.source_id = a.source_id AND v.article_id = a.id
      AND v.lease_until > now()
    RETURNING 1
  )
  SELECT count(*)::int FROM released;
$$;
