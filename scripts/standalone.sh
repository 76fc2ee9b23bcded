#!/usr/bin/env bash
# standalone.sh: install, build and run weir on this machine, on the shipped
# DAGs in dags/: a private PostgreSQL under WEIR_HOME (root: /var/lib/weir),
# the scheduler and the HTTP API, in the foreground (Ctrl-C stops it).
#
# Extra arguments go to `weir standalone` (e.g. --dags-folder DIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
WEIR_DEPS_QUIET=1 bash scripts/install-deps.sh
rel=$(bash scripts/build.sh release | tail -1)
"$rel/weir" dags validate dags
exec "$rel/weir" standalone --dags-folder "$top/dags" "$@"
