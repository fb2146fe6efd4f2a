# demo/lib.sh — sourced by demo/ner.sh and demo/topics.sh (from demo/): the
# generated sentences and the tables they are scored in.

# sentences GENERATOR SIZES N_TEST: sets seed (SEED, default 42), sizes
# (SIZES, default SIZES) and data, a temporary file (removed on exit) with
# GENERATOR's training sentences for the largest size and N_TEST (default)
# held-out ones
sentences() {
	seed=${SEED:-42}
	sizes=${SIZES:-$2}
	local max=0 n
	for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
	data=$(mktemp)
	trap 'rm -f "$data"' EXIT
	"./$1" "$seed" "$max" "${N_TEST:-$3}" >"$data"
}

# load TABLE GOLD KEY WHAT: the extension; TABLE (id, split, text, GOLD, a
# column definition) from $data; an empty TABLE_scores by training size and
# KEY; prints the held-out count and that WHAT never occur in training
load() {
	psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
DROP TABLE IF EXISTS $1, $1_scores;
CREATE TABLE $1 (id int PRIMARY KEY, split text, text text, $2);
\copy $1 FROM '$data' WITH (FORMAT csv, HEADER)
CREATE TABLE $1_scores (train int, $3 text, predicted int, gold int, correct int,
                         "precision" numeric, recall numeric, f1 numeric);
SELECT count(*) AS held_out FROM $1 WHERE split = 'test' \gset
\echo == :held_out held-out sentences; $4 never occur in training
SQL
}
