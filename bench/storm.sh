#!/usr/bin/env bash
# bench/storm.sh: what `conntrail record` adds to a UDP connect() storm, next
# to perf recording the same tracepoint. Runs as root, alternating
#   a  no tracing
#   b  conntrail record -p 1: the hooks attached, every connect filtered
#      out in the kernel (the floor: syscall tracepoints + program entry)
#   c  conntrail record (system-wide, zstd, default buffer)
#   d  perf record -e syscalls:sys_enter_connect -a
#   e  perf record -e raw_syscalls:sys_enter --filter 'id == 42' -a (x86-64
#      connect): perf on every syscall, filtering in the kernel
# perf starts disabled and is enabled through its control fifo, so the storm
# only begins once its events are on; the sample counts are printed.
# in ROUNDS rounds (a c d a c d ...), so a shared machine's noise hits all
# three alike, and prints medians: ns per connect, the ratios, lost events
# and bytes per event. Only the storm's own loop is timed (connstorm).
#
#   STORM_N=2000000 ROUNDS=3 BUILD=build bash bench/storm.sh
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
N=${STORM_N:-2000000}
ROUNDS=${ROUNDS:-3}
CT=$PWD/$BUILD/conntrail
STORM=$PWD/$BUILD/tests/connstorm
W=$(mktemp -d /var/tmp/ct-storm.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench/storm.sh: needs root" >&2; exit 1; }
for f in "$CT" "$STORM"; do
	[ -x "$f" ] || { echo "bench/storm.sh: $f missing: run make first" >&2; exit 1; }
done
command -v perf >/dev/null || { echo "bench/storm.sh: perf is not installed" >&2; exit 1; }

# "WALL CPU" ns per connect from connstorm's line.
ns_of() { sed -n 's/.* ns_per_connect=\([0-9.]*\) cpu_ns_per_connect=\([0-9.]*\).*/\1 \2/p' "$1"; }
# wait_file F: until F exists and is non-empty (the recorder is ready).
wait_file() {
	for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

run_none() { "$STORM" "$N" --warmup 10000 >"$W/out"; ns_of "$W/out"; }

run_record() { # [RECORD ARGS..]
	rm -f "$W/t.ctr"
	"$CT" record -o "$W/t.ctr" "$@" 2>"$W/rec.err" &
	local rec=$!
	wait_file "$W/t.ctr" || { echo "bench/storm.sh: record did not start" >&2; kill $rec; return 1; }
	"$STORM" "$N" --warmup 10000 >"$W/out"
	kill -INT $rec
	wait $rec
	ns_of "$W/out"
	sed -n 's/^conntrail record: \([0-9]*\) events, \([0-9]*\) lost, .* \([0-9]*\) bytes, .*/\1 \2 \3/p' "$W/rec.err" >"$W/rec.sum"
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
	"$STORM" "$N" --warmup 10000 >"$W/out"
	kill -INT $p
	wait $p
	exec 7>&- 8>&-
	ns_of "$W/out"
	perf report -i "$W/perf.data" --stats 2>/dev/null |
		sed -n 's/^ *SAMPLE events: *\([0-9]*\).*/\1/p' | head -1 >"$W/perf.samples"
	[ -s "$W/perf.samples" ] || echo 0 >"$W/perf.samples" # no SAMPLE line: none
}

# median COLUMN: of that column of stdin.
median() { awk -v c="$1" '{print $c}' | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

: >"$W/a" ; : >"$W/b" ; : >"$W/c" ; : >"$W/d"; : >"$W/e"; : >"$W/sums"; : >"$W/dsamples"; : >"$W/esamples"
for r in $(seq "$ROUNDS"); do
	run_none >>"$W/a"
	run_record -p 1 >>"$W/b"
	run_record >>"$W/c" && cat "$W/rec.sum" >>"$W/sums"
	run_perf syscalls:sys_enter_connect >>"$W/d" && cat "$W/perf.samples" >>"$W/dsamples"
	run_perf raw_syscalls:sys_enter 'id == 42' >>"$W/e" && cat "$W/perf.samples" >>"$W/esamples"
	echo "round $r: none $(tail -1 "$W/a"), floor $(tail -1 "$W/b"), record $(tail -1 "$W/c"), perf $(tail -1 "$W/d") ($(tail -1 "$W/dsamples") samples), perf-raw $(tail -1 "$W/e") ($(tail -1 "$W/esamples") samples) (wall cpu ns); record events/lost/bytes: $(tail -1 "$W/sums")" >&2
done
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
echo "UDP connect storm, $N connects x $ROUNDS rounds, backend $(sed -n 's/.*backend \([a-z]*\),.*/\1/p' "$W/rec.err")"
report "storm thread CPU time (user+sys, BPF included)" 2
report "wall clock (noisy on a shared machine)" 1
lost=$(awk '{s += $2} END {print s + 0}' "$W/sums")
bpe=$(awk '{e += $1; b += $3} END {printf "%.2f", e ? b / e : 0}' "$W/sums")
echo "record: lost $lost events over all rounds; $bpe bytes per event (zstd)"
