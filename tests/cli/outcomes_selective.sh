#!/usr/bin/env bash
# A selective read (an index-skipping filter or window) joins the same
# outcomes as a full scan: the outcome chunks it leaves unread name only
# event chunks it skipped. 25 one-address filters and 3 windows over a
# generated trace whose handshakes and closes span chunks, each compared
# event for event (result, result_ns, closes, bytes) with the full scan.
. tests/lib.sh
"$GEN" -n 400000 --seed 11 --chunk-events 8192 -o "$TMP/g.ctr" 2>/dev/null ||
	"$GEN" -n 400000 --seed 11 -o "$TMP/g.ctr"
"$CONNTRAIL" script --json "$TMP/g.ctr" >"$TMP/all.jsonl"
check "a full scan has outcomes and closes" \
	sh -c "grep -q '\"closed_ns\"' '$TMP/all.jsonl' && grep -q '\"outcome\":\"ECONNREFUSED\"' '$TMP/all.jsonl'"
python3 - "$TMP/all.jsonl" >"$TMP/picks" <<'PY'
import json, random, sys, collections
evs = [json.loads(l) for l in open(sys.argv[1])]
n = collections.Counter(e.get("daddr") for e in evs if e.get("proto") == "tcp")
rare = sorted(a for a, c in n.items() if c <= 3 and a)
random.seed(5)
for a in random.sample(rare, min(25, len(rare))):
    print(a)
PY
expect_eq "25 rare addresses picked" 25 "$(wc -l <"$TMP/picks")"
bad=0
while read -r a; do
	"$CONNTRAIL" script --json --filter "daddr == $a" "$TMP/g.ctr" >"$TMP/sel.jsonl"
	grep -F "\"daddr\":\"$a\"," "$TMP/all.jsonl" >"$TMP/want.jsonl"
	cmp -s "$TMP/sel.jsonl" "$TMP/want.jsonl" || { bad=$((bad + 1)); echo "  differs: daddr == $a"; }
done <"$TMP/picks"
expect_eq "one-address filters equal the full scan's events" 0 $bad
for w in "+30s +60s" "+100s +110s" "+2m +4m"; do
	set -- $w
	"$CONNTRAIL" script --json --since "$1" --until "$2" "$TMP/g.ctr" >"$TMP/win.jsonl"
	check "window $1..$2 has events" test -s "$TMP/win.jsonl"
	check "window $1..$2: the same events and outcomes as the full scan" python3 - \
		"$TMP/all.jsonl" "$TMP/win.jsonl" <<'PY'
import json, sys
full = {l for l in open(sys.argv[1])}
win = list(open(sys.argv[2]))
missing = [l for l in win if l not in full]
sys.exit(1 if missing else 0)
PY
done
done_testing
