#!/usr/bin/env bash
# Named entities trained in SQL, evaluated honestly: demo/ner-sentences
# makes training and held-out sentences whose person names, places AND
# sentence shapes are disjoint; bert_train_token_classifier learns a tagger
# over all-MiniLM-L6-v2 from the first 100, 300 and 2 000 training
# sentences; bert_entities tags the 500 held-out ones.  Scores are
# entity-level and strict (seqeval-style: the type and both boundaries must
# match), per type and overall, and the script counts entities whose
# boundary falls inside a word of the text.
#
#   demo/ner.sh            (after make install && make install-model)
#
# Runs in a throwaway cluster (pg_virtualenv) unless PGHOST is set.
# SEED (default 42), SIZES ("100 300 2000"), N_TEST (500), AGGREGATION
# (first; "" calls the two-argument bert_entities, as before it had one),
# EPOCHS, LEARNING_RATE, L2, BALANCED (the function's defaults if unset).
set -euo pipefail
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv "$0" "$@"
fi
cd "$(dirname "${BASH_SOURCE[0]}")"
[ -f cache/us-states-names/data/data.txt ] || ./fetch-data.sh
seed=${SEED:-42}
sizes=${SIZES:-100 300 2000}
max=0
for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
data=$(mktemp)
trap 'rm -f "$data"' EXIT
./ner-sentences "$seed" "$max" "${N_TEST:-500}" >"$data"
aggregation=${AGGREGATION-first}
entities_call="bert_entities(n.text, :'model')"
[ -n "$aggregation" ] && entities_call="bert_entities(n.text, :'model', :'aggregation')"
opts=""
[ -n "${EPOCHS:-}" ] && opts+=", epochs => ${EPOCHS}"
[ -n "${LEARNING_RATE:-}" ] && opts+=", learning_rate => ${LEARNING_RATE}"
[ -n "${L2:-}" ] && opts+=", l2 => ${L2}"
[ -n "${BALANCED:-}" ] && opts+=", balanced => ${BALANCED}"

psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
DROP TABLE IF EXISTS ner, ner_scores;
CREATE TABLE ner (id int PRIMARY KEY, split text, text text, entities jsonb);
\copy ner FROM '$data' WITH (FORMAT csv, HEADER)
CREATE TABLE ner_scores (train int, label text, predicted int, gold int, correct int,
                         "precision" numeric, recall numeric, f1 numeric);
SELECT count(*) AS held_out FROM ner WHERE split = 'test' \gset
\echo == :held_out held-out sentences; their names, places and sentence shapes never occur in training
SQL

for n in $sizes; do
	model="ner-demo-$n"
	psql -X -q -v ON_ERROR_STOP=1 -v model="$model" -v n="$n" -v seed="$seed" -v aggregation="$aggregation" <<SQL 2> >(grep -vE 'NOTICE:  (epoch [0-9]*[1-46-9] of|embedded)' >&2 || true)
SET client_min_messages = warning;
SELECT bert_drop_model(:'model') FROM bert_models WHERE name = :'model';
\echo == training on :n sentences
SET client_min_messages = notice;
\timing on
SELECT model, examples, round(loss::numeric, 4) AS loss, round(accuracy::numeric, 4) AS token_accuracy
FROM bert_train_token_classifier(:'model', 'all-MiniLM-L6-v2',
       \$\$SELECT text, entities FROM ner WHERE split = 'train' AND id <= $n ORDER BY id\$\$,
       seed => :seed $opts);
\timing off
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s*(\d+ kB)'))[1] AS backend_peak_memory;
\timing on
\echo == tagging the held-out sentences
CREATE TEMP TABLE predicted AS
SELECT n.id, e.* FROM ner n, $entities_call e WHERE n.split = 'test';
\timing off
SET client_min_messages = warning;
CREATE TEMP TABLE gold AS
SELECT n.id, substr(n.text, g.start + 1, g."end" - g.start) AS entity, g.label, g.start, g."end"
FROM ner n, jsonb_to_recordset(n.entities) AS g(start int, "end" int, label text)
WHERE n.split = 'test';
INSERT INTO ner_scores
SELECT $n, label, predicted, gold, correct,
       round(correct::numeric / nullif(predicted, 0), 4),
       round(correct::numeric / nullif(gold, 0), 4),
       round(2 * correct::numeric / nullif(predicted + gold, 0), 4)
FROM (SELECT l.label,
             (SELECT count(*) FROM predicted p WHERE l.label IN ('all', p.label)) AS predicted,
             (SELECT count(*) FROM gold g WHERE l.label IN ('all', g.label)) AS gold,
             (SELECT count(*) FROM predicted p JOIN gold g
                ON g.id = p.id AND g.start = p.start_char AND g."end" = p.end_char AND g.label = p.label
              WHERE l.label IN ('all', g.label)) AS correct
      FROM (VALUES ('LOC'), ('PER'), ('all')) AS l(label)) s;
\echo == entities with a boundary inside a word (a letter or digit on both sides)
SELECT count(*) AS inside_a_word
FROM predicted p JOIN ner n USING (id)
WHERE (p.start_char > 0 AND substr(n.text, p.start_char, 2) ~ '^[[:alnum:]]{2}$')
   OR (p.end_char < length(n.text) AND substr(n.text, p.end_char, 2) ~ '^[[:alnum:]]{2}$');
\echo == errors (first 8): gold entities not found exactly
SELECT n.text, g.entity AS expected, g.label,
       (SELECT string_agg(format('%s/%s', p.entity, p.label), ', ' ORDER BY p.start_char)
        FROM predicted p WHERE p.id = g.id) AS found
FROM gold g JOIN ner n USING (id)
WHERE NOT EXISTS (SELECT FROM predicted p WHERE p.id = g.id AND p.start_char = g.start
                    AND p.end_char = g."end" AND p.label = g.label)
ORDER BY g.id LIMIT 8;
SQL
done

psql -X -q -v ON_ERROR_STOP=1 <<SQL
\echo == held-out entity-level strict scores (type and both boundaries), by training size
SELECT * FROM ner_scores ORDER BY train, label;
SQL
