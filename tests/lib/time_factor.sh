# shellcheck shell=bash
# tests/lib/time_factor.sh: how much to stretch a test's time bounds, which
# catch hangs and blow-ups, never slowness (sourced by bash).
#
# is_asan FEEDD: whether the binary was built with AddressSanitizer.
# time_factor FEEDD: prints FEEDD_TEST_TIME_FACTOR if set (a whole number),
# else 5 for an AddressSanitizer build (several times slower), else 1.
is_asan() {
  ldd "$1" 2> /dev/null | grep -q libasan || nm "$1" 2> /dev/null | grep -q __asan_init
}
time_factor() {
  local factor=${FEEDD_TEST_TIME_FACTOR:-}
  if [ -z "$factor" ]; then
    if is_asan "$1"; then factor=5; else factor=1; fi
  fi
  case $factor in '' | *[!0-9]*) factor=1 ;; esac
  echo "$factor"
}
