#!/usr/bin/env bash
# standalone.sh: install, build and run weir's main job on this machine.
#
# Until the scheduler lands this validates and shows the shipped DAGs; then
# it becomes `weir standalone` (private PostgreSQL + scheduler + API).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
WEIR_DEPS_QUIET=1 bash scripts/install-deps.sh
rel=$(bash scripts/build.sh release | tail -1)
"$rel/weir" dags validate dags
for f in dags/*.yaml; do
	echo
	"$rel/weir" dags show "$f"
done
