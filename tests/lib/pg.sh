# shellcheck shell=bash
# tests/lib/pg.sh: a private PostgreSQL server for one test, sourced by bash.
#
# pg_start initdb's a cluster into a new temporary directory and starts it
# listening on a Unix socket in that directory only (no TCP), so tests can
# run in parallel, never touch a system cluster, and leave nothing behind.
# It exports:
#
#   FEEDD_TEST_CONNINFO  "host=DIR port=PORT user=feedd_test dbname=feedd_test"
#   FEEDD_TEST_PGDATA    the data directory
#   FEEDD_TEST_PGBIN     the server's bin directory (also put first on PATH,
#                        so `psql` is the matching client)
#   FEEDD_TEST_PGHOST, FEEDD_TEST_PGPORT, FEEDD_TEST_PGLOG (the server log)
#
# and creates the database feedd_test; feedd_test is a superuser.
#
#   pg_start               start a new server (returns 77 when PostgreSQL >= 14
#                          is not installed, 1 on any other failure)
#   pg_restart_immediate   crash-stop (pg_ctl -m immediate) and start again,
#                          waiting until it accepts connections
#   pg_stop_immediate      crash-stop, keeping the data
#   pg_start_again         start the stopped server again, same data
#   pg_stop                stop and remove everything; safe to call twice
#   pg_psql ARGS...        psql -X -v ON_ERROR_STOP=1 on the test database
#   pg_on_exit 'CMD'       run CMD at exit, before the server goes
#
# pg_start installs an EXIT trap (and INT/TERM/HUP traps that exit through
# it) that stops and removes the server even when the test fails, so a test
# that needs its own cleanup registers it with pg_on_exit rather than trap.
# A detached watchdog also removes the server when the starting shell dies
# without running its traps (SIGKILL, e.g. from a ctest timeout).
#
# The restart and stop functions need only the exported variables, so a test
# run under tests/integration/with-pg.sh can source this file and restart
# the server its parent started; only the shell that called pg_start should
# call pg_stop.
#
# As root: initdb and postgres refuse to run as root, so the directory is
# handed to user nobody and every server-side command runs as the owner of
# the data directory through setpriv (or runuser); clients (psql, feedd)
# still run as root, which may use the owner-only socket.
#
# FEEDD_TEST_PGBIN, if set before pg_start, chooses the installation;
# otherwise the newest /usr/lib/postgresql/*/bin wins.

_pg_exit_hooks=()
_pg_watchdog_pid=
_pg_started_here=

# _pg_find_bin: prints the bin directory of the newest PostgreSQL found.
_pg_find_bin() {
  if [[ -n ${FEEDD_TEST_PGBIN:-} ]]; then
    printf '%s\n' "$FEEDD_TEST_PGBIN"
    return
  fi
  local d best=
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && best=$d
  done
  if [[ -z $best ]] && command -v pg_config >/dev/null; then
    d=$(pg_config --bindir 2>/dev/null) && [[ -x $d/initdb && -x $d/postgres ]] && best=$d
  fi
  if [[ -z $best ]] && command -v initdb >/dev/null; then
    best=$(dirname "$(command -v initdb)")
  fi
  printf '%s\n' "$best"
}

