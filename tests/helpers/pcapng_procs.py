#!/usr/bin/env python3
"""pcapng_procs.py FILE.pcapng EVENTS.jsonl: checks the process of every
packet of a pcapng file that `conntrail convert` wrote against the events
(`conntrail script --json`, one line per packet, replies not counted),
reading the file as the pcapng draft and Wireshark 4.7 define it and
independently of conntrail's code:

  - every block's lengths are sane and agree;
  - every Enhanced Packet Block has epb_processid_threadid (option 8:
    pid, tid as 32-bit numbers), equal to its event's pid and tid;
  - with Process Information Blocks (custom block 0x00000BAD, PEN 32622,
    Wireshark entry type 3: pid, then options 1 comment, 2 name, 3 path,
    4 cmdline, 5 ppid, 6 uid, 9 starttime), the block Wireshark picks for
    a packet (of the packet's pid, the latest starttime not after the
    packet; the whole file's blocks, as the GUI sees them, and those
    before the packet, as a one-pass reader does) describes the event's
    process: name, path, arguments, ppid, uid, container.

Prints "packets=N blocks=M replies=R" and exits 0, or prints each mismatch
and exits 1.
"""
import json
import struct
import sys

BT_EPB, BT_CB = 6, 0x00000BAD
PEN_WIRESHARK, ENTRY_PROCESS = 32622, 3
SIZES = {5: 4, 6: 4, 9: 8}
errors = []


def err(msg):
    errors.append(msg)
    if len(errors) > 20:
        report()


def report():
    for e in errors[:20]:
        print("  " + e)
    sys.exit(1 if errors else 0)


def options(d, off, end, where):
    """(code, bytes) pairs of an option list in d[off:end]."""
    out = []
    while off + 4 <= end:
        code, n = struct.unpack_from("<HH", d, off)
        if code == 0:
            return out
        if off + 4 + n > end:
            sys.exit(f"{where}: option {code} of {n} bytes runs past its block")
        out.append((code, d[off + 4:off + 4 + n]))
        off += 4 + (n + 3) // 4 * 4
    return out


def pib(d, off, total):
    """A Process Information Block from the custom block at off, or None."""
    if total < 12 + 12 or struct.unpack_from("<I", d, off + 8)[0] != PEN_WIRESHARK:
        return None
    etype, elen = struct.unpack_from("<II", d, off + 12)
    if etype != ENTRY_PROCESS:
        return None
    if elen < 4 or 20 + (elen + 3) // 4 * 4 > total - 4:
        sys.exit(f"block at {off}: entry length {elen} does not fit its block ({total})")
    p = {"pid": struct.unpack_from("<I", d, off + 20)[0], "at": off}
    for code, v in options(d, off + 24, off + 20 + elen, f"process block at {off}"):
        if code in SIZES and len(v) != SIZES[code]:
            sys.exit(f"process block at {off}: option {code} has {len(v)} bytes")
        if code == 1:
            p["comment"] = v.decode()
        elif code == 2:
            p["name"] = v.decode()
        elif code == 3:
            p["path"] = v.decode()
        elif code == 4:
            p["cmdline"] = v.decode().split("\0")
        elif code in (5, 6):
            p["ppid" if code == 5 else "uid"] = struct.unpack("<I", v)[0]
        elif code == 9:
            p["start"] = struct.unpack("<Q", v)[0]
    if "start" not in p:
        err(f"process block at {off} (pid {p['pid']}) has no pib_starttime")
    return p


