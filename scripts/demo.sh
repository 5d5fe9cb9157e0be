#!/usr/bin/env bash
# scripts/demo.sh (`make demo`): record a short demo workload as root, then
# report on it. The workload makes a few loopback connects of every kind:
# TCP to a listener, TCP refused, UDP over IPv6, a UNIX socket, an abstract
# one. Everything stays on loopback; the whole demo takes a few seconds.
set -eu
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
CT=$PWD/$BUILD/conntrail
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: recording needs root: run 'sudo make demo'" >&2
	exit 1
fi
[ -x "$CT" ] || { echo "demo: $CT missing: run make first" >&2; exit 1; }
W=$(mktemp -d /tmp/conntrail-demo.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT

# A loopback TCP listener and a UNIX one (python3 is in the dependencies).
python3 - "$W" <<'PY' &
import os, socket, sys, threading
d = sys.argv[1]
tcp = socket.socket(); tcp.bind(("127.0.0.1", 0)); tcp.listen(64)
uds = socket.socket(socket.AF_UNIX); uds.bind(d + "/demo.sock"); uds.listen(64)
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for s in (tcp, uds):
    threading.Thread(target=serve, args=(s,), daemon=True).start()
open(d + "/port.tmp", "w").write(str(tcp.getsockname()[1]))
os.rename(d + "/port.tmp", d + "/port")
threading.Event().wait()
PY
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
PORT=$(cat "$W/port")

echo "== conntrail record -o $W/demo.ctr -- sh -c '...'"
"$CT" record -o "$W/demo.ctr" -- sh -c "
	for i in 1 2 3; do curl -s -o /dev/null http://127.0.0.1:$PORT/ || true; done
	curl -s -o /dev/null http://127.0.0.1:1/ || true
	python3 -c '
import socket
for i in range(5):
    s = socket.socket(); s.connect((\"127.0.0.1\", $PORT)); s.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.connect((\"::1\", 53))
x = socket.socket(socket.AF_UNIX); x.connect(\"$W/demo.sock\")
a = socket.socket(socket.AF_UNIX)
try: a.connect(\"\\0conntrail-demo\")
except OSError: pass
'"
echo
echo "== conntrail report $W/demo.ctr"
"$CT" report "$W/demo.ctr"
echo
echo "== conntrail script $W/demo.ctr"
"$CT" script "$W/demo.ctr"
