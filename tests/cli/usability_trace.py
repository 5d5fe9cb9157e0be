#!/usr/bin/env python3
"""usability_trace.py OUT.ctr: a small trace with what a new user trips
over, written with tests/reliability/crafter.py from format/FORMAT.md:

  pid 100 python3 "python3 burst.py"  uid 1000: 6 refused connects to
          127.0.0.1:9, exits 1
  pid 101 python3 "python3 other.py"  uid 1000: 2 connects to 127.0.0.1:53
          (ok), exits 0
  pid 102 curl    "curl -s http://x/" uid 0: one to [fe80::1%4]:80 (ok)
          and one AF_NETLINK (16) connect, killed by SIGKILL
  pid 103 sleep   (no connect)                                  exits 3
  between the two event chunks: 7 connect events lost (cpu 1) and 3
  process records lost (kind 2).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
import crafter as c  # noqa: E402

T0 = c.T0


def varints(*vals):
    return b"".join(c.varint(v) for v in vals)


def proc(ts, pid, comm, exe, cmdline, uid=0, kind=1, exit_code=0):
    body = varints(ts, 1, pid, 1, uid, uid, c.zigzag(exit_code), kind)
    body += c.sv(comm) + c.sv(exe) + c.sv(cmdline) + c.sv(None)
    return c.rec(2, body)


def lost(ts, count, cpu, kind):
    return c.rec(3, varints(ts, count, cpu) + (varints(kind) if kind else b""))


LOOP = bytes([127, 0, 0, 1])
FE80 = bytes([0xFE, 0x80] + [0] * 13 + [1])
procs = [proc(T0, 100, b"python3", b"/usr/bin/python3", b"python3 burst.py", 1000),
         proc(T0, 101, b"python3", b"/usr/bin/python3", b"python3 other.py", 1000),
         proc(T0, 102, b"curl", b"/usr/bin/curl", b"curl -s http://x/", 0),
         proc(T0, 103, b"sleep", b"/usr/bin/sleep", b"sleep 1", 0)]
first = [c.Ev(T0 + 1000 * i, pid=100, comm=b"python3", uid=1000, daddr=LOOP, dport=9,
              ret=-111) for i in range(4)]
first += [c.Ev(T0 + 10000 + 1000 * i, pid=101, comm=b"python3", uid=1000, daddr=LOOP,
               dport=53, typ=2, proto=17) for i in range(2)]
v6 = c.Ev(T0 + 20000, pid=102, comm=b"curl", family=10, daddr=FE80, dport=80)
v6.scope = 4
nl = c.Ev(T0 + 21000, pid=102, comm=b"curl", family=16, daddr=bytes(16), dport=0, typ=3,
          proto=0)
first += [v6, nl]
second = [c.Ev(T0 + 10**9 + 1000 * i, pid=100, comm=b"python3", uid=1000, daddr=LOOP,
               dport=9, ret=-111) for i in range(2)]
ts_lost = T0 + 500_000_000
exits = [lost(ts_lost, 7, 1, 0), lost(ts_lost, 3, 0xFFFFFFFF, 2),
         proc(T0 + 2 * 10**9, 100, b"python3", None, None, 1000, kind=3, exit_code=1 << 8),
         proc(T0 + 2 * 10**9, 101, b"python3", None, None, 1000, kind=3, exit_code=0),
         proc(T0 + 2 * 10**9, 102, b"curl", None, None, 0, kind=3, exit_code=9),
         proc(T0 + 2 * 10**9, 103, b"sleep", None, None, 0, kind=3, exit_code=3 << 8)]
chunks = [c.meta_chunk(0, b"".join(procs), len(procs), T0, T0),
          c.event_chunk(1, first),
          c.meta_chunk(2, b"".join(exits[:2]), 2, ts_lost, ts_lost),
          c.event_chunk(3, second),
          c.meta_chunk(4, b"".join(exits[2:]), 4, T0 + 2 * 10**9, T0 + 2 * 10**9)]
open(sys.argv[1], "wb").write(c.trace(c.header(host="web1"), chunks, totals=(10, 7, 8)))
