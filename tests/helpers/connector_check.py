#!/usr/bin/env python3
"""connector_check.py LOG EVENTS RECORD_PID EXE CASES: every field of every
connect tests/helpers/connector.c logged against `script --json` output.

The connector's events must be exactly its logged connects, in order, with
equal pid, tid, comm, uid, gid, sockfd, family, type, proto, daddr, dport,
saddr, sport (getsockname), path, abstract, ret, result (what the program
saw: ret, or poll + SO_ERROR), "abandoned", and the payload bytes of the
connection that sent a known amount; ppid is the recorder, exe the
connector. Nothing else may be in the trace. Prints one line per mismatch;
exit 1 on any."""
import json
import sys

log = [json.loads(l) for l in open(sys.argv[1])]
evs = [json.loads(l) for l in open(sys.argv[2])]
rec_pid, exe, cases = int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
ok = True


def bad(msg):
    global ok
    ok = False
    print("   ", msg)


pid = log[0]["pid"] if log else None
mine = [e for e in evs if e["pid"] == pid]
if len(log) != cases:
    bad("connector logged %d connects, expected %d" % (len(log), cases))
if len(mine) != len(log):
    bad("%d events for pid %s, connector made %d" % (len(mine), pid, len(log)))
others = [e for e in evs if e["pid"] != pid]
if others:
    bad("events of other processes: %s" % others[:2])
keys = ["pid", "tid", "comm", "uid", "gid", "sockfd", "family", "type", "proto",
        "daddr", "dport", "saddr", "sport", "path", "abstract", "ret", "result"]
for want, got in zip(log, mine):
    case = want["case"]
    for k in keys + [k for k in ("tx_bytes", "rx_bytes") if k in want]:
        if want.get(k) != got.get(k):
            bad("%s: %s: logged %r, recorded %r" % (case, k, want.get(k), got.get(k)))
    if want.get("outcome") == "abandoned":
        if got.get("outcome") != "abandoned" or "result" in got:
            bad("%s: outcome %r result %r, expected abandoned"
                % (case, got.get("outcome"), got.get("result")))
    if ("result" in want or "outcome" in want) and got.get("result_ns") is None:
        bad("%s: no result_ns" % case)
    if "tx_bytes" in want and not got.get("closed_ns", 0) > got.get("result_ns", 0) > 0:
        bad("%s: closed_ns %r not after result_ns %r"
            % (case, got.get("closed_ns"), got.get("result_ns")))
    if got.get("ppid") != rec_pid:
        bad("%s: ppid %r, expected the recorder %d" % (case, got.get("ppid"), rec_pid))
    if got.get("exe") != exe:
        bad("%s: exe %r, expected %s" % (case, got.get("exe"), exe))
    if not isinstance(got.get("latency_ns"), int):
        bad("%s: no latency" % case)
    if got.get("cgroup_id", 0) <= 0:
        bad("%s: no cgroup_id" % case)

# The cases really happened as designed (else the comparison proves little).
rets = {w["case"]: w["ret"] for w in log}
results = {w["case"]: w.get("result", w.get("outcome")) for w in log}
if rets.get("tcp4-ok") != 0 or rets.get("tcp4-refused") != -111 or rets.get("other-family") != -97:
    bad("connector did not produce the expected returns: %s" % rets)
for case, res in {"tcp4-nonblock": 0, "tcp6-bytes": 0, "tcp4-nb-refused": -111,
                  "tcp4-abandoned": "abandoned", "tcp4-timeout": -110}.items():
    if results.get(case) != res:
        bad("connector: %s ended %r, expected %r" % (case, results.get(case), res))
    if rets.get(case) != -115:
        bad("connector: %s returned %r, expected EINPROGRESS" % (case, rets.get(case)))
if not all("sport" in w for w in log
           if w["family"] in ("AF_INET", "AF_INET6") and w["ret"] in (0, -115)):
    bad("connector: a connected socket without a local port")
if not any(w["tid"] != w["pid"] for w in log):
    bad("no connect from a second thread")
timeout = [e for w, e in zip(log, mine) if w["case"] == "tcp4-timeout"]
if timeout and not 2e9 < timeout[0].get("result_ns", 0) < 20e9:
    bad("tcp4-timeout: result_ns %r, expected ~3 s (TCP_SYNCNT 1)" % timeout[0].get("result_ns"))
sys.exit(0 if ok else 1)
