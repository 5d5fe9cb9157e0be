#!/usr/bin/env bash
# Bash completion (share/bash-completion/conntrail): commands, options of
# each command, --by keys, --to formats, filter fields; `make install` puts
# it where bash-completion looks for it.
. tests/lib.sh

# complete WORDS...: what _conntrail offers for the last word, one a line.
complete_words() {
	bash -c '. share/bash-completion/conntrail
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_conntrail conntrail "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
has() { # has WORD LIST
	grep -qx -- "$1" <<<"$2"
}

check "complete registered for conntrail" bash -c \
	'. share/bash-completion/conntrail && complete -p conntrail | grep -q _conntrail'
out=$(complete_words conntrail "")
for c in record report script convert info; do
	check "command $c" has "$c" "$out"
done
expect_eq "commands starting with re" "record
report" "$(complete_words conntrail re)"
out=$(complete_words conntrail report --by "")
for k in dest process pid exe cmdline uid host container port family result; do
	check "--by $k" has "$k" "$out"
done
expect_eq "--by c" "cmdline
container" "$(complete_words conntrail report --by c)"
check "--to jsonl" has jsonl "$(complete_words conntrail convert x.ctr --to j)"
out=$(complete_words conntrail script --j)
check "script --json" has --json "$out"
check "script --lost" has --lost "$(complete_words conntrail script --l)"
check "report --since" has --since "$(complete_words conntrail report --s)"
check "info --json" has --json "$(complete_words conntrail info --)"
check "record --backend" has --backend "$(complete_words conntrail record --b)"
check "record backends" has fentry "$(complete_words conntrail record --backend "")"
# Filter fields, also after the start of an expression.
check "filter field dport" has dport "$(complete_words conntrail report --filter dp)"
check "filter field after 'and'" has "comm == x and latency" \
	"$(complete_words conntrail report --filter 'comm == x and lat')"
# Every filter field the completion offers is one the filter knows (and
# every --by key one report takes).
for f in $(complete_words conntrail report --filter ""); do
	st=0
	"$CONNTRAIL" script -q --filter "$f == 0" /dev/null 2>"$TMP/f.err" >/dev/null || st=$?
	check "field $f is known to the filter" bash -c "! grep -q 'unknown field' '$TMP/f.err'"
done
for k in $(complete_words conntrail report --by ""); do
	st=0
	"$CONNTRAIL" report -q --by "$k" /dev/null 2>"$TMP/b.err" >/dev/null || st=$?
	check "--by $k is known to report" bash -c "! grep -q 'bad --by' '$TMP/b.err'"
done
# Files: traces and directories after a command.
mkdir -p "$TMP/d/sub" && : >"$TMP/d/a.ctr" && : >"$TMP/d/notes.txt"
repo=$PWD
out=$(cd "$TMP/d" && bash -c '. '"$repo"'/share/bash-completion/conntrail
	COMP_WORDS=(conntrail report ""); COMP_CWORD=2; _conntrail
	printf "%s\n" "${COMPREPLY[@]}"')
check "trace file offered ($out)" has a.ctr "$out"
check "directory offered" has sub "$out"
check "other files not offered" bash -c "! grep -qx notes.txt <<<'$out'"

# make install puts it where bash-completion finds it.
make -s install OFFLINE="$(cat "$BUILD/.mode" 2>/dev/null || echo 0)" BUILD="$BUILD" DESTDIR="$TMP/root" PREFIX=/usr >"$TMP/install.log" 2>&1 ||
	fail "make install: $(tail -3 "$TMP/install.log")"
check "installed completion" cmp -s share/bash-completion/conntrail \
	"$TMP/root/usr/share/bash-completion/completions/conntrail"
done_testing
