#!/usr/bin/env bash
# build.sh [VARIANT]: configure and build one build tree under build/.
#
#   release  build/release  optimised, warnings are errors (default)
#   asan     build/asan     AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz     build/fuzz     clang + libFuzzer targets
#
# Prints the build directory on the last line.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
case $variant in
release)
	dir=$top/build/release
	cmake -S "$top" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEIR_WERROR=ON >/dev/null
	;;
asan)
	dir=$top/build/asan
	cmake -S "$top" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug -DWEIR_WERROR=ON -DWEIR_SANITIZE=ON >/dev/null
	;;
fuzz)
	dir=$top/build/fuzz
	CC=clang cmake -S "$top" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEIR_FUZZ=ON -DWEIR_TESTS=OFF >/dev/null
	;;
*)
	echo "build.sh: unknown variant \"$variant\" (release, asan, fuzz)" >&2
	exit 2
	;;
esac
cmake --build "$dir" -j "$(nproc)" >&2
echo "$dir"
