# shellcheck shell=bash
# bench/lib.sh: helpers shared by the benchmark scripts (source it).
#
#   bench_init NAME          strict mode, a temp dir ($BENCH_TMP), cleanup on exit
#   bench_build              release build of weir -> $WEIR, $WEIR_TASK, $BENCH_BUILD
#   bench_pg_start [durable] throwaway PostgreSQL (tests/harness/pg.sh); sets $PG_DIR,
#                            $PG_HOST, $PG_PORT, $PG_USER, $PG_PID.  "durable":
#                            synchronous_commit, fsync and full_page_writes on
#   bench_db_new NAME        CREATE DATABASE NAME TEMPLATE weir_tpl; prints its conninfo
#   bench_psql DB SQL        one query, unaligned output (fails loudly)
#   bench_sql_open DB        a long-lived psql (coprocess) for cheap polling;
#   bench_sql Q              ... one query through it, result in $BENCH_SQL_OUT
#   bench_sched_start DB HOME DAGS [VAR=VALUE...]   weir scheduler in the background;
#                            prints its pid (stopped at exit, by pid)
#   bench_sched_stop PID
#   bench_wait_sql DB TIMEOUT_S SQL          until SQL returns t
#   bench_wait_run DAG RUN TIMEOUT_S         polls dag_runs through bench_sql; sets
#                            $BENCH_RUN_STATE and $BENCH_RUN_T1 (EPOCHREALTIME at the end)
#   bench_sleep SECONDS      sleep without forking
#   bench_median V...        median of numbers
#   bench_ratio A B          A / B with 2 decimals ("-" if B is 0 or missing)
#   bench_load               `uptime` load averages
#   bench_machine            one line: CPU, cores, memory, kernel
#
# Everything started here is recorded by pid and stopped at exit, also on
# errors and Ctrl-C.  BENCH_KEEP=1 keeps the temp dir for inspection.

set -Eeuo pipefail
shopt -s inherit_errexit 2>/dev/null || true

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_PGBIN=/usr/lib/postgresql/15/bin
BENCH_PIDS=()
BENCH_PG_STATES=()
BENCH_SQL_PID=
BENCH_NAME=bench

bench_die() {
	echo "$BENCH_NAME: error: $*" >&2
	exit 1
}

bench_log() {
	echo "$BENCH_NAME: $*" >&2
}

bench_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			bench_die "$c is not installed (run scripts/install-deps.sh as root)"
	done
}

