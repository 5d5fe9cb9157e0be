#!/usr/bin/env bash
# The Wireshark plugin (share/wireshark/conntrail.lua) and profile, with
# tshark: every frame has conntrail.comm and conntrail.result, UNIX frames
# conntrail.path, the fields equal script --json, failures grouped by error
# in `tshark -z expert`, replies marked synthesized, the profile's columns
# and colours; every file strictly time-ordered (replies, merged hosts).
source tests/lib.sh

command -v tshark >/dev/null || { fail "tshark not installed"; done_testing; }
LUA=$PWD/share/wireshark/conntrail.lua
# A home of our own: no personal profile or plugin changes what we see.
export HOME=$TMP/home
mkdir -p "$HOME"
tp() { tshark -X lua_script:"$LUA" "$@" 2>/dev/null; }

"$GEN" -n 3000 --seed 19 --profile mixed --start 2026-01-15T09:00:00Z -o "$TMP/a.ctr" ||
	{ fail "conntrail-gen"; done_testing; }
"$GEN" -n 800 --seed 20 --profile mixed --start 2026-01-15T09:00:00Z -o "$TMP/b.ctr" ||
	fail "conntrail-gen second host"
check "convert" "$CONNTRAIL" convert -q "$TMP/a.ctr" -o "$TMP/a.pcapng"
check "convert --replies" "$CONNTRAIL" convert -q --replies "$TMP/a.ctr" -o "$TMP/r.pcapng"
check "convert --replies, two inputs" "$CONNTRAIL" convert -q --replies "$TMP/a.ctr" "$TMP/b.ctr" \
	-o "$TMP/m.pcapng"
check "convert samples/outcomes.ctr --replies" "$CONNTRAIL" convert -q --replies \
	samples/outcomes.ctr -o "$TMP/o.pcapng"
check "convert samples/small.ctr" "$CONNTRAIL" convert -q samples/small.ctr -o "$TMP/s.pcapng"

script_n() { "$CONNTRAIL" script "$TMP/a.ctr" --filter "$1" | grep -vc "^#"; }
events=$("$CONNTRAIL" script "$TMP/a.ctr" | grep -vc "^#")

# The plugin loads without errors (tshark would print them on stderr).
err=$(tshark -X lua_script:"$LUA" -r "$TMP/o.pcapng" 2>&1 >/dev/null | grep -v 'Running as user')
expect_eq "plugin loads and runs without Lua errors" "" "$err"

for f in a r m o s; do
	n=$(tp -r "$TMP/$f.pcapng" | wc -l)
	expect_eq "$f: every frame has conntrail.comm and conntrail.result" "$n" \
		"$(tp -r "$TMP/$f.pcapng" -Y 'conntrail.comm && conntrail.result' | wc -l)"
	expect_eq "$f: UNIX frames all have conntrail.path" \
		"$(tp -r "$TMP/$f.pcapng" -Y 'eth.type == 0x88b5 && conntrail.family == "AF_UNIX"' | wc -l)" \
		"$(tp -r "$TMP/$f.pcapng" -Y 'eth.type == 0x88b5 && conntrail.path' | wc -l)"
	capinfos -o "$TMP/$f.pcapng" 2>/dev/null | grep -q "Strict time order: *True" ||
		fail "$f.pcapng is not strictly time-ordered"
	expect_eq "$f: no malformed frames" "0" "$(tp -r "$TMP/$f.pcapng" -Y '_ws.malformed || _ws.expert.severity == error' | wc -l)"
done
n=$(script_n 'family == unix')
[ "$n" -gt 0 ] || fail "no UNIX connects generated"
expect_eq "UNIX frames: Protocol UNIX" "$n" \
	"$(tp -r "$TMP/a.pcapng" -T fields -e _ws.col.Protocol | grep -cx UNIX)"

# Fields equal what script --json says, frame by frame (same order).
"$CONNTRAIL" script --json "$TMP/a.ctr" |
	jq -r '[.comm, .pid, .tid, .outcome, (.ret // "" | tostring), (.path // ""), (.exe // ""), (.latency_ns // "" | tostring), (.container // "")] | @tsv' >"$TMP/want.tsv"
tp -r "$TMP/a.pcapng" -T fields -e conntrail.comm -e conntrail.pid -e conntrail.tid \
	-e conntrail.result -e conntrail.ret_code -e conntrail.path -e conntrail.exe \
	-e conntrail.latency_ns -e conntrail.container >"$TMP/got.tsv"
