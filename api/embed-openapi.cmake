# Writes OUT: the OpenAPI document IN (docs/openapi.json) as a C array, so
# an installed weir serves /api/v1/openapi.json without a source tree.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
# Break the line every 16 bytes to keep compilers and editors happy.
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
file(WRITE ${OUT}.tmp "/* Generated from docs/openapi.json by api/embed-openapi.cmake. */\n#include <stddef.h>\n\nextern const char weir_api_openapi_json[];\nextern const size_t weir_api_openapi_json_len;\n\nconst char weir_api_openapi_json[] = {\n${body}0x00};\nconst size_t weir_api_openapi_json_len = ${len};\n")
file(RENAME ${OUT}.tmp ${OUT})
