#!/usr/bin/env bash
# bench/sched/profile.sh: where a scheduler hop goes (the analysis behind
# bench/sched/run.sh's W2 numbers).  Not a benchmark: tracing slows things
# down; counts (syscalls, instructions) are the point.
#
#   bench/sched/profile.sh      [RUNS=200]
#
#  1. process start cost: hyperfine -N of `true` vs the task runner
#     `weir-task` (replaying a finished try of W2: it execs `true` itself)
#  2. syscalls of the scheduler per hop (strace -c -p, one W2 run)
#  3. syscalls of one task runner incl. its child (strace -f -c), and its
#     timeline (strace -f -r)
#  4. instructions of one task runner (callgrind), top functions
#  5. instructions of the scheduler per hop (callgrind, counters zeroed
#     after a warm-up run, dumped after one W2 run), top functions
source "$(dirname "$0")/../lib.sh"
bench_init sched-profile
bench_need hyperfine strace valgrind callgrind_annotate callgrind_control /usr/bin/python3
RUNS=${RUNS:-200}

bench_build
source "$BENCH_TOP/bench/sched/w2env.sh"
w2_env prof

weir_cli() { env -u WEIR_CONFIG WEIR_DATABASE_URL="$DB" WEIR_HOME="$HOME_DIR" "$WEIR" "$@"; }
run_w2() { # run_w2 RUN_ID
	weir_cli dags trigger w2 --run-id "$1" >/dev/null
	bench_wait_run w2 "$1" 1200
	[[ $BENCH_RUN_STATE == SUCCESS ]] || bench_die "run $1: $BENCH_RUN_STATE"
}
run_secs() {
	bench_sql "SELECT round(extract(epoch FROM ended_at - started_at)::numeric, 3) FROM dag_runs WHERE run_id = '$1'"
	echo "$BENCH_SQL_OUT"
}

start_sched() {
	bench_sched_start "$DB" "$HOME_DIR" "$dags" "$@"
	SCHED=$BENCH_SCHED_PID
	owned "$SCHED"
}
owned() { # until the scheduler with this pid drives W2
	bench_wait_sql prof 300 "SELECT count(*) = 1 FROM dags d JOIN schedulers s ON s.id = d.scheduler_id WHERE s.pid = $1"
}

echo "### Profile of a scheduler hop ($BENCH_REV; load before: $(bench_load))"
start_sched
run_w2 warm
run_w2 plain
echo
echo "W2 (200 hops) without tracing: $(run_secs plain) s"

# 1. process start: the runner replays c000's try of run "plain".
spec=$HOME_DIR/logs/w2/plain/c000/1.spec.json
attempt=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["attempt_id"])' "$spec")
runner=("$WEIR_TASK" w2 plain c000 --try 1 --attempt "$attempt" --spec "$spec")
"${runner[@]}" || bench_die "the task runner does not replay: ${runner[*]}"
hyperfine -N --style none --warmup 10 --runs "$RUNS" --export-json "$BENCH_TMP/start.json" \
	-n true /usr/bin/true -n weir-task "${runner[*]}" >/dev/null 2>&1
echo
echo "#### 1. Start cost of one process (hyperfine -N, $RUNS runs, median)"
echo
/usr/bin/python3 - "$BENCH_TMP/start.json" <<'PY'
import json, statistics, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
t = statistics.median(r["true"]["times"])
print("| command | median ms | user ms | sys ms | / true |")
print("|---|---:|---:|---:|---:|")
for k, label in [("true", "`/usr/bin/true` (fork + exec + wait)"),
                 ("weir-task", "`weir-task` running `true` (one task's processes)")]:
    m = statistics.median(r[k]["times"])
    print(f"| {label} | {1000 * m:.2f} | {1000 * r[k]['user']:.2f} | {1000 * r[k]['system']:.2f} | {m / t:.1f} |")
PY

# 2. the scheduler's own syscalls over one W2 run
strace -c -p "$SCHED" -o "$BENCH_TMP/strace-sched.txt" 2>/dev/null &
sp=$!
bench_sleep 1
run_w2 strace
kill -INT "$sp"
wait "$sp" || true
echo
echo "#### 2. Scheduler syscalls during one W2 run (strace -c -p; per hop = / 200)"
echo
echo '```'
awk 'NR <= 2 || (/^ *[0-9]/ && ++n <= 16) || /total/' "$BENCH_TMP/strace-sched.txt" |
	awk '/^ *[0-9]/ && $4 ~ /^[0-9]+$/ { printf "%s   (%.1f / hop)\n", $0, $4 / 200; next } { print }'
echo '```'

# 3. one runner: syscalls with its child, and its timeline
strace -f -c -o "$BENCH_TMP/strace-task.txt" "${runner[@]}"
strace -f -r -o "$BENCH_TMP/strace-task-r.txt" "${runner[@]}"
echo
echo "#### 3. One task runner + its command (strace -f -c)"
echo
echo '```'
awk 'NR <= 2 || (/^ *[0-9]/ && ++n <= 20) || /total/' "$BENCH_TMP/strace-task.txt"
echo '```'
echo
echo "Timeline (strace -f -r: seconds since the previous syscall; the main steps):"
echo
echo '```'
grep -E 'execve|clone|vfork|fork|wait|pidfd|exit|rename|openat.*(spec|log|result|xcom)|poll|write\((1|2|[0-9]+), "\{' \
	"$BENCH_TMP/strace-task-r.txt" | awk 'NR <= 40'
