#!/usr/bin/env bash
# R6: bad command lines and bad files for every subcommand. Each must give
# the documented exit status (1 runtime, 2 usage), one clear line on stderr
# naming the file or argument, no signal, no sanitizer report, and convert
# must not leave its output behind. Run with the normal binary and, when
# present, the ASan+UBSan one (build-san/conntrail).
source tests/lib.sh
source tests/reliability/common.sh
SAN_BIN=${REL_SAN_CONNTRAIL:-$PWD/build-san/conntrail}
# Run as another user for the permission cases; already unprivileged: as is.
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
[ "$(id -u)" -eq 0 ] || NOBODY=(env)

# ---- the bad files
pub=$TMP/pub
mkdir -p "$pub" && chmod 0755 "$TMP" "$pub"
good=$pub/good.ctr
if [ -x "$GEN" ]; then
	"$GEN" -n 2000 --seed 3 -o "$good" 2>/dev/null || fail "conntrail-gen failed"
else
	cp "$(ls "$SAMPLES"/*.ctr | head -n 1)" "$good" 2>/dev/null || fail "no trace to start from"
fi
chmod 0644 "$good"
: >"$pub/empty.ctr"
mkdir -p "$pub/dir.ctr"
printf 'hello, this is not a trace\n' >"$pub/text.ctr"
head -c 4096 /dev/zero >"$pub/zeros.ctr"
gzip -c "$pub/text.ctr" >"$pub/text.gz"
head -c 12 "$good" >"$pub/trunc.ctr"
python3 - "$pub/capture.pcap" "$pub/future.ctr" "$good" <<'PY'
import struct, sys, zlib
# A real little pcap: global header + one Ethernet/IPv4/UDP packet.
pkt = bytes(14) + bytes([0x45]) + bytes(27)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    f.write(struct.pack("<IIII", 1, 0, len(pkt), len(pkt)) + pkt)
# A trace from a future major version: major (le16 at 8) + 1, and when the
# header ends with a crc32 over itself (FORMAT.md), a valid one again.
b = bytearray(open(sys.argv[3], "rb").read())
major = struct.unpack_from("<H", b, 8)[0]
struct.pack_into("<H", b, 8, major + 1)
tlv = struct.unpack_from("<I", b, 12)[0]
end = 16 + tlv
if end + 4 <= len(b):
    struct.pack_into("<I", b, end, zlib.crc32(bytes(b[:end])))
open(sys.argv[2], "wb").write(b)
PY
install -m 0600 "$good" "$pub/secret.ctr"

cases=0
bad=0
# t STATUS NEEDLE MAXLINES [OUT] -- COMMAND...: STATUS may be "1|2".
t() {
	local want=$1 needle=$2 maxl=$3 out=""
	shift 3
	if [ "$1" != "--" ]; then
		out=$1
		shift
	fi
	shift
	cases=$((cases + 1))
	T_CHECKS=$((T_CHECKS + 1))
	rm -rf "$TMP/out"
	local st=0
	"$@" >"$TMP/stdout" 2>"$TMP/stderr" <"${T_STDIN:-/dev/null}" || st=$?
	local lines why=""
	lines=$(grep -c . "$TMP/stderr")
	if [ "$st" -gt 128 ]; then
		why="killed by $(status_word $st)"
	elif grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation' "$TMP/stderr"; then
		why="sanitizer report"
	elif ! [[ "|$want|" == *"|$st|"* ]]; then
		why="exit status $st, expected $want"
	elif [ "$lines" -lt 1 ] || [ "$lines" -gt "$maxl" ]; then
		why="$lines lines on stderr, expected 1$([ "$maxl" -gt 1 ] && echo "..$maxl")"
	elif ! grep -q -i -F -- "$needle" <(head -n 1 "$TMP/stderr"); then
		why="first stderr line does not name '$needle'"
	elif [ -n "$out" ] && [ -e "$out" ]; then
		why="left $out behind"
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		fail "${*:2}: $why [stderr: $(head -c 200 "$TMP/stderr" | tr '\n' '|')]"
	fi
}

