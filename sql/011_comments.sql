-- 011: the schema explains itself, and status columns take only their
-- values (issue 13).
--
-- Every table and view of schema feedd, and every one of their columns,
-- gets a COMMENT, so that `\d+ feedd.articles` in psql says what each
-- value is, in which unit, and what NULL means.  The comments of 009 and
-- 010 are restated here in the same words or better ones; a later
-- migration that adds a column comments it too (test_migrate.sh checks
-- that none is missing).
--
-- Two columns hold a fixed set of values, now enforced by CHECK:
--   articles.extract_status  NULL, 'pending' (store_article), 'ok' or what
--                            the daemon gives record_page as p_status
--                            ("http_error", "fetch_error", "not_html",
--                            "not_article", "refused": daemon/pages.c)
--   rejected.kind            what daemon/store.c's reject() writes
-- A value outside the set (a newer daemon on an older schema, a typo in a
-- hand-made UPDATE) is now refused with SQLSTATE 23514, which the daemon
-- treats as a data error: that item is kept in feedd.rejected and the rest
-- of its batch goes on.  Adding a constraint checks the rows already
-- there; should this migration fail on one, find it with
--   SELECT DISTINCT extract_status FROM feedd.articles;
-- Other columns named like statuses are not a fixed set: polls.http_status
-- and feeds.last_status are whatever code the server sent, and
-- feeds.disabled_reason and polls.error are sentences.  No function
-- changes.

ALTER TABLE feedd.articles
  ADD CONSTRAINT articles_extract_status_check
  CHECK (extract_status IS NULL
         OR extract_status IN ('pending', 'ok', 'http_error', 'fetch_error', 'not_html',
                               'not_article', 'refused'));

ALTER TABLE feedd.rejected
  ADD CONSTRAINT rejected_kind_check
  CHECK (kind IN ('article', 'poll', 'page', 'source', 'feed', 'claim', 'release'));

COMMENT ON SCHEMA feedd IS
  'feedd''s tables, views and functions: news articles from RSS and Atom feeds, '
  'and the state of fetching them.  Created and upgraded by `feedd migrate`.';

-- ---- schema_migrations ---------------------------------------------------

COMMENT ON TABLE feedd.schema_migrations IS
  'The migrations (sql/NNN_name.sql, compiled into feedd) applied to this database, one '
  'row each; the highest version is the schema''s.  Written only by `feedd migrate`.';
COMMENT ON COLUMN feedd.schema_migrations.version IS
  'the migration''s number (NNN of its file name)';
COMMENT ON COLUMN feedd.schema_migrations.name IS
  'the migration''s name (its file name after the number, without .sql)';
COMMENT ON COLUMN feedd.schema_migrations.applied_at IS
  'when `feedd migrate` applied it';

-- ---- sources --------------------------------------------------------------

COMMENT ON TABLE feedd.sources IS
  'Publishers, one row per [source NAME] of the configuration: the feeds of a source share '
  'one news-ID space, so an article carried by several of them is stored once.';
COMMENT ON COLUMN feedd.sources.id IS 'generated key';
COMMENT ON COLUMN feedd.sources.name IS
  'the source''s name in the configuration ([source NAME]); unique, never empty';
COMMENT ON COLUMN feedd.sources.home IS
  'the publisher''s home page (home = in the configuration); NULL when not configured';
COMMENT ON COLUMN feedd.sources.created_at IS 'when the source was first registered';
COMMENT ON COLUMN feedd.sources.updated_at IS 'when home last changed (else created_at)';

-- ---- feeds ----------------------------------------------------------------

COMMENT ON TABLE feedd.feeds IS
  'Feeds, one row per [feed NAME] of the configuration, with the daemon''s fetch state.  '
  'name, source, url, interval_s and enabled come from the configuration (sync_feed); '
  'the rest is written by the daemon after each poll (record_fetch).  A feed removed '
  'from the configuration is disabled, never deleted.';
