#!/usr/bin/env python3
"""check.py: the host's verdict on what one guest sent back (tests/vm/run.sh).

Reads the guest's traces with the HOST's conntrail (`script --json`, `info`)
and compares every field of every connector event with the connector's own
log, written inside the guest: pid, tid, comm, uid, gid, sockfd, family,
type, proto, daddr, dport, path, abstract, ret; and ppid and exe, which the
guest knows (the connector is /bin/connector, started by a known parent). Also checks the trace
header (backend, guest kernel release, guest host name), that the index is
present and nothing damaged or lost, the record exit statuses, that every
connect returned what it returns untraced (record never changes a verdict), and, on a kernel without bpf in lsm=,
that --backend lsm failed with exit 1 and a reason.

Prints one line per check group; exit 0 when all passed."""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

FAMILY = {"AF_UNIX": 1, "AF_INET": 2, "AF_APPLETALK": 5, "AF_INET6": 10}
TYPE = {"SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_RDM": 4,
        "SOCK_SEQPACKET": 5, "SOCK_DCCP": 6, "SOCK_PACKET": 10,
        "stream": 1, "dgram": 2, "raw": 3, "seqpacket": 5}
PROTO = {"ip": 0, "icmp": 1, "tcp": 6, "udp": 17, "ipv6": 41, "icmpv6": 58,
         "sctp": 132, "udplite": 136, "mptcp": 262}

failures = []

# What each connector case returns on an untraced kernel. The logged ret is
# what the syscall really returned with the recorder attached, so a
# different value means the recorder changed a verdict (it must only watch).
EXPECTED_RET = {
    "tcp4-ok": {0}, "tcp4-refused": {-111}, "tcp4-nonblock": {-115, 0},
    "udp6": {0}, "unix-path": {0}, "unix-abstract": {0}, "other-family": {-97},
    "tcp4-thread": {0}, "tcp6-bytes": {-115}, "tcp4-nb-refused": {-115},
    "tcp4-fill": {0}, "tcp4-abandoned": {-115}, "tcp4-timeout": {-115},
}
# How the handshakes ended as the connector saw them (poll + SO_ERROR).
EXPECTED_RESULT = {
    "tcp4-nonblock": 0, "tcp6-bytes": 0, "tcp4-nb-refused": -111,
    "tcp4-abandoned": "abandoned", "tcp4-timeout": -110,
}


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def number(value, names):
    """A family/type/proto as a number, whether spelled as a name or not."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value in names:
            return names[value]
        if value.lower() in names:
            return names[value.lower()]
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        if re.fullmatch(r"AF_\d+", value):
            return int(value[3:])
    return value


def run(conntrail, *args):
    p = subprocess.run([conntrail, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def read_lines(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                fail(f"{path}:{n}: not JSON: {e}")
    return rows


def expected_event(entry):
    """What the trace must say about one connect the connector logged."""
    want = {
        "pid": entry.get("pid"),
        "tid": entry.get("tid"),
        "uid": entry.get("uid"),
        "gid": entry.get("gid"),
        "comm": entry.get("comm"),
        "sockfd": entry.get("sockfd", entry.get("fd")),
        "family": number(entry.get("family"), FAMILY),
        "type": number(entry.get("type"), TYPE),
        "proto": number(entry.get("proto"), PROTO),
        "ret": entry.get("ret"),
        # the final outcome and the local end, as the connector saw them
        "result": entry.get("result"),
        "saddr": entry.get("saddr"),
        "sport": entry.get("sport"),
        "outcome": entry.get("outcome"),
        "tx_bytes": entry.get("tx_bytes"),
        "rx_bytes": entry.get("rx_bytes"),
    }
    fam = want["family"]
    if fam in (2, 10):
        want["daddr"] = entry.get("daddr")
        want["dport"] = entry.get("dport")
    elif fam == 1:
        want["path"] = entry.get("path")
        want["abstract"] = bool(entry.get("abstract", False))
    return {k: v for k, v in want.items() if v is not None}


def actual_event(ev):
    got = dict(ev)
    got["family"] = number(ev.get("family"), FAMILY)
    got["type"] = number(ev.get("type"), TYPE)
    got["proto"] = number(ev.get("proto"), PROTO)
    return got


def rfc3339_seconds(text):
    """Seconds since the epoch of "2026-11-24T13:05:00.123456789Z"."""
    base = text.rstrip("Z").split(".")[0]
    return datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def check_info(conntrail, trace, backend, kernel, hostname, label, booted_at):
    """The trace header and index as the host's `info --json` reads them;
    returns info's event count (None when info failed)."""
    status, out, err = run(conntrail, "info", "--json", trace)
    if status != 0:
        fail(f"{label}: host `conntrail info --json` exit {status}: {err.strip()[:200]}")
        return None
    try:
        info = json.loads(out)
    except json.JSONDecodeError as e:
        fail(f"{label}: info --json is not JSON: {e}")
        return None
    if isinstance(info, list):
        info = info[0] if info else {}
    # Recorded during this boot (the guest's clock is set from the host's);
    # the slack only absorbs clock granularity, it is no timing test.
    wall = info.get("start")
    if not wall or not (booted_at - 120 <= rfc3339_seconds(wall) <= time.time() + 120):
        fail(f"{label}: trace start {wall!r} is not within this boot")
    want = {"backend": backend, "kernel": kernel, "host": hostname, "index": True,
            "damaged_chunks": 0, "lost": 0}
    for key, value in want.items():
        if info.get(key) != value:
            fail(f"{label}: info {key} is {info.get(key)!r}, expected {value!r}")
    return info.get("events")


