# bench/parts/dns.sh: P9, the DNS hook (opt-in).
# Sourced by bench/run.sh, whose settings (W, CT, HB, SCALE, ROUNDS, ...)
# and helpers it uses.

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
