#!/usr/bin/env python3
"""Resolve names through the DNS server at SERVER:53 (UDP, or TCP for names
given as tcp:NAME) and connect to every address: name=NAME connects to what
NAME resolved to, addr=IP connects to IP as it is, sleep=S waits. One
listener on [::]:PORT (dual stack) takes every connect. Prints one line
per connect: "NAME ADDR PORT" (NAME "-" for addr=)."""
import socket
import struct
import sys
import time


def query(server, name, tcp, qtype):
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    if tcp:
        s = socket.create_connection((server, 53), timeout=5)
        s.sendall(struct.pack(">H", len(q)) + q)
        ln = struct.unpack(">H", s.recv(2))[0]
        r = b""
        while len(r) < ln:
            r += s.recv(ln - len(r))
        s.close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(q, (server, 53))
        r = s.recv(4096)
        s.close()
    return r


def addrs_of(r):
    """The A/AAAA rdata of a well-formed answer (names skipped, not read)."""
    an = struct.unpack(">H", r[6:8])[0]
    pos = 12
    while r[pos]:
        pos += 1 + r[pos]
    pos += 5
    out = []
    for _ in range(an):
        while True:
            if r[pos] >= 0xC0:
                pos += 2
                break
            if r[pos] == 0:
                pos += 1
                break
            pos += 1 + r[pos]
        typ, _, _, ln = struct.unpack(">HHIH", r[pos:pos + 10])
        rd = r[pos + 10:pos + 10 + ln]
        if typ == 1:
            out.append(socket.inet_ntop(socket.AF_INET, rd))
        elif typ == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rd))
        pos += 10 + ln
    return out


def main():
    server = sys.argv[1]
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    lst.bind(("::", 0))
    lst.listen(64)
    port = lst.getsockname()[1]
    for arg in sys.argv[2:]:
        what, _, val = arg.partition("=")
        if what == "sleep":
            time.sleep(float(val))
            continue
        if what == "query":  # resolve only, connect nowhere (hostile answers too)
            query(server, val, False, 1)
            continue
        if what == "addr":
            name, targets = "-", [val]
        else:
            tcp = val.startswith("tcp:")
            name = val[4:] if tcp else val
            targets = []
            for qtype in (1, 28):
                try:
                    targets += addrs_of(query(server, name, tcp, qtype))
                except Exception:
                    pass
        for a in targets:
            fam = socket.AF_INET6 if ":" in a else socket.AF_INET
            c = socket.socket(fam, socket.SOCK_STREAM)
            c.connect((a, port))
            lst.accept()[0].close()
            c.close()
            print(name, a, port, flush=True)


main()
