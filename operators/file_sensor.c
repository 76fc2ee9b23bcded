/*
 * file_sensor.c: wait until files matching a glob exist.
 *
 *   path: "/data/in/NAME-*.csv"   a glob (templated)
 *   min_size: 1K             every match must be at least this big
 *   stable_for: 10s          ... and unchanged in size for this long
 *
 * A sensor: poke_interval, timeout and mode (poke | reschedule) apply.
 *
 * A poke globs path and looks at the regular files that match: ready
 * when there is at least one, each at least min_size bytes, and no
 * file's size (nor the set of files) has changed for stable_for.
 * Stability is measured between pokes of the same try; in reschedule
 * mode a poke that finds the files big enough but not yet known stable
 * waits stable_for within the try and pokes again (bounded by the
 * deadlines), since nothing carries over to the next try.
 *
 *   poke mode:        poke, sleep poke_interval, ... until ready or the
 *                     sensor deadline: FAILED "sensor timed out after 1h"
 *   reschedule mode:  one poke; not ready: RESCHEDULE with next_poke_us =
 *                     now + poke_interval (clamped to the deadline), or
 *                     FAILED once the deadline has passed
 * On success, XCom "files" is the sorted list of matched paths.
 */
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/time.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/duration.h"
#include "engine/operator.h"
#include "operators/operators.h"
#include "operators/ops_int.h"
#include "common/banned.h"

static const char *const keys[] = {"path", "min_size", "stable_for", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *p = weir_op_want_string(task, "path", true, d);
	const struct weir_node *m = weir_node_get(task, "min_size");
	const struct weir_node *s = weir_node_get(task, "stable_for");

	if (p && p->len == 0)
		weir_diag_at(d, p, "\"path\" is empty");
	if (m && (m->kind != WEIR_NODE_SCALAR || weir_node_is_null(m)))
		weir_diag_at(d, m, "\"min_size\" must be a size like 1024 or 10M");
	if (s && (s->kind != WEIR_NODE_SCALAR || weir_node_is_null(s)))
		weir_diag_at(d, s, "\"stable_for\" must be a duration like \"10s\"");
}

/*
 * Parses a size: a whole number of bytes, optionally followed by K, M, G
 * or T (powers of 1024; "KB", "KiB" too, any case).  0 or WEIR_EINVALID.
 */
static int parse_size(json_t *v, int64_t *out)
{
	const char *s, *p;
	uint64_t n = 0;
	int shift = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return WEIR_EINVALID;
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return WEIR_EINVALID;
	s = json_string_value(v);
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > (UINT64_C(1) << 50))
			return WEIR_EINVALID;
	}
	if (p == s)
		return WEIR_EINVALID;
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	default: break;
	}
	if (shift && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p || (n << shift) >> shift != n || (n << shift) > INT64_MAX)
		return WEIR_EINVALID;
	*out = (int64_t)(n << shift);
	return 0;
}

/* stable_for: a duration ("10s") or a number of seconds. */
static int parse_stable(json_t *v, int64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < INT64_MAX / WEIR_US_PER_SEC) {
		*out = json_integer_value(v) * WEIR_US_PER_SEC;
		return 0;
	}
	if (json_is_string(v))
		return weir_duration_parse(json_string_value(v), out, NULL, NULL);
	return WEIR_EINVALID;
}

struct seen {
	char *path;
	int64_t size;
	int64_t since; /* wall clock us: first poke that saw this size */
};

struct sensor {
	const char *pattern;
	int64_t min_size;
	int64_t stable_us;
	WEIR_VEC(struct seen) seen; /* matches of the last poke */
};

