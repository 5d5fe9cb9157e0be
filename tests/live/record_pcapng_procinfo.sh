#!/usr/bin/env bash
# pcapng --process-info on a real recording: bash connects (UDP, and TCP
# to a closed port: a refused connect, so a reply packet), then execs
# connstorm under the same pid, which connects twice. The walker
# (tests/helpers/pcapng_procs.py) finds for each packet, replies included,
# the Process Information Block Wireshark 4.7 would pick and checks it
# against script --json (pid, tid, name, path, arguments, ppid, uid), and
# tshark reads the file cleanly.
. tests/lib.sh
STORM=$PWD/$BUILD/tests/connstorm
WALK=$PWD/tests/helpers/pcapng_procs.py
cd "$TMP"
"$CONNTRAIL" record -q --compress none -o t.ctr -- bash -c \
	"echo x >/dev/udp/127.0.0.1/40011; : 2>/dev/null 3<>/dev/tcp/127.0.0.1/40012
	exec '$STORM' 2 --seq 40111 pib-marker" >storm.out 2>rec.err
expect_eq "record -- COMMAND exits 0" 0 $?
"$CONNTRAIL" script --json t.ctr >events.jsonl
pid=$(jq -r 'select(.dport == 40011) | .pid' events.jsonl)
[ -n "$pid" ] || { fail "bash's connect not recorded ($(head -c 300 rec.err))"; done_testing; }
expect_eq "connstorm ran in bash's pid" 2 \
	"$(jq -s "map(select(.pid == $pid and .comm == \"connstorm\")) | length" events.jsonl)"
check "convert --process-info --replies" "$CONNTRAIL" convert -q --process-info --replies \
	t.ctr -o t.pcapng
out=$(python3 "$WALK" t.pcapng events.jsonl)
case "$out" in
packets=*" blocks="[1-9]*" replies="[1-9]*) ;;
*) fail "walker: $out" ;;
esac
# The exec record and the connects before it are flushed together: those
# connects still name bash, the later ones connstorm.
bash_exe=$(readlink -f "$(command -v bash)")
storm_exe=$(readlink -f "$STORM")
expect_eq "bash's connects before its exec: bash's exe" "$bash_exe $bash_exe" \
	"$(jq -r -s 'map(select(.dport == 40011 or .dport == 40012) | .exe) | join(" ")' events.jsonl)"
expect_eq "connstorm's connects: its exe" "$storm_exe $storm_exe" \
	"$(jq -r -s 'map(select(.comm == "connstorm") | .exe) | join(" ")' events.jsonl)"
# A block for each program the pid ran: its name and path.
cat >block.py <<'PY'
import struct, sys
d, want = open(sys.argv[1], "rb").read(), {2: sys.argv[3].encode(), 3: sys.argv[4].encode()}
off, found = 0, False
while off < len(d):
    t, n = struct.unpack_from("<II", d, off)
    if t == 0xBAD and struct.unpack_from("<II", d, off + 8) == (32622, 3):
        elen, pid = struct.unpack_from("<II", d, off + 16)
        o, end, opts = off + 24, off + 20 + elen, {}
        while o + 4 <= end:
            c, l = struct.unpack_from("<HH", d, o)
            opts[c] = d[o + 4:o + 4 + l]
            o += 4 + (l + 3) // 4 * 4
        found |= pid == int(sys.argv[2]) and all(opts.get(k) == v for k, v in want.items())
    off += n
sys.exit(0 if found else 1)
PY
check "a block names connstorm, at its path" python3 block.py t.pcapng "$pid" connstorm "$storm_exe"
check "a block names bash, at its path" python3 block.py t.pcapng "$pid" bash "$bash_exe"
tshark -r t.pcapng -V >/dev/null 2>ts.err
expect_eq "tshark reads it cleanly" "" "$(grep -v '^Running as user "root"' ts.err)"
done_testing
