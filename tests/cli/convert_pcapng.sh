#!/usr/bin/env bash
# convert --to pcapng, read back by tshark (and capinfos): one packet per
# event, display-filter counts equal to script --filter counts, process
# comments, UNIX connects, checksums, header metadata and interface drops.
source tests/lib.sh

START=2026-01-15T09:00:00Z
"$GEN" -n 3000 --seed 11 --profile mixed --start $START -o "$TMP/t.ctr" --truth "$TMP/truth.json" ||
	{ fail "conntrail-gen"; done_testing; }
# Large enough for the generator's lost-event records (seed 3: 3 of them).
"$GEN" -n 200000 --seed 3 --profile mixed -o "$TMP/lossy.ctr" --truth "$TMP/lossy.json" ||
	{ fail "conntrail-gen lossy"; done_testing; }

check "convert exits 0" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.pcapng"
events=$("$CONNTRAIL" script --json "$TMP/t.ctr" | grep -vc "^#")
expect_eq "events in the trace" "$(jq .events "$TMP/truth.json")" "$events"

ts() { tshark -r "$TMP/t.pcapng" "$@" 2>/dev/null; }
expect_eq "tshark packet count == events" "$events" "$(ts | wc -l)"
expect_eq "file mode" "600" "$(stat -c %a "$TMP/t.pcapng")"

# Display filters agree with conntrail's own filter language.
count_script() { "$CONNTRAIL" script "$TMP/t.ctr" --filter "$1" | grep -vc "^#"; }
count_ts() { ts -Y "$1" | wc -l; }
dst4=$("$CONNTRAIL" script --json "$TMP/t.ctr" --filter 'family == inet and proto == tcp' |
	jq -r .daddr | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
dst6=$("$CONNTRAIL" script --json "$TMP/t.ctr" --filter 'family == inet6' |
	jq -r .daddr | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
[ -n "$dst4" ] && [ -n "$dst6" ] || fail "no IPv4/IPv6 destinations in the generated trace"
n=$(count_script "daddr == $dst4")
[ "$n" -gt 0 ] || fail "filter daddr == $dst4 matched nothing"
expect_eq "ip.dst == $dst4" "$n" "$(count_ts "ip.dst == $dst4")"
expect_eq "ipv6.dst == $dst6" "$(count_script "daddr == $dst6")" "$(count_ts "ipv6.dst == $dst6")"
n=$(count_script 'proto == tcp and dport == 443')
[ "$n" -gt 0 ] || fail "no TCP 443 connects generated"
expect_eq "tcp.dstport == 443" "$n" "$(count_ts 'tcp.dstport == 443')"
expect_eq "udp.dstport == 53" "$(count_script 'proto == udp and dport == 53')" \
	"$(count_ts 'udp.dstport == 53')"
expect_eq "SYN count == TCP connects" "$(count_script 'family != unix and proto == tcp')" \
	"$(count_ts 'tcp.flags.syn == 1 && tcp.flags.ack == 0')"
# Each TCP connect is its own conversation: no SYN that Wireshark would take
# for a retransmission of an earlier one.
expect_eq "no TCP retransmissions" "0" "$(count_ts 'tcp.analysis.retransmission')"

# Every packet carries its process; compare the first event's comment text,
# in the order a person reads it: comm, pid, result, destination first.
first=$("$CONNTRAIL" script --json "$TMP/t.ctr" | head -1)
pid=$(jq -r .pid <<<"$first")
comm=$(jq -r .comm <<<"$first")
# The first comment is for people; the second one ("conntrail/1 " and the
# JSON line) is for the plugin.
comments() { ts -T fields -E occurrence=f -e frame.comment "$@"; }
c1=$(comments -c 1)
dest="$(jq -r .daddr <<<"$first"):$(jq -r .dport <<<"$first")"
[[ "$(jq -r .family <<<"$first")" == AF_INET6 ]] && dest="[$(jq -r .daddr <<<"$first")]:$(jq -r .dport <<<"$first")"
case "$c1" in
"comm=$comm pid=$pid result=$(jq -r .outcome <<<"$first") dest=$dest "*"tid="*"uid="*) ;;
*) fail "first packet comment '$c1' (want comm=$comm pid=$pid result=.. dest=$dest ...)" ;;
esac
exe=$(jq -r '.exe // empty' <<<"$first")
[ -z "$exe" ] || [[ "$c1" == *" exe=$exe "* ]] || fail "comment lacks exe=$exe: $c1"
expect_eq "comments on every packet" "$events" "$(comments | grep -c '^comm=[^ ]* pid=[0-9]* result=[^ ]* \(dest\|path\|family\)=')"
# The comment's documented shape: no ppid/gid (the JSON has them), a hex
# container id cut to the 12 digits docker ps shows, on exactly its packets.
expect_eq "no ppid/gid in comments" "0" "$(comments | grep -c 'ppid=\|gid=')"
# The plugin's comment on every IP frame: "conntrail/1 " and a JSON object
# whose keys are script --json's, with the same values; the process part
# (ppid, exe, cmdline, ...) only on a thread's first packet.
"$CONNTRAIL" script --json "$TMP/t.ctr" | jq -c 'select(.family == "AF_INET" or .family == "AF_INET6")' >"$TMP/ip.jsonl"
expect_eq "IP frames with a conntrail/1 JSON comment" "$(wc -l <"$TMP/ip.jsonl")" \
	"$(count_ts 'eth.type != 0x88b5 && frame.comment matches "^conntrail/1 \\{\"(host|pid)\":"')"
ts -Y 'eth.type != 0x88b5' -T fields -E occurrence=l -e frame.comment | sed 's/^conntrail\/1 //' >"$TMP/ip.plugin.jsonl"
bad=$(jq -c -n --slurpfile a "$TMP/ip.jsonl" --slurpfile b "$TMP/ip.plugin.jsonl" \
	'[range(0; $a | length) as $i | select(($b[$i] | to_entries | all(.value == $a[$i][.key])) | not)] | length')
expect_eq "plugin JSON values == script --json values (first 3000 frames)" "0" "$bad"
expect_eq "plugin JSON: always pid, tid, comm, outcome" "0" \
	"$(jq -c 'select(.pid == null or .tid == null or .comm == null or .outcome == null)' "$TMP/ip.plugin.jsonl" | wc -l)"
threads=$(jq -r '"\(.host) \(.pid) \(.tid)"' "$TMP/ip.jsonl" | sort -u | wc -l)
full=$(jq -c 'select(.ppid != null)' "$TMP/ip.plugin.jsonl" | wc -l)
[ "$full" -ge "$threads" ] && [ "$full" -lt "$(wc -l <"$TMP/ip.jsonl")" ] ||
	fail "process part on $full frames for $threads threads (want >= one each, not on all)"
cont=$("$CONNTRAIL" script --json "$TMP/t.ctr" | jq -r '.container // empty' | sort | uniq -c |
	sort -rn | awk 'NR==1{print $2}')
if [[ "$cont" =~ ^[0-9a-f]{13,}$ ]]; then
	expect_eq "container=${cont:0:12} comments" \
		"$("$CONNTRAIL" script --json "$TMP/t.ctr" | jq -r '.container // empty' | grep -cxF "$cont")" \
		"$(count_ts "frame.comment contains \"container=${cont:0:12} \"")"
	expect_eq "no full container id in the readable comments" "0" \
		"$(comments | grep -c "$cont")"
