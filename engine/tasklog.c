/*
 * tasklog.c: the task log: timestamped, masked, whole lines (tasklog.h).
 */
#include "engine/tasklog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/time.h"
#include "common/xalloc.h"
#include "engine/spec.h"
#include "common/banned.h"

/* Queued bytes that trigger a write (one write per batch of lines). */
#define FLUSH_AT (64 * 1024)

int weir_tasklog_open(struct weir_tasklog *log, const char *path, struct weir_buf *err)
{
	const char *slash = strrchr(path, '/');
	int rc;

	if (slash && slash != path) {
		char *dir = weir_xstrndup(path, (size_t)(slash - path));
		rc = weir_spec_mkdirs(dir, err);
		free(dir);
		if (rc < 0)
			return rc;
	}
	log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (log->fd < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not open log \"%s\": %s", path, strerror(errno));
		return rc;
	}
	return 0;
}

static int cmp_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

void weir_tasklog_set_secrets(struct weir_tasklog *log, json_t *secrets)
{
	size_t i, n = json_array_size(secrets);
	json_t *v;

	log->secrets = weir_xcalloc(n + 1, sizeof(char *));
	log->secret_len = weir_xcalloc(n + 1, sizeof(size_t));
	json_array_foreach(secrets, i, v) {
		size_t len = json_string_length(v);
		if (!json_is_string(v) || len == 0)
			continue;
		if (len > WEIR_TASKLOG_SECRET_MAX)
			len = WEIR_TASKLOG_SECRET_MAX;
		log->secrets[log->nsecrets++] = weir_xstrndup(json_string_value(v), len);
	}
	/* Longest first, so a secret that contains another is masked whole. */
	qsort(log->secrets, log->nsecrets, sizeof(char *), cmp_len_desc);
	for (i = 0; i < log->nsecrets; i++) {
		log->secret_len[i] = strlen(log->secrets[i]);
		if (log->secret_len[i] > log->max_secret)
			log->max_secret = log->secret_len[i];
	}
}

void weir_tasklog_close(struct weir_tasklog *log)
{
	weir_tasklog_flush(log);
	if (log->fd >= 0)
		close(log->fd);
	for (size_t i = 0; i < log->nsecrets; i++)
		free(log->secrets[i]);
	free(log->secrets);
	free(log->secret_len);
	weir_buf_release(&log->out);
	*log = (struct weir_tasklog)WEIR_TASKLOG_INIT;
}

void weir_tasklog_mask(const struct weir_tasklog *log, const char *text, size_t len,
		       struct weir_buf *out)
{
	size_t i = 0, start = 0;

	if (log->nsecrets == 0) {
		weir_buf_add(out, text, len);
		return;
	}
	while (i < len) {
		size_t k, hit = 0;
		for (k = 0; k < log->nsecrets && !hit; k++) {
			size_t sl = log->secret_len[k];
			if (text[i] == log->secrets[k][0] && sl <= len - i &&
			    !memcmp(text + i, log->secrets[k], sl))
				hit = sl;
		}
		if (!hit) {
			i++;
			continue;
		}
		weir_buf_add(out, text + start, i - start);
		weir_buf_add(out, "***", 3);
		i += hit;
		start = i;
	}
	weir_buf_add(out, text + start, len - start);
}

size_t weir_tasklog_holdback(const struct weir_tasklog *log, const char *text, size_t len)
{
	size_t best = 0;

	for (size_t k = 0; k < log->nsecrets; k++) {
		const char *s = log->secrets[k];
		size_t sl = log->secret_len[k];
		size_t max = sl - 1 < len ? sl - 1 : len;
		/* The longest proper prefix of s that ends text. */
		for (size_t m = max; m > best; m--) {
			if (text[len - m] == s[0] && !memcmp(text + len - m, s, m)) {
				best = m;
				break;
			}
		}
	}
	return best;
}

