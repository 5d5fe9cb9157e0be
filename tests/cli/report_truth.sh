#!/usr/bin/env bash
# report --json on a generated trace: every number checked against the
# generator's --truth by an independent reader (python3), and script --json
# per pid against the truth too.
. tests/lib.sh

"$GEN" -n 150000 --seed 11 --profile mixed -o "$TMP/m.ctr" --truth "$TMP/truth.json" ||
	{ fail "generator"; done_testing; }

check "report --json" "$CONNTRAIL" report -q --json --top 0 "$TMP/m.ctr" >"$TMP/r.json"
check "script --json" "$CONNTRAIL" script -q --json "$TMP/m.ctr" >"$TMP/s.jsonl"

check "report numbers equal the truth" python3 - "$TMP/truth.json" "$TMP/r.json" "$TMP/s.jsonl" <<'PY'
import collections, json, sys
# The generator may list one destination under several keys (its table has
# duplicates): sum repeated keys instead of keeping the last.
def summing(pairs):
    d = {}
    for k, v in pairs:
        d[k] = d[k] + v if k in d and isinstance(v, int) else v
    return d
truth = json.load(open(sys.argv[1]), object_pairs_hook=summing)
rep = json.load(open(sys.argv[2]))
bad = []
def eq(what, want, got):
    if want != got:
        bad.append(f"{what}: truth {want!r}, report {got!r}")

eq("events", truth["events"], rep["events"])
eq("events_read", truth["events"], rep["events_read"])
eq("lost events", truth["lost"], rep["lost"]["events"])
eq("lost records", truth["lost_records"], rep["lost"]["records"])
eq("span first", truth["first_ts_ns"] + truth["wall_offset_ns"], rep["span"]["first_ns"])
eq("span last", truth["last_ts_ns"] + truth["wall_offset_ns"], rep["span"]["last_ns"])
eq("span first text", truth["first_ts"], rep["span"]["first"])
eq("families", {k: v for k, v in truth["family"].items() if v},
   {k: v for k, v in rep["families"].items()})

# Outcome classes from the truth's final outcomes (a handshake's end, not
# the EINPROGRESS connect(2) returned).
classes = {"ok": "success", "ECONNREFUSED": "refused", "ETIMEDOUT": "timeout",
           "EACCES": "denied", "EPERM": "denied", "ENETUNREACH": "unreachable",
           "EHOSTUNREACH": "unreachable", "abandoned": "abandoned", "unknown": "unknown"}
want = collections.Counter()
for name, n in truth["result"].items():
    want[classes.get(name, "other")] += n
eq("no EINPROGRESS outcome", 0, truth["result"]["EINPROGRESS"])
for k in ("success", "refused", "timeout", "denied", "unreachable", "other", "abandoned",
          "unknown"):
    eq("result " + k, want[k], rep["results"][k])
eq("outcome classes", sorted(rep["results"]), sorted(set(classes.values()) | {"other"}))
eq("errors", {k: v for k, v in truth["result"].items()
              if v and k not in ("ok", "abandoned", "unknown")}, rep["errors"])

# Destinations: the generator spells abstract names with \x00, report with '@'.
def norm(d):
    return "@" + d[4:] if d.startswith("\\x00") else d
got = {d["dest"]: d["count"] for d in rep["destinations"]}
eq("destination count", rep["destinations_total"], len(rep["destinations"]))
eq("destinations", {norm(k): v for k, v in truth["dest"].items()}, got)
top = rep["destinations"][0]
eq("top destination", max(truth["dest"].values()), top["count"])

# Processes by comm (report groups by comm and exe: sum them).
by_comm = collections.Counter()
for p in rep["processes"]:
    by_comm[p["comm"]] += p["count"]
eq("per comm", {k: v for k, v in truth["comm"].items() if v}, dict(by_comm))
eq("process pids", sum(1 for _ in truth["pid"]) <= sum(p["pids"] for p in rep["processes"]), True)

# Ports: the sum over inet destinations.
ports = collections.Counter()
for d in rep["destinations"]:
    if "dport" in d:
        ports[d["dport"]] += d["count"]
eq("ports", dict(ports), {p["port"]: p["count"] for p in rep["ports"] if p["port"] in ports})
eq("rate sums to events", rep["events"], sum(rep["rate"]["counts"]))
eq("chunks all read", rep["chunks"]["total"], rep["chunks"]["read"])

# script --json: per pid, as the truth counts them.
pids = collections.Counter()
n = 0
for line in open(sys.argv[3]):
    ev = json.loads(line)
    pids[str(ev["pid"])] += 1
    n += 1
eq("script lines", truth["events"], n)

# Per destination, from the events themselves: distinct programs (comm, exe),
# failures (a final outcome that is an error: not ok, abandoned or unknown),
# first/last.
progs = collections.defaultdict(set)
failed = collections.Counter()
first, last = {}, {}
for line in open(sys.argv[3]):
    e = json.loads(line)
    if e["family"] == "AF_INET":
        d = f"{e['daddr']}:{e['dport']}"
    elif e["family"] == "AF_INET6":
        d = f"[{e['daddr']}]:{e['dport']}"
    else:
        d = e["path"]
    progs[d].add((e["comm"], e.get("exe")))
    if e["outcome"] not in ("ok", "abandoned", "unknown"):
        failed[d] += 1
    first.setdefault(d, e["ts_ns"])
    last[d] = e["ts_ns"]
