#!/usr/bin/env bash
# How connects ended, in a pair of network namespaces: the connector (tests/
# helpers/connector.c) runs in namespace A, whose default route goes through
# namespace B; B forwards, answers 203.0.113.0/24 with ICMP host unreachable
# and silently drops 198.51.100.0/24, and A retries a SYN once
# (net.ipv4.tcp_syn_retries = 1), so that a dropped SYN times out in ~3 s.
# Every field of every event is checked against what the connector saw
# (poll + SO_ERROR, getsockname), then the outcomes in every output: report
# (text and JSON), script --filter result, CSV read by python's csv, Tracee
# JSON by jq, and pcapng --replies read by tshark (SYN/ACK for accepted,
# RST for refused, ICMP for unreachable, nothing for a timeout, the SYN from
# the recorded local port).
. tests/lib.sh
CONNECTOR=$PWD/$BUILD/tests/connector
A=ct-oc-a-$$
B=ct-oc-b-$$
cleanup_ns() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup_ns EXIT

setup() {
	netns_pair "$A" "$B" 10.201.0 "ct$$" &&
		ip -n "$A" route add default via 10.201.0.1 &&
		ip netns exec "$B" sysctl -qw net.ipv4.ip_forward=1 &&
		ip -n "$B" route add unreachable 203.0.113.0/24 &&
		ip -n "$B" route add blackhole 198.51.100.0/24 &&
		ip netns exec "$A" sysctl -qw net.ipv4.tcp_syn_retries=1
}
check "network namespaces set up" setup

"$CONNTRAIL" record -q -o "$TMP/t.ctr" -- ip netns exec "$A" "$CONNECTOR" "$TMP/log.jsonl" "$TMP" \
	unreachable=203.0.113.1:80 dropped=198.51.100.1:80 2>"$TMP/rec.err" &
rec_pid=$!
wait $rec_pid
expect_eq "record exit status (the command's)" 0 $?
check "record wrote nothing on stderr with -q" test ! -s "$TMP/rec.err"
"$CONNTRAIL" script --json "$TMP/t.ctr" >"$TMP/events.jsonl"
check "every field matches the connector's log" python3 tests/helpers/connector_check.py \
	"$TMP/log.jsonl" "$TMP/events.jsonl" "$rec_pid" "$CONNECTOR" 15
expect_eq "the connector saw EHOSTUNREACH from B's ICMP" "-115 -113" \
	"$(jq -r 'select(.case == "unreachable") | "\(.ret) \(.result)"' "$TMP/log.jsonl")"
expect_eq "the connector saw a dropped SYN time out" "-115 -110" \
	"$(jq -r 'select(.case == "dropped") | "\(.ret) \(.result)"' "$TMP/log.jsonl")"

# report: failures by final outcome, abandoned apart, nothing unknown.
"$CONNTRAIL" report --json "$TMP/t.ctr" >"$TMP/report.json"
expect_eq "report --json outcome classes" \
	'{"success":8,"refused":2,"timeout":2,"unreachable":1,"denied":0,"other":1,"abandoned":1,"unknown":0}' \
	"$(jq -c .results "$TMP/report.json")"
expect_eq "report --json errors by name" '{"ECONNREFUSED":2,"EHOSTUNREACH":1,"EAFNOSUPPORT":1,"ETIMEDOUT":2}' \
	"$(jq -c '.errors | to_entries | sort_by(.key) | from_entries' "$TMP/report.json" |
		jq -c '{ECONNREFUSED, EHOSTUNREACH, EAFNOSUPPORT, ETIMEDOUT}')"
"$CONNTRAIL" report "$TMP/t.ctr" >"$TMP/report.txt"
check "report text: 203.0.113.1:80 counted as failed" \
	grep -Eq '^ +1 +[0-9.]+% +203\.0\.113\.1:80 +1 +1 ' "$TMP/report.txt"
check "report text: 198.51.100.1:80 counted as failed" \
	grep -Eq '^ +1 +[0-9.]+% +198\.51\.100\.1:80 +1 +1 ' "$TMP/report.txt"
check "report text: Outcomes lists unreachable and abandoned" \
	sh -c "sed -n '/^Outcomes/,/^\$/p' '$TMP/report.txt' | grep -q 'unreachable' &&
		sed -n '/^Outcomes/,/^\$/p' '$TMP/report.txt' | grep -q 'abandoned'"

