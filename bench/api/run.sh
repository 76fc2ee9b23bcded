#!/usr/bin/env bash
# bench/api/run.sh: throughput and latency of `weir api` with wrk on loopback.
#
#   bench/api/run.sh            all scenarios, 10 s each (after a 2 s warm-up)
#   BENCH_SECONDS=30 bench/api/run.sh
#
# Scenarios (the issue's list, plus the UI grid's read), each against a
# real PostgreSQL (the test harness's throwaway cluster) with the gateway
# from a release build:
#   health   GET /health                                   (no token)
#   dags     GET /api/v1/dags                              (token; 4 DAGs)
#   runs     GET /api/v1/dags/bench_list/dagRuns?limit=100 (token; 10,000 runs stored)
#   tis      GET /api/v1/dags/bench_wide/dagRuns/wide_1/taskInstances?limit=10000
#            (token; one run's 200 task instances, as the UI's grid reads them)
#   trigger  POST /api/v1/dags/bench_trigger/dagRuns       (token; a new run per request)
#
#   BENCH_ONLY="runs tis"   only these scenarios
#   BENCH_WEIR=PATH         this weir binary instead of a fresh release build
#                           (e.g. a copy of an earlier build, to compare)
#   BENCH_PROFILE=DIR       perf record (cpu-clock, call graphs) of the gateway
#                           and the cluster during each scenario: DIR/NAME.perf.data
# No scheduler runs during the measurements (it would start the triggered
# runs and compete for the CPU); one runs briefly first to record the DAGs.
# The access log is on (to a file), as in production.
#
# Prints one line per scenario: req/s, p50, p99, errors, and the goals
# (>= 20,000 req/s health, >= 3,000 req/s run listing, p99 < 10 ms).
# Record the numbers in docs/perf.md ("API").
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"
bench_init api
bench_need wrk curl
SECONDS_EACH=${BENCH_SECONDS:-10}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)

if [[ -n ${BENCH_WEIR:-} ]]; then
	# A given binary (e.g. a copy of an earlier build, to compare).
	WEIR=$BENCH_WEIR
	[[ -x $WEIR ]] || bench_die "BENCH_WEIR=$WEIR is not an executable"
else
	bench_build
fi
# PostgreSQL builds each response body (a 100-run page is ~55 KB of JSON).
# With glibc's defaults, buffers of that size come and go as fresh
# mmap()s, and on a VM their page faults are expensive (pgbench of the
# listing statement alone: ~240 -> 540-760 per second here).  Give
# PostgreSQL's allocator a higher mmap threshold, as a deployment on such
# machines should (BENCH_PG_MALLOC=0: glibc's defaults).
if [[ ${BENCH_PG_MALLOC:-1} == 1 ]]; then
	export MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=16777216
fi
bench_pg_start
unset MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_
db=$(bench_db_new bench_api)
home=$BENCH_TMP/home
dags=$BENCH_TMP/dags
mkdir -p "$home" "$dags"
for d in bench_list bench_trigger bench_other; do
	cat >"$dags/$d.yaml" <<EOT
version: 1
dag: $d
description: API benchmark DAG
tags: [bench]
params:
  n: {type: integer, default: 1}
tasks:
  - id: a
    operator: command
    shell: 'true'
  - id: b
    operator: command
    depends_on: [a]
    shell: 'true'
EOT
done

# A wide DAG (200 tasks), whose runs' task instances the UI's grid reads.
{
	printf 'version: 1\ndag: bench_wide\ndescription: API benchmark DAG, 200 tasks\ntags: [bench]\ntasks:\n'
	for ((i = 0; i < 200; i++)); do
		printf '  - id: t%03d\n    operator: command\n    shell: "true"\n' "$i"
	done
} >"$dags/bench_wide.yaml"

# Record the DAGs the normal way (a scheduler), then stop it.
bench_sched_start "$db" "$home" "$dags"
bench_wait_sql bench_api 60 "SELECT count(*) = 4 FROM dags"
bench_sched_stop "$BENCH_SCHED_PID"

# 10,000 finished runs of bench_list.
bench_psql bench_api "
INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, conf, params, logical_date,
                      data_interval_start, data_interval_end, received_at, queued_at,
                      started_at, ended_at)
SELECT gen_random_uuid(), 'bench_list', 'run_' || i, 'manual', 'SUCCESS', '{}', '{\"n\": 1}',
       t, t, t, t, t, t + interval '1 second', t + interval '5 seconds'
  FROM generate_series(1, 10000) i, LATERAL (SELECT now() - i * interval '1 minute' AS t) x" >/dev/null
