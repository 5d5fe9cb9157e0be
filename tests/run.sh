#!/usr/bin/env bash
# Run conntrail's tests: unit (format/ and friends, in C), command-line
# (tests/cli/*.sh on samples/ and generated traces) and live capture
# (tests/live/*.sh, root only). Usage: tests/run.sh [unit|cli|live|unit/NAME|cli/NAME]...
# Prints one line per test and a closing "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
export BUILD
layers=("$@")
[ ${#layers[@]} -eq 0 ] && layers=(unit cli live)

passed=0
failed=0
skipped=0
failed_names=()
run_one() {
	local name=$1
	shift
	local start=$SECONDS log
	log=$(mktemp)
	"$@" >"$log" 2>&1
	local rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - start))
	elif [ $rc -eq 77 ]; then
		# The test could not run here and said why: shown, never a pass.
		skipped=$((skipped + 1))
		printf 'SKIP %-40s %3ds  %s\n' "$name" $((SECONDS - start)) "$(grep -m1 '^SKIP' "$log")"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		printf 'FAIL %-40s %3ds\n' "$name" $((SECONDS - start))
		tail -n 40 "$log" | sed 's/^/    /'
	fi
	rm -f "$log"
}

for layer in "${layers[@]}"; do
	case $layer in
	unit)
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] || continue
			run_one "unit/$(basename "$t")" "$t"
		done
		;;
	cli | live)
		if [ "$layer" = live ] && [ "$(id -u)" -ne 0 ]; then
			echo "live tests need root: run 'sudo make test' (counted as failed)"
			failed=$((failed + 1))
			failed_names+=("live (not root)")
			continue
		fi
		for t in tests/"$layer"/*.sh; do
			[ -f "$t" ] || continue
			run_one "$layer/$(basename "$t" .sh)" bash "$t"
		done
		;;
	unit/*)
		if [ ! -x "$BUILD/tests/${layer#unit/}" ]; then
			echo "no test $BUILD/tests/${layer#unit/}" >&2
			exit 2
		fi
		run_one "$layer" "$BUILD/tests/${layer#unit/}"
		;;
	cli/* | live/*)
		if [ ! -f "tests/$layer.sh" ]; then
			echo "no test tests/$layer.sh" >&2
			exit 2
		fi
		run_one "$layer" bash "tests/$layer.sh"
		;;
	*)
		echo "unknown test layer '$layer'" >&2
		exit 2
		;;
	esac
done

[ $failed -gt 0 ] && printf 'failed: %s\n' "${failed_names[*]}"
echo "$passed passed, $failed failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
