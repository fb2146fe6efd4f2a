#!/usr/bin/env bash
# A soak: pgbench clients mixing every SQL function of bert (embeddings,
# batches, similarity, tokens, cosine and <=>, heads, entities,
# classification, the catalogue, bert_embed_table, training, install and
# drop) for some minutes.  Every transaction ends with the backend recording
# its own memory (/proc/self/status) in a table, so each backend is measured
# between statements, after every kind of work, hundreds of times a minute
# across the clients; a backend's memory in a minute is the highest such
# record.  Passes when no backend's memory grows by more than 1 MB from the
# first minute to the last, no transaction fails and no backend is
# restarted (the same backends serve the clients throughout).
# Memory is the backend's private memory (RssAnon); its RSS also counts
# pages it shares, reported apart: the model files' pages (RssFile, which
# grow as new words touch new rows of the embedding table, up to the file's
# size, one copy for the whole server) and shared_buffers (RssShmem).
# Also printed, not judged: each backend sampled from outside once a minute
# in the middle of its work (what a statement holds while it runs).
# Runs a throwaway cluster (pg_virtualenv) as root unless PGHOST is set.
#   bench/soak.sh              (after make install && make install-model)
#   CLIENTS=12 MINUTES=5 bench/soak.sh
#   INSTALLS=0 bench/soak.sh   without the functions that install a model
#                              (install, drop, train), which make every
#                              backend resolve its model names again
#                              (cache.c; a model whose content is the same
#                              stays loaded)

set -euo pipefail
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv -t "$0" "$@"
fi
cd "$(dirname "$0")/.."
clients=${CLIENTS:-12}
minutes=${MINUTES:-5}
installs=${INSTALLS:-1}
model=all-MiniLM-L6-v2
q() { psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }
dir=$(mktemp -d /tmp/bert_soak.XXXXXX)
chmod 755 "$dir"
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

# tiny token and sequence classification checkpoints of its own
heads="$dir/heads"
test/make-head-checkpoints.sh "$heads" > /dev/null
chmod -R a+rX "$heads"

q "SET client_min_messages = warning;
   CREATE EXTENSION IF NOT EXISTS bert;
   DROP TABLE IF EXISTS soak_docs;
   CREATE TABLE soak_docs (id int PRIMARY KEY, body text, emb real[]);
   INSERT INTO soak_docs SELECT g, 'Document ' || g || ' is about ' ||
     (ARRAY['cats', 'markets', 'rain', 'football', 'music', 'databases', 'bread', 'trains'])[1 + g % 8]
     || repeat(' and more', g % 20) FROM generate_series(1, 500) g;
   UPDATE soak_docs SET emb = bert_embed(body, '$model');
   SELECT bert_install_model('soak-token', '$heads/token', replace => true);
   SELECT bert_install_model('soak-seq', '$heads/seq', replace => true);
   DROP TABLE IF EXISTS soak_mem;
   CREATE UNLOGGED TABLE soak_mem (pid int, at timestamptz, anon bigint, file bigint, shmem bigint);"
for c in $(seq 0 $((clients - 1))); do
	q "DROP TABLE IF EXISTS soak_t$c; CREATE TABLE soak_t$c AS SELECT id, body, emb FROM soak_docs WHERE id <= 40"
done

