#!/usr/bin/env bash
# Shared-cache tests that need several sessions; run inside pg_virtualenv
# (test.sh does).  Prints what it checks and ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() {	# check NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		passed=$((passed + 1)); echo "ok - $1"
	else
		failed=$((failed + 1)); echo "not ok - $1: expected '$2', got '$3'"
	fi
}
q() { psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }

q "DROP EXTENSION IF EXISTS bert CASCADE; CREATE EXTENSION bert;"
pgdata=$(q "SHOW data_directory")
cache="$pgdata/pg_bert/cache"
model=all-MiniLM-L6-v2

hash=$(q "SELECT content_hash FROM bert_models WHERE name = '$model'")

# 1. eight sessions asking for a cold model at once build its snapshot once
#    (by content: $cache/HASH.bert)
rm -rf "$cache"
for i in 1 2 3 4 5 6 7 8; do
	q "SELECT array_length(bert_embed('cold start $i', '$model'), 1)" > /tmp/bert_cold_$i.out 2>&1 &
done
wait
check "8 concurrent cold loads all succeed" "384 384 384 384 384 384 384 384" \
	"$(cat /tmp/bert_cold_{1..8}.out | tr '\n' ' ' | sed 's/ $//')"
check "one snapshot, named by content" "$hash.bert" "$(ls "$cache" | grep '\.bert$')"
check "no temporary files" "0" "$(ls "$cache" "$cache/shipped" | grep -c '\.tmp\.' || true)"

# 2. writers that died mid-copy leave temporary files nobody maps; the next
#    load removes them
touch "$cache/$hash.bert.tmp.99999" "$cache/shipped.tmp.99999" "$cache/shipped/0123456789abcdef.tmp.99999"
check "load next to a dead writer's leftovers" "384" "$(q "SELECT array_length(bert_embed('x', '$model'), 1)")"
check "leftovers removed" "0" "$(ls "$cache" "$cache/shipped" | grep -c 'tmp.99999' || true)"

# 3. a shipped file truncated, then deleted, under a session that uses it:
#    the session keeps its snapshot; a new session is told what happened
dir=$(mktemp -d /tmp/bert_conc.XXXXXX)
cp "$(q "SELECT directory FROM bert_models WHERE name = '$model'")/$model.bert" "$dir/swap.bert"
chown -R postgres: "$dir" 2>/dev/null || true
out=$(psql -X -qAt -v ON_ERROR_STOP=1 <<SQL 2>&1
CREATE TEMP TABLE ref AS SELECT t, bert_embed(t, '$model') AS e
FROM unnest(ARRAY['before', 'after truncate', 'after delete']) t;
SET bert.model_dir = '$dir';
SELECT bert_embed(t, 'swap') = e FROM ref WHERE t = 'before';
\! truncate -s 1000 "$dir/swap.bert"
SELECT bert_embed(t, 'swap') = e FROM ref WHERE t = 'after truncate';
\! rm -f "$dir/swap.bert"
SELECT bert_embed(t, 'swap') = e FROM ref WHERE t = 'after delete';
SQL
)
check "a session keeps its snapshot through truncate and delete" "t t t" "$(echo $out)"
check "a new session sees the file gone" "42704" \
	"$(psql -X -qAt -c "SET bert.model_dir = '$dir'" -c "SELECT bert_embed('x', 'swap')" 2>&1 >/dev/null | grep -c 'is not installed' | sed 's/1/42704/')"
rm -rf "$dir"

# 4. a snapshot deleted under a session that uses it: the session keeps its
#    mapping; the next session rebuilds the snapshot from the registry
q "SELECT bert_install_model('stored-swap', (SELECT directory FROM bert_models WHERE name = '$model') || '/$model.bert')" >/dev/null
out=$(psql -X -qAt -v ON_ERROR_STOP=1 <<SQL 2>&1
SELECT bert_embed('before', 'stored-swap') = bert_embed('before', '$model');
\! rm -f "$cache/$hash.bert"
SELECT bert_embed('after delete', 'stored-swap') = bert_embed('after delete', '$model');
SQL
)
check "a session keeps its snapshot when it is deleted" "t t" "$(echo $out)"
check "a new session rebuilds it from the registry" "t" \
	"$(q "SELECT bert_embed('rebuilt', 'stored-swap') = bert_embed('rebuilt', '$model')")"
check "the snapshot is back" "1" "$(ls "$cache" | grep -c "^$hash\.bert$")"
check "server still up" "1" "$(q "SELECT 1")"

# 5. 8 clients for 30 s give exactly the single-client embeddings
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
check "one snapshot after the run" "1" "$(ls "$cache" | grep -c "^$hash\.bert$")"

q "DROP TABLE ref; SELECT bert_drop_model('stored-swap')" >/dev/null
echo "concurrency: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
