/* check_pg.c: fresh databases from the fixture's templates. */
#include "tests/check_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"

char *check_env_file_get(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = strlen(key);

	if (!f)
		check__fail(__FILE__, __LINE__, "cannot open %s (is the pg fixture running?)", path);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == '=') {
			char *v = strdup(line + n + 1);
			v[strcspn(v, "\n")] = '\0';
			fclose(f);
			return v;
		}
	}
	fclose(f);
	check__fail(__FILE__, __LINE__, "%s has no %s", path, key);
}

static const char *env_path(void)
{
	const char *p = getenv("WEIR_TEST_PG_ENV");
	if (!p)
		check__fail(__FILE__, __LINE__, "WEIR_TEST_PG_ENV is not set: run this test through ctest");
	return p;
}

static char conninfo[512];

const char *check_pg_admin(void)
{
	char *host = check_env_file_get(env_path(), "WEIR_TEST_PG_HOST");
	char *port = check_env_file_get(env_path(), "WEIR_TEST_PG_PORT");
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s user=weir_test dbname=postgres", host, port);
	free(host);
	free(port);
	return conninfo;
}

char *check_pg_sql(const char *ci, const char *sql)
{
	PGconn *c = PQconnectdb(ci);
	PGresult *r;
	char *v = NULL;

	if (PQstatus(c) != CONNECTION_OK)
		check__fail(__FILE__, __LINE__, "connect %s: %s", ci, PQerrorMessage(c));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		check__fail(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(c));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

const char *check_pg_new_db(bool migrated)
{
	static int counter;
	char sql[256], name[64];
	char *host = check_env_file_get(env_path(), "WEIR_TEST_PG_HOST");
	char *port = check_env_file_get(env_path(), "WEIR_TEST_PG_PORT");

	snprintf(name, sizeof(name), "t_%d_%d", (int)getpid(), counter++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", name,
		 migrated ? "weir_tpl" : "weir_tpl_postgis");
	free(check_pg_sql(check_pg_admin(), sql));
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s user=weir_test dbname=%s", host, port, name);
	free(host);
	free(port);
	return conninfo;
}
