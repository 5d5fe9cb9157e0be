#!/usr/bin/env bash
# Install every Debian package conntrail's build, tests, VM tests and benchmarks
# need. Idempotent: installs only what is missing. Run as root.
set -euo pipefail

pkgs=(
	make gcc libasan8 libubsan1 libtsan2 clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev libpcap-dev
	libclang-rt-14-dev pkg-config
	libncurses-dev
	tshark jq python3 iproute2 procps util-linux curl tmux
	qemu-system-x86 busybox-static cpio
	linux-perf valgrind time bc
	sysdig bpftrace
	clickhouse-server clickhouse-client
	podman runc
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages (${missing[*]}); run as root: sudo bash scripts/deps.sh" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
