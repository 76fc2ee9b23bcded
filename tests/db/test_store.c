/*
 * test_store.c: the PostgreSQL store against a real server.
 *
 * Migrations, state machines in C and SQL, conditional transitions (lost
 * races, attempt fencing), all-or-nothing batches, and reconnects that
 * apply every change exactly once.
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "engine/state.h"
#include "engine/store.h"
#include "tests/check.h"
#include "tests/check_pg.h"

static struct weir_store *open_store(const char *ci)
{
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc = weir_pg_store_open(ci, &st, &err);
	if (rc < 0)
		check__fail(__FILE__, __LINE__, "open: %s", err.buf);
	weir_buf_release(&err);
	return st;
}

static void apply_ok(struct weir_store *st, struct weir_batch *b)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc = weir_store_apply(st, b, &err);
	if (rc < 0)
		check__fail(__FILE__, __LINE__, "apply: %s: %s", weir_errname(rc), err.buf);
	weir_buf_release(&err);
}

static int apply_rc(struct weir_store *st, struct weir_batch *b, struct weir_buf *err)
{
	weir_buf_reset(err);
	return weir_store_apply(st, b, err);
}

/* A DAG row the runs can reference. */
static void add_dag(const char *ci, const char *id)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO dags (dag_id, file_path, file_hash, source, definition)"
		 " VALUES ('%s', '/x/%s.yaml', 'h', 'src', '{}')", id, id);
	free(check_pg_sql(ci, sql));
}

/* Creates a run with tasks a..(a+ntasks-1) and returns its pk. */
static int64_t new_run(struct weir_store *st, const char *dag, const char *run_id, int ntasks)
{
	struct weir_batch b;
	struct weir_run_new r = {0};
	struct weir_ti_new tis[26];
	char names[26][2];
	int64_t pk;

	r.dag_id = dag;
	r.run_id = run_id;
	r.run_type = "manual";
	r.logical_date = weir_now_us();
	r.interval_start = r.interval_end = WEIR_TIME_NONE;
	for (int i = 0; i < ntasks; i++) {
		names[i][0] = (char)('a' + i);
		names[i][1] = '\0';
		tis[i] = (struct weir_ti_new){names[i], "default_pool", 1, "default", 1, 1, "local"};
	}
	weir_batch_init(&b, "test");
	weir_batch_run_create(&b, &r);
	if (ntasks)
		weir_batch_tis_create(&b, 0, 0, dag, tis, (size_t)ntasks);
	apply_ok(st, &b);
	pk = b.ops.v[0].u.run_create.run_pk;
	CHECK_INT_OP(pk, >, 0);
	weir_batch_release(&b);
	return pk;
}

static void run_to(struct weir_store *st, int64_t pk, enum weir_run_state from,
		   enum weir_run_state to)
{
	struct weir_batch b;
	weir_batch_init(&b, "test");
	weir_batch_run_state(&b, pk, from, to, NULL, NULL, WEIR_TIME_NONE);
	apply_ok(st, &b);
	weir_batch_release(&b);
}

static char *q1(const char *ci, const char *fmt, long long v)
{
	char sql[1024];
	snprintf(sql, sizeof(sql), fmt, v);
	return check_pg_sql(ci, sql);
}

/* ------------------------------------------------------------------ */

static void test_store__migrates_from_empty_then_is_up_to_date(void)
{
	const char *ci = check_pg_new_db(false);
	struct weir_store *st = open_store(ci);
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *status = NULL;
	char *v;

	CHECK_OK(weir_store_status(st, &status, &err));
	CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(status, "migrations"), 0), "state")),
		     "pending");
	json_decref(status);
	CHECK_OK(weir_store_migrate(st, &out, &err));
	CHECK_STR_CONTAINS(out.buf, "applied 0001_core.sql");
	weir_buf_reset(&out);
	CHECK_OK(weir_store_migrate(st, &out, &err));
	CHECK_STR_EQ(out.buf, "database schema is up to date\n");
	{
		/* Every migration compiled in, once. */
		json_t *st2 = NULL;
		char want[16];
		CHECK_OK(weir_store_status(st, &st2, &err));
		snprintf(want, sizeof(want), "%zu", json_array_size(json_object_get(st2, "migrations")));
		CHECK_INT_OP(json_array_size(json_object_get(st2, "migrations")), >=, 1);
		json_decref(st2);
		v = check_pg_sql(ci, "SELECT count(*) FROM weir_migrations");
		CHECK_STR_EQ(v, want);
		free(v);
	}
	v = check_pg_sql(ci, "SELECT count(*) FROM pools WHERE name = 'default_pool'");
	CHECK_STR_EQ(v, "1");
	free(v);
	CHECK_OK(weir_store_status(st, &status, &err));
	CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(status, "migrations"), 0), "state")),
		     "applied");
	CHECK(json_string_value(json_object_get(status, "postgis_version")) != NULL);
	json_decref(status);
	weir_store_close(st);
	weir_buf_release(&out);
	weir_buf_release(&err);
}

