#!/usr/bin/env bash
# The evidence behind "models on every node" (docs/scale-out.md): Citus's
# behaviour with a stand-in for bert's model registry, extension-owned tables
# like _bert.model / _bert.model_chunk (schema bert_standin here, made members
# of the bert extension on every node, as Citus's own tests pretend), and the
# cost of shipping a model's bytes to the workers.  Each line says what the
# design assumes and whether Citus did it.  Not part of test.sh.
#   bench/citus-registry.sh   (as root, under the shared lock, after make install install-model)
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
. test/citus-cluster.sh
model_file=${MODEL_FILE:-$(pg_config --sharedir)/bert/models/all-MiniLM-L6-v2.bert}
ok_format='as assumed - %s\n'
fail_format="NOT as assumed - %s: expected '%s', got '%s'\n"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

citus_install || exit 1
trap citus_cluster_stop EXIT
citus_cluster_start 2 || exit 1
C() { cq "$COORD" "$@"; }
W1=${WORKERS[0]}
W2=${WORKERS[1]}
C -c "CREATE EXTENSION bert" >/dev/null

# 0. a node added later gets the extension from Citus
W3=$(citus_add_worker) || exit 1
check "a node added with citus_add_node gets CREATE EXTENSION bert" "bert|0.2.0" \
	"$(cq "$W3" -c "SELECT extname || '|' || extversion FROM pg_extension WHERE extname = 'bert'")"

# the stand-in, created on every node as the extension's script would
standin="
SET citus.enable_ddl_propagation = off;
SET client_min_messages = warning;
CREATE SCHEMA bert_standin;
CREATE TABLE bert_standin.model (name text PRIMARY KEY, content_hash text NOT NULL, bytes bigint NOT NULL);
CREATE TABLE bert_standin.model_chunk (content_hash text, seq int, data bytea NOT NULL,
                                       PRIMARY KEY (content_hash, seq));
ALTER TABLE bert_standin.model_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE FUNCTION bert_standin.changed() RETURNS trigger LANGUAGE plpgsql AS
  \$\$BEGIN RAISE NOTICE 'registry trigger fired on %', TG_TABLE_NAME; RETURN NULL; END\$\$;
CREATE TRIGGER model_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bert_standin.model
  FOR EACH STATEMENT EXECUTE FUNCTION bert_standin.changed();
