#!/usr/bin/env bash
# A sequence classifier trained in SQL, evaluated on sentence shapes it never
# saw: demo/topic-sentences makes sentences on four topics whose held-out
# templates and filler words are disjoint from the training ones;
# bert_train_classifier learns from the first 20, 100 and 400 training
# sentences; bert_classify labels the 400 held-out ones.  Prints accuracy
# and per-topic precision, recall and F1 for each training size.
#
#   demo/topics.sh            (after make install && make install-model)
#
# Runs in a throwaway cluster (pg_virtualenv) unless PGHOST is set.
# SEED (default 42), SIZES ("20 100 400"), N_TEST (400).
set -euo pipefail
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv "$0" "$@"
fi
cd "$(dirname "${BASH_SOURCE[0]}")"
seed=${SEED:-42}
sizes=${SIZES:-20 100 400}
max=0
for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
data=$(mktemp)
trap 'rm -f "$data"' EXIT
./topic-sentences "$seed" "$max" "${N_TEST:-400}" >"$data"

psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
DROP TABLE IF EXISTS topic, topic_scores;
CREATE TABLE topic (id int PRIMARY KEY, split text, text text, topic text);
\copy topic FROM '$data' WITH (FORMAT csv, HEADER)
CREATE TABLE topic_scores (train int, topic text, predicted int, gold int, correct int,
                           "precision" numeric, recall numeric, f1 numeric);
SELECT count(*) AS held_out FROM topic WHERE split = 'test' \gset
\echo == :held_out held-out sentences; their sentence shapes and filler words never occur in training
SQL

for n in $sizes; do
	model="topic-demo-$n"
	psql -X -q -v ON_ERROR_STOP=1 -v model="$model" -v seed="$seed" <<SQL
SET client_min_messages = warning;
SELECT bert_drop_model(:'model') FROM bert_models WHERE name = :'model';
\echo == training on $n sentences
SELECT model, examples, round(loss::numeric, 4) AS loss, round(accuracy::numeric, 4) AS training_accuracy
FROM bert_train_classifier(:'model', 'all-MiniLM-L6-v2',
       \$\$SELECT text, topic FROM topic WHERE split = 'train' AND id <= $n ORDER BY id\$\$, seed => :seed);
CREATE TEMP TABLE predicted AS
SELECT id, topic, bert_classify(text, :'model') AS guess FROM topic WHERE split = 'test';
INSERT INTO topic_scores
SELECT $n, t.topic, p, g, c, round(c::numeric / nullif(p, 0), 4), round(c::numeric / nullif(g, 0), 4),
       round(2 * c::numeric / nullif(p + g, 0), 4)
FROM (SELECT l.topic,
             (SELECT count(*) FROM predicted WHERE l.topic IN ('all', guess)) AS p,
             (SELECT count(*) FROM predicted WHERE l.topic IN ('all', topic)) AS g,
             (SELECT count(*) FROM predicted WHERE guess = topic AND l.topic IN ('all', topic)) AS c
      FROM (SELECT DISTINCT topic FROM topic UNION ALL SELECT 'all') AS l(topic)) t;
\echo == errors (first 5)
SELECT t.text, p.topic, p.guess FROM predicted p JOIN topic t USING (id) WHERE p.guess <> p.topic ORDER BY id LIMIT 5;
SQL
done

psql -X -q -v ON_ERROR_STOP=1 <<SQL
\echo == held-out scores by training size ("all": accuracy in f1, precision and recall)
SELECT * FROM topic_scores ORDER BY train, topic = 'all', topic;
SQL
