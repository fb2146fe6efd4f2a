#!/usr/bin/env bash
# test/vendor/pgvector.sh — make pgvector 0.8.6 available to the tests: if
# vector.control is absent from the server's extension directory, build
# pgvector from the vendored source tarball (sha256-checked) with PGXS and
# install it; else do nothing.  Exits 0 once pgvector is installed.
#
#   PG_CONFIG          pg_config of the server (default: pg_config)
#   DESTDIR            staging root for make install, as PGXS takes it
#   PGVECTOR_TARBALL   the source; default: ../shared/vendor/ next to the
#                      repository (or its main checkout), then /work/shared/vendor/
#
# It installs into the system PostgreSQL: run it under the same lock as
# make install.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=0.8.6
sha256=5743dac39fdfa740533cf95e71b033bd5513b71dda194b3cf19464ccbf76f3fb
pg_config=${PG_CONFIG:-pg_config}
control="${DESTDIR:-}$("$pg_config" --sharedir)/extension/vector.control"

if [ -f "$control" ]; then
	echo "pgvector: installed ($control)"
	exit 0
fi

tarball=${PGVECTOR_TARBALL:-}
if [ -z "$tarball" ]; then
	main=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null | sed 's|/\.git$||' || true)
	for candidate in "../shared/vendor" "${main:+$main/../shared/vendor}" "/work/shared/vendor"; do
		if [ -n "$candidate" ] && [ -f "$candidate/pgvector-$version.tar.gz" ]; then
			tarball="$candidate/pgvector-$version.tar.gz"
			break
		fi
	done
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
	echo "pgvector: no source tarball pgvector-$version.tar.gz (set PGVECTOR_TARBALL)" >&2
	exit 1
fi
echo "$sha256  $tarball" | sha256sum -c --quiet - || { echo "pgvector: $tarball: wrong sha256" >&2; exit 1; }

build=$(mktemp -d /tmp/pgvector-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
tar xzf "$tarball" -C "$build"
# OPTFLAGS="": pgvector defaults to -march=native; a portable build is fast enough for tests
# with_llvm=no: no JIT bitcode, which only the JIT would use
make -s -j2 -C "$build/pgvector-$version" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no >/dev/null
make -s -C "$build/pgvector-$version" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no install >/dev/null
echo "pgvector: built and installed $version ($control)"
