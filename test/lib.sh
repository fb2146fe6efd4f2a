# test/lib.sh — sourced by the shell tests: check and its counts, q, the
# closing line, and a psql session of the script's own.  Bash only.

passed=0
failed=0
# How check prints a result; package.sh and upgrade.sh set their own words.
ok_format='ok - %s\n'
fail_format="not ok - %s: expected '%s', got '%s'\n"

# check NAME EXPECTED ACTUAL: counts the result in passed/failed and prints it
check() {
	if [ "$2" == "$3" ]; then
		passed=$((passed + 1)); printf "$ok_format" "$1"
	else
		failed=$((failed + 1)); printf "$fail_format" "$1" "$2" "$3"
	fi
}

# q SQL: one statement's rows, unaligned, stopping at the first error
q() { psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }

# report NAME: "NAME: N passed, M failed"; succeeds when none failed
report() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# A session kept open to watch its backend (/proc/$session_pid):
# session_open; ask VAR SQL (VAR = the answer's first line); session_close.
session_open() {
	coproc SESSION { psql -X -qAt 2>&1; }
	ask session_pid "SELECT pg_backend_pid();"
}
ask() {
	echo "$2" >&"${SESSION[1]}"
	read -r -u "${SESSION[0]}" "$1"
}
session_close() {
	echo "\\q" >&"${SESSION[1]}"
	wait "$SESSION_PID" 2>/dev/null
}