echo '```'

# 4. instructions of one runner
valgrind --tool=callgrind --callgrind-out-file="$BENCH_TMP/cg.task" "${runner[@]}" 2>"$BENCH_TMP/cg.task.err" ||
	{ cat "$BENCH_TMP/cg.task.err" >&2; bench_die "callgrind of the runner failed"; }
echo
echo "#### 4. One task runner (callgrind; its child \`true\` not included)"
echo
callgrind_annotate "$BENCH_TMP/cg.task" >"$BENCH_TMP/cg.task.txt" 2>/dev/null
echo '```'
sed -n '/PROGRAM TOTALS/,$p' "$BENCH_TMP/cg.task.txt" | grep -E '^ *[0-9,]+ ' | sed -n '1,15p'
echo '```'

# 5. the scheduler under callgrind: instructions per hop
bench_sched_stop "$SCHED"
env -u WEIR_CONFIG WEIR_DATABASE_URL="$DB" WEIR_HOME="$HOME_DIR" WEIR_DAGS_FOLDER="$dags" \
	valgrind --tool=callgrind --callgrind-out-file="$BENCH_TMP/cg.sched.%p" \
	"$WEIR" scheduler --dags-folder "$dags" >>"$HOME_DIR/scheduler-cg.log" 2>&1 &
VG=$!
BENCH_PIDS+=("$VG")
owned "$VG"
run_w2 cg_warm
callgrind_control -z "$VG" >/dev/null
run_w2 cg
callgrind_control -d "$VG" >/dev/null
bench_sleep 1
dump=$(ls -t "$BENCH_TMP"/cg.sched."$VG".* 2>/dev/null | head -1)
[[ -n $dump ]] || bench_die "no callgrind dump of the scheduler"
callgrind_annotate --inclusive=yes "$dump" >"$BENCH_TMP/cg.sched.incl.txt" 2>/dev/null
callgrind_annotate --inclusive=no "$dump" >"$BENCH_TMP/cg.sched.self.txt" 2>/dev/null
total=$(awk '/^summary:/ { print $2 }' "$dump")
incl() { # incl FILE:FUNCTION: its inclusive Ir (largest entry)
	{ grep -F "$1 [" "$BENCH_TMP/cg.sched.incl.txt" || true; } | awk '{ gsub(",", "", $1); if ($1 > m) m = $1 } END { print m + 0 }'
}
echo
echo "#### 5. Scheduler instructions during one W2 run (callgrind, zeroed after a warm-up run)"
echo
echo "| part (inclusive) | M instructions | k instructions / hop |"
echo "|---|---:|---:|"
for f in "engine/loop.c:weir_loop_run_once|whole loop" \
	"engine/sched.c:tick|maintenance tick (every 2 s: heartbeat, claims, reload of unfinished runs)" \
	"db/runs.c:pg_load_runs|... of which reloading unfinished runs with all their task instances" \
	"engine/sched.c:sched_commit|commit + dispatch + spawn (before_sleep)" \
	"db/apply.c:pg_apply|... the batches (pg_apply)" \
	"engine/sched_exec.c:sched_spawn_pending|... starting task processes" \
	"engine/spec.c:weir_spec_build|...... building the spec JSON" \
	"engine/spec.c:weir_spec_write_json|...... writing the spec file" \
	"engine/proc.c:weir_child_start|...... process start (weir_child_start: clone with CLONE_VM and CLONE_VFORK)" \
	"engine/sched_exec.c:sched_sigchld|child exits: reap, outcome, readiness"; do
	ir=$(incl "${f%%|*}")
	awk -v l="${f##*|}" -v i="$ir" 'BEGIN { printf "| %s | %.1f | %.0f |\n", l, i / 1e6, i / 200e3 }'
done
echo
echo "(the W2 run took longer under callgrind, so it saw more ticks than a real run: at full speed"
echo "a W2 run sees about one tick per 2 s of run time.)"
echo
echo "Top functions by own instructions:"
echo
echo '```'
sed -n '/PROGRAM TOTALS/,$p' "$BENCH_TMP/cg.sched.self.txt" | grep -E '^ *[0-9,]+ ' | sed -n '2,19p'
echo '```'
bench_stop_pid "$VG"

# 6. optional: where the CPU goes machine-wide during a W2 run (perf)
if command -v perf >/dev/null 2>&1 && perf stat -e task-clock true >/dev/null 2>&1; then
	start_sched
	run_w2 perf_warm
	perf record -q -e cpu-clock -F 4000 -a -o "$BENCH_TMP/perf.data" 2>/dev/null &
	pp=$!
	bench_sleep 0.5
	run_w2 perf
	kill -INT "$pp"
	wait "$pp" || true
	echo
	echo "#### 6. CPU samples of the whole machine during one W2 run (perf record -a -e cpu-clock)"
	echo
	echo "W2 took $(run_secs perf) s.  By process name, then by kernel/user symbol for weir's processes:"
	echo
	echo '```'
	perf report -i "$BENCH_TMP/perf.data" --stdio --sort comm 2>/dev/null | grep -E '^ +[0-9.]+%' | awk 'NR <= 12'
	echo
	perf report -i "$BENCH_TMP/perf.data" --stdio --comms weir,weir-task,true --sort comm,sym 2>/dev/null |
		grep -E '^ +[0-9.]+%' | awk 'NR <= 30'
	echo '```'
else
	echo
	echo "(perf is not available: step 6 skipped)"
fi