# tshark prints some bytes of a string field escaped: compare the rows
# without a backslash (almost all of them; at least 2500).
expect_eq "rows compared" "$(wc -l <"$TMP/want.tsv")" "$(wc -l <"$TMP/got.tsv")"
rows=$(paste "$TMP/want.tsv" "$TMP/got.tsv" | awk -F'\t' 'NF==18' | LC_ALL=C grep -vc '\\')
[ "$rows" -ge 2500 ] || fail "only $rows rows to compare"
check "plugin fields == script --json (plain rows)" cmp -s <(paste "$TMP/want.tsv" "$TMP/got.tsv" | awk -F'\t' 'NF==18' | LC_ALL=C grep -v '\\' | cut -f1-9) \
	<(paste "$TMP/want.tsv" "$TMP/got.tsv" | awk -F'\t' 'NF==18' | LC_ALL=C grep -v '\\' | cut -f10-18)
expect_eq "conntrail.result == ECONNREFUSED" "$(script_n 'result == ECONNREFUSED')" \
	"$(tp -r "$TMP/a.pcapng" -Y 'conntrail.result == "ECONNREFUSED"' | wc -l)"
expect_eq "conntrail.failed == 1 is a failed final outcome" \
	"$(script_n 'not result == 0 and not result == abandoned and not result == unknown')" \
	"$(tp -r "$TMP/a.pcapng" -Y 'conntrail.failed == 1' | wc -l)"
expect_eq "conntrail.ret EINPROGRESS" "$(script_n 'ret == EINPROGRESS')" \
	"$(tp -r "$TMP/a.pcapng" -Y 'conntrail.ret == "EINPROGRESS"' | wc -l)"
n=$(script_n 'proto == tcp and result == ok and ret == EINPROGRESS')
expect_eq "conntrail.result_ns on handshakes that ended later" "$n" \
	"$(tp -r "$TMP/a.pcapng" -Y 'conntrail.result == "ok" && conntrail.ret == "EINPROGRESS" && conntrail.result_ns' | wc -l)"
n=$("$CONNTRAIL" script --json "$TMP/a.ctr" | jq -s '[.[] | select(.tx_bytes != null)] | length')
expect_eq "conntrail.tx_bytes where the connection closed" "$n" \
	"$(tp -r "$TMP/a.pcapng" -Y 'conntrail.tx_bytes' | wc -l)"
# 64-bit exactness: the largest closed_ns survives as an integer.
big=$("$CONNTRAIL" script --json "$TMP/a.ctr" | jq -r '.closed_ns // empty' | sort -n | tail -1)
[ -n "$big" ] && expect_eq "conntrail.closed_ns == $big exactly" "1" \
	"$(tp -r "$TMP/a.pcapng" -Y "conntrail.closed_ns == $big" | wc -l)"

# The Info column starts with the process and the final outcome.
first=$("$CONNTRAIL" script --json "$TMP/a.ctr" | head -1)
info=$(tp -r "$TMP/a.pcapng" -c 1 -T fields -e _ws.col.Info)
case "$info" in
"[$(jq -r .comm <<<"$first")/$(jq -r .pid <<<"$first") $(jq -r .outcome <<<"$first")] "*) ;;
*) fail "Info column '$info' does not start with [comm/pid outcome]" ;;
esac

# Expert information: one warning summary per error, counted.
tp -q -r "$TMP/a.pcapng" -z expert,warn >"$TMP/expert.txt"
for e in ECONNREFUSED ETIMEDOUT EACCES ENETUNREACH; do
	n=$(script_n "not family == unix and result == $e")
	nu=$(script_n "family == unix and result == $e")
	n=$((n + nu))
	[ "$n" -gt 0 ] || continue
	expect_eq "tshark -z expert: 'Connect failed: $e' x $n" "$n" \
		"$(awk -v e="Connect failed: $e" '$0 ~ e"$" && $3 == "CONNTRAIL" {print $1}' "$TMP/expert.txt")"
done
expect_eq "-z expert: failures summed" "$(tp -r "$TMP/a.pcapng" -Y 'conntrail.failed == 1' | wc -l)" \
	"$(awk '/Connect failed: / {s += $1} END {print s + 0}' "$TMP/expert.txt")"

# --replies: each reply marked synthesized, the connect not; no ICMP for an
# error connect(2) returned itself.
nrep=$(tshark -r "$TMP/r.pcapng" -Y 'eth.src == 02:00:00:00:00:02' 2>/dev/null | wc -l)
[ "$nrep" -gt 0 ] || fail "no replies"
expect_eq "replies: conntrail.synthesized == 1" "$nrep" \
	"$(tp -r "$TMP/r.pcapng" -Y 'conntrail.synthesized == 1' | wc -l)"