-- what bert's C code does when it resolves a name: a query through SPI,
-- inside functions that are IMMUTABLE (bert_embed(text, text) is)
CREATE FUNCTION bert_standin.lookup(n text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
  \$\$BEGIN RETURN (SELECT content_hash FROM bert_standin.model WHERE name OPERATOR(pg_catalog.=) n); END\$\$;
CREATE FUNCTION bert_standin.lookup_nested(n text) RETURNS text LANGUAGE plpgsql IMMUTABLE
  SET citus.allow_nested_distributed_execution = on AS
  \$\$BEGIN RETURN (SELECT content_hash FROM bert_standin.model WHERE name OPERATOR(pg_catalog.=) n); END\$\$;
ALTER EXTENSION bert ADD SCHEMA bert_standin;
ALTER EXTENSION bert ADD TABLE bert_standin.model;
ALTER EXTENSION bert ADD TABLE bert_standin.model_chunk;
ALTER EXTENSION bert ADD FUNCTION bert_standin.changed();
ALTER EXTENSION bert ADD FUNCTION bert_standin.lookup(text);
ALTER EXTENSION bert ADD FUNCTION bert_standin.lookup_nested(text);
"
for p in "$COORD" "$W1" "$W2" "$W3"; do cq "$p" -c "$standin" >/dev/null || exit 1; done

# 1. reference tables: refused while the registry has its trigger, unless
#    citus.enable_unsafe_triggers; the trigger then lives on every placement
check "create_reference_table refuses a table with a trigger" \
	"ERROR:  cannot distribute relation \"model\" because it has triggers" \
	"$(C -c "SELECT create_reference_table('bert_standin.model')" 2>&1 | head -1)"
C -c "SET citus.enable_unsafe_triggers = on" -c "SELECT create_reference_table('bert_standin.model')" \
	-c "SELECT create_reference_table('bert_standin.model_chunk')" >/dev/null
check "with citus.enable_unsafe_triggers both become reference tables" "n|t n|t" \
	"$(C -c "SELECT partmethod::text || '|' || repmodel::text FROM pg_dist_partition WHERE logicalrelid::text LIKE 'bert_standin.%' ORDER BY 1" | tr '\n' ' ' | sed 's/ $//')"
check "placements: coordinator and every worker" "4 4" \
	"$(C -c "SELECT count(*) FROM pg_dist_shard JOIN pg_dist_placement USING (shardid) WHERE logicalrelid::text LIKE 'bert_standin.%' GROUP BY logicalrelid" | tr '\n' ' ' | sed 's/ $//')"

# 2. an install is one distributed transaction, two-phase committed
out=$(C 2>&1 <<'SQL'
SET citus.log_remote_commands = on;
BEGIN;
INSERT INTO bert_standin.model VALUES ('m1', 'aaa', 3);
INSERT INTO bert_standin.model_chunk VALUES ('aaa', 0, '\x010203');
COMMIT;
SQL
)
check "the insert is prepared and committed on each worker (2PC)" "3 3" \
	"$(echo "$out" | grep -c 'issuing PREPARE TRANSACTION') $(echo "$out" | grep -c 'issuing COMMIT PREPARED')"
check "the trigger fires on the shard placement, not on the registry table" "registry trigger fired on model_" \
	"$(echo "$out" | grep -o 'registry trigger fired on model_' | sort -u)"
for w in "$W1" "$W2" "$W3"; do
	check "installed row and bytes on worker $w" "m1|aaa|1" \
		"$(cq "$w" -c "SELECT m.name, m.content_hash, (SELECT count(*) FROM bert_standin.model_chunk) FROM bert_standin.model m")"
done
C -c "BEGIN" -c "INSERT INTO bert_standin.model VALUES ('m2', 'bbb', 3)" -c "ROLLBACK" >/dev/null 2>&1
check "a rolled-back install reaches no node" "m1 m1 m1 m1" \
	"$(for p in "$COORD" "$W1" "$W2" "$W3"; do cq "$p" -c "SELECT string_agg(name, ',') FROM bert_standin.model"; done | tr '\n' ' ' | sed 's/ $//')"

# 3. reading the registry from inside a shard task
C >/dev/null <<'SQL'
CREATE TABLE docs (id bigint PRIMARY KEY, model text);
SELECT create_distributed_table('docs', 'id');
INSERT INTO docs SELECT g, 'm1' FROM generate_series(1, 20) g;
SQL
check "a shard task may not query the reference table (what bert's name lookup does)" \
	"ERROR:  cannot execute a distributed query from a query on a shard" \
	"$(C -c "SELECT count(bert_standin.lookup(model)) FROM docs" 2>&1 | head -1)"
check "it may with citus.allow_nested_distributed_execution set for the lookup" "20|aaa" \
	"$(C -c "SELECT count(*), min(bert_standin.lookup_nested(model)) FROM docs")"
check "and inside a pushed-down UPDATE too" "20" \
	"$(C -c "ALTER TABLE docs ADD COLUMN h text" -c "UPDATE docs SET h = bert_standin.lookup_nested(model)" \
	      -c "SELECT count(*) FROM docs WHERE h = 'aaa'")"

# 4. drop
C -c "DELETE FROM bert_standin.model WHERE name = 'm1'" -c "DELETE FROM bert_standin.model_chunk" >/dev/null 2>&1
check "a drop removes the rows everywhere" "0 0 0 0" \
	"$(for p in "$COORD" "$W1" "$W2" "$W3"; do cq "$p" -c "SELECT count(*) FROM bert_standin.model"; done | tr '\n' ' ' | sed 's/ $//')"

# 5. what crosses the network: a model's bytes, in 1 MB rows
bytes=$(stat -c %s "$model_file")
ship() {	# ship TABLE: seconds to insert the model file's chunks
	local t0 t1
	t0=$(date +%s.%N)
	C -c "INSERT INTO $1 SELECT 'ccc', s, pg_read_binary_file('$model_file', s::bigint * 1048576,
	        least(1048576, $bytes - s::bigint * 1048576))
	      FROM generate_series(0, ($bytes - 1) / 1048576) s" >/dev/null || return 1
	t1=$(date +%s.%N)
	secs "$t0" "$t1"
}
C -c "CREATE TABLE local_chunk (LIKE bert_standin.model_chunk INCLUDING ALL)" >/dev/null
local_s=$(ship local_chunk)
ref_s=$(ship bert_standin.model_chunk)
echo "shipping $(basename "$model_file") ($bytes bytes): ${local_s} s into a local table, ${ref_s} s into the reference table (coordinator + 3 workers)"
t0=$(date +%s.%N)
cq "$W1" -c "SELECT sum(length(data)) FROM bert_standin.model_chunk" >/dev/null
t1=$(date +%s.%N)
echo "reading the bytes back on a worker (what a snapshot build reads): $(secs "$t0" "$t1") s"
check "every worker holds the bytes" "$bytes $bytes $bytes" \
	"$(for w in "$W1" "$W2" "$W3"; do cq "$w" -c "SELECT sum(length(data)) FROM bert_standin.model_chunk"; done | tr '\n' ' ' | sed 's/ $//')"