static void test_store__modified_migration_is_an_error(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	free(check_pg_sql(ci, "UPDATE weir_migrations SET checksum = 'deadbeef' WHERE version = 1"));
	CHECK_INT_EQ(weir_store_migrate(st, &out, &err), WEIR_EINVALID);
	CHECK_STR_CONTAINS(err.buf, "migration 0001_core.sql was modified after it was applied");
	weir_store_close(st);
	weir_buf_release(&out);
	weir_buf_release(&err);
}

static void test_store__newer_database_is_refused(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	free(check_pg_sql(ci, "INSERT INTO weir_migrations VALUES (999, '0999_future.sql', 'x')"));
	CHECK_INT_EQ(weir_store_migrate(st, &out, &err), WEIR_EINVALID);
	CHECK_STR_CONTAINS(err.buf, "migration 999 (0999_future.sql), which this weir does not know");
	weir_store_close(st);
	weir_buf_release(&out);
	weir_buf_release(&err);
}

static void test_store__concurrent_migrate_applies_each_migration_once(void)
{
	const char *ci = check_pg_new_db(false);
	char conn[512];
	pid_t kids[4];
	char *v;

	snprintf(conn, sizeof(conn), "%s", ci);
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		CHECK(kids[i] >= 0);
		if (kids[i] == 0) {
			struct weir_store *st = NULL;
			struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			int rc = weir_pg_store_open(conn, &st, &err);
			if (rc == 0)
				rc = weir_store_migrate(st, &out, &err);
			if (rc < 0)
				fprintf(stderr, "# child %d: %s\n", i, err.buf);
			_exit(rc < 0);
		}
	}
	for (int i = 0; i < 4; i++) {
		int status;
		CHECK_INT_EQ(waitpid(kids[i], &status, 0), kids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	v = check_pg_sql(conn, "SELECT count(*) = count(DISTINCT version) AND count(*) >= 1"
			       " AND max(version) = count(*) FROM weir_migrations");
	CHECK_STR_EQ(v, "t");
	free(v);
}

static void test_store__unreachable_server_gives_one_clear_error(void)
{
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	rc = weir_pg_store_open("host=127.0.0.1 port=1 dbname=x user=nobody password=secret connect_timeout=2",
				&st, &err);
	CHECK_INT_EQ(rc, WEIR_ECONN);
	CHECK_STR_CONTAINS(err.buf, "could not connect to the database (host=127.0.0.1 port=1 dbname=x user=nobody password=**** connect_timeout=2)");
	CHECK(strstr(err.buf, "secret") == NULL);
	CHECK_STR_CONTAINS(err.buf, "is PostgreSQL running?");
	weir_buf_reset(&err);
	CHECK_INT_EQ(weir_pg_store_open("postgresql://x:y@[bad", &st, &err), WEIR_EINVALID);
	CHECK_STR_CONTAINS(err.buf, "invalid database URL");
	weir_buf_release(&err);
}

static void test_store__sql_and_c_state_machines_agree(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_buf want = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *got;

	for (int f = 0; f < WEIR_RUN__COUNT; f++)
		for (int t = 0; t < WEIR_RUN__COUNT; t++)
			if (weir_run_legal(f, t))
				weir_buf_addf(&want, "%s%s>%s", want.len ? "," : "", weir_run_state_name(f),
					      weir_run_state_name(t));
	got = check_pg_sql(ci, "SELECT string_agg(from_state || '>' || to_state, ',' ORDER BY"
			       " array_position('{RECEIVED,QUEUED,RUNNING,SUCCESS,FAILED,INVALID,ABORTED}'::text[], from_state),"
			       " array_position('{RECEIVED,QUEUED,RUNNING,SUCCESS,FAILED,INVALID,ABORTED}'::text[], to_state))"
			       " FROM run_transitions");
	CHECK_STR_EQ(got, want.buf);
	free(got);
	weir_buf_reset(&want);
	for (int f = 0; f < WEIR_TI__COUNT; f++)
		for (int t = 0; t < WEIR_TI__COUNT; t++)
			if (weir_ti_legal(f, t))
				weir_buf_addf(&want, "%s%s>%s", want.len ? "," : "", weir_ti_state_name(f),
					      weir_ti_state_name(t));
	got = check_pg_sql(ci, "SELECT string_agg(from_state || '>' || to_state, ',' ORDER BY"
			       " array_position('{none,scheduled,queued,running,success,failed,up_for_retry,up_for_reschedule,upstream_failed,skipped,removed}'::text[], from_state),"
			       " array_position('{none,scheduled,queued,running,success,failed,up_for_retry,up_for_reschedule,upstream_failed,skipped,removed}'::text[], to_state))"
			       " FROM ti_transitions");
	CHECK_STR_EQ(got, want.buf);
	free(got);
	weir_buf_release(&want);
}

/* Every (from, to) pair through plain SQL: the trigger must agree with C. */
static void test_store__database_rejects_every_illegal_transition(void)
{
	const char *ci = check_pg_new_db(true);
	PGconn *c = PQconnectdb(ci);
	char sql[512];
	int legal = 0, illegal = 0;

	CHECK(PQstatus(c) == CONNECTION_OK);
	PQclear(PQexec(c, "INSERT INTO dags (dag_id, file_path, file_hash, source, definition)"
			  " VALUES ('d', '/d', 'h', 's', '{}')"));
	for (int f = 0; f < WEIR_RUN__COUNT; f++) {
		for (int t = 0; t < WEIR_RUN__COUNT; t++) {
			PGresult *r;
			if (f == t)
				continue;
			snprintf(sql, sizeof(sql),
				 "INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, logical_date)"
				 " VALUES (gen_random_uuid(), 'd', 'r%d_%d', 'manual', '%s', now())",
				 f, t, weir_run_state_name(f));
			PQclear(PQexec(c, sql));
			snprintf(sql, sizeof(sql), "UPDATE dag_runs SET state = '%s' WHERE run_id = 'r%d_%d'",
				 weir_run_state_name(t), f, t);
			r = PQexec(c, sql);
			if (weir_run_legal(f, t)) {
				CHECK_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
				legal++;
			} else {
				CHECK_INT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
				CHECK_STR_EQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "WR400");
				illegal++;
			}
			PQclear(r);
		}
	}
	PQclear(PQexec(c, "INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, logical_date)"
			  " VALUES (gen_random_uuid(), 'd', 'tis', 'manual', now())"));
	for (int f = 0; f < WEIR_TI__COUNT; f++) {
		for (int t = 0; t < WEIR_TI__COUNT; t++) {
			PGresult *r;
			if (f == t)
				continue;
			snprintf(sql, sizeof(sql),
				 "INSERT INTO task_instances (run_pk, dag_id, task_id, state, pool, max_tries)"
				 " SELECT id, 'd', 't%d_%d', '%s', 'default_pool', 1 FROM dag_runs WHERE run_id = 'tis'",
				 f, t, weir_ti_state_name(f));
			PQclear(PQexec(c, sql));
			snprintf(sql, sizeof(sql), "UPDATE task_instances SET state = '%s' WHERE task_id = 't%d_%d'",
				 weir_ti_state_name(t), f, t);
			r = PQexec(c, sql);
			if (weir_ti_legal(f, t)) {
				CHECK_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
				legal++;
			} else {
				CHECK_INT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
				CHECK_STR_EQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "WR400");
				illegal++;
			}
			PQclear(r);
		}
	}
	check_note("%d legal and %d illegal transitions checked in SQL", legal, illegal);
	CHECK_INT_OP(illegal, >, 50);
	/* Finished runs keep their outcome. */
	{
		PGresult *r = PQexec(c, "UPDATE dag_runs SET result = '{\"x\": 1}' WHERE state = 'FAILED'");
		CHECK_INT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
		PQclear(r);
		r = PQexec(c, "UPDATE dag_runs SET result = '{\"x\": 1}' WHERE state = 'RUNNING'");
		CHECK_INT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR); /* result only on SUCCESS */
		CHECK_STR_EQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514");
		PQclear(r);
		r = PQexec(c, "DELETE FROM state_events");
		CHECK_INT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
		PQclear(r);
	}
	PQfinish(c);
}