static void seen_release(struct sensor *s)
{
	for (size_t i = 0; i < s->seen.n; i++)
		free(s->seen.v[i].path);
	weir_vec_release(&s->seen);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * One poke.  Returns 1 when ready, 0 when not (with why in reason), and
 * sets *stable_at to when the matches will have been stable long enough
 * if nothing changes (0 when they are too few or small).
 */
static int poke(struct sensor *s, struct weir_buf *reason, int64_t *stable_at)
{
	glob_t g;
	int64_t now = weir_now_us(), latest = 0;
	size_t nfiles = 0;
	bool small = false, changed;
	int grc;
	WEIR_VEC(struct seen) cur = WEIR_VEC_INIT;

	*stable_at = 0;
	weir_buf_reset(reason);
	memset(&g, 0, sizeof(g));
	grc = glob(s->pattern, GLOB_NOSORT, NULL, &g);
	if (grc != 0 && grc != GLOB_NOMATCH) {
		weir_buf_addf(reason, "could not read the folders of \"%s\"", s->pattern);
		globfree(&g);
		return 0;
	}
	if (grc == 0)
		qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
	for (size_t i = 0; grc == 0 && i < g.gl_pathc; i++) {
		struct stat st;
		struct seen e;
		if (stat(g.gl_pathv[i], &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		nfiles++;
		e.path = weir_xstrdup(g.gl_pathv[i]);
		e.size = (int64_t)st.st_size;
		e.since = now;
		/* Unchanged since the last poke: keep when that size was first seen. */
		for (size_t k = 0; k < s->seen.n; k++)
			if (!strcmp(s->seen.v[k].path, e.path) && s->seen.v[k].size == e.size)
				e.since = s->seen.v[k].since;
		if (e.size < s->min_size && !small) {
			small = true;
			weir_buf_setf(reason, "\"%s\" has %lld bytes, less than min_size (%lld)", e.path,
				      (long long)e.size, (long long)s->min_size);
		}
		if (e.since > latest)
			latest = e.since;
		weir_vec_push(&cur, e);
	}
	globfree(&g);
	/* A file that vanished also counts as a change. */
	changed = cur.n < s->seen.n;
	seen_release(s);
	s->seen.v = cur.v;
	s->seen.n = cur.n;
	s->seen.alloc = cur.alloc;
	if (changed)
		for (size_t k = 0; k < s->seen.n; k++)
			s->seen.v[k].since = latest = now;
	if (nfiles == 0) {
		weir_buf_setf(reason, "no file matches \"%s\"", s->pattern);
		return 0;
	}
	if (small)
		return 0;
	*stable_at = latest + s->stable_us;
	if (s->stable_us > 0 && now < *stable_at) {
		char d[WEIR_DURATION_BUFSZ];
		weir_buf_setf(reason, "%zu file%s found, waiting until %s unchanged for %s", nfiles,
			      nfiles == 1 ? "" : "s", nfiles == 1 ? "it is" : "they are",
			      weir_duration_format(s->stable_us, d));
		return 0;
	}
	return 1;
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	json_t *path = json_object_get(ctx->config, "path");
	json_t *v;
	struct sensor s = {0};
	struct weir_buf reason = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf last = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int64_t last_logged = 0, started = weir_now_us();
	struct weir__sensor so;
	enum weir_op_result res = WEIR_OP_FAILED;
	bool waited_stable = false;
	char d[WEIR_DURATION_BUFSZ];

	if (!json_is_string(path) || !json_string_length(path)) {
		weir_buf_setf(&ctx->message, "\"path\" must be a non-empty string");
		return WEIR_OP_FAILED;
	}
	s.pattern = json_string_value(path);
	v = json_object_get(ctx->config, "min_size");
	if (v && parse_size(v, &s.min_size) < 0) {
		char *t = json_dumps(v, JSON_ENCODE_ANY);
		weir_buf_setf(&ctx->message, "invalid min_size %s: use a size like 1024, 1K or 10M", t ? t : "?");
		free(t);
		return WEIR_OP_FAILED;
	}
	v = json_object_get(ctx->config, "stable_for");
	if (v && parse_stable(v, &s.stable_us) < 0) {
		char *t = json_dumps(v, JSON_ENCODE_ANY);
		weir_buf_setf(&ctx->message, "invalid stable_for %s: use a duration like \"10s\"", t ? t : "?");
		free(t);
		return WEIR_OP_FAILED;
	}
	weir__op_sensor_settings(ctx, started, &so);
	weir_task_log(ctx, "waiting for files matching \"%s\" (%s mode, poke every %s)", s.pattern,
		      so.reschedule ? "reschedule" : "poke", weir_duration_format(so.interval, d));
	for (;;) {
		int64_t stable_at, now, next;
		int ready = poke(&s, &reason, &stable_at);

		now = weir_now_us();
		if (ready) {
			json_t *files = json_array();
			for (size_t i = 0; i < s.seen.n; i++)
				json_array_append_new(files, json_string(s.seen.v[i].path));
			weir_task_log(ctx, "found %zu file%s", s.seen.n, s.seen.n == 1 ? "" : "s");
			if (weir_task_xcom(ctx, "files", files) == 0)
				res = WEIR_OP_SUCCESS;
			break;
		}
		weir__op_sensor_not_yet(ctx, &reason, &last, &last_logged, now);
		if (so.deadline != WEIR_TIME_NONE && now >= so.deadline) {
			weir_buf_setf(&ctx->message, "sensor timed out after %s (%s)",
				      weir_duration_format(so.timeout, d), reason.buf);
			break;
		}
		/* Reschedule mode waits for stability once per try: a file
		 * that keeps growing must not hold a slot until the deadline. */
		if (so.reschedule && (!stable_at || waited_stable)) {
			next = now + so.interval;
			if (so.deadline != WEIR_TIME_NONE && next > so.deadline)
				next = so.deadline;
			ctx->next_poke_us = next;
			res = WEIR_OP_RESCHEDULE;
			break;
		}
		/* Poke mode: the next poke; both modes: the moment the files
		 * become stable if that comes first. */
		next = so.reschedule ? stable_at : now + so.interval;
		waited_stable = so.reschedule;
		if (stable_at && stable_at < next)
			next = stable_at;
		if (so.deadline != WEIR_TIME_NONE && next > so.deadline)
			next = so.deadline;
		if (weir_task_sleep(ctx, next) < 0)
			break; /* deadline or stop: the runner says which */
	}
	seen_release(&s);
	weir_buf_release(&reason);
	weir_buf_release(&last);
	return res;
}

const struct weir_operator weir_op_file_sensor = {
	.name = "file_sensor",
	.keys = keys,
	.is_sensor = true,
	.validate = validate,
	.run = run,
};
