/*
 * fake_store.h: a store without a database, for the API unit tests
 * (check_api.h) and the API fuzz target (tests/fuzz/fuzz_api.c).
 *
 * Reads come from a table the caller fills: name -> JSON text (NULL
 * text: WEIR_ENOTFOUND).  Unknown names are WEIR_ENOTFOUND.  Writes
 * succeed with rows = 1.  The table is shared by all fake stores and
 * guarded by a mutex (gateway threads read it).
 */
#ifndef WEIR_FAKE_STORE_H
#define WEIR_FAKE_STORE_H

#include "engine/store.h"

struct weir_store *fake_store_new(void);
/* Sets or replaces name's answer (json copied; NULL: not found).  At most
 * 64 names; aborts beyond. */
void fake_store_set(const char *name, const char *json);
void fake_store_clear(void);
/* An api_pool open callback handing out fake stores (arg unused). */
int fake_store_open(void *arg, struct weir_store **out, struct weir_buf *err);

#endif
