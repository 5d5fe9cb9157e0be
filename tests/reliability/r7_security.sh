#!/usr/bin/env bash
# R7 (security): traces are 0600 even under umask 000; record never changes
# a connect's verdict (allowed, refused, and denied by a cgroup/connect4 BPF
# program of our own stay so, with the same errno); record refuses to write
# through a symlink planted in a world-writable directory.
source tests/lib.sh
source tests/reliability/common.sh
need_root RS
need_file RS "$REL_LOAD"
d=$TMP/sec
mkdir -p "$d"
# The cgroup v2 hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid setups.
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
cg=${cg2:-/sys/fs/cgroup}/ct-rel-$$
bpffs=$TMP/bpffs
victim=/etc/ct-rel-victim.$$
newvictim=/etc/ct-rel-created.$$
ww=/tmp/ct-rel-ww.$$
lpid=""
cleanup() {
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null
	if [ -d "$cg" ]; then
		bpftool cgroup detach "$cg" connect4 pinned "$bpffs/deny" 2>/dev/null
		rmdir "$cg" 2>/dev/null
	fi
	umount "$bpffs" 2>/dev/null
	rm -rf "$TMP" "$ww" "$victim" "$newvictim"
}
trap cleanup EXIT
trap 'exit 1' TERM INT # run the EXIT trap when timed out too

# ---- 0600 under umask 000: -o FILE, the default conntrail.data, its .old
modes=()
(umask 000 && "$CONNTRAIL" record -q -o "$d/u.ctr" --duration 1) 2>"$d/u.err" ||
	fail "record -o under umask 000: $(head -c 200 "$d/u.err")"
mkdir -p "$d/cwd"
(cd "$d/cwd" && umask 000 && "$CONNTRAIL" record -q --duration 1 &&
	"$CONNTRAIL" record -q --duration 1) 2>"$d/def.err" ||
	fail "record (default output) under umask 000: $(head -c 200 "$d/def.err")"
for f in "$d/u.ctr" "$d/cwd/conntrail.data" "$d/cwd/conntrail.data.old"; do
	m=$(stat -c %a "$f" 2>/dev/null || echo absent)
	modes+=("$(basename "$f")=$m")
	expect_eq "mode of $f under umask 000" 600 "$m"
done

# ---- verdicts unchanged
verdicts="not run"
if clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
	-c "$REL_DIR/deny_connect4.bpf.c" -o "$TMP/deny.o" 2>"$TMP/clang.err" &&
	mkdir -p "$bpffs" && mount -t bpf ct-rel-bpffs "$bpffs" &&
	bpftool prog load "$TMP/deny.o" "$bpffs/deny" type cgroup/connect4 &&
	mkdir "$cg" && bpftool cgroup attach "$cg" connect4 pinned "$bpffs/deny"; then
	"$REL_LOAD" listen "$TMP/port" &
	lpid=$!
	for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
	port=$(cat "$TMP/port")
	# In the cgroup: allowed (listener), refused (port 1), denied (port 7).
	probe="echo \$\$ > $cg/cgroup.procs &&
		$REL_LOAD connect tcp 127.0.0.1 $port && $REL_LOAD connect tcp 127.0.0.1 1 &&
		$REL_LOAD connect tcp 127.0.0.1 7 && $REL_LOAD connect udp 127.0.0.1 7 &&
		$REL_LOAD connect udp 127.0.0.1 9"
	sh -c "$probe" >"$TMP/without" 2>&1
	expect_eq "verdicts without record" "ok ECONNREFUSED EPERM EPERM ok" "$(tr '\n' ' ' <"$TMP/without" | sed 's/ $//')"
	st=0
	"$CONNTRAIL" record -q -o "$d/v.ctr" -- sh -c "$probe" >"$TMP/with" 2>"$TMP/with.err" || st=$?
	expect_eq "record -- probe exit status" 0 "$st"
	without=$(tr '\n' ' ' <"$TMP/without" | sed 's/ $//')
	with=$(tr '\n' ' ' <"$TMP/with" | sed 's/ $//')
	expect_eq "verdicts while recording" "$without" "$with"
	verdicts="$with"
	# And the trace saw the denied connects with their EPERM.
	denied=$("$CONNTRAIL" script --json "$d/v.ctr" 2>/dev/null |
		jq -c 'select(.dport == 7) | .ret' | tr '\n' ' ' | sed 's/ $//')
	expect_eq "ret of the denied connects in the trace" "-1 -1" "$denied"
else
	fail "cannot set up the cgroup/connect4 deny program: $(head -c 200 "$TMP/clang.err")"
fi

# ---- symlinks planted in a world-writable directory
mkdir -p "$ww" && chmod 1777 "$ww"
printf 'victim\n' >"$victim" && chmod 0644 "$victim"
before=$(stat -c '%s %a %Y' "$victim")$(sha256sum <"$victim")
sym_ok=0
sym_runs=0
# try NAME LINK: record -o LINK must fail, one line naming LINK.
try_link() {
	local name=$1 link=$2 st=0
	sym_runs=$((sym_runs + 1))
	"$CONNTRAIL" record -q -o "$link" --duration 1 >/dev/null 2>"$TMP/sym.err" || st=$?
	local lines
	lines=$(grep -c . "$TMP/sym.err")
	if [ "$st" -ne 1 ]; then
		fail "$name: record exit status $st, expected 1"
	elif [ "$lines" -ne 1 ] || ! grep -q -F "$link" "$TMP/sym.err"; then
		fail "$name: expected one line naming $link, got: $(head -c 300 "$TMP/sym.err")"
	else
		sym_ok=$((sym_ok + 1))
	fi
	[ -L "$link" ] || fail "$name: the planted link was removed or replaced"
}
ln -s "$victim" "$ww/root-link.ctr"
try_link "root's link to a file" "$ww/root-link.ctr"
setpriv --reuid=65534 --regid=65534 --clear-groups ln -s "$victim" "$ww/nobody-link.ctr"
try_link "another user's link to a file" "$ww/nobody-link.ctr"
setpriv --reuid=65534 --regid=65534 --clear-groups ln -s "$newvictim" "$ww/dangling.ctr"
try_link "a dangling link" "$ww/dangling.ctr"
[ -e "$newvictim" ] && fail "record created the target of a dangling link ($newvictim)"
# The default output name in a world-writable cwd: may move the link away
# (perf's .old) but must never write through it.
setpriv --reuid=65534 --regid=65534 --clear-groups ln -s "$victim" "$ww/conntrail.data"
(cd "$ww" && "$CONNTRAIL" record -q --duration 1) >/dev/null 2>&1
after=$(stat -c '%s %a %Y' "$victim")$(sha256sum <"$victim")
expect_eq "victim file after every symlink attempt" "$before" "$after"

echo "RS security: modes ${modes[*]}; verdicts '$verdicts' unchanged; symlinks refused $sym_ok/$sym_runs, victim untouched"
done_testing
