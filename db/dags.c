/* dags.c: recording DAG files (valid ones and import errors) in the store. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "db_int.h"
#include "engine/dag.h"
#include "engine/diag.h"

static int write1(struct pg_store *st, const char *sql, int n, const char *const *v,
		  long *rows, struct weir_buf *err)
{
	int rc;
	PGresult *res = pg_query(st, sql, n, v, &rc, err);

	if (!res)
		return rc;
	if (rows)
		*rows = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

int pg_sync_dag(struct weir_store *s, const struct weir_dag *dag, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	struct weir_buf tags = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *def = json_dumps(dag->definition, JSON_COMPACT);
	char mar[16];
	const char *v[13];
	int rc;

	weir_buf_addch(&tags, '{');
	for (size_t i = 0; i < dag->ntags; i++) {
		weir_buf_addstr(&tags, i ? ",\"" : "\"");
		for (const char *c = dag->tags[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				weir_buf_addch(&tags, '\\');
			weir_buf_addch(&tags, *c);
		}
		weir_buf_addch(&tags, '"');
	}
	weir_buf_addch(&tags, '}');
	snprintf(mar, sizeof(mar), "%d", dag->max_active_runs);
	v[0] = dag->id;
	v[1] = dag->file;
	v[2] = dag->hash;
	v[3] = dag->source;
	v[4] = def;
	v[5] = dag->description;
	v[6] = dag->owner;
	v[7] = tags.buf;
	v[8] = dag->schedule;
	v[9] = weir_tz_name(dag->tz);
	v[10] = dag->service ? "t" : "f";
	v[11] = dag->is_paused_upon_creation ? "t" : "f";
	v[12] = mar;
	/* Only a changed file rewrites the row (hash compare), so a rescan of
	 * an unchanged folder costs no writes. */
	rc = write1(st,
		    "WITH up AS ("
		    " INSERT INTO dags (dag_id, file_path, file_hash, source, definition, description,"
		    "  owner, tags, schedule, timezone, is_service, is_paused, max_active_runs)"
		    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
		    " ON CONFLICT (dag_id) DO UPDATE SET file_path = EXCLUDED.file_path,"
		    "  file_hash = EXCLUDED.file_hash, source = EXCLUDED.source,"
		    "  definition = EXCLUDED.definition, description = EXCLUDED.description,"
		    "  owner = EXCLUDED.owner, tags = EXCLUDED.tags, schedule = EXCLUDED.schedule,"
		    "  timezone = EXCLUDED.timezone, is_service = EXCLUDED.is_service,"
		    "  max_active_runs = EXCLUDED.max_active_runs, is_active = true,"
		    "  last_parsed_at = now(), updated_at = now()"
		    " WHERE dags.file_hash IS DISTINCT FROM EXCLUDED.file_hash"
		    "  OR dags.file_path IS DISTINCT FROM EXCLUDED.file_path OR NOT dags.is_active"
		    " RETURNING 1)"
		    " DELETE FROM import_errors WHERE file_path = $2",
		    13, v, NULL, err);
	free(def);
	weir_buf_release(&tags);
	return rc;
}

int pg_set_import_errors(struct weir_store *s, const char *file, const struct weir_diags *d,
			 struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	struct weir_buf msg = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *j;
	char *js;
	const char *v[3];
	int rc;

	if (!d || weir_diags_count(d) == 0) {
		v[0] = file;
		return write1(st, "DELETE FROM import_errors WHERE file_path = $1", 1, v, NULL, err);
	}
	j = weir_diags_to_json(d);
	js = json_dumps(j, JSON_COMPACT);
	weir_diags_format(d, &msg);
	v[0] = file;
	v[1] = js;
	v[2] = msg.buf;
	rc = write1(st,
		    "INSERT INTO import_errors (file_path, errors, message) VALUES ($1, $2, $3)"
		    " ON CONFLICT (file_path) DO UPDATE SET errors = EXCLUDED.errors,"
		    " message = EXCLUDED.message, created_at = now()"
		    " WHERE import_errors.message IS DISTINCT FROM EXCLUDED.message",
		    3, v, NULL, err);
	free(js);
	json_decref(j);
	weir_buf_release(&msg);
	return rc;
}

int pg_exec_sql(struct pg_store *st, const char *sql, int n, const char *const *v, long *rows,
		struct weir_buf *err)
{
	return write1(st, sql, n, v, rows, err);
}
