#!/usr/bin/env bash
# test_dbfaults: a database that is up but will not take writes loses
# nothing, and feedd finds its way back by itself.
#
#   A. `feedd run` ingests 4 feeds x 50 articles.
#   B. The database turns read-only (default_transaction_read_only, as a
#      hot standby or an admin would make it; feedd's sessions are ended so
#      that it reconnects into it) and the feeds get 200 new articles:
#      feedd says SQLSTATE 25006 at error priority and "DATABASE REFUSES
#      WRITES" in STATUS, rejects nothing, and once writes are allowed
#      again all 200 are stored (feedd.rejected stays empty).
#   C. The schema is dropped under the running daemon and migrated again;
#      the feeds get 200 more: feedd registers its feeds anew and stores
#      them, with their polls rows, without a restart.
#   E. A server that stops answering (its backend SIGSTOPped while idle;
#      TCP keepalives cannot see it): after stall_timeout (reloaded to 3 s)
#      feedd says so at error priority and "DATABASE STALLED" in STATUS,
#      leaves the connection and stores the 200 new articles through a new
#      one.  Then the postmaster stops too, so that reconnecting hangs as
#      well: feedd stops confirming liveness to the watchdog (WATCHDOG=1
#      pings counted before, none while stuck, again after), and once the
#      server runs again the 200 articles polled meanwhile are stored.
#   F. An article the search indexer cannot take for an hour (another
#      session holds its row) is named in STATUS ("search index N s
#      behind"); released, it is indexed and STATUS says no more.
#   D. SIGTERM exits 0.
#
# usage (through with-pg.sh): test_dbfaults.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
# shellcheck source=../lib/httpd.sh
source "$tests/lib/httpd.sh"

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"
# As an admin whose session may write whatever the database's default.
sql_rw() { PGOPTIONS='-c default_transaction_read_only=off' sql "$1"; }

work=$(mktemp -d)
daemon_pid= notify_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2> /dev/null
  [ -n "$notify_pid" ] && kill "$notify_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www"
httpd_start "$work/www" || exit $?
feeds=4
per=50

write_feeds() { # FIRST: feed i carries news IDs FIRST + i*per ...
  local first=$1 i
  for ((i = 0; i < feeds; i++)); do
    awk -v first="$first" -v i="$i" -v per="$per" 'BEGIN {
      print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>F</title>"
      for (k = 0; k < per; k++) {
        id = first + i * per + k
        printf "<item><title>Article %d</title><link>https://agency.example/news/%d/x</link></item>\n", id, id
      }
      print "</channel></rss>"
    }' > "$work/www/f$i.xml.new"
    mv "$work/www/f$i.xml.new" "$work/www/f$i.xml"
  done
}

{
  cat << CONF
[feedd]
state_dir = $work/state
log_level = info
min_interval = 1s
default_interval = 1s
max_interval = 3s
fetch_timeout = 5s
shutdown_timeout = 5s

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms
# Small batches: 200 articles are a backlog, which opens the store's
# second connection (store_connections = 2, the default).
batch_size = 20

[source agency]
home = https://agency.example/
news_id = /news/([0-9]+)/
CONF
  for ((i = 0; i < feeds; i++)); do
    printf '\n[feed f%d]\nsource = agency\nurl = %s/feeds/f%d.xml\n' "$i" "$FEEDD_TEST_HTTP" "$i"
  done
} > "$work/feedd.conf"
"$feedd" migrate -c "$work/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }
db=$(sql "SELECT current_database()")

