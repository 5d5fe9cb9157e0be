#!/usr/bin/env bash
# make test-reliability: conntrail under kill -9, fuzzing, bit flips, a full
# disk, ring-buffer overload, bad input, and the security promises.
# Usage: tests/reliability/run.sh [r1 r2 ...]  (default: every part)
# Prints one summary line per part and a closing "N passed, N failed".
# Parts needing root (record) fail when not root: they are not skipped.
#   r1_kill9     record killed with SIGKILL under load (R1_RUNS, R1_RATE, R1_SLACK_MS)
#   r2_fuzz      tests/fuzz/run.sh for R2_SECONDS (10) per harness
#   r3_flips     bit/byte flips and truncations (R3_FLIPS, R3_TRUNCS, R3_CLI, R3_SEED)
#   r4_diskfull  record into a full 512 KiB tmpfs
#   r5_overload  storm against --buffer 4096 (R5_COUNT)
#   r6_badinput  bad command lines and files (also build-san/conntrail if built,
#                or REL_SAN_CONNTRAIL)
#   r7_security  0600 under umask 000, verdicts unchanged, symlinks refused
#   r8_crafted   hostile files from crafter.py (lying index, bombs, time
#                extremes, escapes) under ASan+UBSan (build-san/conntrail)
#   r9_paths     output paths: devices, FIFOs, symlinks, another user's FIFO
#                in a sticky dir, same inode, two recorders, long names
# Helpers: tests/helpers/rel_load.c (connect load), rel_flip.c (damage, stats).
set -u
cd "$(dirname "$0")/../.."
: "${BUILD:=build}"
export BUILD

parts=(r1_kill9 r2_fuzz r3_flips r4_diskfull r5_overload r6_badinput r7_security r8_crafted r9_paths)
# Each part's time limit in seconds.
declare -A limit=([r1_kill9]=120 [r2_fuzz]=100 [r3_flips]=180 [r4_diskfull]=45
	[r5_overload]=45 [r6_badinput]=60 [r7_security]=45 [r8_crafted]=300 [r9_paths]=120)
if [ $# -gt 0 ]; then
	sel=()
	for want in "$@"; do
		for p in "${parts[@]}"; do
			case $p in "$want" | "$want"_*) sel+=("$p") ;; esac
		done
	done
	parts=("${sel[@]}")
fi

passed=0
failed=0
for p in "${parts[@]}"; do
	log=$(mktemp)
	start=$SECONDS
	timeout -k 5 "${limit[$p]}" bash "tests/reliability/$p.sh" >"$log" 2>&1
	rc=$?
	summary=$(grep -E '^R[0-9S][^ ]* ' "$log" | tail -n 1)
	[ -n "$summary" ] || summary="$p: no summary line"
	[ $rc -eq 124 ] && summary="$summary (timed out after ${limit[$p]} s)"
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS %s [%ds]\n' "$summary" $((SECONDS - start))
	else
		failed=$((failed + 1))
		printf 'FAIL %s [%ds]\n' "$summary" $((SECONDS - start))
		grep -v -E '^R[0-9S][^ ]* ' "$log" | tail -n 30 | sed 's/^/    /'
	fi
	rm -f "$log"
done
echo "suite time ${SECONDS} s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
