/*
 * migrate.c: schema migrations and `weir db status`.
 *
 * Migrations are the numbered files of db/migrations, compiled into the
 * binary.  Each is applied in its own transaction together with its row in
 * weir_migrations (version, name, SHA-256 of the text).  A session-level
 * advisory lock serialises concurrent migrators: the second waits, then
 * finds nothing left to do.  An applied migration whose text changed is an
 * error, as is a database newer than this binary.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "db_int.h"

#define MIGRATION_LOCK_KEY 0x77656972 /* "weir" */

static void sha256_hex(const char *s, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int tx_apply(struct pg_store *st, const struct weir_migration *m, const char *sum,
		    struct weir_buf *err)
{
	char ver[16];
	const char *p[3] = {ver, m->name, sum};
	PGresult *res;
	int rc;

	snprintf(ver, sizeof(ver), "%d", m->version);
	rc = pg_command(st, "BEGIN", err);
	if (rc < 0)
		return rc;
	res = PQexec(st->conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		weir_buf_addf(err, "migration %s failed: ", m->name);
		pg_result_error(res, st->conn, err);
		rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
		PQclear(res);
		if (rc != WEIR_ECONN) {
			struct weir_buf ignore = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			pg_command(st, "ROLLBACK", &ignore);
			weir_buf_release(&ignore);
		}
		return rc;
	}
	PQclear(res);
	res = PQexecParams(st->conn,
			   "INSERT INTO weir_migrations (version, name, checksum) VALUES ($1, $2, $3)",
			   3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		weir_buf_addf(err, "could not record migration %s: ", m->name);
		pg_result_error(res, st->conn, err);
		rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
		PQclear(res);
		return rc;
	}
	PQclear(res);
	return pg_command(st, "COMMIT", err);
}

int pg_migrate(struct weir_store *s, struct weir_buf *out, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	PGresult *res = NULL;
	int rc, applied = 0;
	char lock[64];

	rc = pg_ensure(st, err);
	if (rc < 0)
		return rc;
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK_KEY);
	rc = pg_command(st, lock, err);
	if (rc < 0)
		return rc;
	rc = pg_command(st, "CREATE TABLE IF NOT EXISTS weir_migrations ("
			    " version integer PRIMARY KEY, name text NOT NULL,"
			    " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
			err);
	if (rc < 0)
		goto unlock;
	res = PQexec(st->conn, "SELECT version, name, checksum FROM weir_migrations ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_result_error(res, st->conn, err);
		rc = WEIR_EDB;
		goto unlock;
	}
	/* Verify what is applied. */
	for (int r = 0; r < PQntuples(res); r++) {
		int v = atoi(PQgetvalue(res, r, 0));
		const struct weir_migration *m = NULL;
		char sum[65];
		for (const struct weir_migration *x = weir_migrations; x->name; x++)
			if (x->version == v)
				m = x;
		if (!m) {
			weir_buf_addf(err, "the database has migration %d (%s), which this weir does not know: it was migrated by a newer weir",
				      v, PQgetvalue(res, r, 1));
			rc = WEIR_EINVALID;
			goto unlock;
		}
		sha256_hex(m->sql, sum);
		if (strcmp(sum, PQgetvalue(res, r, 2))) {
			weir_buf_addf(err, "migration %s was modified after it was applied (checksum %.12s..., applied %.12s...): add a new migration instead of editing an applied one",
				      m->name, sum, PQgetvalue(res, r, 2));
			rc = WEIR_EINVALID;
			goto unlock;
		}
	}
	/* Apply the rest, in order. */
	for (const struct weir_migration *m = weir_migrations; m->name; m++) {
		bool done = false;
		char sum[65];
		for (int r = 0; r < PQntuples(res) && !done; r++)
			done = atoi(PQgetvalue(res, r, 0)) == m->version;
		if (done)
			continue;
		sha256_hex(m->sql, sum);
		rc = tx_apply(st, m, sum, err);
		if (rc < 0)
			goto unlock;
		weir_buf_addf(out, "applied %s\n", m->name);
		applied++;
	}
	if (!applied)
		weir_buf_addstr(out, "database schema is up to date\n");
	rc = 0;
unlock:
	PQclear(res);
	{
		struct weir_buf ignore = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%d)", MIGRATION_LOCK_KEY);
		if (st->conn)
			pg_command(st, lock, &ignore);
		weir_buf_release(&ignore);
	}
	if (rc == 0 && !st->schema_ready)
		rc = pg_prepare_all(st, err);
	return rc;
}

int pg_status(struct weir_store *s, json_t **out, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	json_t *o, *migs;
	PGresult *res;
	int rc = pg_ensure(st, err);

	if (rc < 0)
		return rc;
	o = json_object();
	json_object_set_new(o, "database", json_string(st->display));
	res = PQexec(st->conn, "SELECT current_setting('server_version'),"
			       " (SELECT extversion FROM pg_extension WHERE extname = 'postgis'),"
			       " current_database(), current_user");
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		json_object_set_new(o, "server_version", json_string(PQgetvalue(res, 0, 0)));
		json_object_set_new(o, "postgis_version",
				    PQgetisnull(res, 0, 1) ? json_null() : json_string(PQgetvalue(res, 0, 1)));
		json_object_set_new(o, "database_name", json_string(PQgetvalue(res, 0, 2)));
		json_object_set_new(o, "user", json_string(PQgetvalue(res, 0, 3)));
	}
	PQclear(res);
	migs = json_array();
	res = PQexec(st->conn, "SELECT to_regclass('weir_migrations') IS NOT NULL");
	{
		bool have = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		res = PQexec(st->conn, have ? "SELECT version, name, checksum, applied_at"
					      " FROM weir_migrations ORDER BY version"
					    : "SELECT 1 WHERE false");
	}
	for (const struct weir_migration *m = weir_migrations; m->name; m++) {
		json_t *j = json_pack("{s:i, s:s, s:s}", "version", m->version, "name", m->name,
				      "state", "pending");
		char sum[65];
		sha256_hex(m->sql, sum);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			for (int r = 0; r < PQntuples(res); r++) {
				if (atoi(PQgetvalue(res, r, 0)) != m->version)
					continue;
				json_object_set_new(j, "state", json_string(strcmp(sum, PQgetvalue(res, r, 2))
										 ? "modified" : "applied"));
				json_object_set_new(j, "applied_at", json_string(PQgetvalue(res, r, 3)));
			}
		}
		json_array_append_new(migs, j);
	}
	PQclear(res);
	json_object_set_new(o, "migrations", migs);
	*out = o;
	return 0;
}
