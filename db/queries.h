/*
 * queries.h: named SQL statements (private to db/).
 *
 * Reads return one row with one JSON column built by PostgreSQL, or (row
 * statements, struct named_rows) plain rows that db/rows.c writes as
 * JSON; writes return a row count.  Parameters are text and always bound.  Each area
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

/*
 * A read whose rows become JSON in C (db/rows.c explains the rules):
 * every column is one field of an object, named by its alias, written by
 * its type.  list NULL: the first row is the answer (none: not found).
 * list "x": {"x": [every row], "total_entries": column 1}, where an
 * empty page is a single row with column 2 NULL.
 */
struct named_rows {
	const char *name;
	int nparams;
	const char *list;
	const char *sql;
};

/* NULL-terminated tables (db/queries_api.c). */
extern const struct named_sql weir_api_reads[];
extern const struct named_sql weir_api_writes[];
extern const struct named_rows weir_api_rows[];
/* db/queries_ops.c: connections and operators. */
extern const struct named_sql weir_ops_reads[];
extern const struct named_sql weir_ops_writes[];

#endif
