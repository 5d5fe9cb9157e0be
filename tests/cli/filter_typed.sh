#!/usr/bin/env bash
# Filters as people type them: single quotes, family names as strings and
# AF_ names, port ranges and sets, latency with units, cmdline and host;
# counts equal python's evaluation over script --json; ret == 111 is a
# usage error that suggests ECONNREFUSED.
. tests/lib.sh

"$GEN" -n 60000 --seed 21 --profile mixed -o "$TMP/m.ctr" || fail "gen mixed"
"$GEN" -n 5000 --seed 22 --profile storm -o "$TMP/s.ctr" || fail "gen storm"
"$CONNTRAIL" script -q --json "$TMP/m.ctr" "$TMP/s.ctr" >"$TMP/all.jsonl" || fail "script --json"

# name|filter expression|python predicate over an event e (lat(e): latency)
cat >"$TMP/cases" <<'CASES'
single quotes|comm == 'curl'|e["comm"] == "curl"
family string|family == "unix"|e["family"] == "AF_UNIX"
family AF name|family == 'AF_INET6'|e["family"] == "AF_INET6"
port range|dport in 1..1024|e.get("dport") is not None and 1 <= e["dport"] <= 1024
port set|dport in {53, 80, 443}|e.get("dport") in (53, 80, 443)
set with range|dport in {22, 8000..8999}|e.get("dport") is not None and (e["dport"] == 22 or 8000 <= e["dport"] <= 8999)
not in set|not dport in {53}|e.get("dport") != 53
errno set|ret in {ECONNREFUSED, ETIMEDOUT}|e.get("ret") in (-111, -110)
latency|latency > 10ms|lat(e) is not None and lat(e) > 10000000
latency range|latency in 100us..2ms|lat(e) is not None and 100000 <= lat(e) <= 2000000
cmdline|cmdline ~ '*python*'|"python" in e.get("cmdline", "")
host|host == 'storm-host'|e["host"] == "storm-host"
host glob|host ~ "gen-*" and dport == 53|e["host"].startswith("gen-") and e.get("dport") == 53
CASES

check_filter_cases "$TMP/cases" "$TMP/all.jsonl" "$TMP/m.ctr" "$TMP/s.ctr"

# host decides whole chunks: the other host's chunks are never read.
"$CONNTRAIL" script -q --stats --filter "host == 'storm-host'" "$TMP/m.ctr" "$TMP/s.ctr" \
	2>"$TMP/stats" >/dev/null
check "host skips the other host's chunks ($(cat "$TMP/stats"))" \
	grep -Eq ' [1-9][0-9]* skipped' "$TMP/stats"

# ret == 111: a usage error naming the errno to write instead.
expect_status "ret == 111" 2 "$CONNTRAIL" script -q --filter 'ret == 111' "$TMP/m.ctr"
check "ret == 111 suggests ECONNREFUSED" grep -q "ret is 0 or -errno: use ret == ECONNREFUSED" \
	"$TMP/.stderr"
expect_status "latency without a unit" 2 "$CONNTRAIL" script -q --filter 'latency > 10' "$TMP/m.ctr"
check "latency asks for a unit" grep -q "with a unit" "$TMP/.stderr"
expect_status "unterminated set" 2 "$CONNTRAIL" script -q --filter 'dport in {53, 80' "$TMP/m.ctr"
check "set error has a caret" grep -q '\^' "$TMP/.stderr"
done_testing
