#!/usr/bin/env bash
# test_spool: nothing accepted is lost when PostgreSQL goes away, even when
# feedd itself is killed meanwhile and the articles have left the feeds.
#
#   A. `feedd run` ingests 40 feeds x 125 articles (5,000), with SIGHUP sent
#      over and over while it does; all arrive.
#   B. PostgreSQL is stopped with `pg_ctl stop -m immediate` (a crash).  The
#      feeds change to 5,000 new articles; feedd keeps polling and spools
#      them (and its poll records).
#   C. The feeds change again (the 5,000 rotate out), feedd is killed with
#      SIGKILL, and the last spool segment gets a torn record appended, as
#      a power loss mid-write would leave it.
#   D. PostgreSQL comes back; `feedd once` replays the spool (logging the
#      torn record) and polls, over both store connections: all 10,000 + 40
#      articles are there, each once, the polls made during the outage are
#      in `polls`, and the spool directory is empty.
#   E. The cap: with spool_max_size at its least (64k) and the database away
#      again, new articles are refused rather than dropped: the polls fail,
#      STATUS says SPOOL FULL, and once the database is back the articles
#      arrive with the next polls.
#   F. A segment feedd cannot read (a directory by a segment's name: root
#      cannot read that either) is left in place and feedd does not start
#      (exit 1), unless FEEDD_SPOOL_SKIP_UNREADABLE=1.
#   G. A second `feedd run` on the state_dir of a running one exits 1 naming
#      the first's PID; the first runs on, and what it spooled meanwhile
#      arrives.
#
# Every signal goes to a daemon that said it runs (its signal watchers are
# in place then); a signal before that would kill it.
#
# usage (through with-pg.sh): test_spool.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
# shellcheck source=../lib/httpd.sh
source "$tests/lib/httpd.sh"
# shellcheck source=../lib/pg.sh
source "$tests/lib/pg.sh" # for pg_stop_immediate and pg_start_again

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"

work=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www"
httpd_start "$work/www" || exit $?
feeds=40
per=125

# write_feeds FIRST: feed i carries news IDs FIRST + i*per ... + per - 1.
write_feeds() {
  local first=$1 i
  for ((i = 0; i < feeds; i++)); do
    awk -v first="$first" -v i="$i" -v per="$per" 'BEGIN {
      print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>F</title>"
      for (k = 0; k < per; k++) {
        id = first + i * per + k
        printf "<item><title>Article %d</title><link>https://agency.example/news/%d/x</link>", id, id
        printf "<description>Text of article %d, long enough to look like a teaser.</description></item>\n", id
      }
      print "</channel></rss>"
    }' > "$work/www/f$i.xml.new"
    mv "$work/www/f$i.xml.new" "$work/www/f$i.xml"
  done
}

{
  cat <<CONF
[feedd]
state_dir = $work/state
log_level = info
min_interval = 1s
default_interval = 1s
max_interval = 5s
fetch_timeout = 5s
shutdown_timeout = 5s

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms

[source agency]
home = https://agency.example/
news_id = /news/([0-9]+)/
CONF
  for ((i = 0; i < feeds; i++)); do
    printf '\n[feed f%d]\nsource = agency\nurl = %s/feeds/f%d.xml\n' "$i" "$FEEDD_TEST_HTTP" "$i"
  done
} > "$work/feedd.conf"

"$feedd" migrate -c "$work/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }
count() { sql "SELECT count(*) FROM feedd.articles"; }
# wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS.
wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
articles_are() { [ "$(count 2> /dev/null)" = "$1" ]; }
# running LOG: feedd said in LOG that it runs; from then on it handles
# SIGHUP and SIGTERM (the line follows ev_signal_start).
running() { grep -q "feedd [^ ]* running: " "$1"; }
segments() { find "$work/state/spool" -name 'seg-*.spool' 2> /dev/null | wc -l; }

# A. Ingestion, with SIGHUP over and over.
write_feeds 1000000
"$feedd" run -c "$work/feedd.conf" 2> "$work/run.log" &
daemon_pid=$!
wait_for 30 running "$work/run.log" || not_ok "A: feedd says it runs" "$(tail -3 "$work/run.log")"
for ((k = 0; k < 20; k++)); do
  sleep 0.15
  kill -HUP "$daemon_pid" 2> /dev/null
done
if wait_for 60 articles_are 5000; then ok "A: 5,000 articles ingested under repeated SIGHUP"; else
  not_ok "A: 5,000 articles ingested under repeated SIGHUP" "$(count) after 60 s"
