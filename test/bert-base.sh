#!/usr/bin/env bash
# A checkpoint laid out like dslim/bert-base-NER (BertForTokenClassification,
# BERT-base sizes 12 x 768, cased vocabulary of 28 996, 9 labels, "bert."
# prefix, F16) converts, installs and runs.  Random weights: this checks
# structure and sizes, not accuracy.  Run inside pg_virtualenv (test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/tmp/bert_base_ner
rm -rf "$dir"
mkdir -p "$dir"
cc -O2 -Wall -Wextra -Werror -o "$dir/make_checkpoint" test/unit/make_checkpoint.c -lm
mkdir -p "$dir/ckpt"
"$dir/make_checkpoint" "$dir/ckpt" --arch token --layers 12 --hidden 768 --heads 12 --ffn 3072 \
	--vocab-size 28996 --labels 9 --positions 512 --cased --prefix --dtype f16 >/dev/null
chmod -R a+rX "$dir"
. test/lib.sh
q "CREATE EXTENSION IF NOT EXISTS bert" >/dev/null
q "SELECT bert_install_model('bert-base-ner-like', '$dir/ckpt', true)" >/dev/null
check "catalogue row" "token classification|12|768|12|28996|512|9" \
	"$(q "SELECT kind, layers, hidden, heads, vocab_size, max_positions, cardinality(labels) FROM bert_models WHERE name = 'bert-base-ner-like'")"
check "one label row per word piece, offsets in the input" "t" \
	"$(q "SELECT count(*) = bert_token_count('w5 w6 w7', 'bert-base-ner-like') - 2 AND bool_and(start_char < end_char)
	         FROM bert_token_labels('w5 w6 w7', 'bert-base-ner-like')")"
check "scores are probabilities" "t" \
	"$(q "SELECT bool_and(score > 0 AND score <= 1) FROM bert_token_labels('w5 w6 w7', 'bert-base-ner-like')")"
check "token embeddings are 768 wide" "768" \
	"$(q "SELECT DISTINCT array_length(embedding, 1) FROM bert_token_embeddings('w5 w6', 'bert-base-ner-like')")"
q "SELECT bert_drop_model('bert-base-ner-like')" >/dev/null
rm -rf "$dir"
report bert-base