else
	fail "no long hex container id in the generated trace ('$cont')"
fi
n=$(count_script 'result == ECONNREFUSED')
[ "$n" -gt 0 ] || fail "no ECONNREFUSED generated"
expect_eq "result=ECONNREFUSED comments" "$n" \
	"$(count_ts 'frame.comment contains "result=ECONNREFUSED"')"

# UNIX connects: their own ethertype, the path in the comment and payload.
nunix=$(count_script 'family == unix')
[ "$nunix" -gt 0 ] || fail "no UNIX connects generated"
expect_eq "eth.type == 0x88b5 == UNIX connects" "$nunix" "$(count_ts 'eth.type == 0x88b5')"
path=$("$CONNTRAIL" script --json "$TMP/t.ctr" --filter 'family == unix and abstract == false' 2>/dev/null |
	jq -r .path | grep -v '^@' | head -1)
if [ -z "$path" ]; then
	path=$("$CONNTRAIL" script --json "$TMP/t.ctr" --filter 'family == unix' | jq -r .path |
		grep -v '^@' | head -1)
fi
if [ -n "$path" ]; then
	want=$("$CONNTRAIL" script --json "$TMP/t.ctr" --filter 'family == unix' |
		jq -r .path | grep -cxF "$path")
	expect_eq "frame.comment contains path=$path" "$want" \
		"$(count_ts "frame.comment contains \"path=$path \" || frame.comment matches \"path=${path//./\\\\.}\$\"")"
	expect_eq "payload holds path $path" "$want" \
		"$(count_ts "eth.type == 0x88b5 && frame contains \"\\\"path\\\":\\\"$path\\\"\"")"
else
	fail "no named UNIX path in the generated trace"
fi

# No checksum errors with validation switched on.
bad=$(ts -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
	-Y 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || _ws.malformed' |
	wc -l)
expect_eq "packets with bad checksums or malformed" "0" "$bad"

