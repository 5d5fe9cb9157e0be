#!/usr/bin/env python3
"""bench/paced.py RATE SECONDS: a steady stream of UDP connect(2) calls to
127.0.0.1:9, RATE a second in batches every 10 ms, for SECONDS: a workload
whose chunks are cut by the recorder's flush interval, not by their size
(P7 of bench/run.sh). Prints one line: connects=N elapsed_ns=T pid=P."""
import os
import socket
import sys
import time

rate, secs = float(sys.argv[1]), float(sys.argv[2])
step = 0.01
per = max(1, int(rate * step))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
n = k = 0
while time.monotonic() - t0 < secs:
    for _ in range(per):
        s.connect(("127.0.0.1", 9))
        n += 1
    k += 1
    delay = t0 + k * step - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(f"connects={n} elapsed_ns={int((time.monotonic() - t0) * 1e9)} pid={os.getpid()}")
