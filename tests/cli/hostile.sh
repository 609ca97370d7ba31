#!/usr/bin/env bash
# Hostile input for `feedd parse`: entity bombs, XXE in its many disguises,
# absurd nesting, sizes and counts, broken bytes, non-feeds.  The documents
# come from tests/hostile/gen.py (deterministic) into a temporary directory.
# Each runs under a time limit and an address-space cap with its peak RSS
# measured; whatever the input, feedd must end in time, by itself (exit 0 or
# 1, never a signal), in bounded memory, with valid UTF-8 JSON Lines on
# stdout, and without reading any file the document points at.  Then each
# document's own expectations are checked.
#
# Prints "ok - CHECK" or "not ok - CHECK: WHY" per check and a last line
# "hostile: N passed, M failed"; exits non-zero if any check failed.
#
# usage: hostile.sh FEEDD TESTS_DIR
set -u

if [ $# -ne 2 ]; then
  echo "usage: hostile.sh FEEDD TESTS_DIR" >&2
  exit 2
fi
# Absolute: the documents are parsed from inside their directory, so that a
# relative SYSTEM id would find the file it names.
feedd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tests=$(cd "$2" && pwd)

time_limit=60             # seconds per document, against hangs (scaled: bounded.sh)
mem_cap=$((1 << 30))      # address space, so a runaway allocation fails
rss_limit_kb=390625       # 400 MB
rss_limit_name="400 MB"

suite=hostile
# shellcheck source=../lib/bounded.sh
source "$tests/lib/bounded.sh"
bounded_setup

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
docs=$tmp/docs
if ! python3 "$tests/hostile/gen.py" "$docs" 2>"$tmp/gen.err"; then
  not_ok "setup" "tests/hostile/gen.py failed: $(head -5 "$tmp/gen.err")"
  finish
fi

# What must never appear in any output: a line of /etc/passwd and the
# markers inside the files the XXE documents point at.
printf '%s\n' "root:" "$(cat "$docs/secret.txt")" \
  "$(sed -n 's/.*ENTITY dtdmark "\([^"]*\)".*/\1/p' "$docs/ext.dtd")" >"$tmp/leaks"

# check.py NAME OUT ERR STATUS [LABEL EXPR]...: first checks that OUT is
# valid UTF-8 JSON Lines (a feed line, then entry lines), then evaluates
# each EXPR with these names bound:
#   out (bytes), err (str), status (int), objs (every line, decoded),
#   feed (the feed line or None), entries (the entry lines), titles (their
#   titles), MiB.
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


def validate():
    objs = []
    body = out[:-1] if out.endswith(b"\n") else out
    if out and not out.endswith(b"\n"):
        return objs, "the output does not end with a newline"
    for n, line in enumerate(body.split(b"\n") if out else [], 1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            return objs, "line %d is not valid UTF-8: %s" % (n, e)
        try:
            obj = json.loads(text)
        except ValueError as e:
            return objs, "line %d is not JSON: %s: %.80r" % (n, e, text)
        if not isinstance(obj, dict):
            return objs, "line %d is not a JSON object" % n
        for s in strings(obj):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
                return objs, "line %d holds a lone surrogate" % n
        want = "feed" if n == 1 else "entry"
        if obj.get("kind") != want:
            return objs, "line %d: kind %r, expected %r" % (n, obj.get("kind"), want)
        objs.append(obj)
    if status == 0 and not objs:
        return objs, "exit status 0 but no feed line"
    return objs, None


objs, why = validate()
label = "%s: output is valid UTF-8 JSON Lines" % name
if why:
    print("not ok - %s: %s" % (label, why))
else:
    print("ok - %s (%d line%s)" % (label, len(objs), "" if len(objs) == 1 else "s"))
feed = objs[0] if objs else None
entries = objs[1:]
titles = [e.get("title") for e in entries]
env = dict(out=out, err=err, status=status, objs=objs, feed=feed, entries=entries,
           titles=titles, MiB=MiB)
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
        more = ""
        if status != 0 or not objs:
            more = "; exit status %d, stderr: %.300r" % (status, err)
        elif titles:
            more = "; %d entries, titles %.200r" % (len(entries), titles[:5])
        print("not ok - %s: %s%s" % (label, why, more))
EOF

# start NAME DOC [ARGS...]: parses $docs/DOC.xml as NAME in the background.
start_doc() {
  local name=$1 doc=$2
  shift 2
  start "$name" "$docs" parse "$@" "$doc.xml"
}

# run NAME DOC [ARGS...]: start_doc and finish_run.
run() {
  start_doc "$@"
  finish_run "$1"
}

# The attack must have something to reach for the leak checks to mean much.
if ! grep -q '^root:' /etc/passwd 2>/dev/null; then
  echo "# /etc/passwd has no root: line; the passwd leak checks prove less"
fi

small='len(out) < 64 * 1024'

# ---- entity bombs: nothing expands more than once, nor past 1 MiB ----------
if run billion_laughs billion_laughs; then
  expect billion_laughs "exit status 0" 'status == 0' \
    "no expansion (output under 64 KiB)" "$small" \
    "no 'lol' run in the output" 'b"lollollol" not in out' \
    "both entries, in order" 'titles[1:] == ["After the laughs"]'
fi
if run billion_laughs_param billion_laughs_param; then
  expect billion_laughs_param "exit status 0" 'status == 0' \
    "no expansion (output under 64 KiB)" "$small" \
    "no 'lol' run in the output" 'b"lollollol" not in out'
fi
# The document's own entities are expanded (issue 16), 1 MiB in all: the
# title's reference is, the description's 100,000 stop at the cap, said.
if run quadratic_blowup quadratic_blowup; then
  expect quadratic_blowup "exit status 0" 'status == 0' \
    "expansion bounded (output under 1 MiB + 64 KiB)" 'len(out) < MiB + 64 * 1024' \
    "the title's reference is expanded" 'titles[0] == "Quadratic " + "Q" * 50000' \
    "a warning says the expansion stopped" '"entities expand to more than" in err' \
    "the entry after the bomb is kept" '"After the blowup" in titles'
fi

# ---- external entities, DTDs, XInclude: nothing is read ---------------------
for doc in xxe_passwd_title xxe_file_description xxe_relative xxe_attribute xxe_atom \
  xxe_parameter xxe_external_dtd xxe_external_dtd_relative xxe_external_dtd_network \
  xxe_xinclude xxe_utf16 xxe_utf7 xxe_doctype_tricks; do
  more=()
  case $doc in
    # Attribute values come out decoded ("&amp;" in the source is "&"): an
    # enclosure URL or a link href must not read "&#38;".
    xxe_attribute) more=("attribute values are decoded (no '&#38;')" 'b"&#38;" not in out') ;;
    xxe_doctype_tricks) more=("both entries are kept" 'titles[1:] == ["Second"]') ;;
  esac
  if run "$doc" "$doc"; then
    no_leak "$doc"
    expect "$doc" "exit status 0, the feed is recovered" 'status == 0 and len(entries) >= 1' \
      "output under 64 KiB" "$small" "${more[@]}"
  fi
done
# The relative SYSTEM id again, resolved against a file:// base this time.
if run xxe_relative_base xxe_relative --base "file://$docs/xxe_relative.xml"; then
  no_leak xxe_relative_base
  expect xxe_relative_base "exit status 0" 'status == 0'
fi

# ---- sizes, depths and counts ---------------------------------------------
if run deep_nesting deep_nesting; then
  expect deep_nesting "exit status 0" 'status == 0' \
    "the entry before the deep one is kept" 'titles[:1] == ["Before the deep one"]'
fi
if run deep_nesting_content deep_nesting_content; then
  expect deep_nesting_content "exit status 0" 'status == 0' \
    "the entry before the deep one is kept" 'titles[:1] == ["Before the deep one"]'
fi
if run huge_title huge_title; then
  expect huge_title "exit status 0" 'status == 0' \
    "the 64 MB title is cut to at most 1 MiB" \
    '0 < len(titles[0].encode()) <= MiB + 1024' \
    "a warning names max_field_size" '"max_field_size" in err' \
    "the entry after it is kept" '"After the huge title" in titles'
fi
if run million_items million_items; then
  expect million_items "exit status 0" 'status == 0' \
    "stops at max_entries (50000) with a warning, or reads all" \
    '(len(entries) == 50000 and "max_entries" in err) or len(entries) == 1000000' \
    "entries in document order" 'titles[-1] == str(len(entries))'
fi
if run oversize_100mb oversize_100mb; then
  expect oversize_100mb "exit status 0 or 1" 'status in (0, 1)' \
    "a warning names max_feed_size" '"max_feed_size" in err' \
    "what came before the cap is kept" 'status == 1 or len(entries) > 1000'
fi
if run long_names long_names; then
  expect long_names "exit status 0" 'status == 0' \
    "the entry before them is kept" 'titles[:1] == ["First"]'
fi
# These six take well under a second each if the work is linear in the
# count and minutes if it is quadratic; they run side by side so that a
# regression costs the time limit once, not five times.
for doc in many_attributes many_namespaces many_categories many_enclosures tag_soup_titles \
  many_entity_refs; do
  start_doc "$doc" "$doc"
done
for doc in many_attributes many_namespaces; do
  if finish_run "$doc"; then
    expect "$doc" "exit status 0" 'status == 0' \
      "the entries around it are kept" 'titles[0] == "First" and titles[-1] == "Third"'
  fi
done
if finish_run many_categories; then
  expect many_categories "exit status 0" 'status == 0' \
    "the entry after it is kept" 'titles[-1] == "After the categories"'
fi
if finish_run many_enclosures; then
  expect many_enclosures "exit status 0" 'status == 0' \
    "the entry after it is kept" 'titles[-1] == "After the enclosures"'
fi
if finish_run many_entity_refs; then
  expect many_entity_refs "exit status 0" 'status == 0' \
    "a declared entity is expanded" 'titles[0] == "Refs v7"' \
    "the entry after the references is kept" 'titles[-1] == "After the refs"'
fi
if finish_run tag_soup_titles; then
  expect tag_soup_titles "exit status 0" 'status == 0' \
    "all 17 entries" 'len(entries) == 17 and titles[-1] == "After the soup"'
fi

# ---- damaged documents -------------------------------------------------------
if run truncated truncated; then
  expect truncated "exit status 0" 'status == 0' \
    "entries 1 and 2 are kept with their titles" 'titles[:2] == ["Item 1", "Item 2"]'
fi
if run nul_bytes nul_bytes; then
  expect nul_bytes "exit status 0" 'status == 0' \
    "all 10 entries" 'len(entries) == 10' \
    "no NUL in the output" 'b"\\u0000" not in out and b"\0" not in out'
fi
if run invalid_utf8 invalid_utf8; then
  expect invalid_utf8 "exit status 0" 'status == 0' \
    "all 8 entries" 'len(entries) == 8' \
    "every bad sequence became U+FFFD" 'all("\ufffd" in t for t in titles)'
fi

# ---- not feeds ----------------------------------------------------------------
not_a_feed='status == 1 and any(l.startswith("feedd: ") and ": not a feed: " in l
                               for l in err.splitlines())'
if run random_bytes random_bytes; then
  expect random_bytes "exit status 1, 'not a feed'" "$not_a_feed"
fi
if run empty empty; then
  expect empty "exit status 1, 'not a feed: empty document'" \
    'status == 1 and "empty.xml: not a feed: empty document" in err'
fi
if run html_page html_page; then
  expect html_page "exit status 1, 'not a feed'" "$not_a_feed"
fi

finish