wait_for() { # SECONDS CMD...: until CMD succeeds, at most SECONDS
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
count_from() { sql "SELECT count(*) FROM feedd.articles WHERE news_id::bigint >= $1" 2> /dev/null; }
have() { [ "$(count_from "$1")" = "$2" ]; }
in_log() { grep -q -- "$1" "$work/run.log"; }
kick_sessions() {
  sql_rw "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()" > /dev/null
}

# A.
notify=$work/notify.sock
python3 - "$notify" > "$work/notify.log" 2> /dev/null << 'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(200)
try:
    while True:
        print(s.recv(4096).decode(errors="replace"), flush=True)
except Exception:
    pass
PY
notify_pid=$!
wait_for 5 test -S "$notify"
write_feeds 1000000
NOTIFY_SOCKET=$notify WATCHDOG_USEC=1000000 "$feedd" run -c "$work/feedd.conf" 2> "$work/run.log" &
daemon_pid=$!
wait_for 30 grep -q READY=1 "$work/notify.log" || not_ok "A: feedd is ready" "$(tail -3 "$work/run.log")"
if wait_for 60 have 1000000 200; then ok "A: 200 articles stored"; else
  not_ok "A: 200 articles stored" "$(count_from 1000000)"
fi

# B. Read-only.
sql_rw "ALTER DATABASE \"$db\" SET default_transaction_read_only = on"
kick_sessions
write_feeds 2000000
if wait_for 60 in_log "SQLSTATE 25006"; then ok "B: the read-only database is logged (25006)"; else
  not_ok "B: the read-only database is logged (25006)" "$(tail -5 "$work/run.log")"
fi
grep "SQLSTATE 25006" "$work/run.log" | grep -q "error: database: cannot store.*everything is kept" &&
  ok "B: ... at error priority, saying everything is kept" ||
  not_ok "B: ... at error priority" "$(grep 25006 "$work/run.log" | head -2)"
if wait_for 60 grep -q "DATABASE REFUSES WRITES" "$work/notify.log"; then ok "B: STATUS says DATABASE REFUSES WRITES"; else
  not_ok "B: STATUS says DATABASE REFUSES WRITES" "$(grep STATUS "$work/notify.log" | tail -2)"
fi
polled_new() { [ "$(grep -c ": 50 entries, 50 new" "$work/run.log")" -ge $((2 * feeds)) ]; }
wait_for 60 polled_new || not_ok "B: the new articles were polled" "$(grep -c 'entries' "$work/run.log")"
is "B: nothing was rejected as bad data" 0 "$(grep -c " rejected: " "$work/run.log")"
grep " rejected: " "$work/run.log" | head -3
sql_rw "ALTER DATABASE \"$db\" RESET default_transaction_read_only"
kick_sessions
if wait_for 90 have 2000000 200; then ok "B: all 200 articles polled while read-only are stored"; else
  not_ok "B: all 200 articles polled while read-only are stored" "$(count_from 2000000)"
fi
is "B: feedd.rejected is empty" 0 "$(sql "SELECT count(*) FROM feedd.rejected")"

# C. The schema dropped and migrated again.
sql "DROP SCHEMA feedd CASCADE" 2> /dev/null
kick_sessions
write_feeds 3000000
if wait_for 60 in_log "run \`feedd migrate\`"; then ok "C: a missing schema is logged"; else
  not_ok "C: a missing schema is logged" "$(tail -3 "$work/run.log")"
fi
"$feedd" migrate -c "$work/feedd.conf" > /dev/null || not_ok "C: migrate again"
if wait_for 60 in_log "registering them again"; then ok "C: feedd registers its feeds again"; else
  not_ok "C: feedd registers its feeds again" "$(tail -5 "$work/run.log")"
fi
if wait_for 90 have 3000000 200; then ok "C: the 200 new articles are stored"; else
  not_ok "C: the 200 new articles are stored" "$(count_from 3000000)"
fi
polls_of_all() { [ "$(sql "SELECT count(DISTINCT feed_id) FROM feedd.polls" 2> /dev/null)" = "$feeds" ]; }
if wait_for 30 polls_of_all; then ok "C: every feed has polls rows again"; else
  not_ok "C: every feed has polls rows again" "$(sql "SELECT count(DISTINCT feed_id) FROM feedd.polls")"
fi
is "C: no unknown-feed errors reached the log" 0 "$(grep -c 'unknown feed' "$work/run.log")"

# E. A server that stops answering.
stopped=
trap 'for p in $stopped; do kill -CONT "$p" 2> /dev/null; done; cleanup' EXIT
reloads=$(grep -c "reloaded" "$work/run.log")
sed -i 's/^batch_delay = 10ms$/batch_delay = 10ms\nstall_timeout = 3s/' "$work/feedd.conf"
kill -HUP "$daemon_pid"
reloaded() { [ "$(grep -c "reloaded" "$work/run.log")" -gt "$reloads" ]; }
wait_for 30 reloaded || not_ok "E: stall_timeout reloaded" "$(tail -3 "$work/run.log")"
backends() { # the store's main connection ("feedd"; its others are "feedd 2"
  # and on, and the search indexer's is "feedd indexer")
  sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
       AND backend_type = 'client backend' AND pid <> pg_backend_pid()
       AND application_name = '${1:-feedd}'"
}
all_backends() { # every connection of feedd's
  sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
       AND backend_type = 'client backend' AND pid <> pg_backend_pid()
       AND application_name LIKE 'feedd%'"
}
two_connections() { [ "$(backends 'feedd 2' | wc -l)" = 1 ] && [ "$(backends | wc -l)" = 1 ]; }
if wait_for 30 two_connections; then ok "E: the store writes over two connections"; else
  not_ok "E: the store writes over two connections" "$(all_backends | tr '\n' ' ')"
fi
state_of() { sql "SELECT state FROM pg_stat_activity WHERE pid = $1"; }
# feedd's main connection, stopped between two of its transactions (one
# stopped inside one would hold row locks that stall the next connection
# too): a stopped backend cannot change its state, so look after stopping.
idle_stopped=
for ((try = 0; try < 50; try++)); do
  pid=$(backends)
  if [ -n "$pid" ] && [ "$(echo "$pid" | wc -l)" = 1 ]; then
    kill -STOP "$pid"
    if [ "$(state_of "$pid")" = idle ]; then idle_stopped=$pid; break; fi
    kill -CONT "$pid"
  fi
  sleep 0.1
done
if [ -n "$idle_stopped" ]; then ok "E: feedd's backend stopped while idle"; else
  not_ok "E: feedd's backend stopped while idle" "$(backends | tr '\n' ' ')"
fi
stopped=$idle_stopped
write_feeds 4000000
if wait_for 60 in_log "error: database: no answer from the server for 3 s"; then
  ok "E: the stall is logged at error priority"
else
  not_ok "E: the stall is logged at error priority" "$(tail -3 "$work/run.log")"
fi
if wait_for 30 grep -q "DATABASE STALLED" "$work/notify.log"; then ok "E: STATUS says DATABASE STALLED"; else
  not_ok "E: STATUS says DATABASE STALLED" "$(grep STATUS "$work/notify.log" | tail -2)"
fi
if wait_for 90 have 4000000 200; then ok "E: the 200 new articles are stored through a new connection"; else
  not_ok "E: the 200 new articles are stored through a new connection" "$(count_from 4000000)"
fi
kill -CONT "$idle_stopped"
stopped=
pings() { grep -c "^WATCHDOG=1" "$work/notify.log"; }
before=$(pings)
[ "$before" -gt 0 ] && ok "E: liveness was confirmed while the store worked ($before pings)" ||
  not_ok "E: liveness was confirmed while the store worked" "no WATCHDOG=1 in notify.log"

# The whole server stops: every new connection hangs too.
postmaster=$(head -1 "$FEEDD_TEST_PGDATA/postmaster.pid")
stopped="$postmaster $(all_backends | tr '\n' ' ')"
# shellcheck disable=SC2086
kill -STOP $stopped
write_feeds 5000000
if wait_for 90 in_log "watchdog: not confirming liveness"; then ok "E: a store stuck across connections withholds the watchdog"; else
  not_ok "E: a store stuck across connections withholds the watchdog" "$(tail -5 "$work/run.log")"
fi
# WATCHDOG_USEC=1 s: feedd pings every 0.5 s when it pings at all.
held=$(pings)
sleep 3
is "E: no WATCHDOG=1 while stuck" "$held" "$(pings)"
# shellcheck disable=SC2086
kill -CONT $stopped
stopped=
if wait_for 90 have 5000000 200; then ok "E: once the server runs again the 200 articles are stored"; else
  not_ok "E: once the server runs again the 200 articles are stored" "$(count_from 5000000); $(tail -12 "$work/run.log")"
fi
if wait_for 30 in_log "watchdog: the database answers again"; then ok "E: liveness confirmed again"; else
  not_ok "E: liveness confirmed again" "$(tail -3 "$work/run.log")"
fi
resumed() { [ "$(pings)" -gt "$held" ]; }
wait_for 30 resumed && ok "E: WATCHDOG=1 pings resume" || not_ok "E: WATCHDOG=1 pings resume" "$(pings) after $held"
is "E: nothing was rejected" 0 "$(sql "SELECT count(*) FROM feedd.rejected")"

# F. The search index's lag: an article waiting an hour for its vector
# (locked by another session, which feedd.index_search skips) is named in
# STATUS; once the lock goes it is indexed and STATUS says no more.  The
# indexer may index the article between its insert and the lock (it calls
# every few seconds): then the try is made again with another article.
locker= lagged=
sleeping() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%/* lagged */%'
                        AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ]; }
