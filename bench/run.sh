#!/usr/bin/env bash
# bench/run.sh: `make bench`. Side-by-side performance of conntrail against a
# baseline measured in the same run (no tracing, an empty BPF program, perf,
# tshark, a full scan), so a shared, noisy machine still gives fair ratios.
# Configurations alternate (a b c d a b c d ...) and medians are reported.
#
# Environment:
#   BUILD          build directory with conntrail and conntrail-gen (build)
#   BENCH_SCALE    multiplies every size (default 1; 0.1 for a quick look)
#   BENCH_ROUNDS   alternating repeats per measurement (default 5)
#   BENCH_DRIFT    a round whose no-tracing baseline moved more than this
#                  fraction from the kept rounds' median is repeated (0.25)
#   BENCH_TMP      where scratch files go (default /var/tmp: a real disk)
#   BENCH_KEEP=1   keep the scratch directory
#   BENCH_BUDGET   seconds of P3/P4 after which they stop adding rounds (300)
#   BENCH_PARTS    which parts to run (default "p1 p6 p7 p2 p3 p4"; P5 rides along;
#                  p8, ClickHouse, is opt-in: BENCH_PARTS=p8, see p8 below;
#                  so is p9, the DNS hook: BENCH_PARTS=p9)
#   CT_BASE        another conntrail binary (e.g. a build of the commit before
#                  a change): P3/P4 then time it too, alternating with this
#                  one in every round, on the same files ("base" rows)
#   BENCH_CGROUP   cgroup v2 directory for the cgroup sock_addr programs
#                  (default: where cgroup2 is mounted)
#
# Prints one table and writes it to bench/results.md and bench/results.json.
# P1, P6, P7 and the record half of P5 need root; without it they are
# reported n/a.
# Peers: perf record (d), bpftrace (e) and sysdig (f) beside record (c); a
# peer that cannot run here is a note with its reason, never a figure.
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
SCALE=${BENCH_SCALE:-1}
ROUNDS=${BENCH_ROUNDS:-5}
DRIFT=${BENCH_DRIFT:-0.25}
CT=$PWD/$BUILD/conntrail
GEN=$PWD/$BUILD/conntrail-gen
HB=$PWD/$BUILD/bench
CT_BASE=${CT_BASE:-}
CGROOT=${BENCH_CGROUP:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)}
W=$(mktemp -d "${BENCH_TMP:-/var/tmp}/ct-bench.XXXXXX") || exit 1
RAW=$W/raw.tsv
: >"$RAW"
BG_PIDS=$W/bg.pids # tracers started in the background (from subshells too)
START=$SECONDS

cleanup() {
	local p
	# Only ours: pids written by bg_started below, still running the command
	# we started (its arguments name our scratch or helper directory).
	while read -r p; do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -e "$W/" -e "$HB/" &&
			kill -INT "$p" 2>/dev/null
	done <"$BG_PIDS" 2>/dev/null
	sleep 1
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: scratch kept in $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %3ds] %s\n' $((SECONDS - START)) "$*" >&2; }
# put KEY VALUE: one measurement (a key may repeat: one value per round).
put() { printf '%s\t%s\n' "$1" "$2" >>"$RAW"; }
# note TEXT: printed under the table (what was measured how, what failed).
note() {
	put note "$*"
	log "note: $*"
}
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
now_ns() { date +%s%N; }
# round_ok R PART: round 1 always runs; later rounds only within the budget
# (counted from the start of the reads, P3).
round_ok() {
	[ "$1" -eq 1 ] && return 0
	[ $((SECONDS - ${READ_START:-$START})) -lt "$BUDGET" ] && return 0
	note "$2: stopped after $(($1 - 1)) round(s), past the ${BUDGET} s budget"
	return 1
}
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# kv NAME TEXT: the number after "NAME=" in TEXT.
kv() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2" | head -n 1; }

# Sizes at scale 1. The UDP storm is the one the goals are about.
UDP_N=$(scaled 2000000)
FRESH_N=$(scaled 100000)
TCP_N=$(scaled 20000)
# The large trace is the size the read goals are stated on (100 M events):
# a selective query's floor (start-up, the index, the meta chunks) does
# not shrink with the trace, so a smaller one understates the speed-up.
BIG_N=$(scaled 100000000)
SMALL_N=$(scaled 100000) # tshark reads ~0.03-0.3 M packets/s: a smaller file
# Extra rounds of the slow reads (P3, P4) are skipped past this many seconds
# of reading, so a loaded machine still finishes in time; a note says so.
BUDGET=${BENCH_BUDGET:-300}
MIXED_N=$(scaled 1000000)

