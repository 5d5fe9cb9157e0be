#!/usr/bin/env bash
# DNS names (issue 15): a DNS server of our own (tests/helpers/dnsd.py) on
# 127.0.0.1:53 of a private network namespace answers with loopback
# addresses: an A, a CNAME chain, an AAAA, one over TCP, one with a 1-second
# TTL, and hostile answers (a compression-pointer loop, an rdlength past the
# end, 255 labels). The client (tests/helpers/dns_client.py) asks it itself
# and connects to what it got, then to an address nobody resolved, and to
# the short-TTL address again long after its answer expired. Every output
# must show the right name for each connect, none for the unresolved
# address and none for the stale answer (pcapng excepted: a Name Resolution
# Block has no time, so Wireshark names the address in every packet); the
# hostile answers leave record running and the trace readable.
. tests/lib.sh
NS=ct-dns-$$
cleanup_ns() {
	[ -n "${dns_pid:-}" ] && kill "$dns_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup_ns EXIT
check "network namespace set up" sh -c "ip netns add $NS && ip -n $NS link set lo up"
ip netns exec "$NS" python3 tests/helpers/dnsd.py 127.0.0.1 "$TMP/ready" &
dns_pid=$!
check "the DNS server is up" wait_until 30 test -e "$TMP/ready"

"$CONNTRAIL" record -o "$TMP/t.ctr" -- ip netns exec "$NS" python3 tests/helpers/dns_client.py \
	127.0.0.1 query=evilloop.ct.test query=evillen.ct.test query=evil255.ct.test \
	name=a.ct.test name=alias.ct.test name=six.ct.test name=tcp:tcp.ct.test addr=127.0.0.13 \
	name=stale.ct.test sleep=7 addr=127.0.0.15 >"$TMP/log.txt" 2>"$TMP/rec.err"
expect_eq "record exit status (the command's)" 0 $?
check "record counted the hostile answers as malformed" \
	grep -q "^conntrail record: 3 malformed DNS answers ignored" "$TMP/rec.err"
check "record wrote the good answers as name records" \
	grep -Eq "^conntrail record: [5-9] DNS answers" "$TMP/rec.err"
expect_eq "the client connected 7 times" 7 "$(wc -l <"$TMP/log.txt")"
port=$(awk 'NR == 1 {print $3}' "$TMP/log.txt")

# What each connect must be named: "-" none (never resolved, or stale).
cat >"$TMP/want.txt" <<W
a.ct.test 127.0.0.11
alias.ct.test 127.0.0.12
six.ct.test ::1
tcp.ct.test 127.0.0.14
- 127.0.0.13
stale.ct.test 127.0.0.15
- 127.0.0.15
W
check "the client saw the expected answers" \
	cmp -s "$TMP/want.txt" <(awk '{print $1, $2}' "$TMP/log.txt")

# script --json: dname of every connect to the client's port, in order.
check "script --json" sh -c "'$CONNTRAIL' script --json '$TMP/t.ctr' >'$TMP/s.jsonl'"
expect_eq "script --json: dname of each connect" "$(awk '{print $1, $2}' "$TMP/want.txt" | tr '\n' ';')" \
	"$(jq -r "select(.dport == $port) | \"\(.dname // \"-\") \(.daddr)\"" "$TMP/s.jsonl" | tr '\n' ';')"
# script text: "name (address):port", the bare address without one.
"$CONNTRAIL" script "$TMP/t.ctr" >"$TMP/s.txt"
for d in "a.ct.test (127.0.0.11):$port" "alias.ct.test (127.0.0.12):$port" \
	"six.ct.test (::1):$port" "tcp.ct.test (127.0.0.14):$port" \
	"stale.ct.test (127.0.0.15):$port" " 127.0.0.13:$port " " 127.0.0.15:$port "; do
	check "script text shows '$d'" grep -qF -- "$d" "$TMP/s.txt"
done
# JSONL is script --json; CSV's dname column; Tracee's dst_dns.
"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/c.jsonl"
check "convert jsonl == script --json" cmp -s "$TMP/s.jsonl" "$TMP/c.jsonl"
"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/c.csv"
expect_eq "CSV: dname of each connect" "$(awk '{print $1, $2}' "$TMP/want.txt" | tr '\n' ';')" \
	"$(python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
print("".join("%s %s;" % (r["dname"] or "-", r["daddr"]) for r in rows if r["dport"] == sys.argv[2]), end="")' \
		"$TMP/c.csv" "$port")"
"$CONNTRAIL" convert -q "$TMP/t.ctr" --to tracee-json -o "$TMP/c.tracee.json"
expect_eq "Tracee JSON: dst_dns of each connect" "a.ct.test;alias.ct.test;six.ct.test;tcp.ct.test;-;stale.ct.test;-;" \
	"$(jq -r "select(any(.args[]; .name == \"remote_addr\" and ((.value.sin_port // .value.sin6_port) == \"$port\"))) |
		([.args[] | select(.name == \"dst_dns\") | .value[0]] | first // \"-\")" "$TMP/c.tracee.json" | tr '\n' ';')"
# The filter, with its push-down, and report.
expect_eq "filter dname == a.ct.test" "127.0.0.11" \
	"$("$CONNTRAIL" script --json --filter 'dname == "a.ct.test"' "$TMP/t.ctr" | jq -r .daddr)"
expect_eq "filter dname ~ *.ct.test" 5 \
	"$("$CONNTRAIL" script --json --filter 'dname ~ "*.ct.test"' "$TMP/t.ctr" | wc -l)"
"$CONNTRAIL" report "$TMP/t.ctr" >"$TMP/r.txt"
check "report: destination rows with names" grep -qF "alias.ct.test (127.0.0.12):$port" "$TMP/r.txt"
check "report: the Names section" grep -q "^Names" "$TMP/r.txt"
expect_eq "report --by name --json: connects per name" \
	'a.ct.test=1 alias.ct.test=1 six.ct.test=1 stale.ct.test=1 tcp.ct.test=1 ' \
	"$("$CONNTRAIL" report --by name --json "$TMP/t.ctr" |
		jq -j '.names | sort_by(.name)[] | "\(.name)=\(.connects) "')"
# pcapng: Name Resolution Blocks, read by tshark without a warning.
"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/c.pcapng"
tshark -r "$TMP/c.pcapng" -N n -T fields -e ip.dst -e ip.dst_host -e ipv6.dst_host -e tcp.dstport \
	-Y "tcp.dstport == $port" >"$TMP/tshark.txt" 2>"$TMP/tshark.err"
check "tshark read the pcapng without warnings" sh -c "! grep -v 'Running as user' '$TMP/tshark.err' | grep -q ."
for d in "127.0.0.11 a.ct.test" "127.0.0.12 alias.ct.test" "127.0.0.14 tcp.ct.test" \
	"127.0.0.13 127.0.0.13" "127.0.0.15 stale.ct.test"; do
	check "tshark: ip.dst_host of ${d% *} is ${d#* }" \
		grep -qP "^${d% *}\t${d#* }\t\t$port\$" "$TMP/tshark.txt"
done
check "tshark: ipv6.dst_host of ::1 is six.ct.test" grep -qP "^\t\tsix.ct.test\t$port\$" "$TMP/tshark.txt"
check "info reads the whole trace" sh -c "'$CONNTRAIL' info '$TMP/t.ctr' >/dev/null"
done_testing
