# tests/lib.sh: sourced by the shell tests. Each test script is one test file:
# it exits 0 when every check passed; `check` and `fail` report one line each.
set -u
: "${BUILD:=build}"
CONNTRAIL=${CONNTRAIL:-$PWD/$BUILD/conntrail}
GEN=${GEN:-$PWD/$BUILD/conntrail-gen}
SAMPLES=$PWD/samples
T_FAILS=0
T_CHECKS=0
TMP=$(mktemp -d /tmp/ct-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "  FAIL: $*" >&2
	T_FAILS=$((T_FAILS + 1))
}
# check DESCRIPTION COMMAND...: run the command; a non-zero status is a failure.
check() {
	local what=$1
	shift
	T_CHECKS=$((T_CHECKS + 1))
	if ! "$@"; then
		fail "$what"
	fi
}
# netns_pair A B NET IF: network namespaces A and B joined by a veth pair
# (IFa in A at NET.2/24, IFb in B at NET.1/24; NET the first three
# octets), every link up. The caller deletes the namespaces.
netns_pair() {
	ip netns add "$1" && ip netns add "$2" &&
		ip link add "${4}a" type veth peer name "${4}b" &&
		ip link set "${4}a" netns "$1" && ip link set "${4}b" netns "$2" &&
		ip -n "$1" link set lo up && ip -n "$2" link set lo up &&
		ip -n "$1" addr add "$3.2/24" dev "${4}a" && ip -n "$1" link set "${4}a" up &&
		ip -n "$2" addr add "$3.1/24" dev "${4}b" && ip -n "$2" link set "${4}b" up
}
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	T_CHECKS=$((T_CHECKS + 1))
	if [ "$2" != "$3" ]; then
		fail "$1: expected '$2', got '$3'"
	fi
}
# expect_status DESCRIPTION STATUS COMMAND...: exact exit status.
expect_status() {
	local what=$1 want=$2 got=0
	shift 2
	T_CHECKS=$((T_CHECKS + 1))
	"$@" >/dev/null 2>"$TMP/.stderr" || got=$?
	if [ "$got" != "$want" ]; then
		fail "$what: exit status $got, expected $want ($(head -c 300 "$TMP/.stderr"))"
	fi
}
done_testing() {
	if [ "$T_CHECKS" -eq 0 ]; then
		echo "  FAIL: no checks ran" >&2
		exit 1
	fi
	[ "$T_FAILS" -eq 0 ] || exit 1
	exit 0
}
# wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds;
# status 1 when it never did. A guard against a hang, not a timing check:
# SECONDS is far beyond what the awaited step needs.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# check_filter_cases CASES JSONL TRACE..: every "name|expr|predicate" line of
# CASES counts as many events through script --filter and report --filter
# over TRACE.. as the Python predicate accepts of JSONL (their script
# --json); some cases must differ, so that they are not all empty.
check_filter_cases() {
	local cases=$1 jsonl=$2 name expr pred want got i=0
	shift 2
	python3 tests/helpers/filter_want.py "$jsonl" "$cases" >"$TMP/want" ||
		{ fail "filter_want.py"; return; }
	while IFS='|' read -r name expr pred; do
		i=$((i + 1))
		want=$(sed -n "${i}p" "$TMP/want")
		got=$("$CONNTRAIL" script -q --filter "$expr" "$@" | grep -vc "^#")
		expect_eq "filter $name ($expr)" "$want" "$got"
		# report counts the same through its own (batch) path
		got=$("$CONNTRAIL" report -q --json --filter "$expr" "$@" | jq .events)
		expect_eq "report filter $name" "$want" "$got"
	done <"$cases"
	check "cases count differently (not all empty)" test "$(sort -u "$TMP/want" | wc -l)" -gt 5
}
