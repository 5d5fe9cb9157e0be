#!/usr/bin/env bash
# JSON and CSV that load into typed tools: family always a string (AF_<n>
# for a family without a name), IPv6 scope_id kept, ret_name beside ret,
# cmdline present; the CSV has the same columns.
. tests/lib.sh

python3 tests/cli/usability_trace.py "$TMP/u.ctr" || { fail "crafting the trace"; done_testing; }
"$CONNTRAIL" script -q --json "$TMP/u.ctr" >"$TMP/u.jsonl" || fail "script --json"
expect_eq "families are strings" '["AF_INET","AF_INET6","AF_NETLINK"]' \
	"$(jq -s -c '[.[].family] | unique' "$TMP/u.jsonl")"
expect_eq "family types" '["string"]' "$(jq -s -c '[.[].family | type] | unique' "$TMP/u.jsonl")"
expect_eq "scope_id kept" '{"daddr":"fe80::1","scope_id":4,"dport":80}' \
	"$(jq -c 'select(.family == "AF_INET6") | {daddr, scope_id, dport}' "$TMP/u.jsonl")"
check "script text shows %4" grep -q '\[fe80::1%4\]:80' <("$CONNTRAIL" script -q "$TMP/u.ctr")
expect_eq "ret_name" '["ECONNREFUSED","ok"]' "$(jq -s -c '[.[].ret_name] | unique' "$TMP/u.jsonl")"
expect_eq "ret_name beside ret" '{"ret":-111,"ret_name":"ECONNREFUSED"}' \
	"$(jq -c 'select(.ret == -111) | {ret, ret_name}' "$TMP/u.jsonl" | head -1)"
expect_eq "cmdline" '"python3 burst.py"' "$(jq -c 'select(.pid == 100) | .cmdline' "$TMP/u.jsonl" | head -1)"
"$CONNTRAIL" convert -q "$TMP/u.ctr" -o "$TMP/u.csv" || fail "convert csv"
check "CSV columns and values" python3 - "$TMP/u.csv" "$TMP/u.jsonl" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
js = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == len(js) == 10, (len(rows), len(js))
for r, j in zip(rows, js):
    for k in ("family", "scope_id", "ret", "ret_name", "cmdline", "outcome"):
        want = "" if k not in j else str(j[k])
        assert r[k] == want, (k, r[k], want)
PY
expect_eq "CSV header" "ts,ts_ns,host,pid,tid,ppid,uid,gid,comm,exe,cmdline,cgroup_id,container,sockfd,family,type,proto,daddr,scope_id,dport,saddr,sport,path,abstract,ret,ret_name,latency_ns,result,result_ns,outcome,closed_ns,tx_bytes,rx_bytes,still_open,dname,container_name,image,pod,k8s_namespace" \
	"$(head -1 "$TMP/u.csv" | tr -d '\r')"
done_testing
