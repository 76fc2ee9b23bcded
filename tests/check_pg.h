/*
 * check_pg.h: test helpers for the PostgreSQL fixture (tests/harness/pg.sh).
 *
 * The suite's cluster is described by the file named in $WEIR_TEST_PG_ENV
 * (the ctest fixture sets it).  Each test asks for a fresh database.
 */
#ifndef WEIR_CHECK_PG_H
#define WEIR_CHECK_PG_H

#include <stdbool.h>

/*
 * Creates a fresh database and returns its conninfo (static storage until
 * the next call).  migrated: a copy of weir_tpl (schema applied); else of
 * weir_tpl_postgis (PostGIS only).
 */
const char *check_pg_new_db(bool migrated);
/* conninfo of the `postgres` database of the suite's cluster. */
const char *check_pg_admin(void);
/* Runs SQL on conninfo (fails the test on error); returns the first
 * value of the first row as a malloc'd string, or NULL. */
char *check_pg_sql(const char *conninfo, const char *sql);
/* The value of KEY in an env file written by pg.sh (malloc'd). */
char *check_env_file_get(const char *path, const char *key);

#endif
