#!/usr/bin/env bash
# Every field of every event of a known set of connects (tests/helpers/
# connector.c logs what it did) must come back from `script --json` exactly:
# pid, tid, ppid, comm, uid, gid, sockfd, family, type, proto, daddr, dport,
# path, abstract, ret; plus exe of the recorded command.
. tests/lib.sh
CONNECTOR=$PWD/$BUILD/tests/connector

"$CONNTRAIL" record -q -o "$TMP/t.ctr" -- "$CONNECTOR" "$TMP/log.jsonl" "$TMP" 2>"$TMP/rec.err" &
rec_pid=$!
wait $rec_pid
expect_eq "record exit status (the command's)" 0 $?
check "record wrote nothing on stderr with -q" test ! -s "$TMP/rec.err"
check "trace file is 0600" test "$(stat -c %a "$TMP/t.ctr")" = 600
check "script --json reads the trace" sh -c "'$CONNTRAIL' script --json '$TMP/t.ctr' >'$TMP/events.jsonl'"

check "every field matches the connector's log" python3 - "$TMP/log.jsonl" "$TMP/events.jsonl" "$rec_pid" "$CONNECTOR" <<'PY'
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
evs = [json.loads(l) for l in open(sys.argv[2])]
rec_pid, exe = int(sys.argv[3]), sys.argv[4]
pid = log[0]["pid"]
mine = [e for e in evs if e["pid"] == pid]
ok = True
def bad(msg):
    global ok
    ok = False
    print("   ", msg)
if len(log) != 8:
    bad("connector logged %d connects, expected 8" % len(log))
if len(mine) != len(log):
    bad("%d events for pid %d, connector made %d" % (len(mine), pid, len(log)))
# Only the connector ran under record: nothing else may be in the trace.
others = [e for e in evs if e["pid"] != pid]
if others:
    bad("events of other processes: %s" % others[:2])
keys = ["pid", "tid", "comm", "uid", "gid", "sockfd", "family", "type", "proto",
        "daddr", "dport", "path", "abstract", "ret"]
for want, got in zip(log, mine):
    for k in keys:
        if want.get(k) != got.get(k):
            bad("%s: %s: logged %r, recorded %r" % (want["case"], k, want.get(k), got.get(k)))
    if got.get("ppid") != rec_pid:
        bad("%s: ppid %r, expected the recorder %d" % (want["case"], got.get("ppid"), rec_pid))
    if got.get("exe") != exe:
        bad("%s: exe %r, expected %s" % (want["case"], got.get("exe"), exe))
    if not isinstance(got.get("latency_ns"), int):
        bad("%s: no latency" % want["case"])
    if got.get("cgroup_id", 0) <= 0:
        bad("%s: no cgroup_id" % want["case"])
# The 8 cases are distinct: check the interesting ones really happened.
rets = {w["case"]: w["ret"] for w in log}
if rets.get("tcp4-ok") != 0 or rets.get("tcp4-refused") != -111 or rets.get("other-family") != -97:
    bad("connector did not produce the expected outcomes: %s" % rets)
if not any(w["tid"] != w["pid"] for w in log):
    bad("no connect from a second thread")
sys.exit(0 if ok else 1)
PY
done_testing