cat > "$dir/embed.sql" <<SQL
\set id random(1, 500)
SELECT bert_embed(body) FROM soak_docs WHERE id = :id;
SELECT bert_embed(body, '$model', 64) FROM soak_docs WHERE id = :id;
SELECT bert_similarity(body, 'a sentence about cats') FROM soak_docs WHERE id = :id;
SELECT bert_similarity(body, body, '$model') FROM soak_docs WHERE id = :id;
SQL
# the largest batch first (three full encoder calls), so that every backend
# reaches its high-water mark of activation and BLAS buffers in the first
# minute and later growth can only be a leak
cat > "$dir/many.sql" <<SQL
\set id random(1, 480)
SELECT count(embedding) FROM bert_embed_many(ARRAY(SELECT body FROM soak_docs ORDER BY length(body) DESC, id LIMIT 100));
SELECT count(embedding) FROM bert_embed_many(ARRAY(SELECT body FROM soak_docs WHERE id BETWEEN :id AND :id + 20));
SELECT count(embedding) FROM bert_embed_many(ARRAY(SELECT CASE WHEN id % 3 = 0 THEN NULL ELSE body END FROM soak_docs WHERE id BETWEEN :id AND :id + 20), '$model');
SQL
cat > "$dir/tokens.sql" <<SQL
\set id random(1, 500)
SELECT bert_tokenize(body), bert_token_ids(body), bert_token_count(body) FROM soak_docs WHERE id = :id;
SELECT bert_tokenize(body, '$model', 16), bert_token_ids(body, '$model'), bert_token_count(repeat(body, 100), '$model') FROM soak_docs WHERE id = :id;
SQL
cat > "$dir/search.sql" <<SQL
SELECT id FROM soak_docs ORDER BY emb <=> bert_embed('something about trains') LIMIT 5;
SELECT max(bert_cosine_similarity(emb, (SELECT emb FROM soak_docs WHERE id = 1))) FROM soak_docs;
SQL
cat > "$dir/heads.sql" <<SQL
\set id random(1, 500)
SELECT count(*) FROM bert_token_embeddings((SELECT body FROM soak_docs WHERE id = :id), 'soak-token');
SELECT count(*) FROM bert_token_labels('Hello World, McDonald café ' || :id, 'soak-token');
SELECT count(*) FROM bert_entities('Hello World, McDonald café ' || :id, 'soak-token');
SELECT bert_classify('Hello World ' || :id, 'soak-seq');
SELECT count(*) FROM bert_classify_scores('McDonald café ' || :id, 'soak-seq');
SQL
cat > "$dir/catalogue.sql" <<SQL
SELECT count(*) FROM bert_models;
SELECT count(*) FROM bert_info();
SQL
cat > "$dir/table.sql" <<SQL
\set r random(0, 9)
UPDATE soak_t:client_id SET emb = NULL WHERE id % 10 = :r;
CALL bert_embed_table(('soak_t' || :client_id)::regclass, 'body', 'emb', 8);
SQL
cat > "$dir/train.sql" <<SQL
SELECT examples FROM bert_train_classifier('soak-train-' || :client_id, '$model',
  'SELECT body, (id % 2)::text FROM soak_docs WHERE id <= 30', epochs => 3, replace => true);
