/* registry.c: registers every operator shipped in operators/. */
#include "engine/operator.h"
#include "operators/operators.h"

void weir_operators_register_all(void)
{
	weir_operators_register_light();
}
