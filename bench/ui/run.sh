#!/usr/bin/env bash
# bench/ui/run.sh: how long the web UI's grid of a 200-task DAG with 100
# runs (20,000 cells) takes in headless Chromium, from navigation start to
# the rendered grid (performance marks set by the page; issue 6, goal < 1 s).
#
#   bench/ui/run.sh            [LOADS=7 TASKS=200 RUNS=100 RECORD=0]
#
# Builds weir (release, build/bench; WEIR_BINARY skips that), starts a
# weir standalone with the generated DAG, inserts the runs with psql, and
# runs bench/ui/measure.mjs (playwright-core from tests/ui/node_modules,
# Debian's /usr/bin/chromium).  Prints a Markdown section; RECORD=1 also
# writes it into docs/perf.md as the section "Web UI (bench/ui)" (and only
# that section).
source "$(dirname "$0")/../lib.sh"
bench_init ui
bench_need node /usr/bin/python3 /usr/bin/chromium
[[ -d $BENCH_TOP/tests/ui/node_modules/playwright-core ]] ||
	bench_die "playwright-core missing: run scripts/install-deps.sh (npm install in tests/ui)"
LOADS=${LOADS:-7}
TASKS=${TASKS:-200}
RUNS=${RUNS:-100}

if [[ -n ${WEIR_BINARY:-} ]]; then
	WEIR=$WEIR_BINARY
	bench_log "using $WEIR"
else
	bench_build
fi
load0=$(bench_load)
WEIR_BINARY=$WEIR node "$BENCH_TOP/bench/ui/measure.mjs" "$BENCH_TMP/out" \
	--loads "$LOADS" --tasks "$TASKS" --runs "$RUNS"
load1=$(bench_load)

section=$BENCH_TMP/section.md
/usr/bin/python3 - "$BENCH_TMP/out/result.json" "$(bench_machine)" "$load0" "$load1" >"$section" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))
machine, load0, load1 = sys.argv[2:5]
med = lambda k: statistics.median(r[k])
rendered = med("rendered_ms")
goal = "met" if rendered < 1000 else "missed"
print("## Web UI (bench/ui)")
print()
print(f"`bench/ui/run.sh`: the grid view of a {r['tasks']}-task DAG with {r['runs']} runs "
      f"({r['cells']:,} cells) in headless Chromium ({r['chromium']}), timed by the page "
      "(`performance.mark`, from navigation start), median of "
      f"{r['loads']} full page loads after one warm-up load. Runs are inserted with SQL in "
      "terminal states; the UI is served by `weir standalone` (release build).")
print()
print(f"machine: {machine}; load (1/5/15 min) before: {load0}, after: {load1}")
print()
print("| measure | median ms | min ms | max ms |")
print("|---|---:|---:|---:|")
rows = [
    ("navigation start → grid rendered (**goal < 1000 ms: " + goal + "**)", "rendered_ms"),
    ("navigation start → route start (modules, session)", "start_ms"),
    (f"route start → grid answer decoded (`GET /dags/{{dag_id}}/grid?limit={r['runs']}`, beside the DAG's read)", "fetch_ms"),
    (f"grid answer → {r['cells']:,} cells in the DOM", "build_ms"),
    ("cells in the DOM → next frame painted", "paint_ms"),
    ("the page's main-thread CPU time for the whole load (DevTools TaskDuration)", "page_cpu_ms"),
    ("the grid request from Node, no browser (API alone)", "grid_only_ms"),
    (f"the same task instances as {r['runs']} Airflow listings from Node, 6 at a time (API alone)", "api_only_ms"),
    ("revisit inside the app (DAG list → grid)", "revisit_ms"),
]
for label, k in rows:
    v = r[k]
    print(f"| {label} | {statistics.median(v):.0f} | {min(v):.0f} | {max(v):.0f} |")
print()
rendered = med("rendered_ms")
start = med("start_ms")
fetch = med("fetch_ms")
build = med("build_ms")
paint = med("paint_ms")
cpu = med("page_cpu_ms")
grid = med("grid_only_ms")
api = med("api_only_ms")
print(f"Where the time goes: the page reads the whole grid in one request, {r['grid_bytes'] / 1e6:.2f} MB "
      f"(~{r['grid_bytes'] / r['cells']:.0f} bytes per cell: states, tries, start and end in parallel arrays); "
      f"the API answers it in {grid:.0f} ms on its own. Of the {rendered:.0f} ms to the painted grid, "
      f"{start:.0f} ms pass before the route starts (loading the modules and the session), {fetch:.0f} ms "
      f"waiting for and decoding the grid answer, {build:.0f} ms building the {r['cells']:,} cells and {paint:.0f} ms "
      f"laying out and painting the first frame; the main thread works {cpu:.0f} ms in a whole load. "
      f"Airflow's shapes for the same data are {r['api_bytes'] / 1e6:.1f} MB in {r['runs']} task-instance "
      f"listings, which the API now serves in {api:.0f} ms (the operator comes from the dag_tasks table, "
      "migration 0004). The machine's two cores are shared by the browser's processes, the API and "
      "PostgreSQL (see the load averages). Before the grid read (up to commit e1465d1) the page made one Airflow task-instance listing per run: 3014 ms median to the rendered grid, 1905 ms of main-thread CPU, 1679 ms for the API alone.")
PY
cat "$section"

if [[ ${RECORD:-0} == 1 ]]; then
	/usr/bin/python3 - "$BENCH_TOP/docs/perf.md" "$section" <<'PY'
import os, re, sys
path, sec = sys.argv[1], open(sys.argv[2]).read().rstrip() + "\n"
text = open(path).read() if os.path.exists(path) else "# Performance\n"
m = re.search(r"^## Web UI \(bench/ui\)\n", text, re.M)
if m:
    nxt = re.search(r"^## ", text[m.end():], re.M)
    end = m.end() + nxt.start() if nxt else len(text)
    text = text[:m.start()] + sec + ("\n" if nxt else "") + text[end:]
else:
    text = text.rstrip() + "\n\n" + sec
open(path, "w").write(text)
PY
	bench_log "recorded in docs/perf.md"
fi
