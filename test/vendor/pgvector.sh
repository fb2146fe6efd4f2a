#!/usr/bin/env bash
# Build pgvector 0.8.6 from the vendored source and install it into the system
# PostgreSQL, once: does nothing when vector.control is already there.  Run as
# root, under the shared lock (it installs into the one server).
# Usage: test/vendor/pgvector.sh   (BERT_VENDOR_DIR: the tarball's directory,
# by default ../shared/vendor beside the clone)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}

if [ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ]; then
	exit 0
fi
tarball=
for d in ${BERT_VENDOR_DIR:+"$BERT_VENDOR_DIR"} "$root/../shared/vendor" "$root/../../shared/vendor"; do
	[ -f "$d/pgvector-0.8.6.tar.gz" ] && { tarball=$d/pgvector-0.8.6.tar.gz; break; }
done
if [ -z "$tarball" ]; then
	echo "pgvector.sh: pgvector-0.8.6.tar.gz not found (set BERT_VENDOR_DIR to its directory)" >&2
	exit 1
fi
build=$(mktemp -d /tmp/pgvector-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
tar -xzf "$tarball" -C "$build"
cd "$build/pgvector-0.8.6"
echo "pgvector.sh: building pgvector 0.8.6"
# with_llvm=no: no JIT bitcode, which only the JIT would use and which
# doubles the build time
make -s -j2 PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
make -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >/dev/null
echo "pgvector.sh: installed into $("$PG_CONFIG" --pkglibdir)"
