#!/usr/bin/env bash
# conntrail top without a terminal: --batch frames of a finished trace (the
# window is its last seconds) hold the counts script --json gives for that
# window; --filter, --top and -n; usage errors; no terminal without
# --batch; a file being written (flock held, as record does) is LIVE.
. tests/lib.sh
cd "$TMP"

"$GEN" -n 20000 --seed 5 -o g.ctr >/dev/null
"$CONNTRAIL" top --batch --top 5 --window 60s g.ctr >frame.txt
expect_eq "a finished file: exit status 0" 0 $?
expect_eq "one frame, ENDED" 1 "$(grep -c '^conntrail top - g\.ctr  host gen-host  backend generated  window 60s  .*ENDED$' frame.txt)"
check "five rows" test "$(sed -n '/^  CONNECTS/,/^$/p' frame.txt | grep -c '^ *[0-9]')" = 5

# What the window holds, from script --json: the last 60 s of the trace.
"$CONNTRAIL" script --json g.ctr >all.jsonl
python3 - all.jsonl frame.txt <<'PY' >want.txt
import collections, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
end = max(e["ts_ns"] for e in evs)
win = [e for e in evs if e["ts_ns"] >= end - 60_000_000_000]
def dest(e):
    if e["family"] == "AF_INET": return "%s:%d" % (e["daddr"], e["dport"])
    if e["family"] == "AF_INET6":
        s = "%" + str(e["scope_id"]) if e.get("scope_id") else ""
        return "[%s%s]:%d" % (e["daddr"], s, e["dport"])
    return e.get("path")
failed = lambda e: e.get("outcome") == "abandoned" or ("result" in e and e["result"] != 0)
n = collections.Counter(dest(e) for e in win)
fl = collections.Counter(dest(e) for e in win if failed(e))
print("window: %d connects, %d failed" % (len(win), sum(fl.values())))
for d, c in sorted(n.items(), key=lambda x: (-x[1], x[0]))[:5]:
    print("%d %d %s" % (c, fl[d], d))
PY
got_head=$(grep -o '^window: [0-9]* connects, [0-9]* failed' frame.txt)
expect_eq "the window's connects and failures" "$(head -n 1 want.txt)" "$got_head"
got_rows=$(sed -n '/^  CONNECTS/,/^$/p' frame.txt | awk '$1 ~ /^[0-9]+$/ { print $1, $3, $5 }')
expect_eq "the top destinations with their counts and failures" "$(tail -n +2 want.txt)" "$got_rows"

# --filter applies to the counts; -n stops after that many frames.
"$CONNTRAIL" top --batch -n 1 --window 60s --filter 'dport == 53' g.ctr >f.txt
want53=$(python3 -c '
import json, sys
evs = [json.loads(l) for l in open("all.jsonl")]
end = max(e["ts_ns"] for e in evs)
print(sum(1 for e in evs if e["ts_ns"] >= end - 60_000_000_000 and e.get("dport") == 53))')
check "filtered: the dport 53 connects only" grep -q "^window: $want53 connects, .* filter: dport == 53$" f.txt
check "filtered: no row of another port" sh -c "! sed -n '/^  CONNECTS/,/^\$/p' f.txt | grep -E '^ +[0-9].*:[0-9]+$' | grep -vq ':53$'"

# A file still being written (its writer holds the lock): LIVE, -n frames.
cp g.ctr w.ctr
flock -x w.ctr -c 'while [ ! -e release ]; do sleep 0.05; done' &
locker=$!
wait_until 30 sh -c '! flock -n -s w.ctr true'
timeout 60 "$CONNTRAIL" top --batch -n 2 --delay 200ms w.ctr >live.txt
expect_eq "-n 2 on a live file: status 0" 0 $?
expect_eq "two frames, LIVE" 2 "$(grep -c '^conntrail top - w\.ctr .* LIVE$' live.txt)"
touch release
wait $locker

# Errors.
expect_status "bad --window" 2 "$CONNTRAIL" top --window 1x g.ctr
expect_status "too short --delay" 2 "$CONNTRAIL" top --delay 1ms g.ctr
expect_status "two files" 2 "$CONNTRAIL" top g.ctr g.ctr
expect_status "bad filter" 2 "$CONNTRAIL" top --batch --filter 'dport ==' g.ctr
expect_status "a missing file" 1 "$CONNTRAIL" top --batch nosuch.ctr
check "it names the file" grep -q 'nosuch.ctr' "$TMP/.stderr"
expect_status "no terminal without --batch" 2 setsid -w "$CONNTRAIL" top g.ctr
check "says to use --batch" grep -q 'use --batch' "$TMP/.stderr"
check "--help shows the keys" sh -c "'$CONNTRAIL' top --help | grep -q '^Keys: 1 destinations'"
check "conntrail --help lists top" sh -c "'$CONNTRAIL' --help | grep -q '^  top '"
done_testing
