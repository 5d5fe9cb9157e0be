#!/usr/bin/env bash
# `make offline` must build the readers on a machine without libbpf, libelf,
# clang or bpftool. Rather than uninstall them, hide them in a private mount
# namespace (root only), build there, and check the binary's dependencies.
. tests/lib.sh

out=$TMP/offline
cat >"$TMP/hide.sh" <<'INNER'
set -e
hide_dir() { [ -d "$1" ] && mount -t tmpfs none "$1"; }
hide_file() { [ -e "$1" ] && mount --bind /dev/null "$1"; }
mount --make-rprivate /
hide_dir /usr/include/bpf
for f in /usr/include/libelf.h /usr/include/gelf.h /usr/sbin/bpftool /usr/bin/bpftool \
	/usr/lib/x86_64-linux-gnu/libbpf.* /usr/lib/x86_64-linux-gnu/libelf* \
	/usr/bin/clang /usr/bin/clang-[0-9]* /usr/lib/llvm-*/bin/clang*; do
	hide_file "$f" || true
done
# Prove the hiding worked before trusting the build.
! command -v clang >/dev/null 2>&1 || ! clang --version >/dev/null 2>&1
[ ! -s /usr/lib/x86_64-linux-gnu/libbpf.so ]
[ -z "$(ls -A /usr/include/bpf)" ]
exec make --no-print-directory -j2 BUILD="$1" offline
INNER
check "make offline without libbpf/libelf/clang/bpftool" \
	unshare -m bash "$TMP/hide.sh" "$out"
check "offline binary exists" test -x "$out/conntrail"
if [ -x "$out/conntrail" ]; then
	check "offline binary does not link libbpf or libelf" \
		bash -c "! ldd '$out/conntrail' | grep -Eq 'libbpf|libelf'"
	expect_status "offline record says it is not built" 1 "$out/conntrail" record
	check "offline info works" "$out/conntrail" info "$(ls samples/*.ctr | head -1)"
fi
done_testing
