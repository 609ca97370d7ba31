#!/usr/bin/env bash
# test_pages: full articles end to end.  Feeds on the fixture HTTP server
# (tests/lib/httpd.py) link to article pages served beside them; `feedd
# once` against the private PostgreSQL that with-pg.sh started must leave:
# extracted rows for good pages; the feed's data with an extract_status for
# a page that fails, and the page retried on a later pass; a revision when a
# page is edited between visits (and none when only the feed's teaser
# changes); refusals, logged, for a foreign host (also one reached by a
# redirect) and for a private address
# from a public source; a bot-challenge page (HTTP 200) as a failure, not an
# article.
#
# usage (through with-pg.sh): test_pages.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
# shellcheck source=../lib/httpd.sh
source "$tests/lib/httpd.sh"

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
www=$work/www
mkdir -p "$www"
httpd_start "$www" || exit $?
port=${FEEDD_TEST_HTTP##*:}

page=$tests/fixtures/articles/irna-article.html
# The fixture page is article 85859288; the same page under other IDs.
cp "$page" "$www/a-85859288.html"
sed 's/85859288/85850001/g' "$page" > "$www/a-85850001.html"
sed 's/85859288/85850003/g' "$page" > "$www/b-85850003.html"
cp "$tests/fixtures/articles/bot-challenge.html" "$www/a-85850004.html"
# a-85850002.html is missing at first: 404.

item() { # NEWS_URL TITLE
  printf '<item><title>%s</title><link>%s</link><description>Teaser of %s.</description><category>FeedTag</category><pubDate>Wed, 11 Jun 2025 15:46:00 GMT</pubDate></item>\n' "$2" "$1" "$2"
}
rss() {
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>T</title><link>%s/</link>\n' "$FEEDD_TEST_HTTP"
  cat
  printf '</channel></rss>\n'
}
{
  item "$FEEDD_TEST_HTTP/feeds/a-85859288.html" "Good page"
  item "$FEEDD_TEST_HTTP/feeds/a-85850001.html" "Good page too"
  item "$FEEDD_TEST_HTTP/feeds/a-85850002.html" "Missing page"
  item "http://foreign.example.com:$port/feeds/a-85850005.html" "Foreign host"
  item "$FEEDD_TEST_HTTP/feeds/a-85850004.html" "Bot challenge"
  # On the agency's host, but it redirects to localhost: another name of
  # the same server, and not a host of the source.
  item "$FEEDD_TEST_HTTP/redirect/302/1?to=http://localhost:$port/feeds/a-85850006.html" "Redirected away"
} | rss > "$www/agency.xml"
sed 's/85859288/85850006/g' "$page" > "$www/a-85850006.html"
{
  item "http://localhost:$port/feeds/b-85850003.html" "Private address"
} | rss > "$www/public.xml"

cat > "$work/feedd.conf" <<CONF
[feedd]
state_dir = $work/state
log_level = info
fetch_timeout = 5s
page_retries = 2

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms

# The fixture server is the agency's own site: home on 127.0.0.1.
[source agency]
home = $FEEDD_TEST_HTTP/
news_id = /[ab]-([0-9]+)\.html
articles = fetch
rules = nastooh
timezone = Asia/Tehran
revisit = 1h

# A public site that lists localhost among its hosts: the name passes the
# host check, the address it resolves to must not.
[source public]
home = https://public.example.org/
hosts = localhost
news_id = /[ab]-([0-9]+)\.html
articles = fetch
rules = nastooh

[feed agency-all]
source = agency
url = $FEEDD_TEST_HTTP/feeds/agency.xml

[feed public-all]
source = public
url = $FEEDD_TEST_HTTP/feeds/public.xml
CONF

"$feedd" migrate -c "$work/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }

col() { # NEWS_ID COLUMN (of the article, or v.due_at of its queued visit)
  sql "SELECT $2 FROM feedd.articles a LEFT JOIN feedd.page_visits v
       ON v.source_id = a.source_id AND v.article_id = a.id WHERE a.news_id = '$1'"
}
due_now() { # NEWS_ID: its page is due now (as a retry or revisit whose time came)
  sql "SELECT feedd.plan_visit(a.source_id, a.id, now()) FROM feedd.articles a WHERE a.news_id = '$1'" > /dev/null
}

# 1. The first pass: feeds, then pages.
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once1.log"
is "once exits 0" 0 $?
is "every item is an article" 7 "$(sql "SELECT count(*) FROM feedd.articles")"
is "good pages are extracted" "ok ok" \
  "$(col 85859288 extract_status) $(col 85850001 extract_status)"
expected_title=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["title"])' \
  "$tests/fixtures/articles/irna-article.expected.json")
