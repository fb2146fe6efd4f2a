#!/usr/bin/env bash
# Row-at-a-time cost of two builds, alternated in one run: before and after
# a change to how a call finds its model (a registry lookup must not be
# paid per row).  Each round installs one build into the system PostgreSQL
# and times, on a throwaway cluster, row-at-a-time bert_embed over the
# benchmark corpus and row-at-a-time bert_token_count (the cheapest call,
# where a per-call lookup would show most).  Needs root (make install) and
# the system lock held by the caller:
#   flock /tmp/bert-system.lock bench/registry-ab.sh [BEFORE_REV [AFTER_REV [ROUNDS]]]
# Builds are made in /tmp/bert-ab/REV; the AFTER build is installed last.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
before=${1:-main}
after=${2:-HEAD}
rounds=${3:-3}
n=${SENTENCES:-2000}
work=/tmp/bert-ab
mkdir -p "$work"

build() {	# build REV: a clone at REV, built, in $work/REV; prints its directory
	local rev=$1 sha dir
	sha=$(git -C "$repo" rev-parse --short "$rev")
	dir="$work/$sha"
	if [ ! -e "$dir/bert.so" ]; then
		rm -rf "$dir"
		git clone -q "$repo" "$dir"
		git -C "$dir" checkout -q "$sha"
		mkdir -p "$dir/model"
		cp -a "$repo/model/cache" "$repo/model/build" "$dir/model/"
		make -s -C "$dir" >/dev/null
	fi
	echo "$dir"
}

measure() {	# inside pg_virtualenv: prints "embed_s token_count_s"
	q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }
	corpus=$(mktemp)
	chmod 644 "$corpus"
	cat /usr/share/common-licenses/{GPL-3,GPL-2,LGPL-2.1,Apache-2.0,MPL-2.0,GFDL-1.3,Artistic} |
		tr '\n\t' '  ' | sed 's/  */ /g' | sed 's/\([.;:!?]\) /\1\n/g' |
		awk -v n="$n" 'NF >= 8 && NF <= 60 && !seen[$0]++ && kept++ < n' > "$corpus"
	q -c "CREATE EXTENSION bert" -c "CREATE TABLE corpus (id serial, body text)" >/dev/null
	q -c "\\copy corpus (body) FROM '$corpus' WITH (FORMAT text, DELIMITER E'\\x01')" >/dev/null
	q -c "CREATE TABLE many AS SELECT c.body FROM corpus c, generate_series(1, 50)" >/dev/null
	rm -f "$corpus"
	timed() { q -c "\\timing on" -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }
	q -c "SELECT bert_embed('warm up', 'all-MiniLM-L6-v2')" >/dev/null
	e=$(timed "SELECT count(bert_embed(body, 'all-MiniLM-L6-v2')) FROM corpus")
	t=$(timed "SELECT sum(bert_token_count(body, 'all-MiniLM-L6-v2')) FROM many")
	echo "$e $t"
}
if [ "${1:-}" = "--measure" ]; then
	n=${2:-2000}
	measure
	exit 0
fi

dir_before=$(build "$before")
dir_after=$(build "$after")
rows=$(mktemp)
for r in $(seq 1 "$rounds"); do
	for which in before after; do
		dir=$([ "$which" = before ] && echo "$dir_before" || echo "$dir_after")
		make -s -C "$dir" install >/dev/null
		read -r e t < <(pg_virtualenv -t "$repo/bench/registry-ab.sh" --measure "$n" 2>/dev/null | grep -E "^[0-9.]+ [0-9.]+$" | tail -1)
		echo "round $r $which: row-at-a-time bert_embed $n rows $e ms, bert_token_count $((n * 50)) rows $t ms"
		echo "$which $e $t" >> "$rows"
	done
done
awk -v n="$n" '
	{ e[$1] += $2; t[$1] += $3; k[$1]++ }
	END {
		for (w in k) { e[w] /= k[w]; t[w] /= k[w] }
		printf "| build | bert_embed, rows/s | bert_token_count, rows/s |\n|---|---|---|\n"
		printf "| before | %.0f | %.0f |\n", n / e["before"] * 1000, 50 * n / t["before"] * 1000
		printf "| after | %.0f | %.0f |\n", n / e["after"] * 1000, 50 * n / t["after"] * 1000
		printf "after vs before: bert_embed %+.1f %%, bert_token_count %+.1f %%\n",
			100 * (e["before"] / e["after"] - 1), 100 * (t["before"] / t["after"] - 1)
	}' "$rows"
rm -f "$rows"
