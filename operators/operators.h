/* operators.h: the operators shipped with weir (one file each). */
#ifndef WEIR_OPERATORS_H
#define WEIR_OPERATORS_H

#include "engine/operator.h"

extern const struct weir_operator weir_op_command;
extern const struct weir_operator weir_op_file_sensor;

#endif
