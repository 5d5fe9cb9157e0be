#!/usr/bin/env bash
# --jobs: report, script and convert write the same bytes (and the same
# warnings) whatever the number of threads, more threads than cores
# included: on generated traces with many chunks, merged inputs of two
# hosts, filters, windows, a trace without its index (scanned), a damaged
# one, and a pipe.
. tests/lib.sh

# The reader starts no worker for a query of fewer than 8 event chunks (a
# window, a selective filter); here every query runs them, however small.
export CONNTRAIL_PREFETCH_MIN=0
# script and convert (csv, jsonl, tracee-json, clickhouse) format a batch's
# events on --jobs threads, in blocks of 1024 events; blocks of 64 here, so
# that a merge's slices and the sanitizers' smaller chunks are cut too.
export CONNTRAIL_PARFMT_BLOCK=64

A=$TMP/a.ctr B=$TMP/b.ctr
# Under the sanitizers (make check, make test-tsan) a fifth of the events, as many chunks.
div=1
[ "${JOBS_TEST_SMALL:-0}" = 1 ] && div=5
"$GEN" -n $((150000 / div)) --seed 11 --profile mixed --chunk-events $((4096 / div)) -o "$A" &&
	"$GEN" -n $((60000 / div)) --seed 12 --profile mixed --chunk-events $((2048 / div)) \
		--host other -o "$B" ||
	{ fail "generator"; done_testing; }

# The same trace without its index (a killed writer): read by a scan.
size=$(stat -c %s "$A")
head -c $((size * 3 / 4)) "$A" >"$TMP/noindex.ctr"
# And one with a damaged chunk in the middle: reported, skipped, the rest read.
cp "$A" "$TMP/damaged.ctr"
printf 'XXXXXXXX' | dd of="$TMP/damaged.ctr" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null

# same NAME CMD ARGS..: CMD's stdout and stderr at --jobs 1 and at each of
# $MORE (default 2 and 8) are identical, and --jobs 1 wrote something.
same() {
	local name=$1 j
	shift
	for j in 1 ${MORE:-2 8}; do
		"$CONNTRAIL" "$@" --jobs $j >"$TMP/out.$j" 2>"$TMP/err.$j" ||
			fail "$name: --jobs $j exit status $? ($(head -c 200 "$TMP/err.$j"))"
	done
	T_CHECKS=$((T_CHECKS + 1))
	[ -s "$TMP/out.1" ] || fail "$name: no output"
	for j in ${MORE:-2 8}; do
		cmp -s "$TMP/out.1" "$TMP/out.$j" || fail "$name: output differs at --jobs $j"
		cmp -s "$TMP/err.1" "$TMP/err.$j" || fail "$name: messages differ at --jobs $j"
	done
}
# same_file NAME OUTFILE CMD ARGS..: the same for a command that writes OUTFILE.
same_file() {
	local name=$1 out=$2 j
	shift 2
	for j in 1 2 8; do
		"$CONNTRAIL" "$@" --jobs $j 2>"$TMP/err.$j" || fail "$name: --jobs $j failed"
		mv "$out" "$TMP/file.$j" 2>/dev/null
	done
	T_CHECKS=$((T_CHECKS + 1))
	[ -s "$TMP/file.1" ] || fail "$name: no output"
	# pcapng's section header quotes the command line, --jobs N included.
	for j in 2 8; do
		python3 -c 'import sys; a, b = (open(f, "rb").read() for f in sys.argv[1:3]); sys.exit(a != b.replace(b"--jobs " + sys.argv[3].encode(), b"--jobs 1"))' \
			"$TMP/file.1" "$TMP/file.$j" $j || fail "$name: output differs at --jobs $j"
	done
}

start=$("$CONNTRAIL" report -q --json "$A" | jq -r .trace_start_ns)
mid=$(python3 -c 'import sys,datetime; n=int(sys.argv[1])+20*10**9; s,f=divmod(n,10**9); print(datetime.datetime.fromtimestamp(s,datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")+".%09dZ"%f)' "$start")

for t in "$A" "$TMP/noindex.ctr" "$TMP/damaged.ctr"; do
	n=$(basename "$t")
	same "report $n" report "$t"
	same "report --json $n" report --json "$t"
	same "script $n" script "$t"
	same "script --json $n" script --json "$t"
