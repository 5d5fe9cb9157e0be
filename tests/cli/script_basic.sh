#!/usr/bin/env bash
# script: text and JSON lines, stdin, default file, several hosts, | head,
# damaged chunks (exit 0 with one line saying so), --relative.
. tests/lib.sh

"$GEN" -n 20000 --seed 2 --profile mixed -o "$TMP/a.ctr" --truth "$TMP/a.json" || fail "gen a"
"$GEN" -n 10000 --seed 3 --profile mixed -o "$TMP/b.ctr" || fail "gen b"

"$CONNTRAIL" script -q "$TMP/a.ctr" >"$TMP/a.all" || fail "script text"
grep -v "^#" "$TMP/a.all" >"$TMP/a.txt"
"$CONNTRAIL" script -q --json "$TMP/a.ctr" >"$TMP/a.jsonl" || fail "script json"
expect_eq "text lines" 20000 "$(wc -l <"$TMP/a.txt")"
expect_eq "json lines" 20000 "$(wc -l <"$TMP/a.jsonl")"
check "every JSON line parses with the keys in order" python3 - "$TMP/a.jsonl" <<'PY'
import json, sys
order = ["ts", "ts_ns", "host", "pid", "tid", "ppid", "uid", "gid", "comm", "exe", "cmdline",
         "cgroup_id", "container", "container_name", "image", "pod", "k8s_namespace", "sockfd",
         "family", "type", "proto", "daddr", "scope_id",
         "dport", "saddr", "sport", "path", "abstract", "ret", "ret_name", "latency_ns", "result",
         "result_ns", "outcome", "closed_ns", "tx_bytes", "rx_bytes", "still_open"]
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    keys = list(e)
    if keys != [k for k in order if k in e] or set(keys) - set(order):
        sys.exit(f"line {n}: key order {keys}")
    fam = e["family"]
    # typed tools (ClickHouse JSONEachRow) need one type a key
    if not isinstance(fam, str) or not fam.startswith("AF_"):
        sys.exit(f"line {n}: family {fam!r} is not an AF_ string")
    if "ret" in e and e["ret"] in (0, -111, -115) and e.get("ret_name") != \
            {0: "ok", -111: "ECONNREFUSED", -115: "EINPROGRESS"}[e["ret"]]:
        sys.exit(f"line {n}: ret {e['ret']} with ret_name {e.get('ret_name')}")
    if ("ret_name" in e) and "ret" not in e:
        sys.exit(f"line {n}: ret_name without ret")
    if fam in ("AF_INET", "AF_INET6") and ("daddr" not in e or "path" in e):
        sys.exit(f"line {n}: inet event without daddr or with path")
    if fam == "AF_UNIX" and ("path" not in e or "daddr" in e or "abstract" not in e):
        sys.exit(f"line {n}: unix event shape")
    if not e["ts"].endswith("Z") or len(e["ts"]) != 30:
        sys.exit(f"line {n}: ts {e['ts']}")
    # the outcome: always there; result with it unless abandoned or unknown
    if ("result" in e) != (e["outcome"] not in ("abandoned", "unknown")):
        sys.exit(f"line {n}: result {e.get('result')} with outcome {e['outcome']}")
    if ("closed_ns" in e) != ("tx_bytes" in e) or ("closed_ns" in e and "still_open" in e):
        sys.exit(f"line {n}: closed and open")
    if ("closed_ns" in e or "still_open" in e) and e["outcome"] != "ok":
        sys.exit(f"line {n}: a connection that never opened closed")
PY
# script --json and convert --to jsonl are the same bytes.
"$CONNTRAIL" convert -q "$TMP/a.ctr" --to jsonl -o - >"$TMP/conv.jsonl" 2>/dev/null ||
	"$CONNTRAIL" convert "$TMP/a.ctr" --to jsonl -o - >"$TMP/conv.jsonl"
check "script --json == convert --to jsonl" cmp -s "$TMP/a.jsonl" "$TMP/conv.jsonl"
# Text lines agree with JSON lines on the time (to the microsecond), the
# outcome, what connect(2) returned when the handshake ended later, and the
# close.
check "text and JSON agree" python3 - "$TMP/a.txt" "$TMP/a.jsonl" <<'PY'
import json, sys
names = {0: "ok", -111: "ECONNREFUSED", -115: "EINPROGRESS", -110: "ETIMEDOUT", -13: "EACCES",
         -2: "ENOENT", -101: "ENETUNREACH", -99: "EADDRNOTAVAIL"}