# ------------------------------------------------------------ helpers build
build_helpers() {
	mkdir -p "$HB"
	local cflags="-O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE"
	if [ bench/storm.c -nt "$HB/storm" ]; then
		cc $cflags -o "$HB/storm" bench/storm.c -lpthread || return 1
	fi
	if [ bench/runstat.c -nt "$HB/runstat" ]; then
		cc $cflags -o "$HB/runstat" bench/runstat.c || return 1
	fi
	if [ bench/pktstorm.c -nt "$HB/pktstorm" ]; then
		cc $cflags -o "$HB/pktstorm" bench/pktstorm.c || return 1
	fi
	if [ bench/sysloop.c -nt "$HB/sysloop" ]; then
		cc $cflags -o "$HB/sysloop" bench/sysloop.c || return 1
	fi
	if [ bench/bpf_loader.c -nt "$HB/bpf_loader" ]; then
		cc $cflags -o "$HB/bpf_loader" bench/bpf_loader.c -lbpf -lelf -lz ||
			note "bpf_loader did not build (libbpf missing?): no empty-BPF floor"
	fi
	if [ bench/empty.bpf.c -nt "$HB/empty.bpf.o" ]; then
		local multiarch
		multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
		clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$multiarch" \
			-c bench/empty.bpf.c -o "$HB/empty.bpf.o" ||
			note "empty.bpf.o did not build: no empty-BPF floor"
	fi
	if [ bench/empty_state.bpf.c -nt "$HB/empty_state.bpf.o" ] || [ bench/empty.bpf.c -nt "$HB/empty_state.bpf.o" ]; then
		clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
			-c bench/empty_state.bpf.c -o "$HB/empty_state.bpf.o" ||
			note "empty_state.bpf.o did not build: no floor for the state tracepoints"
	fi
	# CO-RE (the parent's pid): against the vmlinux.h the main build made.
	if [ bench/cgconnect.bpf.c -nt "$HB/cgconnect.bpf.o" ] || [ "$BUILD/vmlinux.h" -nt "$HB/cgconnect.bpf.o" ]; then
		clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_"$(uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')" \
			-I"$BUILD" -c bench/cgconnect.bpf.c -o "$HB/cgconnect.bpf.o" ||
			note "cgconnect.bpf.o did not build: no cgroup sock_addr measurement (P6b)"
	fi
	return 0
}

# --------------------------------------------------------------- machine
machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	put machine.cpu "${cpu:-unknown}"
	put machine.cores "$(nproc)"
	put machine.kernel "$(uname -r)"
	put machine.mem_gib "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
	put machine.load "$(cut -d' ' -f1-3 /proc/loadavg)"
	put machine.scale "$SCALE"
	put machine.rounds "$ROUNDS"
	put machine.git "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
}

ensure_tracefs() {
	[ -d /sys/kernel/tracing/events ] && return 0
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
	[ -d /sys/kernel/tracing/events ]
}

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
	TPID=$!
	bg_started "$TPID"
	if ! wait_line "$W/loader.out" '^ready' 20 "$TPID"; then
		START_ERR="bpf_loader: $(head -c 300 "$W/loader.err")"
		stop_bg "$TPID" TERM
		return 1
	fi
}
start_b() { start_loader "$HB/empty.bpf.o"; }
stop_b() { stop_bg "$TPID" TERM; }
start_h() { start_loader "$HB/empty_state.bpf.o"; }
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
	TPID=$!
	bg_started "$TPID"
	for ((i = 0; i < 600; i++)); do
		[ -s "$file" ] && break
		grep -q '^conntrail record: backend ' "$W/rec.err" && break
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.05
	done
	if ! kill -0 "$TPID" 2>/dev/null || { [ ! -s "$file" ] &&
		! grep -q '^conntrail record: backend ' "$W/rec.err"; }; then
		START_ERR=$(grep -v '^\s*$' "$W/rec.err" | head -n 1 | cut -c1-300)
		stop_bg "$TPID" INT
		return 1
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
	TPID=$!
	bg_started "$TPID"
	exec 7<>"$W/perf.ctl" 8<>"$W/perf.ack"
	echo enable >&7
	if ! read -r -t 30 -u 8 ack; then
		START_ERR="perf record did not start: $(head -c 300 "$W/perf.err")"
		exec 7>&- 8>&-
		stop_bg "$TPID" INT
		return 1
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
	TPID=$!
	bg_started "$TPID"
	if ! wait_line "$out" '^ready' 60 "$TPID"; then
		START_ERR="bpftrace did not start: $(first_err "$W/bt.err")"
		stop_bg "$TPID" INT
		return 1
	fi
}
stop_e() { stop_bg "$TPID" INT; }

