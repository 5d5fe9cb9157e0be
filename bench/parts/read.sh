# bench/parts/read.sh: P2 (convert, tshark), P3 (read speed, --jobs) and
# P4 (the index): what reading costs.
# Sourced by bench/run.sh, whose settings (W, CT, HB, SCALE, ROUNDS, ...)
# and helpers it uses.

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
# KEY_rss. With REPEAT set, the median of that many runs in a row.
timed() {
	local key=$1 wall cpu rss
	shift
	if "$HB/runstat" -r "${REPEAT:-1}" "$W/timed.stat" "$@" 2>"$W/timed.err"; then
		read -r wall cpu rss <"$W/timed.stat"
		put "$key" "$cpu"
		put "${key}_wall" "$wall"
		put "${key}_rss" "$rss"
	else
		log "$key failed: $(head -c 300 "$W/timed.err")"
		return 1
	fi
}

# ct_timed KEY [--this ARG] ARGS..: timed KEY "$CT" ARGS..; with CT_BASE
# set, also timed KEY with "base." after its part ("p3.base.report_ns")
# "$CT_BASE" ARGS.., the two in turn first ($ROUND) so neither always finds
# the other's page cache. --this ARG: ARG (words) for this build only, e.g.
# "--jobs 1", which the base does not know.
ct_timed() {
	local key=$1 bkey this=()
	shift
	if [ "$1" = --this ]; then
		read -ra this <<<"$2"
		shift 2
	fi
	if [ -z "$CT_BASE" ]; then
		timed "$key" "$CT" "$@" "${this[@]}"
		return
	fi
	bkey=${key%%.*}.base.${key#*.}
	if ((ROUND % 2)); then
		timed "$key" "$CT" "$@" "${this[@]}"
		timed "$bkey" "$CT_BASE" "$@"
	else
		timed "$bkey" "$CT_BASE" "$@"
		timed "$key" "$CT" "$@" "${this[@]}"
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
		"$GEN" --profile mixed --compress zstd -n "$JOBS_N" -o "$W/jobs.ctr" 2>/dev/null ||
			rm -f "$W/jobs.ctr"
		"$GEN" --compress zstd -n "$SMALL_N" -o "$W/small.ctr" 2>/dev/null &&
			"$CT" convert "$W/small.ctr" -o "$W/small.pcapng" --to pcapng 2>/dev/null
		[ -s "$W/small.ctr" ] && put p3.small_events "$(ct_events "$W/small.ctr")"
		[ -s "$W/small.pcapng" ] &&
			put p3.tshark_lines "$(tshark -r "$W/small.pcapng" 2>/dev/null | wc -l)"
	fi
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		round_ok $ROUND P3 || break
		# Runs of tens of milliseconds: the median of a few a round.
		if [ -s "$STORM" ]; then
			REPEAT=5 ct_timed p3.report_ns report "$STORM"
			REPEAT=5 ct_timed p3.script_ns script "$STORM"
			REPEAT=3 ct_timed p3.convert_ns convert "$STORM" -o "$W/storm.pcapng" --to pcapng
		fi
		[ -s "$PERFDATA" ] && timed p3.perf_script_ns perf script -i "$PERFDATA"
		# Formatting on 1 and 2 threads; convert's CSV to /dev/null, so
		# that the disk (and the fsync before the rename) is not what is
		# measured.
		if [ -s "$W/jobs.ctr" ]; then
			jobs_pair p3.jobs_script script -q "$W/jobs.ctr"
			jobs_pair p3.jobs_convert convert -q "$W/jobs.ctr" -o /dev/null --to csv
		fi
		if [ -s "$W/small.pcapng" ]; then
			REPEAT=5 ct_timed p3.convert_small_ns convert "$W/small.ctr" \
				-o "$W/small2.pcapng" --to pcapng
			timed p3.tshark_ns tshark -r "$W/small.pcapng"
		fi
	done
	[ -s "$W/jobs.ctr" ] && put p3.jobs_events "$(ct_events "$W/jobs.ctr")"
	rm -f "$W/storm.pcapng" "$W/small2.pcapng" "$W/jobs.ctr"
}

p4() {
	# Same seed, same file: kept in $HB between runs until the generator
	# is rebuilt.
	local big=$HB/big-$BIG_N$GEN_TAG.ctr truth=$HB/big-$BIG_N$GEN_TAG.truth.json t0
	if [ ! -s "$big" ] || [ ! -s "$truth" ] || [ "$GEN" -nt "$big" ]; then
		log "P4 index: generating $BIG_N events (mixed profile)"
		rm -f "$big" "$truth"
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
		# against the base (one thread) on one thread: the same work;
		# the default (threads) CPU and wall beside it
		ct_timed p4.full1_ns --this "--jobs 1" report "$big"
		timed p4.full_ns "$CT" report "$big"
		jobs_pair p4.full report -q "$big"
		REPEAT=5 ct_timed p4.window_ns report "$big" --since "$since" --until "$until"
		REPEAT=5 ct_timed p4.rare_ns report "$big" --filter "daddr == $rare"
		REPEAT=5 ct_timed p4.absent_ns report "$big" --filter "daddr == $absent"
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
