#!/usr/bin/env bash
# Rows/s filling the embeddings of a 20,000-row table: one node against a
# Citus coordinator with 1 or 2 workers, all on this machine (so the workers
# share its cores: this measures what Citus costs, not a speed-up).
#   bench/citus-fill.sh MODE      MODE: single | citus1 | citus2
# As root, after make install && make install-model, under the shared lock
# (one MODE per hold: each takes a few minutes).  ROWS (default 20000).
# Corpus: the licence sentences of bench/throughput.sh, repeated to ROWS.
# Prints markdown rows: | setup | how | rows | s | rows/s | tokens/s | CPU s |
# rows per CPU-second |.  CPU seconds are every process of the cluster's
# (postmasters, their live and exited children, from /proc): on a machine
# shared with other jobs, wall-clock rows/s depends on how many processes
# compete for the cores (32 tasks get a bigger share than 1 backend), rows
# per CPU-second much less.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/citus-cluster.sh
mode=${1:?usage: bench/citus-fill.sh single|citus1|citus2}
rows=${ROWS:-20000}
model=${MODEL:-all-MiniLM-L6-v2}
case "$mode" in
	single) workers=0 ;;
	citus1) workers=1 ;;
	citus2) workers=2 ;;
	*) echo "bench/citus-fill.sh: unknown mode $mode" >&2; exit 2 ;;
esac

citus_install || exit 1
trap citus_cluster_stop EXIT
citus_cluster_start "$workers" || exit 1
C() { cq "$COORD" "$@"; }

corpus=$CITUS_DIR/corpus.txt
cat /usr/share/common-licenses/{GPL-3,GPL-2,LGPL-2.1,Apache-2.0,MPL-2.0,GFDL-1.3,Artistic} |
	tr '\n\t' '  ' | sed 's/  */ /g' | sed 's/\([.;:!?]\) /\1\n/g' |
	awk 'NF >= 8 && NF <= 60 && !seen[$0]++' > "$corpus"
chmod 644 "$corpus"
C -c "CREATE EXTENSION bert" >/dev/null
C -c "CREATE TABLE corpus (n serial, body text NOT NULL)" \
	-c "\\copy corpus (body) FROM '$corpus' WITH (FORMAT text, DELIMITER E'\\x01')" >/dev/null
C -c "CREATE TABLE docs (id bigint PRIMARY KEY, body text NOT NULL, e real[])" >/dev/null
if [ "$workers" -gt 0 ]; then
	C -c "SELECT create_distributed_table('docs', 'id')" >/dev/null
fi
C -c "INSERT INTO docs SELECT g, c.body FROM generate_series(1, $rows) g
      JOIN corpus c ON c.n = 1 + g % (SELECT count(*) FROM corpus)" >/dev/null
# word pieces the model sees, counted on the coordinator from the corpus
tokens=$(C -c "SELECT sum(least(bert_token_count(c.body, '$model'), 256) * k)
               FROM corpus c JOIN (SELECT 1 + g % (SELECT count(*) FROM corpus) AS n, count(*) AS k
                                   FROM generate_series(1, $rows) g GROUP BY 1) r USING (n)")
# load the model on every node before timing
for p in "$COORD" "${WORKERS[@]}"; do cq "$p" -c "SELECT bert_embed('warm up', '$model')" >/dev/null; done

cluster_cpu() {	# CPU seconds used so far by every process of the cluster
	local f pid child ticks=0 st
	for f in "$CITUS_DIR"/node-*/postmaster.pid; do
		pid=$(head -1 "$f")
		# the postmaster: its own time and its exited children's (fields 14-17)
		st=$(sed 's/.*) //' "/proc/$pid/stat")
		ticks=$((ticks + $(echo "$st" | awk '{ print $12 + $13 + $14 + $15 }')))
		for child in $(pgrep -P "$pid"); do
			st=$(sed 's/.*) //' "/proc/$child/stat" 2>/dev/null) || continue
			ticks=$((ticks + $(echo "$st" | awk '{ print $12 + $13 }')))
		done
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

setup=$([ "$workers" -eq 0 ] && echo "one node" || echo "Citus, $workers worker$([ "$workers" -gt 1 ] && echo s)")
timed() {	# timed HOW SQL...: run, check every row is filled, print a row, empty the column
	local how=$1 t0 t1 c0 c1 filled
	shift
	c0=$(cluster_cpu)
	t0=$(date +%s.%N)
	C "$@" >/dev/null 2>"$CITUS_DIR/err" || { cat "$CITUS_DIR/err" >&2; return 1; }
	t1=$(date +%s.%N)
	c1=$(cluster_cpu)
	filled=$(C -c "SELECT count(e) FROM docs")
	[ "$filled" = "$rows" ] || { echo "$how: $filled of $rows rows filled" >&2; return 1; }
	awk -v s="$setup" -v h="$how" -v r="$rows" -v t="$tokens" -v a="$t0" -v b="$t1" -v c="$c0" -v e="$c1" 'BEGIN {
		d = b - a; u = e - c
		printf "| %s | %s | %d | %.1f | %.1f | %.0f | %.1f | %.1f |\n", s, h, r, d, r / d, t / d, u, r / u }'
	C -c "UPDATE docs SET e = NULL" -c "VACUUM docs" >/dev/null
}

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$workers" -eq 0 ]; then
	timed "UPDATE … SET e = bert_embed(body, model), 1 process" \
		-c "UPDATE docs SET e = bert_embed(body, '$model')"
	timed "CALL bert_embed_table, bert.threads = 2" \
		-c "SET bert.threads = 2" -c "SET client_min_messages = warning" \
		-c "CALL bert_embed_table('docs', 'body', 'e', 256, '$model')"
else
	timed "UPDATE … SET e = bert_embed(body, model), 32 tasks" \
		-c "UPDATE docs SET e = bert_embed(body, '$model')"
	timed "run_command_on_shards(CALL bert_embed_table), 32 shards at once" \
		-c "SELECT count(*) FROM run_command_on_shards('docs',
		      \$\$CALL bert_embed_table(%L, 'body', 'e', 256, '$model')\$\$)"
fi
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# an embedding: $(C -c "SELECT pg_column_size(e) || ' bytes as real[], ' || length(e::text) || ' as text'
                             FROM (SELECT bert_embed('The weather is lovely today.', '$model') AS e) s")"