def check_pcap(out, events):
    """auto.pcap, written in the guest by the static binary's libpcap, read
    here by tshark: one packet per event, the inet ones with their ports."""
    path = os.path.join(out, "auto.pcap")
    try:
        status = open(os.path.join(out, "auto.convert.status")).read().strip()
    except OSError:
        status = "missing"
    if status != "0" or not os.path.exists(path):
        fail(f"convert --to pcap in the guest: exit {status}")
        return
    try:
        p = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "tcp.dstport",
                            "-e", "udp.dstport"], capture_output=True, text=True)
    except OSError as e:
        fail(f"tshark cannot run ({e.strerror}); it is needed to read the guest's pcap")
        return
    if p.returncode != 0:
        fail(f"tshark -r auto.pcap: exit {p.returncode}: {p.stderr.strip()[:200]}")
        return
    rows = p.stdout.splitlines()
    ports = [int(r.strip()) for r in rows if r.strip()]
    want = [ev["dport"] for ev in events
            if ev.get("family") in ("AF_INET", "AF_INET6") and "dport" in ev]
    if len(rows) != len(events) or ports != want:
        fail(f"auto.pcap: {len(rows)} packets, ports {ports}; the trace has "
             f"{len(events)} events, ports {want}")
    else:
        print(f"ok: auto.pcap from the guest: {len(rows)} packets, ports equal the trace's")


def check_holds(out, backend):
    """What record held while recording with this backend (bpf_holds in the
    guest): no syscall tracepoint on lsm and fentry, a tracing link there,
    inet_sock_set_state everywhere; sys_enter_connect on the tracepoint
    backend proves the listing sees tracepoints at all."""
    try:
        lines = open(os.path.join(out, f"holds-{backend}.txt")).read().splitlines()
    except OSError:
        fail(f"holds {backend}: the guest sent no holds-{backend}.txt")
        return
    names = [l.split()[-1] for l in lines if len(l.split()) >= 3]
    before = len(failures)
    if "inet_sock_set_state" not in names:
        fail(f"holds {backend}: no inet_sock_set_state in {lines}")
    syscalls = [l for l in lines if re.search(r" (sys_enter|sys_exit)", l)]
    if backend == "tracepoint":
        if "sys_enter_connect" not in names:
            fail(f"holds tracepoint: no sys_enter_connect in {lines}: the listing proves nothing")
    else:
        if syscalls:
            fail(f"holds {backend}: record holds syscall tracepoints {syscalls}")
        if not any(" link tracing " in l for l in lines):
            fail(f"holds {backend}: no tracing link (fexit/__sys_connect) in {lines}")
    if len(failures) == before:
        print(f"ok: holds {backend}: {len(lines)} attachments, "
              f"{'its two syscall tracepoints' if backend == 'tracepoint' else 'no syscall tracepoint'}")


