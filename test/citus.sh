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
. test/lib.sh
. test/citus-cluster.sh

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

# 4. models on every node: bert_distribute_models() makes the registry
#    reference tables; installs, trainings, drops then reach every node
models_started=$(date +%s)
heads=$CITUS_DIR/heads
test/make-head-checkpoints.sh "$heads"
nodes() {	# nodes SQL: its result on the coordinator and each worker, space-separated
	local p
	for p in "$COORD" "${WORKERS[@]}"; do cq "$p" -c "$1"; done | tr '\n' ' ' | sed 's/ $//'
}
registry() { nodes "SELECT coalesce(string_agg(name, ',' ORDER BY name), '-') FROM bert_models WHERE storage = 'stored'"; }
# (a worker refuses pg_temp.err's CREATE FUNCTION: psql's verbose error)
check "bert_distribute_models on a worker" \
	"ERROR:  55000: bert_distribute_models() must run on the Citus coordinator DETAIL:  This node is a worker, or a coordinator without nodes in its metadata. HINT:  Run it on the coordinator after citus_set_coordinator_host() or citus_add_node()." \
	"$(cq "$W1" -v VERBOSITY=verbose -c "SELECT bert_distribute_models()" 2>&1 | grep -E '^(ERROR|DETAIL|HINT):' | tr '\n' ' ' | sed 's/ $//')"
# installed before: its rows are copied when the tables are distributed
C -c "SELECT bert_install_model('cls', '$heads/seq')" >/dev/null
r=$(registry)
echo "stored models on the coordinator, worker 1, worker 2: $r"
check "before bert_distribute_models a model is on the coordinator only" "cls - -" "$r"
check "and a distributed query cannot use it" "ERROR:  model \"cls\" is not installed" \
	"$(C -c "SELECT count(bert_classify(body, 'cls')) FROM docs" 2>&1 | head -1)"
# every statement of bert_distribute_models is immune to search_path: objects
# named like those it uses, in a schema searched first, must not run
C >/dev/null <<'SQL'
SET citus.enable_ddl_propagation = off;
CREATE SCHEMA hijack;
CREATE TABLE hijack.hits (what text);
CREATE FUNCTION hijack.hit(what text) RETURNS boolean LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO hijack.hits VALUES (what); RETURN true; END$$;
CREATE FUNCTION hijack.citus_is_coordinator() RETURNS boolean LANGUAGE sql AS $$SELECT hijack.hit('citus_is_coordinator')$$;
CREATE FUNCTION hijack.create_reference_table(regclass) RETURNS void LANGUAGE sql AS $$SELECT hijack.hit('create_reference_table')$$;
CREATE FUNCTION hijack.truncate_local_data_after_distributing_table(regclass) RETURNS void LANGUAGE sql
  AS $$SELECT hijack.hit('truncate_local_data_after_distributing_table')$$;
CREATE FUNCTION hijack.set_config(text, text, boolean) RETURNS text LANGUAGE sql AS $$SELECT hijack.hit('set_config')::text$$;
CREATE FUNCTION hijack.current_setting(text) RETURNS text LANGUAGE sql AS $$SELECT hijack.hit('current_setting')::text$$;
CREATE FUNCTION hijack.count(int) RETURNS bigint LANGUAGE sql AS $$SELECT 0::bigint WHERE hijack.hit('count')$$;
CREATE FUNCTION hijack.eq(oid, oid) RETURNS boolean LANGUAGE sql AS $$SELECT hijack.hit('= on oid')$$;
CREATE OPERATOR hijack.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = hijack.eq);
CREATE FUNCTION hijack.eq(regclass, regclass) RETURNS boolean LANGUAGE sql AS $$SELECT hijack.hit('= on regclass')$$;
CREATE OPERATOR hijack.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = hijack.eq);
CREATE FUNCTION hijack.eq(name, name) RETURNS boolean LANGUAGE sql AS $$SELECT hijack.hit('= on name')$$;
CREATE OPERATOR hijack.= (LEFTARG = name, RIGHTARG = name, FUNCTION = hijack.eq);
CREATE FUNCTION hijack.eq(bigint, bigint) RETURNS boolean LANGUAGE sql AS $$SELECT hijack.hit('= on bigint')$$;
CREATE OPERATOR hijack.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hijack.eq);
CREATE VIEW hijack.pg_extension AS SELECT 'citus'::name AS extname WHERE hijack.hit('pg_extension');
CREATE VIEW hijack.pg_dist_partition AS SELECT * FROM pg_catalog.pg_dist_partition WHERE hijack.hit('pg_dist_partition');
SQL
check "bert_distribute_models: the coordinator and both workers hold the models; citus.enable_unsafe_triggers restored" "3 off" \
	"$(C -c "SET search_path = hijack, pg_catalog, public" -c "SELECT public.bert_distribute_models()" \
	      -c "SHOW citus.enable_unsafe_triggers" | tr '\n' ' ' | sed 's/ $//')"
