#!/bin/sh
# run-fuzz.sh BINARY [SEED_DIR...]: fuzz for $WEIR_FUZZ_SECONDS (default 30).
# New inputs go to a corpus directory next to the binary, so seed folders
# in the source tree are only read.
set -eu
bin=$1
shift
corpus=$(dirname "$bin")/corpus-$(basename "$bin")
mkdir -p "$corpus"
exec "$bin" -max_total_time="${WEIR_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 "$corpus" "$@"
