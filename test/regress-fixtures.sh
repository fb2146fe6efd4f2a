#!/usr/bin/env bash
# Make one run's regression fixtures in a fresh directory and print its path
# (make installcheck exports it as $BERT_REGRESS_FIXTURES, which the SQL reads
# with psql's \getenv, and removes it afterwards): no fixed path that an
# earlier run, or another user's, could hold.
#   damaged/   damaged copies of the default model (catalogue)
#   heads/     tiny classification checkpoints (classify)
#   scratch/   files the server writes (errors), mode 1777
# Under /tmp, not $TMPDIR: the server, another user, must read it.
# Usage: regress-fixtures.sh MODEL.bert
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$1

dir=$(mktemp -d /tmp/bert-regress.XXXXXX)
trap 'rm -rf "$dir"' ERR
chmod 755 "$dir"
"$here/make-damaged-models.sh" "$model" "$dir/damaged"
"$here/make-head-checkpoints.sh" "$dir/heads" >/dev/null
mkdir "$dir/scratch"
chmod 1777 "$dir/scratch"
echo "$dir"
