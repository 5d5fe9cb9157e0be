#!/usr/bin/env bash
# convert --to clickhouse into a real cluster: two clickhouse-server processes
# on loopback ports as the two shards of the cluster `conntrail` (configs and
# data of their own under $TMP), share/clickhouse/schema.sql on both, the
# traces of three hosts (two generated, one of them in two rotated files, and
# samples/recorded.ctr) inserted as RowBinary through the Distributed table.
# Then every number the queries of share/clickhouse/ return must equal what
# `conntrail report --json` says over the same files merged (per host: over
# that host's files), and every row must hold what `script --json` prints
# for that connect, column by column.
# Skips (one line) only when the clickhouse packages cannot be installed.
. tests/lib.sh
. tests/helpers/clickhouse.sh

if ! ch_find; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			clickhouse-server clickhouse-client >"$TMP/apt.log" 2>&1 && ch_find; then
		:
	else
		echo "SKIP: clickhouse-server/clickhouse-client not installed and not installable" \
			"($(tail -n 1 "$TMP/apt.log" 2>/dev/null || echo 'not root'))"
		exit 77
	fi
fi

SQL=$PWD/share/clickhouse
P1=$(ch_free_port)
P2=$(ch_free_port)
while [ "$P2" = "$P1" ]; do P2=$(ch_free_port); done
trap 'ch_stop "$TMP/ch1"; ch_stop "$TMP/ch2"; rm -rf "$TMP"' EXIT
ch_start "$TMP/ch1" "$P1" "$P1" "$P2" || { fail "server 1 starts"; done_testing; }
ch_start "$TMP/ch2" "$P2" "$P1" "$P2" || { fail "server 2 starts"; done_testing; }
for p in "$P1" "$P2"; do
	check "schema.sql on shard $p" ch_sql "$p" --multiquery <"$SQL/schema.sql"
done

# Three hosts: alpha, beta (overlapping in time) and the recorded sample.
"$GEN" -n 50000 --seed 3 --host alpha --start 2026-01-15T09:00:00Z -o "$TMP/alpha.ctr" &&
	"$GEN" -n 40000 --seed 5 --host beta --start 2026-01-15T09:05:00Z -o "$TMP/beta.ctr" ||
	{ fail "conntrail-gen"; done_testing; }
cp "$SAMPLES/recorded.ctr" "$TMP/recorded.ctr"
FILES=("$TMP/alpha.ctr" "$TMP/beta.ctr" "$TMP/recorded.ctr")

# Inserted through the Distributed table of server 1, which places each
# host's rows on a shard; synchronously, so they are there when it returns.
# One conversion of the files merged, as report reads them: the process
# table then knows each process as report knows it (a host's file read
# alone names fewer executables before its snapshot; see the lead's notes).
check "load ${#FILES[@]} traces" bash -c '
	set -o pipefail
	"$1" convert -q "${@:5}" --to clickhouse -o - |
		"$2" --host 127.0.0.1 --port "$3" --insert_distributed_sync=1 \
			--query "INSERT INTO conntrail.connects FORMAT RowBinary"' \
	_ "$CONNTRAIL" "$CH_CLIENT" "$P1" - "${FILES[@]}"
rows1=$(ch_sql "$P1" --query 'SELECT count() FROM conntrail.connects_local')
rows2=$(ch_sql "$P2" --query 'SELECT count() FROM conntrail.connects_local')
all=$(ch_sql "$P1" --query 'SELECT count() FROM conntrail.connects')
events=$("$CONNTRAIL" report -q --json "${FILES[@]}" | jq .events)
expect_eq "rows in the cluster == events" "$events" "$all"
expect_eq "shard rows add up" "$all" "$((rows1 + rows2))"
check "both shards hold rows ($rows1, $rows2)" test "$rows1" -gt 0 -a "$rows2" -gt 0

# q NAME FILE [SED]: a query of share/clickhouse/ without its LIMIT (the
# comparison is over every row), through server 1, as JSON lines.
q() {
	local file=$SQL/$2 sed=${3:-}
	sed -e '/^LIMIT [0-9]*$/d' ${sed:+-e "$sed"} "$file" >"$TMP/$1.sql"
	ch_sql "$P1" --format JSONEachRow --output_format_json_quote_64bit_integers=0 \
		--query "$(cat "$TMP/$1.sql")" >"$TMP/$1.sql.jsonl" ||
		fail "query $2 failed"
}
for n in summary destinations processes process_destinations ports families outcomes errors \
	hosts; do
	q "$n" "$n.sql"
done
# The shipped top-10 query as it is, on standard input as share/clickhouse's
# README runs it, against report's default top 10.
ch_sql "$P1" --format JSONEachRow --output_format_json_quote_64bit_integers=0 \
	<"$SQL/destinations.sql" >"$TMP/top10.sql.jsonl" || fail "destinations.sql"