static void test_store__every_legal_run_transition_through_the_store(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int n = 0;

	add_dag(ci, "d");
	for (int f = 0; f < WEIR_RUN__COUNT; f++) {
		for (int t = 0; t < WEIR_RUN__COUNT; t++) {
			char id[32];
			int64_t pk;
			struct weir_batch b;
			char *v;
			if (!weir_run_legal(f, t))
				continue;
			snprintf(id, sizeof(id), "legal_%d_%d", f, t);
			pk = new_run(st, "d", id, 0);
			/* Walk to `from` along the main path. */
			if (f >= WEIR_RUN_QUEUED)
				run_to(st, pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED);
			if (f >= WEIR_RUN_RUNNING)
				run_to(st, pk, WEIR_RUN_QUEUED, WEIR_RUN_RUNNING);
			weir_batch_init(&b, "test");
			weir_batch_run_state(&b, pk, f, t, "because", t == WEIR_RUN_SUCCESS ? json_pack("{s:s}", "url", "x") : NULL,
					     WEIR_TIME_NONE);
			apply_ok(st, &b);
			weir_batch_release(&b);
			v = q1(ci, "SELECT state || ',' || (started_at IS NOT NULL) || ',' || (ended_at IS NOT NULL)"
				   " || ',' || coalesce(result->>'url', '-') FROM dag_runs WHERE id = %lld", pk);
			{
				char want[64];
				bool started = f == WEIR_RUN_RUNNING || t == WEIR_RUN_RUNNING;
				snprintf(want, sizeof(want), "%s,%s,%s,%s", weir_run_state_name(t),
					 started ? "true" : "false", weir_run_state_terminal(t) ? "true" : "false",
					 t == WEIR_RUN_SUCCESS ? "x" : "-");
				CHECK_STR_EQ(v, want);
			}
			free(v);
			n++;
		}
	}
	CHECK_INT_EQ(n, 8);
	/* Illegal in C: rejected before any SQL runs. */
	{
		int64_t pk = new_run(st, "d", "illegal", 0);
		struct weir_batch b;
		weir_batch_init(&b, "test");
		weir_batch_run_state(&b, pk, WEIR_RUN_RECEIVED, WEIR_RUN_SUCCESS, NULL, NULL, WEIR_TIME_NONE);
		CHECK_INT_EQ(apply_rc(st, &b, &err), WEIR_EILLEGAL);
		CHECK_STR_CONTAINS(err.buf, "illegal run state transition RECEIVED -> SUCCESS");
		weir_batch_release(&b);
	}
	weir_store_close(st);
	weir_buf_release(&err);
}