COMMENT ON COLUMN feedd.feeds.id IS 'generated key';
COMMENT ON COLUMN feedd.feeds.source_id IS 'the feed''s publisher (feedd.sources.id)';
COMMENT ON COLUMN feedd.feeds.name IS
  'the feed''s name in the configuration ([feed NAME]); unique, never empty';
COMMENT ON COLUMN feedd.feeds.url IS 'the feed''s URL as configured';
COMMENT ON COLUMN feedd.feeds.interval_s IS
  'seconds between two polls, as configured (the feed''s interval, else its source''s, '
  'else default_interval); NULL for a feed disabled because it left the configuration';
COMMENT ON COLUMN feedd.feeds.enabled IS
  'whether the daemon polls the feed; false when the configuration disables it (or no '
  'longer has it) or when feedd disabled it itself (see disabled_reason)';
COMMENT ON COLUMN feedd.feeds.disabled_reason IS
  'why the feed is disabled: ''disabled in the configuration'' (also for a feed no longer '
  'in the file) or feedd''s own verdict, e.g. ''HTTP 410 Gone'', kept until the URL '
  'changes; NULL while enabled';
COMMENT ON COLUMN feedd.feeds.etag IS
  'the ETag the server last gave with a full (200) response, sent back as If-None-Match; '
  'NULL when it never gave one; forgotten when the URL changes';
COMMENT ON COLUMN feedd.feeds.last_modified IS
  'the Last-Modified header the server last gave with a full (200) response, as sent, '
  'sent back as If-Modified-Since; NULL when it never gave one; forgotten when the URL '
  'changes';
COMMENT ON COLUMN feedd.feeds.permanent_url IS
  'where a permanent redirect (301, 308) said the feed now lives; feedd polls it there '
  'until the configured URL changes; NULL when never moved';
COMMENT ON COLUMN feedd.feeds.next_poll_at IS
  'when the daemon means to poll the feed next (interval, backoff after errors, '
  'Retry-After); NULL when never polled (a new feed is due within seconds)';
COMMENT ON COLUMN feedd.feeds.error_count IS
  'consecutive failed polls (an error, or an HTTP status of 400 or more); 0 after a '
  'success';
COMMENT ON COLUMN feedd.feeds.last_success_at IS
  'started_at of the last successful poll (no error, HTTP status below 400: a 304 counts); '
  'NULL when none yet';
COMMENT ON COLUMN feedd.feeds.last_status IS
  'the HTTP status of the last poll; NULL when it got no HTTP response (or never polled)';
COMMENT ON COLUMN feedd.feeds.created_at IS 'when the feed was first registered';
COMMENT ON COLUMN feedd.feeds.updated_at IS
  'when the row last changed: a configuration change or a recorded poll';

-- ---- articles -------------------------------------------------------------

COMMENT ON TABLE feedd.articles IS
  'Articles, one row per (source, news ID), whichever of the source''s feeds carried it; '
  'the current version (earlier ones are in article_revisions).  For a source with '
  'articles = fetch the page columns (extract_status, visits, ...) say how fetching its '
  'page went; for a feed-only source they stay empty.';
COMMENT ON COLUMN feedd.articles.id IS
  'generated key; with source_id the primary key';
COMMENT ON COLUMN feedd.articles.source_id IS 'the article''s publisher (feedd.sources.id)';
COMMENT ON COLUMN feedd.articles.news_id IS
  'the article''s ID within its source: the source''s news_id pattern matched on the link '
  'or guid, else the guid, else the link, else ''h:'' and a hash of title (or '
  'description) and date; over 512 bytes it is cut to 400 bytes, ''#'' and a hash of the '
  'whole';
COMMENT ON COLUMN feedd.articles.url IS 'the article''s page (the entry''s link); NULL when none';
COMMENT ON COLUMN feedd.articles.title IS 'the headline; NULL when none';
COMMENT ON COLUMN feedd.articles.lead IS
  'the summary or teaser (the entry''s description, or the page''s lead), plain text; NULL '
  'when none';
