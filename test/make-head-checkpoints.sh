#!/usr/bin/env bash
# Small Hugging Face checkpoints with heads, for the classify regression test:
# random but usable weights (make_checkpoint --small), a CASED vocabulary,
# and head.csv with the pooler and classifier weights the test recomputes in
# SQL.  Usage: make-head-checkpoints.sh OUTDIR   (test/regress-fixtures.sh
# makes it per run as $BERT_REGRESS_FIXTURES/heads)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
rm -rf "$out"
mkdir -p "$out/token" "$out/seq"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$out/make_checkpoint" "$root/test/unit/make_checkpoint.c" -lm
"$out/make_checkpoint" "$out/token" --arch token --cased --small --no-pooler --labels 7 --seed 6
"$out/make_checkpoint" "$out/seq" --arch seq --cased --small --labels 3 --seed 5
rm "$out/make_checkpoint"
chmod -R a+rX "$out"
