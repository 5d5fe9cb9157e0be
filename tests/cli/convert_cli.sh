#!/usr/bin/env bash
# convert's command line: format from --to or the extension, usage errors
# (exit 2, one line), runtime errors (exit 1) never leave a file behind,
# output appears only complete (temp file + rename), mode 0600, --help.
source tests/lib.sh

"$GEN" -n 1000 --seed 51 --profile mixed -o "$TMP/t.ctr" || { fail "conntrail-gen"; done_testing; }
mkdir "$TMP/out"
C=$CONNTRAIL

expect_status "unknown extension without --to" 2 "$C" convert "$TMP/t.ctr" -o "$TMP/out/x.txt"
expect_eq "usage error is one line" "1" "$(wc -l <"$TMP/.stderr")"
grep -q "x.txt" "$TMP/.stderr" || fail "message does not name the output: $(cat "$TMP/.stderr")"
expect_status "-o - without --to" 2 "$C" convert "$TMP/t.ctr" -o -
expect_status "unknown --to" 2 "$C" convert "$TMP/t.ctr" -o "$TMP/out/x.csv" --to xml
grep -q -- "--to xml" "$TMP/.stderr" || fail "message does not name --to xml"
expect_status "no -o" 2 "$C" convert "$TMP/t.ctr"
expect_status "--replies with csv" 2 "$C" convert "$TMP/t.ctr" -o "$TMP/out/x.csv" --replies
expect_status "bad filter" 2 "$C" convert "$TMP/t.ctr" -o "$TMP/out/x.csv" --filter 'dport =='
expect_status "bad --since" 2 "$C" convert "$TMP/t.ctr" -o "$TMP/out/x.csv" --since yesterday
expect_status "missing input" 1 "$C" convert "$TMP/nope.ctr" -o "$TMP/out/x.pcapng"
grep -q "nope.ctr" "$TMP/.stderr" || fail "message does not name the missing input"
printf 'not a trace at all, just text\n' >"$TMP/junk.ctr"
expect_status "not a trace" 1 "$C" convert "$TMP/junk.ctr" -o "$TMP/out/x.pcapng"
expect_status "output directory missing" 1 "$C" convert "$TMP/t.ctr" -o "$TMP/no/dir/x.csv"
expect_eq "failed conversions leave nothing behind" "" "$(ls -A "$TMP/out")"

# An existing OUT is only replaced by a complete conversion.
echo "previous" >"$TMP/out/keep.pcapng"
expect_status "failed conversion over an existing file" 2 \
	"$C" convert "$TMP/t.ctr" -o "$TMP/out/keep.pcapng" --filter 'bogus == 1'
expect_eq "existing output untouched" "previous" "$(cat "$TMP/out/keep.pcapng")"
expect_status "conversion over an existing file" 0 "$C" convert -q "$TMP/t.ctr" -o "$TMP/out/keep.pcapng"
expect_eq "replaced by a pcapng" "0a0d0d0a" "$(head -c 4 "$TMP/out/keep.pcapng" | od -An -tx1 | tr -d ' \n')"
expect_eq "mode 0600" "600" "$(stat -c %a "$TMP/out/keep.pcapng")"
expect_eq "no temporary files left" "keep.pcapng" "$(ls -A "$TMP/out")"

# Format by extension; --to overrides it.
for ext in pcapng pcap csv jsonl json tracee.json; do
	expect_status "extension .$ext" 0 "$C" convert -q "$TMP/t.ctr" -o "$TMP/out/e.$ext"
done
expect_eq ".csv starts with the header" "ts,ts_ns,host" "$(head -c 13 "$TMP/out/e.csv")"
expect_eq ".pcap magic (nanosecond)" "4d3cb2a1" "$(head -c 4 "$TMP/out/e.pcap" | od -An -tx1 | tr -d ' \n')"
expect_eq ".tracee.json is Tracee" "security_socket_connect" "$(head -1 "$TMP/out/e.tracee.json" | jq -r .eventName)"
expect_status "--to csv into a .pcapng name" 0 "$C" convert -q "$TMP/t.ctr" -o "$TMP/out/o.pcapng" --to csv
expect_eq "--to wins over the extension" "ts,ts_ns,host" "$(head -c 13 "$TMP/out/o.pcapng")"

# Standard output, piped: nothing on stderr (no progress bar in a pipe).
"$C" convert "$TMP/t.ctr" -o - --to pcapng 2>"$TMP/err" | cat >"$TMP/stdout.pcapng"
# (The section header records each command line, so compare the packets.)
check "stdout pcapng == file pcapng" cmp -s <(tshark -r "$TMP/out/e.pcapng" 2>/dev/null) \
	<(tshark -r "$TMP/stdout.pcapng" 2>/dev/null)
expect_eq "stdout pcapng packets" "1000" "$(tshark -r "$TMP/stdout.pcapng" 2>/dev/null | wc -l)"
# (only the warning that the trace lost events: the generator writes losses)
expect_eq "stderr in a pipe: no progress bar" "" "$(grep -v 'lost while recording' "$TMP/err")"
# A reader that goes away early is not an error.
expect_status "closed pipe" 0 sh -c "'$C' convert '$TMP/t.ctr' -o - --to csv | head -1 >/dev/null"
# Input from standard input.
"$C" convert -q - -o "$TMP/out/stdin.jsonl" <"$TMP/t.ctr"
check "stdin input" cmp -s "$TMP/out/stdin.jsonl" "$TMP/out/e.jsonl"

"$C" convert --help >"$TMP/help" || fail "--help exit status"
grep -q "Examples:" "$TMP/help" || fail "--help has no examples"
grep -q "tracee-json" "$TMP/help" || fail "--help does not list tracee-json"
done_testing
