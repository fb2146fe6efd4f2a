#!/usr/bin/env bash
# Install what bert needs to build, test and fetch its default model, from
# Debian's packages only.  Idempotent; run as root on Debian 12.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
updated=
update_once() { [ -n "$updated" ] || { apt-get update -qq; updated=1; }; }

# The server first, so that the dev headers can be pinned to its version:
# an unpinned postgresql-server-dev-15 would pull a newer server and upgrade it.
if ! have postgresql-15; then
	update_once
	apt-get install -y -qq postgresql-15 >/dev/null
fi
pgver=$(dpkg-query -W -f='${Version}' postgresql-15)

# clang + libclang-rt-14-dev: libFuzzer with ASan/UBSan for the fuzz smoke run
for p in build-essential libblis-openmp-dev libjansson-dev unicode-data npm postgresql-common clang libclang-rt-14-dev; do
	have "$p" || need+=("$p")
done
if ! have postgresql-server-dev-15 || [ "$(dpkg-query -W -f='${Version}' postgresql-server-dev-15)" != "$pgver" ]; then
	need+=("postgresql-server-dev-15=$pgver")
fi
# the Debian package (test/package.sh): debhelper, and pg_buildext's
# debhelper add-on pinned to the installed postgresql-common, as above
have debhelper || need+=(debhelper)
commonver=$(dpkg-query -W -f='${Version}' postgresql-common)
if ! have postgresql-server-dev-all || [ "$(dpkg-query -W -f='${Version}' postgresql-server-dev-all)" != "$commonver" ]; then
	need+=("postgresql-server-dev-all=$commonver")
fi
# npm may come from Node.js outside Debian's packages; then it is there already.
if command -v npm >/dev/null; then
	need=("${need[@]/npm/}")
fi
pkgs=()
for p in "${need[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done
if [ ${#pkgs[@]} -gt 0 ]; then
	update_once
	echo "install-deps: installing ${pkgs[*]}"
	apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
