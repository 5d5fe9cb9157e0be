# tests/reliability/common.sh: sourced by every part after tests/lib.sh.
REL_LOAD=$PWD/$BUILD/tests/rel_load
REL_FLIP=$PWD/$BUILD/tests/rel_flip
REL_DIR=$PWD/tests/reliability

# need_root PART: a part that records cannot pass without root.
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1: needs root (record), not run"
		exit 1
	fi
}
# need_file PART FILE: a missing tool is a failure, not a skip.
need_file() {
	if [ ! -x "$2" ]; then
		echo "$1: $2 missing (build it: make -j2 BUILD=$BUILD)"
		exit 1
	fi
}
# The status of a command that may have died by a signal: "sig N" or the code.
status_word() {
	if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then echo "signal $(($1 - 128))"; else echo "$1"; fi
}