check "and no object of the schema first on search_path ran" "0" "$(C -c "SELECT count(*) FROM hijack.hits")"
C -c "DROP SCHEMA hijack CASCADE" >/dev/null 2>&1
check "_bert.model and _bert.model_chunk are reference tables" "_bert.model|n|t _bert.model_chunk|n|t" \
	"$(C -c "SELECT logicalrelid::text || '|' || partmethod::text || '|' || repmodel::text FROM pg_dist_partition
	          WHERE logicalrelid::text LIKE '\_bert.%' ORDER BY logicalrelid::text COLLATE \"C\"" | tr '\n' ' ' | sed 's/ $//')"
check "the coordinator's own tables keep no rows (truncated after distributing)" "0" \
	"$(C -c "SELECT pg_relation_size('_bert.model') + pg_relation_size('_bert.model_chunk')")"
check "running it again changes nothing" "3" "$(C -c "SELECT bert_distribute_models()")"
check "the model installed before is on every node" "cls cls cls" "$(registry)"
# installed and trained after: one distributed transaction each
C -c "SELECT bert_install_model('ner', '$heads/token')" >/dev/null
C -c "SET client_min_messages = warning" -c "SELECT bert_train_classifier('boats', '$model',
        \$\$SELECT body, (body LIKE '%boat%')::text FROM one_node WHERE id % 5 = 0\$\$, epochs => 20)" >/dev/null
r=$(registry)
echo "stored models on the coordinator, worker 1, worker 2: $r"
check "installed and trained on the coordinator: on every node" "boats,cls,ner boats,cls,ner boats,cls,ner" "$r"
chunks=$(nodes "SELECT count(*) || ' ' || md5(string_agg(content_hash || seq || md5(data), ',' ORDER BY content_hash, seq)) FROM _bert.model_chunk")
check "the same bytes on every node" "3 nodes alike, chunks > 0" \
	"$(echo "$chunks" | xargs -n 2 | sort -u | wc -l | sed 's/^1$/3 nodes alike/'), chunks $([ "${chunks%% *}" -gt 0 ] && echo '> 0')"
