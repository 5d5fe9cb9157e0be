#!/usr/bin/env bash
# R9: output paths. convert and record never replace what is not a regular
# file they created: a device or FIFO is written in place (or refused), a
# symlink refused, another user's FIFO in a sticky world-writable directory
# refused, an output that is an input refused; temp names fit NAME_MAX;
# a second recorder on the same file refuses. Needs root (record, nobody).
. tests/lib.sh
. tests/reliability/common.sh
need_root R9
need_file R9 "$CONNTRAIL"
T=$TMP/p
mkdir -p "$T"
cp "$SAMPLES/small.ctr" "$T/x.ctr"
sum0=$(sha256sum <"$T/x.ctr")
events=$("$CONNTRAIL" script -q --json "$T/x.ctr" | wc -l)

# --- convert
# /dev/null (as root, which could replace it) stays the device it was.
null0=$(stat -c '%F %a %t:%T' /dev/null)
expect_status "convert -o /dev/null" 0 "$CONNTRAIL" convert -q "$T/x.ctr" -o /dev/null --to csv
expect_eq "/dev/null untouched" "$null0" "$(stat -c '%F %a %t:%T' /dev/null)"
# /dev/stdout: a pipe, and a file the shell opened.
n=$("$CONNTRAIL" convert -q "$T/x.ctr" -o /dev/stdout --to jsonl | wc -l)
expect_eq "convert -o /dev/stdout into a pipe" "$events" "$n"
"$CONNTRAIL" convert -q "$T/x.ctr" -o /dev/stdout --to jsonl >"$T/redir.jsonl"
expect_eq "convert -o /dev/stdout into a redirected file" "$events" "$(wc -l <"$T/redir.jsonl")"
check "/dev/stdout is still a symlink" test -L /dev/stdout
# A FIFO with a reader is written in place and stays a FIFO.
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.out" &
reader=$!
expect_status "convert into a FIFO" 0 timeout 20 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T/fifo" --to jsonl
wait $reader
expect_eq "FIFO reader got every event" "$events" "$(wc -l <"$T/fifo.out")"
check "FIFO is still a FIFO" test -p "$T/fifo"
# A symlink to a regular file is refused; its target is untouched.
echo keep >"$T/target.csv"
ln -s "$T/target.csv" "$T/link.csv"
expect_status "convert -o symlink refused" 1 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T/link.csv"
check "refusal names the file" grep -q "link.csv: a symbolic link" "$TMP/.stderr"
expect_eq "symlink target untouched" keep "$(cat "$T/target.csv")"
check "symlink still a symlink" test -L "$T/link.csv"
# The output is one of the inputs: refused, the trace intact.
expect_status "convert x.ctr -o x.ctr refused" 1 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T/x.ctr" --to csv
check "names the reason" grep -q "is one of the input files" "$TMP/.stderr"
ln "$T/x.ctr" "$T/hard.csv"
expect_status "an output hard-linked to the input refused" 1 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T/hard.csv"
expect_eq "trace intact" "$sum0" "$(sha256sum <"$T/x.ctr")"
# Long names: a 240-character output name works, and leaves no temp file.
long=$(printf 'n%.0s' $(seq 236)).csv
expect_status "a 240-character output name" 0 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T/$long"
expect_eq "it holds every event (+ header)" $((events + 1)) "$(grep -c $'\r$' "$T/$long")"
expect_eq "no temporary file left" 0 "$(find "$T" -name '*.partial.*' | wc -l)"
long255=$(printf 'm%.0s' $(seq 251)).csv
expect_status "a 255-character output name" 0 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T/$long255"
# A directory or block device is refused.
expect_status "convert -o a directory refused" 1 "$CONNTRAIL" convert -q "$T/x.ctr" -o "$T" --to csv

# --- record
rec() { timeout -k 2 20 "$CONNTRAIL" record -q --backend tracepoint "$@"; }
# Another user's FIFO in a sticky world-writable directory: refused, at once.
S=$(mktemp -d /tmp/ct-sticky.XXXXXX)
chmod 1777 "$S"
setpriv --reuid=nobody --regid=nogroup --clear-groups mkfifo "$S/trap.ctr" ||
	fail "nobody could not plant a FIFO"
