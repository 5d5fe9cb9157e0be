# bench/lib/tracers.sh: starting and stopping each configuration a..i
# (no tracing, empty BPF programs, record, perf, bpftrace, sysdig, ...).
# Sourced by bench/run.sh, whose settings (W, CT, HB, SCALE, ROUNDS, ...)
# and helpers it uses.

# ------------------------------------------------------------- tracers
# The configurations P1 and P6 compare, each a start_X / stop_X pair that
# runs one tracer in the background around a workload:
#   a  no tracing
#   b  empty BPF programs on sys_enter/exit_connect (the floor of the
#      tracepoint backend: what the kernel charges just to run a program there)
#   c  conntrail record (system-wide, zstd; START_ARGS picks a backend)
#   d  perf record on the connect tracepoint(s) ($PERF_EVENTS)
#   e  bpftrace on sys_enter/exit_connect, one text line per connect to a file
#   f  sysdig -w FILE evt.type=connect
#   g  cgroup/connect4 + connect6 programs on the cgroup v2 root that copy
#      what the tracepoint backend records into a drained ring buffer
#      (bench/cgconnect.bpf.c, P6b: a hook only connects pay for)
# start_X TAG sets TPID (empty for none) and fails when the tracer
# did not start (the reason in START_ERR); stop_X stops it and sets STOP_HWM.

wait_line() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt "$deadline" ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

