#!/usr/bin/env bash
# `record -- sh -c '...'` traces the command and its children (forks and
# execs), stops when it exits, returns its status, and records nothing of a
# process outside that tree connecting at the same time.
. tests/lib.sh
STORM=$PWD/$BUILD/tests/connstorm
cd "$TMP"
# An outsider making connects to ports 20001.. all the while.
( while [ ! -e stop ]; do "$STORM" 50 --seq 20001 >/dev/null; done ) &
outsider=$!
"$CONNTRAIL" record -q -o t.ctr -- sh -c "
	'$STORM' 10 --seq 30001 >child1.out
	( '$STORM' 5 --seq 30101 >grandchild.out ) &
	wait
	exit 3"
expect_eq "record returns the command's exit status" 3 $?
touch stop
wait $outsider
"$CONNTRAIL" script --json t.ctr >events.jsonl
check "script reads it" test -s events.jsonl
expect_eq "child's 10 connects recorded" 10 "$(jq -s 'map(select(.dport > 30000 and .dport <= 30010)) | length' events.jsonl)"
expect_eq "grandchild's 5 connects recorded" 5 "$(jq -s 'map(select(.dport > 30100 and .dport <= 30105)) | length' events.jsonl)"
expect_eq "nothing from the outsider" 0 "$(jq -s 'map(select(.dport > 20000 and .dport < 30000)) | length' events.jsonl)"
expect_eq "nothing else at all" 15 "$(jq -s 'length' events.jsonl)"
c1=$(sed 's/.*pid=//' child1.out)
expect_eq "the child's events carry its pid and comm" "connstorm" "$(jq -r -s "map(select(.pid == $c1)) | .[0].comm" events.jsonl)"
done_testing