is "the page's title replaces the feed's" "$expected_title" "$(col 85859288 title)"
expected_body=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["body"])' \
  "$tests/fixtures/articles/irna-article.expected.json")
is "the body is the page's, paragraph by paragraph" "$expected_body" "$(col 85859288 body)"
expected_tags=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["tags"]))' \
  "$tests/fixtures/articles/irna-article.expected.json")
is "the page's tags replace the feed's" "$expected_tags" "$(col 85859288 "array_to_string(tags, ',')")"
is "extraction is not an edit: revision 1, no revisions" "1 0" \
  "$(col 85859288 revision) $(sql "SELECT count(*) FROM feedd.article_revisions")"
is "the next visit is the revisit, an hour after first sight" "t" \
  "$(col 85859288 "v.due_at = first_seen_at + interval '1 hour'")"
is "a missing page: the feed's data, http_error, retry due later" \
  "Missing page|Teaser of Missing page.|http_error|HTTP 404|1|t" \
  "$(col 85850002 "concat_ws('|', title, lead, extract_status, page_error, page_attempts, v.due_at > now())")"
logged "the failed page is logged with its retry" \
  "article agency/85850002: page .*a-85850002.html: HTTP 404; trying again in" "$work/once1.log"
is "a foreign host is refused, not retried" "refused|t" \
  "$(col 85850005 "concat_ws('|', extract_status, v.due_at IS NULL)")"
is "... and says why" "t" "$(col 85850005 "page_error LIKE 'refused: foreign.example.com is not a host of source agency%'")"
logged "the refusal is logged" "article agency/85850005: page .*foreign.example.com.*not fetched" "$work/once1.log"
is "a redirect to a foreign host is refused, not retried" "refused|t" \
  "$(col 85850006 "concat_ws('|', extract_status, v.due_at IS NULL)")"
is "... and the error names the host" "t" \
  "$(col 85850006 "page_error = 'refused: the redirect to localhost is not one of the allowed hosts'")"
is "... which was never sent a request" 0 "$(grep -c 'GET /feeds/a-85850006' "$FEEDD_TEST_HTTP_LOG")"
is "... though the redirect was" 1 "$(grep -c 'GET /redirect/302/1?to=http://localhost' "$FEEDD_TEST_HTTP_LOG")"
is "a private address from a public source is refused" "refused|t" \
  "$(col 85850003 "concat_ws('|', extract_status, page_error LIKE 'refused: the address % is not public')")"
logged "... and logged" "article public/85850003: page .*not public; not fetched" "$work/once1.log"
is "the private page was never requested" 0 "$(grep -c 'b-85850003' "$FEEDD_TEST_HTTP_LOG")"
is "a bot challenge (HTTP 200) is not an article" "not_article|Bot challenge|1" \
  "$(col 85850004 "concat_ws('|', extract_status, title, page_attempts)")"

# 2. The missing page appears; its retry comes due (moved to now rather than
# waiting a minute) and the next pass extracts it.
sed 's/85859288/85850002/g' "$page" > "$www/a-85850002.html"
due_now 85850002
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once2.log"
is "second once exits 0" 0 $?
is "the retried page is extracted" "ok||0|$expected_title" \
  "$(col 85850002 "concat_ws('|', extract_status, coalesce(page_error, ''), page_attempts, title)")"
is "pages not due are not fetched again" 1 "$(grep -c 'GET /feeds/a-85859288.html' "$FEEDD_TEST_HTTP_LOG")"

