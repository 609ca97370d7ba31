-- 010: publication times from the future.
--
-- A feed or page that claims an article was published more than a day after
-- feedd first saw it (a pubDate of 2999, a CMS with a broken clock) would
-- top every "newest first" query for ever.  feedd does not take such a time:
-- published_at stays empty (latest_articles then orders the article by when
-- it was first seen) and the claimed time is kept in published_claimed for
-- inspection.  The daemon decides (it knows when it saw the article); the
-- two functions below are only used for such an article or page, so that
-- the common path keeps its one function call.

ALTER TABLE feedd.articles ADD COLUMN published_claimed timestamptz;

COMMENT ON COLUMN feedd.articles.published_at IS
  'when the feed or page says the article was published; empty when it said nothing '
  'or a time more than a day after feedd first saw it (see published_claimed)';
COMMENT ON COLUMN feedd.articles.published_claimed IS
  'a publication time the feed or page claimed that feedd did not take, being more than '
  'a day after the article was seen; the last such claim';

-- feedd.store_article for an article whose claimed publication time was not
-- taken: the same, then the claim kept beside it.
CREATE FUNCTION feedd.store_article_claimed(p_source text, p_feed text, p_news_id text,
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

COMMENT ON FUNCTION feedd.store_article_claimed(text, text, text, text, text, text, text, text,
                                                text[], timestamptz, text, text, text,
                                                timestamptz, boolean, timestamptz) IS
  'feedd.store_article, then p_published_claimed kept in articles.published_claimed';

-- feedd.record_page for a page whose claimed publication time was not taken.
CREATE FUNCTION feedd.record_page_claimed(p_source text, p_news_id text, p_status text,
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

COMMENT ON FUNCTION feedd.record_page_claimed(text, text, text, text, text, text, text, text,
                                              text[], timestamptz, timestamptz, text, text,
                                              text, text, timestamptz, timestamptz, int[],
                                              timestamptz) IS
  'feedd.record_page, then p_published_claimed kept in articles.published_claimed';
