#!/usr/bin/env bash
# Overload: a 4 KiB ring buffer and a reader that is stopped (SIGSTOP) while a
# helper makes 100000 connects, so most records cannot be delivered. Every
# connect must be accounted for: delivered + lost == generated, exactly, and
# `info` and `report` both show the loss.
. tests/lib.sh
STORM=$PWD/$BUILD/tests/connstorm
cd "$TMP"
"$CONNTRAIL" record --buffer 4096 -o t.ctr -- sh -c "
	kill -STOP \$PPID
	'$STORM' 100000 >storm.out
	kill -CONT \$PPID" 2>rec.err
expect_eq "record exit status" 0 $?
generated=$(sed 's/.*generated=\([0-9]*\).*/\1/' storm.out)
spid=$(sed 's/.*pid=//' storm.out)
expect_eq "the storm made its connects" 100000 "$generated"
"$CONNTRAIL" script --json t.ctr >events.jsonl
delivered=$(jq -s "map(select(.pid == $spid)) | length" events.jsonl)
lost=$(sed -n 's/^conntrail record: [0-9]* events, \([0-9]*\) lost.*/\1/p' rec.err)
check "records were really lost (reader stopped)" test "${lost:-0}" -gt 50000
expect_eq "delivered + lost == generated" "$generated" "$((delivered + lost))"
"$CONNTRAIL" report t.ctr >report.out
check "report shows the loss ($lost)" grep -Eiq "lost[^0-9]*\b$lost\b" report.out
"$CONNTRAIL" info t.ctr >info.out
check "info shows the loss ($lost)" grep -Eiq "lost[^0-9]*\b$lost\b" info.out
done_testing