# 3. The feed's teaser changes for an extracted article: the page owns the
# content, so nothing is revised.
sed -i 's/Teaser of Good page\./A new teaser./' "$www/agency.xml"
touch -d '+1 minute' "$www/agency.xml"
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once3.log"
is "a new teaser does not revise an extracted article" "1|$expected_title" \
  "$(col 85859288 "concat_ws('|', revision, title)")"

# 4. The publisher edits the page; the revisit (made due now) finds it.
sed -i 's/Freight that now waits days at the border should cross in hours/Freight should now cross the border in minutes/' "$www/a-85859288.html"
# (as if an hour had passed: the revisit age is reached)
sql "UPDATE feedd.articles SET first_seen_at = now() - interval '61 minutes' WHERE news_id = '85859288'" > /dev/null
due_now 85859288
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once4.log"
is "the edit makes revision 2" 2 "$(col 85859288 revision)"
is "the new body is stored" "t" "$(col 85859288 "body LIKE '%cross the border in minutes%'")"
is "the old version is in article_revisions" "1|t" \
  "$(sql "SELECT concat_ws('|', r.revision, r.body LIKE '%cross in hours%') FROM feedd.article_revisions r JOIN feedd.articles a ON a.id = r.article_id AND a.source_id = r.source_id WHERE a.news_id = '85859288'")"
is "edited_articles lists it" "agency|85859288|1" \
  "$(sql "SELECT concat_ws('|', source, news_id, edits) FROM feedd.edited_articles")"
logged "the edit is logged" "article agency/85859288: edited by the publisher, now revision 2" "$work/once4.log"
is "visits counted" 2 "$(col 85859288 visits)"
is "no revisit left after the last age" "t" "$(col 85859288 "v.due_at IS NULL")"

# 5. A revisit of an unchanged page is not a revision.
due_now 85850001
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once5.log"
is "an unchanged revisit keeps revision 1" "1|2" "$(col 85850001 "concat_ws('|', revision, visits)")"

# 6. Retries end: the bot challenge fails page_retries + 1 times in all.
for round in 1 2 3; do
  sql "UPDATE feedd.page_visits v SET due_at = now() FROM feedd.articles a
       WHERE a.source_id = v.source_id AND a.id = v.article_id AND a.news_id = '85850004'" > /dev/null
  timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/retry$round.log"
done
is "a page that keeps failing is given up after page_retries" "not_article|3|t" \
  "$(col 85850004 "concat_ws('|', extract_status, page_attempts, v.due_at IS NULL)")"
logged "giving up is logged" "article agency/85850004: page .*giving up after 3 attempts" "$work/retry2.log"

# 6b. Hostile input on the daemon's path: a feed and an article page that
# declare external entities (a local file, a DTD and an entity on the
# fixture server) are parsed without resolving any of them.
cat > "$www/xxe.xml" <<XML
<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "$FEEDD_TEST_HTTP/feeds/evil-feed.dtd" [
  <!ENTITY passwd SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "$FEEDD_TEST_HTTP/feeds/evil-entity.txt">
]>
<rss version="2.0"><channel><title>X</title>
<item><title>Secret: &passwd; &remote;</title><link>$FEEDD_TEST_HTTP/feeds/a-85850077.html</link>
<description>&passwd;</description></item>
</channel></rss>
XML
sed -e 's/85859288/85850077/g' \
  -e "s|<!DOCTYPE html>|<!DOCTYPE html SYSTEM \"$FEEDD_TEST_HTTP/feeds/evil-page.dtd\" [<!ENTITY passwd SYSTEM \"file:///etc/passwd\">]>|" \
  -e 's|<p>|<p>\&passwd; |' "$page" > "$www/a-85850077.html"
grep -q 'evil-page.dtd' "$www/a-85850077.html" || not_ok "the hostile page has its DOCTYPE" "$(head -3 "$www/a-85850077.html")"
cat >> "$work/feedd.conf" <<CONF

