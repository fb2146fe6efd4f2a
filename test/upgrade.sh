#!/usr/bin/env bash
# The upgrade path, inside pg_virtualenv (after make install and make
# install-model): CREATE EXTENSION bert VERSION '0.1.0' from the script kept
# in the repository, objects that use it (a generated column, expression
# indexes, views, a SQL function), ALTER EXTENSION bert UPDATE; the objects
# still work and give what they gave before; then every member of the
# updated extension, and what defines it, equals a fresh install's
# (test/sql/extension-members.sql); a diff is printed when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
old=regression_bert_upgraded
new=regression_bert_fresh
out=$(mktemp -d /tmp/bert-upgrade.XXXXXX)
trap 'rm -rf "$out"; dropdb --if-exists "$old" 2>/dev/null; dropdb --if-exists "$new" 2>/dev/null' EXIT
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" bert.control)

q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }
failed=0
check()
{
	if [ "$2" = "$3" ]; then
		echo "ok: $1"
	else
		echo "FAILED: $1: expected [$2], got [$3]"
		failed=1
	fi
}

dropdb --if-exists "$old"
dropdb --if-exists "$new"
createdb "$old"
createdb "$new"

q -d "$old" <<'SQL'
CREATE EXTENSION bert VERSION '0.1.0';
CREATE TABLE notes (
	id int PRIMARY KEY,
	body text NOT NULL,
	embedding real[] GENERATED ALWAYS AS (bert_embed(body, 'all-MiniLM-L6-v2')) STORED);
CREATE INDEX notes_tokens ON notes (bert_token_count(body, 'all-MiniLM-L6-v2'));
CREATE INDEX notes_first_piece ON notes (((bert_tokenize(body, 'all-MiniLM-L6-v2'))[2]));
CREATE VIEW note_pairs AS
	SELECT a.id AS a, b.id AS b, round((a.embedding <=> b.embedding)::numeric, 4) AS distance
	FROM notes a JOIN notes b ON a.id < b.id;
CREATE VIEW shipped AS SELECT name, kind, hidden FROM bert_models WHERE name LIKE 'all-MiniLM-L6-v2%';
CREATE FUNCTION nearest(query text) RETURNS int LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT id FROM notes ORDER BY embedding <=> bert_embed(query, 'all-MiniLM-L6-v2'), id LIMIT 1;
END;
INSERT INTO notes (id, body) VALUES
	(1, 'The weather is lovely today.'),
	(2, 'It''s so sunny outside!'),
	(3, 'He drove to the stadium.');
SQL

snapshot()
{
	q -d "$old" <<'SQL'
SELECT id, embedding::text FROM notes ORDER BY id;
SELECT * FROM note_pairs ORDER BY a, b;
SELECT * FROM shipped ORDER BY name;
SELECT nearest('sunshine and blue skies');
SQL
}
snapshot >"$out/before"
check "0.1.0 installed" "0.1.0" "$(q -d "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'bert'")"

echo "update paths from 0.1.0:"
q -d "$old" -c "SELECT source || ' -> ' || target || ': ' || path FROM pg_extension_update_paths('bert')
                WHERE source = '0.1.0' AND path IS NOT NULL ORDER BY target" | sed 's/^/  /'
check "a path from 0.1.0 to $current" "0.1.0--$current" \
	"$(q -d "$old" -c "SELECT path FROM pg_extension_update_paths('bert') WHERE source = '0.1.0' AND target = '$current'")"

q -d "$old" -c "ALTER EXTENSION bert UPDATE"
check "updated" "$current" "$(q -d "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'bert'")"

# the objects still work, and give what they gave before
snapshot >"$out/after"
check "stored embeddings, view rows, function result unchanged" "" "$(diff "$out/before" "$out/after" || true)"
q -d "$old" -c "INSERT INTO notes (id, body) VALUES (4, 'A cat sleeps on the warm windowsill.')"
check "generated column computed after the update" "t" \
	"$(q -d "$old" -c "SELECT embedding = bert_embed(body, 'all-MiniLM-L6-v2') FROM notes WHERE id = 4")"
check "function after the update" "4" "$(q -d "$old" -c "SELECT nearest('a kitten napping in the sun')")"
check "view after the update" "6" "$(q -d "$old" -c "SELECT count(distance) FROM note_pairs")"
for idx in notes_tokens notes_first_piece; do
	case $idx in
		notes_tokens) cond="bert_token_count(body, 'all-MiniLM-L6-v2') = 9" ;;
		notes_first_piece) cond="(bert_tokenize(body, 'all-MiniLM-L6-v2'))[2] = 'he'" ;;
	esac
	plan=$(q -d "$old" -c "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM notes WHERE $cond")
	check "expression index $idx used after the update" "1" "$(grep -c "$idx" <<<"$plan" || true)"
	check "expression index $idx finds the row" "$(q -d "$old" -c "SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT string_agg(id::text, ',' ORDER BY id) FROM notes WHERE $cond")" \
		"$(q -d "$old" -c "SET enable_seqscan = off; SELECT string_agg(id::text, ',' ORDER BY id) FROM notes WHERE $cond")"
done
q -d "$old" -c "REINDEX TABLE notes"

# the updated catalogue equals a fresh install's
q -d "$new" -c "CREATE EXTENSION bert"
q -d "$old" -f test/sql/extension-members.sql >"$out/updated"
q -d "$new" -f test/sql/extension-members.sql >"$out/fresh"
echo "extension members compared: $(grep -c '^member: ' "$out/fresh") in a fresh install, $(grep -c '^member: ' "$out/updated") after the update; $(wc -l <"$out/fresh") properties"
if diff -u --label "fresh $current" --label "0.1.0 updated to $current" "$out/fresh" "$out/updated" >"$out/diff"; then
	echo "ok: the updated catalogue equals a fresh install"
else
	echo "FAILED: the updated catalogue differs from a fresh install:"
	cat "$out/diff"
	failed=1
fi
[ "$failed" -eq 0 ] && echo "upgrade: all checks passed"
exit "$failed"
