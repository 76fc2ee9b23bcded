#!/usr/bin/env bash
# bench/exec/run.sh: what starting one task costs, per executor.
#
# Four contenders, in two pairs; forkloop runs the two of a pair
# alternately (A B A B ...: fork + exec + wait, timed per run), N times
# each, and the pairs are repeated ROUNDS times, all in the same run of
# this script.  The machine is shared and noisy: compare within a pair,
# quote medians (the median of the rounds' medians):
#
#   bare       forkloop N true                       fork/exec of `true`
#   local      forkloop N weir-task ... --spec L     the lean runner, command
#                                                    exec: [true], executor local
#   runc       forkloop N runc run --bundle B id     runc's own run of `true`
#                                                    (config from `runc spec`)
#   container  forkloop N weir-task ... --spec C     the runner, executor
#                                                    container (runc), exec: [true]
#
# Each round gives the ratio within each pair (local/bare, container/runc)
# of the wall-clock medians and of the CPU-time medians (user + system of
# the process and what it waited for, from wait4: far less sensitive to
# other load); the result is the median over the rounds.
#
# Goals (issue 7): local <= 3 x bare; container <= 1.2 x runc (wall).
# Results: docs/perf.md, section "Task execution (bench/exec)".
#
# Needs root, runc and /bin/busybox (busybox-static): the root filesystem
# is busybox with its applet links, built here.  Builds a Release
# weir-task in build/bench-exec (WEIR_BENCH_BUILD to change).
#   N_LOCAL=300 N_CTR=30 ROUNDS=5 bench/exec/run.sh     (the defaults)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
N_LOCAL=${N_LOCAL:-300}
N_CTR=${N_CTR:-30}
ROUNDS=${ROUNDS:-5}
build=${WEIR_BENCH_BUILD:-$top/build/bench-exec}

if [[ $(id -u) != 0 ]] || ! command -v runc >/dev/null || [[ ! -x /bin/busybox ]]; then
	echo "bench/exec: needs root, runc and /bin/busybox (scripts/install-deps.sh)" >&2
	exit 1
fi

work=$(mktemp -d /tmp/weir-bench-exec-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== build (Release weir-task, forkloop)"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEIR_TESTS=OFF >/dev/null
cmake --build "$build" --target weir-task >/dev/null
runner=$build/weir-task
cc -O2 -Wall -o "$work/forkloop" "$top/bench/exec/forkloop.c"

echo "== rootfs (busybox) and runc bundle"
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/bin"
cp /bin/busybox "$rootfs/bin/busybox"
for a in $("$rootfs/bin/busybox" --list); do
	[[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"
done
(cd "$work/bundle" && runc spec)
# runc's default spec, made to run `true` without a terminal.
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"sh"$/"true"/' "$work/bundle/config.json"
grep -q '"true"' "$work/bundle/config.json"

attempt=01900000-0000-7000-8000-00000000beef
spec() { # spec FILE EXECUTOR
	local container=''
	[[ $2 == container ]] && container=", \"container\": {\"rootfs\": \"$rootfs\", \"runtime\": \"runc\", \"cache_dir\": \"$work/cache\"}"
	cat >"$1" <<JSON
{"version": 1, "dag_id": "bench", "run_id": "r", "task_id": "t", "try_number": 1, "max_tries": 1,
 "attempt_id": "$attempt", "operator": "command", "config": {"exec": ["true"]},
 "context": {"run_id": "r", "params": {}, "conf": {}, "xcom": {}, "run_dir": "$work/runs/r"},
 "log_path": "$work/logs/$2/1.log", "result_path": "$work/logs/$2/1.result.json",
 "xcom_path": "$work/logs/$2/1.xcom.json", "invalid_exit_code": null, "branch": false,
 "downstream": [], "sensor": null, "deadline_us": null, "limits": null, "xcom_max_bytes": 65536,
 "secrets": [], "executor": "$2"$container}
JSON
}
spec "$work/local.json" local
spec "$work/container.json" container
task() { echo "$runner" bench r t --try 1 --attempt "$attempt" --spec "$work/$1.json"; }

# The runner must really succeed, or the numbers mean nothing.
for k in local container; do
	$(task $k)
	grep -q '"outcome":"success"' "$work/logs/$k/1.result.json" || {
		echo "bench/exec: the $k task did not succeed:" >&2
		cat "$work/logs/$k/1.log" >&2
		exit 1
	}
done

declare -A med cpu
ratios_local='' ratios_ctr='' cratios_local='' cratios_ctr=''
# measure N NAME1 NAME2 CMD1... :: CMD2...: the two alternate run by run;
# prints both lines and "wall_ratio cpu_ratio" of NAME2 over NAME1.
field() { sed -n "$1s/.* $2=\([0-9.]*\).*/\1/p" <<<"$3"; }
measure() {
	local n=$1 a=$2 b=$3 out
	shift 3
	out=$("$work/forkloop" "$n" "$@")
	echo "$out" | sed "1s/^[^:]*:/   $a:/; 2s/^[^:]*:/   $b:/" >&2
	med[$a]="${med[$a]:-} $(field 1 median_us "$out")"
	med[$b]="${med[$b]:-} $(field 2 median_us "$out")"
	cpu[$a]="${cpu[$a]:-} $(field 1 cpu_median_us "$out")"
	cpu[$b]="${cpu[$b]:-} $(field 2 cpu_median_us "$out")"
}
ratio() { awk -v x="$(median "$1")" -v y="$(median "$2")" 'BEGIN {printf "%.3f", y / x}'; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for ((r = 1; r <= ROUNDS; r++)); do
	echo "== round $r"
	unset 'med[bare]' 'med[local]' 'med[runc]' 'med[container]' 'cpu[bare]' 'cpu[local]' 'cpu[runc]' 'cpu[container]'
	measure "$N_LOCAL" bare local true :: $(task local) 2>&1
	measure "$N_CTR" runc container runc run --bundle "$work/bundle" weir-bench-runc :: $(task container) 2>&1
	# Pairs ran alternately: their ratio is what this round says.
	ratios_local+=" $(ratio "${med[bare]}" "${med[local]}")"
	cratios_local+=" $(ratio "${cpu[bare]}" "${cpu[local]}")"
	ratios_ctr+=" $(ratio "${med[runc]}" "${med[container]}")"
	cratios_ctr+=" $(ratio "${cpu[runc]}" "${cpu[container]}")"
	all_b+=" ${med[bare]}" all_l+=" ${med[local]}" all_r+=" ${med[runc]}" all_c+=" ${med[container]}"
	rm -f "$work"/logs/*/1.log
done

echo "== results: median over $ROUNDS rounds (load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '   wall median per task: bare %.1f ms, local %.1f ms, runc %.1f ms, container %.1f ms\n' \
	"$(median "$all_b" | awk '{print $1/1000}')" "$(median "$all_l" | awk '{print $1/1000}')" \
	"$(median "$all_r" | awk '{print $1/1000}')" "$(median "$all_c" | awk '{print $1/1000}')"
lw=$(median "$ratios_local") lc=$(median "$cratios_local")
cw=$(median "$ratios_ctr") ccpu=$(median "$cratios_ctr")
awk -v lw="$lw" -v lc="$lc" -v cw="$cw" -v cc="$ccpu" 'BEGIN {
	printf "   local / bare     = %.2f wall, %.2f cpu   (goal <= 3.00: %s)\n", lw, lc, lw <= 3 ? "met" : "NOT met";
	printf "   container / runc = %.2f wall, %.2f cpu   (goal <= 1.20: %s)\n", cw, cc, cw <= 1.2 ? "met" : "NOT met";
}'
