#!/usr/bin/env bash
# R1: record killed with SIGKILL at random moments under a steady connect
# load. Every file must read (info and script --json, index rebuilt by a
# scan) and hold every connect made more than the flush interval (plus one
# poll round of slack) before the kill, checked against the load's own log.
source tests/lib.sh
source tests/reliability/common.sh
need_root R1
need_file R1 "$REL_LOAD"
need_file R1 "$REL_FLIP"
RUNS=${R1_RUNS:-20}
RATE=${R1_RATE:-500}
# record's flush interval: its --help names the option if it has one.
FLUSH_MS=1000
flush_opt=()
if "$CONNTRAIL" record --help 2>&1 | grep -q -- '--flush'; then
	opt=$("$CONNTRAIL" record --help 2>&1 | grep -o -- '--flush[a-z-]*' | head -n 1)
	FLUSH_MS=200
	flush_opt=("$opt" 0.2)
fi
# A connect reaches the file one poll round (<= 100 ms) plus one flush after
# it was made; 250 ms covers the poll round and scheduling on a busy box.
SLACK_MS=${R1_SLACK_MS:-250}

# Never leave a recorder or a load behind, even when timed out.
load=""
rec=""
trap 'for p in $rec $load; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
trap 'exit 1' TERM INT

readable=0
rebuilt=0
checked=0
missing=0
strict_checked=0
strict_missing=0
oldest=0
for i in $(seq 1 "$RUNS"); do
	out=$TMP/kill$i.ctr
	log=$TMP/kill$i.log
	"$REL_LOAD" steady --rate "$RATE" --seconds 30 --log "$log" 2>"$TMP/load$i.err" &
	load=$!
	for _ in $(seq 100); do grep -q ready "$TMP/load$i.err" && break; sleep 0.05; done
	"$CONNTRAIL" record -q -o "$out" "${flush_opt[@]}" 2>"$TMP/rec$i.err" &
	rec=$!
	# A random moment between 1 and 3 s after record started.
	sleep "$((1 + RANDOM % 2)).$(printf '%03d' $((RANDOM % 1000)))"
	if ! kill -0 "$rec" 2>/dev/null; then
		fail "run $i: record exited before the kill: $(head -c 300 "$TMP/rec$i.err")"
		kill "$load"
		wait
		rec="" load=""
		continue
	fi
	kill_ns=$("$REL_LOAD" now)
	kill -KILL "$rec"
	wait "$rec" 2>/dev/null
	kill -TERM "$load"
	wait "$load"
	load_pid=$load
	rec="" load=""

	T_CHECKS=$((T_CHECKS + 1))
	info_ok=0
	st=0
	"$CONNTRAIL" info "$out" >"$TMP/info$i" 2>&1 || st=$?
	if [ "$st" -ne 0 ]; then
		fail "run $i: info exit $(status_word $st): $(head -c 300 "$TMP/info$i")"
	elif grep -qiE '^ *index\b.*(absent|rebuilt|scann|missing)|no index' "$TMP/info$i"; then
		rebuilt=$((rebuilt + 1))
		info_ok=1
	else
		fail "run $i: info does not say the index was rebuilt or absent"
	fi
	# The whole file must print; the load's own events are then checked
	# (the machine may be busy with other connects: keep the check small).
	st=0
	"$CONNTRAIL" script --json "$out" >/dev/null 2>"$TMP/script$i.err" || st=$?
	[ "$st" -eq 0 ] &&
		{ "$CONNTRAIL" script --json --filter "pid == $load_pid" "$out" >"$TMP/json$i" 2>>"$TMP/script$i.err" || st=$?; }
	if [ "$st" -ne 0 ]; then
		fail "run $i: script --json exit $(status_word $st): $(head -c 300 "$TMP/script$i.err")"
		continue
	fi
	[ "$info_ok" -eq 1 ] && readable=$((readable + 1))
	if ! read -r off clock < <("$REL_FLIP" --wall-offset "$out") || [ -z "$off" ]; then
		fail "run $i: cannot read the header's wall_offset_ns"
		continue
	fi
	# The load logs CLOCK_MONOTONIC (1); the trace must say it uses it.
	if [ "$clock" != 1 ]; then
		fail "run $i: trace clock_id $clock, not CLOCK_MONOTONIC: the load's log cannot be compared"
		continue
	fi
	res=$(python3 "$REL_DIR/r1_check.py" "$TMP/json$i" "$log" "$kill_ns" \
		"$((FLUSH_MS + SLACK_MS))" "$off" "$FLUSH_MS") || fail "run $i: $res"
	read -r c m sc sm om _ <<<"$res"
	[ "${om:-0}" -gt "$oldest" ] && oldest=$om
	checked=$((checked + ${c:-0}))
	missing=$((missing + ${m:-0}))
	strict_checked=$((strict_checked + ${sc:-0}))
	strict_missing=$((strict_missing + ${sm:-0}))
done
[ "$checked" -gt 0 ] || fail "no connect was old enough to check"
echo "R1 kill-9: $RUNS runs, $readable files readable, $rebuilt index rebuilt, $missing missing connects ($checked checked, older than flush ${FLUSH_MS} ms + ${SLACK_MS} ms slack; within the slack $strict_missing of $strict_checked missing; oldest missing ${oldest} ms before the kill)"
done_testing