bg_started() { echo "$1" >>"$BG_PIDS"; }
# tracer_started: the command just started in the background ($!) is the
# tracer, TPID (stopped by cleanup too if the bench is interrupted).
tracer_started() {
	TPID=$!
	bg_started "$TPID"
}
# start_failed SIGNAL WHY: the tracer did not start: WHY to START_ERR, and
# TPID stopped with SIGNAL. Fails.
start_failed() {
	START_ERR=$2
	stop_bg "$TPID" "$1"
	return 1
}
# Peak RSS (KiB) of PID so far, from the kernel's high-water mark.
hwm_kib() { awk '/^VmHWM:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }
# stop_bg PID SIGNAL: signal it, wait at most 60 s, then kill it. Sets
# STOP_HWM to its last peak RSS seen (it may still grow while finishing).
stop_bg() {
	local pid=$1 sig=$2 i h
	STOP_HWM=$(hwm_kib "$pid")
	kill "-$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		h=$(hwm_kib "$pid")
		[ -n "$h" ] && STOP_HWM=$h
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
# CPU time (ns) used so far by all threads of PID, from the scheduler.
proc_cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}
# first_err FILE: its first three lines that say what went wrong, for a note.
first_err() {
	grep -v '^\s*$' "$1" 2>/dev/null | grep -iE 'error|unable|cannot|could not|failed|refused|not |no such' |
		head -n 3 | tr -d '\r' | cut -c1-160 | paste -sd '|' | sed 's/|/ | /g'
}

start_a() { TPID=; }
stop_a() { STOP_HWM=; }

# loader OBJECT [CGROUP]: bench/bpf_loader with OBJECT attached.
start_loader() {
	TPID=
	[ -s "$1" ] || { START_ERR="$(basename "$1") not built"; return 1; }
	"$HB/bpf_loader" "$@" >"$W/loader.out" 2>"$W/loader.err" </dev/null &
	tracer_started
	wait_line "$W/loader.out" '^ready' 20 "$TPID" ||
		start_failed TERM "bpf_loader: $(head -c 300 "$W/loader.err")"
}
start_b() { start_loader "$HB/empty.bpf.o"; }
stop_b() { stop_bg "$TPID" TERM; }
start_h() { start_loader "$HB/empty_state.bpf.o" "$CGROOT"; }
stop_h() { stop_bg "$TPID" TERM; }
start_g() { start_loader "$HB/cgconnect.bpf.o" "$CGROOT"; }
stop_g() { stop_bg "$TPID" TERM; }

# start_c TAG: record into $W/TAG.ctr (with $REC_ARGS). record proves its
# hook fires (its own probe connect must be seen, DESIGN) before it says
# "backend NAME" (auto only) and before it creates the trace file (any
# backend), so either means it is tracing.
start_c() {
	local file=$W/$1.ctr i
	rm -f "$file" "$W/info.$(basename "$file").json"
	# No stdout: a tracer left holding a $(...) pipe would hang the bench.
	# shellcheck disable=SC2086 # REC_ARGS: options, split on purpose
	"$CT" record -o "$file" ${REC_ARGS:-} >/dev/null 2>"$W/rec.err" </dev/null &
	tracer_started
	for ((i = 0; i < 600; i++)); do
		[ -s "$file" ] && break
		grep -q '^conntrail record: backend ' "$W/rec.err" && break
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.05
	done
	if ! kill -0 "$TPID" 2>/dev/null || { [ ! -s "$file" ] &&
		! grep -q '^conntrail record: backend ' "$W/rec.err"; }; then
		local why
		why=$(grep -v '^\s*$' "$W/rec.err" | head -n 1 | cut -c1-300)
		if [ -z "$why" ]; then
			# what the wait saw, for a start that fails once in dozens
			why="record did not start tracing after $((i * 50)) ms (alive: $(kill -0 "$TPID" 2>/dev/null && echo yes || echo no), state $(awk '{print $3}' "/proc/$TPID/stat" 2>/dev/null), file $(stat -c %s "$file" 2>/dev/null || echo none) bytes)"
		fi
		start_failed INT "$why"
	fi
}
stop_c() { stop_bg "$TPID" INT; }
# i: record as built at CT_BASE (before this build's changes), side by side.
start_i() { CT=$CT_BASE start_c "base-$1"; }
stop_i() { stop_bg "$TPID" INT; }

# Start disabled and enable through the control fifo: the ack says the
# events are on, so the workload never starts before perf is tracing.
start_d() {
	local data=$W/perf-$1.data ack
	rm -f "$data" "$W/perf.ctl" "$W/perf.ack"
	mkfifo "$W/perf.ctl" "$W/perf.ack" || return 1
	perf record -q -e "$PERF_EVENTS" -a -D -1 \
		--control "fifo:$W/perf.ctl,$W/perf.ack" -o "$data" >/dev/null 2>"$W/perf.err" </dev/null &
	tracer_started
	exec 7<>"$W/perf.ctl" 8<>"$W/perf.ack"
	echo enable >&7
	if ! read -r -t 30 -u 8 ack; then
		exec 7>&- 8>&-
		start_failed INT "perf record did not start: $(head -c 300 "$W/perf.err")"
	fi
}
stop_d() {
	stop_bg "$TPID" INT
	exec 7>&- 8>&-
}

# bpftrace: the same two tracepoints as record's tracepoint backend and
# about the fields it keeps (the address read from user memory), one line
# per connect to a file. BEGIN runs once every probe is attached.
write_bt() {
	cat >"$W/connect.bt" <<'BT'
BEGIN { printf("ready\n"); }
tracepoint:syscalls:sys_enter_connect {
	@ts[tid] = nsecs; @fd[tid] = args->fd; @sa[tid] = args->uservaddr;
}
tracepoint:syscalls:sys_exit_connect /@ts[tid]/ {
	$sa = (struct sockaddr_in *)@sa[tid];
	printf("%llu %d %d %d %d %d %s fd=%d %d:%s:%d ret=%d lat=%llu\n", @ts[tid], pid, tid,
		curtask->real_parent->tgid, uid, gid, comm, @fd[tid], uptr($sa)->sin_family,
		ntop(uptr($sa)->sin_addr.s_addr), bswap(uptr($sa)->sin_port), args->ret,
		nsecs - @ts[tid]);
	delete(@ts[tid]); delete(@fd[tid]); delete(@sa[tid]);
}
BT
}
start_e() {
	local out=$W/bt-$1.out
	rm -f "$out"
	# stdout to a file: bpftrace flushes it per line (-o buffers to the end).
	bpftrace "$W/connect.bt" >"$out" 2>"$W/bt.err" </dev/null &
	tracer_started
	wait_line "$out" '^ready' 60 "$TPID" ||
		start_failed INT "bpftrace did not start: $(first_err "$W/bt.err")"
}
stop_e() { stop_bg "$TPID" INT; }

start_f() {
	local file=$W/sysdig-$1.scap
	rm -f "$file"
	# shellcheck disable=SC2086 # SYSDIG_ARGS is empty or one option
	sysdig $SYSDIG_ARGS -w "$file" evt.type=connect >/dev/null 2>"$W/sysdig.err" </dev/null &
	tracer_started
	# No ready signal: its capture file exists once the driver is open.
	local i
	for ((i = 0; i < 300; i++)); do
		[ -s "$file" ] && break
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$file" ]; then
		start_failed INT "sysdig did not start: $(first_err "$W/sysdig.err")"
		return 1
	fi
	sleep 1
}
stop_f() { stop_bg "$TPID" INT; }

# sysdig_check: can sysdig capture here at all? It needs its kernel module
# (/dev/scap0) or its eBPF probe (-B, built for this kernel or downloaded);
# sets SYSDIG_ARGS, or SYSDIG_NA to the reason.
sysdig_check() {
	SYSDIG_NA=
	SYSDIG_ARGS=
	if ! command -v sysdig >/dev/null; then
		SYSDIG_NA="sysdig is not installed (make deps)"
		return
	fi
	local why=() args
	for args in "" "-B"; do
		SYSDIG_ARGS=$args
		if start_f check; then
			stop_f
			return
		fi
		why+=("${args:-module}: ${START_ERR#sysdig did not start: }")
	done
	SYSDIG_ARGS=
	[ -e /proc/modules ] || why+=("this kernel has no module support")
	SYSDIG_NA="sysdig $(sysdig --version 2>/dev/null | awk '{ print $NF }') cannot capture here: $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"
}
