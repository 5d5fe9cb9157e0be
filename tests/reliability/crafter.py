#!/usr/bin/env python3
"""crafter.py: hostile conntrail trace files, written from format/FORMAT.md
alone (not from the writer's code): valid checksums, hostile contents.

    crafter.py OUTDIR          writes every case as OUTDIR/NAME.ctr

Each case is a function below; the test (r8_crafted.sh) runs the commands
on them under ASan+UBSan with time and memory limits and checks results.
zstd payloads are made with the zstd command-line tool.
"""
import os
import struct
import subprocess
import sys
import zlib

MAGIC = b"\x89CTRACE\n"
COMP_NONE, COMP_ZSTD, COMP_ZLIB = 0, 1, 2
K_EVENTS, K_META, K_INDEX = 1, 2, 3


def varint(v):
    assert v >= 0
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF


def crc(b, start=0):
    return zlib.crc32(b, start) & 0xFFFFFFFF


def tlv(key, val):
    if isinstance(val, str):
        val = val.encode("utf-8", "surrogateescape")
    if isinstance(val, int):
        val = struct.pack("<Q", val & 0xFFFFFFFFFFFFFFFF)
    return struct.pack("<HI", key, len(val)) + val


def header(host="crafted", kernel="6.1.0", recorder="crafter 1", backend="generated",
           cmdline="crafter", filters="", wall_offset=1_700_000_000_000_000_000,
           start_ts=1_000_000_000, major=2, minor=1, extra=b""):
    t = (tlv(1, host) + tlv(2, kernel) + tlv(3, "x86_64") + tlv(4, recorder) +
         tlv(5, backend) + tlv(6, cmdline) + tlv(7, filters) + tlv(16, 1) +
         tlv(17, wall_offset) + tlv(18, start_ts) + extra)
    fixed = MAGIC + struct.pack("<HHI", major, minor, len(t)) + t
    return fixed + struct.pack("<I", crc(fixed))


def compress(codec, raw):
    if codec == COMP_NONE:
        return raw
    if codec == COMP_ZLIB:
        return zlib.compress(raw, 9)
    p = subprocess.run(["zstd", "-q", "-3", "-c", "-"], input=raw, stdout=subprocess.PIPE,
                       check=True)
    return p.stdout


def chunk(kind, seq, records, first_ts, last_ts, raw, codec=COMP_NONE, summary=b"",
          min_seq=0, stored=None):
    """A chunk: header (56 bytes, both CRCs valid), summary, payload."""
    comp = compress(codec, raw) if stored is None else stored
    h = struct.pack("<4sBBHIIQQIII", b"CTCK", kind, codec, 56, seq, records,
                    first_ts & 0xFFFFFFFFFFFFFFFF, last_ts & 0xFFFFFFFFFFFFFFFF, len(raw),
                    len(comp), len(summary))
    h += struct.pack("<II", crc(comp, crc(summary)), min_seq)
    h += struct.pack("<I", crc(h))
    return h + summary + comp


class Ev:
    def __init__(self, ts, pid=100, comm=b"curl", family=2, daddr=bytes([10, 0, 0, 1]),
                 dport=443, path=b"", ret=0, tid=None, ppid=1, uid=0, gid=0, cgroup=1,
                 typ=1, proto=6, sockfd=3, latency=1000, flags=0x0):
        self.__dict__.update(locals())
        del self.__dict__["self"]
        if self.tid is None:
            self.tid = pid


# CT_EV_* flags from FORMAT.md's event fields: RET (1) and LATENCY (2) say
# ret and latency are known.
F_RET, F_LAT = 1, 2


def column(vals, maxw):
    base = min(vals)
    span = max(vals) - base
    w = 0
    while span >> (8 * w):
        w += 1
    assert w <= maxw
    out = bytes([w]) + varint(base)
    for k in range(w):
        out += bytes(((v - base) >> (8 * k)) & 0xFF for v in vals)
    return out


