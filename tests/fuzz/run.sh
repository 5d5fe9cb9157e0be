#!/usr/bin/env bash
# Build and run every libFuzzer harness tests/fuzz/fuzz_NAME.c for
# FUZZ_SECONDS each (default 60) on a scratch copy of its seed corpus
# tests/fuzz/corpus/NAME/ (new finds never land in the repository).
# The harnesses link all of format/*.c lib/*.c query/*.c session/*.c export/*.c cmd/*.c cmd/report/*.c built with the
# fuzz flags, minus any file that defines main. Fails on any crash.
set -u
cd "$(dirname "$0")/../.."
: "${BUILD:=build}"
: "${FUZZ_SECONDS:=60}"
: "${CLANG:=clang}"
OUT=$BUILD/fuzz
mkdir -p "$OUT"
SCRATCH=$(mktemp -d /tmp/ct-fuzz.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

FLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-std=gnu11 -D_GNU_SOURCE -I. -I"$BUILD")
srcs=()
for f in format/*.c lib/*.c query/*.c session/*.c export/*.c cmd/*.c cmd/report/*.c; do
	[ -f "$f" ] || continue
	[ "$f" = cmd/top.c ] && continue # ncurses: the main binary's only
	grep -Eq '^(int|static int)[[:space:]]+main[[:space:]]*\(' "$f" && continue
	srcs+=("$f")
done

# Compile the library sources once (without the fuzzer main: -fsanitize=fuzzer-no-link).
LIBFLAGS=("${FLAGS[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}")
objs=()
for f in "${srcs[@]}"; do
	o=$OUT/obj/${f%.c}.o
	mkdir -p "$(dirname "$o")"
	if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ -n "$(find format report cli -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
		"$CLANG" "${LIBFLAGS[@]}" -c "$f" -o "$o" || { echo "fuzz: cannot compile $f" >&2; exit 1; }
	fi
	objs+=("$o")
done

status=0
ran=0
for h in tests/fuzz/fuzz_*.c; do
	[ -f "$h" ] || continue
	name=$(basename "$h" .c)
	name=${name#fuzz_}
	bin=$OUT/fuzz_$name
	if ! "$CLANG" "${FLAGS[@]}" -o "$bin" "$h" "${objs[@]}" -lzstd -lz -lpcap -lm; then
		echo "FAIL fuzz_$name: does not build" >&2
		status=1
		continue
	fi
	corpus=$SCRATCH/$name
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
	echo "fuzz_$name: ${FUZZ_SECONDS}s on $(ls "$corpus" | wc -l) seeds"
	if (cd "$SCRATCH" && "$OLDPWD/$bin" -max_total_time="$FUZZ_SECONDS" -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" \
		>"$SCRATCH/$name.log" 2>&1); then
		grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$SCRATCH/$name.log" | tr '\n' ' '
		echo
		echo "PASS fuzz_$name"
	else
		tail -n 60 "$SCRATCH/$name.log"
		mkdir -p "$OUT/crashes"
		cp "$SCRATCH"/crash-* "$SCRATCH"/leak-* "$SCRATCH"/timeout-* "$OUT/crashes/" 2>/dev/null
		echo "FAIL fuzz_$name (reproducers in $OUT/crashes/)"
		status=1
	fi
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "no fuzz harness found" >&2; exit 1; }
exit $status
