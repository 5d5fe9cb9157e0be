# tests/tmux_lib.sh: sourced (after lib.sh) by the live tests that watch a terminal;
# they then run in $TMP.
# A pane script ends with "exec sleep": a pane that exits gets a "Pane is
# dead" line that scrolls its screen.
# A test runs a program in a tmux session of its own (a private server
# socket), reads what is on its screen with capture-pane and types with
# send-keys. And a driver: a command run under `record -- ...` that makes
# the connects the test asks for, one line of shell at a time, so the
# recorder keeps running (and the trace stays live) between them.
TM_SOCK=ct-live-$$
trap 'tmux -L "$TM_SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
tm() { tmux -L "$TM_SOCK" "$@"; }
# tm_start NAME COLS ROWS SCRIPT: run bash SCRIPT in a new session; the pane
# stays when it exits.
tm_start() {
	tm new-session -d -s "$1" -x "$2" -y "$3" -c "$PWD" "bash $4"
	tm set-option -t "$1" remain-on-exit on >/dev/null
}
# pane_script FILE TAG <<EOF: FILE runs the lines on standard input, then
# prints "TAG-END STATUS" and stays (exec sleep).
pane_script() {
	{
		cat
		printf 'echo "%s-END $?"\n%s\n' "$2" \
			'exec sleep 3600 # the pane stays as it is until the test ends'
	} >"$1"
}
screen() { tm capture-pane -p -t "$1"; }
# on_screen NAME ERE: the screen has a line matching ERE; not_on_screen: none.
on_screen() { screen "$1" | grep -Eq -- "$2"; }
not_on_screen() { ! on_screen "$@"; }
# line_is NAME N ERE: line N of the screen matches ERE.
line_is() { screen "$1" | sed -n "$2p" | grep -Eq -- "$3"; }
# wait_screen NAME ERE: until it shows (a hang guard of 60 s, not a timing check).
wait_screen() { wait_until 60 on_screen "$1" "$2"; }
show_screen() { screen "$1" | sed 's/^/    | /' >&2; }

# The driver and what it runs must make only the connects a test asks for:
# glibc asks nscd for the user's passwd entry (a UNIX connect, recorded)
# when bash starts without SHELL or python without HOME, as in a bare CI
# environment.
export SHELL=${SHELL:-$(command -v bash)}
export HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
# The driver: DRIVER FIFO LOG reads shell lines from FIFO and runs each,
# then writes "done N" (N counts the lines) into LOG; "exit" ends it.
DRIVER=$TMP/driver.sh
cat >"$DRIVER" <<'DRV'
#!/usr/bin/env bash
exec 3<"$1"
n=0
while read -r line <&3; do
	[ "$line" = exit ] && exit 0
	n=$((n + 1))
	eval "$line" >>"$2.out" 2>&1
	echo "done $n" >>"$2"
done
DRV
chmod +x "$DRIVER"
# drv_open NAME: the FIFO NAME.ctl (held open on fd 4 by the test, read
# and write so that opening never blocks) and the log NAME.log.
drv_open() {
	mkfifo "$TMP/$1.ctl"
	exec 4<>"$TMP/$1.ctl"
	: >"$TMP/$1.log"
	DRV_N=0
	DRV_LOG=$TMP/$1.log
}
# drv LINE: run LINE in the driver and wait until it is done.
drv() {
	DRV_N=$((DRV_N + 1))
	echo "$*" >&4
	wait_until 60 grep -qx "done $DRV_N" "$DRV_LOG"
}
drv_exit() { echo exit >&4; }
# record_live NAME FILE OPTION..: drv_open NAME, then record (OPTIONs, the
# driver as its command, errors to NAME.err) in the background, its pid in
# $rec; returns once FILE (the output, or its first rotated file) has bytes.
record_live() {
	local name=$1 first=$2
	shift 2
	drv_open "$name"
	"$CONNTRAIL" record -q --flush 100ms "$@" -- "$DRIVER" "$TMP/$name.ctl" "$TMP/$name.log" \
		2>"$TMP/$name.err" &
	rec=$!
	wait_until 60 test -s "$first"
}
# Connect helpers for the driver's lines: $REFUSE N FILE makes N refused TCP
# connects (blocking) to a bound port nobody listens on, whose number goes
# to FILE.
cat >"$TMP/refuse.py" <<'PY'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
open(sys.argv[2], "w").write(str(port))
for i in range(int(sys.argv[1])):
    c = socket.socket()
    c.connect_ex(("127.0.0.1", port))
    c.close()
PY
REFUSE="python3 $TMP/refuse.py"
STORM=$PWD/$BUILD/tests/connstorm
# The tests work in $TMP (pane scripts name their files relative to it),
# and pane scripts name conntrail $CT.
cd "$TMP" || exit 1
CT=$CONNTRAIL
