#!/usr/bin/env bash
# tests/vm/run.sh (make test-vm): prove the lsm and fentry backends in real
# kernels. Builds a static conntrail and connector, packs them with busybox
# into an initramfs, boots each guest kernel in qemu (TCG), runs
# tests/vm/guest/check.sh inside, receives the guest's traces and logs over
# the second serial port, and checks them HERE with the host's own
# build/conntrail and tests/vm/check.py: every field of every event against
# the guest connector's log, the backend and kernel in the trace header, the
# index. Prints one line per guest with its time, then "N passed, N failed".
#
# Missing qemu or kernel packages are failures, unless CONNTRAIL_VM_OPTIONAL=1
# (then they are reported as SKIP and the script exits 0).
# CONNTRAIL_VM_GUESTS="lsm-6.1 ..." runs a subset; artifacts stay in
# $BUILD/vm/GUEST/ (console.log, serial data, out/ = what the guest sent).
set -u
cd "$(dirname "$0")/../.."
: "${BUILD:=build}"
export BUILD
optional=${CONNTRAIL_VM_OPTIONAL:-0}
qemu=${QEMU:-qemu-system-x86_64}
guest_timeout=${CONNTRAIL_VM_TIMEOUT:-600}

unavailable() {
	if [ "$optional" = 1 ]; then
		echo "SKIP vm: $* (CONNTRAIL_VM_OPTIONAL=1)"
		exit 0
	fi
	echo "FAIL vm: $* (set CONNTRAIL_VM_OPTIONAL=1 to skip instead)" >&2
	exit 1
}

command -v "$qemu" >/dev/null || unavailable "$qemu not found (apt-get install qemu-system-x86)"
command -v python3 >/dev/null || unavailable "python3 not found"

echo "vm: building $BUILD/conntrail and the static guest binaries"
if [ "${CONNTRAIL_VM_PREBUILT:-0}" = 1 ]; then
	echo "vm: CONNTRAIL_VM_PREBUILT=1: using the binaries already in $BUILD"
elif ! make -s --no-print-directory -j2 BUILD="$BUILD" "$BUILD/conntrail" static; then
	echo "FAIL vm: build failed" >&2
	exit 1
fi
for bin in "$BUILD/conntrail" "$BUILD/conntrail-static" "$BUILD/static/connector" \
	"$BUILD/static/bpf_holds" "$BUILD/static/dnspair"; do
	if [ ! -x "$bin" ]; then
		echo "FAIL vm: $bin missing" >&2
		exit 1
	fi
done

declare -A kernel
for suite in bookworm trixie; do
	if ! kernel[$suite]=$(bash tests/vm/fetch-kernel.sh "$suite"); then
		unavailable "cannot fetch the Debian $suite cloud kernel"
	fi
done

work=$PWD/$BUILD/vm
mkdir -p "$work"
initrd=$work/initramfs.cpio.gz
if ! bash tests/vm/mkinitramfs.sh "$initrd" \
	"$BUILD/conntrail-static:/bin/conntrail" \
	"$BUILD/static/connector:/bin/connector" \
	"$BUILD/static/bpf_holds:/bin/bpf_holds" \
	"$BUILD/static/dnspair:/bin/dnspair" \
	"tests/vm/guest/check.sh:/check.sh"; then
	echo "FAIL vm: cannot build the initramfs" >&2
	exit 1
fi

# name  suite  lsm=  expected backend of --backend auto
guests=(
	"lsm-6.1 bookworm lockdown,capability,bpf lsm"
	"fentry-6.1 bookworm lockdown,capability fentry"
	"lsm-6.12 trixie lockdown,capability,bpf lsm"
)
wanted=${CONNTRAIL_VM_GUESTS:-}

passed=0
failed=0
failed_names=()
total_start=$SECONDS
for g in "${guests[@]}"; do
	read -r name suite lsm expect <<<"$g"
	if [ -n "$wanted" ] && [[ " $wanted " != *" $name "* ]]; then
		continue
	fi
	dir=$work/$name
	rm -rf "$dir"
	mkdir -p "$dir/out"
	release=$(cat "$(dirname "${kernel[$suite]}")/release")
	# A fresh nonce per boot: what comes back must come from this boot.
	nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	booted_at=$(date +%s)
	start=$SECONDS
	# TCG: KVM may be absent or unusable (nested); -nic none skips the
	# network boot ROM. ttyS0 is the console, ttyS1 the data channel.
	timeout "$guest_timeout" "$qemu" -accel tcg -machine pc -m 1024 -smp 2 \
		-display none -monitor none -no-reboot -nic none \
		-kernel "${kernel[$suite]}" -initrd "$initrd" \
		-append "console=ttyS0 lsm=$lsm panic=-1 quiet ct.scenario=$name ct.expect=$expect ct.nonce=$nonce" \
		-serial "file:$dir/console.log" -serial "file:$dir/serial1.txt" \
		</dev/null >"$dir/qemu.log" 2>&1
	qemu_status=$?
	boot_s=$((SECONDS - start))

	ok=1
	why=""
	if [ "$qemu_status" -ne 0 ]; then
		ok=0
		why="qemu exited with status $qemu_status (124 = timeout after ${guest_timeout}s)"
	elif ! python3 tests/vm/unpack.py "$dir/serial1.txt" "$dir/out"; then
		ok=0
		why="no complete output from the guest"
	fi
	# The guest's own verdict, for the record; the host check below decides.
	verdict=$(grep -a 'GUEST VERDICT' "$dir/console.log" 2>/dev/null | tail -n1 | tr -d '\r')
	echo "== $name: Debian $suite kernel $release, lsm=$lsm, expect $expect (${boot_s}s boot to power-off)"
	echo "   ${verdict:-GUEST VERDICT: none printed}"
	if [ "$ok" = 1 ]; then
		if ! python3 tests/vm/check.py --out "$dir/out" --conntrail "$BUILD/conntrail" \
			--expect-backend "$expect" --kernel "$release" --hostname "ct-guest-$name" \
			--nonce "$nonce" --booted-at "$booted_at" \
			>"$dir/check.log" 2>&1; then
			ok=0
			why="host check failed"
		fi
		sed 's/^/   /' "$dir/check.log"
	fi
	if [ "$ok" = 1 ]; then
		passed=$((passed + 1))
		printf 'PASS %-40s %3ds\n' "vm/$name" $((SECONDS - start))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		printf 'FAIL %-40s %3ds  %s\n' "vm/$name" $((SECONDS - start)) "$why"
		echo "   last console lines ($dir/console.log):"
		tail -n 25 "$dir/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/     /'
	fi
done

echo "vm: all guests took $((SECONDS - total_start))s"
[ $failed -gt 0 ] && printf 'failed: %s\n' "${failed_names[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
