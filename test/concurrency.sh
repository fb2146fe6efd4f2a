#!/usr/bin/env bash
# Shared-cache tests that need several sessions; run inside pg_virtualenv
# (test.sh does).  Prints what it checks and ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

. test/lib.sh

q "DROP EXTENSION IF EXISTS bert CASCADE; CREATE EXTENSION bert;"
pgdata=$(q "SHOW data_directory")
cache="$pgdata/pg_bert/cache"
model=all-MiniLM-L6-v2

# 1. eight sessions asking for a cold model at once load it once
rm -rf "$cache"
for i in 1 2 3 4 5 6 7 8; do
	q "SELECT array_length(bert_embed('cold start $i', '$model'), 1)" > /tmp/bert_cold_$i.out 2>&1 &
done
wait
check "8 concurrent cold loads all succeed" "384 384 384 384 384 384 384 384" \
	"$(cat /tmp/bert_cold_{1..8}.out | tr '\n' ' ' | sed 's/ $//')"
check "one snapshot, no leftovers" "1" "$(ls "$cache" | grep -c '\.bert$')"
check "no temporary files" "0" "$(ls "$cache" | grep -c '\.tmp\.' || true)"

# 2. a writer that died mid-copy leaves a temporary file nobody maps; the next
#    load of a new version removes it
q "SELECT bert_install_model('swap', (SELECT directory FROM bert_models WHERE name = '$model') || '/$model.bert')"
touch "$cache/swap.0000000000000000.bert.tmp.99999"
check "load next to a dead writer's leftover" "384" "$(q "SELECT array_length(bert_embed('x', 'swap'), 1)")"
check "leftover removed" "0" "$(ls "$cache" | grep -c 'tmp.99999' || true)"

# 3. the installed file truncated, then deleted, under a session that uses it
swapfile="$pgdata/pg_bert/models/swap.bert"
out=$(psql -X -qAt -v ON_ERROR_STOP=1 <<SQL 2>&1
SELECT bert_embed('before', 'swap') = bert_embed('before', '$model');
\! truncate -s 1000 "$swapfile"
SELECT bert_embed('after truncate', 'swap') = bert_embed('after truncate', '$model');
\! rm -f "$swapfile"
SELECT bert_embed('after delete', 'swap') = bert_embed('after delete', '$model');
SQL
)
check "a session keeps its snapshot through truncate and delete" "t t t" "$(echo $out)"
check "a new session sees the file gone" "42704" \
	"$(psql -X -qAt -c "SELECT bert_embed('x', 'swap')" 2>&1 >/dev/null | grep -c 'is not installed' | sed 's/1/42704/')"
check "server still up" "1" "$(q "SELECT 1")"

# 4. 8 clients for 30 s give exactly the single-client embeddings
q "DROP TABLE IF EXISTS ref; CREATE TABLE ref (id int PRIMARY KEY, body text, emb real[]);
   INSERT INTO ref SELECT g, 'sentence number ' || g || ' about ' ||
     (ARRAY['cats','markets','rain','football','music','databases','bread','trains'])[1 + g % 8]
   FROM generate_series(1, 50) g;
   UPDATE ref SET emb = bert_embed(body, '$model');"
cat > /tmp/bert_pgbench.sql <<'SQL'
\set id random(1, 50)
SELECT CASE WHEN bert_embed(body, 'all-MiniLM-L6-v2') = emb THEN 1 ELSE 1 / (id * 0) END FROM ref WHERE id = :id;
SQL
chmod 644 /tmp/bert_pgbench.sql
pgbench -n -c 8 -j 2 -T "${BERT_PGBENCH_SECONDS:-30}" -f /tmp/bert_pgbench.sql > /tmp/bert_pgbench.out 2>&1
rc=$?
cat /tmp/bert_pgbench.out | grep -E "clients|processed|failed|tps|latency average|error" || true
check "pgbench 8 clients exit status" "0" "$rc"
check "pgbench errors" "0" "$(grep -c 'error' /tmp/bert_pgbench.out || true)"
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' /tmp/bert_pgbench.out)
check "pgbench ran transactions" "yes" "$([ "${processed:-0}" -gt 100 ] && echo yes || echo "no (${processed:-0})")"
check "one snapshot after the run" "1" "$(ls "$cache" | grep -c "^$model\..*\.bert$")"

q "DROP TABLE ref; SELECT bert_drop_model('swap') FROM bert_models WHERE name = 'swap'" >/dev/null
report concurrency