start_f() {
	local file=$W/sysdig-$1.scap
	rm -f "$file"
	# shellcheck disable=SC2086 # SYSDIG_ARGS is empty or one option
	sysdig $SYSDIG_ARGS -w "$file" evt.type=connect >/dev/null 2>"$W/sysdig.err" </dev/null &
	TPID=$!
	bg_started "$TPID"
	# No ready signal: its capture file exists once the driver is open.
	local i
	for ((i = 0; i < 300; i++)); do
		[ -s "$file" ] && break
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$file" ]; then
		START_ERR="sysdig did not start: $(first_err "$W/sysdig.err")"
		stop_bg "$TPID" INT
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

# ------------------------------------------------------------- P1 storms
# Each storm_X MODE N prints "CPU_NS WALL_NS" per connect of the storm's
# connecting thread (or fails). CPU time is the headline: the in-kernel
# tracing cost is charged to the connecting thread, and CPU time does not
# grow when other work on this shared machine takes the CPU away.
storm_fig() {
	local cpu wall
	cpu=$(kv cpu_ns_per_connect "$1")
	wall=$(kv ns_per_connect "$1")
	[ -n "$cpu" ] && [ -n "$wall" ] && echo "$cpu $wall"
}

# under CFG TAG CMD..: run CMD with tracer CFG on; its stdout in
# $W/under.out. Sets UNDER_CPU to the tracer's CPU time (ns) during CMD.
under() {
	local cfg=$1 tag=$2 c0=0 c1=0 rc=0
	shift 2
	START_ERR=
	"start_$cfg" "$tag" || return 1
	[ -n "$TPID" ] && c0=$(proc_cpu_ns "$TPID")
	"$@" >"$W/under.out" || rc=1
	[ -n "$TPID" ] && c1=$(proc_cpu_ns "$TPID")
	UNDER_CPU=$((c1 - c0))
	"stop_$cfg"
	return $rc
}

# per_n NS N: NS / N with one decimal.
per_n() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.1f", a / n }'; }
# made N: the connects a storm of N makes (with its untimed warm-up).
made() { echo $(($1 + ($1 >= 10000 ? 10000 : 0))); }

storm_a() {
	under a "$1" "$HB/storm" "$1" "$2" || return 1
	storm_fig "$(cat "$W/under.out")"
}
# storm_empty CFG MODE N: the storm under an empty-program floor (b or h).
storm_empty() {
	under "$1" "$2" "$HB/storm" "$2" "$3" || { log "empty BPF ($1): $START_ERR"; return 1; }
	storm_fig "$(cat "$W/under.out")"
}
storm_b() { storm_empty b "$@"; }
storm_h() { storm_empty h "$@"; }

# The record run of P1; keeps the trace of the last round as storm-MODE.ctr.
storm_c() {
	local mode=$1 n=$2 file=$W/storm-$1.ctr out
	under c "storm-$mode" "$HB/storm" "$mode" "$n" || { log "record: $START_ERR"; return 1; }
	out=$(cat "$W/under.out")
	# What the recorder itself spent (on the other core) per connect.
	put "p1.$mode.c_tracer_cpu" "$(per_n "$UNDER_CPU" "$n")"
	put "p5.record_rss_kib.$mode" "$STOP_HWM"
	local summary lost
	summary=$(grep -v '^\s*$' "$W/rec.err" | tail -n 1)
	lost=$(ct_lost "$file")
	[ -n "$lost" ] && put "p1.$mode.c_lost" "$lost"
	put "p1.$mode.c_summary" "$summary"
	local events spid captured
	events=$(ct_events "$file")
	[ -n "$events" ] && put "p1.$mode.c_events" "$events"
	# The trace is system-wide: count the storm's own connects in it.
	spid=$(kv pid "$out")
	captured=$("$CT" report "$file" --filter "pid == $spid" --json 2>/dev/null | jq -r '.events')
	[ -n "$captured" ] && put "p1.$mode.c_captured" "$captured"
	storm_fig "$out"
}

storm_d() {
	local mode=$1 n=$2 data=$W/perf-$1.data out
	PERF_EVENTS=syscalls:sys_enter_connect
	under d "$mode" "$HB/storm" "$mode" "$n" || { log "$START_ERR"; return 1; }
	out=$(cat "$W/under.out")
	put "p5.perf_rss_kib.$mode" "$STOP_HWM"
	# Samples perf kept of the storm's own connects. A BPF program that
	# returns 0 on the same tracepoint (any other conntrail record on this
	# shared machine) makes the kernel drop perf's samples there, so such a
	# run is kept apart from the clean ones.
	local spid captured
	spid=$(kv pid "$out")
	captured=$(perf report -i "$data" --sort pid -n --stdio 2>/dev/null |
		awk -v p="$spid" '$3 ~ "^" p ":" { print $2 }')
	put "p1.$mode.d_captured" "${captured:-0}"
	# Under 90% of the storm's connects: not perf's own overflow (which
	# it also has on a busy machine, a few %), but samples suppressed.
	if [ "${captured:-0}" -ge "$(($(made "$n") * 9 / 10))" ]; then
		put "p1.$mode.d_tracer_cpu" "$(per_n "$UNDER_CPU" "$n")"
	else
		echo incomplete >"$W/d.flag"
	fi
	storm_fig "$out"
}

storm_e() {
	local mode=$1 n=$2 bt=$W/bt-$1.out out spid
	under e "$mode" "$HB/storm" "$mode" "$n" || { log "$START_ERR"; return 1; }
	out=$(cat "$W/under.out")
	spid=$(kv pid "$out")
	put "p1.$mode.e_tracer_cpu" "$(per_n "$UNDER_CPU" "$n")"
	put "p5.bpftrace_rss_kib.$mode" "$STOP_HWM"
	put "p1.$mode.e_captured" "$(awk -v p="$spid" '$2 == p' "$bt" | wc -l)"
	put "p1.$mode.e_lost" "$(awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }' "$bt")"
	put "p1.$mode.e_bytes" "$(fsize "$bt")"
	put "p1.$mode.e_lines" "$(grep -c ' ret=' "$bt")"
	storm_fig "$out"
}

storm_f() {
	local mode=$1 n=$2 scap=$W/sysdig-$1.scap out spid
	under f "$mode" "$HB/storm" "$mode" "$n" || { log "$START_ERR"; return 1; }
	out=$(cat "$W/under.out")
	spid=$(kv pid "$out")
	put "p1.$mode.f_tracer_cpu" "$(per_n "$UNDER_CPU" "$n")"
	put "p5.sysdig_rss_kib.$mode" "$STOP_HWM"
	put "p1.$mode.f_captured" "$(sysdig -r "$scap" "evt.type=connect and evt.dir=< and proc.pid=$spid" 2>/dev/null | wc -l)"
	put "p1.$mode.f_events" "$(sysdig -r "$scap" "evt.type=connect and evt.dir=<" 2>/dev/null | wc -l)"
	put "p1.$mode.f_bytes" "$(fsize "$scap")"
	storm_fig "$out"
}

storm_i() {
	under i "$1" "$HB/storm" "$1" "$2" || { log "base record: $START_ERR"; return 1; }
	put "p1.$1.i_tracer_cpu" "$(per_n "$UNDER_CPU" "$2")"
	storm_fig "$(cat "$W/under.out")"
}

storm_g() {
	local mode=$1 n=$2 out
	under g "$mode" "$HB/storm" "$mode" "$n" || { log "cgroup sock_addr: $START_ERR"; return 1; }
	out=$(cat "$W/under.out")
	put "p1.$mode.g_tracer_cpu" "$(per_n "$UNDER_CPU" "$n")"
	# Every connect on the machine while it ran, the storm's included.
	put "p1.$mode.g_records" "$(kv records "$(cat "$W/loader.out")")"
	storm_fig "$out"
}

# Samples in a perf.data and the samples perf itself says it lost (it
# does not always know: compare the samples with the connects made).
perf_counts() {
	perf report -i "$1" --stats 2>/dev/null |
		awk '/^ *SAMPLE events:/ && !s { s = $3 } /^ *LOST_SAMPLES events:/ { l = $3 }
		     END { printf "%d %d\n", s, l }'
}

# BPF programs someone else has on the connect tracepoints right now (other
# engineers' tests on this shared machine): they slow every configuration.
foreign_tracers() {
	bpftool perf list 2>/dev/null | grep -c 'sys_e[a-z]*_connect'
}

# Before a round, give other engineers' short-lived tracers up to 10 s to
# finish; once one outstays that, stop waiting (a long recording won't end).
wait_quiet() {
	local i
	[ -n "${QUIET_GAVE_UP:-}" ] && return 1
	for ((i = 0; i < 50; i++)); do
		[ "$(foreign_tracers)" -eq 0 ] && return 0
		sleep 0.2
	done
	QUIET_GAVE_UP=1
	return 1
}

# rput KEY VALUE: a figure of the current round, kept until round_end.
rput() { printf '%s\t%s\n' "$1" "$2" >>"$W/round.tsv"; }
# round_end PREFIX: publish the round's figures, unless the round cannot be
# trusted: a configuration that adds work (b..i) measured more than 10%
# below no tracing (a) in the same round says the machine's noise swamped
# it, and so does a baseline a that moved more than BENCH_DRIFT (a fraction,
# default 0.25) from the median of the rounds kept so far. Then its figures
# are kept apart as PREFIX.rejected.X, a note says why, and the caller runs
# one more round (fails). Smaller inversions stay: dropping every round
# where a happened to be slow would bias the medians up; a median still
# below a fails the bench (bench/table.py). Each kept round also gives its
# own ratio X/a (PREFIX.ratio.X), for the min/median/max of the table.
round_end() {
	local bad med
	med=$(awk -F'\t' -v k="$1.a" '$1 == k { print $2 }' "$RAW" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR >= 2) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	bad=$(awk -F'\t' -v p="$1." -v med="${med:-0}" -v drift="$DRIFT" '
		index($1, p) == 1 { k = substr($1, length(p) + 1); if (k !~ /_wall$/) v[k] = $2 }
		END { if (!("a" in v)) exit
		      if (med > 0 && (v["a"] > med * (1 + drift) || v["a"] < med * (1 - drift)))
		          printf "the baseline moved: a %.0f against a median of %.0f (more than %d%%)", v["a"], med, drift * 100
		      else for (k in v) if (k != "a" && v[k] < v["a"] * 0.90)
		          printf "%s%s %.0f < a %.0f", (n++ ? "; " : ""), k, v[k], v["a"] }' "$W/round.tsv")
	if [ -z "$bad" ]; then
		cat "$W/round.tsv" >>"$RAW"
		awk -F'\t' -v p="$1." '
			index($1, p) == 1 { k = substr($1, length(p) + 1); if (k !~ /_wall$/) v[k] = $2 }
			END { if (!(v["a"] > 0)) exit
			      for (k in v) if (k != "a") printf "%sratio.%s\t%.4f\n", p, k, v[k] / v["a"] }' \
			"$W/round.tsv" >>"$RAW"
		return 0
	fi
	sed "s/^$1\\./$1.rejected./" "$W/round.tsv" >>"$RAW"
	case $bad in
	"the baseline"*) note "$1: a round rejected and repeated, $bad: noise" ;;
	*) note "$1: a round rejected and repeated, a traced run came out faster than no tracing ($bad ns): noise" ;;
	esac
	return 1
}

