#!/usr/bin/env bash
# R5: a connect storm (two threads, so losses happen on both CPUs) against a tiny ring buffer: delivered + lost ==
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
	"$REL_LOAD" storm --count "$COUNT" --threads 2 >"$TMP/storm.out" 2>"$TMP/rec.err" || st=$?
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
lost = r.get("lost")
if isinstance(lost, dict):
    lost = lost.get("events", lost.get("count"))
print(r.get("events"), lost)
' "$TMP/report.json" 2>/dev/null)
# The trace itself, independently of both: count script's lines.
script_events=$("$CONNTRAIL" script --json "$out" 2>/dev/null | wc -l)
# The text report must also show the loss.
"$CONNTRAIL" report "$out" >"$TMP/report.txt" 2>&1 || fail "report exit status $?"
# Text report: the first number on its "lost" line and on its "events" line.
txt_lost=$(grep -i -m1 -E '^ *lost' "$TMP/report.txt" | grep -o -E '[0-9]+' | head -n 1)
txt_events=$(grep -i -m1 -E '^ *events' "$TMP/report.txt" | grep -o -E '[0-9]+' | head -n 1)

expect_eq "info events == script lines" "$script_events" "${info_events:-none}"
expect_eq "report events == script lines" "$script_events" "${rep_events:-none}"
expect_eq "report --json lost == info lost" "${info_lost:-none}" "${rep_lost:-none}"
expect_eq "report (text) events == script lines" "$script_events" "${txt_events:-none}"
expect_eq "report (text) lost == info lost" "${info_lost:-none}" "${txt_lost:-none}"
for src in info:${info_lost:-} report:${rep_lost:-}; do
	n=${src#*:}
	if [[ "$n" =~ ^[0-9]+$ ]] && [ -n "${generated:-}" ]; then
		expect_eq "delivered + lost (${src%%:*}) == generated" "$generated" "$((script_events + n))"
		[ "$n" -gt 0 ] || fail "nothing lost: the 4096-byte buffer did not overflow, the test proves nothing"
	fi
done
echo "R5 overload: generated ${generated:-?}, delivered $script_events, lost ${info_lost:-?} (info), report ${rep_events:-?}+${rep_lost:-?}, text report ${txt_events:-?}+${txt_lost:-?}, buffer $buf_opt 4096"
done_testing
