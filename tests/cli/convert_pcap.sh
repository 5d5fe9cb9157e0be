#!/usr/bin/env bash
# convert --to pcap: classic pcap via libpcap, the same frames as pcapng
# (UNIX ones included), nanosecond timestamps, no comments.
source tests/lib.sh

"$GEN" -n 2000 --seed 31 --profile mixed -o "$TMP/t.ctr" --truth "$TMP/truth.json" ||
	{ fail "conntrail-gen"; done_testing; }
events=$(jq .events "$TMP/truth.json")
check "convert to .pcap" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.pcap"
check "convert to pcapng" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.pcapng"
info=$(capinfos "$TMP/t.pcap" 2>/dev/null)
grep -q "File type: *Wireshark/tcpdump/... - nanosecond pcap$" <<<"$info" || fail "not a classic nanosecond pcap"
grep -q "File encapsulation: *Ethernet" <<<"$info" || fail "encapsulation is not Ethernet"
grep -q "nanoseconds" <<<"$info" || fail "timestamps are not nanoseconds"
expect_eq "pcap packets == events" "$events" "$(tshark -r "$TMP/t.pcap" 2>/dev/null | wc -l)"
# Same frames as the pcapng: tshark's one-line summaries are identical.
check "pcap frames == pcapng frames" cmp -s <(tshark -r "$TMP/t.pcap" 2>/dev/null) \
	<(tshark -r "$TMP/t.pcapng" 2>/dev/null)
expect_eq "pcap has no comments" "0" \
	"$(tshark -r "$TMP/t.pcap" -Y frame.comment 2>/dev/null | wc -l)"
# --replies adds the answers the final outcome implies: one RST/ACK per TCP
# connect refused, one SYN/ACK per TCP connect that succeeded (at once or
# when its handshake ended), ICMP unreachable per handshake that failed so.
check "convert --replies" "$CONNTRAIL" convert -q --replies "$TMP/t.ctr" -o "$TMP/r.pcap"
refused=$("$CONNTRAIL" script "$TMP/t.ctr" --filter 'proto == tcp and result == ECONNREFUSED' | grep -vc "^#")
[ "$refused" -gt 0 ] || fail "no refused TCP connects generated"
expect_eq "RST/ACK replies == refused TCP connects" "$refused" \
	"$(tshark -r "$TMP/r.pcap" -Y 'tcp.flags.reset == 1 && tcp.flags.ack == 1' 2>/dev/null | wc -l)"
ok=$("$CONNTRAIL" script "$TMP/t.ctr" --filter 'family != unix and proto == tcp and result == ok' | grep -vc "^#")
late_ok=$("$CONNTRAIL" script "$TMP/t.ctr" --filter 'proto == tcp and result == ok and ret == EINPROGRESS' | grep -vc "^#")
[ "$late_ok" -gt 0 ] || fail "no handshakes that succeeded after EINPROGRESS generated"
expect_eq "SYN/ACK replies == successful TCP connects" "$ok" \
	"$(tshark -r "$TMP/r.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1' 2>/dev/null | wc -l)"
unreach=$("$CONNTRAIL" script "$TMP/t.ctr" --filter 'proto == tcp and ret == EINPROGRESS and (result == EHOSTUNREACH or result == ENETUNREACH)' | grep -vc "^#")
[ "$unreach" -gt 0 ] || fail "no handshakes that failed unreachable generated"
expect_eq "ICMP unreachable replies == handshakes that failed unreachable" "$unreach" \
	"$(tshark -r "$TMP/r.pcap" -Y 'icmp.type == 3 || icmpv6.type == 1' 2>/dev/null | wc -l)"
expect_eq "packets == events + replies" "$((events + refused + ok + unreach))" \
	"$(tshark -r "$TMP/r.pcap" 2>/dev/null | wc -l)"
done_testing
