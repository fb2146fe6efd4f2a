#!/usr/bin/env bash
# After make installcheck (run inside pg_virtualenv, once or more, with any
# CONTRIB_TESTDB): the suite left no database but the test databases
# themselves, no role, no model but the ones make install-model ships.
# Usage: regress-leftovers.sh TESTDB...
set -euo pipefail
q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }

keep=$(printf "'%s'," postgres template0 template1 "$@")
dbs=$(q -d postgres -c "SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database
                         WHERE datname NOT IN (${keep%,})")
roles=$(q -d postgres -c "SELECT string_agg(rolname, ' ' ORDER BY rolname) FROM pg_roles
                           WHERE rolname !~ '^pg_' AND rolname <> current_user")
models=$(q -d "$1" -c "SELECT string_agg(name, ' ' ORDER BY name) FROM bert_models
                        WHERE name NOT IN ('all-MiniLM-L6-v2', 'all-MiniLM-L6-v2-int8')")
echo "left behind: databases [${dbs}] roles [${roles}] models [${models}]"
[ -z "$dbs$roles$models" ]
