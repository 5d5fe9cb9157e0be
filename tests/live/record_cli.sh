#!/usr/bin/env bash
# record's command line: one-line errors with the right exit status, the
# perf-style .old file, -o - streaming, --duration, SIGINT on a system-wide
# recording, and --cgroup filtering.
. tests/lib.sh
CONNECTOR=$PWD/$BUILD/tests/connector
STORM=$PWD/$BUILD/tests/connstorm
cd "$TMP"

# Usage errors: exit 2, one line naming the argument.
expect_status "unknown option" 2 "$CONNTRAIL" record --bogus -- true
expect_status "bad backend name" 2 "$CONNTRAIL" record --backend nope -- true
check "bad backend is named" grep -q -- '--backend nope' "$TMP/.stderr"
expect_status "bad compression" 2 "$CONNTRAIL" record --compress lzma -- true
expect_status "bad size" 2 "$CONNTRAIL" record --buffer 12x -- true
expect_status "--rotate without --max-size" 2 "$CONNTRAIL" record --rotate 3 -- true
expect_status "--flush below 10ms" 2 "$CONNTRAIL" record --flush 5ms -- true
check "bad --flush is named" grep -q -- '--flush 5ms' "$TMP/.stderr"
expect_status "--flush that is not a duration" 2 "$CONNTRAIL" record --flush soon -- true
expect_status "bad pid list" 2 "$CONNTRAIL" record -p 12,x
check "--help prints usage" sh -c "'$CONNTRAIL' record --help | grep -q '^usage: conntrail record'"

# Runtime errors: exit 1, one line.
expect_status "output cannot be created" 1 "$CONNTRAIL" record -o /nonexistent/dir/t.ctr -- true
check "error names the path" grep -q '/nonexistent/dir/t.ctr' "$TMP/.stderr"
expect_status "not root" 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$CONNTRAIL" record -o /tmp/x.ctr -- true
check "not-root message" grep -q 'record needs root (CAP_BPF and CAP_PERFMON)' "$TMP/.stderr"
expect_status "explicit lsm backend that cannot load here" 1 "$CONNTRAIL" record --backend lsm -o t.ctr -- true
check "says why and what the kernel offers" grep -Eq -- '--backend lsm: .+ \(this kernel offers: .*tracepoint.*\)$' "$TMP/.stderr"
expect_eq "that error is one line" 1 "$(wc -l <"$TMP/.stderr")"
expect_status "no such pid" 1 "$CONNTRAIL" record -p 999999999 -o t.ctr
expect_status "--cgroup that is not cgroup v2" 1 "$CONNTRAIL" record --cgroup /tmp -o t.ctr -- true
# A typo keeps the last trace: the command is checked before any file is
# touched, with the shell's statuses (127 not found, 126 not executable).
"$CONNTRAIL" record -q -o kept.ctr -- true
cp kept.ctr kept.copy
expect_status "command that does not exist (path)" 127 "$CONNTRAIL" record -q -o kept.ctr -- /nonexistent/cmd
check "its error names it" grep -qx 'conntrail record: /nonexistent/cmd: No such file or directory' "$TMP/.stderr"
expect_status "command not found in PATH" 127 "$CONNTRAIL" record -q -o kept.ctr -- pyhton3-conntrail-typo -c 1
check "says: command not found" grep -qx 'conntrail record: pyhton3-conntrail-typo: command not found' "$TMP/.stderr"
echo 'echo hi' >noexec.sh
chmod 644 noexec.sh
expect_status "command that is not executable" 126 "$CONNTRAIL" record -q -o kept.ctr -- ./noexec.sh
expect_status "command that is a directory" 126 "$CONNTRAIL" record -q -o kept.ctr -- /tmp
check "the last trace is untouched" cmp -s kept.ctr kept.copy
# The trace names its recording command quoted as a shell needs it.
check "record a quoted command" "$CONNTRAIL" record -q -o quoted.ctr -- sh -c "echo 'a b' >/dev/null; true" ''
line=$("$CONNTRAIL" info quoted.ctr | sed -n 's/^  command line *//p')
expect_eq "command line splits back into the arguments given" \
	"$(printf '%s\n' record -q -o quoted.ctr -- sh -c "echo 'a b' >/dev/null; true" '')" \
	"$(eval "set -- $line" && shift && printf '%s\n' "$@")"
check "and was not moved to .old" test ! -e kept.ctr.old
expect_status "the command's own exit status" 3 "$CONNTRAIL" record -q -o t.ctr -- sh -c 'exit 3'
check "--help describes every option" sh -c "'$CONNTRAIL' record --help | grep -c -e '--backend' -e '--pid' -e '--cgroup' -e '--duration' -e '--compress' -e '--max-size' -e '--rotate' -e '--buffer' -e '--quiet' -e '--output' | grep -qx 1[0-9]"

