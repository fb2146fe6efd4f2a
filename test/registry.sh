#!/usr/bin/env bash
# The registry with several sessions and crashes; run inside pg_virtualenv
# (test.sh does).  Prints what it checks and ends with "N passed, M failed".
#   1. a concurrent session never sees half of an install, replacement,
#      training or drop: each new session sees the model before or after;
#   2. kill -9 of a backend during an install, a training and a snapshot
#      build: after the restart no leftover files, the registry consistent,
#      each model fully there or not at all;
#   3. files rewritten in place while sessions install from them, list them
#      and embed with them, for BERT_REWRITE_SECONDS (60): no server restart
#      (0.1.0 mapped such files and died of SIGBUS).
set -uo pipefail
cd "$(dirname "$0")/.."

. test/lib.sh
# q with psql's own arguments (several -c, -f) instead of lib.sh's
q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }
# the checkpointer's pid changes when the server restarts after a crash
restarts_marker() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"; }
wait_for_server() {
	for _ in $(seq 1 120); do
		q -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

work=$(mktemp -d /tmp/bert_registry.XXXXXX)
chmod 755 "$work"
trap 'touch "$work/stop"; wait; rm -rf "$work"' EXIT

q -c "DROP EXTENSION IF EXISTS bert CASCADE" -c "CREATE EXTENSION bert" >/dev/null
pgdata=$(q -c "SHOW data_directory")
cache="$pgdata/pg_bert/cache"
fp32=$(q -c "SELECT directory || '/all-MiniLM-L6-v2.bert' FROM bert_models WHERE name = 'all-MiniLM-L6-v2'")
int8=$(q -c "SELECT directory || '/all-MiniLM-L6-v2-int8.bert' FROM bert_models WHERE name = 'all-MiniLM-L6-v2-int8'")
q -c "CREATE TABLE topics (id int, body text, topic text);
      INSERT INTO topics SELECT g, CASE WHEN g % 2 = 0 THEN 'Simmer the onions in butter, step ' ELSE 'Compile the kernel with symbols, step ' END || g,
                                   CASE WHEN g % 2 = 0 THEN 'cooking' ELSE 'computing' END
      FROM generate_series(1, 40) g" >/dev/null
marker=$(restarts_marker)

# 1. ------------------------------------------------------------------------
# Session A changes model "half" in four transactions, each holding its
# change uncommitted for 2 s and then left committed for 1 s (also the
# last: observers stop when the writer ends, and one still reading the
# state before the drop would otherwise be the last seen); observers (a new session each time) classify
# what they see: none, fp32 weights, int8 weights, with or without the
# classifier trained on them.  Anything else would be half of a change.
# (The names go through sub-selects: bert_embed with constant arguments is
# IMMUTABLE, so the planner would call it even in a CASE branch not taken.)
cat > "$work/observe.sql" <<SQL
SELECT CASE
  WHEN NOT EXISTS (SELECT FROM bert_models WHERE name = 'half') THEN 'none'
  WHEN bert_embed('probe', (SELECT 'half'::text)) = bert_embed('probe', 'all-MiniLM-L6-v2') THEN 'fp32'
  WHEN bert_embed('probe', (SELECT 'half'::text)) = bert_embed('probe', 'all-MiniLM-L6-v2-int8') THEN 'int8'
  ELSE 'other weights' END
  || CASE WHEN NOT EXISTS (SELECT FROM bert_models WHERE name = 'half-clf') THEN ''
          WHEN bert_classify('Stir the soup', (SELECT 'half-clf'::text)) IN ('cooking', 'computing') THEN '+clf'
          ELSE '+broken clf' END;
SQL
(
	q -c "SET client_min_messages = warning" \
	  -c "BEGIN" -c "SELECT bert_install_model('half', '$fp32')" -c "SELECT pg_sleep(2)" -c "COMMIT" \
	  -c "SELECT pg_sleep(1)" \
	  -c "BEGIN" -c "SELECT bert_install_model('half', '$int8', true)" -c "SELECT pg_sleep(2)" -c "COMMIT" \
	  -c "SELECT pg_sleep(1)" \
	  -c "BEGIN" -c "SELECT model FROM bert_train_classifier('half-clf', 'half', 'SELECT body, topic FROM topics', epochs => 5)" \
	  -c "SELECT pg_sleep(2)" -c "COMMIT" \
	  -c "SELECT pg_sleep(1)" \
	  -c "BEGIN" -c "SELECT bert_drop_model('half-clf'), bert_drop_model('half')" -c "SELECT pg_sleep(2)" -c "COMMIT" \
	  -c "SELECT pg_sleep(1)" \
	  > "$work/writer.out" 2>&1
	touch "$work/writer.done"
) &
: > "$work/seen"
while [ ! -e "$work/writer.done" ]; do
	q -f "$work/observe.sql" >> "$work/seen" 2>&1
done
wait
seen=$(uniq "$work/seen" | tr '\n' ' ' | sed 's/ $//')
echo "observed, in order: $seen ($(wc -l < "$work/seen") observations)"
check "writer committed its four changes" "0" "$(grep -c ERROR "$work/writer.out")"
check "every observation is a whole state" "0" "$(grep -cvE '^(none|fp32|int8|int8\+clf)$' "$work/seen")"
check "the states in order, each seen" "none fp32 int8 int8+clf none" "$seen"

# 2. ------------------------------------------------------------------------
# kill -9 of a backend mid-way, then the server restarts (crash recovery)
kill_when() {	# kill_when LABEL TEST-COMMAND: kill -9 the backend running LABEL once TEST succeeds
	local pid=""
	for _ in $(seq 1 600); do
		if eval "$2"; then
			pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%$1%' AND pid <> pg_backend_pid() LIMIT 1")
			[ -n "$pid" ] && break
		fi
		sleep 0.01
	done
	if [ -n "$pid" ]; then
		kill -9 "$pid"
		echo "killed backend $pid ($1)"
	fi
	[ -n "$pid" ]
}
tmpdir="$pgdata/base/pgsql_tmp"

# ... during an install: while its temporary copy is being made or stored
q -c "SELECT bert_install_model('killed-install', '$int8')" > "$work/kill1.out" 2>&1 &
kill_when killed-install 'ls "$tmpdir" 2>/dev/null | grep -q "bert-install"'
check "killed during the install" "0" "$?"
wait
wait_for_server
check "server back after the crash" "1" "$(q -c "SELECT 1")"
check "no install in the registry" "0" "$(q -c "SELECT count(*) FROM bert_models WHERE name = 'killed-install'")"
check "no bytes without a row" "0" "$(q -c "SELECT count(*) FROM _bert.model_chunk c WHERE NOT EXISTS (SELECT FROM _bert.model m WHERE c.content_hash IN (m.content_hash, m.base_hash))")"
check "no temporary files left" "0" "$(ls "$tmpdir" 2>/dev/null | grep -c bert || true)"
q -c "SELECT bert_install_model('killed-install', '$int8')" >/dev/null
check "the install runs again" "t" "$(q -c "SELECT bert_embed('x', 'killed-install') = bert_embed('x', 'all-MiniLM-L6-v2-int8')")"

# ... during a training (client_min_messages: no NOTICE per epoch)
q -c "SET client_min_messages = warning" -c "SELECT * FROM bert_train_classifier('killed-training', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', epochs => 100000)" > "$work/kill2.out" 2>&1 &
kill_when killed-training 'sleep 1.5; true'
check "killed during the training" "0" "$?"
wait
wait_for_server
check "no trained model in the registry" "0" "$(q -c "SELECT count(*) FROM bert_models WHERE name = 'killed-training'")"
check "no temporary files left after it" "0" "$(ls "$tmpdir" 2>/dev/null | grep -c bert || true)"

# ... during a snapshot build: a cold load of a stored model
hash=$(q -c "SELECT content_hash FROM bert_models WHERE name = 'killed-install'")
rm -f "$cache/$hash.bert"
q -c "SELECT bert_embed('cold', 'killed-install') AS killed_cold" > "$work/kill3.out" 2>&1 &
kill_when killed_cold 'ls "$cache" 2>/dev/null | grep -q "^$hash.bert.tmp"'
check "killed during a snapshot build" "0" "$?"
wait
wait_for_server
check "its temporary file is there until the next load" "1" "$(ls "$cache" | grep -c "^$hash.bert.tmp" || true)"
check "the next load builds the snapshot" "t" "$(q -c "SELECT bert_embed('x', 'killed-install') = bert_embed('x', 'all-MiniLM-L6-v2-int8')")"
check "and removes the dead writer's file" "0" "$(ls "$cache" | grep -c '\.tmp\.' || true)"
check "the registry has exactly the committed models" "killed-install" "$(q -c "SELECT string_agg(name, ',') FROM _bert.model")"
q -c "SELECT bert_drop_model('killed-install')" >/dev/null
marker=$(restarts_marker)

# 3. ------------------------------------------------------------------------
# Sources rewritten in place (cp over an existing file keeps the inode and
# truncates it first), for installs from a path and for shipped models in
# bert.model_dir, while sessions install, list and embed.
seconds=${BERT_REWRITE_SECONDS:-60}
test/make-head-checkpoints.sh "$work/heads" >/dev/null
model/bert-convert --quiet "$work/heads/seq" "$work/small-a.bert"
model/bert-convert --quiet "$work/heads/token" "$work/small-b.bert"
mkdir -p "$work/shipped"
cp "$work/small-a.bert" "$work/src.bert"
cp "$fp32" "$work/shipped/flip.bert"
chmod -R a+rX "$work"
rm -f "$work/stop"
(	# the rewriter: whole models and truncated ones, in place. Each whole
	# copy stays for a while so that readers also meet valid files: a reader
	# of the 60 MB shipped model needs a few hundred milliseconds, and with
	# valid windows of 50 ms a CI run once saw 0 of 115 embeddings succeed.
	i=0
	while [ ! -e "$work/stop" ]; do
		case $((i % 6)) in
		0) cp "$work/small-b.bert" "$work/src.bert"; cp "$int8" "$work/shipped/flip.bert" ;;
		1|4) sleep 0.7 ;;
		2) truncate -s 100000 "$work/src.bert"; truncate -s 30000000 "$work/shipped/flip.bert" ;;
		3) cp "$work/small-a.bert" "$work/src.bert"; cp "$fp32" "$work/shipped/flip.bert" ;;
		5) truncate -s 0 "$work/src.bert"; truncate -s 0 "$work/shipped/flip.bert" ;;
		esac
		i=$((i + 1))
	done
) &
loop() {	# loop NAME SQL...: run the SQL in a new session until stopped; count outcomes
	local name=$1
	shift
	while [ ! -e "$work/stop" ]; do
		if q "$@" >/dev/null 2>>"$work/$name.err"; then echo ok; else echo error; fi >> "$work/$name.log"
	done
}
loop install -c "SELECT bert_install_model('rewritten', '$work/src.bert', true)" &
loop list -c "SET bert.model_dir = '$work/shipped'" -c "SELECT count(*) FROM bert_models" &
loop shipped -c "SET bert.model_dir = '$work/shipped'" -c "SELECT bert_embed('x', 'flip')" &
loop stored -c "SELECT count(*) FROM bert_token_embeddings('Hello World', 'rewritten')" &
sleep "$seconds"
touch "$work/stop"
wait
for l in install list shipped stored; do
	echo "$l: $(grep -c '^ok' "$work/$l.log") ok, $(grep -c '^error' "$work/$l.log") refused"
