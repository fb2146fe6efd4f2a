#!/usr/bin/env bash
# run.sh [TEST...] — the pg_regress suite with every PostgreSQL process under
# valgrind memcheck.  As root: installs the extension and the default model,
# makes a throwaway cluster in a scratch directory (initdb as postgres), starts
# /usr/lib/postgresql/15/bin/postgres under valgrind as postgres on a private
# Unix socket, runs pg_regress against it (default: info tokenizer embed
# inputs errors; catalogue and batch move ~100 MB files and embed whole
# tables, hours under valgrind), stops it, and summarises the memcheck errors whose stack
# goes through bert.so.  Exit status: 0 if pg_regress passed and no error
# involves bert.so, 1 otherwise.  Logs stay in the scratch directory it names.
#
# Environment: BERT_VG_PORT (default 54399); BERT_VG_NO_INSTALL=1 skips
# make install (test what is installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

if [ "$(id -u)" -ne 0 ]; then
	echo "valgrind: run as root (the server runs as postgres)" >&2
	exit 2
fi
command -v valgrind >/dev/null || apt-get install -y valgrind

bindir=$(pg_config --bindir)
pgxs=$(dirname "$(pg_config --pgxs)")/..
pg_regress=$pgxs/test/regress/pg_regress
port=${BERT_VG_PORT:-54399}
if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=(info tokenizer embed inputs errors)
fi

if [ "${BERT_VG_NO_INSTALL:-0}" != 1 ]; then
	make -s
	make -s install
	make -s install-model
fi

tmp=$(mktemp -d /tmp/bert-valgrind.XXXXXX)
mkdir -p "$tmp/vg" "$tmp/regress"
chown -R postgres: "$tmp"
chmod 755 "$tmp"
echo "valgrind: scratch directory $tmp"

runuser -u postgres -- "$bindir/initdb" -D "$tmp/data" -A trust -U postgres \
	--no-sync -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1

# One log per process (%p): the postmaster and every backend it forks.
# --leak-check=no: backends free memory contexts wholesale at exit.
runuser -u postgres -- valgrind \
	--tool=memcheck --trace-children=yes --leak-check=no --track-origins=yes \
	--num-callers=40 --fullpath-after= --error-limit=no \
	--suppressions="$repo/test/valgrind/postgres.supp" \
	--log-file="$tmp/vg/%p.log" \
	"$bindir/postgres" -D "$tmp/data" -p "$port" -k "$tmp" \
	-c listen_addresses= -c autovacuum=off -c fsync=off \
	-c max_parallel_workers_per_gather=0 -c statement_timeout=0 \
	>"$tmp/server.log" 2>&1 &
server=$!

stop_server() {
	runuser -u postgres -- "$bindir/pg_ctl" -D "$tmp/data" -m fast -w -t 600 stop \
		>/dev/null 2>&1 || true
	wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

for _ in $(seq 1 600); do
	if "$bindir/pg_isready" -q -h "$tmp" -p "$port"; then
		break
	fi
	if ! kill -0 "$server" 2>/dev/null; then
		echo "valgrind: the server did not start; see $tmp/server.log" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 1
done

# this run's fixtures (the SQL reads $BERT_REGRESS_FIXTURES), as make installcheck
BERT_REGRESS_FIXTURES=$(test/regress-fixtures.sh model/build/all-MiniLM-L6-v2.bert)
export BERT_REGRESS_FIXTURES
trap 'stop_server; rm -rf "$BERT_REGRESS_FIXTURES"' EXIT

start=$(date +%s)
set +e
runuser -u postgres -- "$pg_regress" --inputdir="$repo" --outputdir="$tmp/regress" \
	--bindir="$bindir" --host="$tmp" --port="$port" --user=postgres \
	--dbname=contrib_regression "${tests[@]}" 2>&1 | tee "$tmp/regress.log"
regress=${PIPESTATUS[0]}
set -e
echo "valgrind: pg_regress took $(( $(date +%s) - start ))s (exit $regress)"
stop_server
rm -rf "$BERT_REGRESS_FIXTURES"
trap - EXIT

# Memcheck error blocks are separated by "==PID== " lines; an error is ours if
# any frame of its stack is in bert.so or in one of our sources.
ours_re='bert\.so|/src/(core|pg)/[a-z_0-9]+\.c'
awk -v re="$ours_re" -v out="$tmp/bert-errors.txt" '
	FNR == 1 { flush() }
	/^==[0-9]+== *$/ { flush(); next }
	{ block = block $0 "\n"; if ($0 ~ /^==[0-9]+==    (at|by) 0x/) stack = 1; if ($0 ~ re) mine = 1 }
	function flush() {
		if (stack && block !~ /SUMMARY|Memcheck, a memory error detector/) {
			total++
			if (mine) { ours++; printf "%s\n", block > out }
		}
		block = ""; stack = 0; mine = 0
	}
	END { flush(); printf "%d %d\n", total, ours }
' "$tmp"/vg/*.log >"$tmp/counts"
read -r total ours <"$tmp/counts"
procs=$(ls "$tmp"/vg/*.log | wc -l)
reported=$(grep -h 'ERROR SUMMARY' "$tmp"/vg/*.log | awk '{ s += $4 } END { print s + 0 }')
echo "valgrind: $procs processes traced, $reported memcheck errors reported in all, $total error contexts logged"
if [ "$ours" -gt 0 ]; then
	echo "valgrind: $ours error contexts involve bert.so (see $tmp/bert-errors.txt):"
	grep -E '^==[0-9]+== [A-Z]|'"$ours_re" "$tmp/bert-errors.txt" | head -60
else
	echo "valgrind: no memcheck errors involve bert.so"
fi
if [ "$total" -gt "$ours" ]; then
	echo "valgrind: $((total - ours)) other error contexts (PostgreSQL, libc): grep -L 'ERROR SUMMARY: 0 ' $tmp/vg/*.log"
fi
[ "$regress" -eq 0 ] && [ "$ours" -eq 0 ]