static void add_line(struct weir_tasklog *log, const char *stream, const char *text, size_t len)
{
	struct timespec ts;
	struct weir_civil c;
	char head[64];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	weir_civil_from_us((int64_t)ts.tv_sec * WEIR_US_PER_SEC + ts.tv_nsec / 1000, &c);
	n = snprintf(head, sizeof(head), "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ %s ",
		     (long long)c.year, c.month, c.day, c.hour, c.min, c.sec, c.usec, stream);
	weir_buf_add(&log->out, head, (size_t)n);
	weir_tasklog_mask(log, text, len, &log->out);
	weir_buf_addch(&log->out, '\n');
}

void weir_tasklog_line(struct weir_tasklog *log, const char *stream, const char *text, size_t len)
{
	while (len > WEIR_TASKLOG_LINE_MAX) {
		size_t cut = WEIR_TASKLOG_LINE_MAX;
		cut -= weir_tasklog_holdback(log, text, cut);
		add_line(log, stream, text, cut);
		text += cut;
		len -= cut;
	}
	add_line(log, stream, text, len);
	if (log->out.len >= FLUSH_AT)
		weir_tasklog_flush(log);
}

void weir_tasklog_flush(struct weir_tasklog *log)
{
	size_t off = 0;

	while (log->fd >= 0 && off < log->out.len) {
		ssize_t w = write(log->fd, log->out.buf + off, log->out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* Disk full or similar: drop the lines, keep running the
			 * task (the result still says how it ended). */
			if (!log->write_errno)
				log->write_errno = errno;
			break;
		}
		off += (size_t)w;
	}
	weir_buf_reset(&log->out);
}

/* ------------------------------------------------------------------ */
/* line splitting                                                       */
/* ------------------------------------------------------------------ */

static void deliver(struct weir_linebuf *lb, const char *line, size_t len, bool split,
		    weir_line_fn *fn, void *arg)
{
	int flags = (split ? WEIR_LINE_SPLIT : 0) | (lb->cont ? WEIR_LINE_CONT : 0);
	fn(arg, line, len, flags);
	lb->cont = split;
}

void weir_linebuf_feed(struct weir_linebuf *lb, const char *data, size_t n,
		       const struct weir_tasklog *log, weir_line_fn *fn, void *arg)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		/* A whole line with nothing buffered: deliver in place. */
		if (nl && lb->len == 0 && take <= WEIR_TASKLOG_LINE_MAX) {
			deliver(lb, data, take, false, fn, arg);
			data += take + 1;
			n -= take + 1;
			continue;
		}
		if (!lb->buf)
			lb->buf = weir_xmalloc(WEIR_TASKLOG_LINE_MAX);
		size_t room = WEIR_TASKLOG_LINE_MAX - lb->len;
		size_t copy = take < room ? take : room;
		memcpy(lb->buf + lb->len, data, copy);
		lb->len += copy;
		data += copy;
		n -= copy;
		if (copy == take && nl) {
			deliver(lb, lb->buf, lb->len, false, fn, arg);
			lb->len = 0;
			data++;
			n--;
		} else if (lb->len == WEIR_TASKLOG_LINE_MAX) {
			/* Full without a newline: emit a part, but never cut
			 * through something that may turn out to be a secret. */
			size_t keep = log ? weir_tasklog_holdback(log, lb->buf, lb->len) : 0;
			deliver(lb, lb->buf, lb->len - keep, true, fn, arg);
			memmove(lb->buf, lb->buf + lb->len - keep, keep);
			lb->len = keep;
		}
	}
}

void weir_linebuf_finish(struct weir_linebuf *lb, weir_line_fn *fn, void *arg)
{
	if (lb->len > 0)
		deliver(lb, lb->buf, lb->len, false, fn, arg);
	lb->len = 0;
	lb->cont = false;
}

void weir_linebuf_release(struct weir_linebuf *lb)
{
	free(lb->buf);
	*lb = (struct weir_linebuf)WEIR_LINEBUF_INIT;
}
