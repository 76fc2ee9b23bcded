/* dag_int.h: private to engine/dag*.c: the tables of enum names. */
#ifndef WEIR_DAG_INT_H
#define WEIR_DAG_INT_H

#include "engine/dag.h"

/* NULL-terminated, indexed by the enums of dag.h. */
extern const char *const weir__trigger_names[WEIR_TRIGGER__COUNT + 1];
extern const char *const weir__executor_names[WEIR_EXECUTOR__COUNT + 1];
extern const char *const weir__param_type_names[WEIR_PARAM__COUNT + 1];
extern const char *const weir__weight_rule_names[4];
extern const char *const weir__mode_names[3];

#endif
