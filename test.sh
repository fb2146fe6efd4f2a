#!/usr/bin/env bash
# The test command: dependencies, build (warnings are errors), unit tests of
# the plain-C core under ASan + UBSan, then the pg_regress suite against a
# throwaway cluster (pg_virtualenv runs it as postgres, so root is fine).
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh
make -s
make -s unittest
# libFuzzer smoke run of the tokenizer and the model loader (ASan + UBSan)
test/fuzz/run.sh 60
# the Debian package: build, dpkg -i, the demo on a fresh cluster, purge; it
# writes the paths make install writes, so it comes before make install
test/package.sh
# make uninstall removes all that make install and make install-model put
test/uninstall.sh
make -s install
make -s install-model
# pgvector 0.8.6, for the tests that use it (built once)
test/vendor/pgvector.sh

# the regression suite twice in a row (the second time in another database),
# then the tests with pgvector; nothing left behind
set +e
pg_virtualenv -t sh -c 'make installcheck && make installcheck CONTRIB_TESTDB=other &&
	make installcheck-pgvector && test/regress-leftovers.sh contrib_regression other' 2>&1 | tee regression.log
status=${PIPESTATUS[0]}
set -e
ok=$(grep -cE '^(test| ) .* \.\.\. ok' regression.log || true)
bad=$(grep -cE '^(test| ) .* \.\.\. FAILED' regression.log || true)
if [ "$status" -ne 0 ] && [ -f regression.diffs ]; then
	echo "=== regression.diffs ==="
	cat regression.diffs
fi
echo "pg_regress: $ok passed, $bad failed"
[ "$status" -eq 0 ] || exit "$status"

# 0.1.0 updated to the current version equals a fresh install
pg_virtualenv -t test/upgrade.sh
# every SQL recipe of README.md and docs/*.md
pg_virtualenv -t test/docs-recipes.sh
# several sessions at once: cold loads, replaced files, 8 clients x 30 s
pg_virtualenv -t test/concurrency.sh
# hostile and concurrent use: writers during bert_embed_table, interrupt
# storms, threads, huge inputs and arrays, pgvector
pg_virtualenv -t test/hostile.sh
# a BERT-base-sized token classifier laid out like dslim/bert-base-NER
pg_virtualenv -t test/bert-base.sh
# models loaded at server start
pg_virtualenv -o shared_preload_libraries=bert -o bert.preload_models=all-MiniLM-L6-v2 -t test/preload.sh
