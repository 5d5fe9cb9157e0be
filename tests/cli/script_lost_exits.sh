#!/usr/bin/env bash
# Lost events and exit statuses wherever events are: script marks the
# place of a loss with a line (JSON: opt-in --lost records) and sums the
# losses up on stderr; exit statuses of the processes shown follow as lines
# (JSON: --exits); convert warns; report shows lost process records and
# each process row's exit statuses.
. tests/lib.sh

python3 tests/cli/usability_trace.py "$TMP/u.ctr" || { fail "crafting the trace"; done_testing; }

"$CONNTRAIL" script "$TMP/u.ctr" >"$TMP/s.txt" 2>"$TMP/s.err" || fail "script"
expect_eq "events" 10 "$(grep -vc '^#' "$TMP/s.txt")"
# The loss sits where it happened: after the 8 events of the first second.
expect_eq "lost line after 8 events" 9 "$(grep -n 'LOST 7 connect events lost' "$TMP/s.txt" | cut -d: -f1)"
check "process records lost line" grep -q '^# .* LOST 3 process records lost' "$TMP/s.txt"
check "exit 1 of burst.py" grep -q '^# .* EXIT python3/100 exit 1$' "$TMP/s.txt"
check "exit 0" grep -q '^# .* EXIT python3/101 exit 0$' "$TMP/s.txt"
check "killed curl" grep -q '^# .* EXIT curl/102 killed by SIGKILL$' "$TMP/s.txt"
check "no exit line for a process that never connected" bash -c "! grep -q 'sleep/103' '$TMP/s.txt'"
check "summary on stderr" grep -q 'lost while recording: 7 connect events, 0 outcomes, 3 process records' "$TMP/s.err"
# With a filter: only the exits of the processes shown.
"$CONNTRAIL" script -q --filter 'comm == curl' "$TMP/u.ctr" >"$TMP/f.txt" 2>/dev/null
check "filtered: curl's exit" grep -q 'EXIT curl/102' "$TMP/f.txt"
check "filtered: no python3 exit" bash -c "! grep -q 'EXIT python3' '$TMP/f.txt'"

# JSON: connects only unless asked; the summary always.
"$CONNTRAIL" script --json "$TMP/u.ctr" >"$TMP/s.jsonl" 2>"$TMP/j.err"
expect_eq "json lines are connects" 10 "$(jq -c 'select(has("daddr") or has("family"))' "$TMP/s.jsonl" | wc -l)"
expect_eq "json: nothing else" 10 "$(wc -l <"$TMP/s.jsonl")"
check "json: summary on stderr" grep -q 'lost while recording' "$TMP/j.err"
"$CONNTRAIL" script -q --json --lost --exits "$TMP/u.ctr" >"$TMP/all.jsonl" 2>/dev/null
expect_eq "--lost records" '{"lost":7,"lost_kind":"connects","cpu":1}
{"lost":3,"lost_kind":"processes","cpu":null}' \
	"$(jq -c 'select(has("lost")) | {lost, lost_kind, cpu}' "$TMP/all.jsonl")"
expect_eq "--exits records" '{"pid":100,"exit_code":1,"exit_signal":null}
{"pid":101,"exit_code":0,"exit_signal":null}
{"pid":102,"exit_code":null,"exit_signal":"SIGKILL"}' \
	"$(jq -c 'select(has("wait_status")) | {pid, exit_code, exit_signal}' "$TMP/all.jsonl")"
check "JSON lines stay in time order" python3 -c '
import json, sys
ts = [json.loads(l)["ts_ns"] for l in open(sys.argv[1])]
sys.exit(ts != sorted(ts))' "$TMP/all.jsonl"

# Exports warn on stderr.
for to in csv jsonl pcapng; do
	"$CONNTRAIL" convert -q "$TMP/u.ctr" -o "$TMP/u.$to" 2>"$TMP/c.err" || fail "convert $to"
	check "convert --to $to warns" grep -q 'lost while recording: 7 connect events' "$TMP/c.err"
done

# report: lost process records, exit statuses under the process rows.
"$CONNTRAIL" report -q "$TMP/u.ctr" >"$TMP/r.txt" || fail "report"
check "report: lost process records" grep -q 'LOST .*3 process records lost' "$TMP/r.txt"
check "report: python3 exits" grep -Eq 'exit: exit (1|0), exit (0|1)$' "$TMP/r.txt"
check "report: curl killed" grep -q 'exit: killed by SIGKILL' "$TMP/r.txt"
"$CONNTRAIL" report -q --json "$TMP/u.ctr" >"$TMP/r.json" || fail "report --json"
expect_eq "report json lost" '{"events":7,"processes":3}' "$(jq -c '.lost | {events, processes}' "$TMP/r.json")"
expect_eq "report json exits of curl" '[{"status":"killed by SIGKILL","wait_status":9,"processes":1}]' \
	"$(jq -c '.processes[] | select(.comm == "curl") | .exits' "$TMP/r.json")"
expect_eq "report --by pid: burst.py exited 1" '"exit 1"' \
	"$("$CONNTRAIL" report -q --json --by pid "$TMP/u.ctr" | jq -c '.processes[] | select(.pid == 100) | .exits[0].status')"
done_testing