fi
is "A: feedd survived the SIGHUPs" 0 "$(kill -0 "$daemon_pid" 2> /dev/null; echo $?)"
is "A: the spool is not used while the database is up" 0 "$(segments)"

# B. PostgreSQL crashes; 5,000 new articles appear and are spooled.
pg_stop_immediate
write_feeds 2000000
spooled_feeds() { [ "$(grep -c ': 125 entries, 125 new' "$work/run.log")" -ge $((feeds * 2)) ]; }
if wait_for 60 spooled_feeds; then ok "B: every feed was polled while the database was down"; else
  not_ok "B: every feed was polled while the database was down" \
    "$(grep -c ': 125 entries, 125 new' "$work/run.log") polls with 125 new"
fi
[ "$(segments)" -ge 1 ] && ok "B: the spool holds segments" || not_ok "B: the spool holds segments"
grep -q "spool" "$work/run.log" && ok "B: spooling is logged" || not_ok "B: spooling is logged"

# C. The articles leave the feeds; feedd dies without a word; the last
# segment gets a torn record.
per=1
write_feeds 3000000
sleep 1.5 # polls of the new documents go to the spool too
kill -9 "$daemon_pid"
wait "$daemon_pid" 2> /dev/null
daemon_pid=
last=$(find "$work/state/spool" -name 'seg-*.spool' | sort | tail -1)
printf '\x40\x00\x00\x00\x11\x22\x33\x44torn' >> "$last"

# D. PostgreSQL is back; once replays the spool and polls.
pg_start_again || { echo "not ok - PostgreSQL did not start again"; exit 1; }
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once.log"
is "D: once exits 0" 0 $?
is "D: all 10,040 articles are stored" 10040 "$(count)"
is "D: each once" 10040 "$(sql "SELECT count(DISTINCT news_id) FROM feedd.articles")"
is "D: the 5,000 articles that were only ever in the spool are there" 5000 \
  "$(sql "SELECT count(*) FROM feedd.articles WHERE news_id::bigint BETWEEN 2000000 AND 2999999")"
# The replay is a backlog: it goes over both store connections (the
# default store_connections = 2), and still each article once.
grep -q "database connection 2: connected" "$work/once.log" &&
  ok "D: the replay opened the second store connection" ||
  not_ok "D: the replay opened the second store connection" "$(grep 'database' "$work/once.log" | head -5)"
grep -q "torn\|cut short\|checksum\|longer than what was written" "$work/once.log" &&
  ok "D: the torn record is logged" || not_ok "D: the torn record is logged" "$(grep spool "$work/once.log" | head -5)"
is "D: the spool is empty afterwards" 0 "$(segments)"
# 40 polls with 125 new articles before the outage, 40 during it.
new_polls=$(sql "SELECT count(*) FROM feedd.polls WHERE new_items = 125")
[ "$new_polls" -ge $((2 * feeds)) ] && ok "D: the polls made during the outage are recorded ($new_polls with 125 new)" ||
  not_ok "D: the polls made during the outage are recorded" "$new_polls polls with 125 new, want $((2 * feeds))"

# E. The cap.
sed -i "s|^state_dir = .*|state_dir = $work/state2\nspool_max_size = 64k|" "$work/feedd.conf"
notify=$work/notify.sock
python3 - "$notify" > "$work/notify.log" 2> /dev/null <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(90)
try:
    while True:
        print(s.recv(4096).decode(errors="replace"), flush=True)
except Exception:
    pass
PY
notify_pid=$!
wait_for 5 test -S "$notify"
NOTIFY_SOCKET=$notify "$feedd" run -c "$work/feedd.conf" 2> "$work/run2.log" &
daemon_pid=$!
started() { running "$work/run2.log" && grep -q "polling $feeds feeds" "$work/run2.log"; }
wait_for 30 started || not_ok "E: feedd started" "$(tail -3 "$work/run2.log")"
sleep 1
pg_stop_immediate
per=125
write_feeds 4000000
full() { grep -q "spool.*is full" "$work/run2.log"; }
if wait_for 30 full; then ok "E: a full spool is logged"; else not_ok "E: a full spool is logged" "$(tail -5 "$work/run2.log")"; fi
refused() { grep -q "the spool is full (spool_max_size)" "$work/run2.log"; }
if wait_for 30 refused; then ok "E: polls fail with the reason"; else not_ok "E: polls fail with the reason"; fi
status_full() { grep -q "SPOOL FULL" "$work/notify.log"; }
if wait_for 40 status_full; then ok "E: STATUS says SPOOL FULL"; else not_ok "E: STATUS says SPOOL FULL" "$(grep STATUS "$work/notify.log" | tail -2)"; fi
pg_start_again || { echo "not ok - PostgreSQL did not start again"; exit 1; }
all_e() { [ "$(sql "SELECT count(*) FROM feedd.articles WHERE news_id::bigint >= 4000000" 2> /dev/null)" = 5000 ]; }
if wait_for 90 all_e; then ok "E: the refused articles arrive once the database is back"; else
  not_ok "E: the refused articles arrive once the database is back" \
    "$(sql "SELECT count(*) FROM feedd.articles WHERE news_id::bigint >= 4000000")"
