#!/usr/bin/env python3
"""R1's check: connects of the load log older than the window before the
kill must be in the trace (script --json lines). Prints "checked missing
detail"; exit 1 when any is missing.
Usage: r1_check.py TRACE.jsonl LOAD.log KILL_MONO_NS WINDOW_MS WALL_OFFSET_NS [STRICT_MS]
Also prints, for information, how many of the connects between STRICT_MS
and WINDOW_MS before the kill are missing ("strict_checked strict_missing"), and
the age at the kill of the oldest missing connect in ms.
(script's ts_ns is wall-clock; minus the header's wall_offset_ns it is the
kernel clock the load logged.)"""
import json
import sys

trace, logpath = sys.argv[1], sys.argv[2]
kill_ns, window_ms, wall_offset = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
strict_ms = int(sys.argv[6]) if len(sys.argv) > 6 else window_ms
log = []
with open(logpath) as f:
    for line in f:
        t0, t1, pid, tid, fd, dport, ret = map(int, line.split())
        log.append((t0, t1, pid, tid, fd, dport, ret))
if not log:
    print("0 0 0 0 0 empty load log")
    sys.exit(1)
pid = log[0][2]

# The load's events, keyed by (tid, sockfd, dport).
events = {}
with open(trace) as f:
    for n, line in enumerate(f, 1):
        try:
            ev = json.loads(line)
        except ValueError as e:
            print(f"0 0 0 0 0 line {n} of script --json is not JSON: {e}")
            sys.exit(1)
        if ev.get("pid") != pid:
            continue
        key = (ev.get("tid"), ev.get("sockfd"), ev.get("dport"))
        events.setdefault(key, []).append(ev["ts_ns"] - wall_offset)
for v in events.values():
    v.sort()
if not events:
    # Killed before record had attached (or nothing flushed yet): the file
    # read, and no connect of the load can be required.
    print("0 0 0 0 0 no events of the load in the trace")
    sys.exit(0)

first = min(min(v) for v in events.values())
deadline = kill_ns - window_ms * 1000000
strict_deadline = kill_ns - strict_ms * 1000000
checked = missing = strict_checked = strict_missing = oldest_missing = 0
examples = []
import bisect
for t0, t1, _, tid, fd, dport, ret in log:
    # Connects before the recorder attached are not required: its first
    # event of this load marks the attach.
    if t0 < first or t1 > kill_ns:
        continue
    ts = events.get((tid, fd, dport), [])
    i = bisect.bisect_left(ts, t0)
    found = i < len(ts) and ts[i] <= t1
    if not found:
        oldest_missing = max(oldest_missing, (kill_ns - t1) // 1000000)
    if t1 > strict_deadline:
        continue
    if t1 > deadline:
        strict_checked += 1
        strict_missing += not found
        continue
    checked += 1
    if found:
        continue
    missing += 1
    if len(examples) < 3:
        examples.append(f"tid {tid} fd {fd} dport {dport} at {(deadline - t1) / 1e6:.0f} ms before the deadline")
# The other way round: every event of the load is one logged connect, once
# (no invented, shifted or duplicated events).
spans = {}
for t0, t1, _, tid, fd, dport, ret in log:
    spans.setdefault((tid, fd, dport), []).append((t0, t1))
unmatched = 0
for key, tss in events.items():
    sp = spans.get(key, [])
    starts = [a for a, _ in sp]
    used = set()
    for ts in tss:
        i = bisect.bisect_right(starts, ts) - 1
        if i >= 0 and sp[i][0] <= ts <= sp[i][1] and i not in used:
            used.add(i)
        else:
            unmatched += 1
if unmatched:
    examples.append(f"{unmatched} events of the load match no logged connect")
print(checked, missing, strict_checked, strict_missing, oldest_missing, "; ".join(examples) if examples else "ok")
sys.exit(1 if missing or unmatched else 0)