static void test_store__lost_race_is_reported_not_ignored(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *a = open_store(ci), *b2 = open_store(ci);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_batch b;
	int64_t pk;
	char *v;

	add_dag(ci, "d");
	pk = new_run(a, "d", "race", 1);
	run_to(a, pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED);
	run_to(a, pk, WEIR_RUN_QUEUED, WEIR_RUN_RUNNING);
	/* Both writers believe the run is RUNNING. */
	weir_batch_init(&b, "writer-a");
	weir_batch_run_state(&b, pk, WEIR_RUN_RUNNING, WEIR_RUN_SUCCESS, NULL, NULL, WEIR_TIME_NONE);
	apply_ok(a, &b);
	weir_batch_release(&b);
	weir_batch_init(&b, "writer-b");
	weir_batch_run_state(&b, pk, WEIR_RUN_RUNNING, WEIR_RUN_FAILED, NULL, NULL, WEIR_TIME_NONE);
	CHECK_INT_EQ(apply_rc(b2, &b, &err), WEIR_ECONFLICT);
	CHECK_INT_EQ(b.failed, 0);
	CHECK_STR_CONTAINS(err.buf, "is SUCCESS, not RUNNING");
	weir_batch_release(&b);
	v = q1(ci, "SELECT state || ' ' || (SELECT count(*) FROM state_events WHERE run_pk = %lld)"
		   " FROM dag_runs WHERE run_id = 'race'", pk);
	CHECK_STR_EQ(v, "SUCCESS 3");
	free(v);
	/* The same for a task: two writers queue it. */
	{
		struct weir_batch x, y;
		struct weir_sop *op;
		weir_batch_init(&x, "writer-a");
		op = weir_batch_ti_state(&x, pk, "a", WEIR_TI_NONE, WEIR_TI_QUEUED, NULL, weir_now_us());
		op->u.ti_state.try_number = 1;
		weir_uuid_v7(&op->u.ti_state.attempt);
		weir_batch_init(&y, "writer-b");
		op = weir_batch_ti_state(&y, pk, "a", WEIR_TI_NONE, WEIR_TI_QUEUED, NULL, weir_now_us());
		op->u.ti_state.try_number = 1;
		weir_uuid_v7(&op->u.ti_state.attempt);
		apply_ok(a, &x);
		CHECK_INT_EQ(apply_rc(b2, &y, &err), WEIR_ECONFLICT);
		weir_batch_release(&x);
		weir_batch_release(&y);
		v = q1(ci, "SELECT count(*) FROM task_tries WHERE run_pk = %lld", pk);
		CHECK_STR_EQ(v, "1");
		free(v);
	}
	weir_store_close(a);
	weir_store_close(b2);
	weir_buf_release(&err);
}