expect_eq "connects: conntrail.synthesized == 0" "$events" \
	"$(tp -r "$TMP/r.pcapng" -Y 'conntrail.synthesized == 0' | wc -l)"
expect_eq "no ICMP reply for a local error" "0" \
	"$(tp -r "$TMP/r.pcapng" -Y '(icmp || icmpv6) && conntrail.synthesized == 1 && !(conntrail.result == "EHOSTUNREACH" || conntrail.result == "ENETUNREACH")' | wc -l)"
[ "$(script_n 'proto == tcp and ret == ENETUNREACH')" -gt 0 ] || fail "no local ENETUNREACH generated"
expect_eq "local ENETUNREACH: no reply" "$(script_n 'ret == EINPROGRESS and result == ENETUNREACH')" \
	"$(tp -r "$TMP/r.pcapng" -Y 'conntrail.result == "ENETUNREACH" && conntrail.synthesized == 1' | wc -l)"
expect_eq "EACCES, EPERM, ETIMEDOUT, abandoned: no reply" "0" \
	"$(tp -r "$TMP/r.pcapng" -Y 'conntrail.synthesized == 1 && conntrail.result in {"EACCES" "EPERM" "ETIMEDOUT" "abandoned" "unknown"}' | wc -l)"
expect_eq "ICMP replies only for handshakes that failed so later" \
	"$(script_n 'proto == tcp and ret == EINPROGRESS and (result == EHOSTUNREACH or result == ENETUNREACH)')" \
	"$(tp -r "$TMP/r.pcapng" -Y '(icmp.type == 3 || icmpv6.type == 1) && conntrail.synthesized == 1' | wc -l)"

# Merged inputs (time order and names checked above): every connect there.
expect_eq "merged: connects of both inputs" "$((events + 800))" \
	"$(tp -r "$TMP/m.pcapng" -Y 'conntrail.synthesized == 0' | wc -l)"

# The profile: its columns and colouring rules, read by tshark.
mkdir -p "$HOME/.config/wireshark/profiles"
cp -r share/wireshark/profile "$HOME/.config/wireshark/profiles/conntrail"
row=$(tp -C conntrail -r "$TMP/o.pcapng" -T tabs -c 3 | tail -1)
case "$row" in
*"connector"*"15354"*"ECONNREFUSED"*) ;;
*) fail "profile columns (process, PID, result) missing: $row" ;;
esac
colors=$(tp -C conntrail --color -r "$TMP/o.pcapng" -T fields -e frame.number -e frame.coloring_rule.name)
grep -q $'^3\tconntrail: connect failed$' <<<"$colors" || fail "refused connect not coloured as failed"
grep -q $'^4\tconntrail: synthesized reply$' <<<"$colors" || fail "reply not coloured as synthesized"
grep -q $'^8\tconntrail: UNIX connect$' <<<"$colors" || fail "UNIX connect not coloured"

# The file comment names the converting command quoted as a shell needs
# it: the words read back by a shell are the words given.
check "convert with quoted arguments" "$CONNTRAIL" convert -q \
	--filter "comm != \"it's\" && dport != 1" -o "$TMP/q.pcapng" "$TMP/a.ctr"
shb=$(capinfos -k "$TMP/q.pcapng" 2>/dev/null | sed -n 's/.*converted by: //p')
expect_eq "converted-by line splits back into the arguments given" \
	"$(printf '%s\n' convert -q --filter "comm != \"it's\" && dport != 1" -o "$TMP/q.pcapng" "$TMP/a.ctr")" \
	"$(eval "set -- $shb" && shift && printf '%s\n' "$@")"

# Installed where Wireshark looks (a personal plugin folder here): loaded
# without -X.
make -s install-wireshark DESTDIR= WIRESHARK_LUA_DIR="$HOME/.local/lib/wireshark/plugins" \
	WIRESHARK_PROFILE_DIR="$HOME/.config/wireshark/profiles/conntrail2" >/dev/null 2>&1 ||
	fail "make install-wireshark"
expect_eq "installed plugin loads without -X" "$(tshark -r "$TMP/o.pcapng" 2>/dev/null | wc -l)" \
	"$(tshark -r "$TMP/o.pcapng" -Y conntrail.comm 2>/dev/null | wc -l)"
[ -f "$HOME/.config/wireshark/profiles/conntrail2/colorfilters" ] || fail "profile not installed"

done_testing
