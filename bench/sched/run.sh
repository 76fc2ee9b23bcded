#!/usr/bin/env bash
# bench/sched/run.sh: the scheduler end to end (issue 4), side by side with
# make -j2 and snakemake --cores 2 in the same run, on workloads generated
# from one description (bench/sched/gen.py):
#   W1 1 root, 1,000 independent `true` tasks, 1 sink
#   W2 chain of 200 `true` tasks (also as ms per hop)
#   W3 20 layers x 50 `true` tasks, each depending on 2 of the previous layer
#   W4 100 x `sleep 0.1` with 2 slots (ideal 5.0 s)
# and: scheduler RSS with 1,000 DAGs loaded and 100,000 finished task
# instances in the database; W2 with an empty history vs that history; W2
# against a durable cluster (fsync on) vs the test cluster (fsync off).
#
#   bench/sched/run.sh   [REPS=5 SNAKE_REPS=3 SNAKE_REPS_BIG=1
#                         PHASES="compare history durable" WORKLOADS="W1 W2 W3 W4"]
#
# weir: one scheduler (`weir scheduler`) already running against a fresh
# database; each repetition triggers a run (`weir dags trigger`) and polls
# dag_runs through one open psql.  Times: "wall" = from just before the
# trigger command to the poll that sees SUCCESS; "db" = dag_runs.started_at
# .. ended_at as the scheduler recorded them.  Medians of REPS repetitions;
# snakemake runs SNAKE_REPS times (SNAKE_REPS_BIG for the 1,000-task
# workloads, which take it minutes).  One warm-up run of each tool first.
source "$(dirname "$0")/../lib.sh"
bench_init sched
bench_need make snakemake /usr/bin/python3
REPS=${REPS:-5}
SNAKE_REPS=${SNAKE_REPS:-3}
SNAKE_REPS_BIG=${SNAKE_REPS_BIG:-1}
PHASES=${PHASES:-compare history durable}
WORKLOADS=${WORKLOADS:-W1 W2 W3 W4}
HIST_DAGS=${HIST_DAGS:-1000}
HIST_TIS=${HIST_TIS:-100000}

bench_build
W=$BENCH_TMP/w
/usr/bin/python3 "$BENCH_TOP/bench/sched/gen.py" "$W" W1 W2 W3 W4
"$WEIR" dags validate -q "$W/weir" || bench_die "generated DAGs do not validate"
declare -A NT HOPS SLOTS IDEAL TITLE
while IFS=$'\t' read -r id n hops slots ideal title; do
	NT[$id]=$n HOPS[$id]=$hops SLOTS[$id]=$slots IDEAL[$id]=$ideal TITLE[$id]=$title
done <"$W/workloads.tsv"

declare -A R # R[key,rep]
add() { R[$1]+="${R[$1]:+ }$2"; } # add KEY VALUE: a list per key
med() { bench_median ${R[$1]:-}; } # shellcheck disable=SC2086

# ------------------------------------------------------------------
# the three tools
# ------------------------------------------------------------------

# timed CMD...: runs it, sets T_WALL and T_CPU (user + sys of it and its
# children, from bash's `time`), seconds.
timed() {
	local TIMEFORMAT='%R %U %S' out u s
	out=$({ time "$@" >"$BENCH_TMP/tool.log" 2>&1; } 2>&1) ||
		{ tail -30 "$BENCH_TMP/tool.log" >&2; bench_die "$1 failed"; }
	read -r T_WALL u s <<<"${out##*$'\n'}"
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
}

run_make() { # run_make WID
	timed make -s -j2 -f "$W/make/${1,,}.mk" -C "$BENCH_TMP"
}

run_snake() { # run_snake WID
	local d=$BENCH_TMP/snake
	rm -rf "$d"
	mkdir -p "$d"
	timed snakemake --quiet --cores 2 --snakefile "$W/snake/${1,,}.smk" --directory "$d"
}

# weir_env CONNINFO HOME: the environment of the CLI and scheduler
weir_cli() {
	env -u WEIR_CONFIG WEIR_DATABASE_URL="$DB" WEIR_HOME="$HOME_DIR" "$WEIR" "$@"
}

