#!/usr/bin/env bash
# report --by pid, exe, cmdline, uid, host, container: process rows by
# another key; under each row its distinct command lines with counts.
. tests/lib.sh

python3 tests/cli/usability_trace.py "$TMP/u.ctr" || { fail "crafting the trace"; done_testing; }

# name|--by|jq over .processes -> "key count" lines
rows() { "$CONNTRAIL" report -q --json --by "$1" "$TMP/u.ctr" | jq -r ".processes[] | $2"; }
expect_eq "--by pid" "100 6
102 2
101 2" "$(rows pid '"\(.pid) \(.count)"')"
expect_eq "--by exe" "/usr/bin/python3 8
/usr/bin/curl 2" "$(rows exe '"\(.exe) \(.count)"')"
expect_eq "--by cmdline" "python3 burst.py 6
curl -s http://x/ 2
python3 other.py 2" "$(rows cmdline '"\(.cmdline) \(.count)"')"
expect_eq "--by uid" "1000 8
0 2" "$(rows uid '"\(.uid) \(.count)"')"
expect_eq "--by host" "web1 10" "$(rows host '"\(.host) \(.count)"')"
expect_eq "--by container (none known)" "null 10" "$(rows container '"\(.container) \(.count)"')"
# failures per row
expect_eq "--by cmdline failed" "6" "$(rows cmdline 'select(.cmdline == "python3 burst.py") | .failed')"

# Distinct command lines under a process row, with counts.
"$CONNTRAIL" report -q --json --by process "$TMP/u.ctr" >"$TMP/p.json"
expect_eq "cmdlines of python3" '[{"cmdline":"python3 burst.py","processes":1},{"cmdline":"python3 other.py","processes":1}]' \
	"$(jq -c '.processes[] | select(.comm == "python3") | .cmdlines' "$TMP/p.json")"
"$CONNTRAIL" report -q --by process "$TMP/u.ctr" >"$TMP/p.txt"
check "text: burst.py under python3" grep -q 'cmd: python3 burst.py  (1 process)' "$TMP/p.txt"
check "text: other.py under python3" grep -q 'cmd: python3 other.py  (1 process)' "$TMP/p.txt"
"$CONNTRAIL" report -q --by cmdline "$TMP/u.ctr" >"$TMP/c.txt"
check "text --by cmdline header" grep -q 'Top cmdline (3 of 3)' "$TMP/c.txt"
check "text --by cmdline row" grep -Eq '^ +6 +60\.0% +1 +6  python3 burst.py$' "$TMP/c.txt"
"$CONNTRAIL" report -q --by pid "$TMP/u.ctr" >"$TMP/pid.txt"
check "text --by pid row" grep -Eq '^ +6 +60\.0% +1 +6  100 python3 /usr/bin/python3$' "$TMP/pid.txt"

# Two hosts: --by host splits them.
"$GEN" -n 3000 --seed 5 --profile storm -o "$TMP/s.ctr" || fail "gen"
expect_eq "--by host, two hosts" "storm-host 3000
web1 10" "$("$CONNTRAIL" report -q --json --by host "$TMP/u.ctr" "$TMP/s.ctr" | jq -r '.processes[] | "\(.host) \(.count)"')"
expect_status "bad --by" 2 "$CONNTRAIL" report --by bogus "$TMP/u.ctr"
check "bad --by lists the keys" grep -q 'pid, exe, cmdline, uid, host, container' "$TMP/.stderr"
check "help names the keys" bash -c "'$CONNTRAIL' report --help | grep -q 'pid, exe, cmdline, uid, host or container'"
done_testing