COMMENT ON COLUMN feedd.articles.body IS
  'the article''s text, plain text (from the feed, or from the page once extracted); NULL '
  'when none';
COMMENT ON COLUMN feedd.articles.author IS 'the byline; NULL when none';
COMMENT ON COLUMN feedd.articles.tags IS
  'categories or keywords, in the order given (at most 100, each at most 256 bytes); '
  'empty when none';
COMMENT ON COLUMN feedd.articles.image IS
  'URL of the article''s main image; NULL when none';
COMMENT ON COLUMN feedd.articles.language IS
  'the language as the feed or page declares it (e.g. en, fa-IR); NULL when neither does';
COMMENT ON COLUMN feedd.articles.published_at IS
  'when the feed or page says the article was published; NULL when it said nothing '
  'or a time more than a day after feedd first saw it (see published_claimed)';
COMMENT ON COLUMN feedd.articles.first_seen_at IS
  'when feedd first saw the article in any of the source''s feeds';
COMMENT ON COLUMN feedd.articles.updated_at IS
  'when the current revision was first seen (first_seen_at for revision 1)';
COMMENT ON COLUMN feedd.articles.content_hash IS
  'hash of the content (128-bit XXH3, 32 hex digits): of url, title, lead, body, author, '
  'tags, image and published_at from the feed, or of the page''s fields once extracted; '
  'a different hash is an edit';
COMMENT ON COLUMN feedd.articles.revision IS
  '1 for the first version, one more per edit; revisions before this one are in '
  'article_revisions';
