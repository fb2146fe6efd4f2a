#!/usr/bin/env bash
# make uninstall removes everything make install and make install-model put
# in place.  Lists PostgreSQL's installation directories (files, links and
# directories) after an uninstall, after installing, and after uninstalling
# again; prints what the install added and what the uninstall left behind,
# which must be nothing.  Run as root, under the lock of the system
# PostgreSQL; leaves the extension uninstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

dirs=("$(pg_config --pkglibdir)" "$(pg_config --sharedir)" "$(pg_config --bindir)")
list() { find "${dirs[@]}" | sort; }

make -s uninstall
list >/tmp/bert-uninstall.$$.before
trap 'rm -f /tmp/bert-uninstall.$$.*' EXIT
make -s install
make -s install-model
list >/tmp/bert-uninstall.$$.installed
make -s uninstall
list >/tmp/bert-uninstall.$$.after

added=$(comm -13 /tmp/bert-uninstall.$$.before /tmp/bert-uninstall.$$.installed)
left=$(comm -13 /tmp/bert-uninstall.$$.before /tmp/bert-uninstall.$$.after)
# anything of ours that the first uninstall should already have removed
stale=$(grep -E '/(bert[^/]*|bert-convert|bert-quantize|all-MiniLM-L6-v2[^/]*)$' /tmp/bert-uninstall.$$.after || true)

echo "make install + make install-model added $(printf '%s' "$added" | grep -c . || true) paths:"
printf '%s\n' "$added" | sed 's/^/  /'
n_left=$(printf '%s\n%s' "$left" "$stale" | grep -c . || true)
echo "left after make uninstall: $n_left"
[ -z "$left$stale" ] || { printf '%s\n%s\n' "$left" "$stale" | grep . | sed 's/^/  /'; exit 1; }
[ -n "$added" ] || { echo "uninstall: make install added nothing?" >&2; exit 1; }
