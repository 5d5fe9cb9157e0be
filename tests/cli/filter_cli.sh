#!/usr/bin/env bash
# --filter on the command line: counts equal python's evaluation of the same
# predicate over the full script --json output; selective filters skip
# chunks; bad filters exit 2 with a caret under the offending column.
. tests/lib.sh

"$GEN" -n 250000 --seed 9 --profile mixed -o "$TMP/f.ctr" || { fail "generator"; done_testing; }
"$CONNTRAIL" script -q --json "$TMP/f.ctr" >"$TMP/all.jsonl" || fail "script --json"

# A rare destination (appears in few chunks) and the commonest one.
read -r rare_addr rare_port common_comm < <(python3 - "$TMP/all.jsonl" <<'PY'
import collections, json, sys
d = collections.Counter(); c = collections.Counter()
for l in open(sys.argv[1]):
    e = json.loads(l)
    c[e["comm"]] += 1
    if e["family"] == "AF_INET":
        d[(e["daddr"], e["dport"])] += 1
(addr, port), _ = min(d.items(), key=lambda kv: (kv[1], kv[0]))
print(addr, port, c.most_common(1)[0][0])
PY
)

# name|filter expression|python predicate over an event e
cat >"$TMP/cases" <<CASES
rare daddr|daddr == $rare_addr|e.get("daddr") == "$rare_addr"
rare dest|daddr == $rare_addr and dport == $rare_port|e.get("daddr") == "$rare_addr" and e.get("dport") == $rare_port
comm|comm == "$common_comm"|e["comm"] == "$common_comm"
comm glob|comm ~ "s*"|e["comm"].startswith("s")
not ok|not ret == 0|e.get("ret") != 0
refused or timeout|ret == ECONNREFUSED or ret == ETIMEDOUT|e.get("ret") in (-111, -110)
cidr v4|daddr in 10.0.0.0/8|e["family"] == "AF_INET" and e["daddr"].startswith("10.")
loopback v4|daddr in 127.0.0.0/8 and dport == 53|e["family"] == "AF_INET" and e["daddr"].startswith("127.") and e.get("dport") == 53
cidr v6|daddr in 2001:db8::/32|e["family"] == "AF_INET6" and e["daddr"].startswith("2001:db8:")
unix glob|family == unix and path ~ "/run/*"|e["family"] == "AF_UNIX" and e["path"].startswith("/run/")
abstract|path ~ "@*"|e.get("abstract") is True
inet6|family == inet6|e["family"] == "AF_INET6"
ports|dport >= 1024 and dport < 10000|e.get("dport") is not None and 1024 <= e["dport"] < 10000
precedence|comm == "curl" or comm == "ssh" and dport == 22|e["comm"] == "curl" or (e["comm"] == "ssh" and e.get("dport") == 22)
parens|(comm == "curl" or comm == "ssh") and dport == 22|e["comm"] in ("curl", "ssh") and e.get("dport") == 22
uid|uid == 0|e["uid"] == 0
pid range|pid > 1100 and pid <= 1200|1100 < e["pid"] <= 1200
exe|exe ~ "/usr/sbin/*"|e.get("exe", "").startswith("/usr/sbin/")
container|container ~ "*"|"container" in e
stream|type == stream and proto == tcp|e.get("type") == "SOCK_STREAM" and e.get("proto") == "tcp"
CASES

check_filter_cases "$TMP/cases" "$TMP/all.jsonl" "$TMP/f.ctr"

# A rare destination is in few chunks: the index skips the others.
"$CONNTRAIL" report -q --json --filter "daddr == $rare_addr and dport == $rare_port" "$TMP/f.ctr" >"$TMP/rare.json"
total=$(jq .chunks.total "$TMP/rare.json")
skipped=$(jq .chunks.skipped "$TMP/rare.json")
read_=$(jq .chunks.read "$TMP/rare.json")
check "trace has several chunks ($total)" test "$total" -ge 4
check "rare address skips chunks (skipped $skipped of $total)" test "$skipped" -gt 0
expect_eq "read + skipped = total" "$total" "$((read_ + skipped))"
# script --stats says the same on stderr.
"$CONNTRAIL" script -q --stats --filter "daddr == $rare_addr" "$TMP/f.ctr" 2>"$TMP/stats" >/dev/null
check "--stats line" grep -q "skipped" "$TMP/stats"

# Bad filters: exit 2, one line naming --filter, the expression, a caret.
expect_status "unknown field" 2 "$CONNTRAIL" report --filter 'dprot == 443' "$TMP/f.ctr"
expect_eq "unknown field message" "conntrail report: bad --filter: unknown field 'dprot'" "$(head -1 "$TMP/.stderr")"
expect_eq "expression line" "  dprot == 443" "$(sed -n 2p "$TMP/.stderr")"
expect_eq "caret line" "  ^" "$(sed -n 3p "$TMP/.stderr")"
expect_status "caret in the middle" 2 "$CONNTRAIL" script --filter 'comm == "curl" and dport == http' "$TMP/f.ctr"
expect_eq "caret column" "$(printf "%30s" "")^" "$(sed -n 3p "$TMP/.stderr")"
check "message names the value" grep -q "dport takes a number, not 'http'" "$TMP/.stderr"
expect_status "unbalanced" 2 "$CONNTRAIL" script --filter '(pid == 1' "$TMP/f.ctr"
expect_status "bad cidr" 2 "$CONNTRAIL" script --filter 'daddr in 10.0.0.0/40' "$TMP/f.ctr"
expect_status "bad errno" 2 "$CONNTRAIL" script --filter 'ret == ENOTANERRNO' "$TMP/f.ctr"
# Usage errors win over missing files; missing files exit 1 naming the file.
expect_status "bad filter, missing file" 2 "$CONNTRAIL" script --filter 'x' "$TMP/nope.ctr"
expect_status "missing file" 1 "$CONNTRAIL" script "$TMP/nope.ctr"
check "missing file named" grep -q "nope.ctr" "$TMP/.stderr"
expect_eq "one line for a missing file" 1 "$(wc -l <"$TMP/.stderr")"
expect_status "bad --by" 2 "$CONNTRAIL" report --by colour "$TMP/f.ctr"
expect_status "bad --top" 2 "$CONNTRAIL" report --top -3 "$TMP/f.ctr"
done_testing
