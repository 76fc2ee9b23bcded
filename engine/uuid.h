/*
 * uuid.h: UUIDs for attempt ids, order ids and event ids (libuuid).
 *
 * New ids are version 7 (RFC 9562): 48 bits of Unix milliseconds, then
 * random bits from libuuid.  Time order keeps B-tree inserts at the right
 * edge of the index (state_events grows by one row per transition).
 */
#ifndef WEIR_UUID_H
#define WEIR_UUID_H

#include <stdbool.h>
#include <stdint.h>

struct weir_uuid {
	uint8_t b[16];
};

#define WEIR_UUID_STRLEN 37 /* 36 characters and the NUL */

void weir_uuid_v7(struct weir_uuid *u);
bool weir_uuid_is_nil(const struct weir_uuid *u);
bool weir_uuid_eq(const struct weir_uuid *a, const struct weir_uuid *b);
/* Lower-case 8-4-4-4-12 form; returns buf. */
char *weir_uuid_format(const struct weir_uuid *u, char buf[WEIR_UUID_STRLEN]);
/* 0, or WEIR_EINVALID. */
int weir_uuid_parse(const char *s, struct weir_uuid *u);

#endif
