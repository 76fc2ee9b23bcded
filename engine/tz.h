/*
 * tz.h: IANA time zones from the system's TZif files, without TZ/tzset.
 *
 * weir never touches the process time zone: libc's localtime/mktime keep
 * one global zone, so they are neither thread-safe across zones nor cheap
 * to switch.  This module reads TZif files (RFC 8536, versions 1-4) from
 * $TZDIR or /usr/share/zoneinfo, uses the 64-bit transition table, and the
 * POSIX TZ footer rule for instants after the last transition.
 *
 * Zones are loaded once and cached for the life of the process; the cache
 * is protected by a mutex, and a loaded zone is immutable, so the returned
 * pointers may be used from any thread without locking.
 *
 * Times here are in whole seconds: "utc" is seconds since the epoch, "local"
 * is the same count for the zone's wall clock (utc + offset).
 */
#ifndef WEIR_TZ_H
#define WEIR_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

struct weir_tz;

/*
 * Finds or loads the zone called name ("UTC", "Europe/Berlin", ...).
 * Returns 0 and sets *out (borrowed, valid for the process lifetime), or
 * WEIR_EINVALID with a message appended to err when the name is malformed
 * ("..", a leading '/', an empty component, characters outside
 * [A-Za-z0-9/_+-], more than 128 bytes) or no valid zone file exists
 * (`unknown time zone "Europe/Berln"`).  "UTC", "Etc/UTC" and "Z" are
 * built in (the same zone as weir_tz_utc(), named "UTC") and need no files.
 * Thread-safe.  $TZDIR is read when a zone is first loaded.
 */
int weir_tz_get(const char *name, const struct weir_tz **out, struct weir_buf *err);
/* The UTC zone (never fails). */
const struct weir_tz *weir_tz_utc(void);
const char *weir_tz_name(const struct weir_tz *tz);

/*
 * Offset east of UTC in seconds at the instant utc; *is_dst may be NULL.
 * Instants beyond +-2^55 s (about a billion years) are clamped.
 */
int weir_tz_offset(const struct weir_tz *tz, int64_t utc, bool *is_dst);

/*
 * Maps a wall-clock time to instants.  Returns how many instants have that
 * wall time, with out[] ascending:
 *   1  the usual case;
 *   2  the time repeats (clocks went back): out[0] the first occurrence;
 *   0  the time does not exist (clocks went forward over it): out[0] is
 *      the instant of the jump, i.e. the first instant after the gap.
 * E.g. New York 2024-03-10T02:30 -> 0, out[0] = 07:00Z (03:00 EDT);
 * 2024-11-03T01:30 -> 2, out = {05:30Z (EDT), 06:30Z (EST)}.
 */
int weir_tz_resolve(const struct weir_tz *tz, int64_t local, int64_t out[2]);

#endif