done
same "report merged" report "$A" "$B"
same "report --json merged, by process, bytes" report --json --by process --sort bytes "$A" "$B"
same "report filter" report --json --filter 'dport == 443 or not result == ok' "$A" "$B"
same "report window" report --json --since +10s --until +40s "$A"
same "report window and filter" report --since "$mid" --filter 'family == inet' "$A" "$B"
same "report --by dest" report --by dest --top 0 "$A" "$B"
same "script merged" script "$A" "$B"
same "script --json merged, filtered" script --json --filter 'comm == "curl" or dport == 53' "$A" "$B"
same "script window" script --json --since +5s --until +30s "$A" "$B"
for fmt in csv jsonl pcapng tracee-json clickhouse; do
	same_file "convert $fmt" "$TMP/c.$fmt" convert "$A" "$B" -o "$TMP/c.$fmt" --to $fmt
done
same "convert csv to stdout, filtered" convert "$A" -o - --to csv -F 'result != ok'
# Blocks of the default size (a chunk of 4096 events: four).
CONNTRAIL_PARFMT_BLOCK= same "script, blocks of 1024" script "$A"
CONNTRAIL_PARFMT_BLOCK= same "script --json, blocks of 1024" script --json "$A" "$B"
CONNTRAIL_PARFMT_BLOCK= same_file "convert csv, blocks of 1024" "$TMP/d.csv" convert "$A" \
	-o "$TMP/d.csv" --to csv
# The lines are made on that many threads (not one thread and idle ones).
"$CONNTRAIL" script --stats --jobs 3 "$A" 2>"$TMP/stats3" >/dev/null
"$CONNTRAIL" script --stats --jobs 1 "$A" 2>"$TMP/stats1" >/dev/null
check "script --stats: lines made on 3 threads" grep -q "lines made on 3 threads" "$TMP/stats3"
check "script --stats: lines made on 1 thread" grep -q "lines made on 1 thread$" "$TMP/stats1"
# A closed pipe ends the output quietly at any --jobs.
for j in 1 2; do
	"$CONNTRAIL" script --jobs $j "$A" "$B" 2>"$TMP/head.err" | head -n 5 >"$TMP/head.$j"
	expect_eq "script --jobs $j | head: status" "${PIPESTATUS[0]}" 0
	check "script --jobs $j | head: quiet" test ! -s "$TMP/head.err"
done
check "script | head: the same lines at --jobs 2" cmp -s "$TMP/head.1" "$TMP/head.2"
same_file "convert jsonl window, filter" "$TMP/w.jsonl" convert "$A" --since +15s \
	--filter 'not ret == 0' -o "$TMP/w.jsonl" --to jsonl

# Report's tables by every --by key, as text and JSON, with the filters
# and windows a chunk decoded ahead must still honour: a filter on the
# joined outcome, one on the process table (comm), one on time.
for by in pid exe cmdline uid host; do
	same "report --by $by merged" report --by $by --top 0 "$A" "$B"
	same "report --json --by $by, failed" report --json --by $by --sort failed "$A" "$B"
done
same "report filter on outcome" report --json --filter 'result == ECONNREFUSED or result == unknown' "$A"
same "report filter on comm, window" report --filter 'comm != "curl"' --until +50s "$A" "$B"
same "script filter on latency" script --json --filter 'latency > 1ms' "$A" "$B"
# From --jobs 3 on, report counts on jobs - 2 threads (pool.c), each into
# a tally of its own that are added up at the end, from copies of the
# batches (unix paths included): text and JSON the same at 1, 2, 3, 4 and 5
# jobs (the calling thread; one, two and three tallies), on whole chunks and
# on the slices a merge of interleaved inputs hands on, with filters,
# windows, the rate's scale moving, bytes (closes) and every --by key.
MORE="2 3 4 5"
same "report, tallies" report "$A"
same "report --json, tallies" report --json "$A"
same "report merged, tallies" report --top 0 "$A" "$B"
same "report --json merged, tallies" report --json --top 0 "$A" "$B"
same "report --json bytes, tallies" report --json --sort bytes --by dest --top 0 "$A" "$B"
same "report filter, tallies" report -F 'family == unix or result == ECONNREFUSED' "$A" "$B"
same "report --json filter on comm, tallies" report --json -F 'comm != "sshd"' --top 0 "$A" "$B"
same "report window, tallies" report --since +20s --until +45s "$A" "$B"
same "report --json window and filter, tallies" report --json --since "$mid" -F 'dport == 53' "$A"
for by in process pid exe cmdline uid host container port family result name; do
	same "report --json --by $by, tallies" report --json --by $by "$A" "$B"
