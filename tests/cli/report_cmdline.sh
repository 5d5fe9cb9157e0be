#!/usr/bin/env bash
# report names the command line of each process group: the JSON "cmdline"
# and the text "cmd:" line must be the command line the generator wrote in
# its process records for that executable (read from its program table, the
# generator's input, not from any conntrail output). Small chunks: the
# session's per-chunk process tokens repeat from chunk to chunk, so a cache
# that mixed them up would show programs with another program's exe.
. tests/lib.sh

"$GEN" -n 200000 --seed 23 --profile mixed --chunk-events 3000 -o "$TMP/m.ctr" ||
	{ fail "generator"; done_testing; }

# exe -> command line and comm -> exe, from the generator's program templates.
python3 - tools/conntrail-gen.c "$TMP/exes.json" >"$TMP/args.json" <<'PY' || fail "program table"
import json, re, sys
src = open(sys.argv[1]).read()
table = src[src.index("progs[] = {"):]
table = table[:table.index("};")]
rows = re.findall(r'\{\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)"', table)
print(json.dumps({exe: args for _comm, exe, args in rows}))
json.dump({comm: exe for comm, exe, _args in rows}, open(sys.argv[2], "w"))
PY
check "program table has rows" test "$(jq length "$TMP/args.json")" -ge 10

check "report --json" "$CONNTRAIL" report -q --json --top 0 --by process "$TMP/m.ctr" >"$TMP/r.json"
check "report text" "$CONNTRAIL" report -q --by process --top 0 "$TMP/m.ctr" >"$TMP/r.txt"
# JSON: each process group's cmdline; text: a "cmd:" line right under each
# process line that has an exe.
check "cmdline per process group, JSON and text" python3 - "$TMP/args.json" "$TMP/r.json" \
	"$TMP/exes.json" "$TMP/r.txt" <<'PY'
import json, re, sys
args = json.load(open(sys.argv[1]))
rep = json.load(open(sys.argv[2]))
exes = json.load(open(sys.argv[3]))
lines = open(sys.argv[4]).read().splitlines()
bad, named, seen = [], 0, 0
for p in rep["processes"]:
    exe = p.get("exe")
    # One trace, pids never reused: an event's process-table entry (found
    # through the session's caches) has the exe of the program it runs.
    if exe is not None and exes.get(p["comm"]) != exe:
        bad.append(f"{p['comm']}: exe {exe}, the generator runs {exes.get(p['comm'])}")
    if exe is None:
        if "cmdline" in p:
            bad.append(f"{p['comm']}: no exe but cmdline {p['cmdline']!r}")
        continue
    named += 1
    if p.get("cmdline") != args.get(exe):
        bad.append(f"{p['comm']} {exe}: cmdline {p.get('cmdline')!r}, want {args.get(exe)!r}")
for i, l in enumerate(lines):
    m = re.match(r"^\s+\d+\s+[\d.]+%\s+\S+\s+\d+\s+\d+\s+(/\S+)$", l)
    if not m:
        continue
    seen += 1
    want = "cmd: " + args[m.group(1)]
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if nxt != want:
        bad.append(f"after {l.strip()!r}: {nxt!r}, want {want!r}")
if named < 10 or seen < 10:
    bad.append(f"only {named} JSON groups and {seen} text process lines with an exe")
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The storm sample's one process.
"$CONNTRAIL" report -q --json --by process "$SAMPLES/storm.ctr" >"$TMP/s.json"
expect_eq "storm cmdline" '"stormer --udp 10.1.2.3:9999"' "$(jq -c '.processes[0].cmdline' "$TMP/s.json")"
done_testing
