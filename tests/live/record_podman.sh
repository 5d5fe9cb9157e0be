#!/usr/bin/env bash
# A real container: podman (rootful, runc, no network) runs a static
# connstorm from a local image made here (no registry), while record traces
# the whole system; its connects must carry the container's id, the name
# podman gave it and the image, in script --json, report --by container and
# the filter fields. Skips (exit 77, one line) when podman or runc is not
# installed or cannot run a container here. (runc, not crun: crun refuses this
# machine's hybrid cgroup layout.)
. tests/lib.sh
STORM_SRC=$PWD/tests/helpers/connstorm.c
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	echo "SKIP: podman and runc are not both installed"
	exit 77
fi
tag=localhost/conntrail-test-storm:$$
name=ct-test-$$
port=$((30000 + $$ % 20000))
pm() { timeout 120 podman --runtime runc "$@"; }
rec=
cleanup() {
	[ -n "$rec" ] && kill "$rec" 2>/dev/null
	pm rm -f "$name" >/dev/null 2>&1
	pm rmi -f "$tag" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP"
mkdir img
cc -O2 -static -o img/connstorm "$STORM_SRC" -lpthread || { fail "static connstorm"; done_testing; }
tar -C img -c . | pm import - "$tag" >/dev/null 2>&1 || { fail "podman import"; done_testing; }
run=(run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name "$name"
	"$tag" /connstorm 2 --seq "$port")
if ! pm "${run[@]}" >probe.out 2>&1; then
	echo "SKIP: podman cannot run a container here: $(tail -n 1 probe.out)"
	exit 77
fi
pm rm -f "$name" >/dev/null 2>&1

# Whole system: the container's process is conmon's child, not ours.
"$CONNTRAIL" record -q --duration 60 -o t.ctr 2>rec.err &
rec=$!
wait_until 30 test -s t.ctr || fail "record started"
pm "${run[@]}" >run.out 2>&1 || fail "podman run: $(tail -n 1 run.out)"
id=$(pm inspect --format '{{.Id}}' "$name")
kill -INT "$rec"
wait "$rec"
expect_eq "record exit status" 0 $?
rec=

f="dport == $port or dport == $((port + 1))"
"$CONNTRAIL" script -q --json --filter "$f" t.ctr >s.jsonl
expect_eq "both connects, with the container's id, name and image" \
	"$id|$name|$tag $id|$name|$tag" \
	"$(jq -r '[.container, .container_name, .image] | join("|")' s.jsonl | xargs)"
"$CONNTRAIL" report -q --by container --filter "$f" t.ctr >r.txt
grep -qF "$id name=$name image=$tag" r.txt || fail "report --by container: $(grep -F "$id" r.txt)"
expect_eq "filter container_name" 2 \
	"$("$CONNTRAIL" script -q --filter "container_name == \"$name\"" t.ctr | grep -vc '^#')"
done_testing
