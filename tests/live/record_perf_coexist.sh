#!/usr/bin/env bash
# Recording must not blind other tracers: a tracepoint's BPF programs decide
# whether perf's own events on that tracepoint see a hit, so while conntrail
# records system-wide, `perf stat` on the same tracepoints (connect, exec,
# fork) must count exactly what it counts without conntrail, and conntrail
# must still record the connects.
. tests/lib.sh
command -v perf >/dev/null || { echo "  FAIL: perf is not installed" >&2; exit 1; }
STORM=$PWD/$BUILD/tests/connstorm
cd "$TMP"
# The workload is our own helper under dash: two processes of five UDP
# connects each (ports 21001.. and 21101..), so perf's counts depend on
# nothing else installed on the machine (a pyenv shim, say, runs a tree of
# its own that differs between the first run and later ones).
cat >work.sh <<SH
"$STORM" 5 --seq 21001 >/dev/null
"$STORM" 5 --seq 21101 >/dev/null
SH
EVENTS=syscalls:sys_enter_connect,syscalls:sys_exit_connect,sched:sched_process_exec,sched:sched_process_fork
count() { # perf stat's counts, one "event count" line each
	perf stat -x, -e "$EVENTS" -- /bin/sh work.sh 2>&1 >/dev/null |
		awk -F, '$3 ~ /:/ {print $3, $1}' | sort
}
count >/dev/null # the first perf run after boot was seen to count 15 enters for 5 exits
count >alone.txt
grep -q 'syscalls:sys_enter_connect 10$' alone.txt || { echo "  alone:" >&2; cat alone.txt >&2; }
check "perf counts the workload alone" grep -q 'syscalls:sys_enter_connect 10$' alone.txt

"$CONNTRAIL" record -q -o t.ctr --duration 20 2>rec.err &
rec=$!
# Wait for record to be attached: its own probe connect is proof enough,
# give it a moment on a loaded machine.
for _ in $(seq 50); do grep -q . rec.err 2>/dev/null && break; sleep 0.1; done
sleep 2
count >during.txt
kill -INT $rec
wait $rec
expect_eq "record stopped cleanly" 0 $?
cmp -s alone.txt during.txt ||
	{ echo "  alone:" >&2; cat alone.txt >&2; echo "  during:" >&2; cat during.txt >&2; }
check "perf counts the same while conntrail records" cmp alone.txt during.txt
n=$("$CONNTRAIL" script t.ctr --filter 'comm == "connstorm" and family == inet and (dport >= 21001 and dport <= 21005 or dport >= 21101 and dport <= 21105)' | grep -vc "^#")
expect_eq "conntrail recorded the ten connects" 10 "$n"
done_testing
