#!/usr/bin/env bash
# pcapng: each packet's process as Wireshark 4.7's own capture writes it.
# Every EPB has epb_processid_threadid (pid, tid); with --process-info a
# Process Information Block (Wireshark custom block) precedes the first
# packet of each process and again where a pid changes process (exec, pid
# reuse, another host). tshark 4.0 does not dissect either, so an
# independent pcapng walker (tests/helpers/pcapng_procs.py) checks them
# against script --json; tshark and capinfos must read every file cleanly.
source tests/lib.sh

START=2026-01-15T09:00:00Z
python3 tests/helpers/procinfo_trace.py "$TMP/p.ctr" || { fail "crafting the trace"; done_testing; }
"$GEN" -n 3000 --seed 11 --profile mixed --start $START -o "$TMP/t.ctr" 2>/dev/null ||
	{ fail "conntrail-gen"; done_testing; }
"$GEN" -n 500 --seed 12 --profile mixed --start $START --host other -o "$TMP/u.ctr" 2>/dev/null ||
	{ fail "conntrail-gen second host"; done_testing; }

events() { "$CONNTRAIL" script --json "$@" 2>/dev/null; }
procs() { python3 tests/helpers/pcapng_procs.py "$@"; }
# tshark reads F with -V: nothing on stderr but its note on running as root.
tshark_clean() {
	local e
	tshark -r "$1" -V >/dev/null 2>"$TMP/tshark.err" || return 1
	e=$(grep -v '^Running as user "root"' "$TMP/tshark.err")
	[ -z "$e" ] || { echo "$e" | head -3 >&2; return 1; }
	capinfos "$1" >/dev/null 2>&1
}

events "$TMP/p.ctr" >"$TMP/p.jsonl"
n=$(wc -l <"$TMP/p.jsonl")
expect_eq "crafted events" "11" "$n"

# Without --process-info: pid and tid on every packet, no custom block.
check "convert" "$CONNTRAIL" convert -q "$TMP/p.ctr" -o "$TMP/p0.pcapng"
expect_eq "pid/tid of every packet" "packets=$n blocks=0 replies=0" \
	"$(procs "$TMP/p0.pcapng" "$TMP/p.jsonl")"
check "tshark -V and capinfos read it cleanly" tshark_clean "$TMP/p0.pcapng"
expect_eq "tshark: one frame per event" "$n" "$(tshark -r "$TMP/p0.pcapng" 2>/dev/null | wc -l)"

# --process-info: the block Wireshark picks for each packet is the event's
# process. pid 300 is bash, execs curl, exits and comes back as wget; pid
# 400, unknown to the process table, has threads of two names by turns
# (one block each time the name changes); pid 500 has a space and an escape
# in its path and an empty argument: 3 + 5 + 1 blocks.
check "convert --process-info" "$CONNTRAIL" convert -q --process-info "$TMP/p.ctr" -o "$TMP/p.pcapng"
expect_eq "process blocks and packets" "packets=$n blocks=9 replies=0" \
	"$(procs "$TMP/p.pcapng" "$TMP/p.jsonl")"
check "tshark -V and capinfos read --process-info cleanly" tshark_clean "$TMP/p.pcapng"
# Wireshark before 4.7 lists each block as a frame of its own (which is why
# the blocks are asked for); the packets are all there, with their comments.
expect_eq "tshark 4.0: frames = events + blocks" "$((n + 9))" \
	"$(tshark -r "$TMP/p.pcapng" 2>/dev/null | wc -l)"
expect_eq "tshark 4.0: the packets and their comments" "$n" \
	"$(tshark -r "$TMP/p.pcapng" -Y 'frame.comment contains "pid="' 2>/dev/null | wc -l)"
expect_eq "packet comment kept: the wget connect" "1" \
	"$(tshark -r "$TMP/p.pcapng" -Y 'frame.comment contains "comm=wget pid=300 "' 2>/dev/null | wc -l)"

# The walker can fail: the events of another trace do not match.
events "$TMP/u.ctr" | head -"$n" >"$TMP/other.jsonl"
expect_status "walker rejects another trace's events" 1 procs "$TMP/p.pcapng" "$TMP/other.jsonl"

# A generated trace with --replies: every packet, reply or not, has its
# process; one block per process (no pid changes process there).
check "convert --process-info --replies" "$CONNTRAIL" convert -q --process-info --replies \
	"$TMP/t.ctr" -o "$TMP/t.pcapng"
events "$TMP/t.ctr" >"$TMP/t.jsonl"
pids=$(jq -r .pid "$TMP/t.jsonl" | sort -u | wc -l)
out=$(procs "$TMP/t.pcapng" "$TMP/t.jsonl")
case "$out" in
"packets=3000 blocks=$pids replies="[1-9]*) ;;
*) fail "generated trace: '$out' (want packets=3000 blocks=$pids replies>0)" ;;
esac
check "tshark reads the generated --process-info file cleanly" tshark_clean "$TMP/t.pcapng"

# Two hosts with the same pids merged: blocks follow the host switches.
check "convert two hosts" "$CONNTRAIL" convert -q --process-info "$TMP/t.ctr" "$TMP/u.ctr" \
	-o "$TMP/m.pcapng"
events "$TMP/t.ctr" "$TMP/u.ctr" >"$TMP/m.jsonl"
out=$(procs "$TMP/m.pcapng" "$TMP/m.jsonl")
# (Alike processes of one pid on both hosts share a block: no repeats.)
mp=$(jq -r .pid "$TMP/m.jsonl" | sort -u | wc -l)
blocks=$(sed -n 's/.* blocks=\([0-9]*\) .*/\1/p' <<<"$out")
[ -n "$blocks" ] && [ "$blocks" -ge "$mp" ] ||
	fail "merged hosts: '$out' (want every packet matched, >= $mp blocks)"

expect_status "--process-info is for pcapng only" 2 \
	"$CONNTRAIL" convert -q --process-info "$TMP/p.ctr" -o "$TMP/p.csv"

done_testing
