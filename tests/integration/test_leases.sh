#!/usr/bin/env bash
# Several instances of one group share its feeds through leases (issue 15,
# part 1; sql/017_feed_leases.sql): three `feedd run` with one
# configuration on one database, one of them killed with SIGKILL halfway.
#
# Checked from what the database recorded (polls.instance says who polled):
#  - the feeds are polled about as often as one instance would poll them,
#    not three times as often, and no feed twice within half its interval;
#  - the killed instance's feeds are polled by the others within
#    lease + interval + 5 s of the kill (the slack scaled for slow builds);
#  - one instance at a time polls a host: polls of one host by two
#    instances never overlap;
#  - the validators go with the feed (one 200 per feed, then 304s);
#  - every article is stored once; feed_health shows who holds a feed and
#    feedd.instances how many each holds; a clean stop gives leases back.
#
# usage: test_leases.sh FEEDD TESTS_DIR   (FEEDD_TEST_CONNINFO from with-pg.sh)
set -u
feedd=$1
tests=$2
source "$tests/lib/httpd.sh"
source "$tests/lib/time_factor.sh"
factor=$(time_factor "$feedd")

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"

# (The environment may set them: LEASES_FEEDS=3000 LEASES_INTERVAL=10
# LEASES_LEASE=15 LEASES_SHARED=0 is issue 15's acceptance run; the story
# every feed carries is left out there, since one article linked to 3,000
# feeds at once is a hot row that slows the store far below the polls.)
FEEDS=${LEASES_FEEDS:-60}         # half on 127.0.0.1, half on localhost: two hosts
INTERVAL=${LEASES_INTERVAL:-3}    # seconds; max_interval too, so quiet feeds keep it
LEASE=${LEASES_LEASE:-10}         # seconds: longer than the store takes here
SHARED=${LEASES_SHARED:-1}        # 1: one story in every feed as well

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
  if [ -n "${FEEDD_TEST_KEEP:-}" ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/www"
# Each feed its own three stories (news IDs N01..N03 of feed N), and one
# story every feed carries (news ID 1): stored once, linked to every feed.
for ((i = 1; i <= FEEDS; i++)); do
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<rss version="2.0"><channel><title>Agency</title>'
    for k in 1 2 3; do
      echo "<item><title>Story $i.$k</title><link>https://agency.example/news/$i$((k + 100))/s</link></item>"
    done
    [ "$SHARED" = 1 ] &&
      echo '<item><title>For all</title><link>https://agency.example/news/1/s</link></item>'
    echo '</channel></rss>'
  } > "$work/www/agency-$i.xml"
done
httpd_start "$work/www" || exit $?
port=${FEEDD_TEST_HTTP##*:}

{
  cat << CONF
[feedd]
state_dir = $work/state-\$i
group = leases
lease = ${LEASE}s
min_interval = 1s
default_interval = ${INTERVAL}s
max_interval = ${INTERVAL}s
shutdown_timeout = 5s

[database]
conninfo = $FEEDD_TEST_CONNINFO

[source agency]
home = https://agency.example/
news_id = /news/([0-9]+)/
CONF
  for ((i = 1; i <= FEEDS; i++)); do
    host=127.0.0.1
    ((i % 2 == 0)) && host=localhost
    printf '\n[feed f%04d]\nsource = agency\nurl = http://%s:%s/feeds/agency-%d.xml\n' \
      "$i" "$host" "$port" "$i"
  done
} > "$work/feedd.conf.in"
for i in 1 2 3; do
  sed "s|\\\$i|$i|" "$work/feedd.conf.in" > "$work/feedd-$i.conf"
done

"$feedd" migrate -c "$work/feedd-1.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }

# wait_for SECONDS SQL: polls SQL until it says t, for at most SECONDS
# (times the build's slowness); returns whether it did.
wait_for() {
  local i n=$(($1 * 10 * factor))
  for ((i = 0; i < n; i++)); do
    [ "$(sql "$2")" = t ] && return 0
    sleep 0.1
  done
  return 1
}

for i in 1 2 3; do
  "$feedd" run -c "$work/feedd-$i.conf" 2> "$work/$i.log" &
  pids[$i]=$!
done
for i in 1 2 3; do
  for ((k = 0; k < 300 * factor; k++)); do
    grep -q "ready: polling" "$work/$i.log" && break
    kill -0 "${pids[$i]}" 2> /dev/null || break
    sleep 0.1
  done
  if grep -q "ready: polling $FEEDS feeds, under leases of $LEASE s" "$work/$i.log"; then
    ok "instance $i is ready, polling under leases"
  else
    not_ok "instance $i is ready, polling under leases" "$(tail -3 "$work/$i.log")"
  fi
done

# Every feed polled at least twice: the instances are at work.
wait_for 60 "SELECT count(*) = $FEEDS FROM (SELECT feed_id FROM feedd.polls
              GROUP BY feed_id HAVING count(*) >= 2) p" ||
  not_ok "every feed is polled twice within 60 s" "$(sql "SELECT count(*) FROM feedd.polls")"
