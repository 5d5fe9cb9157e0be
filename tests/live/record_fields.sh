#!/usr/bin/env bash
# Every field of every event of a known set of connects (tests/helpers/
# connector.c logs what it did) must come back from `script --json` exactly:
# pid, tid, ppid, comm, uid, gid, sockfd, family, type, proto, daddr, dport,
# saddr, sport, path, abstract, ret; the final outcome as the program saw it
# (poll + SO_ERROR: ok, refused later, timed out, abandoned) and the payload
# bytes of a connection that sent a known amount each way; plus exe of the
# recorded command.
. tests/lib.sh
CONNECTOR=$PWD/$BUILD/tests/connector

"$CONNTRAIL" record -q -o "$TMP/t.ctr" -- "$CONNECTOR" "$TMP/log.jsonl" "$TMP" 2>"$TMP/rec.err" &
rec_pid=$!
wait $rec_pid
expect_eq "record exit status (the command's)" 0 $?
check "record wrote nothing on stderr with -q" test ! -s "$TMP/rec.err"
check "trace file is 0600" test "$(stat -c %a "$TMP/t.ctr")" = 600
check "script --json reads the trace" sh -c "'$CONNTRAIL' script --json '$TMP/t.ctr' >'$TMP/events.jsonl'"

check "every field matches the connector's log" python3 tests/helpers/connector_check.py \
	"$TMP/log.jsonl" "$TMP/events.jsonl" "$rec_pid" "$CONNECTOR" 13
done_testing
