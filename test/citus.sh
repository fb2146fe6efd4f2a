#!/usr/bin/env bash
# bert on a Citus cluster: a coordinator and two workers on this machine
# (test/citus-cluster.sh), Citus 13.2.2 and pgvector 0.8.6 built from the
# vendored sources when they are not installed.  Checks that embedding,
# classification and entity queries on a distributed table run on the
# workers and give the numbers one node gives, that bert_embed_table refuses
# Citus tables with a recipe that works, and that a semantic top-10 over
# per-shard HNSW indexes equals one node's.  Run as root, under the shared
# lock, after `make install install-model` (test.sh does); ends with
# "citus: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. test/citus-cluster.sh

passed=0
failed=0
check() {	# check NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		passed=$((passed + 1)); echo "ok - $1"
	else
		failed=$((failed + 1)); echo "not ok - $1: expected '$2', got '$3'"
	fi
}

started=$(date +%s)
citus_install || exit 1
test/vendor/pgvector.sh || exit 1
trap citus_cluster_stop EXIT
citus_cluster_start 2 || { echo "citus: could not start the cluster"; exit 1; }
echo "citus: coordinator on port $COORD, workers on ${WORKERS[*]} ($(($(date +%s) - started)) s to here)"
C() { cq "$COORD" "$@"; }
W1=${WORKERS[0]}
W2=${WORKERS[1]}
model=all-MiniLM-L6-v2

# 1. CREATE EXTENSION on the coordinator reaches the workers
C -c "CREATE EXTENSION bert; CREATE EXTENSION vector" >/dev/null
for w in "$W1" "$W2"; do
	check "bert and vector created on worker $w" "bert|0.2.0 vector|0.8.6" \
		"$(cq "$w" -c "SELECT extname || '|' || extversion FROM pg_extension WHERE extname IN ('bert', 'vector') ORDER BY 1" | tr '\n' ' ' | sed 's/ $//')"
done

# 400 distinct sentences, hash-distributed on id (32 shards), and the same
# rows in a plain table on the coordinator: "one node"
C >/dev/null <<'SQL'
CREATE TABLE docs (id bigint PRIMARY KEY, body text NOT NULL, e real[]);
SELECT create_distributed_table('docs', 'id');
INSERT INTO docs
SELECT g, (ARRAY['The old fisherman', 'A young engineer', 'My neighbour', 'The city council', 'A tired nurse',
                 'The football coach', 'Our teacher', 'The jazz pianist', 'A curious child', 'The bank manager'])[1 + g % 10]
          || ' ' || (ARRAY['repaired', 'painted', 'sold', 'photographed', 'described', 'forgot', 'cleaned',
                           'borrowed'])[1 + (g / 10) % 8]
          || ' ' || (ARRAY['a wooden boat', 'the broken radio', 'a basket of apples', 'the red bicycle',
                           'an ancient map', 'the kitchen table', 'a pile of letters', 'the garden fence',
                           'a silver necklace', 'the train tickets'])[1 + (g / 80) % 10]
          || ' ' || (ARRAY['near the harbour', 'after the storm', 'in the morning', 'at the market',
                           'before dinner'])[1 + (g * 7) % 5] || '.'
FROM generate_series(0, 399) g;
CREATE TABLE one_node AS SELECT * FROM docs;
ALTER TABLE one_node ADD PRIMARY KEY (id);
SQL
check "distributed and local copies" "400|400|32" \
	"$(C -c "SELECT (SELECT count(DISTINCT body) FROM docs), (SELECT count(*) FROM one_node),
	              (SELECT shard_count FROM citus_tables WHERE table_name = 'docs'::regclass)")"

# 2. UPDATE ... SET e = bert_embed(body, model): 32 tasks on the workers
plan=$(C -c "SET citus.explain_all_tasks = on" -c "EXPLAIN (COSTS OFF) UPDATE docs SET e = bert_embed(body, '$model')")
echo "$plan" | sed -n '1,8p'
echo "  ... ($(echo "$plan" | grep -c 'Update on docs_') tasks in all)"
check "UPDATE plan: one task per shard" "Task Count: 32" "$(echo "$plan" | grep -o 'Task Count: [0-9]*')"
check "UPDATE plan: tasks per worker" "16 on $W1, 16 on $W2" \
	"$(echo "$plan" | grep -c "Node: host=localhost port=$W1 ") on $W1, $(echo "$plan" | grep -c "Node: host=localhost port=$W2 ") on $W2"
check "UPDATE plan: each task updates its shard" "32" "$(echo "$plan" | grep -c 'Update on docs_[0-9]* docs')"
check "UPDATE fills every row" "UPDATE 400" "$(C -c "UPDATE docs SET e = bert_embed(body, '$model')" -c "SELECT 'UPDATE ' || count(e) FROM docs")"
calls() { cq "$1" -c "SELECT coalesce(sum(calls), 0) FROM bert_models WHERE name = '$2'"; }
c1=$(calls "$W1" $model)
c2=$(calls "$W2" $model)
check "the workers computed the embeddings" "0 on the coordinator, 400 on the workers, both > 0" \
	"$(calls "$COORD" $model) on the coordinator, $((c1 + c2)) on the workers, both > 0$([ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] || echo ' NOT')"
