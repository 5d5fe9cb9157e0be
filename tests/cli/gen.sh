#!/usr/bin/env bash
# conntrail-gen: deterministic, 0600, profiles and codecs readable, truth
# consistent with what a reader finds (script --json counted with jq), bad
# arguments are usage errors.
. tests/lib.sh

# The header keeps the command line, so compare runs with the same one.
"$GEN" -n 5000 --seed 5 -o "$TMP/b.ctr" --truth "$TMP/b.json"
mv "$TMP/b.ctr" "$TMP/first.ctr"
mv "$TMP/b.json" "$TMP/first.json"
"$GEN" -n 5000 --seed 5 -o "$TMP/b.ctr" --truth "$TMP/b.json"
cp "$TMP/b.ctr" "$TMP/a.ctr"
cp "$TMP/b.json" "$TMP/a.json"
mv "$TMP/first.ctr" "$TMP/b.ctr"
mv "$TMP/first.json" "$TMP/b.json"
"$GEN" -n 5000 --seed 6 -o "$TMP/c.ctr"
check "same seed, same file" cmp -s "$TMP/a.ctr" "$TMP/b.ctr"
check "same seed, same truth" cmp -s "$TMP/a.json" "$TMP/b.json"
check "other seed, other file" test "$(cmp -s "$TMP/a.ctr" "$TMP/c.ctr"; echo $?)" = 1
expect_eq "mode 0600" 600 "$(stat -c %a "$TMP/a.ctr")"

T=$TMP/a.json
jqe() { jq -e "$@" >/dev/null; }
sum() { jq "[.$1[]] | add" "$T"; }
expect_eq "per-destination counts add up" "$(jq .events "$T")" "$(sum dest)"
expect_eq "per-comm counts add up" "$(jq .events "$T")" "$(sum comm)"
expect_eq "per-pid counts add up" "$(jq .events "$T")" "$(sum pid)"
expect_eq "per-family counts add up" "$(jq .events "$T")" "$(sum family)"
expect_eq "per-result counts add up" "$(jq .events "$T")" "$(sum result)"
check "all families present" jqe '.family.AF_INET > 0 and .family.AF_INET6 > 0 and .family.AF_UNIX > 0' "$T"
expect_eq "per-ret counts add up" "$(jq .events "$T")" "$(sum ret)"
check "failures present" jqe '.ret.ECONNREFUSED > 0 and .ret.EINPROGRESS > 0' "$T"
check "handshake outcomes present" \
	jqe '.result.EINPROGRESS == 0 and .result.ECONNREFUSED > .ret.ECONNREFUSED and .result.EHOSTUNREACH > 0 and .result.abandoned > 0 and .result.unknown > 0' "$T"
check "closes and open connections present" jqe '.closed > 0 and .still_open > 0 and .tx_bytes > 0 and .rx_bytes > 0' "$T"
check "abstract UNIX names present" jqe '[.dest | keys[] | select(startswith("@"))] | length > 0' "$T"
check "several processes" jqe '.comm | length >= 10' "$T"

# What a reader finds matches the truth, event by event: count with jq.
if "$CONNTRAIL" script --json "$TMP/a.ctr" >"$TMP/a.jsonl" 2>"$TMP/script.err"; then
	expect_eq "script sees every event" "$(jq .events "$T")" "$(wc -l <"$TMP/a.jsonl")"
	top=$(jq -r '.comm | to_entries | max_by(.value) | "\(.key) \(.value)"' "$T")
	got=$(jq -r 'select(.comm == "'"${top% *}"'") | .comm' "$TMP/a.jsonl" | wc -l)
	expect_eq "events of the busiest comm" "${top#* }" "$got"
	v4=$(jq -r 'select(.family == "AF_INET") | 1' "$TMP/a.jsonl" | wc -l)
	expect_eq "IPv4 events" "$(jq .family.AF_INET "$T")" "$v4"
	# Every final outcome, and what became of the established ones.
	want=$(jq -c '.result | with_entries(select(.value > 0))' "$T")
	got=$(jq -s -c 'group_by(.outcome) | map({(.[0].outcome): length}) | add' "$TMP/a.jsonl")
	expect_eq "outcomes == truth" "$(jq -cS . <<<"$want")" "$(jq -cS . <<<"$got")"
	expect_eq "closed == truth" "$(jq .closed "$T")" "$(jq -s '[.[] | select(.closed_ns)] | length' "$TMP/a.jsonl")"
	expect_eq "still open == truth" "$(jq .still_open "$T")" "$(jq -s '[.[] | select(.still_open)] | length' "$TMP/a.jsonl")"
	expect_eq "tx bytes == truth" "$(jq .tx_bytes "$T")" "$(jq -s '[.[] | .tx_bytes // 0] | add' "$TMP/a.jsonl")"
	expect_eq "rx bytes == truth" "$(jq .rx_bytes "$T")" "$(jq -s '[.[] | .rx_bytes // 0] | add' "$TMP/a.jsonl")"
else
	fail "script --json failed: $(head -c 200 "$TMP/script.err")"
fi

# Storm: one process, one destination, ~1 us apart.
"$GEN" -n 100000 --profile storm -o "$TMP/s.ctr" --truth "$TMP/s.json"
expect_eq "storm: one destination" '{"10.1.2.3:9999":100000}' "$(jq -c .dest "$TMP/s.json")"
span=$(jq '.last_ts_ns - .first_ts_ns' "$TMP/s.json")
check "storm: ~1 us spacing ($span ns for 1e5)" test "$span" -gt 80000000 -a "$span" -lt 120000000
size=$(stat -c %s "$TMP/s.ctr")
check "storm: <= 6 bytes/event ($size bytes)" test "$size" -le 600000

for c in zlib:9 none zstd:19; do
	"$GEN" -n 3000 --compress "$c" -o "$TMP/z.ctr" --truth "$TMP/z.json"
	n=$("$CONNTRAIL" info --json "$TMP/z.ctr" | jq .events)
	expect_eq "--compress $c readable" 3000 "$n"
done

"$GEN" -n 10 --start 2030-01-02T03:04:05Z -o "$TMP/t.ctr" --truth "$TMP/t.json"
check "--start sets the wall clock" jqe '.first_ts | startswith("2030-01-02T03:04:05")' "$TMP/t.json"

expect_status "no -o" 2 "$GEN" -n 10
expect_status "no -n" 2 "$GEN" -o "$TMP/x.ctr"
expect_status "bad profile" 2 "$GEN" -n 10 --profile nope -o "$TMP/x.ctr"
expect_status "bad codec" 2 "$GEN" -n 10 --compress lz4 -o "$TMP/x.ctr"
expect_status "bad level" 2 "$GEN" -n 10 --compress zstd:99 -o "$TMP/x.ctr"
expect_status "bad start" 2 "$GEN" -n 10 --start yesterday -o "$TMP/x.ctr"
expect_status "unwritable output" 1 "$GEN" -n 10 -o "$TMP/no/such/dir.ctr"

done_testing
