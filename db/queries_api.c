/* queries_api.c: named statements of the HTTP API (see queries.h). */
#include "queries.h"

#include <stddef.h>

const struct named_sql weir_api_reads[] = {
	{NULL, 0, NULL},
};

const struct named_sql weir_api_writes[] = {
	{NULL, 0, NULL},
};