fi
kill -TERM "$daemon_pid"
wait "$daemon_pid"
is "E: SIGTERM exits 0" 0 $?
daemon_pid=
kill "$notify_pid" 2> /dev/null
is "E: nothing is left in the spool" 0 "$(find "$work/state2/spool" -name 'seg-*.spool' | wc -l)"
is "E: still each article once" "$(sql "SELECT count(*) FROM feedd.articles")" \
  "$(sql "SELECT count(DISTINCT news_id) FROM feedd.articles")"

# F. A segment that cannot be read.
sed -i "s|^state_dir = .*|state_dir = $work/state3|" "$work/feedd.conf"
unreadable=$work/state3/spool/seg-0000000000000001.spool
mkdir -p "$unreadable"
timeout 30 "$feedd" run -c "$work/feedd.conf" 2> "$work/run3.log"
is "F: a segment that cannot be read: feedd run exits 1" 1 $?
grep -q "spool: $unreadable cannot be read: not a regular file; it is left in place" "$work/run3.log" &&
  grep -q "feedd does not start" "$work/run3.log" && ok "F: the segment and the refusal are logged" ||
  not_ok "F: the segment and the refusal are logged" "$(tail -3 "$work/run3.log")"
[ -d "$unreadable" ] && ok "F: the segment is left in place" || not_ok "F: the segment is left in place"
FEEDD_SPOOL_SKIP_UNREADABLE=1 timeout 60 "$feedd" once -c "$work/feedd.conf" 2> "$work/once3.log"
is "F: with FEEDD_SPOOL_SKIP_UNREADABLE=1, once runs (exit 0)" 0 $?
[ -d "$unreadable" ] && ok "F: ... and leaves the segment in place" ||
  not_ok "F: ... and leaves the segment in place"

# G. Two daemons, one state_dir.
sed -i "s|^state_dir = .*|state_dir = $work/state4|" "$work/feedd.conf"
"$feedd" run -c "$work/feedd.conf" 2> "$work/run4.log" &
daemon_pid=$!
started4() { running "$work/run4.log" && grep -q "polling $feeds feeds" "$work/run4.log"; }
wait_for 30 started4 || not_ok "G: the first feedd started" "$(tail -3 "$work/run4.log")"
pg_stop_immediate
write_feeds 5000000
spooling() { [ "$(find "$work/state4/spool" -name 'seg-*.spool' -size +1k | wc -l)" -ge 1 ]; }
wait_for 30 spooling || not_ok "G: the first feedd spools" "$(tail -3 "$work/run4.log")"
timeout 30 "$feedd" run -c "$work/feedd.conf" 2> "$work/run5.log"
is "G: a second feedd run on the same state_dir exits 1" 1 $?
grep -q "in use by another feedd (PID $daemon_pid," "$work/run5.log" &&
  ok "G: ... naming the first's PID ($daemon_pid)" ||
  not_ok "G: ... naming the first's PID ($daemon_pid)" "$(tail -3 "$work/run5.log")"
is "G: the first runs on" 0 "$(kill -0 "$daemon_pid" 2> /dev/null; echo $?)"
pg_start_again || { echo "not ok - PostgreSQL did not start again"; exit 1; }
all_g() { [ "$(sql "SELECT count(*) FROM feedd.articles WHERE news_id::bigint >= 5000000" 2> /dev/null)" = 5000 ]; }
if wait_for 90 all_g; then ok "G: everything the first accepted arrives"; else
  not_ok "G: everything the first accepted arrives" \
    "$(sql "SELECT count(*) FROM feedd.articles WHERE news_id::bigint >= 5000000")"
fi
kill -TERM "$daemon_pid"
wait "$daemon_pid"
is "G: SIGTERM exits 0" 0 $?
daemon_pid=
is "G: nothing is left in the spool" 0 "$(find "$work/state4/spool" -name 'seg-*.spool' | wc -l)"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