# script: the result filter and the text form.
for f in "result == EHOSTUNREACH:unreachable" "result == ETIMEDOUT:tcp4-timeout dropped" \
	"result == abandoned:tcp4-abandoned" "result == ECONNREFUSED and ret == EINPROGRESS:tcp4-nb-refused"; do
	expr=${f%%:*}
	want=${f#*:}
	got=$("$CONNTRAIL" script --json --filter "$expr" "$TMP/t.ctr" |
		python3 -c '
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
by = {(w["tid"], w["sockfd"], w.get("dport"), w.get("sport")): w["case"] for w in log}
print(" ".join(by.get((e["tid"], e["sockfd"], e.get("dport"), e.get("sport")), "?") for e in map(json.loads, sys.stdin)))' "$TMP/log.jsonl")
	expect_eq "script --filter '$expr'" "$want" "$got"
done
expect_eq "script --filter 'result == unknown' (every outcome seen)" "" \
	"$("$CONNTRAIL" script --filter 'result == unknown' "$TMP/t.ctr")"
check "script text: the unreachable connect says EHOSTUNREACH after EINPROGRESS" \
	sh -c "'$CONNTRAIL' script '$TMP/t.ctr' | grep '203.0.113.1:80' | grep -q 'EHOSTUNREACH.*(EINPROGRESS'"

# CSV (python's csv) and Tracee JSON (jq) carry the final outcome.
"$CONNTRAIL" convert "$TMP/t.ctr" --to csv -o "$TMP/t.csv"
check "CSV: result and result_ns equal script's, row by row" python3 - "$TMP/t.csv" "$TMP/events.jsonl" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
evs = [json.loads(l) for l in open(sys.argv[2])]
ok = len(rows) == len(evs)
for r, e in zip(rows, evs):
    for k in ("result", "result_ns", "sport", "tx_bytes", "rx_bytes"):
        want = "" if e.get(k) is None else str(e[k])
        if r.get(k) != want:
            print("   row", r.get("ts_ns"), k, repr(r.get(k)), "!=", repr(want))
            ok = False
sys.exit(0 if ok else 1)
PY
"$CONNTRAIL" convert "$TMP/t.ctr" --to tracee-json -o "$TMP/t.tracee"
expect_eq "Tracee JSON: the outcome argument of the unreachable connect" "EHOSTUNREACH" \
	"$(jq -r 'select(any(.args[]; .name == "remote_addr" and (.value.sin_addr? == "203.0.113.1"))) |
		.args[] | select(.name == "outcome") | .value' "$TMP/t.tracee")"

# pcapng --replies, read by tshark: what really happened, from the real port.
"$CONNTRAIL" convert "$TMP/t.ctr" --to pcapng --replies -o "$TMP/t.pcapng"
tshark -r "$TMP/t.pcapng" -T fields -E separator=, -E aggregator=";" -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst \
	-e tcp.srcport -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.reset \
	-e icmp.type -e icmp.code 2>/dev/null >"$TMP/packets.csv"
check "tshark: SYN from the recorded port; SYN/ACK, RST, ICMP or nothing by outcome" \
	python3 - "$TMP/packets.csv" "$TMP/events.jsonl" <<'PY'
import json, sys
# An ICMP error quotes the packet it answers: fields repeat (outer/inner).
pk = [[f.split(";")[0] for f in l.rstrip("\n").split(",")] for l in open(sys.argv[1])]
evs = [json.loads(l) for l in open(sys.argv[2])]
ok = True
def bad(m):
    global ok
    ok = False
    print("   ", m)
def packets(src, dst, sport, dport):
    return [p for p in pk if (p[0] or p[1]) == src and (p[2] or p[3]) == dst
            and p[4] == str(sport) and p[5] == str(dport)]
icmp = [p for p in pk if p[9] == "3"]
for e in evs:
    if e.get("proto") != "tcp":
        continue
    src, dst, sp, dp = e.get("saddr"), e["daddr"], e.get("sport"), e["dport"]
    # An unspecified local address (a blocking connect that failed) is
    # drawn from loopback for a loopback destination.
    if src in ("0.0.0.0", "::") and (dst.startswith("127.") or dst == "::1"):
        src = "::1" if dst == "::1" else "127.0.0.1"
    if sp is None:
        bad("%s:%s: no local port recorded" % (dst, dp))
        continue
    syn = [p for p in packets(src, dst, sp, dp) if p[6] == "1" and p[7] == "0"]
    back = packets(dst, src, dp, sp)
    synack = [p for p in back if p[6] == "1" and p[7] == "1"]
    rst = [p for p in back if p[8] == "1"]
    out = e.get("outcome")
    if len(syn) != 1:
        bad("%s:%s from %s:%s: %d SYNs" % (dst, dp, src, sp, len(syn)))
    want = {"ok": (1, 0), "ECONNREFUSED": (0, 1)}.get(out, (0, 0))
    if (len(synack), len(rst)) != want:
        bad("%s:%s (%s): %d SYN/ACK, %d RST, expected %s" % (dst, dp, out, len(synack), len(rst), want))
unreach = [e for e in evs if e.get("outcome") == "EHOSTUNREACH"]
if len(icmp) != len(unreach) or len(unreach) != 1:
    bad("%d ICMP unreachable packets for %d unreachable connects" % (len(icmp), len(unreach)))
elif icmp[0][10] != "1" or icmp[0][2] != unreach[0]["saddr"]:
    bad("ICMP %s not host unreachable to %s" % (icmp[0], unreach[0]["saddr"]))
sys.exit(0 if ok else 1)
PY
# A connection still open when recording stops says so (and is not closed):
# the recorded shell leaves a holder behind, connected, and exits.
python3 -c '
import os, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(l.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = l.accept(); time.sleep(60)' "$TMP/port" &
srv=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port")
cat >"$TMP/holder.py" <<PY
import socket, time
s = socket.create_connection(("127.0.0.1", $port))
open("$TMP/held", "w").close()
time.sleep(60)
PY
"$CONNTRAIL" record -q -o "$TMP/open.ctr" -- sh -c "python3 '$TMP/holder.py' & echo \$! >'$TMP/holder.pid'
	for i in \$(seq 100); do [ -e '$TMP/held' ] && exit 0; sleep 0.1; done; exit 1"
expect_eq "the holder connected before record stopped" 0 $?
expect_eq "a connection open at the end: still_open, no closed_ns" "true null 0" \
	"$("$CONNTRAIL" script --json --filter "dport == $port" "$TMP/open.ctr" | jq -r '"\(.still_open) \(.closed_ns) \(.result)"')"
kill "$(cat "$TMP/holder.pid")" $srv 2>/dev/null
done_testing
