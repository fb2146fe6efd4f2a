#!/usr/bin/env bash
# run.sh SECONDS [TARGET...] — build the libFuzzer targets (clang, ASan +
# UBSan) into test/fuzz/build/ and run each (default: tokenizer model) for
# SECONDS, one after the other, on a scratch copy of the committed seed corpus
# (test/fuzz/corpus/TARGET/), which is never grown.  Prints executions and
# findings per target, then "fuzz: N passed, M failed"; exits non-zero if any
# target found something.  Crash inputs are kept as test/fuzz/build/crash-TARGET-*.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
	echo "usage: $0 SECONDS [tokenizer|model ...]" >&2
	exit 2
fi
seconds=$1
shift
[ $# -gt 0 ] && targets=("$@") || targets=(tokenizer model)
build=test/fuzz/build
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror -Isrc/core"

if ! command -v "$CC" >/dev/null; then
	echo "fuzz: $CC not found (apt-get install -y clang libclang-rt-14-dev)" >&2
	exit 2
fi
mkdir -p "$build"
# generated inputs: the Unicode tables, and the real vocabulary for the tokenizer
[ -f src/core/unicode_tables.c ] || make -s src/core/unicode_tables.c
[ -f test/unit/build/vocab.txt ] || make -s test/unit/build/vocab.txt

$CC $CFLAGS -o "$build/fuzz_tokenizer" test/fuzz/fuzz_tokenizer.c \
	src/core/tokenizer.c src/core/unicode_tables.c
$CC $CFLAGS -o "$build/fuzz_model" test/fuzz/fuzz_model.c \
	src/core/model.c src/core/tokenizer.c src/core/unicode_tables.c -lm
# the model seeds, made afresh: the committed ones go stale if the format changes
$CC -g -O1 -Wall -Wextra -Werror -Isrc/core -o "$build/make_seeds" test/fuzz/make_seeds.c src/core/model.c -lm

export BERT_FUZZ_VOCAB="$PWD/test/unit/build/vocab.txt"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

passed=0
failed=0
for target in "${targets[@]}"; do
	case "$target" in
		tokenizer | model) ;;
		*) echo "fuzz: unknown target $target" >&2; exit 2 ;;
	esac
	bin="$build/fuzz_$target"
	work="$build/corpus-$target"
	log="$build/fuzz_$target.log"
	rm -rf "$work"
	mkdir -p "$work"
	cp test/fuzz/corpus/$target/* "$work/"
	if [ "$target" = model ]; then
		"$build/make_seeds" "$work" >/dev/null
		for f in test/fuzz/corpus/model/*.bert; do
			cmp -s "$f" "$work/${f##*/}" ||
				echo "fuzz: $f is stale; regenerate with $build/make_seeds test/fuzz/corpus/model"
		done
	fi
	rm -f "$build"/crash-$target-* "$build"/leak-$target-* "$build"/timeout-$target-* \
		"$build"/oom-$target-*
	args=(-max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=25
		  -print_final_stats=1 -artifact_prefix="$build/" )
	[ -f test/fuzz/$target.dict ] && args+=(-dict=test/fuzz/$target.dict)
	set +e
	"$bin" "${args[@]}" "$work" >"$log" 2>&1
	status=$?
	set -e
	# libFuzzer names artifacts crash-SHA1 etc.; tag them with the target
	for f in "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-* "$build"/slow-unit-*; do
		case "$f" in
			*-tokenizer-* | *-model-* | *'*') ;;
			*) mv "$f" "${f%/*}/$(basename "$f" | sed "s/^\([a-z-]*\)-/\1-$target-/")" ;;
		esac
	done
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
	if [ "$status" -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz_$target: ${execs:-?} executions in ${seconds}s ($cov), no findings"
	else
		failed=$((failed + 1))
		echo "fuzz_$target: FINDING after ${execs:-?} executions (exit $status); log: $log"
		{ grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+: |.*runtime error:)' "$log" || true; } |
			head -5 | sed 's/^/    /'
		{ ls "$build"/*-"$target"-* 2>/dev/null || true; } | sed 's/^/    input: /'
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
