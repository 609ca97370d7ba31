#!/usr/bin/env bash
# Hostile pages for `feedd extract`: absurd nesting, sizes and counts, pages
# of nothing but scripts or meta tags, deep JSON-LD, NUL bytes, invalid and
# lying encodings, entity bombs, and external entities, DTDs, XInclude and
# stylesheets that point at local files.  The pages come from
# tests/hostile/gen_html.py (deterministic) into a temporary directory.
#
# Whatever the page, feedd must end in time, by itself (exit 0 or 1, never a
# signal), in bounded memory; exit 0 with one valid UTF-8 JSON object on
# stdout, or exit 1 with a one-line error on stderr; and print nothing read
# from a file the page points at.  Beyond that only safety properties are
# checked (nothing expands, no NUL comes out, the page over the size limit
# is refused), not what the extractor makes of the page.
#
# Prints "ok - CHECK" or "not ok - CHECK: WHY" per check and a last line
# "hostile_html: N passed, M failed"; exits non-zero if any check failed.
#
# usage: hostile_html.sh FEEDD TESTS_DIR
set -u

if [ $# -ne 2 ]; then
  echo "usage: hostile_html.sh FEEDD TESTS_DIR" >&2
  exit 2
fi
# Absolute: the pages are read from inside their directory, so that a
# relative SYSTEM id would find the file it names.
feedd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tests=$(cd "$2" && pwd)

# Seconds per page, against hangs: bounded_setup scales it for sanitizer
# builds (FEEDD_TEST_TIME_FACTOR).  A million elements take ~5 s in a
# normal build; more under ASan or on a loaded machine.
time_limit=60
url=https://en.irna.ir/news/85859288/Hostile-page
# A DOM of a million elements takes ~370 MB: the address-space cap leaves
# room for that and fails a runaway allocation.  AddressSanitizer doubles
# what the heap uses: under it the RSS limit is wider.
mem_cap=$((1536 << 20))
rss_limit_kb=768000 rss_limit_name="768 MB"
asan_rss_limit_kb=2048000 asan_rss_limit_name="2048 MB"

suite=hostile_html
# shellcheck source=../lib/bounded.sh
source "$tests/lib/bounded.sh"
bounded_setup

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pages=$tmp/pages
if ! python3 "$tests/hostile/gen_html.py" "$pages" 2>"$tmp/gen.err"; then
  not_ok "setup" "tests/hostile/gen_html.py failed: $(head -5 "$tmp/gen.err")"
  finish
fi

# What must never appear in any output: the first line of /etc/passwd and
# the marker inside secret.txt.
{
  cat "$pages/secret.txt"
  head -n 1 /etc/passwd 2>/dev/null
} >"$tmp/leaks"
grep -q . "$tmp/leaks" || echo "# nothing to look for in the leak checks"

# check.py NAME OUT ERR STATUS [LABEL EXPR]...: checks the contract of
# either outcome, then evaluates each EXPR with out (bytes), err (str),
# status (int), page (the JSON object or None) and MiB bound.
cat >"$tmp/check.py" <<'EOF'
import json, sys

name, out_path, err_path, status = sys.argv[1:5]
exprs = sys.argv[5:]
out = open(out_path, "rb").read()
err = open(err_path, "rb").read().decode("utf-8", "replace")
status = int(status)
MiB = 1 << 20


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def contract():
    """None, or why the outcome breaks extract's contract."""
    if status == 1:
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("feedd: "):
            return None, "exit 1 without a one-line 'feedd: ' error on stderr: %.300r" % err
        if out:
            return None, "exit 1 with output on stdout: %.100r" % out
        return None, None
    if not out.endswith(b"\n") or out.count(b"\n") != 1:
        return None, "exit 0 without exactly one line on stdout"
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, "the output is not valid UTF-8: %s" % e
    try:
        page = json.loads(text)
    except ValueError as e:
        return None, "the output is not JSON: %s: %.80r" % (e, text)
    if not isinstance(page, dict):
        return None, "the output is not a JSON object"
    if any(0xD800 <= ord(c) <= 0xDFFF for s in strings(page) for c in s):
        return page, "the output holds a lone surrogate"
    return page, None


page, why = contract()
label = "%s: %s" % (name, "one-line error" if status == 1 else "one valid UTF-8 JSON object")
if why:
    print("not ok - %s: %s" % (label, why))
else:
    print("ok - %s" % label)
env = dict(out=out, err=err, status=status, page=page, MiB=MiB)
for label, expr in zip(exprs[0::2], exprs[1::2]):
    label = "%s: %s" % (name, label)
    try:
        good = eval(expr, env)
        why = "false: %s" % expr
    except Exception as e:
        good, why = False, "%s: %s" % (type(e).__name__, e)
    if good:
        print("ok - %s" % label)
    else:
        print("not ok - %s: %s; exit status %d, stderr: %.300r" % (label, why, status, err))
EOF

# run NAME [LABEL EXPR]...: extracts $pages/NAME.html and checks the time,
# the exit, the memory, the contract, leaks and the given expressions.
run() {
  local name=$1
  shift
  start "$name" "$pages" extract --url "$url" "$name.html"
  finish_run "$name" || return
  no_leak "$name"
  expect "$name" "$@"
}

if ! grep -q '^root:' /etc/passwd 2>/dev/null; then
  echo "# /etc/passwd has no root: line; the passwd leak checks prove less"
fi

# ---- sizes, depths and counts -----------------------------------------------
run deep_nesting
run size_just_under "not refused for its size (8 MiB - 1 KiB)" \
  'status == 0 or "larger" not in err'
run size_just_over "refused (8 MiB + 1 byte), the error names the limit" \
  '(status == 1 and "size_just_over.html" in err and
    any(w in err for w in ("larger than", "max_article_size", "8388608", "8M")))'
run script_only "no script text comes out as the body" \
  'page is None or "not a paragraph" not in (page.get("body") or "")'
run million_elements
run huge_attributes
run many_meta
run json_ld

# ---- bytes and encodings ----------------------------------------------------
run nul_bytes "no NUL in the output" 'b"\\u0000" not in out and b"\0" not in out'
run invalid_utf8
run utf16_lie

# ---- entity bombs, external entities, includes --------------------------------
run billion_laughs "no expansion (output under 64 KiB)" 'len(out) < 64 * 1024' \
  "no 'lol' run in the output" 'b"lollollol" not in out'
run xxe_entities
run xxe_external_dtd
run xinclude_and_stylesheets

finish
