#!/usr/bin/env bash
# convert --to jsonl / csv: JSON lines byte-identical to script --json (also
# filtered), CSV read back by python3's csv module: header = the JSON keys,
# one row per event, every cell equal to the JSON value.
source tests/lib.sh

"$GEN" -n 4000 --seed 21 --profile mixed -o "$TMP/t.ctr" --truth "$TMP/truth.json" ||
	{ fail "conntrail-gen"; done_testing; }
events=$(jq .events "$TMP/truth.json")

# JSON lines: the same bytes as script --json, by extension and by --to.
"$CONNTRAIL" script --json "$TMP/t.ctr" >"$TMP/script.jsonl"
check "convert to .jsonl" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/a.jsonl"
check "jsonl == script --json" cmp -s "$TMP/script.jsonl" "$TMP/a.jsonl"
check "convert -o - --to jsonl" sh -c "'$CONNTRAIL' convert -q '$TMP/t.ctr' -o - --to jsonl >'$TMP/b.jsonl'"
check "stdout jsonl == script --json" cmp -s "$TMP/script.jsonl" "$TMP/b.jsonl"
check "convert to .json is JSON lines" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/c.json"
check ".json == script --json" cmp -s "$TMP/script.jsonl" "$TMP/c.json"
expect_eq "jq parses every line" "$events" "$(jq -c . "$TMP/a.jsonl" | wc -l)"
f='family == inet6 or (comm == "curl" and dport == 443)'
"$CONNTRAIL" script --json "$TMP/t.ctr" --filter "$f" >"$TMP/fs.jsonl"
"$CONNTRAIL" convert -q "$TMP/t.ctr" --filter "$f" -o "$TMP/fc.jsonl"
check "filtered jsonl == filtered script --json" cmp -s "$TMP/fs.jsonl" "$TMP/fc.jsonl"
[ -s "$TMP/fs.jsonl" ] || fail "the filter matched nothing"
"$CONNTRAIL" script --json "$TMP/t.ctr" --since +1s --until +2s >"$TMP/ws.jsonl"
"$CONNTRAIL" convert -q "$TMP/t.ctr" --since +1s --until +2s -o "$TMP/wc.jsonl"
check "time-window jsonl == script --json" cmp -s "$TMP/ws.jsonl" "$TMP/wc.jsonl"

# CSV: RFC 4180 as python reads it, cell by cell against the JSON lines.
check "convert to .csv" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.csv"
head -n 1 "$TMP/t.csv" | grep -q $'\r$' || fail "CSV lines do not end in CRLF"
out=$(python3 - "$TMP/t.csv" "$TMP/script.jsonl" <<'PY'
import csv, json, sys
keys = ["ts", "ts_ns", "host", "pid", "tid", "ppid", "uid", "gid", "comm", "exe", "cmdline",
        "cgroup_id", "container", "sockfd", "family", "type", "proto", "daddr", "scope_id",
        "dport", "saddr", "sport", "path", "abstract", "ret", "ret_name", "latency_ns", "result",
        "result_ns", "outcome", "closed_ns", "tx_bytes", "rx_bytes", "still_open", "dname",
        "container_name", "image", "pod", "k8s_namespace"]
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    raw = f.read()
assert "\n" not in raw.replace("\r\n", ""), "bare LF line end"
rows = list(csv.reader(raw.splitlines(keepends=True), strict=True))
assert rows[0] == keys, "header %r" % rows[0]
lines = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert len(rows) - 1 == len(lines), "%d rows for %d events" % (len(rows) - 1, len(lines))
seen = set()
for n, (row, obj) in enumerate(zip(rows[1:], lines), 1):
    assert len(row) == len(keys), "row %d has %d cells" % (n, len(row))
    for k, cell in zip(keys, row):
        if k not in obj:
            assert cell == "", "row %d %s: %r for an absent key" % (n, k, cell)
            continue
        v = obj[k]
        want = ("true" if v else "false") if isinstance(v, bool) else str(v)
        # text that a spreadsheet would run as a formula is neutralised
        # (OWASP): a leading ', unless convert --csv-raw
        if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
            want = "'" + want
        assert cell == want, "row %d %s: %r != %r" % (n, k, cell, want)
        seen.add(k)
missing = set(keys) - seen - {"saddr", "sport", "cgroup_id", "dname"}  # generated traces have no names
assert not missing, "keys never present: %s" % sorted(missing)
print(len(rows) - 1)
PY
)
expect_eq "python csv rows == events, cells == JSON values" "$events" "$out"

done_testing