SQL
cat > "$dir/install.sql" <<SQL
SELECT bert_install_model('soak-inst-' || :client_id, '$heads/seq', replace => true);
SELECT bert_classify('Hello', 'soak-inst-' || :client_id);
SELECT bert_drop_model('soak-inst-' || :client_id);
SQL
# every transaction ends with its backend's own memory, between statements
for f in "$dir"/*.sql; do
	cat >> "$f" <<'SQL'
INSERT INTO soak_mem SELECT pg_backend_pid(), clock_timestamp(), (s[1])::bigint, (s[2])::bigint, (s[3])::bigint FROM regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\s+(\d+).*RssFile:\s+(\d+).*RssShmem:\s+(\d+)') s;
SQL
done
chmod 644 "$dir"/*.sql

started=$(q "SELECT pg_postmaster_start_time()")
PGOPTIONS="-c client_min_messages=warning" pgbench -n -c "$clients" -j 2 -T $((minutes * 60)) \
	-f "$dir/embed.sql@30" -f "$dir/many.sql@10" -f "$dir/tokens.sql@15" -f "$dir/search.sql@10" \
	-f "$dir/heads.sql@15" -f "$dir/catalogue.sql@5" -f "$dir/table.sql@5" \
	$([ "$installs" = 1 ] && echo "-f $dir/train.sql@1 -f $dir/install.sql@1") > "$dir/pgbench.out" 2>&1 &
bench=$!

# memory of each client's backend, every minute
sample() {	# minute
	psql -X -qAt -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND backend_type = 'client backend' ORDER BY pid" |
	while read -r pid; do
		[ -r "/proc/$pid/status" ] || continue
		echo "$1 $pid $(awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} /^RssShmem:/ {m = $2}
		                     END {print r, a, f, m}' "/proc/$pid/status")"
	done >> "$dir/samples"
}
t0=$(date +%s)
q "SELECT extract(epoch FROM clock_timestamp())" > "$dir/t0"
for m in $(seq 1 "$minutes"); do
	# each minute's sample a few seconds before the minute ends, the last one
	# while the clients still run
	sleep $((t0 + m * 60 - 5 - $(date +%s)))
	kill -0 $bench 2>/dev/null || break
	sample "$m"
	echo "minute $m: $(q "SELECT count(*) || ' backends recorded ' || sum(n) || ' times between statements, mean of their highest private memory ' || round(avg(a) / 1024, 1) || ' MB, model file pages ' || round(avg(f) / 1024, 1) || ' MB'
	                     FROM (SELECT pid, count(*) n, max(anon) a, max(file) f FROM soak_mem
	                           WHERE at >= to_timestamp($(cat "$dir/t0") + ($m - 1) * 60) AND at < to_timestamp($(cat "$dir/t0") + $m * 60 - 5) GROUP BY pid) x")";
	echo "          sampled from outside while working: $(awk -v m="$m" '$1 == m {n++; r += $3; a += $4; f += $5; s += $6} END {printf "%d backends, mean RSS %.1f MB = private %.1f + files %.1f + shared buffers %.1f", n, r / n / 1024, a / n / 1024, f / n / 1024, s / n / 1024}' "$dir/samples")"
done
status=0
wait $bench || status=$?
grep -E "transaction type|number of clients|duration|transactions actually processed|failed|aborted|latency average|tps" "$dir/pgbench.out" || true
grep -E "^script|SQL script|weight|- number of|- latency average" "$dir/pgbench.out" | head -40 || true

t0=$(cat "$dir/t0")
echo "== per backend, minute 1 to minute $minutes: highest private memory recorded between statements (kB)"
# per backend: its highest records and its number of records in minute 1 and in the last minute
per_pid="SELECT pid,
                max(anon) FILTER (WHERE m = 1) a1, max(anon) FILTER (WHERE m = $minutes) al,
                max(file) FILTER (WHERE m = 1) f1, max(file) FILTER (WHERE m = $minutes) fl,
                count(*) FILTER (WHERE m = 1) n1, count(*) FILTER (WHERE m = $minutes) nl
         FROM (SELECT pid, anon, file, 1 + floor((extract(epoch FROM at) - $t0) / 60)::int m FROM soak_mem) x
         GROUP BY pid"
q "SELECT 'pid ' || pid || ': private ' || a1 || ' -> ' || al || ' (' || to_char(al - a1, 'FMSG9999990') || '), model file pages ' || to_char(fl - f1, 'FMSG9999990') || ', records ' || n1 || ' and ' || nl
   FROM ($per_pid) y ORDER BY pid"
growth=$(q "SELECT max(al - a1) FROM ($per_pid) y")
same=$(q "SELECT CASE WHEN count(*) = $clients AND bool_and(n1 > 0 AND nl > 0) THEN 'yes' ELSE 'no' END FROM ($per_pid) y")
echo "== sampled from outside at minutes 1 and $minutes, in the middle of work (not judged): RSS = private + files + shared buffers"
awk -v last="$minutes" '
	$1 == 1 {r1[$2] = $3; a1[$2] = $4; f1[$2] = $5; m1[$2] = $6}
	$1 == last {rl[$2] = $3; al[$2] = $4; fl[$2] = $5; ml[$2] = $6}
	END {
		for (p in r1) if (p in rl)
			printf "pid %s: RSS %d -> %d (%+d); private %+d, files %+d, shared buffers %+d\n", p, r1[p], rl[p], rl[p] - r1[p], al[p] - a1[p], fl[p] - f1[p], ml[p] - m1[p]
	}' "$dir/samples"

failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
aborted=$(grep -c "aborted" "$dir/pgbench.out" || true)
restarted=$([ "$(q "SELECT pg_postmaster_start_time()")" = "$started" ] && echo no || echo yes)
echo "== soak: $clients clients x $minutes min$([ "$installs" = 1 ] || echo ", no install/drop/train"): pgbench exit $status, failed transactions ${failed:-?}, aborted clients $aborted, same backends throughout: $same, server restarted: $restarted, largest private memory growth from minute 1 to minute $minutes (between statements): ${growth} kB"
ok=yes
[ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ] && [ "$aborted" -eq 0 ] && [ "$same" = yes ] && [ "$restarted" = no ] || ok=no
for g in $growth; do [ "$g" -le 1024 ] || ok=no; done
q "DROP TABLE soak_docs, soak_mem; SELECT bert_drop_model('soak-token'); SELECT bert_drop_model('soak-seq');
   SELECT bert_drop_model(name) FROM bert_models WHERE name LIKE 'soak-train-%';" > /dev/null
for c in $(seq 0 $((clients - 1))); do q "DROP TABLE soak_t$c"; done
echo "soak: $ok"
[ "$ok" = yes ]
