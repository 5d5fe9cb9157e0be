#!/usr/bin/env bash
# conntrail info: numbers checked against the generator's truth (jq), on the
# committed sample, a fresh trace, stdin, a killed writer and damage.
. tests/lib.sh

j() { jq -r "$1" "$2"; }

# 1. The committed sample against its truth.
"$CONNTRAIL" info --json "$SAMPLES/small.ctr" >"$TMP/small.json" 2>"$TMP/err"
check "info on the sample exits 0" test $? -eq 0
T=$SAMPLES/small.truth.json
expect_eq "sample events" "$(j .events "$T")" "$(j .events "$TMP/small.json")"
expect_eq "sample lost" "$(j .lost "$T")" "$(j .lost "$TMP/small.json")"
expect_eq "sample lost records" "$(j .lost_records "$T")" "$(j .lost_records "$TMP/small.json")"
expect_eq "sample process records" "$(j .procs "$T")" "$(j .procs "$TMP/small.json")"
expect_eq "sample first event" "$(j .first_ts "$T")" "$(j .first_event "$TMP/small.json")"
expect_eq "sample last event" "$(j .last_ts "$T")" "$(j .last_event "$TMP/small.json")"
expect_eq "sample backend" generated "$(j .backend "$TMP/small.json")"
expect_eq "sample index" true "$(j .index "$TMP/small.json")"
expect_eq "sample damage" 0 "$(j .damaged_chunks "$TMP/small.json")"
expect_eq "sample start" "2026-11-24T13:00:00.000000000Z" "$(j .start "$TMP/small.json")"
expect_eq "sample size" "$(stat -c %s "$SAMPLES/small.ctr")" "$(j .size "$TMP/small.json")"

# Text form carries the same facts.
"$CONNTRAIL" info "$SAMPLES/small.ctr" >"$TMP/small.txt"
check "text shows the event count" grep -Eq "^  events +$(j .events "$T")$" "$TMP/small.txt"
check "text shows the host" grep -Eq '^  host +gen-host$' "$TMP/small.txt"
check "text shows the index" grep -Eq '^  index +present$' "$TMP/small.txt"
check "text shows lost events" grep -Eq "^  lost events +$(j .lost "$T") in 1 records" "$TMP/small.txt"

