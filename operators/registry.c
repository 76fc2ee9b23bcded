/* registry.c: registers every operator shipped in operators/. */
#include "engine/operator.h"
#include "operators/operators.h"

void weir_operators_register_all(void)
{
	weir_operators_register_light();
	weir_operator_register(&weir_op_http);
	weir_operator_register(&weir_op_http_sensor);
	weir_operator_register(&weir_op_sql);
	weir_operator_register(&weir_op_sql_sensor);
	weir_operator_register(&weir_op_run_sensor);
	weir_operator_register(&weir_op_trigger_dag);
	weir_operator_register(&weir_op_notify);
}