done
# The counts themselves: what one thread counts, summed from the tallies.
"$CONNTRAIL" report -q --json --top 0 --jobs 5 "$A" "$B" >"$TMP/t4.json"
expect_eq "events counted by three tallies" \
	"$(jq '[.destinations[].count] | add' "$TMP/t4.json")" \
	"$("$CONNTRAIL" report -q --json --jobs 1 --top 0 "$A" "$B" | jq '.events')"
unset MORE

# Outcome joins of a recorded trace (handshakes, closes).
same "report outcomes sample" report --json samples/outcomes.ctr
same "script outcomes sample" script --json samples/outcomes.ctr
# Format 1.x row chunks are decoded by the reader itself.
same "report 1.x sample" report --json samples/storm.ctr
same "script 1.x sample merged" script samples/recorded.ctr samples/small.ctr
# Name records between event chunks: each chunk's events join the names
# read before it, however far ahead the chunk was decoded.
python3 - "$TMP/names.ctr" <<'PY' || fail "crafting a trace with names"
import sys
sys.path.insert(0, "tests/reliability")
import crafter as c

def name_rec(ts, name, addr):
    body = b"".join(c.varint(v) for v in (ts, 1, 100, 60)) + c.sv(name)
    return c.rec(4, body + c.varint(1) + bytes([2]) + addr)

chunks = []
for i in range(12):
    t0 = c.T0 + i * 10**9
    # The answer for a name moves on from chunk to chunk.
    rec = name_rec(t0, b"svc%d.example.test" % (i % 3), bytes([10, 0, 0, 1 + i % 4]))
    chunks.append(c.meta_chunk(len(chunks), rec, 1, t0, t0))
    evs = [c.Ev(t0 + 1000 + k * 1000, pid=100 + k % 5, comm=b"p%d" % (k % 3),
                daddr=bytes([10, 0, 0, 1 + k % 6]), dport=443 + k % 2) for k in range(200)]
    chunks.append(c.event_chunk(len(chunks), evs, codec=c.COMP_ZSTD))
open(sys.argv[1], "wb").write(c.trace(c.header(), chunks))
PY
same "report names" report "$TMP/names.ctr"
same "report --json names, by dest" report --json --by dest "$TMP/names.ctr"
same "script names" script --json "$TMP/names.ctr"
check "names are joined" grep -q '"dname":"svc1.example.test"' "$TMP/out.1"
same "script filter on dname" script --filter 'dname == "svc1.example.test"' "$TMP/names.ctr"

# A pipe is read as it comes: the same at any --jobs too.
for j in 1 2 8; do
	"$CONNTRAIL" script --json --jobs $j - <"$A" >"$TMP/pipe.$j" 2>/dev/null || fail "script - --jobs $j"
	"$CONNTRAIL" report --json --jobs $j - <"$A" >"$TMP/pipe_r.$j" || fail "report - --jobs $j"
done
check "pipe: script at --jobs 2" cmp -s "$TMP/pipe.1" "$TMP/pipe.2"
check "pipe: script at --jobs 8" cmp -s "$TMP/pipe.1" "$TMP/pipe.8"
check "pipe: report at --jobs 8" cmp -s "$TMP/pipe_r.1" "$TMP/pipe_r.8"

# The filter's chunk push-down still skips chunks with threads.
read1=$("$CONNTRAIL" report -q --json --jobs 1 --filter 'daddr == 192.0.2.77' "$A" | jq .chunks.read)
read2=$("$CONNTRAIL" report -q --json --jobs 2 --filter 'daddr == 192.0.2.77' "$A" | jq .chunks.read)
expect_eq "chunks read by a selective filter at --jobs 2" "$read1" "$read2"
# Without the override such a query reads on one thread: the same output.
for j in 1 2; do
	CONNTRAIL_PREFETCH_MIN= "$CONNTRAIL" report --json --jobs $j --since +10s --until +12s "$A" \
		>"$TMP/few.$j" || fail "few chunks --jobs $j"
done
check "few chunks: report at --jobs 2 without workers" cmp -s "$TMP/few.1" "$TMP/few.2"

expect_status "--jobs 0" 2 "$CONNTRAIL" report --jobs 0 "$A"
expect_status "--jobs x" 2 "$CONNTRAIL" script --jobs x "$A"
check "--jobs in report --help" sh -c "'$CONNTRAIL' report --help | grep -q -- --jobs"
done_testing