check "the planted FIFO belongs to nobody" test "$(stat -c %U "$S/trap.ctr")" = nobody
setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "cat '$S/trap.ctr' >'$S/stolen' 2>/dev/null" &
thief=$!
sleep 0.2
start=$SECONDS
expect_status "record into another user's FIFO in /tmp refused" 1 rec -o "$S/trap.ctr" --duration 1
check "one line naming the file" sh -c "test \$(wc -l <'$TMP/.stderr') -eq 1 && grep -q 'trap.ctr: belongs to uid' '$TMP/.stderr'"
check "refused without waiting" test $((SECONDS - start)) -lt 10
kill $thief 2>/dev/null
wait $thief 2>/dev/null
check "the other user got nothing" test ! -s "$S/stolen"
# Another user's regular file there: refused too, and left as it was.
setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "echo theirs >'$S/f.ctr'"
expect_status "record over another user's file in /tmp refused" 1 rec -o "$S/f.ctr" --duration 1
expect_eq "their file untouched" theirs "$(cat "$S/f.ctr")"
check "no .old made of it" test ! -e "$S/f.ctr.old"
rm -rf "$S"
# Our own FIFO without a reader: an error, not a hang.
mkfifo "$T/nobody-reads"
start=$SECONDS
expect_status "record into a FIFO nobody reads" 1 rec -o "$T/nobody-reads" --duration 1
check "says nobody reads it" grep -q "a FIFO that nobody reads" "$TMP/.stderr"
check "did not block" test $((SECONDS - start)) -lt 10
# Our own FIFO with a reader: the trace goes through it and reads back.
mkfifo "$T/rfifo"
cat "$T/rfifo" >"$T/through.ctr" &
reader=$!
sleep 0.2
expect_status "record into our FIFO with a reader" 0 rec -o "$T/rfifo" --duration 1
wait $reader
check "the trace read from the FIFO is whole" sh -c "'$CONNTRAIL' info '$T/through.ctr' | grep -q 'damaged chunks *0'"
check "the FIFO is still a FIFO" test -p "$T/rfifo"
# /dev/null.
expect_status "record -o /dev/null" 0 rec -o /dev/null --duration 1
expect_eq "/dev/null untouched by record" "$null0" "$(stat -c '%F %a %t:%T' /dev/null)"
# A symlink is never followed.
ln -s "$T/target.csv" "$T/rlink.ctr"
expect_status "record -o symlink refused" 1 rec -o "$T/rlink.ctr" --duration 1
expect_eq "symlink target untouched by record" keep "$(cat "$T/target.csv")"
# Two recorders on one file: the second refuses with one line and leaves
# the first one's live file where it is.
rec -o "$T/live.ctr" --duration 5 &
first=$!
for _ in $(seq 50); do [ -s "$T/live.ctr" ] && break; sleep 0.1; done
ino=$(stat -c %i "$T/live.ctr")
expect_status "a second recorder on the same file refused" 1 rec -o "$T/live.ctr" --duration 1
check "one line: another recorder" sh -c "test \$(wc -l <'$TMP/.stderr') -eq 1 && grep -q 'another recorder is writing it' '$TMP/.stderr'"
expect_eq "the live file was not moved" "$ino" "$(stat -c %i "$T/live.ctr")"
check "no live.ctr.old" test ! -e "$T/live.ctr.old"
wait $first
expect_eq "first recorder finished" 0 $?
check "first recorder's trace reads whole" sh -c "'$CONNTRAIL' info '$T/live.ctr' | grep -q 'index *present'"
# A later recorder keeps the finished trace as .old (perf-style).
expect_status "a later recorder on a finished file" 0 rec -o "$T/live.ctr" --duration 1
check "the earlier trace kept as .old" test -s "$T/live.ctr.old"
# Long names.
expect_status "record with a 240-character name" 0 rec -o "$T/$(printf 'r%.0s' $(seq 236)).ctr" --duration 1

echo "R9 paths: $((T_CHECKS - T_FAILS))/$T_CHECKS checks passed"
done_testing
