#!/usr/bin/env bash
# bench/store/run.sh: task-instance transitions per second through the real
# store (weir_store_apply, bench/store/driver.c), one transition per
# transaction and N = 10 and 100 per transaction, against the same cluster's
# `pgbench -N` TPS measured in the same run (the ceiling).  Issue 3's goal:
# single transitions >= 50% of pgbench's TPS.
#
#   bench/store/run.sh      [SECS=2 ROUNDS=7 MODES="fast durable" CLIENTS="1 2"]
#
# MODES: fast = the test cluster (fsync, synchronous_commit and
# full_page_writes off); durable = all three on (production settings).
# The machine is shared and its load comes in bursts, so the contenders
# alternate in short slices: each round measures pgbench for SECS, then weir
# with 1, 10 and 100 transitions per transaction for SECS each.  The ratio
# weir / pgbench is taken per round (neighbouring slices) and its median
# over ROUNDS rounds is reported, with its range; rates are medians too.
source "$(dirname "$0")/../lib.sh"
bench_init store
SECS=${SECS:-2}
REPS=${ROUNDS:-7}
MODES=${MODES:-fast durable}
CLIENTS=${CLIENTS:-1 2}
PGBENCH=$BENCH_PGBIN/pgbench
[[ -x $PGBENCH ]] || bench_die "$PGBENCH missing (Debian postgresql-15)"

bench_build
driver=$BENCH_TMP/driver
# shellcheck disable=SC2046
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$BENCH_TOP" $(pkg-config --cflags jansson) \
	"$BENCH_TOP/bench/store/driver.c" "$BENCH_BUILD/db/libweir_db.a" \
	"$BENCH_BUILD/engine/libweir_engine.a" "$BENCH_BUILD/common/libweir_common.a" \
	$(pkg-config --libs jansson yaml-0.1 libsodium uuid libpq) -lpthread -lm -o "$driver"

# How long one fdatasync takes on this disk (what a durable commit waits for).
fsync_ms=-
if (cd "$BENCH_TMP" && "$BENCH_PGBIN/pg_test_fsync" -s 1 -f "$BENCH_TMP/fsync.test") >"$BENCH_TMP/fsync.out" 2>&1; then
	fsync_ms=$(awk '/fdatasync/ && /ops\/sec/ { for (i = 1; i <= NF; i++) if ($i == "usecs/op") { printf "%.2f", $(i - 1) / 1000; exit } }' "$BENCH_TMP/fsync.out")
fi

declare -A R # R[mode,clients,what,rep] = value
load0=$(bench_load)
for mode in $MODES; do
	bench_pg_start "$mode"
	conn=$(bench_db_new store)
	bench_psql store "INSERT INTO dags (dag_id, file_path, file_hash, source, definition)
		VALUES ('bench', '/dev/null', 'x', '', '{}')" >/dev/null
	bench_psql postgres "CREATE DATABASE pgb" >/dev/null
	"$PGBENCH" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -i -s 10 -q pgb >"$BENCH_TMP/pgbench-init.log" 2>&1 ||
		{ cat "$BENCH_TMP/pgbench-init.log" >&2; bench_die "pgbench -i failed"; }
	R[$mode,settings]=$PG_SETTINGS
	for ((rep = 1; rep <= REPS; rep++)); do
		for c in $CLIENTS; do
			out=$("$PGBENCH" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -n -N -M prepared \
				-c "$c" -j "$c" -T "$SECS" pgb 2>&1) || { echo "$out" >&2; bench_die "pgbench failed"; }
			R[$mode,$c,pgbench,$rep]=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
			R[$mode,$c,pglat,$rep]=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
			[[ -n ${R[$mode,$c,pgbench,$rep]} ]] || { echo "$out" >&2; bench_die "no tps in pgbench's output"; }
			for n in 1 10 100; do
				pre=$((n == 1 ? 4000 : n == 10 ? 15000 : 30000))
				pre=$((pre * SECS / 5 + 1000))
				start=$(awk -v t="$EPOCHREALTIME" -v p="$pre" 'BEGIN { printf "%.3f", t + 1 + p / 15000 }')
				pids=()
				for ((k = 0; k < c; k++)); do
					"$driver" "$conn" bench "$n" "$SECS" "$start" "$pre" >"$BENCH_TMP/drv.$k" 2>&1 &
					pids+=($!)
					BENCH_PIDS+=($!)
				done
				tps=0 p50=
				for ((k = 0; k < c; k++)); do
					wait "${pids[k]}" || { cat "$BENCH_TMP/drv.$k" >&2; bench_die "driver failed"; }
					bench_forget_pid "${pids[k]}"
					line=$(cat "$BENCH_TMP/drv.$k")
					[[ $line =~ tps=([0-9.]+) ]] || bench_die "driver: $line"
					tps=$(awk -v a="$tps" -v b="${BASH_REMATCH[1]}" 'BEGIN { print a + b }')
					[[ $line =~ p50_us=([0-9]+) ]] && p50=${p50:-${BASH_REMATCH[1]}}
					[[ $line =~ late_ms=(-?[0-9]+) ]] && ((BASH_REMATCH[1] > 100)) &&
						bench_log "warning: a driver started ${BASH_REMATCH[1]} ms late ($mode, $c clients, N=$n)"
				done
				R[$mode,$c,w$n,$rep]=$tps
				R[$mode,$c,p50_$n,$rep]=$p50
				R[$mode,$c,ratio$n,$rep]=$(bench_ratio "$tps" "${R[$mode,$c,pgbench,$rep]}")
				bench_log "$mode c=$c rep $rep: pgbench ${R[$mode,$c,pgbench,$rep]} tps; weir N=$n: $tps transitions/s (p50 apply $p50 us)"
			done
		done
	done
	bench_pg_stop