# run_weir WID RUN_ID: sets WALL DBT (seconds), HOP_* (ms), CPU_S CPU_T
# CPU_B (ms: the scheduler, its descendants = the task processes (pooled
# runners and what they ran, reaped or alive), and its PostgreSQL backend)
run_weir() {
	local dag=${1,,} run=$2 t0 c0 c1 b0 b1
	read -r -a c0 <<<"$(bench_cpu_tree_ms "$SCHED")"
	read -r -a b0 <<<"$(bench_cpu_ms "$BACKEND")"
	t0=$EPOCHREALTIME
	weir_cli dags trigger "$dag" --run-id "$run" >/dev/null
	bench_wait_run "$dag" "$run" 900
	[[ $BENCH_RUN_STATE == SUCCESS ]] || bench_die "run $dag/$run ended $BENCH_RUN_STATE"
	WALL=$(awk -v a="$t0" -v b="$BENCH_RUN_T1" 'BEGIN { printf "%.4f\n", b - a }')
	read -r -a c1 <<<"$(bench_cpu_tree_ms "$SCHED")"
	read -r -a b1 <<<"$(bench_cpu_ms "$BACKEND")"
	CPU_S=$((c1[0] - c0[0]))
	CPU_T=$((c1[1] - c0[1]))
	CPU_B=$((b1[0] - b0[0]))
	bench_sql "WITH r AS (SELECT id, started_at, ended_at FROM dag_runs WHERE dag_id = '$dag' AND run_id = '$run'),
		t AS (SELECT task_id, queued_at q, started_at s, ended_at e,
		             lag(ended_at) OVER (ORDER BY task_id) pe FROM task_tries WHERE run_pk = (SELECT id FROM r))
		SELECT round(extract(epoch FROM (SELECT ended_at - started_at FROM r))::numeric, 4),
		       round((1000 * avg(extract(epoch FROM q - pe)))::numeric, 3),
		       round((1000 * avg(extract(epoch FROM s - q)))::numeric, 3),
		       round((1000 * avg(extract(epoch FROM e - s)))::numeric, 3),
		       round((sum(extract(epoch FROM e - q)) / extract(epoch FROM (SELECT ended_at - started_at FROM r)))::numeric, 2)
		FROM t"
	IFS='|' read -r DBT HOP_GAP HOP_QS HOP_SE CONC <<<"$BENCH_SQL_OUT"
}

# start_sched DAGS_DIR NDAGS: a scheduler on $DB, ready when NDAGS DAGs are in the database
start_sched() {
	local t0=$EPOCHREALTIME scans
	scans=$(grep -c "DAG folder .*: $2 files" "$HOME_DIR/scheduler.log" 2>/dev/null || true)
	bench_sched_start "$DB" "$HOME_DIR" "$1"
	SCHED=$BENCH_SCHED_PID
	bench_wait_sql "$DBNAME" 300 "SELECT count(*) >= $2 FROM dags WHERE is_active"
	bench_wait_sql "$DBNAME" 60 "SELECT count(*) = 1 FROM schedulers WHERE pid = $SCHED"
	# With DAGs already in the database (a second start on it) the two
	# conditions above hold before the folder is parsed: also wait for the
	# end of this start's first scan ("DAG folder ...: N files, N DAGs").
	local i
	for ((i = 0; i < 3000; i++)); do
		(($(grep -c "DAG folder .*: $2 files" "$HOME_DIR/scheduler.log" 2>/dev/null || true) > ${scans:-0})) && break
		bench_sleep 0.01
	done
	((i < 3000)) || bench_die "the scheduler did not finish its first scan of $1"
	START_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }')
	kill -0 "$SCHED" || bench_die "the scheduler exited; see $HOME_DIR/scheduler.log"
	# Its PostgreSQL backend (one connection), for CPU accounting.
	BACKEND=$(bench_psql "$DBNAME" "SELECT pid FROM pg_stat_activity WHERE application_name = 'weir-scheduler' AND datname = current_database()")
	[[ $BACKEND =~ ^[0-9]+$ ]] || bench_die "cannot find the scheduler's PostgreSQL backend ($BACKEND)"
}

new_db() { # new_db NAME: sets DB, DBNAME, HOME_DIR
	DBNAME=$1
	DB=$(bench_db_new "$1")
	HOME_DIR=$BENCH_TMP/home-$1
	mkdir -p "$HOME_DIR"
	bench_sql_open "$1"
}

