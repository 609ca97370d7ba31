-- 021: the queue of article pages moves off feedd.articles into a narrow
-- table of its own, feedd.page_visits (issue 15, part 3).
--
-- articles.next_visit_at said when a page was due and, while a daemon held
-- it, when the daemon's lease ran out; every claim and every hand-back
-- rewrote the whole article row (~3 kB with its search vector) and, since
-- the column was indexed and the table is filled to the brim, every one of
-- its indexes: 0 of 6,000 such updates were HOT.
--
-- page_visits holds one row per article whose page is still to be visited
-- (a first visit, a retry after a failure, or a revisit): due_at, indexed,
-- says when; lease_until, not indexed, says which of the due ones a daemon
-- holds.  A claim and a hand-back change lease_until only, in a 40-byte
-- row on pages left 30 % free: a HOT update, no index written.  A row is
-- deleted when nothing is left to visit, so the table is as large as the
-- queue, not as the archive.  What a visit found stays on the article
-- (extract_status, visits, visited_at, page_attempts, page_error).
--
-- Locks: ACCESS EXCLUSIVE on articles for the length of this transaction
-- (taken first, so that no article is stored between the copy and the
-- drop): the copy reads the planned visits through the partial index of
-- the dropped column (the queue only: a day's articles of the sources
-- whose pages are fetched, milliseconds at tens of thousands), and the
-- DROP COLUMN changes the catalogue only.  lock_timeout makes the
-- migration give up (saying so; it can run again) rather than queue behind
-- a long query on articles with every writer queued behind it.  A daemon
-- of the previous version running meanwhile gets errors from its page
-- statements until the functions of this version are in place (the next
-- step of the same `feedd migrate`); the pages it held come due again.
SET LOCAL lock_timeout = '10s';
LOCK TABLE feedd.articles IN ACCESS EXCLUSIVE MODE;

CREATE TABLE feedd.page_visits (
  source_id bigint NOT NULL,
  article_id bigint NOT NULL,
  due_at timestamptz NOT NULL,
  lease_until timestamptz,
  PRIMARY KEY (source_id, article_id),
  FOREIGN KEY (source_id, article_id) REFERENCES feedd.articles (source_id, id) ON DELETE CASCADE
) WITH (fillfactor = 70);
CREATE INDEX page_visits_due_idx ON feedd.page_visits (due_at);

INSERT INTO feedd.page_visits (source_id, article_id, due_at)
SELECT a.source_id, a.id, a.next_visit_at
FROM feedd.articles a
WHERE a.next_visit_at IS NOT NULL;

-- (drops articles_next_visit_idx with it)
ALTER TABLE feedd.articles DROP COLUMN next_visit_at;

COMMENT ON TABLE feedd.page_visits IS
  'the queue of article pages to visit (sources with articles = fetch): one row per article '
  'whose page is still to be fetched, retried or revisited; deleted when none is left';
COMMENT ON COLUMN feedd.page_visits.source_id IS 'the article''s source (feedd.sources.id)';
COMMENT ON COLUMN feedd.page_visits.article_id IS 'the article (feedd.articles.id of that source)';
COMMENT ON COLUMN feedd.page_visits.due_at IS
  'when the page is next due: its first fetch, a retry after a failure, or a revisit';
COMMENT ON COLUMN feedd.page_visits.lease_until IS
  'while a feedd holds the page (claimed, being fetched): when its lease runs out and the page '
  'is due again; NULL or past: nobody holds it';
