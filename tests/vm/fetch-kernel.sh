#!/usr/bin/env bash
# fetch-kernel.sh SUITE: print the path of a cached Debian cloud kernel
# (vmlinuz) for SUITE (bookworm = Debian 12, trixie = Debian 13), downloading
# it on first use with apt-get download + dpkg -x (nothing is installed on the
# host). Cache: tests/vm/cache/SUITE/. CONNTRAIL_VM_REFRESH=1 fetches again.
# The mirror is taken from the host's own apt configuration; for a suite other
# than the host's, apt runs on a private sources list and state directory so
# the host's apt is left untouched.
set -euo pipefail
suite=${1:?usage: fetch-kernel.sh bookworm|trixie}
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/cache/$suite
mkdir -p "$cache"

if [ "${CONNTRAIL_VM_REFRESH:-0}" != 1 ] && [ -s "$cache/vmlinuz" ]; then
	echo "$cache/vmlinuz"
	exit 0
fi

host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
apt_opts=(-q -o APT::Sandbox::User=root)
if [ "$suite" != "$host_suite" ]; then
	# The first Debian mirror the host's apt uses, for the main and security archives.
	mirror=$(grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		awk '{print $2}' | sed 's:/*$::' | head -n1 || true)
	security=$(grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian-security/?([[:space:]]|$)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		awk '{print $2}' | sed 's:/*$::' | head -n1 || true)
	if [ -z "$mirror" ]; then
		echo "fetch-kernel.sh: no Debian mirror found in /etc/apt/sources.list*" >&2
		exit 1
	fi
	state=$cache/apt
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite-updates main"
		[ -n "$security" ] &&
			echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $security $suite-security main"
	} >"$state/sources.list"
	apt_opts+=(-o "Dir::Etc::sourcelist=$state/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
		-o Dir::State::status=/dev/null)
	apt-get "${apt_opts[@]}" update >&2
fi

# The cloud metapackage depends on the current versioned kernel package.
resolve() {
	apt-cache "${apt_opts[@]}" depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}'
}
pkg=$(resolve)
if [ -z "$pkg" ] && [ "$suite" = "$host_suite" ]; then
	apt-get "${apt_opts[@]}" update >&2 # a fresh machine may have no package lists
	pkg=$(resolve)
fi
if [ -z "$pkg" ]; then
	echo "fetch-kernel.sh: cannot resolve linux-image-cloud-amd64 for $suite" >&2
	exit 1
fi
work=$(mktemp -d "$cache/dl.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get "${apt_opts[@]}" download "$pkg" >&2)
dpkg -x "$work"/"$pkg"_*.deb "$work/root"
release=${pkg#linux-image-}
# Modules for the guest's disks live beside the kernel; keep the whole tree
# (the initramfs builder picks what it needs).
rm -rf "$cache/modules"
mv "$work/root/lib/modules/$release" "$cache/modules" 2>/dev/null ||
	mv "$work/root/usr/lib/modules/$release" "$cache/modules" 2>/dev/null || true
cp "$work/root/boot/config-$release" "$cache/config"
cp "$work/root/boot/vmlinuz-$release" "$cache/vmlinuz.tmp"
echo "$release" >"$cache/release"
mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
echo "$cache/vmlinuz"
