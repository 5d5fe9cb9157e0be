#!/usr/bin/env bash
# The "done when" check: record curl's refused connect to 127.0.0.1:1, then
# `conntrail script` shows it with the right address, process and result.
. tests/lib.sh
command -v curl >/dev/null || { echo "  FAIL: curl is not installed" >&2; exit 1; }
cd "$TMP"
"$CONNTRAIL" record -o t.ctr -- curl -s http://127.0.0.1:1/ 2>rec.err
expect_eq "record returns curl's status (7: could not connect)" 7 $?
check "summary line on stderr" grep -Eq '^conntrail record: [0-9]+ events, 0 lost, backend tracepoint, [0-9]+ bytes, t.ctr$' rec.err
"$CONNTRAIL" script t.ctr >script.out
expect_eq "script exit status" 0 $?
check "script shows curl's connect to 127.0.0.1:1 refused" grep -Eq 'curl/[0-9]+ .*127\.0\.0\.1:1 .*(ECONNREFUSED|EINPROGRESS)' script.out
"$CONNTRAIL" script --json t.ctr | jq -e -s 'map(select(.daddr == "127.0.0.1" and .dport == 1))
	| length >= 1 and all(.comm == "curl" and .exe == "/usr/bin/curl" and .proto == "tcp"
	and (.ret == -111 or .ret == -115))' >/dev/null
expect_eq "the JSON event has curl, its exe, tcp and the refusal" 0 $?
done_testing