# peers: which of the optional configurations can run here (once); the
# others get a note with the reason and are left out of the rounds.
peers() {
	P1_CONFIGS="a b c d"
	if ! command -v bpftrace >/dev/null; then
		put peer.e_na "bpftrace is not installed (make deps)"
	else
		write_bt
		P1_CONFIGS+=" e"
	fi
	sysdig_check
	if [ -n "$SYSDIG_NA" ]; then
		put peer.f_na "$SYSDIG_NA"
		note "sysdig: n/a, $SYSDIG_NA"
	else
		P1_CONFIGS+=" f"
	fi
	if [ -s "$HB/cgconnect.bpf.o" ] && [ -d "$CGROOT" ]; then
		P1_CONFIGS+=" g"
	else
		put peer.g_na "no cgroup sock_addr program (cgconnect.bpf.o not built or no cgroup v2 at $CGROOT)"
	fi
	if [ -s "$HB/empty_state.bpf.o" ]; then
		P1_CONFIGS+=" h"
	else
		put peer.h_na "empty_state.bpf.o not built"
	fi
	if [ -n "$CT_BASE" ]; then
		P1_CONFIGS+=" i"
	else
		put peer.i_na "no CT_BASE given: record before this build not run"
	fi
	log "configurations: $P1_CONFIGS"
}

p1() {
	local mode=$1 n=$2 r v c
	log "P1 $mode storm, $n connects x $ROUNDS rounds of $P1_CONFIGS"
	put "p1.$mode.connects" "$n"
	local extra=0 max_extra=$(((ROUNDS + 1) / 2))
	for ((r = 1; r <= ROUNDS + extra; r++)); do
		: >"$W/round.tsv"
		for c in $P1_CONFIGS; do
			rm -f "$W/d.flag"
			[ $c = a ] && wait_quiet
			put "p1.$mode.${c}_foreign" "$(foreign_tracers)"
			if v=$("storm_$c" "$mode" "$n") && [ -n "$v" ]; then
				if [ -f "$W/d.flag" ]; then
					# perf dropped samples: not a like-for-like run.
					put "p1.$mode.d_incomplete" "${v% *}"
					log "  round $r d: perf dropped samples; kept apart"
					continue
				fi
				rput "p1.$mode.$c" "${v% *}"
				rput "p1.$mode.${c}_wall" "${v#* }"
				log "  round $r $c: ${v% *} ns CPU, ${v#* } ns wall per connect"
			else
				log "  round $r $c: failed"
			fi
		done
		round_end "p1.$mode" || { [ $extra -lt $max_extra ] && extra=$((extra + 1)); }
	done
	if [ -f "$W/perf-$mode.data" ]; then
		local counts
		counts=$(perf_counts "$W/perf-$mode.data")
		put "p1.$mode.d_events" "${counts% *}"
		put "p1.$mode.d_lost" "${counts#* }"
	fi
}

