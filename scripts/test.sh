#!/usr/bin/env bash
# test.sh: run every weir test on this machine, from nothing.
#
# Installs the Debian packages weir needs (scripts/install-deps.sh), builds
# three trees and runs, in this order:
#   1. the fuzz targets, 30 s each (clang + libFuzzer, ASan + UBSan);
#   2. the whole suite under ASan + UBSan (build/asan);
#   3. the whole suite on the optimised build (build/release).
# Tests start the services they need themselves (PostgreSQL, RabbitMQ,
# runc, Chromium) on loopback in temp dirs, and stop them by PID.
# Stops at the first failing stage; the last line is ctest's summary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
WEIR_DEPS_QUIET=1 bash scripts/install-deps.sh
export CTEST_OUTPUT_ON_FAILURE=1
jobs=$(nproc)

echo "== fuzz (30 s per target)"
fuzz=$(bash scripts/build.sh fuzz | tail -1)
WEIR_FUZZ_SECONDS=${WEIR_FUZZ_SECONDS:-30} ctest --test-dir "$fuzz" -j "$jobs"

echo "== suite under ASan + UBSan"
asan=$(bash scripts/build.sh asan | tail -1)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$asan" -j "$jobs"

echo "== suite on the release build"
rel=$(bash scripts/build.sh release | tail -1)
ctest --test-dir "$rel" -j "$jobs"
