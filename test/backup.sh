#!/usr/bin/env bash
# Models in backups, on replicas and through upgrades, on clusters of its
# own (initdb and pg_ctl as postgres, sockets in a directory of its own, no
# TCP; every cluster stopped whatever happens).  Prints what it checks and
# ends with "N passed, M failed".
#   1. pg_dump -Fc of a database with a trained classifier, a trained
#      tagger, an installed checkpoint and a table with generated columns
#      using each, pg_restore into a fresh cluster: all rows, the same
#      outputs (the generated columns are computed again during the restore);
#   2. the same dump restored with pg_restore -j, in the documented steps;
#   3. a streaming standby (pg_basebackup -R): a model installed and one
#      trained on the primary are used on the standby after replay; install,
#      drop and train there fail with 25006;
#   4. pg_upgrade of the primary into a new cluster: the same outputs, the
#      model cache rebuilt on first use.
# Usage (as root or postgres): test/backup.sh
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=$(pg_config --bindir)

. test/lib.sh
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

base=$(mktemp -d /tmp/bert_backup.XXXXXX)
chmod 755 "$base"
[ "$(id -u)" = 0 ] && chown postgres: "$base"
cleanup() {
	for d in "$base"/*/; do
		[ -f "$d/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$d" stop -m immediate >/dev/null 2>&1
	done
	rm -rf "$base"
}
trap cleanup EXIT

# clusters: name -> port (the port only names the socket in $base)
declare -A port=([primary]=5301 [restored]=5302 [standby]=5303 [upgraded]=5304)
start() {	# start NAME: start the cluster in $base/NAME
	as_pg "$bin/pg_ctl" -D "$base/$1" -l "$base/$1.log" -w -t 60 \
		-o "-p ${port[$1]} -k $base -c listen_addresses=''" start >/dev/null ||
		{ echo "cannot start $1:"; tail -20 "$base/$1.log"; exit 1; }
}
stop() { as_pg "$bin/pg_ctl" -D "$base/$1" -w -t 60 stop >/dev/null; }
init() {	# init NAME: a new cluster
	as_pg "$bin/initdb" -D "$base/$1" -A trust -U postgres --no-sync >/dev/null
}
sql() {	# sql CLUSTER DB SQL...
	local c=$1 db=$2
	shift 2
	as_pg "$bin/psql" -h "$base" -p "${port[$c]}" -d "$db" -X -qAt -v ON_ERROR_STOP=1 "$@"
}

as_pg test/make-head-checkpoints.sh "$base/heads" >/dev/null 2>&1 ||
	{ test/make-head-checkpoints.sh "$base/heads" >/dev/null && chmod -R a+rX "$base/heads"; }

# The queries whose answers must survive: the table (its generated columns
# were computed at insert, or during a restore), and the models used live.
cat > "$base/answers.sql" <<'SQL'
SELECT 'rows ' || count(*) || ', table ' || md5(string_agg(format('%s|%s|%s|%s|%s', id, body, emb, topic, ents), E'\n' ORDER BY id))
FROM docs;
SELECT 'live ' || md5(string_agg(format('%s|%s|%s|%s', t, bert_classify(t, 'clf'),
         (SELECT jsonb_agg(e) FROM bert_entities(t, 'tagger') e), bert_embed(t, 'ckpt')), E'\n' ORDER BY t))
FROM unnest(ARRAY['Yesterday Anne Marie drove to New Hampshire.', 'Preheat the oven and butter the tray.',
                  'The server crashed after the update.', 'Linda flew to Oregon.']) t;
SQL

# 1. -------------------------------------------------------------------------
init primary
start primary
sql primary postgres -c "CREATE DATABASE shop" >/dev/null
sql primary shop -q <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION bert;
-- an installed Hugging Face checkpoint, converted in the server
SELECT bert_install_model('ckpt', '$base/heads/seq');
-- a trained classifier
CREATE TABLE topics (body text, topic text);
INSERT INTO topics SELECT s, 'cooking' FROM unnest(ARRAY['Simmer the onions slowly in butter.',
  'Knead the dough, then let it rise.', 'Season the soup with thyme.', 'Roast the chicken for an hour.',
  'Whisk the eggs with sugar.', 'Grate the cheese over the pasta.']) s;
INSERT INTO topics SELECT s, 'computing' FROM unnest(ARRAY['Compile the kernel with symbols.',
  'The index makes this query faster.', 'Restart the server after the update.', 'The function returns a null pointer.',
  'Push your commits and open a pull request.', 'The laptop has sixteen gigabytes of memory.']) s;
SELECT model FROM bert_train_classifier('clf', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', epochs => 30);
-- a trained tagger
CREATE TABLE people (body text, entities jsonb);
INSERT INTO people SELECT s, jsonb_build_array(jsonb_build_object('start', strpos(s, p) - 1, 'end', strpos(s, p) - 1 + length(p), 'label', 'PER'),
                                               jsonb_build_object('start', strpos(s, l) - 1, 'end', strpos(s, l) - 1 + length(l), 'label', 'LOC'))
FROM (VALUES ('Mary Ann moved to New Hampshire.', 'Mary Ann', 'New Hampshire'), ('John drove to Ohio.', 'John', 'Ohio'),
             ('Linda was born in North Dakota.', 'Linda', 'North Dakota'), ('Robert met Emily in New York.', 'Robert', 'New York'),
             ('Send it to Alice in South Carolina.', 'Alice', 'South Carolina'), ('Karen Lee lives in New Mexico.', 'Karen Lee', 'New Mexico')) v(s, p, l);
SELECT model FROM bert_train_token_classifier('tagger', 'all-MiniLM-L6-v2', 'SELECT body, entities FROM people', epochs => 60);
-- generated columns using each (a set-returning function goes through an
-- IMMUTABLE wrapper, which names its schema: a restore runs with an empty
-- search_path)
CREATE FUNCTION public.entities(t text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS
\$\$ SELECT coalesce(jsonb_agg(jsonb_build_array(e.entity, e.label, e.start_char, e.end_char) ORDER BY e.start_char), '[]')
   FROM public.bert_entities(t, 'tagger') e \$\$;
CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL,
  emb real[] GENERATED ALWAYS AS (bert_embed(body, 'ckpt')) STORED,
  topic text GENERATED ALWAYS AS (bert_classify(body, 'clf')) STORED,
  ents jsonb GENERATED ALWAYS AS (public.entities(body)) STORED);
INSERT INTO docs (id, body)
SELECT g, (ARRAY['Anne Marie baked bread in Ohio.', 'The server in New York crashed.', 'Paul Weber cooked soup.',
                 'Reboot the router in Utah.'])[1 + g % 4] || ' Note ' || g || '.'
FROM generate_series(1, 200) g;
SQL
ref=$(sql primary shop -f "$base/answers.sql")
echo "$ref"
check "primary: models and table ready" "rows 200" "$(echo "$ref" | head -1 | cut -d, -f1)"
check "primary: tagger finds entities" "t" "$(sql primary shop -c "SELECT count(*) > 0 FROM docs WHERE ents <> '[]'")"
# installs, trainings and drops are logged when they commit, and only then
sql primary shop -c "BEGIN" -c "SELECT bert_install_model('rolled-back', '$base/heads/token')" -c "ROLLBACK" >/dev/null
sql primary shop -c "SELECT bert_install_model('logged', '$base/heads/token')" -c "SELECT bert_drop_model('logged')" >/dev/null
logged() { grep -c "$1" "$base/primary.log"; }
check "LOG: an install, with who, content and size" "1" \
	"$(logged 'bert: model "ckpt" installed by role "postgres" with bert_install_model(): content [0-9a-f]\{64\}, [0-9]* bytes$')"
check "LOG: a training, an overlay on its base" "1" \
	"$(logged 'bert: model "clf" installed by role "postgres" with bert_train_classifier(): content [0-9a-f]\{64\}, [0-9]* bytes (an overlay on [0-9a-f]\{64\})')"
check "LOG: a drop" "1" "$(logged 'bert: model "logged" dropped by role "postgres"')"
check "LOG: nothing for a rolled-back install" "0" "$(logged 'model "rolled-back"')"
check "a trained head adds kilobytes, not a model" "t" \
	"$(sql primary shop -c "SELECT bool_and(bytes < 65536 AND bytes_in_database < 1048576) FROM bert_models WHERE name IN ('clf', 'tagger')")"

as_pg "$bin/pg_dump" -h "$base" -p "${port[primary]}" -d shop -Fc -f "$base/shop.dump"
check "pg_dump -Fc" "0" "$?"
echo "dump: $(du -k "$base/shop.dump" | cut -f1) kB; $(as_pg "$bin/pg_restore" -l "$base/shop.dump" | grep -c 'TABLE DATA _bert') registry tables in it"

init restored
start restored
sql restored postgres -c "CREATE DATABASE shop" >/dev/null
as_pg "$bin/pg_restore" -h "$base" -p "${port[restored]}" -d shop "$base/shop.dump" 2> "$base/restore.err"
check "pg_restore into a fresh cluster: no error" "0" "$?"
cat "$base/restore.err"
check "restored: every row, the same generated values, the same answers" "$ref" "$(sql restored shop -f "$base/answers.sql")"
check "restored: the models are stored there, the base is shipped" "ckpt stored clf stored tagger stored" \
	"$(sql restored shop -c "SELECT string_agg(name || ' ' || storage, ' ' ORDER BY name) FROM bert_models WHERE name IN ('ckpt', 'clf', 'tagger')")"

# 2. -------------------------------------------------------------------------
# pg_restore -j loads table data in parallel, with no order between the
# registry and the tables that use it: the registry first, then the rest.
sql restored postgres -c "CREATE DATABASE shop2" >/dev/null
as_pg "$bin/pg_restore" -h "$base" -p "${port[restored]}" -d shop2 --section=pre-data "$base/shop.dump" &&
as_pg "$bin/pg_restore" -h "$base" -p "${port[restored]}" -d shop2 --data-only -n _bert "$base/shop.dump" &&
as_pg "$bin/pg_restore" -h "$base" -p "${port[restored]}" -d shop2 -j 2 --section=data --section=post-data -N _bert "$base/shop.dump"
check "pg_restore -j in three steps" "0" "$?"
check "restored with -j: the same" "$ref" "$(sql restored shop2 -f "$base/answers.sql")"
stop restored

# 3. -------------------------------------------------------------------------
as_pg "$bin/pg_basebackup" -h "$base" -p "${port[primary]}" -D "$base/standby" -R -X stream -c fast
check "pg_basebackup -R" "0" "$?"
start standby
check "standby: the models of the base backup" "$ref" "$(sql standby shop -f "$base/answers.sql")"
# installed and trained on the primary after the base backup
sql primary shop -q <<SQL >/dev/null
SET client_min_messages = warning;
SELECT bert_install_model('late-ckpt', '$base/heads/token');
SELECT model FROM bert_train_classifier('late-clf', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', epochs => 10, seed => 7);
SQL
lsn=$(sql primary shop -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 120); do
	[ "$(sql standby shop -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
	sleep 0.5
done
late="SELECT md5(string_agg(format('%s|%s|%s', t, bert_classify(t, 'late-clf'),
           (SELECT array_agg(label ORDER BY position) FROM bert_token_labels(t, 'late-ckpt'))), ',' ORDER BY t))
      FROM unnest(ARRAY['Bake the cake.', 'Hello World', 'The disk is full.']) t"
check "standby: models installed and trained on the primary, after replay" \
	"$(sql primary shop -c "$late")" "$(sql standby shop -c "$late")"
err() { sql standby shop -c "DO \$\$ BEGIN $1; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%: %', SQLSTATE, SQLERRM; END \$\$" 2>&1 | sed 's/^NOTICE:  //'; }
check "standby: install" "25006: cannot execute bert_install_model() during recovery" \
	"$(err "PERFORM bert_install_model('x', '$base/heads/seq')")"
check "standby: install from bytes" "25006: cannot execute bert_install_model() during recovery" \
	"$(err "PERFORM bert_install_model('x', '\\x00'::bytea)")"
check "standby: drop" "25006: cannot execute bert_drop_model() during recovery" "$(err "PERFORM bert_drop_model('clf')")"
check "standby: train" "25006: cannot execute bert_train_classifier() during recovery" \
	"$(err "PERFORM bert_train_classifier('x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics')")"
check "standby: train a tagger" "25006: cannot execute bert_train_token_classifier() during recovery" \
	"$(err "PERFORM bert_train_token_classifier('x', 'all-MiniLM-L6-v2', 'SELECT body, entities FROM people')")"
# dropped on the primary: gone on the standby too
sql primary shop -c "SELECT bert_drop_model('late-clf')" >/dev/null
lsn=$(sql primary shop -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 120); do
	[ "$(sql standby shop -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
	sleep 0.5
done
check "standby: a model dropped on the primary is gone after replay" "42704" \
	"$(err "PERFORM bert_classify('x', 'late-clf')" | cut -d: -f1)"
stop standby

# 4. -------------------------------------------------------------------------
stop primary
init upgraded
(cd "$base" && as_pg "$bin/pg_upgrade" -b "$bin" -B "$bin" -d "$base/primary" -D "$base/upgraded" \
	-p "${port[primary]}" -P "${port[upgraded]}" -s "$base" > "$base/upgrade.log" 2>&1)
rc=$?
check "pg_upgrade" "0" "$rc"
[ "$rc" -eq 0 ] || tail -20 "$base/upgrade.log"
check "upgraded: no model cache copied" "no" "$([ -e "$base/upgraded/pg_bert/cache" ] && echo yes || echo no)"
start upgraded
check "upgraded: the same answers" "$ref" "$(sql upgraded shop -f "$base/answers.sql")"
check "upgraded: the cache rebuilt on first use" "t" \
	"$(sql upgraded shop -c "SELECT bool_and(bytes_in_cache = bytes) FROM bert_models WHERE name IN ('ckpt', 'clf', 'tagger')")"
stop upgraded

report backup