/* Queues, starts and (optionally) ends one try; returns its attempt id. */
static struct weir_uuid start_try(struct weir_store *st, int64_t pk, const char *task,
				  enum weir_ti_state from, int try_number)
{
	struct weir_batch b;
	struct weir_sop *op;
	struct weir_uuid att;

	weir_uuid_v7(&att);
	weir_batch_init(&b, "scheduler");
	op = weir_batch_ti_state(&b, pk, task, from, WEIR_TI_QUEUED, NULL, weir_now_us());
	op->u.ti_state.try_number = try_number;
	op->u.ti_state.attempt = att;
	op->u.ti_state.log_path = "/logs/x.log";
	op->u.ti_state.executor = "local";
	op = weir_batch_ti_state(&b, pk, task, WEIR_TI_QUEUED, WEIR_TI_RUNNING, NULL, weir_now_us());
	op->u.ti_state.fenced = true;
	op->u.ti_state.fence = att;
	op->u.ti_state.pid = 4242;
	op->u.ti_state.hostname = "host1";
	op->u.ti_state.process_start = 99;
	apply_ok(st, &b);
	weir_batch_release(&b);
	return att;
}

static void test_store__stale_attempt_cannot_complete_a_newer_try(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_batch b;
	struct weir_sop *op;
	struct weir_uuid first, second;
	int64_t pk;
	char *v;

	add_dag(ci, "d");
	pk = new_run(st, "d", "fence", 1);
	first = start_try(st, pk, "a", WEIR_TI_NONE, 1);
	/* Try 1 is declared dead (zombie) and retried. */
	weir_batch_init(&b, "scheduler");
	op = weir_batch_ti_state(&b, pk, "a", WEIR_TI_RUNNING, WEIR_TI_UP_FOR_RETRY, "heartbeat lost", weir_now_us());
	op->u.ti_state.fenced = true;
	op->u.ti_state.fence = first;
	op->u.ti_state.next_at = weir_now_us();
	apply_ok(st, &b);
	weir_batch_release(&b);
	second = start_try(st, pk, "a", WEIR_TI_UP_FOR_RETRY, 2);
	/* The zombie of try 1 reports success: refused. */
	weir_batch_init(&b, "task");
	op = weir_batch_ti_state(&b, pk, "a", WEIR_TI_RUNNING, WEIR_TI_SUCCESS, NULL, weir_now_us());
	op->u.ti_state.fenced = true;
	op->u.ti_state.fence = first;
	weir_batch_xcom(&b, pk, "a", &first, "return_value", json_string("stale"));
	CHECK_INT_EQ(apply_rc(st, &b, &err), WEIR_ESTALE);
	CHECK_STR_CONTAINS(err.buf, "stale attempt");
	weir_batch_release(&b);
	/* An XCom alone from the stale try is refused as well. */
	weir_batch_init(&b, "task");
	weir_batch_xcom(&b, pk, "a", &first, "k", json_integer(1));
	CHECK_INT_EQ(apply_rc(st, &b, &err), WEIR_ESTALE);
	weir_batch_release(&b);
	/* The current try completes. */
	weir_batch_init(&b, "task");
	weir_batch_xcom(&b, pk, "a", &second, "return_value", json_string("fresh"));
	op = weir_batch_ti_state(&b, pk, "a", WEIR_TI_RUNNING, WEIR_TI_SUCCESS, NULL, weir_now_us());
	op->u.ti_state.fenced = true;
	op->u.ti_state.fence = second;
	op->u.ti_state.has_exit_code = true;
	op->u.ti_state.exit_code = 0;
	apply_ok(st, &b);
	weir_batch_release(&b);
	v = q1(ci, "SELECT state || ' ' || try_number || ' ' || exit_code || ' ' ||"
		   " (SELECT value #>> '{}' FROM xcom WHERE run_pk = %lld AND key = 'return_value')"
		   " FROM task_instances WHERE task_id = 'a'", pk);
	CHECK_STR_EQ(v, "success 2 0 fresh");
	free(v);
	v = q1(ci, "SELECT string_agg(try_number || ':' || state || ':' || (ended_at IS NOT NULL), ','"
		   " ORDER BY try_number) FROM task_tries WHERE run_pk = %lld", pk);
	CHECK_STR_EQ(v, "1:up_for_retry:true,2:success:true");
	free(v);
	weir_store_close(st);
	weir_buf_release(&err);
}