C -c "UPDATE one_node SET e = bert_embed(body, '$model')" >/dev/null
check "embeddings from the workers equal the coordinator's, bit for bit" "t" \
	"$(C -c "SELECT (SELECT md5(string_agg(e::text, ';' ORDER BY id)) FROM one_node)
	             = (SELECT md5(string_agg(e::text, ';' ORDER BY id)) FROM docs)")"

# the STABLE form (model from bert.default_model) cannot be pushed into an UPDATE
check "UPDATE with the STABLE form is refused by Citus" \
	"ERROR:  STABLE functions used in UPDATE queries cannot be called with column references" \
	"$(C -c "UPDATE docs SET e = bert_embed(body)" 2>&1 | head -1)"

# 3. bert_embed_table refuses Citus tables and names the recipe; the recipe works
C -c "ALTER TABLE docs ADD COLUMN e2 real[]" >/dev/null
err=$(C -c 'SET client_min_messages = error' -c '\i test/sql/err.psql' -c "SELECT pg_temp.err(\$\$CALL bert_embed_table('docs', 'body', 'e2')\$\$)")
check "bert_embed_table on a distributed table" \
	"0A000: bert_embed_table cannot fill Citus table docs (It finds rows by ctid, which does not identify a row across the shards and replicas of a Citus table.) HINT: Run it on every shard, on the workers: SELECT * FROM run_command_on_shards('docs', 'CALL bert_embed_table(%L, ''body'', ''e2'', 256, ''all-MiniLM-L6-v2'')');" \
	"$err"
recipe=${err#*HINT: Run it on every shard, on the workers: }
check "the recipe runs on all 32 shards" "32|32" \
	"$(C -c "SELECT count(*), count(*) FILTER (WHERE success) FROM (${recipe%;}) r")"
# batches may run on BLIS rather than row by row: equal within batch.sql's 1e-5
check "the recipe's embeddings equal the coordinator's (max abs difference < 1e-5)" "400|t" \
	"$(C -c "CREATE TEMP TABLE got AS SELECT id, e2 FROM docs" \
	      -c "SELECT count(*), max((SELECT max(abs(x - y)) FROM unnest(g.e2, o.e) u(x, y))) < 1e-5
	          FROM got g JOIN one_node o USING (id)")"
C >/dev/null <<'SQL'
CREATE TABLE labels (id int PRIMARY KEY, body text, e real[]);
SELECT create_reference_table('labels');
INSERT INTO labels VALUES (1, 'spam'), (2, 'ham'), (3, 'eggs');
SQL
err=$(C -c 'SET client_min_messages = error' -c '\i test/sql/err.psql' -c "SELECT pg_temp.err(\$\$CALL bert_embed_table('labels', 'body', 'e', 16, '$model')\$\$)")
check "bert_embed_table on a reference table" \
	"0A000: bert_embed_table cannot fill Citus table labels (It finds rows by ctid, which does not identify a row across the shards and replicas of a Citus table.) HINT: Fill it in one statement: UPDATE labels SET e = bert_embed(body, 'all-MiniLM-L6-v2') WHERE e IS NULL;" \
	"$err"
C -c "${err#*HINT: Fill it in one statement: }" >/dev/null
check "that statement fills all three replicas alike" "3|1" \
	"$(C -c "SELECT count(*), count(DISTINCT result) FROM run_command_on_placements('labels',
	          \$\$SELECT md5(string_agg(e::text, ';' ORDER BY id)) || count(e) FROM %s\$\$)")"

# 4. classification and entities: the models exist only where installed
heads=$CITUS_DIR/heads
test/make-head-checkpoints.sh "$heads"
C -c "SELECT bert_install_model('cls', '$heads/seq'), bert_install_model('ner', '$heads/token')" >/dev/null
check "a model installed on the coordinator only is missing on the workers" \
	"ERROR:  model \"cls\" is not installed" \
	"$(C -c "SELECT count(bert_classify(body, 'cls')) FROM docs" 2>&1 | head -1)"
check "installed on each worker too (until the registry reaches them, docs/scale-out.md)" "4|4" \
	"$(C -c "SELECT count(*), count(*) FILTER (WHERE success) FROM (
	          SELECT * FROM run_command_on_workers(\$\$SELECT bert_install_model('cls', '$heads/seq')\$\$)
	          UNION ALL
	          SELECT * FROM run_command_on_workers(\$\$SELECT bert_install_model('ner', '$heads/token')\$\$)) r")"
plan=$(C -c "EXPLAIN (COSTS OFF) SELECT id, bert_classify(body, 'cls') FROM docs")
echo "$plan"
check "classify plan: 32 tasks, on the workers" "Task Count: 32|1" \
	"$(echo "$plan" | grep -o 'Task Count: [0-9]*')|$(echo "$plan" | grep -cE "Node: host=localhost port=($W1|$W2) ")"
labels_of() { C -c "SELECT md5(string_agg(id || ':' || bert_classify(body, 'cls'), ',' ORDER BY id)) FROM $1"; }
labels_docs=$(labels_of docs)
check "classified on the workers, not on the coordinator" "0|400" \
	"$(calls "$COORD" cls)|$(($(calls "$W1" cls) + $(calls "$W2" cls)))"
check "bert_classify on the workers equals one node" "$(labels_of one_node)" "$labels_docs"
plan=$(C -c "EXPLAIN (COSTS OFF) SELECT d.id, x.* FROM docs d, LATERAL bert_entities(d.body, 'ner') x")
echo "$plan"
check "entities plan: the function scan runs in the tasks" "Task Count: 32|Function Scan on bert_entities x" \
	"$(echo "$plan" | grep -o 'Task Count: [0-9]*')|$(echo "$plan" | grep -o 'Function Scan on bert_entities x')"
entities_of() {
	C -c "SELECT count(*) || ' ' || md5(string_agg(concat_ws(':', d.id, x.entity, x.label, round(x.score::numeric, 6),
	              x.start_char, x.end_char), ',' ORDER BY d.id, x.start_char))
	      FROM $1 d, LATERAL bert_entities(d.body, 'ner') x"
}
ent_one=$(entities_of one_node)
check "bert_entities on the workers equals one node (and finds some)" "$ent_one yes" \
	"$(entities_of docs) $([ "${ent_one%% *}" -gt 0 ] && echo yes)"

