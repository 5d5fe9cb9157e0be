# bench/parts/record.sh: P1 (connect storms), P6 (other syscalls' tax) and
# P7 (record --flush): what recording costs.
# Sourced by bench/run.sh, whose settings (W, CT, HB, SCALE, ROUNDS, ...)
# and helpers it uses.

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
	"$@" >"$W/under.out" 2>"$W/under.err" || rc=$?
	[ -n "$TPID" ] && c1=$(proc_cpu_ns "$TPID")
	UNDER_CPU=$((c1 - c0))
	"stop_$cfg"
	# a workload that failed says so where the tracer's start had nothing to say
	[ $rc -eq 0 ] || START_ERR=${START_ERR:-"$1 exited $rc: $(head -c 200 "$W/under.err")"}
	return $((rc != 0))
}

# storm_under CFG MODE N [TAG]: the storm under tracer CFG (TAG: MODE);
# its output in OUT, its pid in SPID, and p1.MODE.CFG_tracer_cpu, what the
# tracer spent per connect (on the other core).
storm_under() {
	under "$1" "${4:-$2}" "$HB/storm" "$2" "$3" || return 1
	OUT=$(cat "$W/under.out")
	SPID=$(kv pid "$OUT")
	put "p1.$2.$1_tracer_cpu" "$(per_n "$UNDER_CPU" "$3")"
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
	local mode=$1 file=$W/storm-$1.ctr
	storm_under c "$mode" "$2" "storm-$mode" || { log "record: $START_ERR"; return 1; }
	put "p5.record_rss_kib.$mode" "$STOP_HWM"
	local summary lost
	summary=$(grep -v '^\s*$' "$W/rec.err" | tail -n 1)
	lost=$(ct_lost "$file")
	[ -n "$lost" ] && put "p1.$mode.c_lost" "$lost"
	put "p1.$mode.c_summary" "$summary"
	local events captured
	events=$(ct_events "$file")
	[ -n "$events" ] && put "p1.$mode.c_events" "$events"
	# The trace is system-wide: count the storm's own connects in it.
	captured=$("$CT" report "$file" --filter "pid == $SPID" --json 2>/dev/null | jq -r '.events')
	[ -n "$captured" ] && put "p1.$mode.c_captured" "$captured"
	storm_fig "$OUT"
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
	local mode=$1 bt=$W/bt-$1.out
	storm_under e "$mode" "$2" || { log "$START_ERR"; return 1; }
	put "p5.bpftrace_rss_kib.$mode" "$STOP_HWM"
	put "p1.$mode.e_captured" "$(awk -v p="$SPID" '$2 == p' "$bt" | wc -l)"
	put "p1.$mode.e_lost" "$(awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }' "$bt")"
	put "p1.$mode.e_bytes" "$(fsize "$bt")"
	put "p1.$mode.e_lines" "$(grep -c ' ret=' "$bt")"
	storm_fig "$OUT"
}

storm_f() {
	local mode=$1 scap=$W/sysdig-$1.scap
	storm_under f "$mode" "$2" || { log "$START_ERR"; return 1; }
	put "p5.sysdig_rss_kib.$mode" "$STOP_HWM"
	put "p1.$mode.f_captured" "$(sysdig -r "$scap" "evt.type=connect and evt.dir=< and proc.pid=$SPID" 2>/dev/null | wc -l)"
	put "p1.$mode.f_events" "$(sysdig -r "$scap" "evt.type=connect and evt.dir=<" 2>/dev/null | wc -l)"
	put "p1.$mode.f_bytes" "$(fsize "$scap")"
	storm_fig "$OUT"
}

storm_i() {
	storm_under i "$1" "$2" || { log "base record: $START_ERR"; return 1; }
	storm_fig "$OUT"
}

storm_g() {
	storm_under g "$1" "$2" || { log "cgroup sock_addr: $START_ERR"; return 1; }
	# Every connect on the machine while it ran, the storm's included.
	put "p1.$1.g_records" "$(kv records "$(cat "$W/loader.out")")"
	storm_fig "$OUT"
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
	# a per-connect figure: a shorter storm gives it as well
	bpf_cost "$mode" "$((n < 100000 ? n : 100000))"
}

# ------------------------------------- P1 the programs' own run time
# The storm's CPU moves by more than a microsecond per connect from round
# to round; the kernel's own account of its BPF programs does not
# (kernel.bpf_stats_enabled: run time and runs of each program). After the
# timed rounds, since the stats add a clock read to every run, record (c),
# record at base (i) and the two empty floors (h, b) each run the storm
# BPF_COST_ROUNDS more times (default 3): what each program loaded since
# the tracer started spent, per connect the storm made (its warm-up
# included), as p1.MODE.bpf.CFG (total) and p1.MODE.bpf.CFG.PROGRAM.
bpf_prog_times() {
	bpftool prog show -j 2>/dev/null |
		jq -r '.[] | "\(.id) \(.name // "-") \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

bpf_cost() {
	local mode=$1 n=$2 old c r before t0 t1 made
	if ! old=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) || ! command -v bpftool >/dev/null; then
		put "p1.$mode.bpf_na" "no kernel.bpf_stats_enabled or no bpftool"
		return 0
	fi
	made=$(made "$n")
	log "P1 $mode: BPF run time per connect (kernel.bpf_stats_enabled)"
	BPF_STATS_OLD=$old
	sysctl -qw kernel.bpf_stats_enabled=1
	for ((r = 1; r <= ${BPF_COST_ROUNDS:-3}; r++)); do
		for c in c i h b; do
			[[ " $P1_CONFIGS " == *" $c "* ]] || continue
			before=$(bpf_prog_times)
			if ! "start_$c" "bpfcost-$mode"; then
				log "  bpf_stats $c: $START_ERR"
				continue
			fi
			t0=$(bpf_prog_times)
			if "$HB/storm" "$mode" "$n" >"$W/under.out" 2>"$W/under.err"; then
				t1=$(bpf_prog_times)
			else
				t1=
			fi
			"stop_$c"
			[ -n "$t1" ] || { log "  bpf_stats $c: the storm failed"; continue; }
			# The tracer's programs: the ids that were not there before it.
			awk -v made="$made" -v key="p1.$mode.bpf.$c" '
				FNR == 1 { f++ }
				f == 1 { had[$1] = 1; next }
				f == 2 { if (!($1 in had)) { name[$1] = $2; rt[$1] = $3 }; next }
				($1 in name) { per[name[$1]] += ($3 - rt[$1]) / made }
				END { for (p in per) { printf "%s.%s\t%.1f\n", key, p, per[p]; s += per[p]; k++ }
				      if (k) printf "%s\t%.1f\n", key, s }' \
				<(echo "$before") <(echo "$t0") <(echo "$t1") >>"$RAW"
			log "  bpf_stats round $r $c: $(awk -F'\t' -v k="p1.$mode.bpf.$c" '$1 == k { v = $2 } END { print v }' "$RAW") ns per connect"
		done
	done
	sysctl -qw kernel.bpf_stats_enabled="$old"
	BPF_STATS_OLD=
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