# ------------------------------------------------- P6 other syscalls' tax
# The getppid storm (bench/sysloop.c) under each configuration: what a
# tracer costs the syscalls that are not connect. record runs once per
# backend this kernel loads (the others are n/a with record's own reason);
# perf records the two connect tracepoints record's tracepoint backend uses.
p6() {
	local n r c v cfgs="a b" be tag cpu wall
	# At least 2 M calls (about 2 s here): shorter runs are all noise.
	n=$(scaled 3000000)
	[ "$n" -lt 2000000 ] && n=2000000
	log "P6 getppid storm, $n calls x $ROUNDS rounds"
	put p6.calls "$n"
	for be in tracepoint lsm fentry; do
		if REC_ARGS="--backend $be" start_c "p6-$be"; then
			stop_c
			cfgs+=" c:$be"
		else
			put "p6.na.$be" "$START_ERR"
			log "  record --backend $be: $START_ERR"
		fi
	done
	cfgs+=" d"
	for c in e f g; do
		[[ " $P1_CONFIGS " == *" $c "* ]] && cfgs+=" $c"
	done
	log "P6 configurations: $cfgs"
	local extra=0 max_extra=$(((ROUNDS + 1) / 2))
	for ((r = 1; r <= ROUNDS + extra; r++)); do
		: >"$W/round.tsv"
		for c in $cfgs; do
			[ "$c" = a ] && wait_quiet
			tag=${c/:/_}
			put "p6.${tag}_foreign" "$(foreign_tracers)"
			v=
			if REC_ARGS="--backend ${c#c:}" \
				PERF_EVENTS=syscalls:sys_enter_connect,syscalls:sys_exit_connect \
				under "${c%%:*}" "p6-$tag" "$HB/sysloop" "$n"; then
				v=$(cat "$W/under.out")
			fi
			cpu=$(kv cpu_ns_per_call "$v")
			wall=$(kv ns_per_call "$v")
			if [ -n "$cpu" ] && [ -n "$wall" ]; then
				rput "p6.$tag" "$cpu"
				rput "p6.${tag}_wall" "$wall"
				log "  round $r $c: $cpu ns CPU, $wall ns wall per getppid"
			else
				log "  round $r $c: failed ${START_ERR:-}"
			fi
		done
		round_end p6 || { [ $extra -lt $max_extra ] && extra=$((extra + 1)); }
	done
	rm -f "$W"/p6-*.ctr "$W"/perf-p6-*.data "$W"/bt-p6-*.out "$W"/sysdig-p6-*.scap
}

# ------------------------------------------------ P7 record --flush
# What a shorter --flush costs: record (system-wide) around a steady stream
# of connects (bench/paced.py, 2000 a second), with --flush 1s (the
# default), 100ms and 10ms in alternating rounds. Per configuration: the
# trace's bytes per event and chunks, and the recorder's CPU time a second
# of recording (its polls and chunk writes; the per-event work is the
# same in all three). BENCH_SCALE scales the seconds (6 at scale 1).
P7_FLUSH="1s 100ms 10ms"
p7() {
	local secs r fl file ev
	secs=$(awk -v s="$SCALE" 'BEGIN { v = 6 * s; print (v < 1 ? 1 : v) }')
	log "P7 record --flush ($P7_FLUSH): 2000 connects/s for $secs s x $ROUNDS rounds"
	put p7.secs "$secs"
	put p7.rate 2000
	for ((r = 1; r <= ROUNDS; r++)); do
		for fl in $P7_FLUSH; do
			file=$W/p7-$fl.ctr
			if ! REC_ARGS="--flush $fl" under c "p7-$fl" python3 bench/paced.py 2000 "$secs"; then
				log "  round $r --flush $fl: failed ${START_ERR:-}"
				continue
			fi
			ev=$(ct_events "$file")
			[ -n "$ev" ] && [ "$ev" -gt 0 ] || continue
			put "p7.$fl.bytes_per_event" "$(per_n "$(fsize "$file")" "$ev")"
			put "p7.$fl.chunks" "$(ct_info "$file" | jq -r '.event_chunks // empty')"
			put "p7.$fl.events" "$ev"
			put "p7.$fl.cpu_ms_per_s" "$(awk -v c="$UNDER_CPU" -v s="$secs" 'BEGIN { printf "%.2f", c / 1e6 / s }')"
			log "  round $r --flush $fl: $(fsize "$file") bytes, $ev events, $UNDER_CPU ns recorder CPU"
		done
	done
	rm -f "$W"/p7-*.ctr
}

# ----------------------------------------------------- reading the trace
# What `conntrail info --json` says about a trace (cached per file).
ct_info() {
	local cache
	cache=$W/info.$(basename "$1").json
	[ -s "$cache" ] || "$CT" info --json "$1" >"$cache" 2>/dev/null
	cat "$cache"
}
ct_events() { ct_info "$1" | jq -r '.events // empty' 2>/dev/null; }
ct_lost() { ct_info "$1" | jq -r '.lost // empty' 2>/dev/null; }
ct_backend() { ct_info "$1" | jq -r '.backend // empty' 2>/dev/null; }