def event_payload(evs, first_ts):
    """The 2.x columnar payload of FORMAT.md's "Event chunk payload"."""
    procs, dests, pidx, didx = {}, {}, [], []
    for e in evs:
        pk = (e.pid, e.ppid, e.uid, e.gid, e.cgroup, e.comm)
        dk = (e.family, e.typ, e.proto, e.daddr, e.dport, e.path, getattr(e, "scope", 0))
        pidx.append(procs.setdefault(pk, len(procs)))
        didx.append(dests.setdefault(dk, len(dests)))
    out = bytearray(varint(len(evs)) + varint(len(procs)))
    for pid, ppid, uid, gid, cg, comm in procs:
        out += varint(pid) + varint(ppid) + varint(uid) + varint(gid) + varint(cg)
        out += bytes([len(comm)]) + comm
    out += varint(len(dests))
    for fam, typ, proto, daddr, dport, path, scope in dests:
        out += varint(fam) + varint(typ) + varint(proto)
        out += daddr if fam == 2 else daddr.ljust(16, b"\0")
        out += struct.pack("<H", dport) + bytes([len(path)]) + path + varint(scope)
    procs, dests = list(procs), list(dests)
    prev = first_ts
    deltas = []
    for e in evs:
        deltas.append(e.ts - prev)
        prev = e.ts
    out += column(deltas, 8)
    out += column(pidx, 4)
    out += column(didx, 4)
    out += column([zigzag(e.tid - e.pid) for e in evs], 8)
    # (columns as FORMAT.md orders them: tid, sockfd, ret, latency, flags, sport)
    out += column([zigzag(e.sockfd) for e in evs], 4)
    out += column([zigzag(e.ret) for e in evs], 4)
    out += column([e.latency for e in evs], 8)
    out += column([e.flags | F_RET | F_LAT for e in evs], 2)
    out += column([0 for e in evs], 2)
    return bytes(out)


def event_chunk(seq, evs, codec=COMP_NONE, first=None, last=None, records=None):
    evs = sorted(evs, key=lambda e: e.ts)
    f = evs[0].ts if first is None else first
    return chunk(K_EVENTS, seq, len(evs) if records is None else records, f,
                 evs[-1].ts if last is None else last, event_payload(evs, evs[0].ts), codec)


def rec(type_, body):
    return varint(type_ << 1 | 1) + varint(len(body)) + body


def sv(s):
    return b"\0" if s is None else varint(len(s) + 1) + s


def proc_rec(ts, pid, comm=b"x", exe=None, cmdline=None, container=None, kind=0, ppid=1):
    body = b"".join(varint(v) for v in (ts, 1, pid, ppid, 0, 0, zigzag(0), kind))
    body += sv(comm) + sv(exe) + sv(cmdline) + sv(container)
    return rec(2, body)


def lost_rec(ts, count, cpu=0xFFFFFFFF):
    return rec(3, varint(ts) + varint(count) + varint(cpu))


def meta_chunk(seq, records_bytes, n, ts0, ts1, codec=COMP_NONE):
    return chunk(K_META, seq, n, ts0, ts1, records_bytes, codec)


class Entry:
    def __init__(self, off, c):
        h = struct.unpack_from("<4sBBHIIQQIII", c)
        self.off, self.kind, self.codec, self.seq, self.records = off, h[1], h[2], h[4], h[5]
        self.first, self.last, self.raw, self.comp, self.sum_len = h[6], h[7], h[8], h[9], h[10]

    def pack(self):
        m = 0xFFFFFFFFFFFFFFFF
        return struct.pack("<QQQIIIIIBB", self.off & m, self.first & m, self.last & m,
                           self.seq & 0xFFFFFFFF, self.records & 0xFFFFFFFF, self.comp, self.raw, self.sum_len, self.kind,
                           self.codec) + b"\0" * 10