# Processes: per (comm, exe) count, failures, and the top destinations.
pc = collections.Counter(); pf = collections.Counter()
pd = collections.defaultdict(collections.Counter)
for line in open(sys.argv[3]):
    e = json.loads(line)
    g = (e["comm"], e.get("exe"))
    pc[g] += 1
    if e["outcome"] not in ("ok", "abandoned", "unknown"):
        pf[g] += 1
    if e["family"] == "AF_INET":
        pd[g][f"{e['daddr']}:{e['dport']}"] += 1
    elif e["family"] == "AF_INET6":
        pd[g][f"[{e['daddr']}]:{e['dport']}"] += 1
    else:
        pd[g][e["path"]] += 1
eq("process groups", dict(pc), {(p["comm"], p.get("exe")): p["count"] for p in rep["processes"]})
for p in rep["processes"]:
    g = (p["comm"], p.get("exe"))
    eq(f"failed of {g}", pf[g], p["failed"])
    want_top = sorted(pd[g].values(), reverse=True)[:len(p["top_destinations"])]
    eq(f"top destination counts of {g}", want_top, [t["count"] for t in p["top_destinations"]])
    for t in p["top_destinations"]:
        eq(f"{g} -> {t['dest']}", pd[g][t["dest"]], t["count"])
for d in rep["destinations"]:
    k = d["dest"]
    eq("programs of " + k, len(progs[k]), d["programs"])
    eq("failed of " + k, failed[k], d["failed"])
    eq("first of " + k, first.get(k), d["first_ns"])
    eq("last of " + k, last.get(k), d["last_ns"])
eq("script per pid", {k: v for k, v in truth["pid"].items() if v}, dict(pids))
for b in bad:
    print("  " + b[:400], file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# --sort bytes: per destination, the bytes of its closed connections as
# script --json gives them, largest first; --sort failed: most failures first.
check "report --sort bytes" "$CONNTRAIL" report -q --json --top 0 --sort bytes "$TMP/m.ctr" >"$TMP/rb.json"
check "report --sort failed" "$CONNTRAIL" report -q --json --top 0 --sort failed "$TMP/m.ctr" >"$TMP/rf.json"
check "bytes and failures equal the events'" python3 - "$TMP/rb.json" "$TMP/rf.json" "$TMP/s.jsonl" <<'PY'
import collections, json, sys
rb, rf = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
tx, rx = collections.Counter(), collections.Counter()
for line in open(sys.argv[3]):
    e = json.loads(line)
    d = (f"{e['daddr']}:{e['dport']}" if e["family"] == "AF_INET" else
         f"[{e['daddr']}]:{e['dport']}" if e["family"] == "AF_INET6" else e["path"])
    tx[d] += e.get("tx_bytes", 0)
    rx[d] += e.get("rx_bytes", 0)
bad = []
for d in rb["destinations"]:
    if (d.get("tx_bytes"), d.get("rx_bytes")) != (tx[d["dest"]], rx[d["dest"]]):
        bad.append(f"{d['dest']}: report tx {d.get('tx_bytes')} rx {d.get('rx_bytes')}, "
                   f"events {tx[d['dest']]} {rx[d['dest']]}")
total = [d["tx_bytes"] + d["rx_bytes"] for d in rb["destinations"]]
if total != sorted(total, reverse=True) or total[0] == 0:
    bad.append("--sort bytes is not largest first")
failed = [d["failed"] for d in rf["destinations"]]
if failed != sorted(failed, reverse=True) or failed[0] == 0:
    bad.append("--sort failed is not most failures first")
for b in bad[:20]:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The text report shows the same totals.
"$CONNTRAIL" report -q "$TMP/m.ctr" >"$TMP/r.txt"
expect_eq "text events line" "events    $(jq .events "$TMP/truth.json")" "$(grep '^events' "$TMP/r.txt")"
check "text shows lost" grep -q "^LOST *$(jq .lost "$TMP/truth.json") events lost" "$TMP/r.txt"
for section in "Top destinations" "Top processes" "Ports" "Families" "Outcomes" "Rate"; do
	check "section $section" grep -q "^$section" "$TMP/r.txt"
done
# --top limits every list.
"$CONNTRAIL" report -q --json --top 3 "$TMP/m.ctr" >"$TMP/r3.json"
expect_eq "--top 3 destinations" 3 "$(jq '.destinations|length' "$TMP/r3.json")"
expect_eq "--top 3 processes" 3 "$(jq '.processes|length' "$TMP/r3.json")"
# --by: one section only.
"$CONNTRAIL" report -q --json --by port "$TMP/m.ctr" >"$TMP/rp.json"
expect_eq "--by port keys" '["ports","ports_total"]' \
	"$(jq -c '[keys[]|select(.=="ports" or .=="ports_total" or .=="destinations" or .=="processes")]' "$TMP/rp.json")"
"$CONNTRAIL" report -q --by process "$TMP/m.ctr" >"$TMP/rbp.txt"
check "--by process text" grep -q '^Top processes' "$TMP/rbp.txt"
check "--by process has no destinations section" bash -c "! grep -q '^Top destinations' '$TMP/rbp.txt'"
# ASCII sparkline under LC_ALL=C, blocks under a UTF-8 locale.
LC_ALL=C "$CONNTRAIL" report -q "$TMP/m.ctr" >"$TMP/ascii.txt"
check "ASCII sparkline with LC_ALL=C" bash -c "! grep -q '[▁▂▃▄▅▆▇█]' '$TMP/ascii.txt'"
if locale -a 2>/dev/null | grep -qi '^C.utf-\?8$'; then
	LC_ALL=C.UTF-8 "$CONNTRAIL" report -q "$TMP/m.ctr" >"$TMP/utf8.txt"
	check "block sparkline in UTF-8" grep -q '[▁▂▃▄▅▆▇█]' "$TMP/utf8.txt"
fi
done_testing
