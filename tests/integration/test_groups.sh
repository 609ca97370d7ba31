#!/usr/bin/env bash
# Several configurations on one database (issue 15, part 2): a feed belongs
# to the group ([feedd] group) whose configuration registered it; `feedd
# run` disables only its own group's feeds that its file dropped; an
# instance whose configuration is older than the one that last changed a
# feed's row (a machine that missed a deploy) names the differences at
# warning priority and changes nothing; `feedd once` disables nothing.
#
# The configurations' ages are their files' modification times, set with
# touch -d.  Each run is stopped with SIGTERM once ready and must exit 0, so
# that what it registered is committed before the database is read.
#
# usage: test_groups.sh FEEDD TESTS_DIR   (FEEDD_TEST_CONNINFO from with-pg.sh)
set -u
feedd=$1
tests=$2
source "$tests/lib/httpd.sh"
source "$tests/lib/time_factor.sh"
factor=$(time_factor "$feedd")

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"
# The feeds' rows as name:group:enabled, by name.
rows() {
  sql "SELECT string_agg(name || ':' || group_name || ':' || enabled, ' ' ORDER BY name)
       FROM feedd.feeds"
}
config_at() { sql "SELECT to_char(config_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM feedd.feeds WHERE name = '$1'"; }

work=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www"
cat > "$work/www/empty.xml" << 'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Empty</title></channel></rss>
XML
httpd_start "$work/www" || exit $?

# conf NAME GROUP DATE FEED...: writes $work/NAME/feedd.conf for group GROUP
# with those feeds, last modified on DATE (UTC).
conf() {
  local name=$1 group=$2 date=$3 f
  shift 3
  mkdir -p "$work/$name"
  {
    cat << CONF
[feedd]
state_dir = $work/$name/state
group = $group
min_interval = 1s
default_interval = 60s
shutdown_timeout = 5s

[database]
conninfo = $FEEDD_TEST_CONNINFO

[source agency]
home = https://agency.example/
news_id = /news/([0-9]+)/
CONF
    for f in "$@"; do
      printf '\n[feed %s]\nsource = agency\nurl = %s/feeds/empty.xml\n' "$f" "$FEEDD_TEST_HTTP"
    done
  } > "$work/$name/feedd.conf"
  touch -d "$date 00:00 UTC" "$work/$name/feedd.conf"
}

# run NAME: feedd run with NAME's configuration until it is ready, then
# SIGTERM; checks the exit status.  Its log is $work/NAME.log.
run() {
  local name=$1 i
  : > "$work/$name.log"
  "$feedd" run -c "$work/$name/feedd.conf" 2> "$work/$name.log" &
  daemon_pid=$!
  for ((i = 0; i < 300 * factor; i++)); do
    grep -q "ready: polling" "$work/$name.log" && break
    kill -0 "$daemon_pid" 2> /dev/null || break
    sleep 0.1
  done
  grep -q "ready: polling" "$work/$name.log" || not_ok "$name: feedd is ready" "$(tail -3 "$work/$name.log")"
  # Its row of feedd.instances: running, its group, the feeds it polls.
  local want running
  want="$(sed -n 's/^group = //p' "$work/$name/feedd.conf")|$(grep -c '^\[feed ' "$work/$name/feedd.conf")|$(hostname)|t"
  for ((i = 0; i < 300 * factor; i++)); do
    running=$(instance "$daemon_pid")
    [ "$running" = "$want" ] && break
    sleep 0.1
  done
  is "$name: feedd.instances shows it running (group|feeds|host|stopped_at is null)" "$want" "$running"
  kill -TERM "$daemon_pid"
  wait "$daemon_pid"
  is "$name: SIGTERM exits 0" 0 $?
  is "$name: ... and stopped" "${want%|t}|f" "$(instance "$daemon_pid")"
  daemon_pid=
}
instance() { # PID: the newest row of that process
  sql "SELECT concat_ws('|', group_name, feeds, host, stopped_at IS NULL) FROM feedd.instances
       WHERE pid = $1 ORDER BY started_at DESC LIMIT 1"
}
logged() { # NAME PATTERN: a warning line of NAME's log matching PATTERN
  grep " warning: " "$work/$1.log" | grep -q -- "$2"
}

conf news2 newsroom 2026-12-02 n1 n2 n3
"$feedd" migrate -c "$work/news2/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }

# 1. The first configuration registers its feeds for its group.
run news2
is "1: newsroom's feeds are registered for it" "n1:newsroom:true n2:newsroom:true n3:newsroom:true" "$(rows)"
is "1: with its configuration's time" 2026-12-02 "$(config_at n3)"

# 2. Another group's instance with its own feeds, and one of newsroom's:
# newsroom's feeds are neither disabled nor taken.
conf research research 2026-12-05 r1 n1
run research
is "2: research's start leaves newsroom's feeds and registers its own" \
  "n1:newsroom:true n2:newsroom:true n3:newsroom:true r1:research:true" "$(rows)"
logged research "feed n1 is registered by group newsroom, not by this instance's group research" &&
  ok "2: the feed both groups name is logged" || not_ok "2: the feed both groups name is logged" "$(grep n1 "$work/research.log")"

# 3. A newsroom machine that missed the deploy of news2 (an older file that
# lacks n3 and has n4): n3 stays enabled, the drift is named; n4, which no
# configuration had, is registered.
conf news1 newsroom 2026-12-01 n1 n2 n4
run news1
is "3: an older configuration disables nothing" \
  "n1:newsroom:true n2:newsroom:true n3:newsroom:true n4:newsroom:true r1:research:true" "$(rows)"
logged news1 "configuration drift: feed n3 is missing from this configuration; group newsroom registered it from a configuration written 2026-12-02" &&
  ok "3: the drift is logged by the feed's name" ||
  not_ok "3: the drift is logged by the feed's name" "$(grep -i drift "$work/news1.log")"
is "3: n3's row still carries the newer configuration's time" 2026-12-02 "$(config_at n3)"

# 4. A newer configuration without n3 and n4: both are disabled (n4 was
# registered by an older one), research's r1 is left alone.
conf news3 newsroom 2026-12-03 n1 n2
run news3
is "4: the newest configuration disables what it dropped, in its group only" \
  "n1:newsroom:true n2:newsroom:true n3:newsroom:false n4:newsroom:false r1:research:true" "$(rows)"
is "4: n3 disabled by the configuration" "disabled in the configuration" \
  "$(sql "SELECT disabled_reason FROM feedd.feeds WHERE name = 'n3'")"

# 5. The stale machine again: n4 is disabled in a newer configuration, so it
# stays disabled and the drift is named.
run news1
is "5: the older configuration enables nothing the newer one disabled" \
  "n1:newsroom:true n2:newsroom:true n3:newsroom:false n4:newsroom:false r1:research:true" "$(rows)"
logged news1 "configuration drift: feed n4 is disabled in a newer configuration" &&
  ok "5: the drift is logged by the feed's name" ||
  not_ok "5: the drift is logged by the feed's name" "$(grep -i drift "$work/news1.log")"

# 6. feedd once with a scratch configuration of another group disables
# nothing its file leaves out.
conf scratch default 2026-12-06 s1
"$feedd" once -c "$work/scratch/feedd.conf" 2> "$work/scratch.log"
code=$?
is "6: once exits 0" 0 "$code"
[ "$code" = 0 ] || sed 's/^/# /' "$work/scratch.log" | tail -5
is "6: once registers its feed and disables nothing" \
  "n1:newsroom:true n2:newsroom:true n3:newsroom:false n4:newsroom:false r1:research:true s1:default:true" \
  "$(rows)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
