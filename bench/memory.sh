#!/usr/bin/env bash
# Memory per backend and cold-start latency of the shared model cache.
# Runs a throwaway cluster (pg_virtualenv) as root; prints figures.
#   bench/memory.sh            (after make install && make install-model)
set -euo pipefail
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv -t "$0" "$@"
fi
model=${MODEL:-all-MiniLM-L6-v2}
n=${BACKENDS:-16}
q() { psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }
# server-side time of the first call on a new connection (connection set-up excluded)
first_call_ms() {
	psql -X -qAt -v ON_ERROR_STOP=1 <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
\timing on
SELECT array_length(bert_embed('The quick brown fox jumps over the lazy dog.', '$model'), 1);
SQL
}
private_kb() {	# Private_Clean + Private_Dirty of a process, in kB
	awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$1/smaps_rollup"
}

q "CREATE EXTENSION IF NOT EXISTS bert" >/dev/null
pgdata=$(q "SHOW data_directory")
cluster=$(pg_lsclusters -h | awk -v d="$pgdata" '$6 == d {print $1" "$2}')
rm -rf "$pgdata/pg_bert/cache"

echo "== cold start (model $model, $(stat -c %s "$(q "SELECT directory FROM bert_models WHERE name = '$model'")/$model.bert") bytes)"
echo "first call after server start, no snapshot yet (copies + validates + maps): $(first_call_ms) ms"
first_call_ms >/dev/null
echo "first call on a new connection, model resident:                          $(first_call_ms) ms"
pg_ctlcluster $cluster restart
echo "first call after a server restart (snapshot on disk, page cache warm):    $(first_call_ms) ms"
if sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
	pg_ctlcluster $cluster restart
	echo "first call after restart with the OS page cache dropped:                 $(first_call_ms) ms"
fi
for i in 1 2 3 4 5; do first_call_ms; done | sort -n | awk '{a[NR] = $1} END {print "new connection, resident, median of 5:                                   " a[3] " ms"}'

echo "== memory: $n backends that each called bert_embed, and one idle backend"
dir=$(mktemp -d)
chmod 777 "$dir"
psql -X -qAt -c "SELECT pg_backend_pid()" -c "SELECT 1" -c "SELECT pg_sleep(20)" > "$dir/idle" &
for i in $(seq 1 "$n"); do
	psql -X -qAt -c "SELECT pg_backend_pid()" \
		-c "SELECT array_length(bert_embed('backend $i embeds a sentence of about twelve words for this test', '$model'), 1)" \
		-c "SELECT pg_sleep(20)" > "$dir/b$i" &
done
sleep 8
idle_pid=$(head -1 "$dir/idle")
idle=$(private_kb "$idle_pid")
snap=$(ls "$pgdata/pg_bert/cache/"*.bert | head -1)
max=0
sum=0
pss_model=0
for i in $(seq 1 "$n"); do
	pid=$(head -1 "$dir/b$i")
	kb=$(private_kb "$pid")
	d=$((kb - idle))
	sum=$((sum + d))
	[ "$d" -gt "$max" ] && max=$d
	p=$(awk -v f="$snap" '$0 ~ f {m = 1; next} /^[0-9a-f]+-[0-9a-f]+ / {m = 0} m && /^Pss:/ {s += $2} END {print s + 0}' "/proc/$pid/smaps")
	pss_model=$((pss_model + p))
done
echo "idle backend private memory:                 ${idle} kB"
echo "per embedding backend, over the idle one:    max $((max)) kB, mean $((sum / n)) kB (target <= 10240 kB)"
echo "model mapping, proportional share summed over the $n backends: $((pss_model / 1024)) MB (file: $(($(stat -c %s "$snap") / 1048576)) MB: the weights count once)"
wait
rm -rf "$dir"
