#!/usr/bin/env bash
# R5: a connect storm against a tiny ring buffer: delivered + lost ==
# generated, exactly, as shown by info and report.
source tests/lib.sh
source tests/reliability/common.sh
need_root R5
need_file R5 "$REL_LOAD"
COUNT=${R5_COUNT:-300000}
buf_opt=$("$CONNTRAIL" record --help 2>&1 | grep -o -E -- '--(buffer|ring[a-z-]*|rb[a-z-]*)' | head -n 1)
[ -n "$buf_opt" ] || buf_opt=--buffer
out=$TMP/storm.ctr
st=0
timeout 60 "$CONNTRAIL" record -q "$buf_opt" 4096 -o "$out" -- \
	"$REL_LOAD" storm --count "$COUNT" >"$TMP/storm.out" 2>"$TMP/rec.err" || st=$?
expect_eq "record -- storm exit status" 0 "$(status_word $st)"
generated=$(awk '/^generated/ {print $2}' "$TMP/storm.out")
expect_eq "storm's own count" "$COUNT" "${generated:-none}"

# info: "events" and "lost" numbers.
"$CONNTRAIL" info "$out" >"$TMP/info" 2>&1 || fail "info exit status $?"
info_events=$(grep -i -E '^ *events\b' "$TMP/info" | grep -o -E '[0-9]+' | head -n 1)
info_lost=$(grep -i -E '^ *lost' "$TMP/info" | grep -o -E '[0-9]+' | head -n 1)
# report --json: totals.
"$CONNTRAIL" report --json "$out" >"$TMP/report.json" 2>"$TMP/report.err" ||
	fail "report --json exit status $?"
read -r rep_events rep_lost < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
def find(o, names):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in names and isinstance(v, int):
                return v
        for v in o.values():
            x = find(v, names)
            if x is not None:
                return x
    return None
print(find(r, ("events", "total_events", "events_total")), find(r, ("lost", "lost_events", "events_lost")))
' "$TMP/report.json" 2>/dev/null)
# The trace itself, independently of both: count script's lines.
script_events=$("$CONNTRAIL" script --json "$out" 2>/dev/null | wc -l)
# The text report must also show the loss.
"$CONNTRAIL" report "$out" >"$TMP/report.txt" 2>&1 || fail "report exit status $?"
grep -q -i 'lost' "$TMP/report.txt" || fail "report's text output does not mention lost events"

expect_eq "info events == script lines" "$script_events" "${info_events:-none}"
expect_eq "report events == script lines" "$script_events" "${rep_events:-none}"
expect_eq "report lost == info lost" "${info_lost:-none}" "${rep_lost:-none}"
if [ -n "${generated:-}" ] && [ -n "${info_lost:-}" ]; then
	expect_eq "delivered + lost == generated" "$generated" "$((script_events + info_lost))"
	[ "$info_lost" -gt 0 ] || fail "nothing lost: the 4096-byte buffer did not overflow, the test proves nothing"
fi
echo "R5 overload: generated ${generated:-?}, delivered $script_events, lost ${info_lost:-?} (info), report ${rep_events:-?}+${rep_lost:-?}, buffer $buf_opt 4096"
done_testing