static void test_store__batch_is_all_or_nothing(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_batch b;
	int64_t pk;
	char *v;

	add_dag(ci, "d");
	pk = new_run(st, "d", "atomic", 3);
	weir_batch_init(&b, "scheduler");
	weir_batch_run_state(&b, pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED, NULL, NULL, WEIR_TIME_NONE);
	weir_batch_ti_state(&b, pk, "a", WEIR_TI_NONE, WEIR_TI_SCHEDULED, NULL, weir_now_us());
	weir_batch_ti_state(&b, pk, "b", WEIR_TI_SCHEDULED, WEIR_TI_QUEUED, NULL, weir_now_us()); /* b is none */
	weir_batch_ti_state(&b, pk, "c", WEIR_TI_NONE, WEIR_TI_SKIPPED, NULL, weir_now_us());
	CHECK_INT_EQ(apply_rc(st, &b, &err), WEIR_ECONFLICT);
	CHECK_INT_EQ(b.failed, 2);
	weir_batch_release(&b);
	v = q1(ci, "SELECT (SELECT state FROM dag_runs WHERE id = %lld) || ' ' ||"
		   " (SELECT string_agg(state, ',' ORDER BY task_id) FROM task_instances) || ' ' ||"
		   " (SELECT count(*) FROM state_events)", pk);
	CHECK_STR_EQ(v, "RECEIVED none,none,none 0");
	free(v);
	/* Duplicate run id: EEXISTS, and nothing else of the batch. */
	{
		struct weir_run_new r = {0};
		r.dag_id = "d";
		r.run_id = "atomic";
		r.run_type = "manual";
		r.logical_date = weir_now_us();
		r.interval_start = r.interval_end = WEIR_TIME_NONE;
		weir_batch_init(&b, "api");
		weir_batch_run_state(&b, pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED, NULL, NULL, WEIR_TIME_NONE);
		weir_batch_run_create(&b, &r);
		CHECK_INT_EQ(apply_rc(st, &b, &err), WEIR_EEXISTS);
		CHECK_INT_EQ(b.failed, 1);
		weir_batch_release(&b);
		v = q1(ci, "SELECT state FROM dag_runs WHERE id = %lld", pk);
		CHECK_STR_EQ(v, "RECEIVED");
		free(v);
	}
	weir_store_close(st);
	weir_buf_release(&err);
}

