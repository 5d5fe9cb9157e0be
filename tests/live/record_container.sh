#!/usr/bin/env bash
# Container ids: the parser on known cgroup path shapes (procfs_check), then
# end to end: a process in a docker-style cgroup v2 directory, started while
# recording and gone before its exec record is read, gets the 64-hex id on
# its events (`container` in script --json); one outside gets none.
. tests/lib.sh
STORM=$PWD/$BUILD/tests/connstorm
check "container id parser and /proc facts" "$PWD/$BUILD/tests/procfs_check" arg1 arg2
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cg=$cg2/docker-$id.scope
if [ -z "$cg2" ] || ! mkdir "$cg"; then
	fail "cannot make a cgroup v2 directory to test with"
	done_testing
fi
cd "$TMP"
"$CONNTRAIL" record -q -o t.ctr -- sh -c "
	sh -c 'echo \$\$ >\"$cg/cgroup.procs\" && exec \"$STORM\" 2 --seq 8001' >/dev/null
	'$STORM' 1 --seq 8101 >/dev/null"
expect_eq "record exit status" 0 $?
rmdir "$cg"
"$CONNTRAIL" script --json t.ctr >events.jsonl
expect_eq "events in the container carry its id" "$id $id" \
	"$(jq -r 'select(.dport == 8001 or .dport == 8002) | .container' events.jsonl | xargs)"
expect_eq "the event outside has none" "null" "$(jq -r 'select(.dport == 8101) | .container' events.jsonl)"
done_testing
