# shellcheck shell=bash
# bench/sched/w2env.sh: the W2 set-up shared by hop.sh and profile.sh
# (source it after bench/lib.sh and bench_build).
#
#   w2_env NAME   W2 generated into $W, a fast throwaway PostgreSQL, database
#                 NAME ($DB), $HOME_DIR and a DAG folder $dags holding w2.yaml,
#                 and an open bench_sql session on NAME
w2_env() {
	W=$BENCH_TMP/w
	/usr/bin/python3 "$BENCH_TOP/bench/sched/gen.py" "$W" W2
	bench_pg_start fast
	DB=$(bench_db_new "$1")
	HOME_DIR=$BENCH_TMP/home
	dags=$BENCH_TMP/dags
	mkdir -p "$dags" "$HOME_DIR"
	cp "$W/weir/w2.yaml" "$dags/"
	bench_sql_open "$1"
}
