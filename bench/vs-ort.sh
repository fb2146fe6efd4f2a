#!/usr/bin/env bash
# vs-ort.sh — bert against ONNX Runtime on this machine, in one run, on one
# corpus: every row of issue 15's table as tokens/s of each and their ratio.
# ONNX Runtime is the yardstick in ../shared/anchor (onnxruntime-node, the
# same weights); bert runs in a throwaway cluster of its own (initdb, as
# postgres when run as root) and as the encoder alone (bench/encode).  The
# measurements are interleaved over ROUNDS rounds (ORT, bert, then ORT and
# bert kept to AVX2, then again), and each row shows the median and, in brackets,
# the range over the rounds; the ratio is the median of the rounds' ratios.
# Then the same table with the AVX2 kernels (BERT_KERNELS=avx2,
# BLIS_ARCH_TYPE=6, BLIS's zen3, in the server's environment) against a copy of
# ONNX Runtime that takes this CPU for an AVX2-only one (bench/ort-avx2), both
# with glibc's string functions kept to AVX2 (GLIBC_TUNABLES): an emulation of
# an AVX2-only machine (a Zen 3) on this CPU, not a run on one.
#
#   make -s install && make -s install-model      (under the system lock), then
#   bench/vs-ort.sh
#
# Environment: ROUNDS (default 3), AVX2=0 (no emulated AVX2 table), CORPUS
# (default bench/data/corpus.txt, made by bench/make-corpus), ANCHOR_DIR
# (default /tmp/anchor-bench: set up here with the corpus if needed; the
# AVX2 copy of ONNX Runtime goes to ANCHOR_DIR-avx2),
# ANCHOR_SRC (the anchor's scripts, default ../shared/anchor), PG_BINDIR
# (the PostgreSQL whose installation holds bert, default pg_config's: a
# private copy of the installation, with bert installed into it by
# DESTDIR, keeps other installs from changing the code under test).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fp32=all-MiniLM-L6-v2
int8=all-MiniLM-L6-v2-int8
rounds=${ROUNDS:-3}
zen3=6		# BLIS 0.9 reads BLIS_ARCH_TYPE as its arch_t number: 6 is BLIS_ARCH_ZEN3
# glibc's memcpy and friends as on an AVX2-only CPU, for both sides of the emulation
notavx512=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX_VNNI,-AVX512_VNNI
A=${ANCHOR_DIR:-/tmp/anchor-bench}

if [ -z "${VS_ORT_INSIDE:-}" ]; then
	src=${ANCHOR_SRC:-}
	for d in ../shared/anchor ../../shared/anchor /work/shared/anchor; do
		[ -n "$src" ] || [ ! -f "$d/bench_ort.mjs" ] || src=$(cd "$d" && pwd)
	done
	[ -n "$src" ] || { echo "vs-ort: the ONNX Runtime anchor (../shared/anchor) is not found; set ANCHOR_SRC" >&2; exit 1; }
	corpus=${CORPUS:-bench/data/corpus.txt}
	if [ ! -s "$corpus" ]; then
		[ -f demo/cache/spam-assassin/data/file_list.json ] || demo/fetch-data.sh >&2
		mkdir -p "$(dirname "$corpus")"
		bench/make-corpus > "$corpus.tmp" && mv "$corpus.tmp" "$corpus"
	fi
	corpus=$(realpath "$corpus")
	if ! cmp -s "$corpus" "$A/corpus.txt" || [ ! -f "$A/minilm.int8.onnx" ] || [ ! -f "$A/ref_check.json" ]; then
		echo "vs-ort: setting up the ONNX Runtime anchor in $A with $corpus (a minute or two)" >&2
		ANCHOR_DIR=$A "$src/setup.sh" "$corpus" >&2
	fi
	[ "${AVX2:-1}" = 0 ] || bench/ort-avx2 "$A" "$A-avx2" ||
		{ echo "vs-ort: no AVX2-only copy of ONNX Runtime for the emulated table (AVX2=0 skips it)" >&2; exit 1; }
	make -s -C bench encode cosine >/dev/null
	chmod 644 "$corpus"
	export VS_ORT_INSIDE=1 VS_ORT_SRC=$src VS_ORT_CORPUS=$corpus
	exec "$0" "$@"
fi

