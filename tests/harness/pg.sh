#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL 15 + PostGIS cluster for tests.
#
#   pg.sh start STATE_DIR [WEIR_BINARY]   start; write STATE_DIR/pg.env
#   pg.sh stop STATE_DIR                  stop it (by PID) and delete it
#   pg.sh restart STATE_DIR               stop -m immediate, then start again
#
# The cluster lives in a fresh /tmp/weir-pg.XXXXXX (reachable by the
# unprivileged user it runs as: `postgres` when we are root), listens on
# 127.0.0.1 at a free port and on a unix socket in that directory, and runs
# with fsync off.  Templates: weir_tpl_postgis (PostGIS only) and, when a
# weir binary is given, weir_tpl (PostGIS + weir's migrations), so each test
# gets a fresh database in ~0.1 s with CREATE DATABASE ... TEMPLATE.
#
# WEIR_TEST_PG_DURABLE=1 keeps synchronous_commit on, so a committed
# transaction survives `restart` (an immediate shutdown); tests that kill
# the server need it.  WEIR_TEST_PG_FSYNC=1 also turns fsync and
# full_page_writes on, as in production (benchmarks of a durable store).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pg.sh start|stop|restart STATE_DIR [WEIR_BINARY]}
state=${2:?usage: pg.sh start|stop|restart STATE_DIR [WEIR_BINARY]}
env_file=$state/pg.env

as_owner() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start_server() {
	local dir=$1 port=$2 sync=off fsync=off
	[[ ${WEIR_TEST_PG_DURABLE:-0} == 1 || -f $dir/durable ]] && sync=on
	[[ ${WEIR_TEST_PG_FSYNC:-0} == 1 || -f $dir/fsync ]] && fsync=on
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -s \
		-o "-c fsync=$fsync -c synchronous_commit=$sync -c full_page_writes=$fsync -c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=64MB" \
		start
}

case $cmd in
start)
	mkdir -p "$state"
	if [[ -f $env_file ]]; then
		# A previous run left one behind: stop it first.
		"$0" stop "$state" || true
	fi
	dir=$(mktemp -d /tmp/weir-pg.XXXXXX)
	chmod 755 "$dir"
	[[ $(id -u) == 0 ]] && chown postgres: "$dir"
	as_owner "$bin/initdb" -D "$dir/data" --no-sync -A trust -U weir_test -E UTF8 --locale=C >"$dir/initdb.log"
	[[ ${WEIR_TEST_PG_DURABLE:-0} == 1 ]] && touch "$dir/durable"
	[[ ${WEIR_TEST_PG_FSYNC:-0} == 1 ]] && touch "$dir/fsync"
	port=
	for _ in $(seq 1 20); do
		p=$((20000 + RANDOM % 30000))
		if start_server "$dir" "$p" 2>>"$dir/start.err"; then
			port=$p
			break
		fi
	done
	if [[ -z $port ]]; then
		echo "pg.sh: could not start PostgreSQL; see $dir/log" >&2
		cat "$dir/log" >&2 || true
		exit 1
	fi
	psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U weir_test)
	"${psql[@]}" -d postgres -c "CREATE DATABASE weir_tpl_postgis"
	"${psql[@]}" -d weir_tpl_postgis -c "CREATE EXTENSION postgis"
	"${psql[@]}" -d postgres -c "ALTER DATABASE weir_tpl_postgis IS_TEMPLATE true"
	if [[ -n ${3:-} ]]; then
		"${psql[@]}" -d postgres -c "CREATE DATABASE weir_tpl TEMPLATE weir_tpl_postgis"
		WEIR_DATABASE_URL="host=$dir port=$port user=weir_test dbname=weir_tpl" "$3" db migrate >/dev/null
		"${psql[@]}" -d postgres -c "ALTER DATABASE weir_tpl IS_TEMPLATE true"
	fi
	pid=$(head -1 "$dir/data/postmaster.pid")
	cat >"$env_file" <<EOT
WEIR_TEST_PG_DIR=$dir
WEIR_TEST_PG_HOST=$dir
WEIR_TEST_PG_PORT=$port
WEIR_TEST_PG_USER=weir_test
WEIR_TEST_PG_PID=$pid
EOT
	echo "pg.sh: PostgreSQL pid $pid on 127.0.0.1:$port and $dir"
	;;
stop)
	[[ -f $env_file ]] || exit 0
	# shellcheck disable=SC1090
	source "$env_file"
	if kill -0 "$WEIR_TEST_PG_PID" 2>/dev/null; then
		kill -INT "$WEIR_TEST_PG_PID" # fast shutdown
		for _ in $(seq 1 100); do
			kill -0 "$WEIR_TEST_PG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$WEIR_TEST_PG_PID" 2>/dev/null || true
	fi
	rm -rf "$WEIR_TEST_PG_DIR" "$env_file"
	;;
restart)
	# shellcheck disable=SC1090
	source "$env_file"
	as_owner "$bin/pg_ctl" -D "$WEIR_TEST_PG_DIR/data" -m immediate -w -s stop
	start_server "$WEIR_TEST_PG_DIR" "$WEIR_TEST_PG_PORT"
	pid=$(head -1 "$WEIR_TEST_PG_DIR/data/postmaster.pid")
	sed -i "s/^WEIR_TEST_PG_PID=.*/WEIR_TEST_PG_PID=$pid/" "$env_file"
	;;
*)
	echo "pg.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
