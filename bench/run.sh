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
#   BENCH_TIE      a traced median below its floor by less than this
#                  fraction is a tie (1.00); by more, the run fails (0.02)
#   BENCH_TMP      where scratch files go (default /var/tmp: a real disk)
#   BENCH_KEEP=1   keep the scratch directory
#   BENCH_BUDGET   seconds of P3/P4 after which they stop adding rounds (300)
#   BENCH_PARTS    which parts to run (default "p1 p6 p7 p2 p3 p4"; P5 rides along;
#                  p8, ClickHouse, is opt-in: BENCH_PARTS=p8, see p8 below;
#                  so is p9, the DNS hook: BENCH_PARTS=p9)
#   BENCH_P1_MODES which P1 storms (default "udp udp-fresh tcp tcp-nb")
#   BENCH_GEN      the conntrail-gen that writes the generated traces
#                  (default: this build's; an older one's traces let
#                  CT_BASE read exactly what this build reads)
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
GEN=${BENCH_GEN:-$PWD/$BUILD/conntrail-gen}
# Traces another generator wrote are kept apart from this build's.
GEN_TAG=${BENCH_GEN:+-gen$(cksum <<<"$BENCH_GEN" | cut -d' ' -f1)}
HB=$PWD/$BUILD/bench
CT_BASE=${CT_BASE:-}
P1_MODES=${BENCH_P1_MODES:-udp udp-fresh tcp tcp-nb}
CGROOT=${BENCH_CGROUP:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)}
W=$(mktemp -d "${BENCH_TMP:-/var/tmp}/ct-bench.XXXXXX") || exit 1
RAW=$W/raw.tsv
: >"$RAW"
BG_PIDS=$W/bg.pids # tracers started in the background (from subshells too)
START=$SECONDS

# The helpers, the configurations and the parts, one file each.
for f in lib/common.sh lib/tracers.sh parts/record.sh parts/read.sh parts/clickhouse.sh \
	parts/dns.sh; do
	# shellcheck source=/dev/null
	. "bench/$f"
done
trap cleanup EXIT
trap 'exit 130' INT TERM

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
# script and convert at --jobs 1 and 2: long enough (a second or more) for
# the threads' start and a round's noise to count for little.
JOBS_N=$(scaled 10000000)

# ------------------------------------------------------------------ main
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
			for mode in $P1_MODES; do
				case $mode in
				udp) p1 udp "$UDP_N" ;;
				udp-fresh) p1 udp-fresh "$FRESH_N" ;;
				tcp | tcp-nb) p1 "$mode" "$TCP_N" ;;
				*) note "BENCH_P1_MODES: no storm '$mode'" ;;
				esac
			done
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