# the throwaway cluster: socket and data in a directory of its own
pgbin=${PG_BINDIR:-$(pg_config --bindir)}
pgdir=$(mktemp -d /tmp/vs-ort.XXXXXX)
chmod 755 "$pgdir"
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$pgdir"
		su postgres -s /bin/sh -c "$1"
	else
		sh -c "$1"
	fi
}
pg_start() {	# $1: environment of the server (VAR=value ...)
	as_pg "env $1 '$pgbin/pg_ctl' -D '$pgdir/db' -l '$pgdir/log' -w -o \"-p 5499 -k '$pgdir' -c listen_addresses=''\" start" >/dev/null
}
pg_stop() { as_pg "'$pgbin/pg_ctl' -D '$pgdir/db' -m fast -w stop" >/dev/null 2>&1 || true; }
trap 'pg_stop; rm -rf "$pgdir"; rm -rf "${work:-/nonexistent}"' EXIT
as_pg "'$pgbin/initdb' -D '$pgdir/db' -A trust -U postgres" >/dev/null
pg_start ""
export PGHOST=$pgdir PGPORT=5499 PGUSER=postgres PGDATABASE=postgres

src=$VS_ORT_SRC
corpus=$VS_ORT_CORPUS
work=$(mktemp -d)
q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }

# seconds taken by the last statement of $1 (after the settings in $2)
timed() {
	q -c "${2:-SELECT 1}" -c "\\timing on" -c "$1" 2>>"$work/notices" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1 | awk '{printf "%.4f", $1 / 1000}'
}
# record key value (this round)
rec() { echo "$1 $round $2" >> "$work/values"; }

# the kernels of the server: $1 = "" (the CPU's best) or avx2
server_kernels() {
	pg_stop
	if [ "$1" = avx2 ]; then
		pg_start "BERT_KERNELS=avx2 BLIS_ARCH_TYPE=$zen3 GLIBC_TUNABLES=$notavx512"
	else
		pg_start ""
	fi
}

q -c "CREATE EXTENSION IF NOT EXISTS bert" >/dev/null
q -c "CREATE TABLE corpus (id serial PRIMARY KEY, body text NOT NULL)" >/dev/null
q -c "\\copy corpus (body) FROM '$corpus' WITH (FORMAT text, DELIMITER E'\\x01')" >/dev/null
n=$(q -c "SELECT count(*) FROM corpus")
# tokens as the model sees them ([CLS] and [SEP] counted), as ORT counts them
ntok=$(node -e "const a = require('$A/corpus_ids.json'); console.log(a.reduce((s, t) => s + t.length, 0))")
# p50 latency of single calls, ms: every 10th sentence of the corpus, one call each
p50="CREATE FUNCTION pg_temp.p50(m text) RETURNS float8 AS \$f\$
  DECLARE t0 timestamptz; d float8[] := '{}'; s text;
  BEGIN
    FOR s IN SELECT body FROM corpus WHERE id % 10 = 0 ORDER BY id LOOP
      t0 := clock_timestamp();
      PERFORM bert_embed(s, m);
      d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(d) x);
  END \$f\$ LANGUAGE plpgsql"

bert_rows() {	# $1 = key prefix ("" or avx2-); $2 = kernels for bench/encode
	local p=$1 kenv=() m t
	[ -z "$2" ] || kenv=(BERT_KERNELS=avx2 BLIS_ARCH_TYPE=$zen3 GLIBC_TUNABLES=$notavx512)
	for m in $fp32 $int8; do
		q -c "SELECT bert_embed('warm up', '$m')" >/dev/null
		# bulk, default settings: a fresh table each time
		q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bulk" -c "CREATE TABLE bulk AS SELECT id, body, NULL::real[] AS emb FROM corpus" >/dev/null
		if [ $m = $fp32 ]; then
			t=$(timed "CALL bert_embed_table('bulk', 'body', 'emb')")
		else
			t=$(timed "CALL bert_embed_table('bulk', 'body', 'emb', model => '$m')")
		fi
		[ "$(q -c "SELECT count(*) FROM bulk WHERE emb IS NULL OR cardinality(emb) <> 384")" = 0 ] ||
			{ echo "vs-ort: bert_embed_table left rows without an embedding" >&2; exit 1; }
		rec "${p}bulk-$m" "$(awk -v n="$n" -v t="$t" 'BEGIN {print n / t}')"
		if [ $m = $fp32 ]; then
			t=$(timed "SELECT count(bert_embed(body)) FROM corpus")
		else
			t=$(timed "SELECT count(bert_embed(body, '$m')) FROM corpus")
		fi
		rec "${p}row-$m" "$(awk -v n="$n" -v t="$t" 'BEGIN {print n / t}')"
		rec "${p}p50-$m" "$(q -c "$p50" -c "SELECT pg_temp.p50('$m')")"
		# the encoder alone: one sentence a call on 1 thread; batches of 256 on 2
		rec "${p}enc1-$m" "$(env "${kenv[@]}" ENCODE_REPS=1 bench/encode "model/build/$m.bert" "$corpus" 1 1 |
			awk '/^batch/ {print $3}')"
		rec "${p}enc256-$m" "$(env "${kenv[@]}" ENCODE_REPS=1 ENCODE_BATCH_ONLY=1 bench/encode "model/build/$m.bert" "$corpus" 256 2 |
			awk '/^batch/ {print $3}')"
	done
}