def trace(hdr, chunks, index=True, entries_hook=None, index_codec=COMP_NONE, totals=None):
    """header + chunks + (index chunk + trailer). entries_hook(list) may lie."""
    out = bytearray(hdr)
    ents = []
    for c in chunks:
        ents.append(Entry(len(out), c))
        out += c
    if not index:
        return bytes(out)
    if entries_hook:
        ents = entries_hook(ents)
    ev = sum(e.records for e in ents if e.kind == K_EVENTS)
    body = b"".join(e.pack() for e in ents)
    tot = totals if totals else (ev, 0, 0)
    # No section checksums (zero): the chunk's payload CRC covers it all.
    payload = struct.pack("<QQQIIII", tot[0], tot[1], tot[2], len(ents), 56, 0, 0) + body
    ioff = len(out)
    ic = chunk(K_INDEX, len(chunks) + 1, len(ents), 0, 0, payload, index_codec)
    out += ic
    t = struct.pack("<QII", ioff, len(ic), len(ents))
    out += b"CTTR" + struct.pack("<I", crc(t)) + t + b"CTRAILER"
    return bytes(out)


# ------------------------------------------------------------------ cases

T0 = 1_000_000_000


def evs(n, ts0=T0, step=1000, **kw):
    return [Ev(ts0 + i * step, **kw) for i in range(n)]


def base_chunks(nchunks=4, per=50):
    cs = []
    for i in range(nchunks):
        cs.append(event_chunk(i, evs(per, T0 + i * 10**9, pid=100 + i, dport=1000 + i)))
    return cs


def case_valid():
    return trace(header(), base_chunks())