# _pg_as USER CMD...: runs CMD as USER when we are root, else as ourselves;
# from /, since USER may not be allowed into the current directory (initdb
# and pg_ctl complain when they cannot return to it).
_pg_as() {
  local user=$1
  shift
  if [[ $(id -u) != 0 || $user == root ]]; then
    (cd / && "$@")
  elif command -v setpriv >/dev/null; then
    (cd / && setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$@")
  else
    (cd / && runuser -u "$user" -- "$@")
  fi
}

# _pg_owner CMD...: runs a server-side command as the data directory's owner.
_pg_owner() {
  _pg_as "$(stat -c %U "$FEEDD_TEST_PGDATA")" "$@"
}

_pg_log_tail() {
  if [[ -n ${FEEDD_TEST_PGLOG:-} && -f $FEEDD_TEST_PGLOG ]]; then
    echo "pg.sh: last lines of the server log $FEEDD_TEST_PGLOG:" >&2
    tail -n 30 "$FEEDD_TEST_PGLOG" >&2
  fi
}

# _pg_watchdog PID DIR DATA BIN: waits for PID to end, then removes the
# server in DIR if pg_stop has not already done so.
_pg_watchdog() {
  local parent=$1 dir=$2
  while kill -0 "$parent" 2>/dev/null && [[ -d $dir ]]; do
    sleep 1
  done
  [[ -d $dir ]] || return 0
  FEEDD_TEST_PGDATA=$3 _pg_owner "$4/pg_ctl" -D "$3" -m immediate -w -t 30 stop >/dev/null 2>&1
  rm -rf "$dir"
}

pg_start() {
  if [[ -n $_pg_started_here ]]; then
    echo "pg.sh: pg_start: a server is already running ($FEEDD_TEST_PGHOST)" >&2
    return 1
  fi
  local t0=$SECONDS
  local bin
  bin=$(_pg_find_bin)
  if [[ -z $bin || ! -x $bin/initdb ]]; then
    echo "pg.sh: no PostgreSQL server found (initdb, pg_ctl, postgres);" \
      "install the Debian package 'postgresql' (or run scripts/install-deps)" >&2
    return 77
  fi
  # "postgres (PostgreSQL) 15.18 (Debian ...)", "... 17devel"
  local major
  major=$("$bin/postgres" --version | awk '{print $3}')
  major=${major%%[!0-9]*}
  if [[ -z $major || $major -lt 14 ]]; then
    echo "pg.sh: $bin/postgres is version '${major:-?}'; feedd needs PostgreSQL 14 or later" >&2
    return 77
  fi

  # The socket's path must fit in sun_path (108 bytes) with ".s.PGSQL.NNNNN";
  # as root, user nobody must also be able to reach the directory.
  local owner base dir=
  owner=$(id -un)
  [[ $(id -u) == 0 ]] && owner=nobody
  for base in "${TMPDIR:-/tmp}" /tmp; do
    [[ ${#base} -le 70 && -d $base ]] || continue
    _pg_as "$owner" test -x "$base" 2>/dev/null || continue
    dir=$(mktemp -d "$base/feedd-pg.XXXXXX") && break
  done
  if [[ -z $dir ]]; then
    echo "pg.sh: cannot make a temporary directory for the server" >&2
    return 1
  fi
  chmod 700 "$dir"
  [[ $owner == nobody ]] && chown nobody: "$dir"

  # No TCP at all: the port number only names the socket file inside this
  # private directory, so every number is free.
  local port=$((20000 + RANDOM % 40000))
  export FEEDD_TEST_PGBIN=$bin
  export FEEDD_TEST_PGHOST=$dir
  export FEEDD_TEST_PGPORT=$port
  export FEEDD_TEST_PGDATA=$dir/data
  export FEEDD_TEST_PGLOG=$dir/server.log
  export FEEDD_TEST_CONNINFO="host=$dir port=$port user=feedd_test dbname=feedd_test"
  _pg_started_here=1

  local locale=C.UTF-8
  locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' || locale=C
  if ! _pg_as "$owner" "$bin/initdb" -D "$FEEDD_TEST_PGDATA" --auth=trust -U feedd_test \
    -E UTF8 --locale="$locale" --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
    echo "pg.sh: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    pg_stop
    return 1
  fi
  # fsync=off is safe for a throwaway cluster; synchronous_commit stays on so
  # that a commit survives pg_restart_immediate (it kills the server, not the
  # machine, and WAL written to the kernel is recovered).
  cat >>"$FEEDD_TEST_PGDATA/postgresql.conf" <<CONF

# feedd tests (tests/lib/pg.sh)
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
port = $port
fsync = off
log_line_prefix = '%m [%p] %q%u@%d '
CONF
  # A caller's own settings (the benchmarks': track_commit_timestamp).
  if [[ -n ${FEEDD_TEST_PGCONF:-} ]]; then
    printf '%s\n' "$FEEDD_TEST_PGCONF" >>"$FEEDD_TEST_PGDATA/postgresql.conf"
  fi

  # From here on, whatever happens, the server goes when this shell does
  # ($BASHPID rather than $$: this shell may be a subshell).
  pg_trap
  local me=$BASHPID
  _pg_watchdog_pid=$( (_pg_watchdog "$me" "$dir" "$FEEDD_TEST_PGDATA" "$bin" \
    </dev/null >/dev/null 2>&1 & echo $!) )

  if ! _pg_owner "$bin/pg_ctl" -D "$FEEDD_TEST_PGDATA" -l "$FEEDD_TEST_PGLOG" -w -t 60 -s \
    start >"$dir/pg_ctl.log" 2>&1; then
    echo "pg.sh: the server did not start:" >&2
    cat "$dir/pg_ctl.log" >&2
    _pg_log_tail
    pg_stop
    return 1
  fi
  case ":$PATH:" in
    *":$bin:"*) ;;
    *) export PATH="$bin:$PATH" ;;
  esac
  if ! "$bin/psql" -X -q -v ON_ERROR_STOP=1 \
    "host=$dir port=$port user=feedd_test dbname=postgres" \
    -c 'CREATE DATABASE feedd_test' >"$dir/createdb.log" 2>&1; then
    echo "pg.sh: CREATE DATABASE feedd_test failed:" >&2
    cat "$dir/createdb.log" >&2
    pg_stop
    return 1
  fi
  echo "pg.sh: PostgreSQL $major ($bin) on $dir port $port, running as $owner," \
    "ready in $((SECONDS - t0)) s" >&2
}

pg_stop_immediate() {
  _pg_owner "$FEEDD_TEST_PGBIN/pg_ctl" -D "$FEEDD_TEST_PGDATA" -m immediate -w -t 60 -s stop
}

pg_start_again() {
  _pg_owner "$FEEDD_TEST_PGBIN/pg_ctl" -D "$FEEDD_TEST_PGDATA" -l "$FEEDD_TEST_PGLOG" \
    -w -t 60 -s start >/dev/null || {
    _pg_log_tail
    return 1
  }
}

pg_restart_immediate() {
  pg_stop_immediate && pg_start_again
}

pg_stop() {
  local dir=${FEEDD_TEST_PGHOST:-}
  if [[ -n $_pg_watchdog_pid ]]; then
    kill "$_pg_watchdog_pid" 2>/dev/null || true
    _pg_watchdog_pid=
  fi
  _pg_started_here=
  [[ -n $dir && -d $dir ]] || return 0
  if [[ -f $FEEDD_TEST_PGDATA/postmaster.pid ]]; then
    _pg_owner "$FEEDD_TEST_PGBIN/pg_ctl" -D "$FEEDD_TEST_PGDATA" -m immediate -w -t 60 \
      stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" || true
  unset FEEDD_TEST_CONNINFO FEEDD_TEST_PGDATA FEEDD_TEST_PGHOST FEEDD_TEST_PGPORT FEEDD_TEST_PGLOG
}

pg_psql() {
  psql -X -v ON_ERROR_STOP=1 -d "$FEEDD_TEST_CONNINFO" "$@"
}

pg_on_exit() {
  _pg_exit_hooks+=("$1")
}

_pg_on_exit() {
  local rc=$? h
  for h in "${_pg_exit_hooks[@]+"${_pg_exit_hooks[@]}"}"; do
    eval "$h" || true
  done
  pg_stop
  return "$rc"
}

# pg_trap: from now on this shell stops and removes its server when it exits
# for any reason bash can catch; pg_start calls it.
pg_trap() {
  trap _pg_on_exit EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
