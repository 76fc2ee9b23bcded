#!/usr/bin/env bash
# bench/sched/hop.sh: where one hop of W2 goes (a chain of 200 `true`
# tasks: task i ends -> task i+1 starts), from the timestamps weir already
# records: task_tries (queued_at, started_at: the scheduler's clock) and the
# WEIR lines of each try's log (µs: the runner's clock, same machine).
# Alternates W2 and `make -j2` of the same chain, REPS times.
#
#   bench/sched/hop.sh   [REPS=3]
#   WEIR_BENCH_BUILD=DIR   use (and build) the binaries in DIR (bench/lib.sh)
#   WEIR_HOP_BIN=DIR       use the weir and weir-task already built in DIR (no
#                          build: e.g. an older revision built elsewhere)
#
# Segments of a hop (medians over the 199 hops of a run, then over runs):
#   report+decide   outcome line of try i -> queued_at of i+1 (report pipe,
#                   loop wake-up, outcome, readiness, dispatch)
#   commit+spawn    queued_at -> started_at (the one commit, spec file, lock,
#                   start of the runner: hand-over to an idle pooled runner, or clone)
#   runner start    started_at -> the runner's first log line
#   runner setup    first log line -> "process N started" (templates, dirs,
#                   subreaper, pipes, clone of the program until its exec)
#   program         "process N started" -> "process N exited" (`true`)
#   runner end      "exited" -> "outcome" (sweep, XCom, log)
source "$(dirname "$0")/../lib.sh"
bench_init sched-hop
bench_need make /usr/bin/python3
REPS=${REPS:-3}
if [[ -n ${WEIR_HOP_BIN:-} ]]; then
	WEIR=$WEIR_HOP_BIN/weir
	BENCH_REV="binaries in $WEIR_HOP_BIN"
	[[ -x $WEIR && -x $WEIR_HOP_BIN/weir-task ]] || bench_die "no weir binaries in $WEIR_HOP_BIN"
else
	bench_build
fi
source "$BENCH_TOP/bench/sched/w2env.sh"
w2_env hop
bench_sched_start "$DB" "$HOME_DIR" "$dags"
SCHED=$BENCH_SCHED_PID
bench_wait_sql hop 300 "SELECT count(*) = 1 FROM dags d JOIN schedulers s ON s.id = d.scheduler_id WHERE s.pid = $SCHED"
run_w2() {
	env -u WEIR_CONFIG WEIR_DATABASE_URL="$DB" WEIR_HOME="$HOME_DIR" "$WEIR" dags trigger w2 --run-id "$1" >/dev/null
	bench_wait_run w2 "$1" 1200
	[[ $BENCH_RUN_STATE == SUCCESS ]] || bench_die "run $1 ended $BENCH_RUN_STATE"
}
run_w2 warm
echo "### W2 hop breakdown ($BENCH_REV; $(bench_machine))"
echo
for ((i = 1; i <= REPS; i++)); do
	t0=$EPOCHREALTIME
	make -s -j2 -f "$W/make/w2.mk" -C "$BENCH_TMP" >/dev/null
	t1=$EPOCHREALTIME
	echo "r$i make $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" >>"$BENCH_TMP/make.txt"
	run_w2 "r$i"
	bench_psql hop "SELECT d.run_id, t.task_id, extract(epoch FROM t.queued_at), extract(epoch FROM t.started_at)
		FROM task_tries t JOIN dag_runs d ON d.id = t.run_pk WHERE d.run_id = 'r$i'" >>"$BENCH_TMP/tries.txt"
	bench_log "rep $i done; load $(bench_load)"
done
echo "load after: $(bench_load)"
echo
/usr/bin/python3 - "$BENCH_TMP/tries.txt" "$BENCH_TMP/make.txt" "$HOME_DIR/logs/w2" "$REPS" <<'PY'
import datetime, statistics, sys
tries_f, make_f, logs, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def ts(s):
    return datetime.datetime.strptime(s[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
tries = {}
for line in open(tries_f):
    run, task, q, s = line.strip().split("|")
    tries.setdefault(run, {})[task] = (float(q), float(s))
make = {l.split()[0]: float(l.split()[2]) for l in open(make_f)}
names = ["report+decide", "commit+spawn", "runner start", "runner setup", "program", "runner end", "hop"]
per = {n: [] for n in names}
rows_out = []
for r in sorted(tries):
    rows = []
    for task in sorted(tries[r]):
        ev = {}
        for line in open(f"{logs}/{r}/{task}/1.log"):
            stamp, kind, text = line.split(" ", 2)
            if kind != "WEIR":
                continue
            if text.startswith("task ") and "hdr" not in ev: ev["hdr"] = ts(stamp)
            elif text.startswith("process ") and text.rstrip().endswith(" started"): ev["started"] = ts(stamp)
            elif text.startswith("process ") and " exited " in text: ev["exited"] = ts(stamp)
            elif text.startswith("outcome "): ev["outcome"] = ts(stamp)
        ev["q"], ev["s"] = tries[r][task]
        rows.append(ev)
    seg = {
        "report+decide": [rows[i + 1]["q"] - rows[i]["outcome"] for i in range(len(rows) - 1)],
        "commit+spawn": [x["s"] - x["q"] for x in rows],
        "runner start": [x["hdr"] - x["s"] for x in rows],
        "runner setup": [x["started"] - x["hdr"] for x in rows],
        "program": [x["exited"] - x["started"] for x in rows],
        "runner end": [x["outcome"] - x["exited"] for x in rows],
        "hop": [rows[i + 1]["hdr"] - rows[i]["hdr"] for i in range(len(rows) - 1)],
    }
    for n in names:
        per[n].append(1000 * statistics.median(seg[n]))
    rows_out.append((r, 1000 * make[r] / 200, 1000 * statistics.median(seg["hop"])))
print("| run | make -j2 ms/hop | weir ms/hop (median hop) | weir / make |")
print("|---|---:|---:|---:|")
for r, m, w in rows_out:
    print(f"| {r} | {m:.2f} | {w:.2f} | {w / m:.2f} |")
print()
print("| segment of a hop | ms (median of run medians) |")
print("|---|---:|")
for n in names:
    print(f"| {n} | {statistics.median(per[n]):.2f} |")
PY
