#!/usr/bin/env bash
# cli/systemd_units: the systemd files are valid and the sandbox holds.
# `systemd-analyze verify` must pass the unit CMake generated without a word
# (on a copy whose ExecStart is the binary just built, because verify checks
# that the command exists); `systemd-analyze security --offline=true` must
# rate it 2.0 or lower; systemd-sysusers must read the sysusers.d file.
# Skipped (77) where systemd-analyze is missing or too old for --offline.
#
# usage: bash systemd_units.sh /path/to/feedd /path/to/tests
set -euo pipefail

feedd=${1:?usage: systemd_units.sh FEEDD TESTS_DIR}
tests=${2:?usage: systemd_units.sh FEEDD TESTS_DIR}
max_exposure=2.0

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd_units: skipped, no systemd-analyze (Debian package systemd)"
  exit 77
fi
if ! systemd-analyze --help | grep -q -- '--offline'; then
  echo "systemd_units: skipped, systemd-analyze has no --offline (systemd < 250)"
  exit 77
fi

# CMake writes the unit into the build directory, which holds the binary.
feedd=$(realpath "$feedd")
unit=$(dirname "$feedd")/systemd/feedd.service
sysusers=$tests/../systemd/feedd.sysusers.conf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

if [[ ! -f $unit ]]; then
  echo "FAIL: $unit is missing (configure_file of systemd/feedd.service.in)"
  exit 1
fi

# Every @VAR@ was substituted, and ExecStart runs `feedd run` by full path.
if grep -nE '@[A-Za-z_]+@' "$unit"; then
  fail "$unit has unsubstituted variables"
fi
grep -qE '^ExecStart=/([^ ]+/)?feedd run$' "$unit" ||
  fail "$unit: ExecStart is not '/.../feedd run': $(grep '^ExecStart=' "$unit" || true)"

# verify needs the unit under its own name, and checks that the command
# exists: the copy runs the binary just built, quoted for systemd, as a
# build directory may hold spaces or '%' (systemd refuses '"', '\', '$').
# --man=no: verify would otherwise look up man: pages, not our business.
cmd=${feedd//%/%%}
while IFS= read -r line; do
  if [[ $line == ExecStart=* ]]; then
    printf 'ExecStart="%s" run\n' "$cmd"
  else
    printf '%s\n' "$line"
  fi
done <"$unit" >"$work/feedd.service"
status=0
systemd-analyze verify --man=no "$work/feedd.service" >"$work/verify" 2>&1 || status=$?
if [[ $status != 0 || -s $work/verify ]]; then
  fail "systemd-analyze verify exited $status: $(cat "$work/verify")"
fi

# The score is the number in "→ Overall exposure level for feedd.service: 1.0 OK".
status=0
SYSTEMD_COLORS=0 systemd-analyze security --offline=true --no-pager "$unit" \
  >"$work/security" 2>&1 || status=$?
score=$(sed -nE 's/.*Overall exposure level for feedd\.service: ([0-9]+\.[0-9]+).*/\1/p' \
  "$work/security")
if [[ $status != 0 || -z $score ]]; then
  fail "systemd-analyze security exited $status without a score: $(tail -n 5 "$work/security")"
else
  echo "systemd_units: exposure level $score (at most $max_exposure)"
  if awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
    grep -E '^✗' "$work/security" || true
    fail "exposure level $score is above $max_exposure"
  fi
fi

# sysusers.d: read in a scratch root, where it must create exactly feedd.
if command -v systemd-sysusers >/dev/null; then
  mkdir -p "$work/root/etc" "$work/root/usr/lib/sysusers.d"
  cp "$sysusers" "$work/root/usr/lib/sysusers.d/feedd.conf"
  status=0
  systemd-sysusers --dry-run --root="$work/root" >"$work/sysusers" 2>&1 || status=$?
  # It reports a bad line and carries on, so its words are checked too.
  others=$(grep -v -e "^Creating group 'feedd' " \
    -e "^Creating user 'feedd' (feedd feed ingestion daemon) " -e '^Would write ' \
    "$work/sysusers" || true)
  if [[ $status != 0 || -n $others ]] ||
    ! grep -q "^Creating user 'feedd' (feedd feed ingestion daemon) " "$work/sysusers"; then
    fail "systemd-sysusers on $sysusers exited $status: $(cat "$work/sysusers")"
  fi
fi

if ((failures)); then
  echo "systemd_units: $failures failure(s)"
  exit 1
fi
echo "systemd_units: all passed"
