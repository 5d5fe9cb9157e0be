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
# libFuzzer ends each run with "Done N runs in S second(s)".
runs=$(grep -o -E 'Done [0-9]+ runs' "$TMP/fuzz.log" | awk '{print $2}')
done_count=$(echo "$runs" | grep -c .)
execs=$(echo "$runs" | awk '{s += $1} END {print s + 0}')
per=$(echo "$runs" | tr '\n' '+' | sed 's/+$//')
crashes=$(grep -c -E '==[0-9]+==ERROR|deadly signal|SUMMARY: (Address|Undefined|Leak)Sanitizer|runtime error:|Test unit written to' "$TMP/fuzz.log")
expect_eq "fuzz run.sh exit status" 0 "$st"
expect_eq "harnesses that finished a run" "$harnesses" "$done_count"
expect_eq "crash reports" 0 "$crashes"
[ "$execs" -gt 0 ] || fail "no fuzz executions"
[ "$st" -eq 0 ] || tail -n 20 "$TMP/fuzz.log"
echo "R2 fuzz: $harnesses harnesses x ${SECS} s, $execs executions ($per), $crashes crashes"
done_testing