for try in 1 2 3 4 5; do
  id=900000000$try
  sql "SELECT outcome FROM feedd.store_article('agency', 'f0', '$id', NULL, 'Lagged',
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'hl', now() - interval '1 hour')" > /dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$FEEDD_TEST_CONNINFO" -c "BEGIN" \
    -c "SELECT FROM feedd.articles WHERE news_id = '$id' FOR UPDATE" \
    -c "SELECT pg_sleep(300) /* lagged */" > /dev/null 2>&1 &
  locker=$!
  wait_for 30 sleeping
  if [ "$(sql "SELECT search IS NULL FROM feedd.articles WHERE news_id = '$id'")" = t ]; then
    lagged=$id
    break
  fi
  sql_rw "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE query LIKE '%/* lagged */%' AND pid <> pg_backend_pid()" > /dev/null
  wait "$locker" 2> /dev/null
done
[ -n "$lagged" ] && ok "F: an unindexed article is held" ||
  not_ok "F: an unindexed article is held" "indexed before the lock in 5 tries"
last_status() { grep "^STATUS=" "$work/notify.log" | tail -1; }
lag_shown() { last_status | grep -Eq "search index [0-9]{4} s behind"; }
if wait_for 60 lag_shown; then ok "F: STATUS names the search index's lag"; else
  not_ok "F: STATUS names the search index's lag" "$(last_status)"
