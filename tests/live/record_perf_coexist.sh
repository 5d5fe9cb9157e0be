#!/usr/bin/env bash
# Recording must not blind other tracers: a tracepoint's BPF programs decide
# whether perf's own events on that tracepoint see a hit, so while conntrail
# records system-wide, `perf stat` on the same tracepoints (connect, exec,
# fork) must count exactly what it counts without conntrail, and conntrail
# must still record the connects.
. tests/lib.sh
command -v perf >/dev/null || { echo "  FAIL: perf is not installed" >&2; exit 1; }
cd "$TMP"
cat >work.sh <<'SH'
for i in 1 2 3 4 5; do
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("127.0.0.1", 9))'
done
SH
EVENTS=syscalls:sys_enter_connect,syscalls:sys_exit_connect,sched:sched_process_exec,sched:sched_process_fork
count() { # perf stat's counts, one "event count" line each
	perf stat -x, -e "$EVENTS" -- sh work.sh 2>&1 >/dev/null |
		awk -F, '$3 ~ /:/ {print $3, $1}' | sort
}
count >alone.txt
check "perf counts the workload alone" grep -q 'syscalls:sys_enter_connect 5$' alone.txt

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
check "perf counts the same while conntrail records" cmp alone.txt during.txt ||
	{ echo "  alone:" >&2; cat alone.txt >&2; echo "  during:" >&2; cat during.txt >&2; }
n=$("$CONNTRAIL" script t.ctr --filter 'comm == "python3" and dport == 9 and family == inet' | wc -l)
expect_eq "conntrail recorded the five connects" 5 "$n"
done_testing