# 20 finished runs of bench_wide, 200 task instances each.
bench_psql bench_api "
INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, conf, params, logical_date,
                      received_at, started_at, ended_at)
SELECT gen_random_uuid(), 'bench_wide', 'wide_' || i, 'manual', 'SUCCESS', '{}', '{}', t, t,
       t + interval '1 second', t + interval '5 seconds'
  FROM generate_series(1, 20) i, LATERAL (SELECT now() - i * interval '1 hour' AS t) x" >/dev/null
bench_psql bench_api "
INSERT INTO task_instances (run_pk, task_id, dag_id, state, try_number, max_tries, pool,
                            hostname, pid, exit_code, queued_at, started_at, ended_at)
SELECT r.id, 't' || lpad(k::text, 3, '0'), r.dag_id, 'success', 1, 1, 'default_pool',
       'worker-1', 10000 + k, 0, r.started_at, r.started_at + interval '0.1 s',
       r.started_at + interval '2.5 s'
  FROM dag_runs r, generate_series(0, 199) k WHERE r.dag_id = 'bench_wide'" >/dev/null
bench_psql bench_api "VACUUM ANALYZE dag_runs" >/dev/null
bench_psql bench_api "VACUUM ANALYZE task_instances" >/dev/null

port=$((20000 + RANDOM % 20000))
env -u WEIR_CONFIG WEIR_DATABASE_URL="$db" WEIR_HOME="$home" WEIR_DAGS_FOLDER="$dags" \
	WEIR_API_ACCESS_LOG=true "$WEIR" api --listen "127.0.0.1:$port" \
	>"$BENCH_TMP/api.out" 2>"$BENCH_TMP/api.log" &
api_pid=$!
BENCH_PIDS+=("$api_pid")
base=http://127.0.0.1:$port
for ((i = 0; i < 100; i++)); do
	curl -fs "$base/health" >/dev/null 2>&1 && break
	bench_sleep 0.1
done
curl -fs "$base/health" >/dev/null || bench_die "the API did not start: $(cat "$BENCH_TMP/api.log")"

