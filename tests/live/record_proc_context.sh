#!/usr/bin/env bash
# Process context: exe (and the command line, in the trace) of a process that
# was running before record started (from the /proc snapshot, traced with -p)
# and of its child started while recording (from the exec record).
. tests/lib.sh
STORM=$PWD/$BUILD/tests/connstorm
cd "$TMP"
# The early process: waits for "go", connects by itself (bash's /dev/udp),
# then starts a child that connects too.
bash -c "while [ ! -e go ]; do sleep 0.05; done
	echo x >/dev/udp/127.0.0.1/40001
	( echo x >/dev/udp/127.0.0.1/40002 )
	'$STORM' 3 --seq 40101 marker-arg >child.out
	while [ ! -e done ]; do sleep 0.05; done" &
early=$!
"$CONNTRAIL" record -q --compress none -o t.ctr -p "$early" 2>rec.err &
rec=$!
# The trace file appears once the hook is proven: then start the workload.
for _ in $(seq 200); do [ -s t.ctr ] && break; sleep 0.05; done
touch go
for _ in $(seq 200); do [ -s child.out ] && break; sleep 0.05; done
touch done
wait $early
kill -INT $rec
wait $rec
expect_eq "record stops cleanly on SIGINT" 0 $?
"$CONNTRAIL" script --json t.ctr >events.jsonl
bash_exe=$(readlink -f "$(command -v bash)")
expect_eq "early process: its connect is recorded" 1 "$(jq -s "map(select(.pid == $early and .dport == 40001)) | length" events.jsonl)"
expect_eq "early process: exe from the snapshot" "$bash_exe" "$(jq -r -s "map(select(.pid == $early)) | .[0].exe" events.jsonl)"
child=$(sed 's/.*pid=//' child.out)
expect_eq "child started while recording: 3 connects" 3 "$(jq -s "map(select(.pid == $child)) | length" events.jsonl)"
expect_eq "child: exe from its exec" "$STORM" "$(jq -r -s "map(select(.pid == $child)) | .[0].exe" events.jsonl)"
expect_eq "child: ppid is the early process" "$early" "$(jq -r -s "map(select(.pid == $child)) | .[0].ppid" events.jsonl)"
# A subshell: a fork that connects and exits without exec, likely gone
# before user space could read its /proc: the fork record names the program.
sub='map(select(.dport == 40002))'
expect_eq "subshell: its connect is recorded" 1 "$(jq -s "$sub | length" events.jsonl)"
expect_eq "subshell: a child of the early process" "$early" "$(jq -s "$sub | .[0].ppid" events.jsonl)"
check "subshell: a pid of its own" test "$(jq -s "$sub | .[0].pid" events.jsonl)" != "$early"
expect_eq "subshell: its parent's exe" "$bash_exe" "$(jq -r -s "$sub | .[0].exe" events.jsonl)"
expect_eq "subshell: its parent's command line" \
	"$(jq -r -s "map(select(.pid == $early)) | .[0].cmdline" events.jsonl)" \
	"$(jq -r -s "$sub | .[0].cmdline" events.jsonl)"
# No reader prints command lines yet; the uncompressed trace must hold them.
check "early process's command line is in the trace" grep -q 'bash -c while \[ ! -e go \]' t.ctr
check "child's command line is in the trace" grep -q "$STORM 3 --seq 40101 marker-arg" t.ctr
done_testing
