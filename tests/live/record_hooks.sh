#!/usr/bin/env bash
# What the tracepoint backend holds while it records, listed by
# tests/helpers/bpf_holds (BPF_TASK_FD_QUERY and link fdinfo on the
# recorder's descriptors): its two connect syscall tracepoints (the tax the
# lsm and fentry backends avoid: tests/vm checks they hold none), the
# process tracepoints, and the two TCP tracepoints outcomes come from.
. tests/lib.sh
HOLDS=$PWD/$BUILD/tests/bpf_holds
"$CONNTRAIL" record -q --backend tracepoint -o "$TMP/t.ctr" -- sh -c "'$HOLDS' \$PPID" >"$TMP/holds.txt"
expect_eq "record exit status" 0 $?
expect_eq "the tracepoints held, sorted" \
	"inet_sk_error_report inet_sock_set_state sched_process_exec sched_process_exit sched_process_fork sys_enter_connect sys_exit_connect" \
	"$(awk 'NF == 3 && $2 ~ /tracepoint/ { print $3 }' "$TMP/holds.txt" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "no other syscall tracepoint (raw_syscalls, other syscalls)" "" \
	"$(grep -E ' (sys_enter|sys_exit)' "$TMP/holds.txt" | grep -Ev ' sys_(enter|exit)_connect$')"
done_testing