is "all three instances have their row" 3 \
  "$(sql "SELECT count(*) FROM feedd.instances WHERE group_name = 'leases' AND stopped_at IS NULL")"
wait_for 30 "SELECT count(*) > 0 FROM feedd.feed_health WHERE held_by IS NOT NULL" &&
  ok "feed_health shows who holds a feed" || not_ok "feed_health shows who holds a feed"
wait_for 30 "SELECT sum(feeds_held) > 0 FROM feedd.instances WHERE stopped_at IS NULL" &&
  ok "feedd.instances shows the feeds each holds" ||
  not_ok "feedd.instances shows the feeds each holds"

# The victim: the instance that made the last poll of the most feeds (a
# host holder); its feeds are those whose last poll before the kill was its
# own.
victim_id=$(sql "SELECT instance FROM (SELECT DISTINCT ON (feed_id) instance FROM feedd.polls
                   ORDER BY feed_id, started_at DESC) l
                 GROUP BY instance ORDER BY count(*) DESC, instance LIMIT 1")
victim_pid=$(sql "SELECT pid FROM feedd.instances WHERE id = '$victim_id'")
for i in 1 2 3; do
  [ "${pids[$i]}" = "$victim_pid" ] && victim=$i
done
if [ -z "${victim:-}" ]; then
  not_ok "a victim is found among the instances" "id '$victim_id', pid '$victim_pid'"
  echo "$pass passed, $fail failed"
  exit 1
fi
killed_at=$(sql "SELECT now()")
kill -KILL "$victim_pid"
wait "$victim_pid" 2> /dev/null
sql "CREATE TABLE victim_feeds AS
     SELECT DISTINCT ON (feed_id) feed_id, instance FROM feedd.polls
     WHERE started_at <= '$killed_at' ORDER BY feed_id, started_at DESC" > /dev/null
sql "DELETE FROM victim_feeds WHERE instance IS DISTINCT FROM '$victim_id'" > /dev/null
n_victim=$(sql "SELECT count(*) FROM victim_feeds")
[ "$n_victim" -gt 0 ] && ok "the killed instance was polling feeds ($n_victim)" ||
  not_ok "the killed instance was polling feeds"

# Taken over: each of its feeds polled again by another instance, within
# lease + interval + 5 s of the kill.
limit=$((LEASE + INTERVAL + 5 * factor))
taken="SELECT count(DISTINCT v.feed_id) FROM victim_feeds v JOIN feedd.polls p USING (feed_id)
       WHERE p.started_at > '$killed_at' AND p.instance <> '$victim_id'
         AND p.started_at <= '$killed_at'::timestamptz + interval '$limit s'"
wait_for $((limit + 30)) "SELECT ($taken) = $n_victim" || true
is "every feed of the killed instance is polled by another within $limit s" "$n_victim" "$(sql "$taken")"

# One interval more, then a clean stop of the others.
sleep "$INTERVAL"
stopped_at=$(sql "SELECT now()")
for i in 1 2 3; do
  [ "$i" = "$victim" ] && continue
  kill -TERM "${pids[$i]}"
  wait "${pids[$i]}"
  is "instance $i: SIGTERM exits 0" 0 $?
done
pids=()

# About one instance's worth of polls, not three: over the run, at most
# 1.3 times what polling each feed every 0.9 * interval (the shortest
# jittered delay) would give, counting each feed's first poll once.
span=$(sql "SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM feedd.polls")
polls=$(sql "SELECT count(*) FROM feedd.polls")
bound=$(sql "SELECT ceil(1.3 * $FEEDS * ($span / (0.9 * $INTERVAL) + 1))")
[ "$polls" -le "$bound" ] && ok "one instance's worth of polls ($polls over $span s, at most $bound)" ||
  not_ok "one instance's worth of polls" "$polls polls over $span s, more than $bound"
