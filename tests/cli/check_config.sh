#!/usr/bin/env bash
# cli/check_config: `feedd check-config -c` on good and bad fixtures: exit
# status 0 with a summary on stdout, or 2 with "feedd: FILE:LINE: ..." on
# stderr and nothing on stdout; usage errors exit 2 as well.
#
# usage: bash check_config.sh /path/to/feedd /path/to/tests
set -euo pipefail

feedd=${1:?usage: check_config.sh FEEDD TESTS_DIR}
tests=${2:?usage: check_config.sh FEEDD TESTS_DIR}
fixtures=$tests/fixtures/config
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run EXPECTED_STATUS ARGS...: runs feedd into $work/out and $work/err.
run() {
  local want=$1 got=0
  shift
  "$feedd" "$@" >"$work/out" 2>"$work/err" || got=$?
  if [[ $got != "$want" ]]; then
    fail "feedd $* exited $got, expected $want; stderr: $(head -c 500 "$work/err")"
    return 1
  fi
}

# expect FILE TEXT: FILE contains TEXT as a fixed string.
expect() {
  if ! grep -qF -- "$2" "$1"; then
    fail "$(basename "$1") lacks '$2'; it has: $(head -c 500 "$1")"
  fi
}

good=$fixtures/good/feedd.conf
if run 0 check-config -c "$good"; then
  expect "$work/out" "# configuration: $good"
  expect "$work/out" "$fixtures/good/conf.d/10-world.conf"
  expect "$work/out" "$fixtures/good/conf.d/20-logging.conf"
  expect "$work/out" "# 3 sources, 5 feeds (4 enabled)"
  expect "$work/out" "log_level = warning"
  expect "$work/out" "[source irna-en]"
  expect "$work/out" "news_id = /news/([0-9]+)/"
  expect "$work/out" "articles = fetch"
  expect "$work/out" "timezone = Asia/Tehran"
  expect "$work/out" "rules = nastooh"
  expect "$work/out" "[feed mehr-all]"
  expect "$work/out" "url = http://www.mehrnews.com/rss"
  expect "$work/out" "interval = 10m"
  if [[ -s $work/err ]]; then
    fail "check-config of a good file wrote to stderr: $(cat "$work/err")"
  fi
fi

# FEEDD_CONFIG names the file when there is no -c; -c wins over it.
if FEEDD_CONFIG=$good run 0 check-config; then
  expect "$work/out" "# configuration: $good"
fi
if FEEDD_CONFIG=$fixtures/bad-duration.conf run 0 check-config -c "$fixtures/minimal/feedd.conf"; then
  expect "$work/out" "# 1 source, 1 feed (1 enabled)"
fi

if run 2 check-config -c "$fixtures/bad-unknown-key.conf"; then
  expect "$work/err" "feedd: $fixtures/bad-unknown-key.conf:7: unknown key \"intervall\" in [feed example]"
  if [[ -s $work/out ]]; then
    fail "check-config of a bad file wrote to stdout"
  fi
fi
if run 2 check-config -c "$fixtures/bad-duration.conf"; then
  expect "$work/err" "bad-duration.conf:2: default_interval: expected a duration like 30s, 5m, 2h, 1d, got \"soon\""
fi
if run 2 check-config -c "$work/missing.conf"; then
  expect "$work/err" "feedd: cannot read $work/missing.conf: No such file or directory"
fi

# A drop-in that breaks is named, and the main file alone stays good.
mkdir -p "$work/etc/conf.d"
cp "$fixtures/minimal/feedd.conf" "$work/etc/feedd.conf"
printf '[feed example]\nsource = example\nurl = https://example.org/other\n' \
  >"$work/etc/conf.d/50-dup.conf"
if run 2 check-config -c "$work/etc/feedd.conf"; then
  expect "$work/err" "feedd: $work/etc/conf.d/50-dup.conf:1: [feed example] is defined twice; first at $work/etc/feedd.conf:"
fi

if run 2 check-config --frobnicate; then
  expect "$work/err" "unknown option '--frobnicate'"
  expect "$work/err" "usage: feedd check-config [-c FILE]"
fi
run 2 check-config -c || true
run 2 check-config -c "$good" extra || true
if run 0 check-config --help; then
  expect "$work/out" "usage: feedd check-config [-c FILE]"
fi

# The annotated example is a valid configuration and documents every key
# (the good fixture sets them all, so its summary lists them all).
example=$tests/../examples/feedd.conf.example
if [[ -f $example ]]; then
  if run 0 check-config -c "$good"; then
    keys=$(grep -oE '^[a-z_.]+ =' "$work/out" | sort -u | sed 's/ =$//')
    for key in $keys; do
      grep -qE "^#?${key//./\\.} = " "$example" || fail "$example does not document '$key'"
    done
  fi
  run 0 check-config -c "$example" || true
fi

if ((failures)); then
  echo "check_config: $failures failure(s)"
  exit 1
fi
echo "check_config: all passed"