done
sort "$work"/*.err 2>/dev/null | sed 's/^ERROR:  //' | grep -vE '^(DETAIL|HINT|CONTEXT)' | sort | uniq -c | sort -rn | head -8
check "no server restart in $seconds s of rewrites" "$marker" "$(restarts_marker)"
check "installs succeeded" "yes" "$([ "$(grep -c '^ok' "$work/install.log")" -gt 0 ] && echo yes || echo no)"
check "listings all succeeded" "0" "$(grep -c '^error' "$work/list.log")"
check "shipped embeddings succeeded" "yes" "$([ "$(grep -c '^ok' "$work/shipped.log")" -gt 0 ] && echo yes || echo no)"
check "stored models used" "yes" "$([ "$(grep -c '^ok' "$work/stored.log")" -gt 0 ] && echo yes || echo no)"
check "refusals are clean errors, no crash" "0" "$(cat "$work"/*.err 2>/dev/null | grep -ciE 'server closed|terminated|connection to server' || true)"
check "no temporary files left" "" \
	"$({ ls "$cache"; ls "$cache/shipped"; } 2>/dev/null | grep '\.tmp\.'; ls "$tmpdir" 2>/dev/null | grep bert)"
q -c "SELECT bert_drop_model(name) FROM bert_models WHERE storage = 'stored'" -c "DROP TABLE topics" >/dev/null

report registry