def case_index_dup():
    # One chunk named a thousand times (issue 14: 131,072,000 events shown).
    def hook(ents):
        return [ents[0]] * 1000
    c = event_chunk(0, evs(131072 // 1024, step=1))
    return trace(header(), [c], entries_hook=hook)


def case_index_huge():
    # 1.1 M entries, zstd-compressed index of a few KB: must not take minutes.
    def hook(ents):
        return [ents[0]] * 1_100_000
    return trace(header(), [event_chunk(0, evs(10))], entries_hook=hook,
                 index_codec=COMP_ZSTD)


def case_index_hides():
    # The index leaves a chunk out: streamed and indexed readings must agree.
    def hook(ents):
        return [e for i, e in enumerate(ents) if i != 1]
    return trace(header(), base_chunks(), entries_hook=hook)


def case_index_times():
    # Entry times lie (the header tells the truth): a window must not miss.
    def hook(ents):
        for e in ents:
            e.first, e.last = e.first + 50 * 10**9, e.last + 50 * 10**9
        return ents
    return trace(header(), base_chunks(), entries_hook=hook)


def case_index_counts():
    def hook(ents):
        for e in ents:
            e.records = 131072
        return ents
    return trace(header(), base_chunks(), entries_hook=hook)


def case_index_overlap():
    def hook(ents):
        ents[2].off = ents[1].off + 8  # inside chunk 1
        return ents
    return trace(header(), base_chunks(), entries_hook=hook)


def case_index_order():
    def hook(ents):
        return [ents[1], ents[0]] + ents[2:]
    return trace(header(), base_chunks(), entries_hook=hook)


def case_proc_strings():
    # Distinct pids with 64 KiB strings, zstd-compressed: a small file that
    # claims gigabytes of process context.
    big = b"A" * 65535
    recs = bytearray()
    n = 0
    chunks = []
    for pid in range(1, 2001):
        recs += proc_rec(T0, 10000 + pid, b"p", big, big, big)
        n += 1
        if len(recs) > 48 << 20:
            chunks.append(meta_chunk(len(chunks), bytes(recs), n, T0, T0, COMP_ZSTD))
            recs, n = bytearray(), 0
    if n:
        chunks.append(meta_chunk(len(chunks), bytes(recs), n, T0, T0, COMP_ZSTD))
    e = [Ev(T0 + i, pid=10001 + i) for i in range(2000)]
    for i in range(0, 2000, 1000):
        chunks.append(event_chunk(len(chunks), e[i:i + 1000]))
    return trace(header(), chunks)


def case_zstd_bomb():
    # One meta chunk of 64 MiB of skippable records: 2-3 KB on disk.
    raw = rec(9, b"\0" * ((64 << 20) - 16))
    raw = raw[:64 << 20]
    c = meta_chunk(0, raw, 1, T0, T0, COMP_ZSTD)
    return trace(header(), [c, event_chunk(1, evs(3))])


def case_lost_bomb():
    # A meta chunk full of lost records (zstd): handling must be linear.
    one = lost_rec(T0, 1, 0)
    n = (32 << 20) // len(one)
    c = meta_chunk(0, one * n, n, T0, T0, COMP_ZSTD)
    return trace(header(), [c, event_chunk(1, evs(3))])


def case_magic_run():
    # 32 MiB of chunk magic where a chunk should be: resync stays linear.
    junk = b"CTCK" * ((32 << 20) // 4)
    return header() + junk + event_chunk(0, evs(5))


def case_magic_run_small():
    junk = b"CTCK" * ((1 << 20) // 4)
    return header() + junk + event_chunk(0, evs(5))


def case_time_extremes():
    # A huge clock offset, times near 2^63 and 2^64, ret = INT32_MIN.
    hdr = header(wall_offset=(1 << 63) - 1, start_ts=(1 << 64) - 1)
    c0 = event_chunk(0, [Ev((1 << 63) - 5, ret=-(1 << 31)), Ev((1 << 63) + 5, ret=-1)])
    c1 = event_chunk(1, [Ev((1 << 64) - 2, ret=-(1 << 31)), Ev((1 << 64) - 1)])
    return trace(hdr, [c0, c1])


def case_time_negative_offset():
    hdr = header(wall_offset=-(1 << 63), start_ts=0)
    return trace(hdr, [event_chunk(0, [Ev(0), Ev(5, ret=-(1 << 31))])])


ESC = b"\x1b[31m\x1b]52;c;cHduZWQ=\x07\n\x9b1m\xc2\x9b2m\xe2\x80\xae\xe2\x81\xa6\xd8\x9c\x7f\xff"


def case_escapes():
    hdr = header(host=b"h" + ESC, kernel=b"k" + ESC, recorder=b"r" + ESC, backend=b"b" + ESC,
                 cmdline=b"c" + ESC, filters=b"f" + ESC)
    meta = proc_rec(T0, 100, b"=1+1\x1b[2J\x9b", b"/tmp/e" + ESC, b"-cmd" + ESC, b"@c" + ESC)
    e = [Ev(T0 + 1, pid=100, comm=b"=1+1\x1b[2J\x9b"),
         Ev(T0 + 2, pid=100, comm=b"+x", family=1, daddr=b"\0" * 16, dport=0,
            path=b"\0=cmd" + ESC[:20], typ=1, proto=0, flags=8),
         Ev(T0 + 3, pid=100, comm=b"@y", family=1, daddr=b"\0" * 16, dport=0,
            path=b"/run/\xe2\x80\xaex\x1b", typ=1, proto=0)]
    return trace(hdr, [meta_chunk(0, meta, 1, T0, T0), event_chunk(1, e)])


def case_escapes_host2():
    return trace(header(host=b"second" + ESC), [event_chunk(0, evs(3, T0 + 5))])


def case_fat_events():
    # An event chunk near the format's largest: 131072 distinct processes
    # and destinations with 108-byte paths (about 25 MiB raw, zstd): ten
    # read at once meet the readers' shared decompression budget.
    e = [Ev(T0 + i, pid=1 + i, comm=b"c%07d" % i, family=1, daddr=b"\0" * 16, dport=0,
            path=b"/p%07d" % i + b"x" * 99, proto=0) for i in range(131072)]
    return trace(header(), [event_chunk(0, e, COMP_ZSTD)])


def case_rate_order():
    # Chunks out of time order: the rate histogram counts each once, in place.
    a = event_chunk(0, evs(100, T0 + 100 * 10**9, step=10**7))
    b = event_chunk(1, evs(100, T0, step=10**7))
    return trace(header(), [a, b])


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    only = sys.argv[2:] or list(CASES)
    for name in only:
        with open(os.path.join(out, name + ".ctr"), "wb") as f:
            f.write(CASES[name]())


if __name__ == "__main__":
    main()