creds=$(env -u WEIR_CONFIG WEIR_DATABASE_URL="$db" WEIR_HOME="$home" "$WEIR" clients create bench --scopes admin 2>/dev/null)
cid=$(sed -n 's/^client_id: //p' <<<"$creds")
csec=$(sed -n 's/^client_secret: //p' <<<"$creds")
token=$(curl -fs -u "$cid:$csec" -d grant_type=client_credentials "$base/oauth/token" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[[ -n $token ]] || bench_die "no token"
auth="Authorization: Bearer $token"

# Sanity: the listing really is 100 of 10,000 runs.
body=$(curl -fs -H "$auth" "$base/api/v1/dags/bench_list/dagRuns?limit=100")
[[ $body =~ \"total_entries\"\ ?:\ ?10000 ]] || bench_die "unexpected run listing: ${body:0:300}"
n=$(grep -o '"dag_run_id"' <<<"$body" | wc -l)
((n == 100)) || bench_die "the listing has $n runs, not 100"
body=$(curl -fs -H "$auth" "$base/api/v1/dags/bench_wide/dagRuns/wide_1/taskInstances?limit=10000")
n=$(grep -o '"task_display_name"' <<<"$body" | wc -l)
((n == 200)) || bench_die "the run has $n task instances, not 200: ${body:0:300}"

# CPU time (ms) used so far by the gateway and by the PostgreSQL cluster
# (postmaster and its children: the gateway's backends live through a
# scenario, so their counters cover it).
server_cpu_ms() {
	local total=0 p self children
	for p in "$api_pid" "$PG_PID" $(pgrep -P "$PG_PID" || true); do
		[[ -r /proc/$p/stat ]] || continue
		read -r self children < <(bench_cpu_ms "$p" 2>/dev/null || echo "0 0")
		total=$((total + self))
	done
	echo "$total"
}

# scenario NAME CONNECTIONS [wrk args...] -> "rps p50 p99 errors cpu_ms_per_request"
# The CPU per request (gateway + database, not wrk) is the figure that
# least depends on what else runs on the machine: 1000 * cores / it is
# what the server could answer with the cores to itself.
scenario() {
	local name=$1 conns=$2 out line c0 c1
	shift 2
	wrk -t"$WRK_THREADS" -c"$conns" -d2s "$@" >/dev/null 2>&1 || true
	c0=$(server_cpu_ms)
	if [[ -n ${BENCH_PROFILE:-} ]]; then
		# perf record of the gateway and the cluster while wrk runs.
		mkdir -p "$BENCH_PROFILE"
		perf record -q -e cpu-clock -F 499 -g -o "$BENCH_PROFILE/$name.perf.data" \
			-p "$(printf '%s,' "$api_pid" "$PG_PID" $(pgrep -P "$PG_PID") | sed 's/,$//')" \
			-- sleep "$SECONDS_EACH" >/dev/null 2>&1 &
		BENCH_PERF_PID=$!
	fi
	out=$(wrk -t"$WRK_THREADS" -c"$conns" -d"${SECONDS_EACH}s" --latency "$@" 2>&1)
	if [[ -n ${BENCH_PROFILE:-} ]]; then
		wait "$BENCH_PERF_PID" || true
	fi
	c1=$(server_cpu_ms)
	line=$(grep '^WRK_RESULT' <<<"$out") || bench_die "$name: wrk gave no result: $out"
	local rps p50 p99 err non2xx n
	n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
	rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
	p50=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	err=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
	non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
	echo "$rps $p50 $p99 $((err + non2xx)) $(awk -v c=$((c1 - c0)) -v n="$n" 'BEGIN { printf "%.4f", n ? c / n : 0 }')"
}

echo "weir API benchmark: $(bench_machine)"
echo "PostgreSQL ${PG_SETTINGS}, malloc tuning ${BENCH_PG_MALLOC:-1}; wrk $WRK_THREADS threads; ${SECONDS_EACH}s per scenario; load before: $(bench_load)"
cores=$(nproc)
printf '%-48s %5s %9s %7s %7s %6s %9s %10s  %s\n' scenario conns 'req/s' 'p50 ms' 'p99 ms' errors \
	'cpu ms/rq' "${cores}-core cap" goals
report() {
	local label=$1 conns=$2 res=$3 min_rps=$4 rps p50 p99 err cpu cap g1 g2
	read -r rps p50 p99 err cpu <<<"$res"
	cap=$(awk -v c="$cpu" -v k="$cores" 'BEGIN { if (c > 0) printf "%.0f", 1000 * k / c; else print "-" }')
	g1=$( [[ $min_rps == - ]] && echo "" || echo "req/s>=$min_rps: $(bench_goal "$rps" '>=' "$min_rps"), ")
	g2="p99<10ms: $(bench_goal "$p99" '<' 10)"
	printf '%-48s %5s %9.0f %7.2f %7.2f %6s %9.3f %10s  %s\n' "$label" "$conns" "$rps" "$p50" "$p99" "$err" \
		"$cpu" "$cap" "$g1$g2"
}

c_health=${BENCH_C_HEALTH:-32}
c_dags=${BENCH_C_DAGS:-16}
c_runs=${BENCH_C_RUNS:-8}
c_tis=${BENCH_C_TIS:-8}
c_trigger=${BENCH_C_TRIGGER:-8}
want() { [[ " ${BENCH_ONLY:-health dags runs tis trigger} " == *" $1 "* ]]; }
want health && report "GET /health" "$c_health" "$(scenario health "$c_health" -s "$here/report.lua" "$base/health")" 20000
want dags && report "GET /api/v1/dags" "$c_dags" \
	"$(scenario dags "$c_dags" -s "$here/report.lua" -H "$auth" "$base/api/v1/dags")" -
want runs && report "GET .../bench_list/dagRuns?limit=100" "$c_runs" \
	"$(scenario runs "$c_runs" -s "$here/report.lua" -H "$auth" "$base/api/v1/dags/bench_list/dagRuns?limit=100")" 3000
want tis && report "GET .../bench_wide/dagRuns/wide_1/taskInstances" "$c_tis" \
	"$(scenario tis "$c_tis" -s "$here/report.lua" -H "$auth" \
		"$base/api/v1/dags/bench_wide/dagRuns/wide_1/taskInstances?limit=10000")" -
want trigger && report "POST .../bench_trigger/dagRuns" "$c_trigger" \
	"$(scenario trigger "$c_trigger" -s "$here/trigger.lua" -H "$auth" -H 'Content-Type: application/json' \
		"$base/api/v1/dags/bench_trigger/dagRuns")" -
created=$(bench_psql bench_api "SELECT count(*) FROM dag_runs WHERE dag_id = 'bench_trigger'")
echo "runs created by the trigger scenario: $created; access log lines: $(wc -l <"$BENCH_TMP/api.log"); load after: $(bench_load)"
