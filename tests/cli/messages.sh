#!/usr/bin/env bash
# Messages: an output that cannot be created says "FILE: cannot create:
# REASON"; a trace whose recorder still holds its lock (record/output.c
# flocks its output) is said to be still being written, not killed.
. tests/lib.sh

expect_status "convert into /sys" 1 "$CONNTRAIL" convert "$SAMPLES/small.ctr" -o /sys/x.csv
expect_eq "convert: cannot create" "conntrail convert: /sys/x.csv: cannot create: Permission denied" \
	"$(head -1 "$TMP/.stderr")"
mkdir "$TMP/ro" && chmod 0500 "$TMP/ro"
if [ "$(id -u)" != 0 ]; then
	expect_status "convert into a read-only dir" 1 "$CONNTRAIL" convert "$SAMPLES/small.ctr" -o "$TMP/ro/x.csv"
	check "read-only dir: cannot create" grep -q "$TMP/ro/x.csv: cannot create: Permission denied" "$TMP/.stderr"
fi

# A trace without its index whose writer holds the lock: still being written.
"$GEN" -n 20000 --seed 3 -o "$TMP/full.ctr" || fail "gen"
python3 - "$TMP/full.ctr" "$TMP/live.ctr" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b[:len(b) * 2 // 3])  # no index, no trailer yet
PY
"$CONNTRAIL" report "$TMP/live.ctr" >/dev/null 2>"$TMP/killed.err"
check "unlocked: writer was killed?" grep -q 'writer was killed' "$TMP/killed.err"
flock -x "$TMP/live.ctr" -c "'$CONNTRAIL' report '$TMP/live.ctr' >/dev/null 2>'$TMP/live.err'"
check "locked: still being written ($(head -1 "$TMP/live.err"))" \
	grep -q 'still being written by a recorder (no index yet)' "$TMP/live.err"
check "locked: no talk of a kill" bash -c "! grep -q 'killed' '$TMP/live.err'"
flock -x "$TMP/live.ctr" -c "'$CONNTRAIL' script '$TMP/live.ctr' >/dev/null 2>'$TMP/live2.err'"
check "script too" grep -q 'still being written' "$TMP/live2.err"
# The reader lets its test lock go: a recorder could lock the file after it.
"$CONNTRAIL" info "$TMP/live.ctr" >/dev/null 2>&1
check "no lock left behind" flock -xn "$TMP/live.ctr" true
done_testing
