#!/usr/bin/env bash
# Reading a trace while it is written, without root: a writer is played by
# appending a generated trace chunk by chunk (cut where its chunk headers
# say) while holding the file's flock, as record does.
#  - script --follow prints each chunk's events once the chunk is there and
#    not before, waits while the writer holds the file, goes on when more
#    comes, and ends once the trailer is written and the writer lets go;
#  - --json and --filter give the same lines as on the finished file;
#  - a file nobody writes (a killed recorder's, a copy) is read to its end
#    and follow ends there; Ctrl-C ends a follow that waits, printing what
#    was read;
#  - script - on a pipe prints each chunk's events while the pipe is open.
. tests/lib.sh
BOUNDS=$PWD/tests/helpers/chunk_bounds.py
cd "$TMP"

"$GEN" -n 6000 --seed 11 --chunk-events 1000 -o full.ctr >/dev/null
mapfile -t ends < <(python3 "$BOUNDS" full.ctr)
check "the trace has several chunks and a trailer" test "${#ends[@]}" -ge 6
size=$(stat -c %s full.ctr)
expect_eq "the last boundary is the end of the file" "$size" "${ends[-1]}"
cat full.ctr | "$CONNTRAIL" script --json - >want.all
check "the stream reading of the whole file has every event" test "$(wc -l <want.all)" -ge 6000

# prefix N: the file's first N bytes. Expected output comes from a pipe, so the
# reader streams as a follow does (a regular file on stdin is read by its index).
prefix() { head -c "$1" full.ctr; }

# The writer: holds the lock from before the first byte until told to go.
: >grow.ctr
flock -x grow.ctr -c 'while [ ! -e release ]; do sleep 0.05; done' &
locker=$!
wait_until 30 sh -c '! flock -n -s grow.ctr true'
check "the writer holds the lock" sh -c '! flock -n -s grow.ctr true'

"$CONNTRAIL" script --follow --json grow.ctr >got.json 2>follow.err &
follower=$!
# The header and the first two chunks, then the rest one piece at a time.
steps=(2 $((${#ends[@]} / 2)) $((${#ends[@]} - 1)))
done_bytes=0
for s in "${steps[@]}"; do
	upto=${ends[$((s - 1))]}
	prefix "$upto" | tail -c +$((done_bytes + 1)) >>grow.ctr
	done_bytes=$upto
	prefix "$upto" | "$CONNTRAIL" script --json - >want.part 2>/dev/null
	n=$(wc -l <want.part)
	wait_until 30 sh -c "[ \$(wc -l <got.json) -ge $n ]"
	check "after $s chunks: follow printed exactly what they hold ($n lines)" cmp -s want.part got.json
	check "after $s chunks: still following" kill -0 $follower
done
half=$(((ends[-4] + ends[-3]) / 2)) # inside the last chunk before the index
# The rest of the file, trailer included: every event, and follow waits
# for the writer to let go.
tail -c +$((done_bytes + 1)) full.ctr >>grow.ctr
wait_until 30 sh -c "[ \$(wc -l <got.json) -ge $(wc -l <want.all) ]"
check "with the trailer: every event, as on the finished file" cmp -s want.all got.json
check "the writer still holds it: follow has not ended" kill -0 $follower
touch release
wait $locker
wait $follower
expect_eq "follow ends with status 0 once the writer is gone" 0 $?
check "no error on the way (the trace's own losses aside)" sh -c "! grep -v 'warning: lost while recording' follow.err"

# --filter and text output keep working on a followed file.
"$CONNTRAIL" script --follow --filter 'dport == 443' full.ctr >f.txt
expect_eq "follow of a finished file ends by itself" 0 $?
cat full.ctr | "$CONNTRAIL" script --filter 'dport == 443' - >f.want
check "filtered follow prints the filtered lines" cmp -s f.want f.txt
check "and there are some" test -s f.txt

# A file nobody writes, cut inside a chunk: read to its end, then the end.
prefix "$half" >cut.ctr
timeout 60 "$CONNTRAIL" script -f --json cut.ctr >cut.json 2>cut.err
expect_eq "follow of a cut file nobody writes ends (status 0)" 0 $?
prefix "${ends[-4]}" | "$CONNTRAIL" script --json - >cut.want 2>/dev/null
check "it printed the whole chunks" cmp -s cut.want cut.json
check "and says the last chunk is cut" grep -q 'truncated chunk' cut.err

# Ctrl-C while waiting for a writer: what was read is printed, status 0.
prefix "${ends[2]}" >wait.ctr
flock -x wait.ctr -c 'while [ ! -e release2 ]; do sleep 0.05; done' &
locker=$!
wait_until 30 sh -c '! flock -n -s wait.ctr true'
"$CONNTRAIL" script -f wait.ctr >wait.txt 2>wait.err &
follower=$!
prefix "${ends[2]}" | "$CONNTRAIL" script - >wait.want 2>/dev/null
wait_until 30 sh -c "[ \$(wc -l <wait.txt) -ge $(wc -l <wait.want) ]"
check "a waiting follow has printed what is there" cmp -s wait.want wait.txt
kill -INT $follower
wait $follower
expect_eq "Ctrl-C ends a waiting follow with status 0" 0 $?
touch release2
wait $locker

# Usage: one file at a time.
expect_status "follow of two files" 2 "$CONNTRAIL" script -f full.ctr full.ctr
expect_status "follow of a missing file" 1 "$CONNTRAIL" script -f nosuch.ctr
check "--help names --follow" sh -c "'$CONNTRAIL' script --help | grep -q -- '-f, --follow'"

# A stream: each chunk is printed while the pipe is still open.
mkfifo pipe
"$CONNTRAIL" script --json - <pipe >pipe.json &
reader=$!
exec 3>pipe
prefix "${ends[1]}" >&3
prefix "${ends[1]}" | "$CONNTRAIL" script --json - >pipe.want 2>/dev/null
wait_until 30 sh -c "[ \$(wc -l <pipe.json) -ge $(wc -l <pipe.want) ]"
check "script - prints the first chunks while the writer is still there" cmp -s pipe.want pipe.json
tail -c +$((${ends[1]} + 1)) full.ctr >&3
exec 3>&-
wait $reader
expect_eq "script - ends at the end of the stream" 0 $?
check "and printed everything" cmp -s want.all pipe.json
done_testing
