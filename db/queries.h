/*
 * queries.h: named SQL statements (private to db/).
 *
 * Reads return one row with one JSON column built by PostgreSQL; writes
 * return a row count.  Parameters are text and always bound.  Each area
 * keeps its own table (queries.c: scheduler and CLI; queries_api.c: the
 * HTTP API); names are unique across tables ("area.thing").
 */
#ifndef WEIR_DB_QUERIES_H
#define WEIR_DB_QUERIES_H

struct named_sql {
	const char *name;
	int nparams;
	const char *sql;
};

/* NULL-terminated tables (db/queries_api.c). */
extern const struct named_sql weir_api_reads[];
extern const struct named_sql weir_api_writes[];
/* db/queries_ops.c: connections and operators. */
extern const struct named_sql weir_ops_reads[];
extern const struct named_sql weir_ops_writes[];

#endif
