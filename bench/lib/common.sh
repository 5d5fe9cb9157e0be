# bench/lib/common.sh: the scratch directory's cleanup, logging, the raw
# measurement file, the helpers' build and the machine's description.
# Sourced by bench/run.sh, whose settings (W, CT, HB, SCALE, ROUNDS, ...)
# and helpers it uses.

cleanup() {
	local p
	# Only ours: pids written by bg_started below, still running the command
	# we started (its arguments name our scratch or helper directory).
	while read -r p; do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -e "$W/" -e "$HB/" &&
			kill -INT "$p" 2>/dev/null
	done <"$BG_PIDS" 2>/dev/null
	# bpf_cost's stats, should the bench end inside it
	[ -n "${BPF_STATS_OLD:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
	sleep 1
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: scratch kept in $W" >&2
	else
		rm -rf "$W"
	fi
}

log() { printf '[bench %3ds] %s\n' $((SECONDS - START)) "$*" >&2; }
# put KEY VALUE: one measurement (a key may repeat: one value per round).
put() { printf '%s\t%s\n' "$1" "$2" >>"$RAW"; }
# note TEXT: printed under the table (what was measured how, what failed).
note() {
	put note "$*"
	log "note: $*"
}
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
now_ns() { date +%s%N; }
# round_ok R PART: round 1 always runs; later rounds only within the budget
# (counted from the start of the reads, P3).
round_ok() {
	[ "$1" -eq 1 ] && return 0
	[ $((SECONDS - ${READ_START:-$START})) -lt "$BUDGET" ] && return 0
	note "$2: stopped after $(($1 - 1)) round(s), past the ${BUDGET} s budget"
	return 1
}
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# kv NAME TEXT: the number after "NAME=" in TEXT.
kv() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2" | head -n 1; }

# ------------------------------------------------------------ helpers build
build_helpers() {
	mkdir -p "$HB"
	local cflags="-O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE"
	if [ bench/storm.c -nt "$HB/storm" ]; then
		cc $cflags -o "$HB/storm" bench/storm.c -lpthread || return 1
	fi
	if [ bench/runstat.c -nt "$HB/runstat" ]; then
		cc $cflags -o "$HB/runstat" bench/runstat.c || return 1
	fi
	if [ bench/pktstorm.c -nt "$HB/pktstorm" ]; then
		cc $cflags -o "$HB/pktstorm" bench/pktstorm.c || return 1
	fi
	if [ bench/sysloop.c -nt "$HB/sysloop" ]; then
		cc $cflags -o "$HB/sysloop" bench/sysloop.c || return 1
	fi
	if [ bench/bpf_loader.c -nt "$HB/bpf_loader" ]; then
		cc $cflags -o "$HB/bpf_loader" bench/bpf_loader.c -lbpf -lelf -lz ||
			note "bpf_loader did not build (libbpf missing?): no empty-BPF floor"
	fi
	if [ bench/empty.bpf.c -nt "$HB/empty.bpf.o" ]; then
		local multiarch
		multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
		clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$multiarch" \
			-c bench/empty.bpf.c -o "$HB/empty.bpf.o" ||
			note "empty.bpf.o did not build: no empty-BPF floor"
	fi
	if [ bench/empty_state.bpf.c -nt "$HB/empty_state.bpf.o" ] || [ bench/empty.bpf.c -nt "$HB/empty_state.bpf.o" ]; then
		clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
			-c bench/empty_state.bpf.c -o "$HB/empty_state.bpf.o" ||
			note "empty_state.bpf.o did not build: no floor for the hooks added since empty.bpf.c"
	fi
	# CO-RE (the parent's pid): against the vmlinux.h the main build made.
	if [ bench/cgconnect.bpf.c -nt "$HB/cgconnect.bpf.o" ] || [ "$BUILD/vmlinux.h" -nt "$HB/cgconnect.bpf.o" ]; then
		clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_"$(uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')" \
			-I"$BUILD" -c bench/cgconnect.bpf.c -o "$HB/cgconnect.bpf.o" ||
			note "cgconnect.bpf.o did not build: no cgroup sock_addr measurement (P6b)"
	fi
	return 0
}

# --------------------------------------------------------------- machine
machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	put machine.cpu "${cpu:-unknown}"
	put machine.cores "$(nproc)"
	put machine.kernel "$(uname -r)"
	put machine.mem_gib "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
	put machine.load "$(cut -d' ' -f1-3 /proc/loadavg)"
	put machine.scale "$SCALE"
	put machine.rounds "$ROUNDS"
	put machine.git "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
}

ensure_tracefs() {
	[ -d /sys/kernel/tracing/events ] && return 0
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
	[ -d /sys/kernel/tracing/events ]
}