# Window and filter: destinations.sql with its commented WHERE for a window
# (this test's times) or for the filter uncommented.
q window destinations.sql \
	"s/^-- WHERE ts_ns/WHERE ts_ns/; s/^--   AND ts_ns/  AND ts_ns/; s/09:10:00/09:00:10/; s/09:11:00/09:00:20/"
q filter destinations.sql "s/^-- WHERE comm/WHERE comm/"

"$CONNTRAIL" report -q --json --top 0 "${FILES[@]}" >"$TMP/all.json" || fail "report all"
"$CONNTRAIL" report -q --json "${FILES[@]}" >"$TMP/top10.json" || fail "report top 10"
"$CONNTRAIL" report -q --json --top 0 --since 2026-01-15T09:00:10Z --until 2026-01-15T09:00:20Z \
	"${FILES[@]}" >"$TMP/window.json" || fail "report window"
"$CONNTRAIL" report -q --json --top 0 --filter 'comm == "python3" and result != ok' \
	"${FILES[@]}" >"$TMP/filter.json" || fail "report filter"

check "SQL numbers equal report --json" python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
bad = []
def load(name):
    return json.load(open(f"{d}/{name}.json"))
def rows(name):
    return [json.loads(l) for l in open(f"{d}/{name}.sql.jsonl")]
def eq(what, want, got):
    if want == got:
        return
    if isinstance(want, list) and isinstance(got, list):
        i = next((i for i, (w, g) in enumerate(zip(want, got)) if w != g),
                 min(len(want), len(got)))
        want, got = (f"{len(want)} rows, [{i}] = {want[i:i + 1]}",
                     f"{len(got)} rows, [{i}] = {got[i:i + 1]}")
    bad.append(f"{what}:\n    report {want!r}\n    SQL    {got!r}")

FAILED = ("refused", "timeout", "unreachable", "denied", "other")
rep = load("all")

s = rows("summary")[0]
eq("events", rep["events"], s["connects"])
eq("hosts", rep["hosts"], s["hosts"])
eq("destinations", rep["destinations_total"], s["destinations"])
eq("programs", rep["processes_total"], s["programs"])
eq("first", rep["span"]["first_ns"], s["first_ns"])
eq("last", rep["span"]["last_ns"], s["last_ns"])

# Other families: report says "family 5", SQL the family's name (AF_APPLETALK).
def dtext(x):
    return x["family"] if x["dest"].startswith("family ") else x["dest"]
def dests(rj, key_host=True):
    return [(x.get("host", ""), dtext(x), x["count"], x["programs"], x["failed"],
             x["first_ns"], x["last_ns"]) for x in rj["destinations"]]
def sql_dests(rs, key_host=True):
    return [(x["host"] if key_host else "", x["dest"], x["connects"], x["programs"],
             x["failed"], x["first_ns"], x["last_ns"]) for x in rs]
eq("destinations (all, in order)", dests(rep), sql_dests(rows("destinations")))
eq("destinations.sql as shipped: the top 10", dests(load("top10")), sql_dests(rows("top10")))
win, filt = load("window"), load("filter")
eq("window destinations", dests(win), sql_dests(rows("window")))
eq("window events", win["events"], sum(x["connects"] for x in rows("window")))
eq("filter destinations", dests(filt), sql_dests(rows("filter")))
eq("filter events", filt["events"], sum(x["connects"] for x in rows("filter")))
if not filt["events"] or not win["events"]:
    bad.append("the window or the filter keeps no event: the test tests nothing there")

procs = [(p.get("host", ""), p["comm"], p.get("exe", ""), p["count"], p["pids"], p["failed"],
          p.get("cmdline", "")) for p in rep["processes"]]
eq("processes", procs, [(x["host"], x["comm"], x["exe"], x["connects"], x["pids"], x["failed"],
                         x["cmdline"]) for x in rows("processes")])
tops = {}
for x in rows("process_destinations"):
    tops.setdefault((x["host"], x["comm"], x["exe"]), []).append((x["dest"], x["connects"]))
for p in rep["processes"]:
    k = (p.get("host", ""), p["comm"], p.get("exe", ""))
    eq(f"top destinations of {k}", [(dtext(t), t["count"]) for t in p["top_destinations"]],
       tops.get(k, []))

eq("ports", [(str(p["proto"]), p["port"], p["count"], p["destinations"], p["failed"])
             for p in rep["ports"]],
   [(x["proto"], x["port"], x["connects"], x["destinations"], x["failed"])
    for x in rows("ports")])
def fam(name):  # report names an unnamed family by its number
    return name[3:] if name.startswith("AF_") and name[3:].isdigit() else name
eq("families", rep["families"], {fam(x["family"]): x["connects"] for x in rows("families")})
got = {k: 0 for k in rep["results"]}
for x in rows("outcomes"):
    got[x["class"]] = x["connects"]