fi
sql_rw "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE query LIKE '%/* lagged */%' AND pid <> pg_backend_pid()" > /dev/null
wait "$locker" 2> /dev/null
indexed() { [ "$(sql "SELECT search IS NOT NULL FROM feedd.articles WHERE news_id = '$lagged'")" = t ]; }
if wait_for 60 indexed; then ok "F: released, the article is indexed"; else
  not_ok "F: released, the article is indexed" "$(sql "SELECT count(*) FROM feedd.articles WHERE search IS NULL")"
fi
lag_gone() { last_status | grep -q "^STATUS=.* feeds, " && ! last_status | grep -q "search index"; }
if wait_for 30 lag_gone; then ok "F: and STATUS no longer names a lag"; else
  not_ok "F: and STATUS no longer names a lag" "$(last_status)"
fi
is "F: every article is searchable" 0 "$(sql "SELECT count(*) FROM feedd.articles WHERE search IS NULL")"

# D.
kill -TERM "$daemon_pid"
wait "$daemon_pid"
code=$?
is "D: SIGTERM exits 0" 0 "$code"
# A sanitizer's report (exit 99 in scripts/test) or the log's last lines.
[ "$code" = 0 ] || { sed -n '/^==[0-9]*==\|runtime error/,$p' "$work/run.log" | head -80
  tail -5 "$work/run.log"; } | sed 's/^/# /'
daemon_pid=
grep -q "finishing .* polls and .* store items" "$work/run.log" && ok "D: the stop is logged" ||
  not_ok "D: the stop is logged" "$(tail -2 "$work/run.log")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