def check_names(conntrail, out, backend):
    """DNS names on this backend: the host's conntrail reads the guest's
    names-BACKEND.ctr; dnspair resolved vm.conntrail.test to 127.0.0.7,
    connected there and to 127.0.0.8, which nobody resolved."""
    trace = os.path.join(out, f"names-{backend}.ctr")
    if not os.path.exists(trace):
        fail(f"names {backend}: the guest sent no names-{backend}.ctr")
        return
    status, text, err = run(conntrail, "script", "--json", trace)
    if status != 0:
        fail(f"names {backend}: host script exit {status}: {err.strip()[:200]}")
        return
    rows = [json.loads(l) for l in text.splitlines() if l.strip()]
    got = {r.get("daddr"): r for r in rows if r.get("comm") == "dnspair"}
    before = len(failures)
    if got.get("127.0.0.7", {}).get("dname") != "vm.conntrail.test":
        fail(f"names {backend}: 127.0.0.7 reads {got.get('127.0.0.7')!r}, not vm.conntrail.test")
    if "127.0.0.8" not in got or "dname" in got["127.0.0.8"]:
        fail(f"names {backend}: 127.0.0.8 (never resolved): {got.get('127.0.0.8')!r}")
    head = json.loads(run(conntrail, "info", "--json", trace)[1] or "{}")
    if head.get("backend") != backend:
        fail(f"names {backend}: the trace says backend {head.get('backend')!r}")
    if len(failures) == before:
        print(f"ok: names {backend}: 127.0.0.7:4242 named vm.conntrail.test, 127.0.0.8 none")