# The loop stats of our scheduler's next heartbeat (every 2 s): "avg max" (us).
loop_stats() {
	local hb
	bench_sql "SELECT heartbeat_at FROM schedulers WHERE pid = $SCHED"
	hb=$BENCH_SQL_OUT
	for _ in $(seq 1 50); do
		bench_sleep 0.1
		bench_sql "SELECT heartbeat_at FROM schedulers WHERE pid = $SCHED"
		[[ $BENCH_SQL_OUT != "$hb" ]] && break
	done
	bench_sql "SELECT coalesce(stats->>'loop_us_avg', '-') || ' ' || coalesce(stats->>'loop_us_max', '-') FROM schedulers WHERE pid = $SCHED"
	echo "$BENCH_SQL_OUT"
}

LOAD0=$(bench_load)

# ------------------------------------------------------------------
# phase 1: the four workloads, make vs snakemake vs weir (fsync off)
# ------------------------------------------------------------------
if [[ " $PHASES " == *" compare "* ]]; then
	bench_pg_start fast
	CMP_SETTINGS=$PG_SETTINGS
	new_db cmp
	bench_psql cmp "INSERT INTO pools (name, slots, description) VALUES ('w4_pool', 2, 'bench W4')" >/dev/null
	dags=$BENCH_TMP/dags-cmp
	mkdir -p "$dags"
	for w in $WORKLOADS; do cp "$W/weir/${w,,}.yaml" "$dags/"; done
	start_sched "$dags" "$(wc -w <<<"$WORKLOADS")"
	bench_log "compare: scheduler pid $SCHED ready in $START_S s; warm-up"
	for w in $WORKLOADS; do
		run_make "$w"
		run_weir "$w" "warmup_$w"
	done
	run_snake W2
	for ((rep = 1; rep <= REPS; rep++)); do
		for w in $WORKLOADS; do
			run_make "$w"
			m=$T_WALL
			add "$w,make" "$m"
			add "$w,makecpu" "$T_CPU"
			run_weir "$w" "r${rep}_$w"
			add "$w,wall" "$WALL"
			add "$w,db" "$DBT"
			add "$w,gap" "$HOP_GAP"
			add "$w,qs" "$HOP_QS"
			add "$w,se" "$HOP_SE"
			add "$w,conc" "$CONC"
			add "$w,cpus" "$(awk -v c="$CPU_S" -v n="${NT[$w]}" 'BEGIN { printf "%.3f", c / n }')"
			add "$w,cput" "$(awk -v c="$CPU_T" -v n="${NT[$w]}" 'BEGIN { printf "%.3f", c / n }')"
			add "$w,cpub" "$(awk -v c="$CPU_B" -v n="${NT[$w]}" 'BEGIN { printf "%.3f", c / n }')"
			add "$w,weircpu" "$(awk -v a="$CPU_S" -v b="$CPU_T" -v c="$CPU_B" 'BEGIN { printf "%.3f", (a + b + c) / 1000 }')"
			sn=-
			limit=$SNAKE_REPS
			((${NT[$w]} >= 1000)) && limit=$SNAKE_REPS_BIG
			if ((rep <= limit)); then
				run_snake "$w"
				sn=$T_WALL
				add "$w,snake" "$sn"
				add "$w,snakecpu" "$T_CPU"
			fi
			bench_log "rep $rep $w: make $m s, weir $WALL s (db $DBT s), snakemake $sn s; load $(bench_load)"
		done
	done
	CMP_RSS=$(bench_rss_mib "$SCHED")
	CMP_HWM=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SCHED/status")
	bench_sched_stop "$SCHED"
	bench_pg_stop
fi

