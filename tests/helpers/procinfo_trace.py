#!/usr/bin/env python3
"""procinfo_trace.py OUT.ctr: a small trace whose pids change process, for
the pcapng Process Information Blocks (tests/cli/convert_pcapng_procinfo.sh),
written with tests/reliability/crafter.py from format/FORMAT.md:

  pid 300 bash "bash -c run" uid 1000: one connect, then execs curl
          ("curl -s http://example.com/", threads 300 and 301 connect),
          exits; pid 300 comes back as wget and connects
  pid 400 unknown to the process table (no process record): threads
          "worker-a" (400) and "worker-b" (401) connect by turns
  pid 500 "/opt/my app/<ESC>[31mx" "run  'a b'" uid 0: a path and
          arguments with a space, a control byte and an empty argument
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
import crafter as c  # noqa: E402

T0 = c.T0
LOOP = bytes([127, 0, 0, 1])


def proc(ts, pid, comm, exe, cmdline, uid=0, kind=1, ppid=1):
    v = (ts, 1, pid, ppid, uid, uid, c.zigzag(0), kind)
    body = b"".join(c.varint(x) for x in v)
    body += c.sv(comm) + c.sv(exe) + c.sv(cmdline) + c.sv(None)
    return c.rec(2, body)


def ev(ts, pid, comm, uid=0, tid=None, ppid=1):
    return c.Ev(ts, pid=pid, comm=comm, uid=uid, tid=tid, ppid=ppid, daddr=LOOP, dport=80)


ODD = b"/opt/my app/\x1b[31mx"
metas = [
    [proc(T0, 300, b"bash", b"/usr/bin/bash", b"bash -c run", 1000, ppid=7),
     proc(T0, 500, b"x", ODD, b"run  'a b'", 0)],
    [proc(T0 + 5000, 300, b"curl", b"/usr/bin/curl", b"curl -s http://example.com/", 1000,
          kind=2, ppid=7)],
    [proc(T0 + 10000, 300, b"curl", None, None, 1000, kind=3),
     proc(T0 + 20000, 300, b"wget", b"/usr/bin/wget", b"wget -q http://x/", 1000, kind=4)],
]
events = [
    [ev(T0 + 1000, 300, b"bash", 1000, ppid=7), ev(T0 + 1500, 500, b"x"),
     ev(T0 + 2000, 400, b"worker-a"), ev(T0 + 3000, 400, b"worker-b", tid=401),
     ev(T0 + 4000, 400, b"worker-a"), ev(T0 + 4500, 400, b"worker-b", tid=401)],
    [ev(T0 + 6000, 300, b"curl", 1000, ppid=7), ev(T0 + 7000, 300, b"curl", 1000, 301, 7),
     ev(T0 + 8000, 500, b"x")],
    [ev(T0 + 21000, 300, b"wget", 1000), ev(T0 + 22000, 400, b"worker-a")],
]
chunks, seq = [], 0
spans = [(T0, T0), (T0 + 5000, T0 + 5000), (T0 + 10000, T0 + 20000)]
chunks = []
for i, (m, e, (a, b)) in enumerate(zip(metas, events, spans)):
    chunks.append(c.meta_chunk(2 * i, b"".join(m), len(m), a, b))
    chunks.append(c.event_chunk(2 * i + 1, e))
n = sum(len(e) for e in events)
open(sys.argv[1], "wb").write(c.trace(c.header(host="pib1"), chunks, totals=(n, 0, 5)))
