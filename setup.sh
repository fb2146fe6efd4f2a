#!/usr/bin/env bash
# Install everything and run the demo: dependencies, the extension, the
# default model (all-MiniLM-L6-v2), a PostgreSQL 15 cluster if none is
# running, then a similarity query through psql.  Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh
make -s
make -s install
make -s install-model

# A running cluster: start the first PostgreSQL 15 cluster, or create one.
if ! pg_lsclusters -h 2>/dev/null | awk '$1 == 15 && $4 == "online" {found=1} END {exit !found}'; then
	cluster=$(pg_lsclusters -h 2>/dev/null | awk '$1 == 15 {print $2; exit}')
	if [ -z "$cluster" ]; then
		cluster=main
		pg_createcluster 15 "$cluster" >/dev/null
	fi
	pg_ctlcluster 15 "$cluster" start
fi
port=$(pg_lsclusters -h | awk '$1 == 15 && $4 == "online" {print $3; exit}')

su postgres -c "psql -X -p $port -v ON_ERROR_STOP=1 -d postgres" <scripts/demo.sql