# ------------------------------------------------------------------
# phase 2: 1,000 DAGs + W2, empty history vs 100,000 finished TIs
# ------------------------------------------------------------------
# Called while a run is polled: records the loop stats of every heartbeat
# that arrives meanwhile (the scheduler's own 2-s windows).
HB_LAST=
stats_hook() {
	bench_sql "SELECT heartbeat_at || ' ' || coalesce(stats->>'loop_us_avg', '-') || ' ' || coalesce(stats->>'loop_us_max', '-') FROM schedulers WHERE pid = $SCHED"
	local hb=${BENCH_SQL_OUT% * *}
	if [[ -n $HB_LAST && $hb != "$HB_LAST" ]]; then
		local v=${BENCH_SQL_OUT##"$hb "}
		add "$HB_LABEL,loopavg" "${v% *}"
		add "$HB_LABEL,loopmax" "${v#* }"
	fi
	HB_LAST=$hb
}

w2_series() { # w2_series LABEL: REPS runs of W2 and make, + stats
	local label=$1 rep m
	run_weir W2 "${label}_warmup"
	for ((rep = 1; rep <= REPS; rep++)); do
		run_make W2
		m=$T_WALL
		add "$label,make" "$m"
		add "$label,makecpu" "$T_CPU"
		HB_LAST= HB_LABEL=$label BENCH_WAIT_HOOK=stats_hook
		run_weir W2 "${label}_r$rep"
		BENCH_WAIT_HOOK=
		add "$label,wall" "$WALL"
		add "$label,db" "$DBT"
		add "$label,cpus" "$(awk -v c="$CPU_S" 'BEGIN { printf "%.3f", c / 200 }')"
		add "$label,cput" "$(awk -v c="$CPU_T" 'BEGIN { printf "%.3f", c / 200 }')"
		add "$label,cpub" "$(awk -v c="$CPU_B" 'BEGIN { printf "%.3f", c / 200 }')"
		bench_log "$label rep $rep W2: make $m s, weir $WALL s (db $DBT s); load $(bench_load)"
	done
	R[$label,stats]="$(med "$label,loopavg") $(bench_max ${R[$label,loopmax]:-0})"
	R[$label,rss]=$(bench_rss_mib "$SCHED")
	R[$label,hwm]=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SCHED/status")
}

if [[ " $PHASES " == *" history "* ]]; then
	bench_pg_start fast
	new_db hist
	dags=$BENCH_TMP/dags-hist
	/usr/bin/python3 "$BENCH_TOP/bench/parse/gen.py" "$dags" --dags "$HIST_DAGS" --tasks 20 --paused
	cp "$W/weir/w2.yaml" "$dags/"
	start_sched "$dags" $((HIST_DAGS + 1))
	R[empty,start]=$START_S
	R[empty,rss0]=$(bench_rss_mib "$SCHED")
	loop_stats >/dev/null # the first heartbeat has no stats yet
	R[empty,idle]=$(loop_stats)
	bench_log "history: scheduler with $((HIST_DAGS + 1)) DAGs ready in $START_S s, RSS ${R[empty,rss0]} MiB"
	w2_series empty
	bench_sched_stop "$SCHED"
	# 100,000 finished task instances: half in W2's own runs (200 each),
	# half in runs of the 1,000 other DAGs (20 each), each with its try and
	# its four state events.  application_name: no notifications.
	half=$((HIST_TIS / 2))
	t0=$EPOCHREALTIME
	bench_psql hist "SET application_name = 'weir-scheduler';
	CREATE TEMP TABLE h AS
	  SELECT 'w2'::text AS dag_id, g AS n, 200 AS ntask FROM generate_series(1, $half / 200) g
	  UNION ALL
	  SELECT 'bench_' || lpad(((g - 1) % $HIST_DAGS)::text, 4, '0'), g, 20 FROM generate_series(1, $half / 20) g;
	INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, logical_date, received_at,
	                      queued_at, started_at, ended_at)
	  SELECT gen_random_uuid(), dag_id, 'hist_' || n, 'manual', 'SUCCESS',
	         now() - n * interval '1 minute', now() - n * interval '1 minute',
	         now() - n * interval '1 minute', now() - n * interval '1 minute',
	         now() - n * interval '1 minute' + interval '2 s'
	  FROM h;
	INSERT INTO task_instances (run_pk, task_id, dag_id, state, try_number, max_tries, attempt_id,
	                            pool, queued_at, started_at, ended_at, exit_code)
	  SELECT r.id, CASE WHEN r.dag_id = 'w2' THEN 'c' || lpad(k::text, 3, '0') ELSE 'h' || k END,
	         r.dag_id, 'success', 1, 1, gen_random_uuid(), 'default_pool',
	         r.started_at, r.started_at, r.ended_at, 0
	  FROM dag_runs r JOIN h ON h.dag_id = r.dag_id AND r.run_id = 'hist_' || h.n,
	       generate_series(0, h.ntask - 1) k;
	INSERT INTO task_tries (attempt_id, run_pk, task_id, try_number, state, executor, hostname,
	                        pid, queued_at, started_at, ended_at, exit_code)
	  SELECT attempt_id, run_pk, task_id, 1, 'success', 'local', 'bench', 1, queued_at,
	         started_at, ended_at, 0 FROM task_instances
	  WHERE run_pk IN (SELECT id FROM dag_runs WHERE run_id LIKE 'hist\_%');
	INSERT INTO state_events (id, run_pk, task_id, try_number, from_state, to_state, actor, at)
	  SELECT gen_random_uuid(), run_pk, task_id, 1, f, t, 'scheduler', ended_at
	  FROM task_instances,
	       (VALUES ('none', 'scheduled'), ('scheduled', 'queued'), ('queued', 'running'),
	               ('running', 'success')) v (f, t)
	  WHERE run_pk IN (SELECT id FROM dag_runs WHERE run_id LIKE 'hist\_%');" >/dev/null
	bench_psql hist "VACUUM ANALYZE" >/dev/null
	R[hist,fill]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	R[hist,counts]=$(bench_psql hist "SELECT (SELECT count(*) FROM dag_runs) || ' runs, '
		|| (SELECT count(*) FROM task_instances WHERE state = 'success') || ' finished task instances, '
		|| (SELECT count(*) FROM task_tries) || ' tries, '
		|| (SELECT count(*) FROM state_events) || ' state events, database '
		|| pg_size_pretty(pg_database_size(current_database()))")
	bench_log "history: ${R[hist,counts]} (filled in ${R[hist,fill]} s)"
	start_sched "$dags" $((HIST_DAGS + 1))
	R[hist,start]=$START_S
	R[hist,rss0]=$(bench_rss_mib "$SCHED")
	loop_stats >/dev/null
	R[hist,idle]=$(loop_stats)
	w2_series hist
	bench_sched_stop "$SCHED"
	bench_pg_stop
fi

# ------------------------------------------------------------------
# phase 3: W2 on a durable cluster vs the test cluster
# ------------------------------------------------------------------
if [[ " $PHASES " == *" durable "* ]]; then
	dags=$BENCH_TMP/dags-w2
	mkdir -p "$dags"
	cp "$W/weir/w2.yaml" "$dags/"
	for mode in fast durable; do
		bench_pg_start "$mode"
		R[$mode,settings]=$PG_SETTINGS
		new_db "w2$mode"
		start_sched "$dags" 1
		w2_series "$mode"
		bench_sched_stop "$SCHED"
		bench_pg_stop
	done
fi
LOAD1=$(bench_load)

# ------------------------------------------------------------------
# report
# ------------------------------------------------------------------
r2() { bench_fmt "$1" 2; }
r3() { bench_fmt "$1" 3; }
hop() { awk -v s="$1" 'BEGIN { if (s == "-" || s == "") print "-"; else printf "%.2f", 1000 * s / 200 }'; }

echo
echo "### Scheduler: weir vs make -j2 vs snakemake --cores 2"
echo
echo "machine: $(bench_machine); weir: $BENCH_REV; load (1/5/15 min) before: $LOAD0, after: $LOAD1"
if [[ " $PHASES " == *" compare "* ]]; then
	echo
	echo "Test cluster ($CMP_SETTINGS).  Medians of $REPS runs (snakemake: $SNAKE_REPS, 1,000-task workloads: $SNAKE_REPS_BIG)."
	echo "weir wall = \`weir dags trigger\` to SUCCESS seen in dag_runs; weir db = dag_runs.started_at..ended_at."
	echo
	echo "| workload | tasks | make -j2 s | snakemake s | weir wall s | weir db s | weir / make | weir / snakemake | goal | |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
	for w in $WORKLOADS; do
		mk=$(med "$w,make") sn=$(med "$w,snake") wl=$(med "$w,wall") db=$(med "$w,db")
		rm_=$(bench_ratio "$wl" "$mk") rs=$(bench_ratio "$wl" "$sn")
		case $w in
		W1 | W3) goal="<= 2x make, < snakemake" ok=$(bench_goal "$rm_" '<=' 2) ;;
		W2) goal="<= 3 ms/hop and <= 3x make, < snakemake"
			ok=$(bench_goal "$(hop "$db")" '<=' 3)
			[[ $ok == met ]] && ok=$(bench_goal "$rm_" '<=' 3) ;;
		W4) goal="<= 5.25 s (ideal 5.0 + 5%), < snakemake" ok=$(bench_goal "$wl" '<=' 5.25) ;;
		esac
		[[ $ok == met && $sn != - ]] && ok=$(bench_goal "$rs" '<' 1)
		echo "| $w: ${TITLE[$w]} | ${NT[$w]} | $(r3 "$mk") | $(r2 "$sn") | $(r3 "$wl") | $(r3 "$db") | $rm_ | $rs | $goal | $ok |"
	done
	if [[ " $WORKLOADS " == *" W2 "* ]]; then
		echo
		echo "W2 per hop (ms): make $(hop "$(med W2,make)"), snakemake $(hop "$(med W2,snake)")," \
			"weir $(hop "$(med W2,wall)") (wall) / $(hop "$(med W2,db)") (db)."
	fi
	echo
	echo "CPU time (user + system; make and snakemake: with their children; weir: the scheduler, its"
	echo "task processes and its PostgreSQL backend), medians, seconds per run:"
	echo
	echo "| workload | make -j2 | snakemake | weir | weir / make |"
	echo "|---|---:|---:|---:|---:|"
	for w in $WORKLOADS; do
		echo "| $w | $(med "$w,makecpu") | $(med "$w,snakecpu") | $(med "$w,weircpu") | $(bench_ratio "$(med "$w,weircpu")" "$(med "$w,makecpu")") |"
	done
	echo
	echo "Where weir's time goes, per task (means over each run's task_tries, medians over runs; ms):"
	echo
	echo "| workload | prev. ended -> queued | queued -> started (commit + spawn) | started -> ended (task process) | tasks in flight (mean) | CPU / task: scheduler | PostgreSQL backend | task processes |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for w in $WORKLOADS; do
		gap=-
		[[ $w == W2 ]] && gap=$(med "$w,gap")
		echo "| $w | $gap | $(med "$w,qs") | $(med "$w,se") | $(med "$w,conc") | $(med "$w,cpus") | $(med "$w,cpub") | $(med "$w,cput") |"
	done
	echo
	echo "(\"prev. ended -> queued\" is only meaningful for W2's chain (ordered by task id).  CPU from"
	echo "/proc/PID/stat: the scheduler's own, its descendants' (pooled weir-task runners + the commands, reaped or alive), and its backend's.)"
	echo "Scheduler RSS after the runs: $CMP_RSS MiB (peak $CMP_HWM MiB)."
