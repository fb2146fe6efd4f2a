#!/usr/bin/env bash
# Throughput of bert on this machine, with the sgemm peak measured in the
# same run.  Corpus: English sentences from the licence texts every Debian
# system ships (/usr/share/common-licenses), deterministic.
#   bench/throughput.sh        (after make install && make install-model)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PGHOST:-}" ]; then
	make -s -C bench sgemm_peak >/dev/null
	exec pg_virtualenv -t "$0" "$@"
fi
model=${MODEL:-all-MiniLM-L6-v2}
n=${SENTENCES:-2000}
q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }

peak=$(BLIS_NUM_THREADS=1 bench/sgemm_peak 2>/dev/null | sed -n 's/^peak: .* -> \([0-9.]*\).*/\1/p')
# what sgemm itself gets from both cores now (the "of peak" column still
# divides by cores x the 1-thread peak)
peak2=$(bench/sgemm_peak 2 2>/dev/null | sed -n 's/^peak: .* -> \([0-9.]*\).*/\1/p')

# the corpus: sentences of 8 to 60 words from the licence texts
corpus=$(mktemp)
chmod 644 "$corpus"
cat /usr/share/common-licenses/{GPL-3,GPL-2,LGPL-2.1,Apache-2.0,MPL-2.0,GFDL-1.3,Artistic} |
	tr '\n\t' '  ' | sed 's/  */ /g' | sed 's/\([.;:!?]\) /\1\n/g' |
	awk -v n="$n" 'NF >= 8 && NF <= 60 && !seen[$0]++ && kept++ < n' > "$corpus"

q -c "CREATE EXTENSION IF NOT EXISTS bert" >/dev/null
q -c "CREATE TABLE corpus (id serial PRIMARY KEY, body text NOT NULL, emb real[])" >/dev/null
q -c "\\copy corpus (body) FROM '$corpus' WITH (FORMAT text, DELIMITER E'\\x01')" >/dev/null
rm -f "$corpus"
# tokens per sentence as the model sees them, and FLOPs: 2 * (4 H^2 + 2 H F) per
# token per layer for the linear layers, plus 4 T^2 H per sequence per layer for attention
read -r rows tokens flops < <(q -F ' ' -c "
  SELECT count(*), sum(t), sum(6 * (2 * (4 * 384 * 384 + 2 * 384 * 1536) * t + 4.0 * t * t * 384))
  FROM (SELECT least(bert_token_count(body, '$model'), 256) AS t FROM corpus) s")
q -c "SELECT bert_embed('warm up', '$model')" >/dev/null

timed() {	# seconds taken by the SQL in $1 (with settings in $2)
	q -c "${2:-SELECT 1}" -c "\\timing on" -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1 |
		awk '{printf "%.3f", $1 / 1000}'
}
row() {	# label seconds cores
	awk -v l="$1" -v s="$2" -v c="$3" -v r="$rows" -v t="$tokens" -v f="$flops" -v p="$peak" 'BEGIN {
		g = f / s / 1e9
		printf "| %-44s | %6.0f | %7.0f | %6.1f | %5.1f%% |\n", l, r / s, t / s, g, 100 * g / (p * c) }'
}
lat() {	# label text: p50 / p99 of single calls, ms
	q -c "
	  CREATE OR REPLACE FUNCTION pg_temp.lat(txt text, n int) RETURNS TABLE (p50 float8, p99 float8) AS \$f\$
	  DECLARE t0 timestamptz; d float8[] := '{}';
	  BEGIN
	    FOR i IN 1 .. n LOOP
	      t0 := clock_timestamp();
	      PERFORM bert_embed(txt || ' ' || i, '$model');
	      d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
	    END LOOP;
	    RETURN QUERY SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x), percentile_cont(0.99) WITHIN GROUP (ORDER BY x) FROM unnest(d) x;
	  END \$f\$ LANGUAGE plpgsql;" \
	  -c "SELECT format('| %s | %s | %s ms | %s ms |', '$1', bert_token_count('$2', '$model') + 1, round(p50::numeric, 2), round(p99::numeric, 2)) FROM pg_temp.lat('$2', 200)"
}