# ONNX Runtime's four rows (bulk and row at a time of each model), as
# sentences/s and ms/sentence under keys PREFIX{bulk,row}-MODEL: $1 the
# prefix, $2 the anchor directory, $3 the int8 check's floor, $4 the file
# its checks go to, then the environment (VAR=value ...)
ort_rows() {
	local p=$1 dir=$2 floor=$3 check=$4 m row line
	shift 4
	for m in $fp32 $int8; do
		local model=()
		[ $m = $fp32 ] || model=(--model "$A/minilm.int8.onnx" --label ort-int8 --min-cos "$floor")
		for row in bulk row; do
			local how=(--threads 1 --batches 1)
			[ $row = row ] || how=(--threads 2 --batches 32 --sorted)
			line=$(env "$@" ANCHOR_DIR="$dir" node "$src/bench_ort.mjs" --reps 1 "${model[@]}" "${how[@]}" 2>>"$check")
			rec "$p$row-$m" "$(echo "$line" | awk -F'|' '{print $5 + 0}')"
			rec "$p$row-$m-ms" "$(echo "$line" | awk -F'|' '{print $6 + 0}')"
			echo "$line" | awk -F'|' '{split($2, w, " "); print w[2]}' > "$work/ort-version"
		done
	done
}

load_before=$(uptime | sed 's/.*load average: //')
echo "vs-ort: $n sentences, $ntok tokens, $rounds rounds; load average $load_before" >&2
for round in $(seq "$rounds"); do
	echo "vs-ort: round $round of $rounds ($(date -u +%H:%M:%S))" >&2
	ort_rows ort- "$A" 0.98 "$work/ort-check"
	[ "$round" = 1 ] || server_kernels ""
	[ "$round" != 1 ] || q -c "SELECT format('bert_info(): simd %s, BLIS %s %s (%s), usable cores %s', simd, blis_version, kernel, kernel_reason, usable_cores) FROM bert_info()" > "$work/info"
	bert_rows "" ""
	if [ "${AVX2:-1}" != 0 ]; then
		server_kernels avx2
		[ "$round" != 1 ] || q -c "SELECT format('bert_info(): simd %s, BLIS %s %s (%s), usable cores %s', simd, blis_version, kernel, kernel_reason, usable_cores) FROM bert_info()" > "$work/info-avx2"
		# ONNX Runtime as on an AVX2-only CPU, whose int8 products saturate (its check: 0.981)
		ort_rows ort-avx2- "$A-avx2" 0.975 "$work/ort-check-avx2" GLIBC_TUNABLES="$notavx512"
		bert_rows avx2- avx2
	fi
done
load_after=$(uptime | sed 's/.*load average: //')

