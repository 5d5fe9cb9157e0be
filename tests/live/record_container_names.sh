#!/usr/bin/env bash
# Container names from the runtimes' files: in a private mount namespace
# (tmpfs over /var/lib and /run, so the host's runtimes are neither seen nor
# touched), fabricated state for Docker, containerd (CRI), CRI-O and podman,
# one process in each container's cgroup v2 directory (named as each runtime
# names it) making one connect, and one outside any container. Every output
# (script text and JSON, report --by container text and JSON, CSV through
# python's csv, JSON lines and Tracee JSON through jq, the filter fields)
# must show each connect's container name, image, pod and namespace, and
# none for the process outside. Hostile files (over the size cap, cut JSON,
# control characters, a FIFO) leave record running and the trace readable.
. tests/lib.sh
STORM=$PWD/$BUILD/tests/connstorm
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
newid() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# docker containerd crio podman huge cut ctrl fifo
names=(docker containerd crio podman huge cut ctrl fifo)
prefix=(docker- cri-containerd- crio- libpod- docker- docker- docker- docker-)
declare -A ID
for n in "${names[@]}"; do ID[$n]=$(newid); done
cgs=()
cleanup() {
	for c in "${cgs[@]}"; do rmdir "$c" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
if [ -z "$cg2" ]; then
	fail "no cgroup v2 hierarchy to test with"
	done_testing
fi
for i in "${!names[@]}"; do
	c=$cg2/${prefix[$i]}${ID[${names[$i]}]}.scope
	mkdir "$c" || { fail "cannot make $c"; done_testing; }
	cgs+=("$c")
done
cd "$TMP"

# The state the runtimes would have written; then record, all inside the
# private mount namespace.
cat >inside.sh <<'EOF'
set -e
mount -t tmpfs -o mode=0755 ct-test /var/lib
mount -t tmpfs -o mode=0755 ct-test /run
d=/var/lib/docker/containers
put() { mkdir -p "$(dirname "$1")"; cat >"$1"; }
put $d/$ID_docker/config.v2.json <<J
{"ID":"$ID_docker","Image":"sha256:0f","Name":"/web-docker","Config":{"Hostname":"x",
 "Env":["A={"],"Image":"nginx:1.27","Labels":{"com.example":"1"}},"State":{"Running":true}}
J
put /run/containerd/io.containerd.runtime.v2.task/k8s.io/$ID_containerd/config.json <<J
{"ociVersion":"1.1.0","process":{"args":["/api"]},"annotations":{
 "io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"api",
 "io.kubernetes.cri.image-name":"docker.io/library/api:2",
 "io.kubernetes.cri.sandbox-name":"api-5d9f","io.kubernetes.cri.sandbox-namespace":"prod"}}
J
put /run/containers/storage/overlay-containers/$ID_crio/userdata/config.json <<J
{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri-o.ContainerName":"k8s_db_db-0_data_u_0",
 "io.kubernetes.cri-o.ImageName":"quay.io/db:15","io.kubernetes.container.name":"db",
 "io.kubernetes.pod.name":"db-0","io.kubernetes.pod.namespace":"data"}}
J
s=/var/lib/containers/storage/overlay-containers
put $s/$ID_podman/userdata/config.json <<J
{"ociVersion":"1.2.0","annotations":{"io.container.manager":"libpod",
 "org.opencontainers.image.stopSignal":"15"}}
J
put $s/containers.json <<J
[{"id":"$ID_podman","names":["cache"],"image":"0f0f","layer":"1",
  "metadata":"{\"image-name\":\"docker.io/library/redis:7\",\"name\":\"cache\",\"created-at\":1}"}]
J
# Hostile: over the 1 MiB cap; cut mid-value; control characters; a FIFO.
mkdir -p $d/$ID_huge $d/$ID_cut $d/$ID_ctrl $d/$ID_fifo
{ printf '{"Name":"/huge","Config":{"Env":["'; head -c 2000000 /dev/zero | tr '\0' x; printf '"]}}'; } \
	>$d/$ID_huge/config.v2.json
printf '{"Name":"/cut","Config":{"Image":"trunc' >$d/$ID_cut/config.v2.json
printf '{"Name":"/bad\\u001b[31m\\nname\x01\xff","Config":{"Image":"i"}}' >$d/$ID_ctrl/config.v2.json
mkfifo $d/$ID_fifo/config.v2.json
run=""
port=8301
for n in docker containerd crio podman huge cut ctrl fifo; do
	eval "id=\$ID_$n pre=\$PRE_$n"
	run="$run sh -c 'echo \$\$ >\"$CG2/$pre$id.scope/cgroup.procs\" && exec \"$STORM\" 1 --seq $port' >/dev/null;"
	port=$((port + 1))
done
"$CONNTRAIL" record -q -o t.ctr -- sh -c "$run '$STORM' 1 --seq 8399 >/dev/null"
EOF
env_args=(CONNTRAIL="$CONNTRAIL" STORM="$STORM" CG2="$cg2")
for i in "${!names[@]}"; do
	env_args+=("ID_${names[$i]}=${ID[${names[$i]}]}" "PRE_${names[$i]}=${prefix[$i]}")
