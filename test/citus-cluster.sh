# A throwaway Citus cluster on localhost, for test/citus.sh and
# bench/citus-fill.sh (sourced, not run).  Every node is its own initdb'd
# server run as postgres, on a free TCP port, with its socket and data under
# one temporary directory; citus_cluster_stop stops them all and removes the
# directory (callers trap it on EXIT).
#
#   citus_install               build + install Citus 13.2.2 from the vendored
#                               source if citus.control is absent (root, under
#                               the shared lock: it installs into the server)
#   citus_cluster_start N       a coordinator and N workers, Citus metadata set
#   citus_add_worker            one more worker, registered (prints its port)
#   citus_cluster_stop
#   cq PORT SQL...              psql -qAt on a node (ON_ERROR_STOP)
#
# Sets CITUS_DIR, COORD (the coordinator's port) and WORKERS (their ports).

PGBIN=$(pg_config --bindir)
CITUS_DIR=
COORD=
WORKERS=()

citus_as_postgres()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

citus_install()
{
	local sharedir tarball d root build main
	sharedir=$(pg_config --sharedir)
	[ -f "$sharedir/extension/citus.control" ] && return 0
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	tarball=
	# as test/vendor/pgvector.sh looks for its tarball: beside this tree,
	# beside its main checkout (a worktree's), then the workplace's copy
	main=$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null | sed 's|/\.git$||' || true)
	for d in ${BERT_VENDOR_DIR:+"$BERT_VENDOR_DIR"} "$root/../shared/vendor" "$root/../../shared/vendor" \
		${main:+"$main/../shared/vendor"} /work/shared/vendor; do
		[ -f "$d/citus-13.2.2.tar.gz" ] && { tarball=$d/citus-13.2.2.tar.gz; break; }
	done
	if [ -z "$tarball" ]; then
		echo "citus: citus-13.2.2.tar.gz not found (set BERT_VENDOR_DIR to its directory)" >&2
		return 1
	fi
	# Citus needs lz4 and zstd; PostgreSQL's server headers include gssapi.h
	local p need=()
	for p in liblz4-dev libzstd-dev libkrb5-dev; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
	done
	if [ ${#need[@]} -gt 0 ]; then
		echo "citus: installing ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null; } ||
			return 1
	fi
	build=$(mktemp -d /tmp/citus-build.XXXXXX)
	echo "citus: building Citus 13.2.2 from $tarball"
	# with_llvm=no: no JIT bitcode (a second clang pass over every file)
	if ! (tar -xzf "$tarball" -C "$build" && cd "$build/citus-13.2.2" &&
		./configure --without-libcurl >"$build/configure.log" 2>&1 &&
		make -s -j2 with_llvm=no >"$build/make.log" 2>&1 &&
		make -s with_llvm=no install >"$build/install.log" 2>&1); then
		tail -n 30 "$build"/*.log >&2
		rm -rf "$build"
		return 1
	fi
	rm -rf "$build"
	echo "citus: installed"
}

citus_free_port()
{
	local p
	for p in $(shuf -i 20000-60000 -n 50); do
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

cq()
{
	local port=$1
	shift
	psql -X -qAt -v ON_ERROR_STOP=1 -h "$CITUS_DIR/sock" -p "$port" -U postgres -d postgres "$@"
}

# citus_node_start: initdb and start one node; prints its port
citus_node_start()
{
	local port data
	port=$(citus_free_port) || return 1
	data=$CITUS_DIR/node-$port
	citus_as_postgres "$PGBIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$data.initdb.log" 2>&1 ||
		{ cat "$data.initdb.log" >&2; return 1; }
	cat >>"$data/postgresql.conf" <<EOF
shared_preload_libraries = 'citus'
listen_addresses = 'localhost'
port = $port
unix_socket_directories = '$CITUS_DIR/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
# Citus commits writes that span nodes with two-phase commit
max_prepared_transactions = 50
shared_buffers = 64MB
EOF
	citus_as_postgres "$PGBIN/pg_ctl" -D "$data" -l "$data.log" -w -t 60 start >/dev/null ||
		{ cat "$data.log" >&2; return 1; }
	cq "$port" -c "CREATE EXTENSION citus" >/dev/null || return 1
	echo "$port"
}

citus_cluster_start()
{
	local n=$1 i port
	CITUS_DIR=$(mktemp -d /tmp/bert-citus.XXXXXX)
	chmod 755 "$CITUS_DIR"
	chown postgres: "$CITUS_DIR" 2>/dev/null || true
	citus_as_postgres mkdir -p "$CITUS_DIR/sock"
	COORD=$(citus_node_start) || return 1
	cq "$COORD" -c "SELECT citus_set_coordinator_host('localhost', $COORD)" >/dev/null || return 1
	WORKERS=()
	for ((i = 0; i < n; i++)); do
		port=$(citus_add_worker) || return 1
		WORKERS+=("$port")
	done
}

citus_add_worker()
{
	local port
	port=$(citus_node_start) || return 1
	cq "$COORD" -c "SELECT citus_add_node('localhost', $port)" >/dev/null || return 1
	echo "$port"
}

citus_cluster_stop()
{
	local d
	[ -n "$CITUS_DIR" ] && [ -d "$CITUS_DIR" ] || return 0
	for d in "$CITUS_DIR"/node-*; do
		[ -f "$d/postmaster.pid" ] && citus_as_postgres "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	done
	rm -rf "$CITUS_DIR"
	CITUS_DIR=
}
