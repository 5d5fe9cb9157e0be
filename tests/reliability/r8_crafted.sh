#!/usr/bin/env bash
# R8: hostile trace files, crafted from format/FORMAT.md by crafter.py (valid
# checksums, hostile contents): a lying index, memory and CPU bombs, time
# extremes, escapes in every string, chunks out of time order, filter
# nesting. Every command runs under ASan+UBSan (build-san) with a time
# limit and ASan's RSS limit; the release build's peak RSS is measured
# against the documented budgets. Needs build-san/conntrail (make SAN=1).
. tests/lib.sh
. tests/reliability/common.sh
SAN=${REL_SAN_CONNTRAIL:-$PWD/build-san/conntrail}
need_file R8 "$SAN"
need_file R8 "$CONNTRAIL"
command -v zstd >/dev/null || {
	echo "R8 crafted: zstd tool missing"
	exit 1
}
C=$TMP/c
python3 tests/reliability/crafter.py "$C" || fail "crafter failed"
export ASAN_OPTIONS=hard_rss_limit_mb=1536:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# san NAME SECONDS ARGS..: the sanitizer build on a crafted file; it must
# end by itself (0 or 1, never a signal, a sanitizer report or the limit).
san() {
	local name=$1 secs=$2 rc=0
	shift 2
	timeout -k 2 "$secs" "$SAN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
	T_CHECKS=$((T_CHECKS + 1))
	if [ $rc -gt 2 ] || grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$TMP/$name.err"; then
		fail "$name: status $(status_word $rc) $(grep -m1 -E 'runtime error|Sanitizer' "$TMP/$name.err")"
	fi
}
# rss_kb NAME ARGS..: the release build's peak RSS in KB (stdout kept).
rss_kb() {
	local name=$1
	shift
	/usr/bin/time -f '%M' -o "$TMP/$name.rss" timeout 60 "$CONNTRAIL" "$@" >"$TMP/$name.out" \
		2>"$TMP/$name.err"
	cat "$TMP/$name.rss"
}
# elapsed NAME ARGS..: the release build's wall time in ms.
elapsed_ms() {
	local t0 t1
	shift
	t0=$(date +%s%N)
	timeout 60 "$CONNTRAIL" "$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# 1. Every case through every reading command under the sanitizers.
for f in "$C"/*.ctr; do
	n=$(basename "$f" .ctr)
	san "$n.info" 60 info "$f"
	san "$n.report" 60 report "$f"
	san "$n.script" 60 script -q "$f"
	san "$n.json" 60 script -q --json "$f"
	san "$n.csv" 60 convert -q "$f" -o /dev/null --to csv
	san "$n.pcapng" 60 convert -q "$f" -o /dev/null --to pcapng
	san "$n.stream" 60 report - <"$f"
done

# 2. The index: not believed unless it tiles the file and agrees with the
# chunk headers; indexed and streamed readings give the same events.
for n in index_dup index_huge index_hides index_times index_counts index_overlap index_order; do
	check "$n: info says the index is not believed" \
		grep -q "present but not believed" "$TMP/$n.info.out"
	"$CONNTRAIL" script -q --json "$C/$n.ctr" >"$TMP/$n.ix"
	"$CONNTRAIL" script -q --json - <"$C/$n.ctr" >"$TMP/$n.st"
	check "$n: indexed == streamed" cmp -s "$TMP/$n.ix" "$TMP/$n.st"
done
expect_eq "index_dup: events read once" 128 "$(wc -l <"$TMP/index_dup.ix")"
expect_eq "index_hides: the hidden chunk is read" 200 "$(wc -l <"$TMP/index_hides.ix")"
expect_eq "index_times: a window sees the chunk's real times" 50 \
	"$("$CONNTRAIL" script -q --since +1s --until +1.9s "$C/index_times.ctr" | grep -vc '^#')"
check "valid: index believed" grep -qE '^ +index +present$' "$TMP/valid.info.out"
ms=$(elapsed_ms x report "$C/index_huge.ctr")
check "index_huge: 1.1 M entries refused quickly (${ms} ms)" test "$ms" -lt 2000

# Property: random lies in the index of a valid file (entries dropped,
# repeated, swapped, fields changed; checksums valid) never make the
# indexed reading differ from the streamed one.
prop=$(python3 - "$C/valid.ctr" "$TMP/prop" "$CONNTRAIL" <<'PY'
import random, struct, subprocess, sys, zlib
sys.path.insert(0, "tests/reliability")
import crafter as c
src, out, ct = open(sys.argv[1], "rb").read(), sys.argv[2], sys.argv[3]
rng = random.Random(14)
bad = 0
for i in range(60):
    def hook(ents, i=i):
        ents = list(ents)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(6)
            j = rng.randrange(len(ents))
            e = ents[j]
            if op == 0 and len(ents) > 1:
                del ents[j]
            elif op == 1:
                ents.insert(rng.randrange(len(ents) + 1), e)
            elif op == 2 and len(ents) > 1:
                k = rng.randrange(len(ents))
                ents[j], ents[k] = ents[k], ents[j]
            elif op == 3:
                e.first += rng.choice([-1, 1]) * rng.randrange(1, 10**10)
            elif op == 4:
                e.records = rng.randrange(0, 200)
            else:
                e.off += rng.choice([-56, -1, 1, 56])
        return ents
    blob = c.trace(c.header(), c.base_chunks(), entries_hook=hook)
    open(out, "wb").write(blob)
    a = subprocess.run([ct, "script", "-q", "--json", out], capture_output=True).stdout
    b = subprocess.run([ct, "script", "-q", "--json", "-"], input=blob, capture_output=True).stdout
    w = subprocess.run([ct, "script", "-q", "--json", "--since", "+1s", "--until", "+2.5s", out],
                       capture_output=True).stdout
    ws = subprocess.run([ct, "script", "-q", "--json", "--since", "+1s", "--until", "+2.5s", "-"],
                        input=blob, capture_output=True).stdout
    if a != b or w != ws or a.count(b"\n") != 200:
        bad += 1
print(bad)
PY
)
expect_eq "property: indexed == streamed on 60 lying indexes (with and without a window)" 0 "$prop"

# 3. Bounded memory (release build, documented budgets).
kb=$(rss_kb procs report "$C/proc_strings.ctr")
check "proc_strings: report peak ${kb} KB < 200 MiB" test "$kb" -lt 204800
check "proc_strings: says what was not kept" grep -q "not kept" "$TMP/procs.err"
bombs=()
for i in $(seq 10); do bombs+=("$C/zstd_bomb.ctr"); done
kb=$(rss_kb bombs report "${bombs[@]}")
check "ten zstd bombs merged: peak ${kb} KB < 400 MiB" test "$kb" -lt 409600
fats=()
for i in $(seq 16); do fats+=("$C/fat_events.ctr"); done
kb=$(rss_kb fats report "${fats[@]}")
check "16 fat event chunks merged: peak ${kb} KB < 640 MiB" test "$kb" -lt 655360
ms=$(elapsed_ms x script -q "${fats[@]}")
check "16 fat event chunks merged: script in ${ms} ms (< 20000; a per-slice refill took 14 min)" \
	test "$ms" -lt 20000
check "16 fat event chunks: over-budget chunks reported, not allocated" \
	grep -q "decompression budget" "$TMP/fats.err"

# 4. Linear time: resync over 32 MiB of chunk magic, lost-record bombs.
ms=$(elapsed_ms x report "$C/magic_run.ctr")
check "magic_run: 32 MiB of false magic in ${ms} ms (< 3000)" test "$ms" -lt 3000
ms=$(elapsed_ms x report - <"$C/magic_run.ctr")
check "magic_run as a stream in ${ms} ms (< 3000)" test "$ms" -lt 3000
ms=$(elapsed_ms x convert -q "$C/lost_bomb.ctr" -o /dev/null --to pcapng)
check "lost_bomb: 3.7 M lost records in ${ms} ms (< 3000)" test "$ms" -lt 3000
check "lost_bomb: every lost record counted" grep -q "3728270 events lost" "$TMP/lost_bomb.report.out"

# 5. Times: out of range is said, never a 2262 date or a negative span.
check "time_extremes: script says out-of-range" grep -q "^out-of-range " "$TMP/time_extremes.script.out"
check "time_extremes: no saturated date printed" \
	sh -c "! grep -q 2262 '$TMP/time_extremes.script.out' '$TMP/time_extremes.report.out'"
check "time_extremes: report span unknown" grep -q "span unknown" "$TMP/time_extremes.report.out"
check "time_extremes: JSON has no ts_ns beside out-of-range" \
	sh -c "! grep -q '\"ts\":\"out-of-range\",\"ts_ns\"' '$TMP/time_extremes.json.out'"
check "time_extremes: ret INT32_MIN kept" grep -q '"ret":-2147483648' "$TMP/time_extremes.json.out"
san since 30 script -q --since +106751d "$C/valid.ctr"
expect_eq "--since +106751d: nothing after it" 0 "$(wc -l <"$TMP/since.out")"
san since2 30 report --since +106751d --until +106752d "$C/time_extremes.ctr"

# 6. Escapes: every text output of the hostile strings is terminal-clean.
san multi 30 script -q "$C/escapes.ctr" "$C/escapes_host2.ctr"
san multirep 30 report "$C/escapes.ctr" "$C/escapes_host2.ctr"
for by in process exe cmdline host dest; do
	san "by_$by" 30 report --by "$by" "$C/escapes.ctr" "$C/escapes_host2.ctr"
	check "report --by $by clean" python3 tests/reliability/clean_text.py "$TMP/by_$by.out"
done
san badpath 10 info "$C/no$(printf '\033[31m\xe2\x80\xae')file"
check "escapes: info, report, script, errors are terminal-clean" python3 \
	tests/reliability/clean_text.py "$TMP/escapes.info.out" "$TMP/escapes.report.out" \
	"$TMP/escapes.script.out" "$TMP/multi.out" "$TMP/multirep.out" "$TMP/badpath.err" \
	"$TMP/escapes.info.err" "$TMP/escapes.json.out"
check "escapes: the host column of a multi-host script is escaped" \
	grep -q 'second\\x1b\[31m' "$TMP/multi.out"
"$CONNTRAIL" convert -q "$C/escapes.ctr" -o "$TMP/e.csv"
check "CSV: formula cells neutralised" python3 - "$TMP/e.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
cells = [r[k] for r in rows for k in ("comm", "exe", "cmdline", "container", "path", "host")]
bad = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
assert not bad, bad
assert rows[0]["comm"].startswith("'=1+1"), rows[0]["comm"]
assert any(r["path"].startswith("'@") for r in rows), [r["path"] for r in rows]
PY
"$CONNTRAIL" convert -q --csv-raw "$C/escapes.ctr" -o "$TMP/raw.csv"
check "CSV --csv-raw: cells as they are" python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
assert rows[0]["comm"].startswith("=1+1"), rows[0]["comm"]' "$TMP/raw.csv"
"$CONNTRAIL" convert -q "$C/escapes.ctr" "$C/escapes_host2.ctr" -o "$TMP/e.pcapng"
check "pcapng strings read back by tshark" sh -c "tshark -r '$TMP/e.pcapng' -c 1 >/dev/null 2>&1"
check "pcapng section and interface strings are valid UTF-8 without controls" python3 - "$TMP/e.pcapng" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
o = 0
seen = 0
while o + 12 <= len(d):
    t, ln = struct.unpack_from("<II", d, o)
    if t in (0x0A0D0D0A, 1):
        p = o + (24 if t == 0x0A0D0D0A else 16)
        while p + 4 <= o + ln - 4:
            code, n = struct.unpack_from("<HH", d, p)
            if code == 0:
                break
            v = d[p + 4:p + 4 + n]
            if code not in (9, 14):  # if_tsresol, if_speed: not strings
                s = v.decode("utf-8")
                assert not any(ord(ch) < 0x20 and ch != "\n" or 0x7f <= ord(ch) <= 0x9f
                               or ord(ch) in (0x202e, 0x2066) for ch in s), s
                seen += 1
            p += 4 + (n + 3) // 4 * 4
    o += ln
assert seen >= 6, seen
PY

# 7. Rate histogram with chunks out of time order: both bursts counted where
# they happened (100 events each, 100 s apart).
"$CONNTRAIL" report --json "$C/rate_order.ctr" >"$TMP/rate.json"
check "rate histogram: chunks out of order counted in place" python3 - "$TMP/rate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["rate"]
c = r["counts"]
assert sum(c) == 200, c
assert c[0] == 100 and c[-1] == 100, c
PY

# 8. Filter nesting: a caret error, not a stack overflow.
san bangs 30 script -q --filter "$(printf '!%.0s' $(seq 131000))pid == 1" "$C/valid.ctr"
check "131,000 '!': a usage error naming the nesting" grep -q "nested too deeply" "$TMP/bangs.err"
san parens 30 script -q --filter "$(printf '(%.0s' $(seq 65500))pid == 1" "$C/valid.ctr"
check "65,500 '(': a usage error with a caret" grep -q '\^$' "$TMP/parens.err"

echo "R8 crafted: $((T_CHECKS - T_FAILS))/$T_CHECKS checks passed over $(ls "$C" | wc -l) crafted files"
done_testing