# --replies: the answers each outcome implies, as inbound frames (MACs
# swapped), checksums valid, and still no SYN taken for a retransmission.
check "convert --replies" "$CONNTRAIL" convert -q --replies "$TMP/t.ctr" -o "$TMP/r.pcapng"
tsr() { tshark -r "$TMP/r.pcapng" "$@" 2>/dev/null; }
ok=$(count_script 'family != unix and proto == tcp and result == ok')
[ "$ok" -gt 0 ] || fail "no successful TCP connects generated"
expect_eq "SYN/ACK replies == successful TCP connects" "$ok" \
	"$(tsr -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1 && eth.src == 02:00:00:00:00:02' | wc -l)"
expect_eq "RST/ACK replies == refused TCP connects" \
	"$(count_script 'family != unix and proto == tcp and result == ECONNREFUSED')" \
	"$(tsr -Y 'tcp.flags.reset == 1 && tcp.flags.ack == 1 && eth.dst == 02:00:00:00:00:01' | wc -l)"
bad=$(tsr -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
	-Y 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad" || _ws.malformed' |
	wc -l)
expect_eq "--replies: packets with bad checksums or malformed" "0" "$bad"
expect_eq "--replies: no TCP retransmissions" "0" "$(tsr -Y 'tcp.analysis.retransmission' | wc -l)"
replies=$(tsr -Y 'eth.src == 02:00:00:00:00:02' | wc -l)
[ "$replies" -gt "$ok" ] || fail "--replies: $replies replies for $ok successful connects"
expect_eq "--replies: every reply says it was synthesized, and what it stands for" "$replies" \
	"$(tsr -Y 'eth.src == 02:00:00:00:00:02 && frame.comment matches "^synthesized by conntrail, not captured: comm=[^ ]+ pid=[0-9]+ result=[A-Za-z]+ result_ns=[0-9]+$"' | wc -l)"
expect_eq "--replies: every reply's JSON says synthesized" "$replies" \
	"$(tsr -Y 'eth.src == 02:00:00:00:00:02 && frame.comment matches "^conntrail/1 \\{\"synthesized\":true,"' | wc -l)"
# A reply is stamped when the outcome came, so the capture stays in time order.
expect_eq "--replies: frames in time order" "0" "$(tsr -Y 'frame.time_delta < 0' | wc -l)"
late=$(count_script 'proto == tcp and ret == EINPROGRESS and result == ok')
[ "$late" -gt 0 ] || fail "no handshake that succeeded after EINPROGRESS"
ev=$("$CONNTRAIL" script --json "$TMP/t.ctr" --filter 'proto == tcp and ret == EINPROGRESS and result == ok' | head -1)
ev_ts=$(grep -o '"ts_ns":[0-9]*' <<<"$ev" | cut -d: -f2)
ev_rns=$(grep -o '"result_ns":[0-9]*' <<<"$ev" | cut -d: -f2)
# the frame right after the reply's time; tshark prints epoch seconds with 9 digits
want=$(printf '%d.%09d' $(((ev_ts + ev_rns) / 1000000000)) $(((ev_ts + ev_rns) % 1000000000)))
expect_eq "--replies: a handshake's SYN/ACK is stamped at ts + result_ns" "1" \
	"$(tsr -T fields -e frame.time_epoch -Y "eth.src == 02:00:00:00:00:02 && frame.comment contains \"result_ns=$ev_rns\"" | grep -c "^$want")"

# Nothing made up where nothing was on the wire: an error connect(2)
# returned itself (no route, EACCES from a hook) gets no reply, ICMP only
# for a handshake that failed unreachable later, and never from the target.
n=$(count_script 'family != unix and proto == tcp and ret == ENETUNREACH')
[ "$n" -gt 0 ] || fail "no local ENETUNREACH generated"
[ "$(count_script 'family != unix and proto == tcp and ret == EACCES')" -gt 0 ] || fail "no EACCES generated"
expect_eq "--replies: ICMP errors == handshakes that failed unreachable after EINPROGRESS" \
	"$(count_script 'proto == tcp and ret == EINPROGRESS and (result == EHOSTUNREACH or result == ENETUNREACH)')" \
	"$(tsr -Y 'icmp.type == 3 || icmpv6.type == 1' | wc -l)"
expect_eq "--replies: no ICMP error sent by the destination it quotes" "0" \
	"$(tsr -Y '(icmp.type == 3 && ip.src == ip.dst#2) || (icmpv6.type == 1 && ipv6.src == ipv6.dst#2)' | wc -l)"
expect_eq "--replies: no reply of any kind to a connect that failed locally" "0" \
	"$(tsr -Y 'eth.src == 02:00:00:00:00:02 && frame.comment matches "result=(EACCES|EPERM|ETIMEDOUT|abandoned|unknown) "' | wc -l)"
expect_eq "--replies: ENETUNREACH replies only for handshakes that failed so later" \
	"$(count_script 'proto == tcp and ret == EINPROGRESS and result == ENETUNREACH')" \
	"$(tsr -Y 'eth.src == 02:00:00:00:00:02 && frame.comment contains "result=ENETUNREACH "' | wc -l)"