done
env "${env_args[@]}" timeout 120 unshare -m --propagation private bash inside.sh
expect_eq "record in the private namespace exits 0" 0 $?

# port -> want: container_name|image|pod|k8s_namespace
want() {
	case $1 in
	8301) echo "web-docker|nginx:1.27||" ;;
	8302) echo "api|docker.io/library/api:2|api-5d9f|prod" ;;
	8303) echo "db|quay.io/db:15|db-0|data" ;;
	8304) echo "cache|docker.io/library/redis:7||" ;;
	8305) echo "|||" ;;
	8306) echo "cut|||" ;;
	8307) echo "bad?[31m?name??|i||" ;;
	8308) echo "|||" ;;
	8399) echo "|||" ;;
	esac
}
ports="8301 8302 8303 8304 8305 8306 8307 8308 8399"
idof() { case $1 in 8399) echo "" ;; *) i=$(($1 - 8301)); echo "${ID[${names[$i]}]}" ;; esac; }

"$CONNTRAIL" script -q --json t.ctr >s.jsonl || fail "script --json reads the trace"
"$CONNTRAIL" convert -q t.ctr -o c.jsonl || fail "convert to jsonl"
"$CONNTRAIL" convert -q t.ctr -o t.csv || fail "convert to csv"
"$CONNTRAIL" convert -q t.ctr --to tracee-json -o tr.json || fail "convert to tracee-json"
"$CONNTRAIL" script -q t.ctr >s.txt || fail "script text"
"$CONNTRAIL" convert -q t.ctr -o t.pcapng || fail "convert to pcapng"
"$CONNTRAIL" report -q --by container t.ctr >r.txt || fail "report --by container"
"$CONNTRAIL" report -q --by container --json t.ctr >r.json || fail "report --by container --json"
jqw='select(.dport == ($p | tonumber)) | [.container // "", .container_name // "",
	.image // "", .pod // "", .k8s_namespace // ""] | join("|")'
for p in $ports; do
	w="$(idof "$p")|$(want "$p")"
	expect_eq "script --json, port $p" "$w" "$(jq -r --arg p "$p" "$jqw" s.jsonl)"
	expect_eq "jsonl, port $p" "$w" "$(jq -r --arg p "$p" "$jqw" c.jsonl)"
	got=$(python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["dport"] == sys.argv[2]:
        print("|".join(r[k] for k in ("container", "container_name", "image", "pod", "k8s_namespace")))
' t.csv "$p")
	expect_eq "csv, port $p" "$w" "$got"
	got=$(jq -r --arg p "$p" 'select(.args[] | select(.name == "remote_addr") |
		.value.sin_port == $p) | [.containerId, .container.name // "", .container.image // "",
		.kubernetes.podName // "", .kubernetes.podNamespace // ""] | join("|")' tr.json)
	expect_eq "tracee-json, port $p" "$w" "$got"
	# pcapng, read by tshark: the packet comment names the container.
	cname=$(want "$p" | cut -d'|' -f1)
	got=$(tshark -r t.pcapng -Y "udp.dstport == $p or tcp.dstport == $p" -T fields \
		-e frame.comment 2>/dev/null | grep -o 'container_name=[^ ,]*' | head -n 1)
	case $p in
	830[1-4]) expect_eq "pcapng comment, port $p" "container_name=$cname" "$got" ;;
	8305 | 8399) expect_eq "pcapng comment, port $p: no name" "" "$got" ;;
	esac
	# script text: "  container NAME" ends the line when the name is known
	line=$(grep -E ":$p( |$)" s.txt)
	name=$(want "$p" | cut -d'|' -f1)
	if [ -n "$name" ]; then
		case $line in *"  container $name") ;; *) fail "script text, port $p: '$line'" ;; esac
	else
		case $line in *"  container "*) fail "script text names a container, port $p" ;; esac
	fi
	T_CHECKS=$((T_CHECKS + 1))
done
# report --by container: the id with its names
for p in 8301 8302 8303 8304; do
	IFS='|' read -r n im pod ns <<<"$(want "$p")"
	row="$(idof "$p") name=$n image=$im${pod:+ pod=$ns/$pod}"
	grep -qF -- "$row" r.txt || fail "report --by container text shows '$row'"
	got=$(jq -r --arg id "$(idof "$p")" '.processes[] | select(.container == $id) |
		[.container_name, .image, .pod // "", .k8s_namespace // ""] | join("|")' r.json)
	expect_eq "report --by container --json, port $p" "$(want "$p")" "$got"
done
# Filters, on script and report alike.
count() { "$CONNTRAIL" script -q --filter "$1" t.ctr | grep -vc "^#"; }
expect_eq "filter pod" 1 "$(count 'pod == "api-5d9f"')"
expect_eq "filter image glob" 1 "$(count 'image ~ "quay.io/*"')"
expect_eq "filter k8s_namespace" 2 "$(count 'k8s_namespace == prod or k8s_namespace == data')"
expect_eq "filter container_name" 1 "$(count 'container_name == cache')"
expect_eq "filter: no name" 3 "$(count 'not container_name ~ "*"')"
expect_eq "report filter" 1 "$("$CONNTRAIL" report -q --json --filter 'container_name == web-docker' t.ctr | jq .events)"
done_testing