bench_cleanup() {
	local rc=$? pid st
	trap - EXIT INT TERM
	if [[ -n $BENCH_SQL_PID ]]; then
		exec {BENCH_SQL_IN}>&- 2>/dev/null || true
		kill "$BENCH_SQL_PID" 2>/dev/null || true
		wait "$BENCH_SQL_PID" 2>/dev/null || true
	fi
	for pid in "${BENCH_PIDS[@]}"; do
		bench_stop_pid "$pid"
	done
	for st in "${BENCH_PG_STATES[@]}"; do
		"$BENCH_TOP/tests/harness/pg.sh" stop "$st" >/dev/null 2>&1 || true
	done
	if [[ -n ${BENCH_TMP:-} && -d $BENCH_TMP ]]; then
		if [[ ${BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
			echo "$BENCH_NAME: files kept in $BENCH_TMP" >&2
		else
			rm -rf "$BENCH_TMP"
		fi
	fi
	exit "$rc"
}

bench_on_err() {
	echo "$BENCH_NAME: failed at ${BASH_SOURCE[1]}:${BASH_LINENO[0]}: $BASH_COMMAND" >&2
}

bench_init() {
	BENCH_NAME=$1
	BENCH_TMP=$(mktemp -d "/tmp/weir-bench-$BENCH_NAME.XXXXXX")
	chmod 755 "$BENCH_TMP"
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap bench_on_err ERR
	mkfifo "$BENCH_TMP/.sleep"
	exec {BENCH_SLEEP_FD}<>"$BENCH_TMP/.sleep"
}

# Sleeps without a fork (read on a fifo nobody writes to).
bench_sleep() {
	read -r -t "$1" -u "$BENCH_SLEEP_FD" _ || true
}

# SIGTERM, up to 10 s, then SIGKILL; only the given pid.
bench_stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		bench_sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

bench_forget_pid() {
	local keep=() p
	for p in "${BENCH_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	BENCH_PIDS=("${keep[@]}")
}

# ------------------------------------------------------------------
# build
# ------------------------------------------------------------------

# Release build of the working tree in build/bench (WEIR_BENCH_BUILD
# overrides).  WEIR_BENCH_REV=REV builds that commit instead (a `git archive`
# snapshot in $BENCH_TMP: other people's half-written files do not get in
# the way, and the numbers belong to a known commit).  When the tree does not
# build because api/ is half-written, builds a copy without api/*.c (and a
# stub `weir api`): the benchmarks do not use the API.
bench_build() {
	bench_need cmake ninja cc pkg-config
	local src=$BENCH_TOP log=$BENCH_TMP/build.log
	BENCH_BUILD=${WEIR_BENCH_BUILD:-$BENCH_TOP/build/bench}
	BENCH_REV="working tree"
	if [[ -n ${WEIR_BENCH_REV:-} ]]; then
		bench_need git
		local sha
		sha=$(git -C "$BENCH_TOP" rev-parse --short "$WEIR_BENCH_REV") || bench_die "no commit $WEIR_BENCH_REV"
		BENCH_REV="commit $sha"
		# build/bench-SHA/{src,build}: kept, so the next run only re-checks.
		src=$BENCH_TOP/build/bench-$sha/src
		if [[ ! -f $src/CMakeLists.txt ]]; then
			mkdir -p "$src"
			git -C "$BENCH_TOP" archive --format=tar "$sha" | tar -xf - -C "$src" ||
				bench_die "git archive $sha failed"
		fi
		BENCH_BUILD=${WEIR_BENCH_BUILD:-$BENCH_TOP/build/bench-$sha/build}
	elif command -v git >/dev/null && git -C "$BENCH_TOP" rev-parse HEAD >/dev/null 2>&1; then
		BENCH_REV="working tree on $(git -C "$BENCH_TOP" rev-parse --short HEAD)"
		[[ -n $(git -C "$BENCH_TOP" status --porcelain --untracked-files=no 2>/dev/null) ]] && BENCH_REV+=" (modified)"
	fi
	bench_log "building weir (RelWithDebInfo, $BENCH_REV) in $BENCH_BUILD"
	if ! { cmake -S "$src" -B "$BENCH_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DWEIR_TESTS=OFF && ninja -C "$BENCH_BUILD" weir weir-task; } >"$log" 2>&1; then
		if grep -q '/api/' "$log"; then
			bench_log "the tree does not build because of api/ (see $log); building a copy without the API"
			bench_build_without_api "$src"
		else
			cat "$log" >&2
			bench_die "build failed (WEIR_BENCH_REV=HEAD builds the last commit instead)"
		fi
	fi
	WEIR=$BENCH_BUILD/weir
	WEIR_TASK=$BENCH_BUILD/weir-task
	[[ -x $WEIR && -x $WEIR_TASK ]] || bench_die "no weir binaries in $BENCH_BUILD"
	export WEIR WEIR_TASK BENCH_BUILD
}

bench_build_without_api() {
	local from=$1 src=$BENCH_TMP/src-noapi log=$BENCH_TMP/build-noapi.log f
	mkdir -p "$src"
	(cd "$from" && tar --exclude=./build --exclude=./.git -cf - .) | (cd "$src" && tar -xf -)
	rm -f "$src"/api/*.c
	{
		echo '/* stub: the API is not part of this benchmark build */'
		echo '#include "engine/cli/cli.h"'
		for f in weir_cmd_api weir_cmd_clients_create weir_cmd_clients_list weir_cmd_users_create; do
			echo "int $f(struct weir_cli *cli, int argc, char **argv)"
			echo "{ (void)cli; (void)argc; (void)argv; weir_cli_error(\"not in this build\"); return 2; }"
		done
	} >"$src/engine/cli/cmd_api.c"
	BENCH_BUILD=$BENCH_TMP/build-noapi
	if ! { cmake -S "$src" -B "$BENCH_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DWEIR_TESTS=OFF && ninja -C "$BENCH_BUILD" weir weir-task; } >"$log" 2>&1; then
		cat "$log" >&2
		bench_die "build without api/ failed too"
	fi
}

# ------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------

bench_pg_start() {
	local mode=${1:-fast} st
	bench_need "$BENCH_PGBIN/psql"
	st=$(mktemp -d "$BENCH_TMP/pg-$mode.XXXX")
	BENCH_PG_STATES+=("$st")
	if [[ $mode == durable ]]; then
		WEIR_TEST_PG_DURABLE=1 WEIR_TEST_PG_FSYNC=1 \
			"$BENCH_TOP/tests/harness/pg.sh" start "$st" "$WEIR" >"$st/start.log" 2>&1 ||
			{ cat "$st/start.log" >&2; bench_die "could not start PostgreSQL"; }
	else
		WEIR_TEST_PG_DURABLE=0 WEIR_TEST_PG_FSYNC=0 \
			"$BENCH_TOP/tests/harness/pg.sh" start "$st" "$WEIR" >"$st/start.log" 2>&1 ||
			{ cat "$st/start.log" >&2; bench_die "could not start PostgreSQL"; }
	fi
	# shellcheck disable=SC1091
	source "$st/pg.env"
	PG_STATE=$st
	PG_DIR=$WEIR_TEST_PG_DIR
	PG_HOST=$WEIR_TEST_PG_HOST
	PG_PORT=$WEIR_TEST_PG_PORT
	PG_USER=$WEIR_TEST_PG_USER
	PG_PID=$WEIR_TEST_PG_PID
	PG_MODE=$mode
	local settings
	settings=$(bench_psql postgres "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')")
	bench_log "PostgreSQL ($mode) pid $PG_PID port $PG_PORT: $settings"
	if [[ $mode == durable && $settings != *"fsync=on"* ]]; then
		bench_die "the durable cluster runs without fsync: tests/harness/pg.sh lacks WEIR_TEST_PG_FSYNC"
	fi
	PG_SETTINGS=$settings
}

bench_pg_stop() {
	"$BENCH_TOP/tests/harness/pg.sh" stop "$PG_STATE" >/dev/null
	local keep=() s
	for s in "${BENCH_PG_STATES[@]}"; do
		[[ $s == "$PG_STATE" ]] || keep+=("$s")
	done
	BENCH_PG_STATES=("${keep[@]}")
}

bench_conninfo() {
	echo "host=$PG_HOST port=$PG_PORT user=$PG_USER dbname=$1"
}

bench_psql() {
	"$BENCH_PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" \
		-d "$1" -c "$2"
}

bench_db_new() {
	bench_psql postgres "CREATE DATABASE $1 TEMPLATE weir_tpl" >/dev/null
	bench_conninfo "$1"
}

# A psql coprocess: polling through it costs no fork or connection.
bench_sql_open() {
	if [[ -n $BENCH_SQL_PID ]]; then
		exec {BENCH_SQL_IN}>&-
		kill "$BENCH_SQL_PID" 2>/dev/null || true
		wait "$BENCH_SQL_PID" 2>/dev/null || true
	fi
	local fifo_in=$BENCH_TMP/.sql-in.$RANDOM fifo_out=$BENCH_TMP/.sql-out.$RANDOM
	mkfifo "$fifo_in" "$fifo_out"
	"$BENCH_PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" \
		-d "$1" <"$fifo_in" >"$fifo_out" 2>&1 &
	BENCH_SQL_PID=$!
	exec {BENCH_SQL_IN}>"$fifo_in" {BENCH_SQL_OUT_FD}<"$fifo_out"
	rm -f "$fifo_in" "$fifo_out"
}

# One query (one result line expected) through the coprocess.
bench_sql() {
	local line
	printf '%s;\n\\echo @@end\n' "$1" >&"$BENCH_SQL_IN"
	BENCH_SQL_OUT=
	while IFS= read -r -u "$BENCH_SQL_OUT_FD" line; do
		[[ $line == @@end ]] && return 0
		BENCH_SQL_OUT+=${BENCH_SQL_OUT:+$'\n'}$line
	done
	bench_die "psql coprocess ended: $BENCH_SQL_OUT"
}

bench_wait_sql() {
	local db=$1 timeout=$2 sql=$3 t0=$SECONDS v
	while :; do
		v=$(bench_psql "$db" "$sql")
		[[ $v == t ]] && return 0
		((SECONDS - t0 > timeout)) && bench_die "timed out after $timeout s waiting for: $sql"
		bench_sleep 0.1
	done
}

# ------------------------------------------------------------------
# the scheduler
# ------------------------------------------------------------------

# bench_sched_start CONNINFO HOME DAGS [VAR=VALUE...]: sets $BENCH_SCHED_PID.
# (Not in a $(...) subshell: the pid must be recorded here.)
bench_sched_start() {
	local db=$1 home=$2 dags=$3
	shift 3
	mkdir -p "$home" "$dags"
	env -u WEIR_CONFIG WEIR_DATABASE_URL="$db" WEIR_HOME="$home" WEIR_DAGS_FOLDER="$dags" \
		"$@" "$WEIR" scheduler --dags-folder "$dags" >>"$home/scheduler.log" 2>&1 &
	BENCH_SCHED_PID=$!
	BENCH_PIDS+=("$BENCH_SCHED_PID")
}

bench_sched_stop() {
	bench_stop_pid "$1"
	bench_forget_pid "$1"
}

# Resident set of a process, in MiB.
bench_rss_mib() {
	awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# CPU time of a process so far, in ms: "SELF CHILDREN" (user + system;
# CHILDREN = its reaped descendants, e.g. the task processes).
bench_cpu_ms() {
	awk -v tck="$BENCH_CLK_TCK" '{ s = $0; sub(/.*\) /, "", s); split(s, f, " ");
		printf "%d %d\n", (f[12] + f[13]) * 1000 / tck, (f[14] + f[15]) * 1000 / tck }' "/proc/$1/stat"
}
BENCH_CLK_TCK=$(getconf CLK_TCK)

# Like bench_cpu_ms, but CHILDREN also counts the live descendants (their
# own time and their reaped children's): processes that outlive a
# measurement, such as weir's pooled task runners, count when they work,
# not when they exit.  A descendant that exits during the walk is missed.
bench_cpu_tree_ms() {
	local self kids k ks kc
	[[ -r /proc/$1/stat ]] || { echo "0 0"; return; }
	read -r self kids <<<"$(bench_cpu_ms "$1")"
	for k in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		read -r ks kc <<<"$(bench_cpu_tree_ms "$k")"
		kids=$((kids + ks + kc))
	done
	echo "$self $kids"
}

# bench_wait_run DAG RUN TIMEOUT_S (through bench_sql; poll every 5 ms;
# calls $BENCH_WAIT_HOOK, if set, after each poll).
bench_wait_run() {
	local dag=$1 run=$2 timeout=$3 t0=${EPOCHREALTIME/./}
	while :; do
		bench_sql "SELECT state FROM dag_runs WHERE dag_id = '$dag' AND run_id = '$run'"
		case $BENCH_SQL_OUT in
		SUCCESS | FAILED | INVALID | ABORTED)
			BENCH_RUN_T1=$EPOCHREALTIME
			BENCH_RUN_STATE=$BENCH_SQL_OUT
			return 0
			;;
		esac
		[[ -n ${BENCH_WAIT_HOOK:-} ]] && "$BENCH_WAIT_HOOK"
		((${EPOCHREALTIME/./} - t0 > timeout * 1000000)) &&
			bench_die "run $dag/$run not finished after $timeout s (state: ${BENCH_SQL_OUT:-none})"
		bench_sleep 0.005
	done
}

# ------------------------------------------------------------------
# numbers
# ------------------------------------------------------------------

bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]
		else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_min() {
	printf '%s\n' "$@" | sort -g | head -1
}

bench_max() {
	printf '%s\n' "$@" | sort -g | tail -1
}

bench_ratio() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		if (a == "" || a == "-" || b == "" || b == "-" || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}

# bench_fmt VALUE [DECIMALS]
bench_fmt() {
	awk -v v="$1" -v d="${2:-2}" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.*f\n", d, v }'
}

bench_load() {
	uptime | sed 's/.*load average: //'
}

bench_machine() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "$cpu, $(nproc) cores, $mem, Linux $(uname -r)"
}

# bench_goal VALUE OP LIMIT (OP: < <= > >=): prints "met" or "**missed**".
bench_goal() {
	awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		if (a == "-" || a == "") { print "-"; exit }
		ok = (op == "<") ? a < b : (op == "<=") ? a <= b : (op == ">") ? a > b : a >= b
		print ok ? "met" : "**missed**" }'
}
