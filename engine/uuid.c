/* uuid.c: version-7 UUIDs on top of libuuid's randomness and formatting. */
#include "engine/uuid.h"

#include <string.h>
#include <uuid/uuid.h>

#include "common/error.h"
#include "common/time.h"

void weir_uuid_v7(struct weir_uuid *u)
{
	uint64_t ms = (uint64_t)(weir_now_us() / 1000);

	uuid_generate_random(u->b);
	u->b[0] = (uint8_t)(ms >> 40);
	u->b[1] = (uint8_t)(ms >> 32);
	u->b[2] = (uint8_t)(ms >> 24);
	u->b[3] = (uint8_t)(ms >> 16);
	u->b[4] = (uint8_t)(ms >> 8);
	u->b[5] = (uint8_t)ms;
	u->b[6] = (uint8_t)(0x70 | (u->b[6] & 0x0f)); /* version 7 */
	u->b[8] = (uint8_t)(0x80 | (u->b[8] & 0x3f)); /* RFC variant */
}

bool weir_uuid_is_nil(const struct weir_uuid *u)
{
	return uuid_is_null(u->b);
}

bool weir_uuid_eq(const struct weir_uuid *a, const struct weir_uuid *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

char *weir_uuid_format(const struct weir_uuid *u, char buf[WEIR_UUID_STRLEN])
{
	uuid_unparse_lower(u->b, buf);
	return buf;
}

int weir_uuid_parse(const char *s, struct weir_uuid *u)
{
	return uuid_parse(s, u->b) == 0 ? 0 : WEIR_EINVALID;
}
