#!/usr/bin/env bash
# Spam filter trained in SQL: the SpamAssassin corpus (demo/fetch-data.sh,
# demo/spam-to-csv) into a table, a seeded 80/20 split, bert_train_classifier
# on the 80 % over all-MiniLM-L6-v2 sentence embeddings, held-out accuracy,
# precision, recall and confusion matrix on the 20 %.
#
#   demo/spam.sh            (after make install && make install-model)
#
# Runs in a throwaway cluster (pg_virtualenv) unless PGHOST/PGDATABASE point
# at one.  SEED (default 42) picks the split and the training shuffle;
# EPOCHS (default 100).  Embeds ~6 000 e-mails of up to 256 word pieces:
# several minutes on two cores.
set -euo pipefail
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv "$0" "$@"
fi
cd "$(dirname "${BASH_SOURCE[0]}")"
csv=cache/spam.csv
if [ ! -f "$csv" ]; then
	./fetch-data.sh
	./spam-to-csv
fi
seed=${SEED:-42}
epochs=${EPOCHS:-100}

psql -X -q -v ON_ERROR_STOP=1 -v seed="$seed" -v epochs="$epochs" <<SQL 2> >(grep -vE "NOTICE:  epoch [0-9]*[1-9] of" >&2 || true)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
DROP TABLE IF EXISTS spam;
CREATE TABLE spam (id int PRIMARY KEY, "group" text, is_spam boolean, text text);
\copy spam FROM '$csv' WITH (FORMAT csv, HEADER)
-- seeded split: one row in five is held out, by a hash of id and the seed
ALTER TABLE spam ADD COLUMN held_out boolean;
UPDATE spam SET held_out = abs(hashint8(id::bigint * 1000003 + :seed)) % 5 = 0;
SELECT count(*) FILTER (WHERE NOT held_out) AS training, count(*) FILTER (WHERE held_out) AS held_out,
       count(*) FILTER (WHERE is_spam) AS spam FROM spam \gset
\echo == :training training rows, :held_out held-out rows (:spam spam in all)
SELECT bert_drop_model('spam-filter') FROM bert_models WHERE name = 'spam-filter';

\echo == training (every 10th epoch shown)
SET client_min_messages = notice;
\timing on
SELECT model, labels, examples, round(loss::numeric, 4) AS loss, round(accuracy::numeric, 4) AS training_accuracy
FROM bert_train_classifier('spam-filter', 'all-MiniLM-L6-v2',
       \$\$SELECT text, CASE WHEN is_spam THEN 'spam' ELSE 'ham' END FROM spam WHERE NOT held_out ORDER BY id\$\$,
       epochs => :epochs, seed => :seed);
\echo == classifying the held-out rows
CREATE TEMP TABLE predicted AS
SELECT id, is_spam, bert_classify(text, 'spam-filter') = 'spam' AS predicted_spam
FROM spam WHERE held_out;
\timing off

\echo == held-out results
SELECT count(*) AS messages,
       round(avg((is_spam = predicted_spam)::int), 4) AS accuracy,
       round(count(*) FILTER (WHERE is_spam AND predicted_spam)::numeric
             / nullif(count(*) FILTER (WHERE predicted_spam), 0), 4) AS spam_precision,
       round(count(*) FILTER (WHERE is_spam AND predicted_spam)::numeric
             / nullif(count(*) FILTER (WHERE is_spam), 0), 4) AS spam_recall
FROM predicted;
\echo == confusion matrix (rows: actual, columns: predicted)
SELECT CASE WHEN is_spam THEN 'spam' ELSE 'ham' END AS actual,
       count(*) FILTER (WHERE NOT predicted_spam) AS ham,
       count(*) FILTER (WHERE predicted_spam) AS spam
FROM predicted GROUP BY is_spam ORDER BY is_spam;
SQL
