#!/usr/bin/env bash
# Times as people type them: a time of day on the trace's day, offsets back
# from the end (-10s), --tz local|UTC|+HH:MM for zone-less times (UTC the
# default), the window in report's header, a warning with the trace's span
# when a window misses it.
. tests/lib.sh

"$GEN" -n 60000 --seed 31 --profile mixed --start 2026-01-15T09:00:00Z -o "$TMP/t.ctr" ||
	{ fail "generator"; done_testing; }
"$CONNTRAIL" script -q --json "$TMP/t.ctr" >"$TMP/all.jsonl" || fail "script --json"
count() { "$CONNTRAIL" script -q "$@" "$TMP/t.ctr" 2>/dev/null | grep -vc '^#'; }
# want SINCE_NS_EXPR: events at or after it (python over the JSON)
want() {
	python3 - "$TMP/all.jsonl" "$1" <<'PY'
import datetime, json, sys
ts = [json.loads(l)["ts_ns"] for l in open(sys.argv[1])]
day = datetime.datetime(2026, 1, 15, tzinfo=datetime.timezone.utc).timestamp() * 10**9
lo = eval(sys.argv[2], {"day": int(day), "last": ts[-1], "s": 10**9})
print(sum(1 for t in ts if t >= lo))
PY
}
w30=$(want 'day + (9 * 3600 + 30) * s')
check "a window inside the trace ($w30)" test "$w30" -gt 1000
expect_eq "--since 09:00:30 (time of day, UTC)" "$w30" "$(count --since 09:00:30)"
expect_eq "--since 09:00:30Z" "$w30" "$(count --since 09:00:30Z)"
expect_eq "--tz +01:00 --since 10:00:30" "$w30" "$(count --tz +01:00 --since 10:00:30)"
expect_eq "--tz +01:00 --since 2026-01-15T10:00:30" "$w30" "$(count --tz +01:00 --since 2026-01-15T10:00:30)"
expect_eq "--tz local (TZ one hour east)" "$w30" "$(TZ=XXX-1 count --tz local --since 2026-01-15T10:00:30)"
expect_eq "a zone in the time wins over --tz" "$w30" "$(count --tz +05:00 --since 2026-01-15T09:00:30Z)"
expect_eq "--tz UTC is the default" "$w30" "$(count --tz UTC --since 09:00:30)"
w10=$(want 'last - 10 * s')
expect_eq "--since -10s (back from the end)" "$w10" "$(count --since -10s)"
total=$(wc -l <"$TMP/all.jsonl")
expect_eq "--until -10s" "$((total - $(want 'last - 10 * s + 1')))" "$(count --until -10s)"

# A window that misses the trace says so, with the trace's span.
expect_eq "missed window: no events" 0 "$(count --since 17:05)"
"$CONNTRAIL" script -q --since 17:05 "$TMP/t.ctr" 2>"$TMP/miss.err" >/dev/null
check "missed window warns with the span ($(cat "$TMP/miss.err"))" \
	grep -q 'misses the trace, which spans 2026-01-15T09:00:00Z .. 2026-01-15T09:0' "$TMP/miss.err"
"$CONNTRAIL" script -q --since 09:00:30 "$TMP/t.ctr" 2>"$TMP/hit.err" >/dev/null
check "no warning when the window holds events" bash -c "! grep -q misses '$TMP/hit.err'"

# report's header shows the window.
"$CONNTRAIL" report -q --since 09:00:30 --until -10s "$TMP/t.ctr" >"$TMP/r.txt"
check "report header window" grep -Eq '^window +2026-01-15T09:00:30Z \.\. 2026-01-15T09:0[0-9]:[0-9]{2}Z' "$TMP/r.txt"
expect_eq "report json window" '"2026-01-15T09:00:30.000000000Z"' \
	"$("$CONNTRAIL" report -q --json --since 09:00:30 "$TMP/t.ctr" | jq -c .window.since)"

# Usage errors.
expect_status "bad --tz" 2 "$CONNTRAIL" script --tz Mars/Base "$TMP/t.ctr"
check "bad --tz says what it takes" grep -q "bad --tz 'Mars/Base': expected local, UTC" "$TMP/.stderr"
expect_status "-10m on a stream" 2 bash -c "cat '$TMP/t.ctr' | '$CONNTRAIL' script -q --since -10m -"
check "-10m on a stream says why" grep -q 'back from the trace' "$TMP/.stderr"
expect_status "bad time of day" 2 "$CONNTRAIL" script --since 25:00 "$TMP/t.ctr"
check "help shows the forms" bash -c "'$CONNTRAIL' script --help | grep -q -- '--tz'"
done_testing