static void test_store__large_batches_are_chunked_in_one_transaction(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_batch b;
	int64_t pk;
	char *v;
	enum { N = 700 };

	add_dag(ci, "d");
	pk = new_run(st, "d", "big", 0);
	{
		struct weir_ti_new tis[N];
		static char names[N][8];
		for (int i = 0; i < N; i++) {
			snprintf(names[i], sizeof(names[i]), "t%03d", i);
			tis[i] = (struct weir_ti_new){names[i], "default_pool", 1, "default", i, 0, "local"};
		}
		weir_batch_init(&b, "scheduler");
		weir_batch_tis_create(&b, pk, SIZE_MAX, "d", tis, N);
		apply_ok(st, &b);
		weir_batch_release(&b);
		weir_batch_init(&b, "scheduler");
		for (int i = 0; i < N; i++)
			weir_batch_ti_state(&b, pk, names[i], WEIR_TI_NONE, WEIR_TI_SCHEDULED, NULL, weir_now_us());
		apply_ok(st, &b);
		weir_batch_release(&b);
		v = q1(ci, "SELECT count(*) FROM task_instances WHERE run_pk = %lld AND state = 'scheduled'", pk);
		CHECK_STR_EQ(v, "700");
		free(v);
		/* A conflict in the last chunk rolls back the first ones too. */
		weir_batch_init(&b, "scheduler");
		for (int i = 0; i < N; i++)
			weir_batch_ti_state(&b, pk, names[i], WEIR_TI_SCHEDULED, WEIR_TI_NONE, NULL, weir_now_us());
		weir_batch_ti_state(&b, pk, names[0], WEIR_TI_SCHEDULED, WEIR_TI_QUEUED, NULL, weir_now_us());
		CHECK_INT_EQ(apply_rc(st, &b, &err), WEIR_ECONFLICT);
		CHECK_INT_EQ(b.failed, N);
		weir_batch_release(&b);
		v = q1(ci, "SELECT count(*) FROM task_instances WHERE run_pk = %lld AND state = 'scheduled'", pk);
		CHECK_STR_EQ(v, "700");
		free(v);
		/* And the connection is usable afterwards. */
		run_to(st, pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED);
	}
	weir_store_close(st);
	weir_buf_release(&err);
}

static void test_store__lost_reply_after_commit_is_not_applied_twice(void)
{
	const char *ci = check_pg_new_db(true);
	struct weir_store *st = open_store(ci);
	struct weir_batch b;
	struct weir_run_new r = {0};
	int64_t pk;
	char *v;

	add_dag(ci, "d");
	r.dag_id = "d";
	r.run_id = "once";
	r.run_type = "api";
	r.logical_date = weir_now_us();
	r.interval_start = r.interval_end = WEIR_TIME_NONE;
	weir_batch_init(&b, "api");
	weir_batch_run_create(&b, &r);
	weir_store_fault_lose_reply = 1;
	/* Commit happens, the reply is "lost"; apply must find the batch
	 * committed rather than insert the run again (which would fail with
	 * a duplicate key, or worse, apply a transition twice). */
	apply_ok(st, &b);
	CHECK_INT_EQ(weir_store_fault_lose_reply, 0);
	pk = b.ops.v[0].u.run_create.run_pk;
	CHECK_INT_OP(pk, >, 0);
	weir_batch_release(&b);
	v = check_pg_sql(ci, "SELECT count(*) FROM dag_runs WHERE run_id = 'once'");
	CHECK_STR_EQ(v, "1");
	free(v);
	weir_batch_init(&b, "scheduler");
	weir_batch_run_state(&b, pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED, NULL, NULL, WEIR_TIME_NONE);
	weir_store_fault_lose_reply = 1;
	apply_ok(st, &b);
	weir_batch_release(&b);
	v = q1(ci, "SELECT count(*) FROM state_events WHERE run_pk = %lld", pk);
	CHECK_STR_EQ(v, "1");
	free(v);
	weir_store_close(st);
}

/*
 * Restarts a private PostgreSQL server twice in the middle of a sequence
 * of 600 transitions: every one must end up applied exactly once.
 */
