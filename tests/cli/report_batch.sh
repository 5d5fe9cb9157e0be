#!/usr/bin/env bash
# A report counts the reader's batches (per chunk task and destination);
# a filter keeps the rows it matches as a batch of their own. 'tid >= 0'
# matches every event, so adding it must give exactly the same report,
# text and JSON, for every grouping, on traces with many small chunks,
# storms, UNIX and abstract destinations, failures, handshake outcomes and
# pid reuse, with and without a filter of its own.
. tests/lib.sh

"$GEN" -n 150000 --seed 5 --profile mixed --chunk-events 2000 -o "$TMP/m.ctr" ||
	fail "generator (mixed)"
"$GEN" -n 60000 --seed 9 --profile storm --chunk-events 7000 -o "$TMP/s.ctr" ||
	fail "generator (storm)"
"$GEN" -n 300000 --seed 31 --profile mixed -o "$TMP/big.ctr" || fail "generator (big)"

for trace in "$TMP/m.ctr" "$TMP/s.ctr" "$TMP/big.ctr" samples/recorded.ctr samples/small.ctr; do
	for args in "--json" "--top 40" "--by dest --top 100" "--by process" "--by port" \
		"--by family" "--by result --json"; do
		# shellcheck disable=SC2086
		"$CONNTRAIL" report -q $args "$trace" >"$TMP/batch.out" 2>"$TMP/batch.err" ||
			fail "report $args $trace: $(head -c 200 "$TMP/batch.err")"
		# shellcheck disable=SC2086
		"$CONNTRAIL" report -q $args --filter 'tid >= 0' "$trace" >"$TMP/each.out" \
			2>"$TMP/each.err" || fail "report --filter $args $trace: $(head -c 200 "$TMP/each.err")"
		check "same report ($args) on $(basename "$trace")" cmp "$TMP/batch.out" "$TMP/each.out"
	done
done
# Time windows cut chunks: the batches hold only their events inside, and
# the processes and destinations of the rest must not show up.
for win in "--since +40s --until +41.5s" "--since +75.25s" "--until +9.999s"; do
	# shellcheck disable=SC2086
	"$CONNTRAIL" report -q --json $win "$TMP/m.ctr" >"$TMP/batch.out" || fail "report $win"
	# shellcheck disable=SC2086
	"$CONNTRAIL" report -q --json $win --filter 'tid >= 0' "$TMP/m.ctr" >"$TMP/each.out" ||
		fail "report --filter $win"
	check "same report ($win)" cmp "$TMP/batch.out" "$TMP/each.out"
	check "window $win not empty" test "$(jq .events "$TMP/batch.out")" -gt 0
done
# Filters evaluated on batches (each event built from the chunk's tables)
# select exactly what they select event by event: process, destination,
# UNIX path, result and time fields, exe (the process table), negations.
for f in 'dport == 443' 'family == inet6 or comm == "curl"' 'daddr in 10.0.0.0/8' \
	'path ~ "*sock*"' 'ret == ECONNREFUSED' 'not ret == 0' 'uid == 0 and proto == udp' \
	'exe ~ "*bin*"' 'ts >= +30s and ts < +90s' 'pid > 1200' 'type == dgram'; do
	for trace in "$TMP/m.ctr" "$TMP/s.ctr"; do
		"$CONNTRAIL" report -q --json --filter "$f" "$trace" >"$TMP/batch.out" 2>"$TMP/batch.err" ||
			fail "report --filter '$f': $(head -c 200 "$TMP/batch.err")"
		"$CONNTRAIL" report -q --json --filter "($f) and tid >= 0" "$trace" >"$TMP/each.out" ||
			fail "report --filter '($f) and tid >= 0'"
		check "same filtered report ($f) on $(basename "$trace")" cmp "$TMP/batch.out" "$TMP/each.out"
	done
	# On the mixed trace every one of them selects some events, not all.
	"$CONNTRAIL" report -q --json --filter "$f" "$TMP/m.ctr" >"$TMP/batch.out"
	n=$(jq .events "$TMP/batch.out")
	check "filter '$f' selects some of the mixed trace ($n)" test "$n" -gt 0 -a "$n" -lt 150000
done
# The comparisons mean something only if the reports counted the events.
check "all events counted" test "$("$CONNTRAIL" report -q --json "$TMP/big.ctr" | jq .events)" = 300000
done_testing