# auto explains each skipped backend and names the one used.
"$CONNTRAIL" record -o t.ctr -- true 2>auto.err
check "auto names the backend used" grep -qx 'conntrail record: backend tracepoint' auto.err
check "auto says why lsm was skipped" grep -Eq '^conntrail record: lsm: .+' auto.err
check "auto says why fentry was skipped" grep -Eq '^conntrail record: fentry: .+' auto.err

# perf-style: the previous trace is kept as FILE.old.
"$CONNTRAIL" record -q -o keep.ctr -- "$STORM" 1 --seq 1111 >/dev/null
"$CONNTRAIL" record -q -o keep.ctr -- "$STORM" 1 --seq 2222 >/dev/null
expect_eq "keep.ctr.old holds the first run" 1111 "$("$CONNTRAIL" script --json keep.ctr.old | jq .dport)"
expect_eq "keep.ctr holds the second" 2222 "$("$CONNTRAIL" script --json keep.ctr | jq .dport)"

# -o - streams to stdout; the command's own stdout must not corrupt it.
"$CONNTRAIL" record -q -o - -- sh -c "echo noise; '$STORM' 3 --seq 3001" 2>stream.err |
	"$CONNTRAIL" script --json - >stream.jsonl
expect_eq "streamed trace reads from a pipe" "3001 3002 3003" "$(jq .dport stream.jsonl | xargs)"
check "the command's stdout went to stderr" grep -q noise stream.err

# System-wide with --duration: stops by itself; SIGINT: clean stop, index
# written. Both see a connect made meanwhile.
"$CONNTRAIL" record -q --duration 2 -o dur.ctr &
rec=$!
for _ in $(seq 100); do [ -s dur.ctr ] && break; sleep 0.05; done
"$STORM" 2 --seq 4001 >/dev/null
wait $rec
expect_eq "--duration ends with status 0" 0 $?
expect_eq "system-wide sees the connects" 2 "$("$CONNTRAIL" script --json dur.ctr | jq -s 'map(select(.comm == "connstorm" and .dport >= 4001 and .dport <= 4002)) | length')"
"$CONNTRAIL" record -q -o int.ctr &
rec=$!
for _ in $(seq 100); do [ -s int.ctr ] && break; sleep 0.05; done
"$STORM" 1 --seq 5001 >/dev/null
kill -INT $rec
wait $rec
expect_eq "SIGINT ends with status 0" 0 $?
check "index written on SIGINT" sh -c "'$CONNTRAIL' info int.ctr | grep -Eiq 'index +present'"
expect_eq "the connect before SIGINT is there" 1 "$("$CONNTRAIL" script --json int.ctr | jq -s 'map(select(.comm == "connstorm" and .dport == 5001)) | length')"

# With a COMMAND, SIGTERM goes on to the command (like perf); record ends
# when it does and returns its status.
"$CONNTRAIL" record -q -o fwd.ctr -- sh -c "trap 'exit 7' TERM; touch fwd.ready; while :; do sleep 0.05; done" &
rec=$!
for _ in $(seq 200); do [ -e fwd.ready ] && break; sleep 0.05; done
kill -TERM $rec
wait $rec
expect_eq "SIGTERM forwarded: record returns the command's status" 7 $?
check "the trace is complete (index written)" sh -c "'$CONNTRAIL' info fwd.ctr | grep -Eiq 'index +present'"

# --cgroup: only tasks in that cgroup v2 directory.
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
if [ -n "$cg2" ] && mkdir "$cg2/conntrail-test-$$" 2>/dev/null; then
	cg=$cg2/conntrail-test-$$
	"$CONNTRAIL" record -q --cgroup "$cg" -o cg.ctr &
	rec=$!
	for _ in $(seq 100); do [ -s cg.ctr ] && break; sleep 0.05; done
	sh -c "echo \$\$ >'$cg/cgroup.procs' && exec '$STORM' 2 --seq 6001" >/dev/null
	"$STORM" 2 --seq 6101 >/dev/null
	kill -INT $rec
	wait $rec
	"$CONNTRAIL" script --json cg.ctr >cg.jsonl
	expect_eq "--cgroup: the member's connects" "6001 6002" "$(jq .dport cg.jsonl | xargs)"
	rmdir "$cg"
else
	fail "no cgroup v2 hierarchy to test --cgroup with"
fi
# An output that cannot be created: one line, "FILE: cannot create: REASON".
expect_status "record -o /sys/x.ctr" 1 "$CONNTRAIL" record -q -o /sys/x.ctr -- true
check "record: cannot create ($(tail -1 "$TMP/.stderr"))" \
	grep -qx "conntrail record: /sys/x.ctr: cannot create: Permission denied" "$TMP/.stderr"
# Reading the trace while it is recorded: still being written, not killed.
"$CONNTRAIL" record -q -o live.ctr &
rec=$!
for _ in $(seq 100); do [ -s live.ctr ] && break; sleep 0.05; done
"$CONNTRAIL" report live.ctr >/dev/null 2>live.err
kill -INT $rec
wait $rec
check "reading a live trace: still being written" grep -q 'still being written' live.err
done_testing