[feed hostile]
source = agency
url = $FEEDD_TEST_HTTP/feeds/xxe.xml
CONF
# (first: once FEED of another source fetches none of this source's pages,
# due as one of them is)
due_now 85850001
timeout 120 "$feedd" once -c "$work/feedd.conf" public-all 2> "$work/only.log"
is "once FEED fetches only its own source's pages" 0 "$(grep -c 'article agency/' "$work/only.log")"
timeout 120 "$feedd" once -c "$work/feedd.conf" hostile 2> "$work/xxe.log"
is "hostile: the article is stored" 1 "$(sql "SELECT count(*) FROM feedd.articles WHERE news_id = '85850077'")"
is "hostile: nothing of /etc/passwd in any article" 0 \
  "$(sql "SELECT count(*) FROM feedd.articles WHERE concat(title, lead, body) LIKE '%root:%'")"
is "hostile: no DTD or entity was fetched" 0 "$(grep -c 'evil-' "$FEEDD_TEST_HTTP_LOG")"
is "hostile: the page was still extracted" ok "$(col 85850077 extract_status)"

# 7. Fairness and politeness: a busy source with 12 new pages on 127.0.0.1,
# page_delay 300ms and one connection per host, and a quiet source with one
# page on localhost (another host, so not held by the busy one's delay).
# The quiet page goes out among the first requests rather than after the
# busy ones, and the busy host's requests are at least page_delay apart.
for i in $(seq 10 21); do
  sed "s/85859288/858600$i/g" "$page" > "$www/b-858600$i.html"
  item "$FEEDD_TEST_HTTP/feeds/b-858600$i.html" "Busy $i"
done | rss > "$www/busy.xml"
sed 's/85859288/85870001/g' "$page" > "$www/q-85870001.html"
item "http://localhost:$port/feeds/q-85870001.html" "Quiet" | rss > "$www/quiet.xml"
cat > "$work/fair.conf" <<CONF
[feedd]
state_dir = $work/state
log_level = info
per_host_connections = 1

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms

[source busy]
home = $FEEDD_TEST_HTTP/
news_id = /[bq]-([0-9]+)\.html
articles = fetch
rules = nastooh
page_delay = 300ms

[source quiet]
home = http://localhost:$port/
news_id = /[bq]-([0-9]+)\.html
articles = fetch
rules = nastooh

[feed busy-all]
source = busy
url = $FEEDD_TEST_HTTP/feeds/busy.xml

[feed quiet-all]
source = quiet
url = $FEEDD_TEST_HTTP/feeds/quiet.xml
CONF
timeout 120 "$feedd" once -c "$work/fair.conf" 2> "$work/fair.log"
is "fairness: once exits 0" 0 $?
is "every busy and quiet page is extracted" 13 \
  "$(sql "SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id WHERE s.name IN ('busy', 'quiet') AND extract_status = 'ok'")"
grep -E 'GET /feeds/[bq]-858[67]' "$FEEDD_TEST_HTTP_LOG" > "$work/fair.requests"
quiet_at=$(grep -n 'q-85870001' "$work/fair.requests" | head -1 | cut -d: -f1)
if [ -n "$quiet_at" ] && [ "$quiet_at" -le 2 ]; then
  ok "the quiet source is not starved (its page was request $quiet_at of 13)"
else
  not_ok "the quiet source is not starved" "its page was request ${quiet_at:-none} of $(wc -l < "$work/fair.requests")"
fi
min_gap=$(grep 'b-858600' "$work/fair.requests" | sed 's/.* t=//' |
  awk 'NR > 1 { g = $1 - prev; if (min == "" || g < min) min = g } { prev = $1 } END { printf "%.3f", min }')
if awk -v g="$min_gap" 'BEGIN { exit !(g >= 0.25) }'; then
  ok "page_delay spaces one host's requests (shortest gap $min_gap s)"
else
  not_ok "page_delay spaces one host's requests" "shortest gap $min_gap s, want >= 0.3 s"
fi

# 8. SIGTERM with claimed pages still queued: they are handed back, due at
# once, instead of waiting out their 15-minute lease.
for i in $(seq 30 49); do
  sed "s/85859288/858600$i/g" "$page" > "$www/s-858600$i.html"
  item "$FEEDD_TEST_HTTP/feeds/s-858600$i.html" "Slow $i"
