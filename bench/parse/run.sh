#!/usr/bin/env bash
# bench/parse/run.sh: how fast `weir dags validate` checks 1,000 DAG files of
# 20 tasks (issue 2; goal: < 0.5 s on the 2-core machine), side by side with
# PyYAML over the same files (safe_load: the pure-Python loader; and the
# libyaml-backed CSafeLoader) and a plain `cat` of the files (the I/O floor).
#
#   bench/parse/run.sh            [RUNS=10 DAGS=1000 TASKS=20 PROFILE=0]
#
# Prints a Markdown table (medians of hyperfine runs, ratios to weir).  With
# PROFILE=1 (or when the goal is missed) it also runs callgrind on the
# validation and prints where the instructions go.
source "$(dirname "$0")/../lib.sh"
bench_init parse
bench_need hyperfine /usr/bin/python3
/usr/bin/python3 -c 'import yaml' 2>/dev/null || bench_die "PyYAML missing (Debian python3-yaml)"
RUNS=${RUNS:-10}
DAGS=${DAGS:-1000}
TASKS=${TASKS:-20}

bench_build
dir=$BENCH_TMP/dags
/usr/bin/python3 "$BENCH_TOP/bench/parse/gen.py" "$dir" --dags "$DAGS" --tasks "$TASKS"
nfiles=$(find "$dir" -name '*.yaml' | wc -l)
bytes=$(cat "$dir"/*.yaml | wc -c)
"$WEIR" dags validate -q "$dir" || bench_die "the generated DAG files do not validate"
bench_log "$nfiles files, $((bytes / 1024)) KiB; load before: $(bench_load)"

py_safe="/usr/bin/python3 -c 'import glob, sys, yaml
for f in sorted(glob.glob(sys.argv[1] + \"/*.yaml\")):
    yaml.safe_load(open(f))' $dir"
py_c="/usr/bin/python3 -c 'import glob, sys, yaml
for f in sorted(glob.glob(sys.argv[1] + \"/*.yaml\")):
    yaml.load(open(f), Loader=yaml.CSafeLoader)' $dir"
load0=$(bench_load)
hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$BENCH_TMP/h.json" \
	-n weir "$WEIR dags validate -q $dir" \
	-n cat "cat $dir/*.yaml >/dev/null" \
	-n pyyaml-c "$py_c" \
	-n pyyaml "$py_safe" >"$BENCH_TMP/hyperfine.out"
load1=$(bench_load)

echo
echo "### DAG parsing: $nfiles files x $TASKS tasks ($((bytes / 1024)) KiB), $RUNS runs each"
echo
echo "machine: $(bench_machine); weir: $BENCH_REV; load (1/5/15 min) before: $load0, after: $load1"
echo
/usr/bin/python3 - "$BENCH_TMP/h.json" "$nfiles" "$bytes" <<'PY'
import json, statistics, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n, size = int(sys.argv[2]), int(sys.argv[3])
weir = statistics.median(res["weir"]["times"])
labels = {"weir": "`weir dags validate`", "cat": "`cat` (I/O floor)",
          "pyyaml-c": "PyYAML `CSafeLoader` (libyaml)", "pyyaml": "PyYAML `safe_load` (pure Python)"}
print("| tool | median s | min s | user s | sys s | ms / file | MB/s | time / weir's |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for k in ["weir", "cat", "pyyaml-c", "pyyaml"]:
    r = res[k]
    m = statistics.median(r["times"])
    print(f"| {labels[k]} | {m:.3f} | {min(r['times']):.3f} | {r['user']:.3f} | {r['system']:.3f} "
          f"| {1000 * m / n:.3f} | {size / m / 1e6:.1f} | {m / weir:.2f} |")
print()
ok = weir < 0.5
print(f"goal: `weir dags validate` < 0.5 s: {weir:.3f} s: {'met' if ok else '**missed**'}")
open(sys.argv[1] + ".goal", "w").write("met" if ok else "missed")
PY

if [[ ${PROFILE:-0} == 1 || $(cat "$BENCH_TMP/h.json.goal") == missed ]]; then
	# Where the instructions go: callgrind's totals, once for the whole run
	# and once per part of interest (--toggle-collect counts only what runs
	# inside that function and its callees: an exact inclusive cost).
	bench_need valgrind callgrind_annotate
	cg() { # cg OUT [FUNCTION]: prints the Ir total
		local out=$BENCH_TMP/cg.$1 opt=()
		[[ -n ${2:-} ]] && opt=(--toggle-collect="$2")
		valgrind --tool=callgrind --callgrind-out-file="$out" "${opt[@]}" \
			"$WEIR" dags validate -q "$dir" >/dev/null 2>"$out.err" ||
			{ cat "$out.err" >&2; bench_die "callgrind failed"; }
		awk '/^summary:/ { print $2 }' "$out"
	}
	total=$(cg all)
	echo
	echo "callgrind: $(awk -v t="$total" 'BEGIN { printf "%.0f", t / 1e6 }') M instructions for $nfiles files;" \
		"inclusive cost of the main parts:"
	echo
	echo "| part (function) | M instructions | share |"
	echo "|---|---:|---:|"
	for part in "YAML -> nodes (weir_yaml_parse, libyaml inside)|weir_yaml_parse" \
		"definition JSON for the dags table (weir_node_to_json)|weir_node_to_json" \
		"jansson frees (json_delete: mostly that JSON)|json_delete" \
		"file hash (crypto_hash_sha256)|crypto_hash_sha256" \
		"key lookups (weir_node_get)|weir_node_get" \
		"malloc + free|malloc" "|free"; do
		label=${part%%|*} fn=${part##*|}
		ir=$(cg "$fn" "$fn")
		if [[ -z $label ]]; then
			prev_ir=$((prev_ir + ir))
			awk -v l="$prev_label" -v i="$prev_ir" -v t="$total" 'BEGIN { printf "| %s | %.0f | %.1f%% |\n", l, i / 1e6, 100 * i / t }'
			continue
		fi
		if [[ $fn == malloc ]]; then
			prev_label=$label prev_ir=$ir
			continue
		fi
		awk -v l="$label" -v i="$ir" -v t="$total" 'BEGIN { printf "| %s | %.0f | %.1f%% |\n", l, i / 1e6, 100 * i / t }'
	done
	echo
	echo "top functions by own instructions:"
	echo
	echo '```'
	callgrind_annotate "$BENCH_TMP/cg.all" >"$BENCH_TMP/cg.txt" 2>/dev/null
	sed -n '/PROGRAM TOTALS/,$p' "$BENCH_TMP/cg.txt" | grep -v '^-*$' | sed -n '3,17p'
	echo '```'
fi