is "polls by the surviving instances after the kill" t \
  "$(sql "SELECT count(DISTINCT feed_id) = $FEEDS FROM feedd.polls WHERE started_at > '$killed_at'")"

# No feed polled twice within half its interval, by any two instances.
close_pairs="SELECT f.name, g.prev_instance, g.prev_at, g.prev_ms, g.instance, g.started_at, g.gap
  FROM (SELECT feed_id, instance, started_at, started_at - lag(started_at) OVER w AS gap,
               lag(instance) OVER w AS prev_instance, lag(started_at) OVER w AS prev_at,
               lag(duration_ms) OVER w AS prev_ms
        FROM feedd.polls WINDOW w AS (PARTITION BY feed_id ORDER BY started_at)) g
  JOIN feedd.feeds f ON f.id = g.feed_id
  WHERE g.gap < interval '$((INTERVAL * 500)) ms'"
n_close=$(sql "SELECT count(*) FROM ($close_pairs) c")
is "no feed is polled twice within half its interval" 0 "$n_close"
[ "$n_close" = 0 ] || sql "$close_pairs ORDER BY g.started_at LIMIT 8" | sed 's/^/#   /'


# One instance at a time per host: no two polls of one host by two
# instances overlap.
is "polls of one host by two instances never overlap" 0 \
  "$(sql "WITH p AS (
            SELECT f.host, p.instance, p.started_at AS s,
                   p.started_at + make_interval(secs => p.duration_ms / 1000.0) AS e
            FROM feedd.polls p JOIN feedd.feeds f ON f.id = p.feed_id)
          SELECT count(*) FROM p a JOIN p b
            ON a.host = b.host AND a.instance < b.instance AND a.s < b.e AND b.s < a.e")"
echo "# polls by HTTP status: $(sql "SELECT string_agg(coalesce(http_status::text, 'none') || ':' || n, ' ')
      FROM (SELECT http_status, count(*) AS n FROM feedd.polls GROUP BY 1 ORDER BY 1) c")"
echo "# polls by instance: $(sql "SELECT string_agg(n::text, ' ' ORDER BY n DESC) FROM
      (SELECT count(*) AS n FROM feedd.polls GROUP BY instance) c")"

# The validators travel with the feed: one full answer per feed (its
# first poll), 304 for later ones, whoever polls.  (A lease that lapses
# while the first poll's articles are still being stored, on a machine
# loaded enough, lets another instance fetch before the validators are in:
# allowed for a few, not for every feed an instance takes over.)
n200=$(sql "SELECT count(*) FROM feedd.polls WHERE http_status = 200")
[ "$n200" -ge "$FEEDS" ] && [ "$n200" -le $((FEEDS + FEEDS / 4)) ] &&
  ok "one full (200) answer per feed, then 304s from every instance ($n200)" ||
  not_ok "one full (200) answer per feed, then 304s from every instance" "$n200 full answers for $FEEDS feeds"
[ "$n200" -le $((FEEDS + FEEDS / 4)) ] || sql "SELECT f.name, p.instance, p.started_at, p.duration_ms, g.instance,
      g.started_at, g.http_status
    FROM feedd.polls p JOIN feedd.feeds f ON f.id = p.feed_id
    LEFT JOIN LATERAL (SELECT * FROM feedd.polls q WHERE q.feed_id = p.feed_id
                       AND q.started_at < p.started_at ORDER BY q.started_at DESC LIMIT 1) g ON true
    WHERE p.http_status = 200 AND g.started_at IS NOT NULL ORDER BY p.started_at LIMIT 10" | sed 's/^/#   /'

# Every article once, carried by every feed.
is "every article is stored once (three per feed, one for all)" $((3 * FEEDS + SHARED)) \
  "$(sql "SELECT count(*) FROM feedd.articles")"
is "... each linked to its feeds" $(((3 + SHARED) * FEEDS)) \
  "$(sql "SELECT count(*) FROM feedd.article_feeds")"

# A clean stop gave its leases back; the killed instance's ran out.
is "no stopped instance holds a lease" 0 \
  "$(sql "SELECT count(*) FROM feedd.feeds f JOIN feedd.instances i ON i.id = f.lease_holder
          WHERE i.stopped_at IS NOT NULL")"
is "the stopped instances are marked stopped" 2 \
  "$(sql "SELECT count(*) FROM feedd.instances WHERE stopped_at >= '$stopped_at'")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