done | rss > "$www/slow.xml"
cat > "$work/slow.conf" <<CONF
[feedd]
state_dir = $work/state
log_level = info
per_host_connections = 1
shutdown_timeout = 5s

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms

[source slow]
home = $FEEDD_TEST_HTTP/
news_id = /s-([0-9]+)\.html
articles = fetch
rules = nastooh
page_delay = 1s

[feed slow-all]
source = slow
url = $FEEDD_TEST_HTTP/feeds/slow.xml
CONF
"$feedd" run -c "$work/slow.conf" 2> "$work/slow.log" &
slow_pid=$!
for ((k = 0; k < 300; k++)); do
  grep -q "page extracted" "$work/slow.log" && break
  sleep 0.1
done
sleep 1
kill -TERM "$slow_pid"
wait "$slow_pid"
is "SIGTERM with pages queued exits 0" 0 $?
pending=$(sql "SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'slow' AND extract_status = 'pending'")
[ "$pending" -gt 0 ] && ok "some pages were left ($pending)" || not_ok "some pages were left" "$pending"
is "every page left is due at once, not after its lease" "$pending" \
  "$(sql "SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id JOIN feedd.page_visits v ON v.source_id = a.source_id AND v.article_id = a.id WHERE s.name = 'slow' AND extract_status = 'pending' AND v.due_at <= now() AND v.lease_until IS NULL")"
grep -q "claimed pages not fetched are handed back" "$work/slow.log" && ok "the hand-back is logged" ||
  not_ok "the hand-back is logged" "$(tail -3 "$work/slow.log")"

# 9. A due page whose article row another session holds for a moment (as
# the search indexer does while it fills articles.search) is visited, not
# skipped: the claim takes the queue row (page_visits, 021), and the
# visit's record waits for the article.  Skipped, `once` would end with the
# page unvisited.
visits_before=$(col 85859288 visits)
due_now 85859288
hold_rows "$work" "SET application_name = 'test_locker'; SELECT 'locked' FROM feedd.articles
  WHERE news_id = '85859288' FOR NO KEY UPDATE" > "$work/held"
is "the row is held by another session" locked "$(cat "$work/held")"
timeout 120 "$feedd" once -c "$work/feedd.conf" agency-all 2> "$work/locked.log" &
once_pid=$!
waited=0
for ((k = 0; k < 1200; k++)); do
  waited=$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'feedd' AND wait_event_type = 'Lock'")
  [ "$waited" -gt 0 ] && break
  kill -0 "$once_pid" 2> /dev/null || break
  sleep 0.1
done
is "once waits for the held row" 1 "$waited"
release_rows
wait "$once_pid"
is "... and exits 0 once it is free" 0 $?
is "the held page was visited" $((visits_before + 1)) "$(col 85859288 visits)"
logged "... and its revisit logged" "article agency/85859288: \\(revisited\\|edited\\)" "$work/locked.log"

# 10. A claim and a hand-back write the lease only: HOT updates of the
# narrow queue row, no index entry written (021; on articles, none of them
# was).  In one transaction, rolled back, whose own counters are read.
due_now 85850001
due_now 85859288
got=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$FEEDD_TEST_CONNINFO" 2>&1 << 'SQL'
BEGIN;
CREATE TEMP TABLE claimed ON COMMIT DROP AS
  SELECT * FROM feedd.claim_visits(ARRAY['agency'], 100, 60);
SELECT string_agg(news_id, ',' ORDER BY news_id) FILTER (WHERE news_id IN ('85850001', '85859288'))
  FROM claimed;
SELECT feedd.release_visits(ARRAY['agency', 'agency'], ARRAY['85850001', '85859288']);
SELECT concat_ws('|', n_tup_upd = (SELECT count(*) FROM claimed) + 2, n_tup_hot_upd = n_tup_upd)
  FROM pg_stat_xact_user_tables WHERE relid = 'feedd.page_visits'::regclass;
ROLLBACK;
SQL
)
is "claims and hand-backs of pages are HOT updates" "85850001,85859288
2
t|t" "$got"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
