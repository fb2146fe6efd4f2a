#!/usr/bin/env bash
# With shared_preload_libraries = bert and bert.preload_models, the model is
# loaded at server start, before any query.  Run inside pg_virtualenv with
# -o shared_preload_libraries=bert -o bert.preload_models=all-MiniLM-L6-v2.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
q "CREATE EXTENSION IF NOT EXISTS bert" >/dev/null
check "preload setting visible" "all-MiniLM-L6-v2" "$(q "SHOW bert.preload_models")"
check "loaded before the first call" "t|0" \
	"$(q "SELECT loaded_since IS NOT NULL, calls FROM bert_models WHERE name = 'all-MiniLM-L6-v2'")"
# the postmaster hashed the shipped file (it has no resource owner: hashing
# there crashed it before this was lent one) and the hash is the file's
shipped="$(pg_config --sharedir)/bert/models/all-MiniLM-L6-v2.bert"
check "content hash taken in the postmaster" "$(sha256sum "$shipped" | cut -d' ' -f1)" \
	"$(q "SELECT content_hash FROM bert_models WHERE name = 'all-MiniLM-L6-v2'")"
check "embeds" "384" "$(q "SELECT array_length(bert_embed('preloaded'), 1)")"
check "same numbers as without preload" "0.6659" \
	"$(q "SELECT round(bert_similarity('The weather is lovely today.', 'It''s so sunny outside!')::numeric, 4)")"
report preload
