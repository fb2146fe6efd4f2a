#!/usr/bin/env bash
# Cancel latency, and backend RSS over many calls (and over many cancelled
# ones).  Runs a throwaway cluster (pg_virtualenv); prints figures.
#   bench/robustness.sh [CALLS]     (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv -t "$0" "$@"
fi
calls=${1:-100000}
q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE EXTENSION IF NOT EXISTS bert" >/dev/null
long=$(head -c 1500 /usr/share/common-licenses/GPL-3 | tr "\n\t'" '   ')

echo "== cancel latency: pg_cancel_backend() during a 100 000-row batch, and during one long input"
for what in batch single; do
	for i in 1 2 3 4 5; do
		if [ $what = batch ]; then
			sql="SELECT count(bert_embed('row ' || g, 'all-MiniLM-L6-v2')) FROM generate_series(1, 100000) g"
		else
			sql="SELECT count(bert_embed('$long' || g, 'all-MiniLM-L6-v2', 512)) FROM generate_series(1, 100000) g"
		fi
		psql -X -qAt -c "SELECT pg_backend_pid()" -c "$sql" > /tmp/bert_cancel.out 2>&1 &
		client=$!
		sleep 1.5
		pid=$(head -1 /tmp/bert_cancel.out)
		# time from the cancel request until the backend is idle again
		q -c "
		  DO \$\$
		  DECLARE t0 timestamptz := clock_timestamp(); st text;
		  BEGIN
		    PERFORM pg_cancel_backend($pid);
		    LOOP
		      PERFORM pg_stat_clear_snapshot();
		      SELECT state INTO st FROM pg_stat_activity WHERE pid = $pid;
		      EXIT WHEN st IS DISTINCT FROM 'active';
		      PERFORM pg_sleep(0.0005);
		    END LOOP;
		    RAISE NOTICE '%', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
		  END \$\$" 2>&1 | sed -n 's/^NOTICE: *//p'
		wait $client || true
	done | sort -n | awk -v w="$what" '{a[NR] = $1} END {printf "%-7s cancel -> idle: min %s ms, median %s ms, max %s ms (5 runs)\n", w, a[1], a[3], a[5]}'
done

echo "== RSS of one backend over $calls calls of bert_embed, then errors mid-inference"
{
	# RssAnon is the backend's own memory; VmRSS also counts the pages of the
	# shared model mapping this backend has touched, which grow with the
	# variety of words seen, not with leaks
	echo "CREATE FUNCTION pg_temp.rss_kb() RETURNS text LANGUAGE sql AS"
	echo "  \$\$ SELECT 'RssAnon ' || (regexp_match(s, 'RssAnon:\\s+(\\d+)'))[1] || ' kB, VmRSS ' || (regexp_match(s, 'VmRSS:\\s+(\\d+)'))[1]"
	echo "     FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s \$\$;"
	echo "SELECT count(bert_embed('warm up ' || g, 'all-MiniLM-L6-v2')) FROM generate_series(1, 1000) g \\g /dev/null"
	echo "SELECT 'after 1000 calls:                 ' || pg_temp.rss_kb();"
	echo "SELECT count(bert_embed('call number ' || g || ' of a long run', 'all-MiniLM-L6-v2')) FROM generate_series(1, $calls) g \\g /dev/null"
	echo "SELECT 'after $calls calls:               ' || pg_temp.rss_kb();"
	# each statement times out inside the encoder (a 512-token input takes longer than 2 ms)
	echo "SET statement_timeout = '2ms';"
	for i in $(seq 1 300); do echo "SELECT bert_embed('$long $i', 'all-MiniLM-L6-v2', 512) \\g /dev/null"; done
	echo "RESET statement_timeout;"
	echo "SELECT 'after 300 calls cancelled mid-inference: ' || pg_temp.rss_kb();"
	echo "SET bert.truncate = off;"
	for i in $(seq 1 2000); do echo "SELECT bert_embed(repeat('word ', 300) || '$i', 'all-MiniLM-L6-v2') \\g /dev/null"; done
	echo "SELECT 'after 2000 calls that raised an ERROR:   ' || pg_temp.rss_kb();"
} | psql -X -qAt 2>/tmp/bert_rss.err
echo "errors raised on purpose: $(grep -c 'statement timeout' /tmp/bert_rss.err || true) timeouts, $(grep -c 'tokens long' /tmp/bert_rss.err || true) over-long inputs"
