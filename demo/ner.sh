#!/usr/bin/env bash
# Named entities trained in SQL: generated sentences with person names and
# US states (demo/ner-sentences, seeded; test names never occur in
# training), bert_train_token_classifier over all-MiniLM-L6-v2 word-piece
# states, then entity-level precision, recall and F1 (exact span and label)
# of bert_entities on the held-out sentences, and some examples.
#
#   demo/ner.sh            (after make install && make install-model)
#
# Runs in a throwaway cluster (pg_virtualenv) unless PGHOST is set.
# SEED (default 42), N_TRAIN (2000), N_TEST (500), EPOCHS (30), LEARNING_RATE
# (0.01), L2 (0), BALANCED (true).
set -euo pipefail
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv "$0" "$@"
fi
cd "$(dirname "${BASH_SOURCE[0]}")"
[ -f cache/us-states-names/data/data.txt ] || ./fetch-data.sh
seed=${SEED:-42}
data=$(mktemp)
trap 'rm -f "$data"' EXIT
./ner-sentences "$seed" "${N_TRAIN:-2000}" "${N_TEST:-500}" >"$data"

psql -X -q -v ON_ERROR_STOP=1 -v seed="$seed" -v epochs="${EPOCHS:-30}" -v lr="${LEARNING_RATE:-0.01}" -v l2="${L2:-0}" -v balanced="${BALANCED:-true}" <<SQL 2> >(grep -vE 'NOTICE:  epoch [0-9]*[1-46-9] of' >&2 || true)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
DROP TABLE IF EXISTS ner;
CREATE TABLE ner (id int PRIMARY KEY, split text, text text, entities jsonb);
\copy ner FROM '$data' WITH (FORMAT csv, HEADER)
SELECT count(*) FILTER (WHERE split = 'train') AS training, count(*) FILTER (WHERE split = 'test') AS held_out FROM ner \gset
\echo == :training training sentences, :held_out held-out sentences (their names never occur in training)
SELECT bert_drop_model('ner-demo') FROM bert_models WHERE name = 'ner-demo';

\echo == training
SET client_min_messages = notice;
\timing on
SELECT model, labels, examples, round(loss::numeric, 4) AS loss, round(accuracy::numeric, 4) AS token_accuracy
FROM bert_train_token_classifier('ner-demo', 'all-MiniLM-L6-v2',
       \$\$SELECT text, entities FROM ner WHERE split = 'train' ORDER BY id\$\$,
       epochs => :epochs, learning_rate => :lr, l2 => :l2, balanced => :balanced, seed => :seed);
\echo == extracting entities from the held-out sentences
CREATE TEMP TABLE predicted AS
SELECT n.id, e.* FROM ner n, bert_entities(n.text, 'ner-demo') e WHERE n.split = 'test';
\timing off
CREATE TEMP TABLE gold AS
SELECT n.id, substr(n.text, g.start + 1, g."end" - g.start) AS entity, g.label, g.start, g."end"
FROM ner n, jsonb_to_recordset(n.entities) AS g(start int, "end" int, label text)
WHERE n.split = 'test';

\echo == held-out entity-level scores (exact span and label)
WITH tp AS (SELECT count(*) AS n FROM predicted p JOIN gold g
              ON g.id = p.id AND g.start = p.start_char AND g."end" = p.end_char AND g.label = p.label)
SELECT label, predicted, gold, correct,
       round(correct::numeric / nullif(predicted, 0), 4) AS precision,
       round(correct::numeric / nullif(gold, 0), 4) AS recall,
       round(2 * correct::numeric / nullif(predicted + gold, 0), 4) AS f1
FROM (SELECT l.label,
             (SELECT count(*) FROM predicted p WHERE l.label IN ('all', p.label)) AS predicted,
             (SELECT count(*) FROM gold g WHERE l.label IN ('all', g.label)) AS gold,
             (SELECT count(*) FROM predicted p JOIN gold g
                ON g.id = p.id AND g.start = p.start_char AND g."end" = p.end_char AND g.label = p.label
              WHERE l.label IN ('all', g.label)) AS correct
      FROM (VALUES ('LOC'), ('PER'), ('all')) AS l(label)) s;

\echo == examples with multi-word entities
SELECT n.text, p.entity, p.label, round(p.score::numeric, 3) AS score, p.start_char, p.end_char
FROM ner n JOIN predicted p USING (id)
WHERE n.id IN (SELECT id FROM predicted WHERE entity LIKE '% %' ORDER BY id LIMIT 4)
ORDER BY n.id, p.start_char;

\echo == errors (first 10): gold entities not found exactly
SELECT g.id, n.text, g.entity AS expected, g.label,
       (SELECT string_agg(format('%s/%s', p.entity, p.label), ', ') FROM predicted p WHERE p.id = g.id) AS found
FROM gold g JOIN ner n USING (id)
WHERE NOT EXISTS (SELECT FROM predicted p WHERE p.id = g.id AND p.start_char = g.start
                    AND p.end_char = g."end" AND p.label = g.label)
ORDER BY g.id LIMIT 10;
SQL
