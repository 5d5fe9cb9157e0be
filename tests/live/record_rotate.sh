#!/usr/bin/env bash
# --max-size with --rotate N: FILE.0 .. FILE.(N-1), each a complete trace,
# the oldest replaced; read together, the files hold a consecutive run of
# the connects (no gap, no overlap) ending with the last one made. The
# helper numbers its connects by destination port (20000 + i).
. tests/lib.sh
export CONNTRAIL
STORM=$PWD/$BUILD/tests/connstorm
cd "$TMP"
"$CONNTRAIL" record --max-size 16k --rotate 3 -o t.ctr -- "$STORM" 45000 --seq 20000 >storm.out 2>rec.err
expect_eq "record exit status" 0 $?
check "summary names the ring" grep -q ' 0 lost, .* t.ctr.0..t.ctr.2$' rec.err
check "exactly three files" test "$(ls t.ctr.* | wc -l)" = 3
spid=$(sed 's/.*pid=//' storm.out)
for f in t.ctr.0 t.ctr.1 t.ctr.2; do
	check "$f is at most --max-size plus one chunk (<48k)" test "$(stat -c %s $f)" -lt 49152
	"$CONNTRAIL" script --json "$f" >"$f.jsonl"
	expect_eq "$f reads on its own" 0 $?
	check "$f has the command's process context (exe)" \
		test "$(jq -r -s "map(select(.pid == $spid)) | .[0].exe" "$f.jsonl")" = "$STORM"
done
check "files hold consecutive runs, no gap, no overlap, ending at the last connect" \
	python3 - t.ctr.0.jsonl t.ctr.1.jsonl t.ctr.2.jsonl <<'PY'
import json, sys
runs = []
for name in sys.argv[1:]:
    ports = [json.loads(l)["dport"] for l in open(name)]
    if not ports or ports != list(range(ports[0], ports[0] + len(ports))):
        print("    %s: not one consecutive run: %s.." % (name, ports[:5])); sys.exit(1)
    runs.append((ports[0], ports[-1]))
runs.sort()
for (a0, a1), (b0, b1) in zip(runs, runs[1:]):
    if b0 != a1 + 1:
        print("    gap or overlap between runs %s and %s" % ((a0, a1), (b0, b1))); sys.exit(1)
if runs[-1][1] != 20000 + 45000 - 1:
    print("    last connect missing: runs %s" % runs); sys.exit(1)
if runs[0][0] == 20000:
    print("    nothing was rotated away: %s" % runs); sys.exit(1)
PY
# --max-size alone: recording stops at the size, the command runs on to its
# end and its status is returned; the file holds the first connects.
"$CONNTRAIL" record --max-size 16k -o single.ctr -- sh -c "'$STORM' 45000 --seq 20000 >single.out; exit 5" 2>single.err
expect_eq "record returns the command's status after a size stop" 5 $?
check "the command ran to its end" grep -q 'generated=45000 ' single.out
check "says it stopped at --max-size" grep -q -- '--max-size 16384 reached, stopped' single.err
check "single.ctr is at most --max-size plus one chunk" test "$(stat -c %s single.ctr)" -lt 49152
check "single.ctr holds the first connects, consecutive" python3 - <<'PY'
import json, subprocess, sys, os
out = subprocess.run([os.environ.get("CONNTRAIL"), "script", "--json", "single.ctr"],
                     capture_output=True, text=True, check=True).stdout
ports = [json.loads(l)["dport"] for l in out.splitlines()]
ok = ports and ports == list(range(20000, 20000 + len(ports))) and len(ports) < 45000
if not ok:
    print("    ports: %s .. (%d)" % (ports[:5], len(ports)))
sys.exit(0 if ok else 1)
PY
# The merged view reads all three in time order too.
expect_eq "merged script sees the three files' events" \
	"$(cat t.ctr.*.jsonl | wc -l)" "$("$CONNTRAIL" script t.ctr.0 t.ctr.1 t.ctr.2 | grep -vc '^#')"
done_testing