done
load1=$(bench_load)

vals() { # vals MODE CLIENTS WHAT: the values of every round
	local r
	for ((r = 1; r <= REPS; r++)); do echo "${R[$1,$2,$3,$r]}"; done
}
med() { # med MODE CLIENTS WHAT
	# shellcheck disable=SC2046
	bench_median $(vals "$@")
}

echo
echo "### State store: transitions per second ($REPS rounds of $SECS s per contender)"
echo
echo "machine: $(bench_machine); weir: $BENCH_REV; one fdatasync on this disk: $fsync_ms ms (pg_test_fsync);"
echo "load (1/5/15 min) before: $load0, after: $load1"
echo
echo "| cluster | clients | pgbench -N TPS (ceiling) | weir 1/txn: transitions/s | weir / pgbench (median of rounds; range) | latency: weir apply p50 / pgbench avg | weir 10/txn | weir 100/txn | goal (1/txn >= 50%) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for mode in $MODES; do
	for c in $CLIENTS; do
		r=$(med "$mode" "$c" ratio1)
		# shellcheck disable=SC2046
		range="$(bench_min $(vals "$mode" "$c" ratio1))-$(bench_max $(vals "$mode" "$c" ratio1))"
		echo "| $mode | $c | $(bench_fmt "$(med "$mode" "$c" pgbench)" 0) | $(bench_fmt "$(med "$mode" "$c" w1)" 0) | **$(bench_fmt "$r" 2)** ($range)" \
			"| $(med "$mode" "$c" p50_1) us / $(awk -v l="$(med "$mode" "$c" pglat)" 'BEGIN { printf "%.0f", l * 1000 }') us" \
			"| $(bench_fmt "$(med "$mode" "$c" w10)" 0) | $(bench_fmt "$(med "$mode" "$c" w100)" 0) | $(bench_goal "$r" '>=' 0.5) |"
	done
done
echo
for mode in $MODES; do
	echo "- $mode: ${R[$mode,settings]}"
done
echo "- a transition = one conditional UPDATE of task_instances + task_tries row + state_events row"
echo "  (plpgsql weir_ti_transition) + the batch's applied_batches row; pgbench -N = UPDATE + SELECT + INSERT"
echo "  in BEGIN/COMMIT (-M prepared)."
echo
echo "Every round (transitions/s or TPS):"
echo
echo "| cluster | clients | round | pgbench | weir 1/txn | 10/txn | 100/txn |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for mode in $MODES; do
	for c in $CLIENTS; do
		for ((r = 1; r <= REPS; r++)); do
			echo "| $mode | $c | $r | $(bench_fmt "${R[$mode,$c,pgbench,$r]}" 0) | $(bench_fmt "${R[$mode,$c,w1,$r]}" 0) | $(bench_fmt "${R[$mode,$c,w10,$r]}" 0) | $(bench_fmt "${R[$mode,$c,w100,$r]}" 0) |"
		done
	done
done