# 5. bert.default_model is not sent to the workers, unless Citus is told to
check "SET bert.default_model stays on the coordinator" \
	"ERROR:  model \"all-MiniLM-L6-v2\" is not a sequence classification model" \
	"$(C -c "SET bert.default_model = 'cls'" -c "SELECT count(bert_classify(body)) FROM docs" 2>&1 | head -1)"
check "SET LOCAL with citus.propagate_set_commands = local reaches them" "$labels_docs" \
	"$(C <<'SQL'
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL bert.default_model = 'cls';
SELECT md5(string_agg(id || ':' || bert_classify(body), ',' ORDER BY id)) FROM docs;
COMMIT;
SQL
)"

# 6. semantic top-10: an HNSW index on every shard against one node
C >/dev/null <<'SQL'
ALTER TABLE docs ADD COLUMN v vector(384);
UPDATE docs SET v = e::vector(384);
CREATE INDEX ON docs USING hnsw (v vector_cosine_ops);
ALTER TABLE one_node ADD COLUMN v vector(384);
UPDATE one_node SET v = e::vector(384);
CREATE INDEX ON one_node USING hnsw (v vector_cosine_ops);
SQL
# 12 rows a shard: make the planners use the indexes; and search as wide as
# the table, so that HNSW (random levels) misses nothing on either side
search() {	# search TABLE QUERY: ids of the 10 nearest, in order
	C <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL hnsw.ef_search = 400;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM $1
  ORDER BY v <=> bert_embed('$2', '$model')::vector(384) LIMIT 10) t;
COMMIT;
SQL
}
exact() {	# the 10 nearest by bert's own <=> on real[], no index
	C -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM one_node
	        ORDER BY e <=> bert_embed('$1', '$model'), id LIMIT 10) t"
}
plan=$(C <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY v <=> bert_embed('boats by the sea', '$model')::vector(384) LIMIT 10;
COMMIT;
SQL
)
echo "$plan" | grep -v '^ *Sort Key\|^ *Order By' | sed 's/\[[-0-9.e,]*\]/[...]/g'
check "search plan: each shard's HNSW index, merged on the coordinator" "Task Count: 32|Index Scan using docs_v_idx_" \
	"$(echo "$plan" | grep -o 'Task Count: [0-9]*')|$(echo "$plan" | grep -o 'Index Scan using docs_v_idx_' | head -1)"
before="$(calls "$COORD" $model) $(($(calls "$W1" $model) + $(calls "$W2" $model)))"
search docs 'boats by the sea' >/dev/null
after="$(calls "$COORD" $model) $(($(calls "$W1" $model) + $(calls "$W2" $model)))"
check "the query is embedded once, on the coordinator" "$((${before% *} + 1)) ${before#* }" "$after"
for q in 'Someone fixed a boat by the sea' 'A doctor was exhausted' 'fruit for sale' \
	'a musician took pictures' 'old maps and treasure'; do
	one=$(search one_node "$q")
	echo "top-10 for '$q': $one"
	check "top-10 across 32 shards equals one node: '$q'" "$one" "$(search docs "$q")"
	check "and equals the exact search: '$q'" "$(exact "$q")" "$one"
done

echo "citus: $(($(date +%s) - started)) s"
echo "citus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