# timed KEY CMD...: run CMD with stdout to /dev/null; record its CPU time
# (user + system, ns) as KEY, wall time as KEY_wall, peak RSS (KiB) as
# KEY_rss.
timed() {
	local key=$1 wall cpu rss
	shift
	if "$HB/runstat" "$W/timed.stat" "$@" 2>"$W/timed.err"; then
		read -r wall cpu rss <"$W/timed.stat"
		put "$key" "$cpu"
		put "${key}_wall" "$wall"
		put "${key}_rss" "$rss"
	else
		log "$key failed: $(head -c 300 "$W/timed.err")"
		return 1
	fi
}

# ct_timed KEY ARGS..: timed KEY "$CT" ARGS..; with CT_BASE set, also
# timed KEY with "base." after its part ("p3.base.report_ns") "$CT_BASE"
# ARGS.., the two in turn first ($ROUND) so neither always finds the
# other's page cache.
ct_timed() {
	local key=$1 bkey
	shift
	if [ -z "$CT_BASE" ]; then
		timed "$key" "$CT" "$@"
		return
	fi
	bkey=${key%%.*}.base.${key#*.}
	if ((ROUND % 2)); then
		timed "$key" "$CT" "$@"
		timed "$bkey" "$CT_BASE" "$@"
	else
		timed "$bkey" "$CT_BASE" "$@"
		timed "$key" "$CT" "$@"
	fi
}

p2() {
	log "P2 sizes"
	local ev
	if [ -s "$STORM" ]; then
		ev=$(ct_events "$STORM")
		put p2.storm_bytes "$(fsize "$STORM")"
		[ -n "$ev" ] && put p2.storm_events "$ev"
	fi
	if [ -s "$PERFDATA" ]; then
		put p2.perf_bytes "$(fsize "$PERFDATA")"
		put p2.perf_events "$(perf_counts "$PERFDATA" | cut -d' ' -f1)"
	fi
	# The peers' files of the last UDP storm round (P1 put their sizes).
	if [ -x "$GEN" ] && "$GEN" --profile mixed --compress zstd -n "$MIXED_N" -o "$W/mixed.ctr" \
		2>"$W/gen.err"; then
		put p2.mixed_bytes "$(fsize "$W/mixed.ctr")"
		ev=$(ct_events "$W/mixed.ctr")
		[ -n "$ev" ] && put p2.mixed_events "$ev"
	else
		note "conntrail-gen --profile mixed failed: $(head -c 200 "$W/gen.err" 2>/dev/null)"
	fi
}

# jobs_pair KEY ARGS..: conntrail ARGS.. at --jobs 1 (KEY_j1) and --jobs 2
# (KEY_j2), the two in turn first ($ROUND). Threads share the CPU time, so
# their speed-up is read from the wall times.
jobs_pair() {
	local key=$1
	shift
	if ((ROUND % 2)); then
		timed "${key}_j1" "$CT" "$@" --jobs 1
		timed "${key}_j2" "$CT" "$@" --jobs 2
	else
		timed "${key}_j2" "$CT" "$@" --jobs 2
		timed "${key}_j1" "$CT" "$@" --jobs 1
	fi
}

p3() {
	log "P3 read speed"
	local r
	if [ -x "$GEN" ]; then
		"$GEN" --compress zstd -n "$SMALL_N" -o "$W/small.ctr" 2>/dev/null &&
			"$CT" convert "$W/small.ctr" -o "$W/small.pcapng" --to pcapng 2>/dev/null
		[ -s "$W/small.ctr" ] && put p3.small_events "$(ct_events "$W/small.ctr")"
		[ -s "$W/small.pcapng" ] &&
			put p3.tshark_lines "$(tshark -r "$W/small.pcapng" 2>/dev/null | wc -l)"
	fi
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		round_ok $ROUND P3 || break
		if [ -s "$STORM" ]; then
			ct_timed p3.report_ns report "$STORM"
			ct_timed p3.script_ns script "$STORM"
			ct_timed p3.convert_ns convert "$STORM" -o "$W/storm.pcapng" --to pcapng
		fi
		[ -s "$PERFDATA" ] && timed p3.perf_script_ns perf script -i "$PERFDATA"
		if [ -s "$W/mixed.ctr" ]; then
			jobs_pair p3.mixed_script script -q "$W/mixed.ctr"
			jobs_pair p3.mixed_convert convert -q "$W/mixed.ctr" -o "$W/mixed.csv" --to csv
		fi
		if [ -s "$W/small.pcapng" ]; then
			ct_timed p3.convert_small_ns convert "$W/small.ctr" -o "$W/small2.pcapng" \
				--to pcapng
			timed p3.tshark_ns tshark -r "$W/small.pcapng"
		fi
	done
	[ -s "$W/mixed.ctr" ] && put p3.mixed_events "$(ct_events "$W/mixed.ctr")"
	rm -f "$W/storm.pcapng" "$W/small2.pcapng" "$W/mixed.csv"
}

p4() {
	# Same seed, same file: kept in $HB between runs until the generator
	# is rebuilt.
	local big=$HB/big-$BIG_N.ctr truth=$HB/big-$BIG_N.truth.json t0
	if [ ! -s "$big" ] || [ ! -s "$truth" ] || [ "$GEN" -nt "$big" ]; then
		log "P4 index: generating $BIG_N events (mixed profile)"
		rm -f "$HB"/big-*.ctr "$HB"/big-*.truth.json
		t0=$(now_ns)
		if ! "$GEN" -n "$BIG_N" --profile mixed --compress zstd --truth "$truth" -o "$big" \
			2>"$W/gen.err"; then
			note "conntrail-gen failed: $(head -c 200 "$W/gen.err")"
			rm -f "$big" "$truth"
			return
		fi
		put p4.gen_ns $(($(now_ns) - t0))
	else
		log "P4 index: reusing $big"
	fi
	put p4.events "$(jq -r .events "$truth")"
	put p4.bytes "$(fsize "$big")"
	# The middle minute of the trace, as offsets from its start.
	local span_s since until rare absent=192.0.2.77
	span_s=$(jq -r '(.last_ts_ns - .first_ts_ns) / 1e9 | floor' "$truth")
	since="+$((span_s / 2))s"
	until="+$((span_s / 2 + 60))s"
	# The IPv4 address the trace has the fewest connects to (an address
	# seen a few times in 100 M events), and one it never saw
	# (TEST-NET-1: "did anything here ever talk to X?").
	rare=$(jq -r '[.dest | to_entries[] | select(.key | test("^[0-9.]+:[0-9]+$"))
		| {a: (.key | sub(":[0-9]+$"; "")), n: .value}] | group_by(.a)
		| map({a: .[0].a, n: (map(.n) | add)}) | min_by(.n) | "\(.a) \(.n)"' \
		"$truth")
	put p4.window "$since..$until"
	put p4.rare_addr "${rare% *}"
	put p4.rare_events "${rare#* }"
	put p4.absent_addr "$absent"
	rare=${rare% *}
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		round_ok $ROUND P4 || break
		ct_timed p4.full_ns report "$big"
		jobs_pair p4.full report -q "$big"
		ct_timed p4.window_ns report "$big" --since "$since" --until "$until"
		ct_timed p4.rare_ns report "$big" --filter "daddr == $rare"
		ct_timed p4.absent_ns report "$big" --filter "daddr == $absent"
	done
	p4_chunks window "$big" --since "$since" --until "$until"
	p4_chunks rare "$big" --filter "daddr == $rare"
	p4_chunks absent "$big" --filter "daddr == $absent"
}

# p4_chunks NAME ARGS...: chunks read and known for one report query, from
# report --json's chunk statistics.
p4_chunks() {
	local name=$1 js
	shift
	js=$("$CT" report "$@" --json 2>/dev/null) || return 0
	put "p4.${name}_chunks_read" "$(jq -r '.chunks.read' <<<"$js")"
	put "p4.${name}_chunks_total" "$(jq -r '.chunks.total' <<<"$js")"
	put "p4.${name}_matched" "$(jq -r '.events' <<<"$js")"
}

# ------------------------------------------------------------- ClickHouse
# P8 (opt-in: at scale 1 it loads 100 M rows twice a round, tens of minutes
# on 2 cores): one clickhouse-server of ours (tests/helpers/clickhouse.sh),
# the same generated trace (P8_N events) loaded into a MergeTree table as
# `convert --to clickhouse` RowBinary and as `convert --to jsonl` with
# JSONEachRow (into a table typed as the JSON is: addresses as text), in
# turn; then share/clickhouse/destinations.sql against `report --by dest`
# on the same events. Wall times: the work is in the server's process.
P8_N=$(scaled 100000000)
p8() {
	log "P8 ClickHouse: $P8_N events"
	# shellcheck source=/dev/null
	. tests/helpers/clickhouse.sh
	if ! ch_find; then
		note "P8: clickhouse-server/clickhouse-client not installed (make deps)"
		return
	fi
	local port t0 rb_ns js_ns
	if ! "$GEN" -n "$P8_N" --seed 9 --host bench-host -o "$W/p8.ctr" 2>"$W/gen.err"; then
		note "P8: conntrail-gen failed: $(head -c 200 "$W/gen.err")"
		return
	fi
	port=$(ch_free_port)
	ch_start "$W/ch" "$port" "$port" || { note "P8: clickhouse-server did not start"; return; }
	bg_started "$(cat "$W/ch/pid")"
	ch_sql "$port" --multiquery <share/clickhouse/schema.sql
	# The JSON lines' own typing: what JSONEachRow can fill from them.
	sed -e 's/connects_local/connects_json/' \
		-e 's/FixedString(16)/String/' -e '/^CREATE TABLE IF NOT EXISTS conntrail.connects AS/,$d' \
		share/clickhouse/schema.sql | ch_sql "$port" --multiquery
	put p8.events "$P8_N"
	put p8.ch_version "$(ch_sql "$port" --query 'SELECT version()')"
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		ch_sql "$port" --query 'TRUNCATE TABLE conntrail.connects_local'
		ch_sql "$port" --query 'TRUNCATE TABLE conntrail.connects_json'
		t0=$(now_ns)
		"$CT" convert -q "$W/p8.ctr" --to clickhouse -o - |
			ch_sql "$port" --query 'INSERT INTO conntrail.connects_local FORMAT RowBinary' ||
			{ note "P8: RowBinary load failed"; break; }
		rb_ns=$(($(now_ns) - t0))
		t0=$(now_ns)
		"$CT" convert -q "$W/p8.ctr" --to jsonl -o - |
			ch_sql "$port" --input_format_skip_unknown_fields=1 \
				--query 'INSERT INTO conntrail.connects_json FORMAT JSONEachRow' ||
			{ note "P8: JSONEachRow load failed"; break; }
		js_ns=$(($(now_ns) - t0))
		put p8.rowbinary_ns "$rb_ns"
		put p8.jsonl_ns "$js_ns"
		t0=$(now_ns)
		sed 's/conntrail\.connects$/conntrail.connects_local/' share/clickhouse/destinations.sql \
			>"$W/p8-top.sql"
		ch_sql "$port" --query "$(cat "$W/p8-top.sql")" >/dev/null ||
			{ note "P8: destinations.sql failed"; break; }
		put p8.sql_top_ns $(($(now_ns) - t0))
		t0=$(now_ns)
		"$CT" report -q --by dest "$W/p8.ctr" >/dev/null
		put p8.report_top_ns $(($(now_ns) - t0))
	done
	put p8.rows "$(ch_sql "$port" --query 'SELECT count() FROM conntrail.connects_local')"
	put p8.ch_bytes "$(ch_sql "$port" --query "SELECT sum(bytes_on_disk) FROM system.parts
		WHERE database = 'conntrail' AND table = 'connects_local' AND active")"
	put p8.ctr_bytes "$(fsize "$W/p8.ctr")"
	ch_stop "$W/ch"
	rm -f "$W/p8.ctr"
}

# ------------------------------------------------------------------ main
# ------------------------------------------------------ P9 the DNS hook
# (opt-in: BENCH_PARTS=p9; a few seconds a round at scale 1.) record's
# cgroup_skb/ingress program runs for every packet any socket receives. A
# loopback storm of non-DNS datagrams (bench/pktstorm.c: CPU per packet,
# sender and receive path in one thread) under a: no recording, b: record
# (the hook attached), c: record with CONNTRAIL_NO_DNS=1 (no hook): b - c
# is the hook's fast exit. Ratios from alternating rounds (round_end). Then
# a storm of DNS answers from 127.0.0.1:53 while recording: every answer
# must become a name record, none lost.
p9_run() { "$HB/pktstorm" "$1" "$2" | sed -n 's/.* ns_per_packet=\([0-9.]*\) cpu_ns_per_packet=\([0-9.]*\).*/\2 \1/p'; }
p9() {
	local n r c v extra=0 max_extra=$(((ROUNDS + 1) / 2))
	n=$(scaled 1000000)
	log "P9 DNS hook: $n non-DNS loopback packets x $ROUNDS rounds of a b c"
	put p9.plain.packets "$n"
	for ((r = 1; r <= ROUNDS + extra; r++)); do
		: >"$W/round.tsv"
		for c in a b c; do
			if [ $c = b ] && ! start_c p9; then
				note "P9: record did not start: $START_ERR"
				return
			fi
			[ $c = c ] && { CONNTRAIL_NO_DNS=1 start_c p9 || return; }
			v=$(p9_run plain "$n")
			[ $c != a ] && stop_c
			[ -n "$v" ] || { log "  round $r $c: failed"; continue; }
			rput "p9.plain.$c" "${v% *}"
			rput "p9.plain.${c}_wall" "${v#* }"
			log "  round $r $c: ${v% *} ns CPU per packet"
		done
		round_end p9.plain || { [ $extra -lt $max_extra ] && extra=$((extra + 1)); }
	done
	n=$(scaled 200000)
	log "P9 DNS storm: $n answers while recording"
	start_c p9-dns || return
	v=$(p9_run dns "$n")
	stop_c
	put p9.dns.packets "$(((n + 31) / 32 * 32))"
	put p9.dns.cpu_ns_per_packet "${v% *}"
	put p9.dns.answers "$(sed -n 's/^conntrail record: \([0-9]*\) DNS answers.*/\1/p' "$W/rec.err")"
	put p9.dns.lost "$(sed -n 's/^conntrail record: \([0-9]*\) DNS packets lost.*/\1/p' "$W/rec.err" | grep . || echo 0)"
	log "  $(grep 'DNS' "$W/rec.err" | tr '\n' ' ')"
}

PARTS=" ${BENCH_PARTS:-p1 p6 p7 p2 p3 p4} "
want() { [[ $PARTS == *" $1 "* ]]; }

log "conntrail bench: scale $SCALE, $ROUNDS rounds, scratch $W"
if [ ! -x "$CT" ]; then
	echo "bench: $CT not built; run 'make' first" >&2
	exit 1
fi
build_helpers || exit 1
machine
if [ -n "$CT_BASE" ]; then
	if [ -x "$CT_BASE" ]; then
		put machine.base "$CT_BASE ($(git -C "$(dirname "$CT_BASE")/.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
	else
		echo "bench: CT_BASE=$CT_BASE is not an executable" >&2
		exit 1
	fi
fi

STORM=$W/storm-udp.ctr
PERFDATA=$W/perf-udp.data
if want p1 || want p6; then
	if [ "$(id -u)" -eq 0 ] && ensure_tracefs; then
		peers
		if want p1; then
			p1 udp "$UDP_N"
			p1 udp-fresh "$FRESH_N"
			p1 tcp "$TCP_N"
			p1 tcp-nb "$TCP_N"
			[ -f "$STORM" ] && put machine.backend "$(ct_backend "$STORM")"
		fi
		want p6 && p6
	else
		note "not root (or no tracefs): P1, P6 and record's RSS not measured"
	fi
fi
if want p7; then
	if [ "$(id -u)" -eq 0 ]; then
		p7
	else
		note "not root: P7 (record --flush) not measured"
	fi
fi

# P2/P3 on the storm trace; without one, a generated stand-in of the same size.
if { want p2 || want p3; } && [ ! -s "$STORM" ] && [ -x "$GEN" ]; then
	note "no live storm trace: P2/P3 use a generated trace of $UDP_N events instead"
	"$GEN" --profile storm --compress zstd -n "$UDP_N" -o "$STORM" 2>/dev/null || rm -f "$STORM"
fi
want p2 && p2
READ_START=$SECONDS
want p3 && p3
if want p4; then
	if [ -x "$GEN" ]; then
		p4
	else
		note "$GEN missing: P4 and report's RSS not measured"
	fi
fi
want p8 && p8
if want p9; then
	if [ "$(id -u)" -eq 0 ]; then
		p9
	else
		note "not root: P9 (the DNS hook) not measured"
	fi
fi

log "done in $((SECONDS - START)) s; writing bench/results.md and bench/results.json"
# A figure that cannot be true fails the run (table.py says which).
python3 bench/table.py "$RAW" bench/results.md bench/results.json