C -c "INSERT INTO bert_standin.model VALUES ('m3', 'ccc', $bytes)" >/dev/null 2>&1

# 6. a worker added later: rows reachable at once, local only after replication
W4=$(citus_node_start) || exit 1
cq "$W4" -c "CREATE EXTENSION bert" -c "$standin" >/dev/null || exit 1
C -c "SELECT citus_add_node('localhost', $W4)" >/dev/null || exit 1
check "new worker: no placement of the registry yet" "0" \
	"$(C -c "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE n.nodeport = $W4")"
check "new worker: the row is readable (from another node)" "m3" "$(cq "$W4" -c "SELECT name FROM bert_standin.model")"
t0=$(date +%s.%N)
C -c "SELECT replicate_reference_tables('block_writes')" >/dev/null
t1=$(date +%s.%N)
echo "replicate_reference_tables('block_writes') to the new worker: $(secs "$t0" "$t1") s"
check "new worker: placements after replicate_reference_tables" "2" \
	"$(C -c "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE n.nodeport = $W4")"
check "new worker: the bytes are local" "$bytes" \
	"$(cq "$W4" -c "SET citus.override_table_visibility = off" -c "SELECT sum(length(data)) FROM bert_standin.model_chunk_$(C -c "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'bert_standin.model_chunk'::regclass")")"

# 7. pushing rows with run_command_on_workers instead: not transactional
C -c "CREATE TABLE plain (x int)" >/dev/null
for w in "$W1" "$W2" "$W3" "$W4"; do cq "$w" -c "CREATE TABLE IF NOT EXISTS plain (x int)" >/dev/null; done
C -c "BEGIN" -c "INSERT INTO plain VALUES (1)" -c "SELECT run_command_on_workers('INSERT INTO plain VALUES (1)')" \
	-c "ROLLBACK" >/dev/null
check "run_command_on_workers inside a rolled-back transaction: rows stay on the workers" "0 1 1 1 1" \
	"$(for p in "$COORD" "$W1" "$W2" "$W3" "$W4"; do cq "$p" -c "SELECT count(*) FROM plain"; done | tr '\n' ' ' | sed 's/ $//')"

echo "citus-registry: $passed as assumed, $failed not"
[ "$failed" -eq 0 ]
