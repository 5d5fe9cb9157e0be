#!/usr/bin/env bash
# R4: record into a 512 KiB tmpfs under a connect load until it fills: exit
# status 1, one line naming the file and "No space left on device", and the
# file reads up to its last complete chunk.
source tests/lib.sh
source tests/reliability/common.sh
need_root R4
need_file R4 "$REL_LOAD"
need_file R4 "$REL_FLIP"
mnt=$TMP/full
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=512k ct-rel-full "$mnt"; then
	echo "R4 disk-full: cannot mount a tmpfs"
	exit 1
fi
trap 'umount "$mnt" 2>/dev/null; [ -n "${R4_KEEP:-}" ] && cp -r "$TMP" "$R4_KEEP"; rm -rf "$TMP"' EXIT
trap 'exit 1' TERM INT # run the EXIT trap when timed out too
out=$mnt/full.ctr

# Addresses and ports that compress badly, at a rate that fills 512 KiB in
# a few flushes (several chunks complete before the device is full). The
# load runs under record (-- COMMAND) so other connects on this shared
# machine do not change how fast the device fills. The load stops by
# itself after 30 s if record leaves it behind.
st=0
timeout 35 "$CONNTRAIL" record -q -o "$out" -- \
	"$REL_LOAD" storm --vary-ports --rate 8000 --seconds 30 >"$TMP/storm.out" 2>"$TMP/rec.err" || st=$?
cp "$out" "$TMP/copy.ctr" 2>/dev/null
size=$(stat -c %s "$out" 2>/dev/null || echo 0)

expect_eq "record exit status on a full disk" 1 "$(status_word $st)"
[ "$st" -eq 124 ] && fail "record kept running after the disk filled"
nospc=$(grep -c -i 'No space left on device' "$TMP/rec.err")
expect_eq "lines saying 'No space left on device'" 1 "$nospc"
check "the ENOSPC line names the file" grep -q -F "$out" <(grep -i 'No space left on device' "$TMP/rec.err")
lines=$(grep -c . "$TMP/rec.err")
expect_eq "stderr lines of record -q on a full disk" 1 "$lines"
grep -q -E 'AddressSanitizer|runtime error' "$TMP/rec.err" && fail "sanitizer report from record"

ist=0
"$CONNTRAIL" info "$out" >"$TMP/info" 2>&1 || ist=$?
expect_eq "info exit status on the full-disk file" 0 "$(status_word $ist)"
sst=0
"$CONNTRAIL" script --json "$out" >"$TMP/json" 2>"$TMP/script.err" || sst=$?
expect_eq "script --json exit status on the full-disk file" 0 "$(status_word $sst)"
events=$(wc -l <"$TMP/json")
[ "$events" -gt 0 ] || fail "no event read back from the full-disk file"
# Whatever was read must be well-formed JSON of real events.
python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert "ts_ns" in e and "pid" in e, line
    n += 1
' "$TMP/json" || fail "script --json output of the full-disk file is not valid JSON lines"
# Only the chunk cut by the full device may be damaged, and it must be the
# last one: every complete chunk before it reads.
read -r _ lib_events _ chunks _ dmg _ dmg_at _ last_at _ fatal < <("$REL_FLIP" --stats "$out")
expect_eq "events read by the library == script lines" "$events" "${lib_events:-none}"
[ "${dmg:-9}" -le 1 ] || fail "$dmg damaged chunks (at most the cut last one expected)"
[ "${dmg:-0}" -eq 0 ] || [ "${dmg_at:-0}" -gt "${last_at:-0}" ] ||
	fail "a damaged chunk at $dmg_at is not after the last good chunk at $last_at"
expect_eq "fatal reader error" 0 "${fatal:-none}"
[ "${chunks:-0}" -ge 3 ] || fail "only ${chunks:-0} complete chunks before the device filled (load too fast for the test)"
[ "$size" -gt $((256 * 1024)) ] || fail "only $size bytes written before the device was full"
echo "R4 disk-full: exit $(status_word $st), $nospc ENOSPC line ($lines stderr lines), file $size bytes, $chunks complete chunks, $events events read back, ${dmg:-?} damaged chunk"
done_testing