eq("outcome classes", rep["results"], got)
eq("errors", rep["errors"],
   {(x["name"] or str(-x["errno"])): x["connects"] for x in rows("errors")})

hosts = {x["host"]: x for x in rows("hosts")}
eq("host names", sorted({i["host"] for i in rep["inputs"]}), sorted(hosts))
# Per host, from the merged report's rows of that host.
for name in sorted({i["host"] for i in rep["inputs"]}):
    h = hosts.get(name, {})
    ds = [x for x in rep["destinations"] if x["host"] == name]
    eq(f"{name}: events", sum(x["count"] for x in ds), h.get("connects"))
    eq(f"{name}: failed", sum(x["failed"] for x in ds), h.get("failed"))
    eq(f"{name}: destinations", len(ds), h.get("destinations"))
    eq(f"{name}: programs", sum(1 for p in rep["processes"] if p["host"] == name),
       h.get("programs"))
    eq(f"{name}: first", min(x["first_ns"] for x in ds), h.get("first_ns"))
    eq(f"{name}: last", max(x["last_ns"] for x in ds), h.get("last_ns"))

for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# Exactness: every row, column by column, against script --json (its keys,
# absent = NULL, or '' for the strings).
"$CONNTRAIL" script -q --json "${FILES[@]}" >"$TMP/script.jsonl" || fail "script --json"
ch_sql "$P1" --format JSONEachRow --output_format_json_quote_64bit_integers=0 --query "
	SELECT *,
	       if(family = 'AF_INET', replaceOne(IPv6NumToString(daddr), '::ffff:', ''),
	          IPv6NumToString(daddr)) AS daddr_text,
	       if(isNull(saddr), '', if(family = 'AF_INET',
	          replaceOne(IPv6NumToString(assumeNotNull(saddr)), '::ffff:', ''),
	          IPv6NumToString(assumeNotNull(saddr)))) AS saddr_text
	FROM conntrail.connects" >"$TMP/rows.jsonl" || fail "select rows"
check "every row equals script --json" python3 - "$TMP/script.jsonl" "$TMP/rows.jsonl" <<'PY'
import json, sys
NUM0 = {"cgroup_id": 0, "scope_id": 0}
def from_json(e):
    inet = e["family"] in ("AF_INET", "AF_INET6")
    return (e.get("ts_ns", 0), e.get("host", ""), e["pid"], e["tid"], e["ppid"], e["uid"],
            e["gid"], e["comm"], e.get("exe", ""), e.get("cmdline", ""), e.get("cgroup_id", 0),
            e.get("container", ""), e.get("sockfd", -1), e["family"], e.get("type", ""),
            str(e.get("proto", "")), e.get("daddr", "::" if not inet else None),
            e.get("scope_id", 0), e.get("dport", 0), e.get("saddr", ""), e.get("sport"),
            e.get("path", ""), int(e.get("abstract", False)), e.get("ret"),
            e.get("latency_ns"), e.get("result"), e.get("result_ns"), e["outcome"],
            e.get("closed_ns"), e.get("tx_bytes"), e.get("rx_bytes"),
            int(e.get("still_open", False)), e.get("dname", ""), e.get("container_name", ""),
            e.get("image", ""), e.get("pod", ""), e.get("k8s_namespace", ""))
def from_row(r):
    return (r["ts_ns"], r["host"], r["pid"], r["tid"], r["ppid"], r["uid"], r["gid"], r["comm"],
            r["exe"], r["cmdline"], r["cgroup_id"], r["container"], r["sockfd"], r["family"],
            r["type"], r["proto"], r["daddr_text"], r["scope_id"], r["dport"], r["saddr_text"],
            r["sport"], r["path"], r["abstract"], r["ret"], r["latency_ns"], r["result"],
            r["result_ns"], r["outcome"], r["closed_ns"], r["tx_bytes"], r["rx_bytes"],
            r["still_open"], r["dname"], r["container_name"], r["image"], r["pod"],
            r["k8s_namespace"])
def key(t):
    return tuple("" if v is None else str(v) for v in t)
want = sorted((from_json(json.loads(l)) for l in open(sys.argv[1])), key=key)
# FixedString columns come out as raw bytes: not UTF-8, not compared (their
# text forms daddr_text, saddr_text are).
got = sorted((from_row(json.loads(l)) for l in open(sys.argv[2], errors="surrogateescape")),
             key=key)
if len(want) != len(got):
    print(f"  {len(want)} events, {len(got)} rows", file=sys.stderr)
    sys.exit(1)
diff = [(w, g) for w, g in zip(want, got) if w != g]
for w, g in diff[:5]:
    print(f"  script {w}\n  row    {g}", file=sys.stderr)
sys.exit(1 if diff else 0)
PY

done_testing
