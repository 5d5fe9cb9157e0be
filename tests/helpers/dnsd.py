#!/usr/bin/env python3
"""A tiny DNS server for the live tests: UDP and TCP on ADDR:53, answers
from a fixed zone of loopback addresses (A, AAAA, a CNAME chain, a name
with a 1-second TTL) and hostile answers for names starting with "evil"
(a compression-pointer loop, an rdlength past the end, 255 labels).
Usage: dnsd.py ADDR READY_FILE. Runs until killed."""
import socket
import struct
import sys
import threading

ZONE = {
    "a.ct.test": [("A", 300, "127.0.0.11")],
    "six.ct.test": [("AAAA", 300, "::1")],
    "alias.ct.test": [("CNAME", 300, "mid.ct.test")],
    "mid.ct.test": [("CNAME", 120, "end.ct.test")],
    "end.ct.test": [("A", 300, "127.0.0.12")],
    "tcp.ct.test": [("A", 300, "127.0.0.14")],
    "stale.ct.test": [("A", 1, "127.0.0.15")],
}


def enc_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(q):
    pos, labels = 12, []
    while q[pos]:
        n = q[pos]
        labels.append(q[pos + 1:pos + 1 + n].decode())
        pos += 1 + n
    return ".".join(labels).lower(), pos + 5


def answer(q):
    name, qend = parse_question(q)
    qtype = struct.unpack(">H", q[qend - 4:qend - 2])[0]
    head = q[:2] + b"\x81\x80" + b"\x00\x01"
    question = q[12:qend]
    if name.startswith("evil"):
        kind = name.split(".")[0]
        if kind == "evilloop":  # an answer owner pointing at itself
            rr = struct.pack(">H", 0xC000 | (12 + len(question))) + b"\x00\x01\x00\x01" + b"\0\0\0\x3c\x00\x04\x7f\0\0\x63"
            return head + b"\x00\x01\0\0\0\0" + question + rr
        if kind == "evillen":  # rdlength past the end
            rr = b"\xc0\x0c\x00\x01\x00\x01\0\0\0\x3c\x0f\xa0\x7f\0\0\x63"
            return head + b"\x00\x01\0\0\0\0" + question + rr
        # 255 one-byte labels as the answer's owner
        rr = b"\x01a" * 255 + b"\0" + b"\x00\x01\x00\x01\0\0\0\x3c\x00\x04\x7f\0\0\x63"
        return head + b"\x00\x01\0\0\0\0" + question + rr
    rrs, cur, n = b"", name, 0
    while cur in ZONE and n < 8:
        nxt = None
        for typ, ttl, val in ZONE[cur]:
            if typ in ("A", "AAAA") and qtype != (1 if typ == "A" else 28):
                continue
            if typ == "A":
                rd, t = socket.inet_pton(socket.AF_INET, val), 1
            elif typ == "AAAA":
                rd, t = socket.inet_pton(socket.AF_INET6, val), 28
            else:
                rd, t, nxt = enc_name(val), 5, val
            rrs += enc_name(cur) + struct.pack(">HHIH", t, 1, ttl, len(rd)) + rd
            n += 1
        if not nxt:
            break
        cur = nxt
    rcode = b"\x81\x80" if n else b"\x81\x83"
    return q[:2] + rcode + b"\x00\x01" + struct.pack(">H", n) + b"\0\0\0\0" + question + rrs


def udp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    return s


def serve_udp(s):
    while True:
        q, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(q), peer)
        except Exception:
            pass


def serve_tcp(s):
    while True:
        c, _ = s.accept()
        try:
            ln = struct.unpack(">H", c.recv(2))[0]
            q = b""
            while len(q) < ln:
                q += c.recv(ln - len(q))
            a = answer(q)
            c.sendall(struct.pack(">H", len(a)) + a)
        except Exception:
            pass
        c.close()


def main():
    addr, ready = sys.argv[1], sys.argv[2]
    u = udp(addr)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 53))
    t.listen(16)
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
    open(ready, "w").close()
    serve_udp(u)


main()