static void test_store__reconnect_applies_each_transition_exactly_once(void)
{
	const char *harness = getenv("WEIR_TEST_HARNESS");
	char state[512], cmd[1200], ci[512];
	char *host, *port;
	struct weir_store *st;
	int64_t pks[100];
	pid_t restarter;
	char *v;

	CHECK(harness != NULL);
	snprintf(state, sizeof(state), "%s/pg-restart", check_tmpdir());
	snprintf(cmd, sizeof(cmd), "WEIR_TEST_PG_DURABLE=1 %s/pg.sh start %s %s >/dev/null", harness, state,
		 getenv("WEIR_BINARY"));
	CHECK_INT_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/pg.env", state);
	host = check_env_file_get(cmd, "WEIR_TEST_PG_HOST");
	port = check_env_file_get(cmd, "WEIR_TEST_PG_PORT");
	snprintf(ci, sizeof(ci), "host=%s port=%s user=weir_test dbname=postgres", host, port);
	free(check_pg_sql(ci, "CREATE DATABASE r TEMPLATE weir_tpl"));
	snprintf(ci, sizeof(ci), "host=%s port=%s user=weir_test dbname=r", host, port);
	add_dag(ci, "d");
	st = open_store(ci);
	for (int i = 0; i < 100; i++) {
		char id[16];
		snprintf(id, sizeof(id), "run%03d", i);
		pks[i] = new_run(st, "d", id, 2);
	}
	restarter = fork();
	CHECK(restarter >= 0);
	if (restarter == 0) {
		for (int k = 0; k < 2; k++) {
			usleep(150000);
			snprintf(cmd, sizeof(cmd), "%s/pg.sh restart %s >/dev/null 2>&1", harness, state);
			if (system(cmd) != 0)
				_exit(1);
		}
		_exit(0);
	}
	/* 100 runs x 6 transitions, one batch each, while the server restarts. */
	for (int step = 0; step < 6; step++) {
		for (int i = 0; i < 100; i++) {
			struct weir_batch b;
			weir_batch_init(&b, "scheduler");
			switch (step) {
			case 0: weir_batch_run_state(&b, pks[i], WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED, NULL, NULL, WEIR_TIME_NONE); break;
			case 1: weir_batch_ti_state(&b, pks[i], "a", WEIR_TI_NONE, WEIR_TI_SCHEDULED, NULL, weir_now_us()); break;
			case 2: weir_batch_run_state(&b, pks[i], WEIR_RUN_QUEUED, WEIR_RUN_RUNNING, NULL, NULL, WEIR_TIME_NONE); break;
			case 3: weir_batch_ti_state(&b, pks[i], "a", WEIR_TI_SCHEDULED, WEIR_TI_SKIPPED, NULL, weir_now_us()); break;
			case 4: weir_batch_ti_state(&b, pks[i], "b", WEIR_TI_NONE, WEIR_TI_UPSTREAM_FAILED, NULL, weir_now_us()); break;
			case 5: weir_batch_run_state(&b, pks[i], WEIR_RUN_RUNNING, WEIR_RUN_FAILED, NULL, NULL, WEIR_TIME_NONE); break;
			}
			apply_ok(st, &b);
			weir_batch_release(&b);
			usleep(500);
		}
	}
	{
		int status;
		CHECK_INT_EQ(waitpid(restarter, &status, 0), restarter);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	v = check_pg_sql(ci, "SELECT count(*) || ' ' || count(DISTINCT (run_pk, coalesce(task_id, ''), to_state))"
			     " FROM state_events");
	CHECK_STR_EQ(v, "600 600");
	free(v);
	v = check_pg_sql(ci, "SELECT string_agg(DISTINCT state, ',') FROM dag_runs");
	CHECK_STR_EQ(v, "FAILED");
	free(v);
	v = check_pg_sql(ci, "SELECT pg_postmaster_start_time() > now() - interval '1 minute'");
	CHECK_STR_EQ(v, "t");
	free(v);
	weir_store_close(st);
	snprintf(cmd, sizeof(cmd), "%s/pg.sh stop %s", harness, state);
	CHECK_INT_EQ(system(cmd), 0);
	free(host);
	free(port);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_store__migrates_from_empty_then_is_up_to_date),
	CHECK_TEST(test_store__modified_migration_is_an_error),
	CHECK_TEST(test_store__newer_database_is_refused),
	CHECK_TEST(test_store__concurrent_migrate_applies_each_migration_once),
	CHECK_TEST(test_store__unreachable_server_gives_one_clear_error),
	CHECK_TEST(test_store__sql_and_c_state_machines_agree),
	CHECK_TEST(test_store__database_rejects_every_illegal_transition),
	CHECK_TEST(test_store__every_legal_run_transition_through_the_store),
	CHECK_TEST(test_store__lost_race_is_reported_not_ignored),
	CHECK_TEST(test_store__stale_attempt_cannot_complete_a_newer_try),
	CHECK_TEST(test_store__batch_is_all_or_nothing),
	CHECK_TEST(test_store__large_batches_are_chunked_in_one_transaction),
	CHECK_TEST(test_store__lost_reply_after_commit_is_not_applied_twice),
	CHECK_TEST(test_store__reconnect_applies_each_transition_exactly_once),
	{0},
};

int main(int argc, char **argv)
{
	weir_store_reconnect_budget_ms = 20000;
	signal(SIGPIPE, SIG_IGN);
	return check_main(argc, argv, tests);
}