COMMENT ON COLUMN feedd.articles.extract_status IS
  'the page of an articles = fetch source: ''pending'' (not fetched yet), ''ok'' (extracted '
  'at least once), or why the last attempt at the first visit failed: ''http_error'', '
  '''fetch_error'', '
  '''not_html'', ''not_article'', ''refused'' (a foreign host or private address: never '
  'retried); a failed revisit keeps ''ok''.  NULL for a feed-only source';
COMMENT ON COLUMN feedd.articles.search IS
  'full-text search vector (generated): title weight A, lead B, body C, configuration '
  '''simple'', of their first 2000, 10000 and 200000 characters; GIN-indexed, query with '
  'search @@ websearch_to_tsquery(''simple'', ...)';
COMMENT ON COLUMN feedd.articles.caption IS
  'the caption of the main image, from the page; NULL when none';
COMMENT ON COLUMN feedd.articles.modified_at IS
  'when the publisher says it last changed the article (from the page); NULL when it says '
  'nothing';
COMMENT ON COLUMN feedd.articles.visits IS
  'successful extractions of the page, first visit included; 0 while never extracted';
COMMENT ON COLUMN feedd.articles.visited_at IS
  'when the page was last extracted successfully; NULL when never';
COMMENT ON COLUMN feedd.articles.page_attempts IS
  'failed attempts at the current visit of the page; 0 after a success';
COMMENT ON COLUMN feedd.articles.page_error IS
  'why the last attempt at the page failed, in words; NULL after a success or before any '
  'attempt';
COMMENT ON COLUMN feedd.articles.next_visit_at IS
  'when the page is next due (first fetch, retry after a failure, or revisit), or the end '
  'of the lease while a feedd holds it; NULL when no visit is planned (feed-only source, '
  'given up, or no revisit age left)';
COMMENT ON COLUMN feedd.articles.published_claimed IS
  'a publication time the feed or page claimed that feedd did not take, being more than '
  'a day after the article was seen (the last such claim); NULL when none';

-- ---- article_feeds --------------------------------------------------------

COMMENT ON TABLE feedd.article_feeds IS
  'Which feeds carried an article, one row per (article, feed), and when each first did.';
COMMENT ON COLUMN feedd.article_feeds.source_id IS
  'the article''s source (feedd.sources.id); with article_id, the article';
COMMENT ON COLUMN feedd.article_feeds.article_id IS 'the article (feedd.articles.id)';
COMMENT ON COLUMN feedd.article_feeds.feed_id IS 'the feed that carried it (feedd.feeds.id)';
COMMENT ON COLUMN feedd.article_feeds.first_seen_at IS
  'when feedd first saw the article in this feed';

-- ---- article_revisions ----------------------------------------------------

COMMENT ON TABLE feedd.article_revisions IS
  'Earlier versions of edited articles, one row per replaced revision: revision N was '
  'current from valid_from until replaced_at, when revision N + 1 (here, or for the '
  'newest in articles) was first seen.  The columns are the article''s at the time.';
COMMENT ON COLUMN feedd.article_revisions.source_id IS
  'the article''s source (feedd.sources.id); with article_id, the article';
COMMENT ON COLUMN feedd.article_revisions.article_id IS 'the article (feedd.articles.id)';
COMMENT ON COLUMN feedd.article_revisions.revision IS 'the number this version had';
COMMENT ON COLUMN feedd.article_revisions.url IS 'the article''s page then; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.title IS 'the headline then; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.lead IS 'the summary or teaser then; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.body IS 'the text then, plain text; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.author IS 'the byline then; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.tags IS 'the categories then; empty when none';
COMMENT ON COLUMN feedd.article_revisions.image IS 'URL of the main image then; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.published_at IS
  'the publication time then (see articles.published_at); NULL when none';
COMMENT ON COLUMN feedd.article_revisions.content_hash IS
  'the hash of this version''s content (see articles.content_hash)';
COMMENT ON COLUMN feedd.article_revisions.valid_from IS
  'when this version was first seen';
COMMENT ON COLUMN feedd.article_revisions.replaced_at IS
  'when the next version was first seen, ending this one';
COMMENT ON COLUMN feedd.article_revisions.caption IS
  'the main image''s caption then; NULL when none';
COMMENT ON COLUMN feedd.article_revisions.modified_at IS
  'when the publisher said it had last changed the article, then; NULL when it said nothing';

-- ---- polls ----------------------------------------------------------------

COMMENT ON TABLE feedd.polls IS
  'Fetches of feeds, one row per poll, successful or not.  Deleting a feed deletes its '
  'polls (feedd itself never deletes one).';
COMMENT ON COLUMN feedd.polls.feed_id IS 'the feed polled (feedd.feeds.id)';
COMMENT ON COLUMN feedd.polls.started_at IS
  'when the fetch started; with feed_id the primary key';
COMMENT ON COLUMN feedd.polls.duration_ms IS
  'how long the fetch took, in milliseconds';
COMMENT ON COLUMN feedd.polls.http_status IS
  'the HTTP status of the response (after redirects); NULL when there was no HTTP response '
  '(DNS, connection, TLS or timeout failure)';
COMMENT ON COLUMN feedd.polls.bytes IS
  'size of the response body received, in bytes, after Content-Encoding is undone; 0 for '
  'a 304 or when no response came';
COMMENT ON COLUMN feedd.polls.items_seen IS 'entries in the feed as parsed';
COMMENT ON COLUMN feedd.polls.new_items IS
  'entries that were new: articles inserted (or spooled while the database was away)';
COMMENT ON COLUMN feedd.polls.error IS
  'why the poll failed, in one line (e.g. ''HTTP 500'', a timeout, ''not a feed: ...''); '
  'NULL on success';

-- ---- rejected -------------------------------------------------------------

COMMENT ON TABLE feedd.rejected IS
  'Items PostgreSQL refused for their data (SQLSTATE 22, 23, 54, P0), one row each: '
  'rejected alone, never silently dropped.';
COMMENT ON COLUMN feedd.rejected.id IS 'generated key';
COMMENT ON COLUMN feedd.rejected.rejected_at IS 'when the item was refused';
COMMENT ON COLUMN feedd.rejected.kind IS
  'what the item was: article, poll, page, source, feed, claim or release';
COMMENT ON COLUMN feedd.rejected.source IS
  'the source''s name (articles, pages, sources, feeds); NULL for other kinds';
COMMENT ON COLUMN feedd.rejected.feed IS
  'the feed''s name (articles, polls, feeds); NULL for other kinds';
COMMENT ON COLUMN feedd.rejected.news_id IS
  'the article''s news ID (articles, pages); NULL for other kinds';
COMMENT ON COLUMN feedd.rejected.url IS
  'the article''s URL, the source''s home or the feed''s URL; NULL for other kinds or when '
  'the item had none';
COMMENT ON COLUMN feedd.rejected.title IS 'the article''s title (articles); NULL otherwise';
COMMENT ON COLUMN feedd.rejected.sqlstate IS 'the error''s SQLSTATE';
COMMENT ON COLUMN feedd.rejected.error IS 'the server''s message';
COMMENT ON COLUMN feedd.rejected.record IS
  'the item in the spool''s record encoding (articles, polls and pages), for replay; NULL '
  'for other kinds';

-- ---- views ----------------------------------------------------------------

COMMENT ON VIEW feedd.latest_articles IS
  'Articles, newest first (by published_at, else first_seen_at), with their source''s '
  'name and the names of the feeds that carried them.  No search vector: query '
  'feedd.articles for full-text search.';
COMMENT ON COLUMN feedd.latest_articles.source_id IS 'the article''s source (sources.id)';
COMMENT ON COLUMN feedd.latest_articles.source IS 'the source''s name';
COMMENT ON COLUMN feedd.latest_articles.id IS 'the article''s id (articles.id)';
COMMENT ON COLUMN feedd.latest_articles.news_id IS 'the article''s ID within its source';
COMMENT ON COLUMN feedd.latest_articles.url IS 'the article''s page; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.title IS 'the headline; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.lead IS 'the summary or teaser; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.body IS 'the text, plain text; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.author IS 'the byline; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.tags IS 'categories or keywords; empty when none';
COMMENT ON COLUMN feedd.latest_articles.image IS 'URL of the main image; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.language IS
  'the language the feed or page declares; NULL when neither does';
COMMENT ON COLUMN feedd.latest_articles.published_at IS
  'when the feed or page says it was published; NULL when unknown or not believed '
  '(articles.published_claimed)';
COMMENT ON COLUMN feedd.latest_articles.first_seen_at IS 'when feedd first saw the article';
COMMENT ON COLUMN feedd.latest_articles.updated_at IS
  'when the current revision was first seen';
COMMENT ON COLUMN feedd.latest_articles.content_hash IS
  'hash of the current content (128-bit XXH3, hex)';
COMMENT ON COLUMN feedd.latest_articles.revision IS '1, plus one per edit';
COMMENT ON COLUMN feedd.latest_articles.extract_status IS
  'how fetching the page went (see articles.extract_status); NULL for a feed-only source';
COMMENT ON COLUMN feedd.latest_articles.feeds IS
  'names of the feeds that carried the article, in the order they first did';
COMMENT ON COLUMN feedd.latest_articles.caption IS
  'the main image''s caption, from the page; NULL when none';
COMMENT ON COLUMN feedd.latest_articles.modified_at IS
  'when the publisher says it last changed the article; NULL when it says nothing';
COMMENT ON COLUMN feedd.latest_articles.visits IS
  'successful extractions of the page; 0 while never extracted';
COMMENT ON COLUMN feedd.latest_articles.page_error IS
  'why the last attempt at the page failed; NULL after a success or before any attempt';

COMMENT ON VIEW feedd.edited_articles IS
  'Articles whose content changed after they were first stored (feed-only sources) or '
  'first extracted (articles = fetch), last changed first; earlier versions are in '
  'article_revisions.';
COMMENT ON COLUMN feedd.edited_articles.source_id IS 'the article''s source (sources.id)';
COMMENT ON COLUMN feedd.edited_articles.source IS 'the source''s name';
COMMENT ON COLUMN feedd.edited_articles.id IS 'the article''s id (articles.id)';
COMMENT ON COLUMN feedd.edited_articles.news_id IS 'the article''s ID within its source';
COMMENT ON COLUMN feedd.edited_articles.url IS 'the article''s page; NULL when none';
COMMENT ON COLUMN feedd.edited_articles.title IS 'the current headline; NULL when none';
COMMENT ON COLUMN feedd.edited_articles.published_at IS
  'when the feed or page says it was published; NULL when unknown or not believed';
COMMENT ON COLUMN feedd.edited_articles.first_seen_at IS 'when feedd first saw the article';
COMMENT ON COLUMN feedd.edited_articles.revision IS 'the current revision (2 or more)';
COMMENT ON COLUMN feedd.edited_articles.edits IS 'how often it was edited: revision - 1';
COMMENT ON COLUMN feedd.edited_articles.last_changed_at IS
  'when the current revision was first seen (articles.updated_at)';
COMMENT ON COLUMN feedd.edited_articles.modified_at IS
  'when the publisher says it last changed the article; NULL when it says nothing';

COMMENT ON VIEW feedd.feed_health IS
  'One row per feed: is it working (errors, last poll), and is it bringing anything '
  '(polls and new articles in the last 24 hours)?';
COMMENT ON COLUMN feedd.feed_health.feed IS 'the feed''s name';
COMMENT ON COLUMN feedd.feed_health.source IS 'its source''s name';
COMMENT ON COLUMN feedd.feed_health.url IS 'the feed''s URL as configured';
COMMENT ON COLUMN feedd.feed_health.enabled IS 'whether the daemon polls it';
COMMENT ON COLUMN feedd.feed_health.disabled_reason IS
  'why it is disabled (feeds.disabled_reason); NULL while enabled';
COMMENT ON COLUMN feedd.feed_health.last_success_at IS
  'start of the last successful poll; NULL when none yet';
COMMENT ON COLUMN feedd.feed_health.consecutive_errors IS
  'failed polls in a row (feeds.error_count); 0 after a success';
COMMENT ON COLUMN feedd.feed_health.last_http_status IS
  'HTTP status of the latest poll; NULL when it got no HTTP response or none was made';
COMMENT ON COLUMN feedd.feed_health.last_error IS
  'why the latest poll failed; NULL when it succeeded or none was made';
COMMENT ON COLUMN feedd.feed_health.last_poll_at IS
  'when the latest recorded poll started; NULL when never polled';
COMMENT ON COLUMN feedd.feed_health.next_poll_at IS
  'when the daemon means to poll it next; NULL when never polled';
COMMENT ON COLUMN feedd.feed_health.polls_24h IS 'polls started in the last 24 hours';
COMMENT ON COLUMN feedd.feed_health.new_articles_24h IS
  'new articles those polls brought (sum of polls.new_items)';

COMMENT ON VIEW feedd.feed_state IS
  'What the daemon reads back at start, one row per feed: its configuration as stored '
  '(to register only feeds that changed) and its fetch state.';
COMMENT ON COLUMN feedd.feed_state.name IS 'the feed''s name';
COMMENT ON COLUMN feedd.feed_state.url IS 'the feed''s URL as configured';
COMMENT ON COLUMN feedd.feed_state.etag IS
  'the ETag to send as If-None-Match; NULL when none';
COMMENT ON COLUMN feedd.feed_state.last_modified IS
  'the Last-Modified value to send as If-Modified-Since; NULL when none';
COMMENT ON COLUMN feedd.feed_state.next_poll_at IS
  'when the feed is due; NULL when never polled';
COMMENT ON COLUMN feedd.feed_state.error_count IS 'failed polls in a row';
COMMENT ON COLUMN feedd.feed_state.disabled_reason IS
  'why the feed is disabled; NULL while enabled';
COMMENT ON COLUMN feedd.feed_state.permanent_url IS
  'where a permanent redirect moved the feed; NULL when never moved';
COMMENT ON COLUMN feedd.feed_state.enabled IS 'whether the daemon polls it';
COMMENT ON COLUMN feedd.feed_state.source IS 'its source''s name';
COMMENT ON COLUMN feedd.feed_state.interval_s IS
  'seconds between polls as configured; NULL for a feed no longer in the configuration';