# 2. A fresh mixed trace with many chunks, zlib, and a storm.
for prof in mixed:zlib storm:zstd mixed:none; do
	p=${prof%%:*} c=${prof##*:}
	"$GEN" -n 60000 --seed 11 --profile "$p" --compress "$c" --chunk-events 4000 \
		--truth "$TMP/$p.truth" -o "$TMP/$p.ctr"
	"$CONNTRAIL" info --json "$TMP/$p.ctr" >"$TMP/$p.info"
	expect_eq "$prof events" "$(j .events "$TMP/$p.truth")" "$(j .events "$TMP/$p.info")"
	expect_eq "$prof lost" "$(j .lost "$TMP/$p.truth")" "$(j .lost "$TMP/$p.info")"
	expect_eq "$prof procs" "$(j .procs "$TMP/$p.truth")" "$(j .procs "$TMP/$p.info")"
	expect_eq "$prof last" "$(j .last_ts "$TMP/$p.truth")" "$(j .last_event "$TMP/$p.info")"
	expect_eq "$prof codec" "$c" "$(j .compression "$TMP/$p.info")"
	expect_eq "$prof event chunks" 15 "$(j .event_chunks "$TMP/$p.info")"
done

# 3. Standard input through a pipe: same counts, the index is not used.
cat "$TMP/mixed.ctr" | "$CONNTRAIL" info --json - >"$TMP/stdin.info"
expect_eq "stdin events" "$(j .events "$TMP/mixed.truth")" "$(j .events "$TMP/stdin.info")"
expect_eq "stdin lost" "$(j .lost "$TMP/mixed.truth")" "$(j .lost "$TMP/stdin.info")"
expect_eq "stdin index" false "$(j .index "$TMP/stdin.info")"
cat "$TMP/mixed.ctr" | "$CONNTRAIL" info - >"$TMP/pipe.txt"
check "pipe: events" grep -Eq "^  events +$(j .events "$TMP/mixed.truth")$" "$TMP/pipe.txt"
check "pipe: index not used" grep -Eq "^  index +not used" "$TMP/pipe.txt"
# Redirected from a file, stdin is seekable and its index is used.
"$CONNTRAIL" info --json - <"$TMP/mixed.ctr" >"$TMP/redir.info"
expect_eq "redirected stdin: index" true "$(j .index "$TMP/redir.info")"
expect_eq "redirected stdin: events" "$(j .events "$TMP/mixed.truth")" "$(j .events "$TMP/redir.info")"

# 4. Killed writer: no index and no trailer. Every chunk is still read.
ioff=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(struct.unpack("<Q", d[-24:-16])[0])' "$TMP/mixed.ctr")
head -c "$ioff" "$TMP/mixed.ctr" >"$TMP/killed.ctr"
"$CONNTRAIL" info --json "$TMP/killed.ctr" >"$TMP/killed.info" 2>"$TMP/killed.err"
check "killed: exit 0" test $? -eq 0
expect_eq "killed: index" false "$(j .index "$TMP/killed.info")"
expect_eq "killed: events" "$(j .events "$TMP/mixed.truth")" "$(j .events "$TMP/killed.info")"
expect_eq "killed: no damage" 0 "$(j .damaged_chunks "$TMP/killed.info")"
check "killed: says it scans" grep -q "no index (writer was killed?), scanning" "$TMP/killed.err"

# A flipped bit in the index's Bloom summaries (section checksums, 0.2.1):
# info says so, every event still reads, and a filter finds what it finds
# on the intact file, reading every chunk instead of skipping.
python3 - "$TMP/mixed.ctr" "$TMP/sums.ctr" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
ioff = struct.unpack("<Q", d[-24:-16])[0]
hsize = struct.unpack("<H", d[ioff + 6:ioff + 8])[0]
x = ioff + hsize
n, esize = struct.unpack("<II", d[x + 24:x + 32])
raw = struct.unpack("<I", d[ioff + 32:ioff + 36])[0]
assert struct.unpack("<I", d[x + 36:x + 40])[0] != 0, "no section checksums"
sums = x + 40 + n * esize
d[sums + (x + raw - sums) // 2] ^= 0x04
open(sys.argv[2], "wb").write(d)
PY
"$CONNTRAIL" info --json "$TMP/sums.ctr" >"$TMP/sums.info" 2>"$TMP/sums.err"
expect_eq "summaries: flagged" true "$(j .index_summaries_damaged "$TMP/sums.info")"
expect_eq "summaries: intact file not flagged" false \
	"$("$CONNTRAIL" info --json "$TMP/mixed.ctr" | jq .index_summaries_damaged)"
expect_eq "summaries: every event" "$(j .events "$TMP/mixed.truth")" "$(j .events "$TMP/sums.info")"
"$CONNTRAIL" info "$TMP/sums.ctr" >"$TMP/sums.txt" 2>/dev/null
check "summaries: text says so" grep -Eq '^  index +present, but its summaries are damaged' "$TMP/sums.txt"
# an IPv4 address the trace has one connect to: the intact index skips
# the chunks without it, the damaged one cannot
rare=$("$CONNTRAIL" script --json "$TMP/mixed.ctr" | jq -rs '[.[] | select(.family == "AF_INET")
	| .daddr] | group_by(.) | map(select(length == 1)) | .[0][0]')
f="daddr == $rare"
"$CONNTRAIL" report --json --filter "$f" "$TMP/mixed.ctr" >"$TMP/sums.a" 2>/dev/null
"$CONNTRAIL" report --json --filter "$f" "$TMP/sums.ctr" >"$TMP/sums.b" 2>"$TMP/sums.rerr"
expect_eq "summaries: the filter finds the one connect ($f)" 1 "$(j .events "$TMP/sums.a")"
expect_eq "summaries: the same through damaged summaries" 1 "$(j .events "$TMP/sums.b")"
check "summaries: intact, chunks skipped" test "$(j .chunks.read "$TMP/sums.a")" -lt 15
expect_eq "summaries: damaged, every event chunk read" 15 "$(j .chunks.read "$TMP/sums.b")"
check "summaries: report says so" grep -q "index summaries damaged" "$TMP/sums.rerr"

# Cut in the middle of the last event chunk: the rest reads, damage reported.
# (From the index: the last event chunk, and the chunk after it or the index.)
cut=$(python3 - "$TMP/mixed.ctr" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
ioff = struct.unpack("<Q", d[-24:-16])[0]
x = d[ioff + struct.unpack("<H", d[ioff + 6:ioff + 8])[0]:]
n, esz = struct.unpack("<II", x[24:32])
offs = sorted((struct.unpack("<Q", x[40 + i * esz:48 + i * esz])[0], x[40 + i * esz + 44])
              for i in range(n))
last = max(i for i, (o, kind) in enumerate(offs) if kind == 1)
end = offs[last + 1][0] if last + 1 < len(offs) else ioff
print((offs[last][0] + end) // 2)
PY
)
head -c "$cut" "$TMP/mixed.ctr" >"$TMP/cut.ctr"
"$CONNTRAIL" info --json "$TMP/cut.ctr" >"$TMP/cut.info" 2>/dev/null
expect_eq "cut: one damaged chunk" 1 "$(j .damaged_chunks "$TMP/cut.info")"
expect_eq "cut: damage says truncated" "truncated chunk" "$(j '.damage[0].what' "$TMP/cut.info")"
expect_eq "cut: events of the complete chunks" 56000 "$(j .events "$TMP/cut.info")"

# A flipped byte in the middle: that chunk is reported, the others read.
cp "$TMP/mixed.ctr" "$TMP/flip.ctr"
printf '\xff' | dd of="$TMP/flip.ctr" bs=1 seek=$((ioff / 2)) conv=notrunc status=none
"$CONNTRAIL" info --json "$TMP/flip.ctr" >"$TMP/flip.info" 2>/dev/null
expect_eq "flip: one damaged chunk" 1 "$(j .damaged_chunks "$TMP/flip.info")"
ev=$(j .events "$TMP/flip.info")
check "flip: lost at most one chunk of events ($ev)" test "$ev" -ge 56000 -a "$ev" -lt 60000

# 5. Errors: one line naming the file; other files still described.
expect_status "missing file" 1 "$CONNTRAIL" info "$TMP/nope.ctr" "$SAMPLES/small.ctr"
"$CONNTRAIL" info "$TMP/nope.ctr" "$SAMPLES/small.ctr" >"$TMP/both.txt" 2>"$TMP/both.err"
check "missing file named" grep -q "nope.ctr" "$TMP/both.err"
expect_eq "one error line" 1 "$(wc -l <"$TMP/both.err")"
check "the good file is still described" grep -q "^$SAMPLES/small.ctr:" "$TMP/both.txt"
echo "not a trace" >"$TMP/text.ctr"
expect_status "not a trace" 1 "$CONNTRAIL" info "$TMP/text.ctr"
"$CONNTRAIL" info "$TMP/text.ctr" 2>"$TMP/text.err"
check "not a trace: says so" grep -q "text.ctr: not a conntrail trace file" "$TMP/text.err"
head -c 10 "$SAMPLES/small.ctr" >"$TMP/short.ctr"
"$CONNTRAIL" info "$TMP/short.ctr" 2>"$TMP/short.err"
check "truncated header: says so" grep -q "short.ctr: file ends inside its header" "$TMP/short.err"
# No file: conntrail.data, like report and script.
expect_status "no arguments, no conntrail.data" 1 bash -c "cd '$TMP' && '$CONNTRAIL' info"
check "no conntrail.data: named" grep -q "conntrail.data: No such file" "$TMP/.stderr"
cp "$SAMPLES/small.ctr" "$TMP/conntrail.data"
expect_eq "no arguments reads conntrail.data" "$("$CONNTRAIL" info --json "$SAMPLES/small.ctr" | jq .events)" \
	"$(cd "$TMP" && "$CONNTRAIL" info --json | jq .events)"
check "info --help explains --json" bash -c "'$CONNTRAIL' info --help | grep -q -- '--json   one JSON object'"
expect_status "bad option" 2 "$CONNTRAIL" info --bogus "$SAMPLES/small.ctr"

done_testing