fi
if [[ " $PHASES " == *" history "* ]]; then
	echo
	echo "#### RSS and history: $((HIST_DAGS + 1)) DAGs loaded (${HIST_DAGS} x 20 tasks, paused, + W2), test cluster"
	echo
	echo "History: ${R[hist,counts]}."
	echo
	echo "| history | scheduler start s | RSS idle MiB | RSS after W2 MiB (peak) | make W2 ms/hop | weir W2 ms/hop (db) | weir / make | CPU ms / hop: scheduler | backend | loop_us avg / max (idle) | loop_us avg / max (during W2) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
	for h in empty hist; do
		label=$([[ $h == empty ]] && echo "empty" || echo "${HIST_TIS} finished TIs")
		echo "| $label | ${R[$h,start]} | ${R[$h,rss0]} | ${R[$h,rss]} (${R[$h,hwm]}) | $(hop "$(med "$h,make")") | $(hop "$(med "$h,db")") |" \
			"$(bench_ratio "$(med "$h,db")" "$(med "$h,make")") | $(med "$h,cpus") | $(med "$h,cpub") | ${R[$h,idle]/ / \/ } | ${R[$h,stats]/ / \/ } |"
	done
fi
if [[ " $PHASES " == *" durable "* ]]; then
	echo
	echo "#### W2 on the test cluster vs a durable cluster"
	echo
	echo "| cluster | settings | make ms/hop | weir ms/hop (wall) | weir ms/hop (db) | weir / make | CPU ms / hop: scheduler | backend | goal (<= 3 ms/hop, <= 3x make) |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	for mode in fast durable; do
		mk=$(med "$mode,make") db=$(med "$mode,db")
		ok=$(bench_goal "$(hop "$db")" '<=' 3)
		[[ $ok == met ]] && ok=$(bench_goal "$(bench_ratio "$db" "$mk")" '<=' 3)
		echo "| $mode | ${R[$mode,settings]} | $(hop "$mk") | $(hop "$(med "$mode,wall")") | $(hop "$db") | $(bench_ratio "$db" "$mk") | $(med "$mode,cpus") | $(med "$mode,cpub") | $ok |"
	done
fi
echo
echo "dask: not measured (not installable here: no Debian package and no PyPI access)."
