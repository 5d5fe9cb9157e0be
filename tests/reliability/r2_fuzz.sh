#!/usr/bin/env bash
# R2: the fuzz harnesses build and run a short time each (tests/fuzz/run.sh,
# FUZZ_SECONDS=10); reports executions and crashes. The long run is
# `make fuzz FUZZ_SECONDS=1800`.
source tests/lib.sh
source tests/reliability/common.sh
SECS=${R2_SECONDS:-10}
harnesses=$(ls tests/fuzz/fuzz_*.c 2>/dev/null | wc -l)
if [ ! -f tests/fuzz/run.sh ] || [ "$harnesses" -eq 0 ]; then
	echo "R2 fuzz: tests/fuzz/run.sh or tests/fuzz/fuzz_*.c missing"
	exit 1
fi
st=0
FUZZ_SECONDS=$SECS bash tests/fuzz/run.sh >"$TMP/fuzz.log" 2>&1 || st=$?
# Per harness: tests/fuzz/run.sh prints libFuzzer's final stats
# (stat::number_of_executed_units) and "PASS fuzz_NAME" or "FAIL fuzz_NAME".
runs=$(grep -o -E 'stat::number_of_executed_units: *[0-9]+' "$TMP/fuzz.log" | grep -o -E '[0-9]+$')
done_count=$(grep -c -E '^PASS fuzz_' "$TMP/fuzz.log")
execs=$(echo "$runs" | awk '{s += $1} END {print s + 0}')
per=$(awk '/^fuzz_[a-z_]+: / {name = $1; sub(":", "", name)}
	match($0, /stat::number_of_executed_units: *[0-9]+/) {
		n = substr($0, RSTART, RLENGTH); sub(/.*: */, "", n)
		printf "%s%s=%s", sep, name, n; sep = " "}' "$TMP/fuzz.log")
# A crashing harness is reported once, with what it hit.
crashes=$(grep -c -E '^FAIL fuzz_' "$TMP/fuzz.log")
grep -E 'runtime error:|==[0-9]+==ERROR|deadly signal|does not build' "$TMP/fuzz.log" | sort -u | head -n 5
expect_eq "fuzz run.sh exit status" 0 "$st"
expect_eq "harnesses that passed" "$harnesses" "$done_count"
expect_eq "crash reports" 0 "$crashes"
[ "$execs" -gt 0 ] || fail "no fuzz executions"
[ "$st" -eq 0 ] || tail -n 20 "$TMP/fuzz.log"
echo "R2 fuzz: $harnesses harnesses x ${SECS} s, $execs executions ($per), $crashes crashes"
done_testing
