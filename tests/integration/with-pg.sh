#!/usr/bin/env bash
# with-pg.sh CMD ARGS...: runs CMD against a private PostgreSQL server.
#
# Starts a server with tests/lib/pg.sh, runs CMD with FEEDD_TEST_CONNINFO,
# FEEDD_TEST_PGDATA, FEEDD_TEST_PGBIN (and the rest pg.sh exports) in its
# environment, removes the server, and exits with CMD's status; when CMD
# fails the end of the server log is shown too.  Exits 77 (skipped) when no
# PostgreSQL >= 14 is installed.
set -u
if [[ $# -eq 0 ]]; then
  echo "usage: with-pg.sh CMD [ARGS...]" >&2
  exit 2
fi
# shellcheck source=tests/lib/pg.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/pg.sh"

rc=0
pg_start || exit $?
"$@" || rc=$?
if [[ $rc -ne 0 && $rc -ne 77 ]]; then
  _pg_log_tail
fi
pg_stop
exit "$rc"
