#!/usr/bin/env bash
# A program whose executable path and comm carry terminal escapes (ESC[31m,
# an OSC 52 clipboard write, a newline, C1 controls as a raw byte and as
# UTF-8, a bidi override) and whose UNIX socket lives under such a path is
# recorded for real; every text output must come out terminal-clean, the
# JSON must still give the exact names back, and CSV must not start a
# formula (the comm starts with '=').
. tests/lib.sh
CONNECTOR=$PWD/$BUILD/tests/connector
ESC=$'\e[31m\e]52;c;cHduZWQ=\a\n\xc2\x9b\xe2\x80\xae\x9b'
HDIR=$TMP/d$ESC
mkdir -p "$HDIR"
HEXE=$HDIR/$'=1+1\e[2J'$'\xe2\x80\xae'x
cp "$CONNECTOR" "$HEXE"

"$CONNTRAIL" record -q --backend tracepoint -o "$TMP/t.ctr" -- "$HEXE" "$TMP/log.jsonl" "$HDIR" \
	2>"$TMP/rec.err"
expect_eq "record exit status (the command's)" 0 $?
check "the connector logged its connects" test -s "$TMP/log.jsonl"

out=$TMP/out
mkdir -p "$out"
"$CONNTRAIL" info "$TMP/t.ctr" >"$out/info" 2>&1
"$CONNTRAIL" report "$TMP/t.ctr" >"$out/report" 2>&1
for by in process exe cmdline dest; do
	"$CONNTRAIL" report --by "$by" "$TMP/t.ctr" >"$out/report-$by" 2>&1
done
"$CONNTRAIL" script "$TMP/t.ctr" >"$out/script" 2>&1
cp "$TMP/t.ctr" "$TMP/second.ctr"
"$CONNTRAIL" script "$TMP/t.ctr" "$TMP/second.ctr" >"$out/script-multi" 2>&1
"$CONNTRAIL" script --json "$TMP/t.ctr" >"$out/json" 2>&1
"$CONNTRAIL" report --json "$TMP/t.ctr" >"$out/report-json" 2>&1
# An error message naming the hostile path.
"$CONNTRAIL" info "$HEXE.missing" >"$out/error" 2>&1
check "every text output is terminal-clean" python3 tests/reliability/clean_text.py "$out"/*
check "the comm is shown, escaped" grep -q '=1+1\\x1b\[2J' "$out/script"
check "the exe is shown, escaped" grep -q 'd\\x1b\[31m\\x1b\]52;c;cHduZWQ=\\x07\\x0a\\u009b\\u202e\\x9b' "$out/report-process"

check "script --json gives the exact exe and comm back" python3 - "$out/json" "$HEXE" <<'PY'
import json, sys
def undo(e):  # JSON writes a byte that is not UTF-8 as \u00XX
    return ("".join(chr(b) for b in e.object[e.start:e.end]), e.end)
import codecs
codecs.register_error("u00xx", undo)
want = sys.argv[2].encode("utf-8", "surrogateescape").decode("utf-8", "u00xx")
evs = [json.loads(l) for l in open(sys.argv[1])]
mine = [e for e in evs if e.get("exe") == want]
assert mine, "no event with exe %r: %r" % (want, {e.get("exe") for e in evs})
comm = "=1+1\x1b[2J\u202ex"[:15]
assert all(e["comm"] == comm for e in mine), {e["comm"] for e in mine}
paths = [e["path"] for e in mine if e.get("family") == "AF_UNIX" and not e.get("abstract")]
assert paths and all("\u202e" in p and "\x1b" in p for p in paths), paths
PY
"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.csv"
check "CSV: the comm that starts with '=' is text, not a formula" python3 - "$TMP/t.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
mine = [r for r in rows if r["comm"].startswith("'=1+1")]
assert mine, {r["comm"] for r in rows}
assert not [r for r in rows if r["comm"][:1] in "=+-@"], "formula cell"
PY
"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.pcapng"
check "tshark reads the pcapng" sh -c "tshark -r '$TMP/t.pcapng' >/dev/null 2>&1"
done_testing
