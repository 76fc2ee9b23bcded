#!/usr/bin/env bash
# bench/sched/ab.sh: W2 with two builds of weir, alternating with make -j2 in
# the same run (make, A, B, make, A, B, ...), each build with its own
# scheduler and database on one PostgreSQL: on a shared machine, load
# bursts hit all three alike, so the ratios mean something.
#
#   bench/sched/ab.sh DIR_A DIR_B   [N=6]
#
# DIR_A, DIR_B: build folders holding weir and weir-task (e.g. one built
# from `git archive` of the previous commit, one of the working tree).
# Prints one line per repetition and the medians (seconds per run of 200
# tasks, and ms per hop = seconds / 200).
source "$(dirname "$0")/../lib.sh"
bench_init sched-ab
bench_need make /usr/bin/python3
A=${1:?usage: ab.sh DIR_A DIR_B}
B=${2:?usage: ab.sh DIR_A DIR_B}
N=${N:-6}
for d in "$A" "$B"; do
	[[ -x $d/weir && -x $d/weir-task ]] || bench_die "no weir binaries in $d"
done
WEIR=$B/weir # for the migrations of the template database
W=$BENCH_TMP/w
/usr/bin/python3 "$BENCH_TOP/bench/sched/gen.py" "$W" W2
bench_pg_start fast
declare -A DBS HOMES BIN=([a]=$A [b]=$B)
for v in a b; do
	DBS[$v]=$(bench_db_new "ab_$v")
	HOMES[$v]=$BENCH_TMP/home-$v
	d=$BENCH_TMP/dags-$v
	mkdir -p "$d" "${HOMES[$v]}"
	cp "$W/weir/w2.yaml" "$d/"
	WEIR=${BIN[$v]}/weir bench_sched_start "${DBS[$v]}" "${HOMES[$v]}" "$d"
	bench_wait_sql "ab_$v" 300 "SELECT count(*) = 1 FROM dags d JOIN schedulers s ON s.id = d.scheduler_id WHERE s.pid = $BENCH_SCHED_PID"
done
run_w2() { # run_w2 a|b RUN: prints dag_runs.started_at..ended_at in s
	bench_sql_open "ab_$1"
	env -u WEIR_CONFIG WEIR_DATABASE_URL="${DBS[$1]}" WEIR_HOME="${HOMES[$1]}" "${BIN[$1]}/weir" dags trigger w2 --run-id "$2" >/dev/null
	bench_wait_run w2 "$2" 1200
	[[ $BENCH_RUN_STATE == SUCCESS ]] || bench_die "run $1/$2 ended $BENCH_RUN_STATE"
	bench_sql "SELECT round(extract(epoch FROM ended_at - started_at)::numeric, 3) FROM dag_runs WHERE run_id = '$2'"
	echo "$BENCH_SQL_OUT"
}
run_w2 a warm >/dev/null
run_w2 b warm >/dev/null
echo "### W2: A = $A, B = $B ($(bench_machine))"
echo
echo "| rep | make -j2 s | A s | B s | A / make | B / make | load |"
echo "|---|---:|---:|---:|---:|---:|---|"
MK=() RA=() RB=()
for ((i = 1; i <= N; i++)); do
	t0=$EPOCHREALTIME
	make -s -j2 -f "$W/make/w2.mk" -C "$BENCH_TMP" >/dev/null
	t1=$EPOCHREALTIME
	mk=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	a=$(run_w2 a "r$i")
	b=$(run_w2 b "r$i")
	MK+=("$mk") RA+=("$a") RB+=("$b")
	echo "| $i | $mk | $a | $b | $(bench_ratio "$a" "$mk") | $(bench_ratio "$b" "$mk") | $(bench_load) |"
done
m=$(bench_median "${MK[@]}") a=$(bench_median "${RA[@]}") b=$(bench_median "${RB[@]}")
echo
echo "Medians: make $m s, A $a s, B $b s; per hop (ms): make $(awk -v s="$m" 'BEGIN { printf "%.2f", 1000 * s / 200 }'), A $(awk -v s="$a" 'BEGIN { printf "%.2f", 1000 * s / 200 }'), B $(awk -v s="$b" 'BEGIN { printf "%.2f", 1000 * s / 200 }'); A / make $(bench_ratio "$a" "$m"), B / make $(bench_ratio "$b" "$m")."
