#!/usr/bin/env bash
# samples/outcomes.ctr: a format 2.1 trace recorded (tracepoint backend) of
# tests/helpers/connector.c in a network namespace pair (as in tests/live/
# record_outcomes.sh), kept so that later versions keep reading it. Every
# field of every event must still equal what the connector logged then
# (samples/outcomes.truth.jsonl): outcomes, local ends, bytes included.
. tests/lib.sh
S=$SAMPLES/outcomes
"$CONNTRAIL" script --json "$S.ctr" >"$TMP/events.jsonl"
expect_eq "script --json exit status" 0 $?
check "every field equals the connector's log" python3 tests/helpers/connector_check.py \
	"$S.truth.jsonl" "$TMP/events.jsonl" \
	"$(jq -r .record_pid "$S.meta.json")" "$(jq -r .exe "$S.meta.json")" 15
expect_eq "info: format, handshakes tracked and resolved, outcomes unmatched" "2.1 10 10 0" \
	"$("$CONNTRAIL" info --json "$S.ctr" |
		jq -r '"\(.format) \(.handshakes_tracked) \(.handshakes_resolved) \(.outcomes_unmatched)"')"
expect_eq "report: outcome classes" \
	'{"success":8,"refused":2,"timeout":2,"unreachable":1,"denied":0,"other":1,"abandoned":1,"unknown":0}' \
	"$("$CONNTRAIL" report --json "$S.ctr" | jq -c .results)"
done_testing
