#!/usr/bin/env bash
# script --follow on files record is writing, watched in tmux while the
# recorder runs:
#  - text, and --json with --filter in a second pane: each batch of
#    connects shows up while the recorded command still runs, and follow
#    ends by itself (status 0) once record has written the trailer;
#  - a --rotate ring: followed from FILE.0 through the rotations (each event
#    once, in order, none missing) while the recording goes on, ending with
#    the recording.
. tests/lib.sh
. tests/tmux_lib.sh

# ---- one file
record_live f live.ctr -o live.ctr
pane_script text.sh FOLLOW <<EOF
"$CT" script -f live.ctr
EOF
pane_script json.sh FOLLOW <<EOF
"$CT" script -f --json --filter 'dport == 32001 or dport == 32101' live.ctr | jq -c --unbuffered '[.comm, .dport, .result]'
EOF
tm_start text 160 50 text.sh
tm_start json 100 20 json.sh

drv "$STORM 3 --seq 32000"
check "text: the batch is on the screen" wait_screen text '127\.0\.0\.1:32002 +ok'
check "json: the filtered event is on the screen" wait_screen json '^\["connstorm",32001,0\]$'
check "json: and only that one" test "$(screen json | grep -c '^\[')" = 1
check "the recorder is still running" kill -0 $rec
drv "$STORM 3 --seq 32100"
check "text: the second batch" wait_screen text '127\.0\.0\.1:32102 +ok'
check "json: the second filtered event" wait_screen json '^\["connstorm",32101,0\]$'
check "text: still following (no end yet)" not_on_screen text FOLLOW-END
check "the recorder is still running" kill -0 $rec
drv "$REFUSE 2 $TMP/refused.port"
port=$(cat refused.port)
check "text: refused connects as ECONNREFUSED" wait_screen text "python3/[0-9]+ +inet +127\.0\.0\.1:$port +ECONNREFUSED"

expect_eq "text: every connect once" 6 "$(screen text | grep -c 'connstorm/.*127\.0\.0\.1:32[01]0[0-2] ')"
drv_exit
wait $rec
expect_eq "record ends with its command" 0 $?
check "text: follow ended at the trailer, status 0" wait_screen text '^FOLLOW-END 0$'
check "json: follow ended too" wait_screen json '^FOLLOW-END 0$'
[ "$T_FAILS" -eq 0 ] || { show_screen text; show_screen json; }

# ---- a --rotate ring
record_live r ring.ctr.0 --max-size 16k --rotate 3 -o ring.ctr
# Lines "AT COUNT PORT" every 500 events and "END COUNT PORT" at the end:
# the screen says how far the follow got; the ports file whether each
# event came once and in order. A file holds about 2300 of these connects;
# they come in steps of 1000, each waited for, 12 steps, so the ring goes
# round more than once: a follower a whole ring behind would find files
# replaced (it says so, and they are gone).
{
	echo "CT='$CT'"
	cat <<'EOF'
"$CT" script -f --json ring.ctr.0 | jq --unbuffered .dport | tee ring.ports | {
	n=0 last=
	while read -r p; do
		n=$((n + 1)) last=$p
		[ $((n % 500)) -eq 0 ] && echo "AT $n $p"
	done
	echo "END $n $last"
}
echo "FOLLOW-END ${PIPESTATUS[0]}"
exec sleep 3600
EOF
} >ring.sh
tm_start ring 100 60 ring.sh
for k in $(seq 1 12); do
	drv "$STORM 1000 --seq $((20000 + (k - 1) * 1000))"
	check "step $k: the follow is at the last connect while recording" \
		wait_screen ring "^AT $((k * 1000)) $((20000 + k * 1000 - 1))\$"
done
check "the recorder is still running" kill -0 $rec
check "the ring went round: ring.ctr.0 no longer holds the first connects" \
	test "$("$CT" script --json ring.ctr.0 | head -n 1 | jq .dport)" -gt 20000
check "every port once, in order" python3 -c '
import sys
ports = [int(l) for l in open("ring.ports")]
want = list(range(20000, 32000))
if ports != want:
    print("    %d ports, first %s, last %s" % (len(ports), ports[:3], ports[-3:])); sys.exit(1)'
drv_exit
wait $rec
expect_eq "record ends with its command" 0 $?
check "follow ended with the recording" wait_screen ring '^END 12000 31999$'
check "status 0" wait_screen ring '^FOLLOW-END 0$'
[ "$T_FAILS" -eq 0 ] || show_screen ring
done_testing