echo "bert throughput: $rows sentences, $tokens tokens (mean $((tokens / rows)) per sentence), model $model"
echo "machine: $(nproc) cores, $(q -c "SELECT kernel || ' kernels, ' || simd || ' kernels around them, CPU ' || cpu_features FROM bert_info()")"
echo "sgemm peak (BLIS, 1 thread, measured now): $peak GFLOP/s per core"
echo "sgemm on 2 threads, measured now: $peak2 GFLOP/s ($(awk -v a="$peak2" -v b="$peak" 'BEGIN { printf "%.0f", 50 * a / b }') % of 2 x $peak)"
echo
echo "| single call | tokens | p50 | p99 |"
echo "|---|---|---|---|"
lat "short" "The weather is lovely today and we should go outside for a walk."
lat "long" "$(head -c 1000 /usr/share/common-licenses/GPL-3 | tr '\n\t' '  ' | tr -d "'")"
echo
echo "| mode | sent/s | tokens/s | GFLOP/s | of peak |"
echo "|---|---|---|---|---|"
row "row at a time, SELECT bert_embed(t), 1 core" "$(timed "SELECT count(bert_embed(body, '$model')) FROM corpus")" 1
row "bert_embed_many, 1 thread" "$(timed "SELECT count(*) FROM bert_embed_many((SELECT array_agg(body ORDER BY id) FROM corpus), '$model')")" 1
row "bert_embed_many, bert.threads = 2" "$(timed "SELECT count(*) FROM bert_embed_many((SELECT array_agg(body ORDER BY id) FROM corpus), '$model')" "SET bert.threads = 2")" 2
par="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0"
row "row at a time, parallel query (2 processes)" "$(timed "SELECT count(bert_embed(body, '$model')) FROM corpus" "$par")" 2
q -c "UPDATE corpus SET emb = NULL" >/dev/null
row "CALL bert_embed_table, 1 core" "$(timed "CALL bert_embed_table('corpus', 'body', 'emb', 256, '$model')" "SET client_min_messages = warning")" 1
q -c "UPDATE corpus SET emb = NULL" >/dev/null
row "CALL bert_embed_table, bert.threads = 2" "$(timed "CALL bert_embed_table('corpus', 'body', 'emb', 256, '$model')" "SET client_min_messages = warning; SET bert.threads = 2")" 2

# the quantised variant (int8 weights for q, k, v, attention output, FF1):
# GFLOP/s counted as if fp32, so "of peak" compares with the fp32 rows
qmodel=${QMODEL:-$model-int8}
if [ -n "$(q -c "SELECT 1 FROM bert_models WHERE name = '$qmodel'")" ]; then
	q -c "SELECT bert_embed('warm up', '$qmodel')" >/dev/null
	row "$qmodel: row at a time, 1 core" "$(timed "SELECT count(bert_embed(body, '$qmodel')) FROM corpus")" 1
	q -c "UPDATE corpus SET emb = NULL" >/dev/null
	row "$qmodel: CALL bert_embed_table, 1 core" "$(timed "CALL bert_embed_table('corpus', 'body', 'emb', 256, '$qmodel')" "SET client_min_messages = warning")" 1
	q -c "UPDATE corpus SET emb = NULL" >/dev/null
	row "$qmodel: CALL bert_embed_table, bert.threads = 2" "$(timed "CALL bert_embed_table('corpus', 'body', 'emb', 256, '$qmodel')" "SET client_min_messages = warning; SET bert.threads = 2")" 2
	echo
	q -c "SELECT format('%s vs %s over all %s sentences: min cosine %s, mean %s', '$qmodel', '$model', count(*),
	                    round(min(c)::numeric, 5), round(avg(c)::numeric, 5))
	      FROM (SELECT bert_cosine_similarity(bert_embed(body, '$model'), emb) AS c FROM corpus) s"
fi
echo
echo "parallel plan:"
q -c "$par" -c "EXPLAIN (COSTS OFF) SELECT count(bert_embed(body, '$model')) FROM corpus" | sed 's/^/    /'