def compare_run(args, name, backend):
    out = args.out
    trace = os.path.join(out, f"{name}.ctr")
    log = os.path.join(out, f"{name}.connector.jsonl")
    before = len(failures)
    status_file = os.path.join(out, f"{name}.record.status")
    if not os.path.exists(trace):
        fail(f"{name}: the guest sent no {name}.ctr")
        return
    try:
        status = open(status_file).read().strip()
    except OSError:
        status = "missing"
    if status != "0":
        fail(f"{name}: record exit status {status} in the guest")
    info_events = check_info(args.conntrail, trace, backend, args.kernel, args.hostname, name,
                             args.booted_at)

    logged = read_lines(log) if os.path.exists(log) else []
    if not logged:
        fail(f"{name}: the connector logged no connects")
    code, jout, jerr = run(args.conntrail, "script", "--json", trace)
    if code != 0:
        fail(f"{name}: host `conntrail script --json` exit {code}: {jerr.strip()[:200]}")
        return
    events = []
    for n, line in enumerate(jout.splitlines(), 1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as e:
            fail(f"{name}: script --json line {n} is not JSON: {e}")
    if info_events is not None and info_events != len(events):
        fail(f"{name}: info counts {info_events} events, script --json gave {len(events)}")
    for ev in events:
        if ev.get("host") != args.hostname:
            fail(f"{name}: event host {ev.get('host')!r}, expected the guest's "
                 f"{args.hostname!r}")
            break

    # A thread's connects reach the trace in the order it made them, so the
    # k-th logged connect of a thread must be its k-th event, field for field.
    pids = {e.get("pid") for e in logged}
    ours = [actual_event(e) for e in events if e.get("pid") in pids]
    by_thread = {}
    for ev in ours:
        by_thread.setdefault((ev.get("pid"), ev.get("tid")), []).append(ev)
    try:
        parent = int(open(os.path.join(out, f"{name}.parent.pid")).read())
    except (OSError, ValueError):
        parent = None
        fail(f"{name}: the guest sent no {name}.parent.pid")
    matched = 0
    cases = [e.get("case") for e in logged]
    if sorted(cases) != sorted(EXPECTED_RET):
        fail(f"{name}: the connector logged cases {cases}, expected {sorted(EXPECTED_RET)}")
    for entry in logged:
        allowed = EXPECTED_RET.get(entry.get("case"))
        if allowed is not None and entry.get("ret") not in allowed:
            fail(f"{name}: {entry.get('case')}: connect returned {entry.get('ret')} under "
                 f"record, expected {sorted(allowed)}: a verdict changed")
    for entry in logged:
        res = entry.get("result", entry.get("outcome"))
        case = entry.get("case")
        if case in EXPECTED_RESULT and res != EXPECTED_RESULT[case]:
            fail(f"{name}: {case}: the connector saw {res!r}, expected "
                 f"{EXPECTED_RESULT[case]!r}: the case did not happen as designed")
    for entry in logged:
        want = expected_event(entry)
        # Known in the guest, not by the connector: its parent and path.
        if parent is not None:
            want["ppid"] = parent
        want["exe"] = "/bin/connector"
        queue = by_thread.get((want.get("pid"), want.get("tid")), [])
        if not queue:
            fail(f"{name}: no event for the logged connect {entry}")
            continue
        got = queue.pop(0)
        matched += 1
        if entry.get("outcome") == "abandoned" and "result" in got:
            fail(f"{name}: {entry.get('case')}: abandoned, but the trace has result "
                 f"{got.get('result')!r}")
        for k, v in want.items():
            if got.get(k) != v:
                fail(f"{name}: {entry.get('case', '?')}: field {k}: trace has "
                     f"{got.get(k)!r}, connector logged {v!r}")
    extra = [ev for q in by_thread.values() for ev in q]
    if extra:
        fail(f"{name}: {len(extra)} connector events not in its log, first {extra[0]}")
    if name == "auto":
        check_pcap(out, events)
    if len(failures) == before:
        print(f"ok: {name}: backend {backend}, {len(logged)} logged connects == "
              f"{matched} events, every field equal; header and index checked")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--conntrail", required=True)
    ap.add_argument("--expect-backend", required=True, choices=["lsm", "fentry"])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--hostname", required=True)
    ap.add_argument("--nonce", required=True)
    ap.add_argument("--booted-at", type=int, required=True,
                    help="host time (s since the epoch) just before qemu started")
    args = ap.parse_args()
    out = args.out

    try:
        nonce = open(os.path.join(out, "nonce")).read().strip()
    except OSError:
        nonce = None
    if nonce != args.nonce:
        fail(f"the guest's nonce is {nonce!r}, this boot's is {args.nonce!r}: stale output")

    release = open(os.path.join(out, "kernel.release")).read().strip() \
        if os.path.exists(os.path.join(out, "kernel.release")) else ""
    if release != args.kernel:
        fail(f"guest ran kernel {release!r}, expected {args.kernel!r}")

    backends = ["fentry", "tracepoint"] if args.expect_backend == "fentry" else \
        ["lsm", "fentry", "tracepoint"]
    for b in backends:
        check_holds(out, b)
    compare_run(args, "auto", args.expect_backend)
    check_names(args.conntrail, out, args.expect_backend)
    if args.expect_backend == "lsm":
        check_names(args.conntrail, out, "fentry")
    compare_run(args, "sys", args.expect_backend)
    compare_run(args, "tracepoint", "tracepoint")
    if args.expect_backend == "lsm":
        compare_run(args, "fentry", "fentry")
    else:
        # auto says why it passed over lsm.
        try:
            auto_err = open(os.path.join(out, "auto.record.err")).read()
        except OSError:
            auto_err = ""
        skip = [l for l in auto_err.splitlines() if re.search(r"\blsm\b.*\bbpf\b", l)]
        if not skip:
            fail(f"auto: record did not say why it skipped lsm: {auto_err.strip()[:300]!r}")
        else:
            print(f"ok: auto skipped lsm: {skip[0]}")
        try:
            status = open(os.path.join(out, "lsm-explicit.record.status")).read().strip()
            err = open(os.path.join(out, "lsm-explicit.record.err")).read()
        except OSError as e:
            fail(f"--backend lsm: no result from the guest ({e})")
        else:
            if status != "1":
                fail(f"--backend lsm: exit {status} where bpf is not an active LSM, expected 1")
            # The reason must name the missing piece: bpf not in the LSM list.
            if not (re.search(r"\blsm\b", err, re.I) and re.search(r"\bbpf\b", err)):
                fail(f"--backend lsm: the error does not say why: {err.strip()[:300]!r}")
            else:
                print(f"ok: --backend lsm refused, exit 1: {err.strip().splitlines()[0]}")
    if failures:
        print(f"{len(failures)} host checks failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