C -c "BEGIN" -c "SELECT bert_install_model('ghost', '$heads/seq')" -c "ROLLBACK" >/dev/null
r=$(registry)
echo "after BEGIN; bert_install_model('ghost', ...); ROLLBACK: $r"
check "an install rolled back on the coordinator reaches no node" "boats,cls,ner boats,cls,ner boats,cls,ner" "$r"
models_s=$(($(date +%s) - models_started))
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
boats_of() {	# the trained head on every fourth row: labels, and how many say "true"
	C -c "SELECT md5(string_agg(id || ':' || l, ',' ORDER BY id)) || ' ' || count(*) FILTER (WHERE l = 'true')
	      FROM (SELECT id, bert_classify(body, 'boats') AS l FROM $1 WHERE id % 4 = 0) t"
}
boats_one=$(boats_of one_node)
check "the head trained on the coordinator classifies on the workers as on one node (and finds boats)" "$boats_one yes" \
	"$(boats_of docs) $([ "${boats_one#* }" -gt 0 ] && echo yes)"

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
embeddings() { echo "$(calls "$COORD" $model) $(($(calls "$W1" $model) + $(calls "$W2" $model)))"; }
before=$(embeddings)
C -c "SELECT id FROM docs ORDER BY v <=> bert_embed('boats by the sea', '$model')::vector(384) LIMIT 10" >/dev/null
check "the query is embedded once, on the coordinator" "$((${before% *} + 1)) ${before#* }" "$(embeddings)"
# in a subquery with LIMIT, Citus plans the search separately (a subplan)
# and the query again around it: embedded twice, still on the coordinator
before=$(embeddings)
search docs 'boats by the sea' >/dev/null
check "the query in a subquery is embedded twice, on the coordinator" "$((${before% *} + 2)) ${before#* }" "$(embeddings)"
for q in 'Someone fixed a boat by the sea' 'A doctor was exhausted' 'fruit for sale' \
	'a musician took pictures' 'old maps and treasure'; do
	one=$(search one_node "$q")
	echo "top-10 for '$q': $one"
	check "top-10 across 32 shards equals one node: '$q'" "$one" "$(search docs "$q")"
	check "and equals the exact search: '$q'" "$(exact "$q")" "$one"
done

# 7. a worker added later: Citus creates bert there; the models come with
#    replicate_reference_tables (docs/scale-out.md)
models_started=$(date +%s)
W3=$(citus_add_worker) || { echo "citus: could not add a worker"; exit 1; }
WORKERS+=("$W3")
check "worker $W3 added later has bert" "bert|0.2.0" \
	"$(cq "$W3" -c "SELECT extname || '|' || extversion FROM pg_extension WHERE extname = 'bert'")"
C -c "SELECT replicate_reference_tables('block_writes')" >/dev/null
check "after replicate_reference_tables it holds both registry tables" "2" \
	"$(C -c "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
	          JOIN pg_dist_shard s USING (shardid) WHERE n.nodeport = $W3 AND s.logicalrelid::text LIKE '\_bert.%'")"
r=$(cq "$W3" -c "SELECT string_agg(name, ',' ORDER BY name) FROM bert_models WHERE storage = 'stored'")
echo "stored models on worker 3: $r"
check "and the models" "boats,cls,ner" "$r"
probe="SELECT md5(string_agg(bert_classify(s, 'cls') || bert_classify(s, 'boats') || ':'
               || (SELECT string_agg(entity || label, '/' ORDER BY start_char) FROM bert_entities(s, 'ner')), ','))
       FROM unnest(ARRAY['The old fisherman repaired a wooden boat near the harbour.',
                         'A tired nurse sold the red bicycle at the market.',
                         'My neighbour forgot the train tickets before dinner.']) s"
check "the added worker classifies and extracts as the coordinator" "$(C -c "$probe")" "$(cq "$W3" -c "$probe")"

# 8. a drop on the coordinator reaches every node, and the workers' sessions
#    see it: one connection per worker, which resolved "cls" before the drop,
#    must look the name up again (the registry's trigger fires on the copy)
cls_hash=$(C -c "SELECT content_hash FROM bert_models WHERE name = 'cls'")
check "a session's workers stop using a model dropped in it" "ERROR:  model \"cls\" is not installed" \
	"$(C 2>&1 <<'SQL' | grep -v '^[0-9]*$' | head -1
SET citus.max_adaptive_executor_pool_size = 1;
SELECT count(bert_classify(body, 'cls')) FROM docs;
SELECT bert_drop_model('cls');
SELECT count(bert_classify(body, 'cls')) FROM docs;
SQL
)"
r=$(registry)
echo "after bert_drop_model('cls'), on the coordinator and workers 1, 2, 3: $r"
check "dropped on every node, the added one too" "boats,ner boats,ner boats,ner boats,ner" "$r"
check "its bytes too" "0 0 0 0" "$(nodes "SELECT count(*) FROM _bert.model_chunk WHERE content_hash = '$cls_hash'")"

echo "citus: models on every node (checkpoints, installs, training, a third worker, the drop): $((models_s + $(date +%s) - models_started)) s"
echo "citus: $(($(date +%s) - started)) s"
echo "citus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
