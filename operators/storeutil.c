/* storeutil.c: weir's own database for operators (storeutil.h). */
#include "operators/storeutil.h"

#include <stdio.h>

#include "common/buf.h"
#include "operators/ops_int.h"
#include "common/banned.h"

struct weir_store *weir__op_store_open(struct weir_task_ctx *ctx)
{
	const char *url = json_string_value(json_object_get(ctx->spec, "weir_database_url"));
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	char app[80];

	if (!url || !*url) {
		weir_buf_setf(&ctx->message,
			      "the spec has no \"weir_database_url\": the starter of this task did not give it weir's database");
		return NULL;
	}
	if (weir_pg_store_open(url, &st, &err) < 0) {
		weir_buf_setf(&ctx->message, "could not open weir's database: %s", err.buf);
		weir_buf_release(&err);
		return NULL;
	}
	snprintf(app, sizeof(app), "weir-task:%.60s", json_string_value(json_object_get(ctx->spec, "operator")));
	weir_buf_reset(&err);
	weir_pg_store_set_app(st, app, &err);
	weir_buf_release(&err);
	return st;
}
