#!/usr/bin/env bash
# bench/storm.sh: what `conntrail record` adds to a UDP connect() storm, next
# to perf recording the same tracepoint. Runs as root, alternating
#   a  no tracing
#   b  conntrail record -p 1: the hooks attached, every connect filtered
#      out in the kernel (the floor: syscall tracepoints + program entry)
#   c  conntrail record (system-wide, zstd, default buffer)
#   c0 (with CT_BEFORE=BINARY) the same with another conntrail build, e.g.
#      the one before a change, side by side in the same rounds
#   d  perf record -e syscalls:sys_enter_connect -a
#   e  perf record -e raw_syscalls:sys_enter --filter 'id == 42' -a (x86-64
#      connect): perf on every syscall, filtering in the kernel
#   f  empty BPF programs on syscalls:sys_enter_connect/sys_exit_connect
#      (what the tracepoint backend attaches to)
#   g  empty BPF programs on tp_btf/sys_enter + sys_exit that return at
#      once unless the syscall is connect (the raw tracepoint alternative)
# perf starts disabled and is enabled through its control fifo, so the storm
# only begins once its events are on; the sample counts are printed.
# in ROUNDS rounds (a b c d e f g a b c ...), so a shared machine's noise hits
# all alike, and prints medians: ns per connect, the ratios, lost events
# and bytes per event. Only the storm's own loop is timed (connstorm).
#
# Right after each storm, still under the same configuration, a loop of
# SYSCALLS getppid() calls is timed too: what each configuration costs the
# syscalls that are not connect (the syscall tracepoints make every syscall
# take the slow path; a raw sys_enter program runs on every one).
#
#   STORM_N=2000000 ROUNDS=3 SYSCALLS=10000000 BUILD=build bash bench/storm.sh
#   CT_BEFORE=/tmp/old/conntrail bash bench/storm.sh   # adds c0
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
N=${STORM_N:-2000000}
ROUNDS=${ROUNDS:-3}
SYSCALLS=${SYSCALLS:-10000000}
CT=$PWD/$BUILD/conntrail
CT_BEFORE=${CT_BEFORE:-}
STORM=$PWD/$BUILD/tests/connstorm
W=$(mktemp -d /var/tmp/ct-storm.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench/storm.sh: needs root" >&2; exit 1; }
for f in "$CT" "$STORM" ${CT_BEFORE:+"$CT_BEFORE"}; do
	[ -x "$f" ] || { echo "bench/storm.sh: $f missing: run make first" >&2; exit 1; }
done
command -v perf >/dev/null || { echo "bench/storm.sh: perf is not installed" >&2; exit 1; }

# The getppid loop (bench/sysloop.c, as make bench's P6 runs it).
cc -O2 -o "$W/sysloop" bench/sysloop.c || { echo "bench/storm.sh: sysloop did not build" >&2; exit 1; }

# The empty-program floors f and g, loaded by bench/bpf_loader.c: f is
# bench/empty.bpf.c (make bench's b), g on the raw syscall tracepoints.
NR_CONNECT=$(printf '#include <sys/syscall.h>\nSYS_connect\n' | cc -E -P - | tail -1)
cat >"$W/floor_raw.bpf.c" <<EOF
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
__u64 seen;
SEC("tp_btf/sys_enter") int BPF_PROG(enter, struct pt_regs *regs, long id)
{
	if (id == $NR_CONNECT)
		seen++;
	return 0;
}
SEC("tp_btf/sys_exit") int BPF_PROG(leave, struct pt_regs *regs, long ret)
{
	if (regs->orig_ax == $NR_CONNECT)
		seen++;
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
EOF
FLOORS=1
cc -O2 -o "$W/bpf_loader" bench/bpf_loader.c -lbpf -lelf -lz 2>"$W/cc.err" || FLOORS=0
for f in bench/empty.bpf.c:floor_tp "$W/floor_raw.bpf.c":floor_raw; do
	[ "$FLOORS" = 1 ] || break
	clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$BUILD" \
		-I"/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
		-c "${f%%:*}" -o "$W/${f##*:}.bpf.o" 2>>"$W/cc.err" || FLOORS=0
done
[ "$FLOORS" = 1 ] || echo "bench/storm.sh: no f/g floors: $(head -c 300 "$W/cc.err")" >&2

# "WALL CPU" ns per connect from connstorm's line.
ns_of() { sed -n 's/.* ns_per_connect=\([0-9.]*\) cpu_ns_per_connect=\([0-9.]*\).*/\1 \2/p' "$1"; }
# "WALL CPU" ns per getppid() from sysloop's line.
sys_ns() { sed -n 's/.* ns_per_call=\([0-9.]*\) cpu_ns_per_call=\([0-9.]*\).*/\1 \2/p'; }
# wait_file F: until F exists and is non-empty (the recorder is ready).
wait_file() {
	for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}
# storm: the connect storm, then the getppid loop; "WALL CPU SYSWALL SYSCPU".
storm() {
	"$STORM" "$N" --warmup 10000 >"$W/out"
	echo "$(ns_of "$W/out") $("$W/sysloop" "$SYSCALLS" | sys_ns)"
}

run_none() { storm; }

run_record() { # BINARY [RECORD ARGS..]
	local bin=$1
	shift
	rm -f "$W/t.ctr"
	"$bin" record -o "$W/t.ctr" "$@" 2>"$W/rec.err" &
	local rec=$!
	wait_file "$W/t.ctr" || { echo "bench/storm.sh: record did not start" >&2; kill $rec; return 1; }
	storm
	kill -INT $rec
	wait $rec
	sed -n 's/^conntrail record: \([0-9]*\) events, \([0-9]*\) lost, .* \([0-9]*\) bytes, .*/\1 \2 \3/p' "$W/rec.err" >"$W/rec.sum"
}

run_floor() { # OBJECT
	"$W/bpf_loader" "$1" >"$W/loader.out" 2>"$W/loader.err" </dev/null &
	local l=$!
	for _ in $(seq 400); do grep -q ready "$W/loader.out" && break; sleep 0.05; done
	grep -q ready "$W/loader.out" || { echo "bench/storm.sh: $1 did not load: $(head -c 200 "$W/loader.err")" >&2; kill $l; wait $l; return 1; }
	storm
	kill -INT $l
	wait $l
}

# run_perf EVENT [FILTER]: perf recording EVENT system-wide during the storm;
# also notes how many samples perf really got (perf.samples).
run_perf() {
	rm -f "$W/perf.data" "$W/ctl" "$W/ack"
	mkfifo "$W/ctl" "$W/ack"
	# Start disabled and enable through the control fifo: its ack says the
	# events are on, which a sleep could only guess.
	perf record -q -D -1 --control "fifo:$W/ctl,$W/ack" -e "$1" ${2:+--filter "$2"} -a \
		-o "$W/perf.data" 2>"$W/perf.err" &
	local p=$!
	exec 7<>"$W/ctl" 8<>"$W/ack"
	echo enable >&7
	if ! timeout 30 head -c 4 <&8 >/dev/null; then
		echo "bench/storm.sh: perf did not acknowledge enable" >&2
		kill $p
		exec 7>&- 8>&-
		return 1
	fi
	storm
	kill -INT $p
	wait $p
	exec 7>&- 8>&-
	perf report -i "$W/perf.data" --stats 2>/dev/null |
		sed -n 's/^ *SAMPLE events: *\([0-9]*\).*/\1/p' | head -1 >"$W/perf.samples"
	[ -s "$W/perf.samples" ] || echo 0 >"$W/perf.samples" # no SAMPLE line: none
}

# BPF programs someone else has on syscall tracepoints right now (other
# engineers' tests on a shared machine): they slow every configuration.
foreign_tracers() { bpftool perf list 2>/dev/null | grep -c 'sys_e[a-z_]*'; }
# Before a round, give short-lived foreign tracers up to 10 s to finish.
wait_quiet() {
	for _ in $(seq 50); do
		[ "$(foreign_tracers)" -eq 0 ] && return 0
		sleep 0.2
	done
	return 1
}
# note_foreign CONFIG: called before and after each run, when ours is off.
note_foreign() { [ "$(foreign_tracers)" -eq 0 ] || echo "$1" >>"$W/foreign"; }

# median COLUMN: of that column of stdin.
median() { awk -v c="$1" '{print $c}' | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

for f in a b c c0 d e f g sums sums0 dsamples esamples foreign; do : >"$W/$f"; done
for r in $(seq "$ROUNDS"); do
	wait_quiet
	note_foreign "$r a"
	run_none >>"$W/a"
	note_foreign "$r b"
	run_record "$CT" -p 1 >>"$W/b"
	note_foreign "$r c"
	run_record "$CT" >>"$W/c" && cat "$W/rec.sum" >>"$W/sums"
	if [ -n "$CT_BEFORE" ]; then
		note_foreign "$r c0"
		run_record "$CT_BEFORE" >>"$W/c0" && cat "$W/rec.sum" >>"$W/sums0"
	fi
	note_foreign "$r d"
	run_perf syscalls:sys_enter_connect >>"$W/d" && cat "$W/perf.samples" >>"$W/dsamples"
	note_foreign "$r e"
	run_perf raw_syscalls:sys_enter 'id == 42' >>"$W/e" && cat "$W/perf.samples" >>"$W/esamples"
	if [ "$FLOORS" = 1 ]; then
		note_foreign "$r f"
		run_floor "$W/floor_tp.bpf.o" >>"$W/f"
		note_foreign "$r g"
		run_floor "$W/floor_raw.bpf.o" >>"$W/g"
	fi
	note_foreign "$r end"
	echo "round $r: none $(tail -1 "$W/a" | cut -d' ' -f1,2), floor $(tail -1 "$W/b" | cut -d' ' -f1,2), record $(tail -1 "$W/c" | cut -d' ' -f1,2), perf $(tail -1 "$W/d" | cut -d' ' -f1,2) ($(tail -1 "$W/dsamples") samples), perf-raw $(tail -1 "$W/e" | cut -d' ' -f1,2) ($(tail -1 "$W/esamples") samples) (wall cpu ns); record events/lost/bytes: $(tail -1 "$W/sums")${CT_BEFORE:+; before $(tail -1 "$W/c0" | cut -d' ' -f1,2)}; floors f $(tail -1 "$W/f" | cut -d' ' -f1,2), g $(tail -1 "$W/g" | cut -d' ' -f1,2)" >&2
done
# row LABEL FILE COLUMN BASE [EXTRA]: one line of a report.
row() {
	local v
	[ -s "$2" ] || return 0
	v=$(median "$3" <"$2")
	printf '  %-16s%8.1f   /a %.3f  (%+.1f%%)%s\n' "$1" "$v" "$(echo "$v / $4" | bc -l)" "$(echo "($v / $4 - 1) * 100" | bc -l)" "${5:-}"
}
report() { # report LABEL COLUMN
	local a b c d e
	a=$(median "$2" <"$W/a")
	b=$(median "$2" <"$W/b")
	c=$(median "$2" <"$W/c")
	d=$(median "$2" <"$W/d")
	e=$(median "$2" <"$W/e")
	echo "$1 (medians, ns per connect):"
	printf '  a none          %8.1f\n' "$a"
	printf '  b floor (-p 1)  %8.1f   b/a %.3f  (%+.1f%%)\n' "$b" "$(echo "$b / $a" | bc -l)" "$(echo "($b / $a - 1) * 100" | bc -l)"
	printf '  c record        %8.1f   c/a %.3f  (%+.1f%%)\n' "$c" "$(echo "$c / $a" | bc -l)" "$(echo "($c / $a - 1) * 100" | bc -l)"
	printf '  d perf connect  %8.1f   d/a %.3f  (%+.1f%%)  samples/round: %s\n' "$d" "$(echo "$d / $a" | bc -l)" "$(echo "($d / $a - 1) * 100" | bc -l)" "$(xargs <"$W/dsamples")"
	printf '  e perf raw      %8.1f   e/a %.3f  (%+.1f%%)  samples/round: %s\n' "$e" "$(echo "$e / $a" | bc -l)" "$(echo "($e / $a - 1) * 100" | bc -l)" "$(xargs <"$W/esamples")"
}
# extra LABEL COLUMN: the rows after e, and added cost record / perf.
extra() {
	local a c d
	a=$(median "$2" <"$W/a")
	c=$(median "$2" <"$W/c")
	d=$(median "$2" <"$W/d")
	row "c0 record before" "$W/c0" "$2" "$a"
	row "f empty sys_*_connect" "$W/f" "$2" "$a"
	row "g empty tp_btf sys_*" "$W/g" "$2" "$a"
	printf '  added cost, record / perf connect ((c-a)/(d-a)): %.2f\n' "$(echo "($c - $a) / ($d - $a)" | bc -l)"
	if [ -s "$W/c0" ]; then
		local c0
		c0=$(median "$2" <"$W/c0")
		printf '  added cost, before: (c0-a)/(d-a) %.2f; record - before: %+.1f ns\n' "$(echo "($c0 - $a) / ($d - $a)" | bc -l)" "$(echo "$c - $c0" | bc -l)"
	fi
}
echo "UDP connect storm, $N connects x $ROUNDS rounds, backend $(sed -n 's/.*backend \([a-z]*\),.*/\1/p' "$W/rec.err")"
report "storm thread CPU time (user+sys, BPF included)" 2
report "wall clock (noisy on a shared machine)" 1
lost=$(awk '{s += $2} END {print s + 0}' "$W/sums")
bpe=$(awk '{e += $1; b += $3} END {printf "%.2f", e ? b / e : 0}' "$W/sums")
echo "record: lost $lost events over all rounds; $bpe bytes per event (zstd)"
echo "more rows, storm thread CPU time (medians, ns per connect):"
extra "cpu" 2
[ -s "$W/sums0" ] && echo "record before: lost $(awk '{s += $2} END {print s + 0}' "$W/sums0") events over all rounds"
[ -s "$W/foreign" ] && echo "note: other BPF programs were on syscall tracepoints around these runs (round config): $(sort -u "$W/foreign" | xargs); they slow every configuration and disturb the getppid loop"
echo "other syscalls: getppid() x $SYSCALLS right after each storm, same configuration (medians, CPU ns per call; added = minus a):"
a=$(median 4 <"$W/a")
printf '  a none          %8.1f\n' "$a"
for k in "b floor (-p 1):b" "c record:c" "c0 record before:c0" "d perf connect:d" "e perf raw:e" "f empty sys_*_connect:f" "g empty tp_btf sys_*:g"; do
	[ -s "$W/${k##*:}" ] || continue
	v=$(median 4 <"$W/${k##*:}")
	printf '  %-16s%8.1f   added %+6.1f ns a call\n' "${k%:*}" "$v" "$(echo "$v - $a" | bc -l)"
done
