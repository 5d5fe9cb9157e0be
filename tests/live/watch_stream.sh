#!/usr/bin/env bash
# record -o - | script -, watched in tmux while the recorder runs: each
# batch of connects is on the screen before the next is made, and while
# the recorded command (the driver) is still waiting for more; the pipe
# ends when the recording does.
. tests/lib.sh
. tests/tmux_lib.sh

drv_open s
pane_script pane.sh PIPE <<EOF
sh -c 'echo \$\$ >rec.pid; exec "$CT" record -q --flush 100ms -o - -- "$DRIVER" s.ctl s.log' |
	"$CT" script -
EOF
tm_start pipe 160 50 pane.sh
wait_until 60 test -s rec.pid
rec=$(cat rec.pid)

t0=$(date +%s%N)
drv "$STORM 5 --seq 31000"
check "first batch on the screen" wait_screen pipe '127\.0\.0\.1:31004 '
t1=$(date +%s%N)
echo "    (first batch on the screen $(((t1 - t0) / 1000000)) ms after it was asked for; --flush 100ms)" >&2
for p in 31000 31001 31002 31003 31004; do
	check "port $p shown as ok" on_screen pipe "connstorm/[0-9]+ +inet +127\.0\.0\.1:$p +ok"
done
check "the recorder is still running" kill -0 "$rec"
check "the pipe has not ended" not_on_screen pipe PIPE-END

drv "$STORM 3 --seq 31100"
check "second batch on the screen too" wait_screen pipe '127\.0\.0\.1:31102 '
check "the recorder is still running" kill -0 "$rec"
expect_eq "every connect once on the screen" 8 "$(screen pipe | grep -c 'connstorm/.*127\.0\.0\.1:31[01]')"

drv_exit
check "the pipe ends when the recording does, status 0" wait_screen pipe '^PIPE-END 0$'
[ "$T_FAILS" -eq 0 ] || show_screen pipe
done_testing
