#!/usr/bin/env bash
# bench/storm.sh: what `conntrail record` adds to a UDP connect() storm, next
# to perf recording the same tracepoint. Runs as root, alternating
#   a  no tracing
#   c  conntrail record (system-wide, zstd, default buffer)
#   d  perf record -e syscalls:sys_enter_connect -a
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

ns_of() { sed -n 's/.*ns_per_connect=\([0-9.]*\).*/\1/p' "$1"; }
# wait_file F: until F exists and is non-empty (the recorder is ready).
wait_file() {
	for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

run_none() { "$STORM" "$N" --warmup 10000 >"$W/out"; ns_of "$W/out"; }

run_record() {
	rm -f "$W/t.ctr"
	"$CT" record -o "$W/t.ctr" 2>"$W/rec.err" &
	local rec=$!
	wait_file "$W/t.ctr" || { echo "bench/storm.sh: record did not start" >&2; kill $rec; return 1; }
	"$STORM" "$N" --warmup 10000 >"$W/out"
	kill -INT $rec
	wait $rec
	ns_of "$W/out"
	sed -n 's/^conntrail record: \([0-9]*\) events, \([0-9]*\) lost, .* \([0-9]*\) bytes, .*/\1 \2 \3/p' "$W/rec.err" >"$W/rec.sum"
}

run_perf() {
	rm -f "$W/perf.data"
	perf record -q -e syscalls:sys_enter_connect -a -o "$W/perf.data" 2>"$W/perf.err" &
	local p=$!
	wait_file "$W/perf.data" || { kill $p; return 1; }
	sleep 0.5 # perf writes its header before the events are enabled
	"$STORM" "$N" --warmup 10000 >"$W/out"
	kill -INT $p
	wait $p
	ns_of "$W/out"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

: >"$W/a" ; : >"$W/c" ; : >"$W/d"; : >"$W/sums"
for r in $(seq "$ROUNDS"); do
	run_none >>"$W/a"
	run_record >>"$W/c" && cat "$W/rec.sum" >>"$W/sums"
	run_perf >>"$W/d"
	echo "round $r: none $(tail -1 "$W/a") ns, record $(tail -1 "$W/c") ns, perf $(tail -1 "$W/d") ns; record events/lost/bytes: $(tail -1 "$W/sums")" >&2
done
a=$(median <"$W/a")
c=$(median <"$W/c")
d=$(median <"$W/d")
lost=$(awk '{s += $2} END {print s + 0}' "$W/sums")
bpe=$(awk '{e += $1; b += $3} END {printf "%.2f", e ? b / e : 0}' "$W/sums")
echo "UDP connect storm, $N connects x $ROUNDS rounds (medians, ns per connect):"
printf '  a none     %8.1f\n  c record   %8.1f   c/a %.3f  (+%.1f%%)\n  d perf     %8.1f   d/a %.3f  (+%.1f%%)\n' \
	"$a" "$c" "$(echo "$c / $a" | bc -l)" "$(echo "($c / $a - 1) * 100" | bc -l)" \
	"$d" "$(echo "$d / $a" | bc -l)" "$(echo "($d / $a - 1) * 100" | bc -l)"
printf '  added cost record/perf  %.2f\n' "$(echo "($c - $a) / ($d - $a)" | bc -l)"
echo "  record: lost $lost events over all rounds; $bpe bytes per event (zstd)"
