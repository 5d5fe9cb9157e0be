#!/usr/bin/env bash
# conntrail top on a trace record is writing, in tmux, while it records:
# the numbers on the screen are the connects made (a window of 60 s, so
# none leaves it during the test); keys switch the view, change the sort,
# pause and quit; a resize redraws at the new size. --batch frames and
# --filter on the same live file; top - on a pipe from record -o -.
. tests/lib.sh
. tests/tmux_lib.sh

record_live t live.ctr -o live.ctr
pane_script top.sh TOP <<EOF
"$CT" top --window 60s live.ctr
EOF
tm_start top 120 40 top.sh
check "top starts and names its input" wait_screen top '^conntrail top - live\.ctr .* LIVE$'

drv "$STORM 40"
drv "$REFUSE 7 $TMP/refused.port"
port=$(cat refused.port)
# The destinations view: CONNECTS /s FAILED LAST DESTINATION.
check "destinations: 40 connects to 127.0.0.1:9, none failed" \
	wait_screen top '^ +40 +0\.7 +0 +[0-9]+s +127\.0\.0\.1:9$'
check "destinations: 7 refused to the closed port" \
	wait_screen top "^ +7 +0\\.1 +7 +[0-9]+s +127\\.0\\.0\\.1:$port\$"
check "head: 47 connects, 7 failed in the window" \
	wait_screen top '^window: 47 connects, 7 failed, 0 lost'
check "head: rates over 60 s" on_screen top '^connects/s +0\.8 +failures/s +0\.1 +lost/s +0\.0$'
check "the key line is there" on_screen top '\[q\] quit'
check "the recorder is still running" kill -0 $rec

tm send-keys -t top 3
check "key 3: failures by result and destination" \
	wait_screen top "^ +7 +0\\.1 +[0-9]+s +ECONNREFUSED +127\\.0\\.0\\.1:$port\$"
check "key 3: the failures title" on_screen top '^Top failures by connects \(1 of 1\)$'
tm send-keys -t top 2
check "key 2: processes" wait_screen top '^ +40 +0\.7 +0 +[0-9]+s +connstorm \([0-9]+\)$'
check "key 2: python3 with its 7 failures" on_screen top '^ +7 +0\.1 +7 +[0-9]+s +python3 \([0-9]+\)$'
tm send-keys -t top s
check "key s: sorted by failures, python3 first" wait_screen top '^Top processes by failures'
check "python3 is the first row" line_is top 7 'python3 \([0-9]+\)$'
tm send-keys -t top Tab
check "Tab: next view (failures)" wait_screen top '^Top failures by failures'
tm send-keys -t top 1 s s s
check "back to destinations, sorted by connects" wait_screen top '^Top destinations by connects'

# Pause: the screen keeps its window while more connects are made.
tm send-keys -t top Space
check "space: PAUSED" wait_screen top 'PAUSED$'
drv "$STORM 10"
wait_until 60 sh -c "'$CT' script live.ctr 2>/dev/null | grep -c '127\.0\.0\.1:9 ' | grep -qx 50"
check "paused: still 40 to 127.0.0.1:9 although 50 are in the file" \
	on_screen top '^ +40 +0\.7 +0 +[0-9]+s +127\.0\.0\.1:9$'
tm send-keys -t top Space
check "space again: 50 connects" wait_screen top '^ +50 +0\.8 +0 +[0-9]+s +127\.0\.0\.1:9$'
check "and LIVE" on_screen top 'LIVE$'

# Resize: redrawn at the new size, the key line on the last row.
tm resize-window -t top -x 70 -y 15
check "after a resize the key line is on row 15" wait_until 60 line_is top 15 '^\[1\] destinations'
check "no line is wider than 70 columns" test "$(screen top | awk '{ print length }' | sort -n | tail -n 1)" -le 70
check "the rows still show" on_screen top '^ +50 +0\.8 +0 +[0-9]+s +127\.0\.0\.1:9$'

# --batch and --filter on the same live file, no terminal: text frames.
timeout 60 "$CT" top --batch -n 2 --window 60s --filter 'result != ok' live.ctr >batch.txt
expect_eq "--batch -n 2: exit status 0" 0 $?
expect_eq "two frames" 2 "$(grep -c '^conntrail top - live\.ctr .* LIVE$' batch.txt)"
check "filtered frame: the 7 failures only" \
	grep -q '^window: 7 connects, 7 failed, 0 lost .*filter: result != ok$' batch.txt
check "filtered frame: no row for 127.0.0.1:9" sh -c "! grep -q '127\.0\.0\.1:9$' batch.txt"
check "the recorder is still running" kill -0 $rec

tm send-keys -t top q
check "q quits with status 0" wait_screen top '^TOP-END 0$'
drv_exit
wait $rec
expect_eq "record ends with its command" 0 $?
timeout 60 "$CT" top --batch --window 10m live.ctr >final.txt
check "the finished file: one frame, ENDED, with its last seconds" \
	sh -c "grep -c '^conntrail top - .* ENDED$' final.txt | grep -qx 1 &&
		grep -q '^window: 57 connects, 7 failed' final.txt"
[ "$T_FAILS" -eq 0 ] || show_screen top

# top - on a pipe: the keys come from the terminal, the trace from stdin.
drv_open p
pane_script pipe.sh TOP <<EOF
"$CT" record -q --flush 100ms -o - -- "$DRIVER" p.ctl p.log | "$CT" top --window 60s -
EOF
tm_start pipe 120 40 pipe.sh
drv "$STORM 12 --seq 34000"
check "top -: the connects of the pipe" wait_screen pipe '^ +1 +0\.0 +0 +[0-9]+s +127\.0\.0\.1:34011$'
check "top -: 12 in the window" on_screen pipe '^window: 12 connects, 0 failed'
tm send-keys -t pipe q
drv_exit # the pipeline ends when record does too
check "top -: q quits, status 0" wait_screen pipe '^TOP-END 0$'
[ "$T_FAILS" -eq 0 ] || show_screen pipe
done_testing
