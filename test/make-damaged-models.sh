#!/usr/bin/env bash
# Damaged copies of a model file for the catalogue regression test:
# truncated at 10 pseudo-random offsets (fixed seed) and with single header
# bytes flipped.  Usage: make-damaged-models.sh MODEL.bert OUTDIR
set -euo pipefail
model=$1
out=$2
size=$(stat -c %s "$model")
rm -rf "$out"
mkdir -p "$out"

seed=42
for i in $(seq -w 1 10); do
	seed=$(( (seed * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff ))
	cut=$(( (seed >> 16) % size ))
	head -c "$cut" "$model" > "$out/cut-$i-$cut.bert"
done
# magic, version, header size, file size, kind, layers, hidden, heads,
# labels, activation, pooling, cls id, tensor/vocab/hash/label offsets, crc
for off in 0 8 12 16 24 28 32 36 56 60 64 84 112 128 144 160 508; do
	cp "$model" "$out/flip-$(printf %03d "$off").bert"
	byte=$(od -An -tu1 -j "$off" -N1 "$model" | tr -d ' ')
	printf "\\$(printf %03o $(( byte ^ 85 )))" |
		dd of="$out/flip-$(printf %03d "$off").bert" bs=1 seek="$off" conv=notrunc status=none
done
chmod -R a+rX "$out"
