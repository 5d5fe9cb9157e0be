#!/usr/bin/env bash
# convert --to tracee-json: one object per line, parsed by jq, and compared
# key by key with tests/data/tracee-security_socket_connect.json (Tracee
# v0.24.1's shape): same keys in the same order, same JSON types, same
# nested shapes, for each address family.
source tests/lib.sh

REF=$PWD/tests/data/tracee-security_socket_connect.json
"$GEN" -n 3000 --seed 41 --profile mixed -o "$TMP/t.ctr" --truth "$TMP/truth.json" ||
	{ fail "conntrail-gen"; done_testing; }
check "convert to .tracee.json" "$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.tracee.json"
expect_eq "lines == events" "$(jq .events "$TMP/truth.json")" "$(wc -l <"$TMP/t.tracee.json")"
expect_eq "jq parses every line" "$(wc -l <"$TMP/t.tracee.json")" \
	"$(jq -c . "$TMP/t.tracee.json" | wc -l)"
expect_eq "every event is security_socket_connect" "0" \
	"$(jq -c 'select(.eventName != "security_socket_connect")' "$TMP/t.tracee.json" | wc -l)"

out=$(python3 - "$REF" "$TMP/t.tracee.json" <<'PY'
import json, sys

def shape(v):
    if v is None: return "null"
    if isinstance(v, bool): return "bool"
    if isinstance(v, (int, float)): return "number"
    if isinstance(v, str): return "string"
    if isinstance(v, list): return "array"
    return "object"

# Go omits empty fields of these structs (omitempty), so only their key
# set is bounded, not fixed.
OPTIONAL_KEYS = {"container": {"id", "name", "image", "imageDigest"},
                 "kubernetes": {"podName", "podNamespace", "podUID", "podSandbox"}}

def compare(ref, got, path):
    if shape(ref) != shape(got):
        raise AssertionError("%s: %s in Tracee, %s in ours" % (path, shape(ref), shape(got)))
    if isinstance(ref, dict):
        name = path.rsplit(".", 1)[-1]
        if name in OPTIONAL_KEYS:
            extra = set(got) - OPTIONAL_KEYS[name]
            assert not extra, "%s: unexpected keys %s" % (path, extra)
            return
        if list(ref) != list(got):
            raise AssertionError("%s: keys %s, Tracee has %s" % (path, list(got), list(ref)))
        for k in ref:
            compare(ref[k], got[k], path + "." + k)
    elif isinstance(ref, list) and path.endswith(".args"):
        # Tracee's arguments first, then ours (by name, so a consumer that
        # looks Tracee's up is not disturbed): outcome, outcome_ns.
        n = len(ref)
        assert [a["name"] for a in ref] == [a["name"] for a in got[:n]], path + ": arg names"
        assert [a["type"] for a in ref] == [a["type"] for a in got[:n]], path + ": arg types"
        extra = [(a["name"], a["type"], shape(a["value"])) for a in got[n:]]
        assert extra in ([("outcome", "const char*", "string")],
                         [("outcome", "const char*", "string"), ("outcome_ns", "u64", "number")]), \
            path + ": extra args %r" % extra
        for i, (r, g) in enumerate(zip(ref, got)):
            compare(r, g, "%s[%d]" % (path, i))
    elif isinstance(ref, list):
        for g in got:
            if ref:
                compare(ref[0], g, path + "[]")

refs = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    refs[e["args"][2]["value"]["sa_family"]] = e
done = {}
for n, line in enumerate(open(sys.argv[2]), 1):
    e = json.loads(line)
    fam = e["args"][2]["value"]["sa_family"]
    if fam not in refs:
        continue
    compare(refs[fam], e, "line %d" % n)
    assert e["argsNum"] == len(e["args"]), "line %d: argsNum" % n
    assert e["eventId"] == refs[fam]["eventId"], "eventId"
    done[fam] = done.get(fam, 0) + 1
assert set(done) == set(refs), "families compared: %s" % sorted(done)
print(sum(done.values()))
PY
)
[ "${out:-0}" -gt 0 ] 2>/dev/null || fail "shape comparison: $out"

# Values: the first IPv4 event agrees with the JSON-lines export.
"$CONNTRAIL" convert -q "$TMP/t.ctr" -o "$TMP/t.jsonl"
j=$(jq -c 'select(.family == "AF_INET")' "$TMP/t.jsonl" | head -1)
t=$(jq -c 'select(.args[2].value.sa_family == "AF_INET")' "$TMP/t.tracee.json" | head -1)
expect_eq "sin_addr == daddr" "$(jq -r .daddr <<<"$j")" "$(jq -r '.args[2].value.sin_addr' <<<"$t")"
expect_eq "sin_port == dport" "$(jq -r .dport <<<"$j")" "$(jq -r '.args[2].value.sin_port' <<<"$t")"
expect_eq "processId == pid" "$(jq -r .pid <<<"$j")" "$(jq -r .processId <<<"$t")"
expect_eq "processName == comm" "$(jq -r .comm <<<"$j")" "$(jq -r .processName <<<"$t")"
expect_eq "executable.path == exe" "$(jq -r '.exe // ""' <<<"$j")" "$(jq -r .executable.path <<<"$t")"
expect_eq "timestamp == ts_ns" "$(grep -o '"ts_ns":[0-9]*' <<<"$j" | cut -d: -f2)" \
	"$(grep -o '"timestamp":[0-9]*' <<<"$t" | cut -d: -f2)"
# How each connect ended: the outcome arguments equal the JSON lines' keys,
# returnValue what connect(2) returned.
out=$(python3 - "$TMP/t.jsonl" "$TMP/t.tracee.json" <<'PY'
import json, sys
n = later = 0
for j, t in zip(open(sys.argv[1]), open(sys.argv[2])):
    j, t = json.loads(j), json.loads(t)
    args = {a["name"]: a["value"] for a in t["args"]}
    assert args["outcome"] == j["outcome"], (args, j)
    assert args.get("outcome_ns") == j.get("result_ns", 0 if "result" in j or j["outcome"] == "abandoned" else None), (args, j)
    assert t["returnValue"] == j.get("ret", 0), (t["returnValue"], j)
    later += j.get("ret") == -115 and j["outcome"] != "unknown"
    n += 1
assert later > 0, "no handshake outcomes"
print(n)
PY
)
expect_eq "outcome args == JSON outcome, result_ns" "$(jq .events "$TMP/truth.json")" "$out"
done_testing