def walk(path):
    d = open(path, "rb").read()
    off, blocks, packets = 0, [], []
    while off < len(d):
        if off + 12 > len(d):
            sys.exit(f"{len(d) - off} stray bytes at the end")
        btype, total = struct.unpack_from("<II", d, off)
        if total < 12 or total % 4 or off + total > len(d):
            sys.exit(f"block at {off}: bad length {total}")
        if struct.unpack_from("<I", d, off + total - 4)[0] != total:
            sys.exit(f"block at {off}: trailing length differs")
        if btype == BT_CB:
            p = pib(d, off, total)
            if p:
                blocks.append(p)
        elif btype == BT_EPB:
            _, hi, lo, cap, _ = struct.unpack_from("<IIIII", d, off + 8)
            o = options(d, off + 28 + (cap + 3) // 4 * 4, off + total - 4, f"EPB at {off}")
            pt = [v for c, v in o if c == 8]
            comments = [v.decode() for c, v in o if c == 1]
            if len(pt) != 1 or len(pt[0]) != 8:
                err(f"EPB at {off}: {len(pt)} epb_processid_threadid options")
                pt = [bytes(8)]
            pid, tid = struct.unpack("<II", pt[0])
            packets.append({"ts": hi << 32 | lo, "pid": pid, "tid": tid, "at": off,
                            "reply": bool(comments) and comments[0].startswith("synthesized")})
        off += total
    return blocks, packets


def pick(blocks, pid, ts, before):
    """Wireshark's choice among the blocks of pid for a packet at ts."""
    mine = [b for b in blocks if b["pid"] == pid and b["at"] < before]
    started = [b for b in mine if b.get("start", 0) <= ts]
    if started:
        return max(started, key=lambda b: (b["start"], b["at"]))
    return min(mine, key=lambda b: b.get("start", 0)) if mine else None


def term(s):
    """lib/text.h's terminal rule, for the characters tests use."""
    out = []
    for ch in s:
        c = ord(ch)
        if c < 0x20 or c == 0x7F:
            out.append("\\x%02x" % c)
        elif 0x80 <= c <= 0x9F:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    return "".join(out)


def expect(ev):
    e = {"pid": ev["pid"], "uid": ev["uid"], "ppid": ev["ppid"]}
    exe = ev.get("exe")
    if exe:
        e["path"] = term(exe)
        e["name"] = term(exe.rsplit("/", 1)[-1] or exe)
    else:
        e["name"] = term(ev["comm"])
    if ev.get("cmdline"):
        e["cmdline"] = term(ev["cmdline"]).split(" ")
    if ev.get("container"):
        e["comment"] = "container=" + term(ev["container"])
    return e


def main():
    blocks, packets = walk(sys.argv[1])
    events = [json.loads(x) for x in open(sys.argv[2]) if x.strip()]
    replies = [p for p in packets if p["reply"]]
    conns = [p for p in packets if not p["reply"]]
    if len(conns) != len(events):
        err(f"{len(conns)} connect packets for {len(events)} events")
    for p, ev in zip(conns, events):
        if (p["pid"], p["tid"]) != (ev["pid"], ev["tid"]):
            err(f"packet at {p['at']}: pid/tid {p['pid']}/{p['tid']}, "
                f"event {ev['pid']}/{ev['tid']}")
            continue
        if not blocks:
            continue
        b = pick(blocks, p["pid"], p["ts"], 1 << 62)
        if b is not pick(blocks, p["pid"], p["ts"], p["at"]):
            err(f"packet at {p['at']}: its process block comes after it")
        if b is None:
            err(f"packet at {p['at']}: no process block for pid {p['pid']}")
            continue
        got = {k: v for k, v in b.items() if k not in ("at", "start")}
        want = expect(ev)
        if got != want:
            err(f"packet at {p['at']} (ts {ev['ts_ns']}): block {got}, want {want}")
    for r in replies:
        # A reply names the process of the connect it answers: its note.
        if blocks and not pick(blocks, r["pid"], r["ts"], 1 << 62):
            err(f"reply at {r['at']}: no process block for pid {r['pid']}")
    last = {}
    for b in blocks:
        same = {k: v for k, v in b.items() if k not in ("at", "start")}
        if last.get(b["pid"]) == same:
            err(f"process block at {b['at']} repeats the previous one of pid {b['pid']}")
        last[b["pid"]] = same
    if errors:
        report()
    print(f"packets={len(conns)} blocks={len(blocks)} replies={len(replies)}")


main()
