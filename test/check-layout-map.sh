#!/usr/bin/env bash
# check-layout-map.sh — fail if a tracked source file is not named in the
# layout map of docs/development.md (a map that misses a file is a defect).
set -euo pipefail
cd "$(dirname "$0")/.."
map=docs/development.md
missing=0
while IFS= read -r f; do
	case "$f" in
		test/fuzz/corpus/*|expected/*|docs/*|README.md) continue ;;
	esac
	base=${f##*/}
	# named by its path, or by its name inside the row of its folder
	if ! grep -qF -- "$f" "$map" && ! grep -qF -- "\`$base\`" "$map"; then
		echo "check-layout-map: $f is not in $map" >&2
		missing=$((missing + 1))
	fi
done < <(git ls-files)
[ "$missing" -eq 0 ] || exit 1
echo "check-layout-map: every tracked file is in $map"
