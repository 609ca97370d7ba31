#!/usr/bin/env bash
# A database server that accepts connections and never answers (a hung
# host, a stopped postmaster behind a proxy): libpq's asynchronous connect
# applies no connect_timeout, so feedd must give up on each attempt itself
# after [database] stall_timeout, the store's lanes and the search indexer
# alike, log it at warning or error priority, and try again; and SIGTERM
# must still end it.  No PostgreSQL is needed: the "server" is a Python
# socket on 127.0.0.1.
#
# usage: silent_db.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
source "$tests/lib/time_factor.sh"
factor=$(time_factor "$feedd")
command -v python3 > /dev/null || {
  echo "skipped: python3 is missing"
  exit 77
}

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; [ -n "${2:-}" ] && echo "#   $2"; fail=$((fail + 1)); }

work=$(mktemp -d)
daemon_pid= server_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2> /dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Accepts every connection, reads nothing, answers nothing; prints its port
# and counts the connections in $work/accepted.
python3 - "$work/port" "$work/accepted" << 'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
s.settimeout(1)
end = time.time() + 600
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    held.append(c)
    open(sys.argv[2], "w").write(str(len(held)))
PY
server_pid=$!
for ((i = 0; i < 100; i++)); do
  [ -s "$work/port" ] && break
  sleep 0.1
done
port=$(cat "$work/port")

cat > "$work/feedd.conf" << CONF
[feedd]
state_dir = $work/state
shutdown_timeout = 2s

[database]
conninfo = host=127.0.0.1 port=$port dbname=feedd user=feedd sslmode=disable
stall_timeout = 2s
store_connections = 1

[source agency]
home = https://agency.example/
news_id = /news/([0-9]+)/

[feed f0]
source = agency
url = http://127.0.0.1:9/feed.xml
CONF

"$feedd" run -c "$work/feedd.conf" 2> "$work/run.log" &
daemon_pid=$!
in_log() { grep -q -- "$1" "$work/run.log"; }
wait_log() { # SECONDS PATTERN
  local i
  for ((i = 0; i < $1 * 10 * factor; i++)); do
    in_log "$2" && return 0
    sleep 0.1
  done
  return 1
}
if wait_log 60 "search indexer: no answer from the server for 2 s while connecting"; then
  ok "the indexer leaves a connection attempt the server never answers"
else
  not_ok "the indexer leaves a connection attempt the server never answers" "$(grep -i indexer "$work/run.log" | tail -3)"
fi
if wait_log 60 "database: no answer from the server for 2 s while connecting"; then
  ok "so does the store"
else
  not_ok "so does the store" "$(tail -3 "$work/run.log")"
fi
# Both try again: more connections than the two first attempts.
tries() { [ "$(cat "$work/accepted" 2> /dev/null || echo 0)" -gt 2 ]; }
for ((i = 0; i < 600 * factor; i++)); do
  tries && break
  sleep 0.1
done
if tries; then ok "and they try again ($(cat "$work/accepted") connections accepted)"; else
  not_ok "and they try again" "$(cat "$work/accepted" 2> /dev/null) connections accepted"
fi
kill -TERM "$daemon_pid"
for ((i = 0; i < 300 * factor; i++)); do
  kill -0 "$daemon_pid" 2> /dev/null || break
  sleep 0.1
done
if kill -0 "$daemon_pid" 2> /dev/null; then
  not_ok "SIGTERM ends it" "still running"
else
  wait "$daemon_pid"
  code=$?
  # Never usable: the start failed, exit 1 (as once without a database).
  [ "$code" = 1 ] && ok "SIGTERM ends it, exit 1 (the database never became usable)" ||
    not_ok "SIGTERM ends it, exit 1" "exit $code; $(tail -2 "$work/run.log")"
  daemon_pid=
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
