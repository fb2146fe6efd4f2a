#!/usr/bin/env bash
# check-core-includes.sh [DIR] — fail if a file of the plain-C core (src/core
# by default) includes a PostgreSQL header: the core is built and tested
# without PostgreSQL (unit tests, sanitizers, fuzzers, the converter).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-src/core}
pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](postgres\.h|postgres_fe\.h|c\.h|pg_config[a-z_]*\.h|fmgr\.h|funcapi\.h|miscadmin\.h|(access|catalog|commands|common|executor|lib|libpq|mb|nodes|optimizer|parser|port|postmaster|replication|storage|tcop|utils)/)'
if leaks=$(grep -rnE "$pattern" "$dir" --include='*.c' --include='*.h'); then
	echo "check-core-includes: files under $dir include PostgreSQL headers:" >&2
	echo "$leaks" >&2
	exit 1
fi
echo "check-core-includes: $(find "$dir" -name '*.[ch]' | wc -l) files under $dir, no PostgreSQL header"