run_cases() {
	local ct=$1
	local o=$TMP/out
	# Bad input files, for every reading command.
	for f in "$pub/missing.ctr" "$pub/dir.ctr" "$pub/empty.ctr" "$pub/text.ctr" "$pub/zeros.ctr" \
		"$pub/text.gz" "$pub/capture.pcap" "$pub/trunc.ctr" "$pub/future.ctr" /dev/null; do
		t 1 "$f" 1 -- "$ct" script "$f"
		t 1 "$f" 1 -- "$ct" script --json "$f"
		t 1 "$f" 1 -- "$ct" report "$f"
		t 1 "$f" 1 -- "$ct" info "$f"
		t 1 "$f" 1 "$o.jsonl" -- "$ct" convert "$f" -o "$o.jsonl" --to jsonl
		t 1 "$f" 1 "$o.pcapng" -- "$ct" convert "$good" "$f" -o "$o.pcapng"
	done
	# A newer major version is named as such, not as garbage.
	t 1 "version" 1 -- "$ct" info "$pub/future.ctr"
	t 1 "version" 1 -- "$ct" script "$pub/future.ctr"
	# Bad input on standard input ("-").
	T_STDIN=$pub/text.ctr t 1 "-:" 1 -- "$ct" script -
	T_STDIN=$pub/empty.ctr t 1 "-:" 1 -- "$ct" info -
	T_STDIN=$pub/text.gz t 1 "-:" 1 "$o.jsonl" -- "$ct" convert - -o "$o.jsonl" --to jsonl
	T_STDIN=$pub/trunc.ctr t 1 "-:" 1 -- "$ct" report -
	# A file the caller may not read (as nobody when we are root).
	t 1 "$pub/secret.ctr" 1 -- "${NOBODY[@]}" "$ct" script "$pub/secret.ctr"
	t 1 "$pub/secret.ctr" 1 -- "${NOBODY[@]}" "$ct" info "$pub/secret.ctr"
	# Bad options and arguments.
	t 2 "--bogus" 1 -- "$ct" script --bogus "$good"
	t 2 "--bogus" 1 -- "$ct" report --bogus "$good"
	t 2 "--bogus" 1 -- "$ct" info --bogus "$good"
	t 2 "--bogus" 1 "$o.csv" -- "$ct" convert --bogus "$good" -o "$o.csv"
	t 2 "nosuchcmd" 1 -- "$ct" nosuchcmd
	t 2 "notatime" 1 -- "$ct" script --since notatime "$good"
	t 2 "2026-13-45T00:00:00Z" 1 -- "$ct" script --until 2026-13-45T00:00:00Z "$good"
	t 2 "+5x" 1 -- "$ct" report --since +5x "$good"
	t 2 "--since" 1 -- "$ct" script "$good" --since
	t 2 "--filter" 1 -- "$ct" report "$good" --filter
	t 2 "filter" 3 -- "$ct" script --filter 'dport ==' "$good"
	t 2 "nosuchfield" 3 -- "$ct" report --filter 'nosuchfield == 1' "$good"
	t 2 "filter" 3 -- "$ct" script --filter 'daddr in 10.0.0.0/33' "$good"
	t 2 "filter" 3 -- "$ct" script --filter '((dport == 1' "$good"
	t 2 "filter" 3 -- "$ct" script --filter 'comm == "curl' "$good"
	t 2 "abc" 1 -- "$ct" report --top abc "$good"
	t 2 "-1" 1 -- "$ct" report --top -1 "$good"
	t 2 "nonsense" 1 -- "$ct" report --by nonsense "$good"
	t 2 "-o" 1 -- "$ct" convert "$good"
	t 2 "xml" 1 "$o.xml" -- "$ct" convert "$good" -o "$o.xml" --to xml
	t 2 "filter" 3 "$o.csv" -- "$ct" convert "$good" -o "$o.csv" --to csv --filter 'dport =='
	t 2 "notatime" 1 "$o.csv" -- "$ct" convert "$good" -o "$o.csv" --to csv --since notatime
	# Outputs that cannot be written.
	t 1 "/nonexistent-dir/out.csv" 1 -- "$ct" convert "$good" -o /nonexistent-dir/out.csv --to csv
	t 1 "$pub/dir.ctr" 1 -- "$ct" convert "$good" -o "$pub/dir.ctr" --to csv
	t 1 "$pub/ro.csv" 1 "$pub/ro.csv" -- "${NOBODY[@]}" "$ct" convert "$good" -o "$pub/ro.csv" --to csv
	# record: usage errors (parsed before anything is loaded) and runtime ones.
	t 2 "nonsense" 1 -- "$ct" record --backend nonsense -o "$o.ctr"
	t 2 "lz4" 1 -- "$ct" record --compress lz4 -o "$o.ctr"
	t 2 "zstd:99" 1 -- "$ct" record --compress zstd:99 -o "$o.ctr"
	t 2 "abc" 1 -- "$ct" record --duration abc -o "$o.ctr"
	t 2 "10Q" 1 -- "$ct" record --max-size 10Q -o "$o.ctr"
	t 2 "notapid" 1 -- "$ct" record -p notapid -o "$o.ctr"
	t 2 "--bogus" 1 -- "$ct" record --bogus
	t 1 "root" 1 -- "${NOBODY[@]}" "$ct" record -o "$o.ctr" --duration 1
	if [ "$(id -u)" -eq 0 ]; then
		t 1 "/nonexistent-dir/x.ctr" 1 -- "$ct" record -q -o /nonexistent-dir/x.ctr --duration 1
		t 1 "$pub/dir.ctr" 1 -- "$ct" record -q -o "$pub/dir.ctr" --duration 1
		t "1|2" "/nonexistent-cgroup" 1 -- "$ct" record -q --cgroup /nonexistent-cgroup -o "$o.ctr" --duration 1
		# An explicit backend this kernel refuses: an error saying why.
		t 1 "lsm" 1 -- "$ct" record -q --backend lsm -o "$o.ctr" --duration 1
		t 1 "fentry" 1 -- "$ct" record -q --backend fentry -o "$o.ctr" --duration 1
	fi
}

run_cases "$CONNTRAIL"
plain=$cases
san=""
if [ -x "$SAN_BIN" ]; then
	run_cases "$SAN_BIN"
	san=", ASan+UBSan build too"
fi
echo "R6 bad-input: $cases cases ($plain per binary$san), $bad bad"
done_testing