# median, min and max of the numbers on stdin
med() { sort -g | awk '{v[NR] = $1} END {
	print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'; }
# median and range of a key; of the rounds' ratios of two keys
stat() { awk -v k="$1" '$1 == k {print $3}' "$work/values" | med; }
ratio() { awk -v a="$1" -v b="$2" '$1 == a {x[$2] = $3} $1 == b {y[$2] = $3} END {
	for (r in x) if (r in y && y[r] > 0) print x[r] / y[r] }' "$work/values" | med; }
tps() { read -r m lo hi < <(stat "$1"); awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="$2" 'BEGIN {
	printf "%s (%s–%s)", int(m * f + 0.5), int(lo * f + 0.5), int(hi * f + 0.5) }'; }
row() {	# label, bert key, ORT key, target (>= ratio) or "" for reference rows
	local r lo hi met=""
	read -r r lo hi < <(ratio "$2" "$3")
	[ -z "$4" ] || met=$(awk -v r="$r" -v t="$4" 'BEGIN {print (r >= t ? "met" : "NOT met")}')
	printf "| %s | %s | %s | %.2f× (%.2f–%.2f) | %s |\n" "$1" "$(tps "$2" "$tpsent")" "$(tps "$3" "$tpsent")" "$r" "$lo" "$hi" \
		"${4:+≥ $4×: $met}"
}
latrow() {	# label, bert p50 key, ORT ms key
	local r lo hi
	read -r r lo hi < <(ratio "$2" "$3-ms")
	printf "| %s | %s ms | %s ms | %.2f× (%.2f–%.2f) | ≤ 0.8×: %s |\n" "$1" \
		"$(stat "$2" | awk '{printf "%.2f (%.2f–%.2f)", $1, $2, $3}')" \
		"$(stat "$3-ms" | awk '{printf "%.2f (%.2f–%.2f)", $1, $2, $3}')" "$r" "$lo" "$hi" \
		"$(awk -v r="$r" 'BEGIN {print (r <= 0.8 ? "met" : "NOT met")}')"
}
tpsent=$(awk -v a="$ntok" -v n="$n" 'BEGIN {print a / n}')
table() {	# bert key prefix, ONNX Runtime key prefix
	local p=$1 o=$2
	echo "| what | bert tokens/s | ONNX Runtime tokens/s | ratio | target |"
	echo "|---|---|---|---|---|"
	row "bulk: \`CALL bert_embed_table(...)\` default settings vs ORT fp32, 2 threads, sorted batches of 32" "${p}bulk-$fp32" "${o}bulk-$fp32" 1.25
	row "the encoder alone, batch 256, 2 threads, vs the same ORT row" "${p}enc256-$fp32" "${o}bulk-$fp32" ""
	row "row at a time: \`SELECT bert_embed(t) FROM tab\` vs ORT fp32, 1 thread, batch 1" "${p}row-$fp32" "${o}row-$fp32" 1.3
	row "the encoder alone, one sentence a call, 1 thread, vs the same ORT row" "${p}enc1-$fp32" "${o}row-$fp32" ""
	latrow "p50 latency of one \`bert_embed(t)\` call (a corpus sentence) vs ORT's time a sentence, 1 thread" "${p}p50-$fp32" "${o}row-$fp32"
	row "int8 bulk: \`CALL bert_embed_table(..., model => '$int8')\` vs ORT int8, 2 threads, sorted b32" "${p}bulk-$int8" "${o}bulk-$int8" 1.2
	row "int8, the encoder alone, batch 256, 2 threads, vs the same ORT row" "${p}enc256-$int8" "${o}bulk-$int8" ""
	row "int8 row at a time: \`SELECT bert_embed(t, '$int8') FROM tab\` vs ORT int8, 1 thread, batch 1" "${p}row-$int8" "${o}row-$int8" 1.2
	row "int8, the encoder alone, one sentence a call, 1 thread, vs the same ORT row" "${p}enc1-$int8" "${o}row-$int8" ""
	latrow "int8: p50 latency of one call vs ORT int8's time a sentence, 1 thread" "${p}p50-$int8" "${o}row-$int8"
}

echo
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' |
	grep -E '^(avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512dq|avx512_vnni|avx_vnni|avx512_bf16|avx512vbmi)$' | tr '\n' ' ')"
echo "ONNX Runtime $(cat "$work/ort-version") (onnxruntime-node, CPU); corpus: $n sentences of $corpus, $ntok tokens"
echo "load average (1, 5, 15 min) before: $load_before; after: $load_after; $rounds rounds interleaved, median (range)"
cat "$work/info"
grep -o 'on up to [0-9]* threads\?' "$work/notices" | sort | uniq -c | sed 's/^ */bert_embed_table NOTICE: /' || true
echo
table "" ort-
echo
cos=$(bench/cosine "model/build/$int8.bert" "model/build/$fp32.bert" "$corpus" 2>&1 | sed -n 's/; worst: \(.*\)/; worst: "\1"/p')
echo "cosine of $int8 to $fp32 (bench/cosine, every sentence): $cos"
echo "ONNX Runtime's checks (its own sentences vs the numpy reference):"
sort -u "$work/ort-check" | sed 's/^/  /'
if [ "${AVX2:-1}" != 0 ]; then
	echo
	echo "Emulated AVX2-only machine (not a run on one): bert with BERT_KERNELS=avx2 BLIS_ARCH_TYPE=$zen3 (zen3),"
	echo "ONNX Runtime as patched by bench/ort-avx2 (no AVX-512, no AVX-VNNI), both with GLIBC_TUNABLES=$notavx512"
	cat "$work/info-avx2"
	echo "ONNX Runtime's checks on AVX2 (its int8 products saturate in vpmaddubsw there):"
	sort -u "$work/ort-check-avx2" | sed 's/^/  /'
	echo
	table avx2- ort-avx2-
fi
