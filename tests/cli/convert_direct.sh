#!/usr/bin/env bash
# convert's output path (plain writes, then past 64 MiB direct mode: O_DIRECT
# from a writer thread): a file spanning many buffers is byte for byte what
# the plain path writes to a pipe, and a full device is one clear error with
# no file left behind.
source tests/lib.sh

"$GEN" -n 200000 --seed 5 --profile mixed -o "$TMP/t.ctr" || { fail "conntrail-gen"; done_testing; }

# Past the section header (whose comment holds each run's command line),
# the file and the pipe carry the same bytes. ~100 MB: 64 MiB plain, then
# many 4 MiB direct buffers.
after_shb() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 4)[0]
sys.stdout.buffer.write(d[n:])' "$1"
}
for to in pcapng csv jsonl; do
	check "convert --to $to to a file" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/f.$to" --to $to
	"$CONNTRAIL" convert -q "$TMP/t.ctr" -o - --to $to >"$TMP/p.$to" || fail "convert --to $to to a pipe"
	if [ $to = pcapng ]; then
		size=$(stat -c %s "$TMP/f.$to")
		[ "$size" -gt $(((64 + 16) << 20)) ] ||
			fail "pcapng only $size bytes: not past the direct buffers"
		cmp -s <(after_shb "$TMP/f.$to") <(after_shb "$TMP/p.$to") ||
			fail "pcapng file differs from the pipe's bytes after the SHB"
	else
		cmp -s "$TMP/f.$to" "$TMP/p.$to" || fail "$to file differs from the pipe's bytes"
	fi
done
expect_eq "pcapng packets" 200000 "$(capinfos -c -M "$TMP/f.pcapng" 2>/dev/null | awk '/Number of packets/{print $NF}')"
expect_eq "no temporary file left" "" "$(ls "$TMP" | grep partial)"

# A full device (a 2 MiB tmpfs): exit 1, one line naming OUT and the
# cause, and neither OUT nor a temporary file left.
mnt=$TMP/full
mkdir -p "$mnt"
if mount -t tmpfs -o size=2m ct-convert-full "$mnt" 2>/dev/null; then
	st=0
	"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$mnt/out.pcapng" 2>"$TMP/err" || st=$?
	expect_eq "exit status on a full device" 1 "$st"
	expect_eq "stderr lines" 1 "$(grep -c . "$TMP/err")"
	check "the error names OUT and ENOSPC" grep -q -F "$mnt/out.pcapng: No space left on device" "$TMP/err"
	expect_eq "files left on the full device" "" "$(ls -A "$mnt")"
	umount "$mnt"
else
	echo "  note: not root, the full-device part did not run" >&2
fi
done_testing
