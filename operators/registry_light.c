/* registry_light.c: the operators the lean runner `weir-task` carries. */
#include "engine/operator.h"
#include "operators/operators.h"

void weir_operators_register_light(void)
{
	weir_operator_register(&weir_op_command);
	weir_operator_register(&weir_op_file_sensor);
	weir_operator_register(&weir_op_python);
	weir_operator_register(&weir_op_node);
}
