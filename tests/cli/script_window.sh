#!/usr/bin/env bash
# --since/--until at exact event timestamps around chunk edges, in every
# spelling (RFC 3339 with ns, with a zone, offsets): script's counts must
# equal a count python computes from the full script --json output.
. tests/lib.sh

"$GEN" -n 300000 --seed 5 --profile mixed -o "$TMP/w.ctr" || { fail "generator"; done_testing; }
"$CONNTRAIL" script -q --json "$TMP/w.ctr" >"$TMP/all.jsonl" || fail "script --json"

# Windows: around every 65536th event (the writer's chunk size) and a few
# random ones, each as [ts-1ns, ts], [ts, ts], [ts, ts+1ns] and wider.
python3 - "$TMP/all.jsonl" >"$TMP/windows.txt" <<'PY'
import bisect, datetime, json, random, sys
def rfc(n):
    s, f = divmod(n, 10**9)
    d = datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % f
ts = [json.loads(l)["ts_ns"] for l in open(sys.argv[1])]
assert ts == sorted(ts), "script output not in time order"
random.seed(7)
idx = set()
for k in range(1, len(ts) // 65536 + 1):
    idx.update(i for i in (k * 65536 - 1, k * 65536) if 0 <= i < len(ts))
idx.update(random.sample(range(len(ts)), 6))
idx.update((0, len(ts) - 1))
for i in sorted(idx):
    t = ts[i]
    for lo, hi in ((t - 1, t), (t, t), (t, t + 1), (t - 5000000, t + 5000000),
                   (t, t + 60 * 10**9)):
        print(lo, hi, rfc(lo), rfc(hi), bisect.bisect_right(ts, hi) - bisect.bisect_left(ts, lo))
PY

rfc() { # ns -> RFC 3339 with nanoseconds, UTC
	python3 -c 'import sys,datetime; n=int(sys.argv[1]); s,f=divmod(n,10**9); print(datetime.datetime.fromtimestamp(s,datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")+".%09dZ"%f)' "$1"
}
while read -r lo hi lo_rfc hi_rfc want; do
	got=$("$CONNTRAIL" script -q --since "$lo_rfc" --until "$hi_rfc" "$TMP/w.ctr" | grep -vc "^#")
	expect_eq "window [$lo, $hi]" "$want" "$got"
done <"$TMP/windows.txt"

# The same instant written with a +01:00 zone.
read -r lo hi lo_rfc hi_rfc want < <(sed -n 5p "$TMP/windows.txt")
zoned=$(python3 -c 'import sys,datetime; n=int(sys.argv[1]); s,f=divmod(n,10**9); tz=datetime.timezone(datetime.timedelta(hours=1)); print(datetime.datetime.fromtimestamp(s,tz).strftime("%Y-%m-%dT%H:%M:%S")+".%09d+01:00"%f)' "$lo")
got=$("$CONNTRAIL" script -q --since "$zoned" --until "$(rfc "$hi")" "$TMP/w.ctr" | grep -vc "^#")
expect_eq "window with a +01:00 zone" "$want" "$got"
# And as a filter on ts: same count as the window.
got=$("$CONNTRAIL" script -q --filter "ts >= $(rfc "$lo") and ts <= $(rfc "$hi")" "$TMP/w.ctr" | grep -vc "^#")
expect_eq "ts filter equals the window" "$want" "$got"

# Offsets count from the trace start: +0 keeps everything; a window of
# offsets equals the same window computed from the header start.
total=$(wc -l <"$TMP/all.jsonl")
expect_eq "--since +0" "$total" "$("$CONNTRAIL" script -q --since +0 "$TMP/w.ctr" | grep -vc "^#")"
start=$("$CONNTRAIL" report -q --json "$TMP/w.ctr" | jq -r .trace_start_ns)
want=$(python3 - "$TMP/all.jsonl" "$start" <<'PY'
import json, sys
s = int(sys.argv[2])
print(sum(1 for l in open(sys.argv[1]) if s + 30 * 10**9 <= json.loads(l)["ts_ns"] <= s + 90 * 10**9))
PY
)
expect_eq "--since +30s --until +1.5m" "$want" "$("$CONNTRAIL" script -q --since +30s --until +1.5m "$TMP/w.ctr" | grep -vc "^#")"
expect_eq "--since +30000ms --until +90" "$want" "$("$CONNTRAIL" script -q --since +30000ms --until +90 "$TMP/w.ctr" | grep -vc "^#")"

# A window outside the trace is empty, not an error; until < since is a usage error.
expect_eq "window before the trace" 0 "$("$CONNTRAIL" script -q --until 2001-01-01T00:00:00Z "$TMP/w.ctr" | grep -vc "^#")"
expect_eq "window after the trace" 0 "$("$CONNTRAIL" script -q --since 2099-01-01 "$TMP/w.ctr" | grep -vc "^#")"
expect_status "--until before --since" 2 "$CONNTRAIL" script --since +10s --until +5s "$TMP/w.ctr"
expect_status "bad --since" 2 "$CONNTRAIL" script --since yesterday "$TMP/w.ctr"
check "bad --since names the argument" grep -q "bad --since 'yesterday'" "$TMP/.stderr"
expect_status "bad offset unit" 2 "$CONNTRAIL" script --until +5y "$TMP/w.ctr"
done_testing