named = 0
for t, j in zip(open(sys.argv[1]), open(sys.argv[2])):
    e = json.loads(j)
    # the container's name, when known, ends the line
    ctr = "  container " + e["container_name"] + "\n" if "container_name" in e else None
    if ctr:
        if not t.endswith(ctr):
            sys.exit(f"container name {e['container_name']} not at the end: {t!r}")
        t = t[:-len(ctr)] + "\n"
        named += 1
    elif "  container " in t:
        sys.exit(f"a container name without one in JSON: {t!r}")
    f = t.split()
    if f[0] != e["ts"][:26] + "Z":
        sys.exit(f"time {f[0]} vs {e['ts']}")
    if f[1] != f"{e['comm']}/{e['pid']}" and " " not in e["comm"]:
        sys.exit(f"who {f[1]} vs {e['comm']}/{e['pid']}")
    if f[4] != e["outcome"]:
        sys.exit(f"outcome {f[4]} vs {e['outcome']}: {t!r}")
    shows_ret = e.get("ret") is not None and (e.get("result") != e["ret"] or e["ret"] == -115)
    if shows_ret != ("(" + names.get(e.get("ret"), "?") in t):
        sys.exit(f"what connect returned ({e.get('ret')}) shown wrongly: {t!r}")
    if ("closed_ns" in e) != (f", tx {e.get('tx_bytes')} rx {e.get('rx_bytes')}" in t):
        sys.exit(f"close missing: {t!r}")
    if e.get("still_open", False) != t.rstrip().endswith("still open"):
        sys.exit(f"still open: {t!r}")
if not named:
    sys.exit("no event named its container")
PY

# stdin and the default file name.
expect_eq "stdin" 20000 "$("$CONNTRAIL" script -q - <"$TMP/a.ctr" | grep -vc "^#")"
cp "$TMP/a.ctr" "$TMP/conntrail.data"
expect_eq "default conntrail.data" 20000 "$(cd "$TMP" && "$CONNTRAIL" script -q | grep -vc "^#")"
expect_status "no conntrail.data" 1 bash -c "cd / && '$CONNTRAIL' script -q"

# Two hosts: merged in time order, host column and JSON host key.
"$CONNTRAIL" script -q --json "$TMP/a.ctr" "$TMP/b.ctr" >"$TMP/ab.jsonl"
expect_eq "merged lines" 30000 "$(wc -l <"$TMP/ab.jsonl")"
check "merged in time order" python3 -c '
import json, sys
ts = [json.loads(l)["ts_ns"] for l in open(sys.argv[1])]
sys.exit(ts != sorted(ts))' "$TMP/ab.jsonl"
hosts=$(jq -r .host "$TMP/ab.jsonl" | sort -u | wc -l)
"$CONNTRAIL" report -q --json "$TMP/a.ctr" "$TMP/b.ctr" >"$TMP/ab.json"
expect_eq "hosts in report" "$(jq .hosts "$TMP/ab.json")" "$hosts"

# | head: quiet, status 0.
"$CONNTRAIL" script -q "$TMP/a.ctr" "$TMP/b.ctr" 2>"$TMP/pipe.err" | head -1 >/dev/null
expect_eq "script | head status" 0 "${PIPESTATUS[0]}"
expect_eq "script | head is quiet" "" "$(cat "$TMP/pipe.err")"

# --relative starts near +0.
first=$("$CONNTRAIL" script -q --relative "$TMP/a.ctr" | grep -v '^#' | head -1 | awk '{print $1}')
check "relative time ($first)" python3 -c 'import sys; v=float(sys.argv[1]); sys.exit(not (0 <= v < 60))' "$first"

# A damaged chunk: the rest still reads, exit 0, one line says so. (Big
# enough for several event chunks of 65536.)
"$GEN" -n 140000 --seed 4 --profile mixed -o "$TMP/c.ctr" || fail "gen c"
python3 - "$TMP/c.ctr" "$TMP/bad.ctr" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
mid = len(b) // 3
for i in range(mid, mid + 64):
    b[i] ^= 0x5a
open(sys.argv[2], "wb").write(b)
PY
n=$("$CONNTRAIL" script -q "$TMP/bad.ctr" 2>"$TMP/bad.err" | grep -vc "^#")
st=$?
expect_eq "damaged: status" 0 "$st"
check "damaged: fewer events ($n)" test "$n" -lt 140000
check "damaged: other chunks still read ($n)" test "$n" -ge 65536
check "damaged: one summary line" grep -q "damaged chunk" "$TMP/bad.err"
"$CONNTRAIL" report -q --json "$TMP/bad.ctr" >"$TMP/bad.json" 2>/dev/null
check "damaged: report counts it" test "$(jq .chunks.damaged "$TMP/bad.json")" -ge 1

# Help and usage.
check "script --help examples" bash -c "'$CONNTRAIL' script --help | grep -q Examples"
check "report --help examples" bash -c "'$CONNTRAIL' report --help | grep -q Examples"
expect_status "unknown option" 2 "$CONNTRAIL" script --bogus
done_testing
