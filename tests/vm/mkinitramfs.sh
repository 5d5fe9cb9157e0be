#!/usr/bin/env bash
# mkinitramfs.sh OUT.cpio.gz SRC:DEST...: a gzip'd newc initramfs holding a
# static busybox (as /bin/busybox), tests/vm/guest/init as /init, and each
# SRC file copied to DEST. Every program must be statically linked: the guest
# has no shared libraries.
set -euo pipefail
out=${1:?usage: mkinitramfs.sh OUT.cpio.gz SRC:DEST...}
shift
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-$(command -v busybox || true)}

is_static() {
	# A dynamically linked ELF has a program interpreter.
	! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}
if [ -z "$busybox" ] || ! is_static "$busybox"; then
	echo "mkinitramfs.sh: need a static busybox (Debian: apt-get install busybox-static)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,out,etc}
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$here/guest/init" "$root/init"
for pair in "$@"; do
	src=${pair%%:*}
	dest=${pair#*:}
	if [ ! -f "$src" ]; then
		echo "mkinitramfs.sh: $src: no such file" >&2
		exit 1
	fi
	if [ -x "$src" ] && ! is_static "$src"; then
		echo "mkinitramfs.sh: $src: not statically linked" >&2
		exit 1
	fi
	mkdir -p "$root/$(dirname "$dest")"
	cp "$src" "$root/$dest"
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
