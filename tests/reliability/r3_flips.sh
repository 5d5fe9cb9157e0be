#!/usr/bin/env bash
# R3: random bit flips, byte flips and truncations of sample traces. In
# memory through the library (rel_flip: each damaged copy read in a child
# under an alarm), then a sample of damaged files through the CLI.
source tests/lib.sh
source tests/reliability/common.sh
need_file R3 "$REL_FLIP"
FLIPS=${R3_FLIPS:-1000}
TRUNCS=${R3_TRUNCS:-100}
CLI_COUNT=${R3_CLI:-40}
SEED=${R3_SEED:-$(date +%s)}
echo "seed $SEED (R3_SEED=$SEED to repeat)"

files=()
for f in "$SAMPLES"/*.ctr; do [ -f "$f" ] && files+=("$f"); done
[ ${#files[@]} -gt 0 ] || fail "no samples/*.ctr"
# Traces in many small chunks, so one flip hits one chunk among many; one
# per codec.
for codec in zstd zlib none; do
	f=$TMP/small-chunks-$codec.ctr
	[ $codec = zstd ] && f=$TMP/small-chunks.ctr
	if "$REL_FLIP" --make-trace "$f" --events 3000 --chunk-events 50 --compress $codec; then
		files+=("$f")
	else
		fail "rel_flip --make-trace --compress $codec failed"
	fi
done
if [ -x "$GEN" ]; then
	if "$GEN" -n 5000 --seed 7 --profile mixed -o "$TMP/gen.ctr" 2>"$TMP/gen.err"; then
		files+=("$TMP/gen.ctr")
	else
		fail "conntrail-gen failed: $(head -c 200 "$TMP/gen.err")"
	fi
else
	fail "$GEN missing"
fi

lib_summary="not run"
if [ ${#files[@]} -gt 0 ]; then
	st=0
	T_CHECKS=$((T_CHECKS + 1))
	lib_summary=$("$REL_FLIP" --seed "$SEED" --flips "$FLIPS" --truncs "$TRUNCS" "${files[@]}") || st=$?
	[ "$st" -eq 0 ] || fail "library: $lib_summary (exit $(status_word $st))"
fi

# missing_from JSONL MUST: how many "ts_ns tid dport" lines of MUST the
# script --json output JSONL lacks (as multisets).
missing_from() {
	python3 -c '
import json, sys
have = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    k = (e["ts_ns"], e["tid"], e.get("dport", 0))
    have[k] = have.get(k, 0) + 1
miss = 0
for line in open(sys.argv[2]):
    ts, tid, dport = map(int, line.split())
    k = (ts, tid, dport)
    if have.get(k, 0) > 0:
        have[k] -= 1
    else:
        miss += 1
print(miss)' "$1" "$2" 2>&1
}

# Through the CLI: script --json and info on damaged copies of the
# small-chunk trace; the events of untouched chunks must be printed.
cli_runs=0
cli_bad=0
if [ -f "$TMP/small-chunks.ctr" ]; then
	mkdir -p "$TMP/cli"
	"$REL_FLIP" --seed "$SEED" --emit "$TMP/cli" --count "$CLI_COUNT" "$TMP/small-chunks.ctr" ||
		fail "rel_flip --emit failed"
	for m in "$TMP"/cli/*.meta; do
		[ -f "$m" ] || continue
		k=${m%.meta}
		read -r region lib_damage lib_openfail <"$m"
		cli_runs=$((cli_runs + 1))
		T_CHECKS=$((T_CHECKS + 1))
		bad=""
		st=0
		timeout 10 "$CONNTRAIL" script --json "$k.ctr" >"$k.json" 2>"$k.err" || st=$?
		ist=0
		timeout 10 "$CONNTRAIL" info "$k.ctr" >"$k.info" 2>&1 || ist=$?
		# And as a stream (no index, no seeking), like a pipe from ssh.
		pst=0
		timeout 10 "$CONNTRAIL" script --json - <"$k.ctr" >"$k.pjson" 2>"$k.perr" || pst=$?
		if [ "$st" -gt 1 ]; then
			bad="script exit $(status_word $st)"
		elif [ "$pst" -gt 1 ]; then
			bad="script - (stdin) exit $(status_word $pst)"
		elif [ "$ist" -gt 1 ]; then
			bad="info exit $(status_word $ist)"
		elif grep -q -E 'AddressSanitizer|runtime error' "$k.err" "$k.info" "$k.perr"; then
			bad="sanitizer report"
		elif [ "$lib_openfail" = 1 ] && [ "$st" -ne 1 ]; then
			bad="unreadable header but script exit $st"
		elif [ "$lib_openfail" = 0 ]; then
			miss=$(missing_from "$k.json" "$k.must")
			pmiss=$(missing_from "$k.pjson" "$k.must")
			if [ "$miss" != 0 ]; then
				bad="$miss events of untouched chunks missing from script --json ($region)"
			elif [ "$pmiss" != 0 ]; then
				bad="$pmiss events of untouched chunks missing from script --json - (stdin, $region)"
			elif [ "$lib_damage" = 1 ] && ! [ -s "$k.err" ]; then
				bad="library saw damage, script said nothing on stderr"
			fi
		fi
		if [ -n "$bad" ]; then
			cli_bad=$((cli_bad + 1))
			fail "CLI $(basename "$k").ctr ($region): $bad"
			cp "$k.ctr" "/tmp/ct-rel-r3-$(basename "$k").ctr" 2>/dev/null
		fi
	done
fi
echo "R3 bit-flips: $lib_summary; CLI: $cli_runs damaged files read by script (file and stdin) and info, $cli_bad bad"
done_testing