# Strictly time-ordered, with and without --replies.
for f in t r; do
	capinfos -o "$TMP/$f.pcapng" 2>/dev/null | grep -q "Strict time order: *True" ||
		fail "$f.pcapng is not strictly time-ordered"
done

# Sources: the recorded local address, loopback for loopback destinations,
# else unspecified; never 0.0.0.0 towards 127.0.0.0/8.
n=$(count_script 'family == inet and daddr in 127.0.0.0/8')
[ "$n" -gt 0 ] || fail "no loopback destinations generated"
expect_eq "loopback destinations have a loopback source" "$n" \
	"$(count_ts 'eth.src == 02:00:00:00:00:01 && ip.dst == 127.0.0.0/8 && ip.src == 127.0.0.0/8')"
# SYNs as Linux sends them: MSS, SACK-permitted, timestamps, window scale.
nsyn=$(count_script 'family != unix and proto == tcp')
expect_eq "SYNs with MSS, SACK_PERM, timestamps and window scale 7" "$nsyn" \
	"$(count_ts 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.options.mss_val && tcp.options.sack_perm && tcp.options.timestamp.tsval && tcp.options.wscale.shift == 7')"
grep -q "Capture length = 262144" <<<"$(capinfos "$TMP/t.pcapng" 2>/dev/null)" ||
	fail "IDB snaplen is not 262144"

# Nanosecond timestamps equal to the events' ts.
# (capinfos -S prints all nine digits; tshark's frame.time_epoch is a double.)
want_ts=$(grep -o '"ts_ns":[0-9]*' <<<"$first" | cut -d: -f2) # jq would round it
got_ts=$(capinfos -a -S "$TMP/t.pcapng" 2>/dev/null | awk '/First packet time/{print $NF}' | tr -d .)
expect_eq "first packet time (ns)" "$want_ts" "$got_ts"

# Header metadata (capinfos): application, host as interface name, comment.
info=$(capinfos "$TMP/t.pcapng" 2>/dev/null)
grep -q "Capture application: *$("$CONNTRAIL" --version)$" <<<"$info" || fail "shb_userappl missing"
grep -q "Time precision = nanoseconds (9)" <<<"$info" || fail "if_tsresol 9 missing"
host=$("$CONNTRAIL" script --json "$TMP/t.ctr" | head -1 | jq -r .host)
grep -q "Name = $host" <<<"$info" || fail "interface not named after host $host"
grep -q "backend=generated" <<<"$info" || fail "SHB comment lacks the backend"
grep -q "Number of stat entries = 1" <<<"$info" || fail "no interface statistics block"

# Lost events: isb_ifdrop. tshark 4.0/capinfos show that an ISB exists but
# not its counters, so read them with a small independent pcapng walker.
check "convert lossy trace" "$CONNTRAIL" convert -q "$TMP/lossy.ctr" -o "$TMP/lossy.pcapng"
lost=$(jq .lost "$TMP/lossy.json")
[ "$lost" -gt 0 ] || fail "the generator wrote no lost events"
ifdrop=$(python3 - "$TMP/lossy.pcapng" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, drop = 0, 0
while off + 12 <= len(d):
    t, l = struct.unpack_from('<II', d, off)
    assert l >= 12 and l % 4 == 0 and off + l <= len(d), 'bad block length'
    if t == 5:
        o = off + 20
        while o + 4 <= off + l - 4:
            code, olen = struct.unpack_from('<HH', d, o)
            if code == 0:
                break
            if code == 5:
                drop += struct.unpack_from('<Q', d, o + 4)[0]
            o += 4 + (olen + 3) // 4 * 4
    off += l
print(drop)
PY
)
expect_eq "isb_ifdrop == lost events" "$lost" "$ifdrop"
expect_eq "lossy: packets == events" "$(jq .events "$TMP/lossy.json")" \
	"$(capinfos -c -M "$TMP/lossy.pcapng" 2>/dev/null | awk '/Number of packets/{print $NF}')"

# Several inputs merge in time order, one interface per host.
"$GEN" -n 500 --seed 12 --profile mixed --start $START -o "$TMP/u.ctr" ||
	fail "conntrail-gen second trace"
check "convert two inputs" "$CONNTRAIL" convert -q "$TMP/t.ctr" "$TMP/u.ctr" -o "$TMP/m.pcapng"
expect_eq "merged packet count" "$((events + 500))" \
	"$(tshark -r "$TMP/m.pcapng" 2>/dev/null | wc -l)"
capinfos -o "$TMP/m.pcapng" 2>/dev/null | grep -q "Strict time order: *True" ||
	fail "merged pcapng is not in time order"

done_testing
