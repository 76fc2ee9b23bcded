/*
 * test_operators.c: the operators of operators/ against real
 * counterparts, and connections.
 *
 * Counterparts are started by the tests themselves: an HTTP server and
 * an SMTP sink as threads of the test process (below), `openssl
 * s_server` for TLS, python3 and node as installed, the suite's
 * PostgreSQL (check_pg.h), and real schedulers (check_weir.h) for the
 * operators that act on other runs and for "reschedule frees the slot".
 *
 * Most tests build a spec by hand (spec_new) and run weir_taskrun() in
 * this process, as `weir tasks test` does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/connections.h"
#include "engine/dag.h"
#include "engine/operator.h"
#include "engine/spec.h"
#include "engine/store.h"
#include "engine/taskrun.h"
#include "operators/operators.h"
#include "tests/check.h"
#include "tests/check_pg.h"
#include "tests/check_spec.h"
#include "tests/check_weir.h"

/* ------------------------------------------------------------------ */
/* specs and results                                                    */
/* ------------------------------------------------------------------ */

/* A spec for task "t" of DAG "d", run "r", try 1; config is stolen. */
static json_t *spec_new(const char *op, json_t *config)
{
	const char *tmp = check_tmpdir();
	json_t *ctx = json_object(), *spec;
	char *run_dir = weir_xasprintf("%s/run", tmp), *log_dir = weir_xasprintf("%s/logs/t", tmp);

	json_object_set_new(ctx, "ds", json_string("2026-11-23"));
	json_object_set_new(ctx, "run_id", json_string("r"));
	json_object_set_new(ctx, "dag", json_pack("{s:s}", "id", "d"));
	json_object_set_new(ctx, "task", json_pack("{s:s}", "id", "t"));
	json_object_set_new(ctx, "logical_date", json_string("2026-11-23T00:00:00+00:00"));
	json_object_set_new(ctx, "params", json_pack("{s:s, s:i}", "region", "alps", "n", 41));
	json_object_set_new(ctx, "conf", json_pack("{s:b}", "fast", 1));
	json_object_set_new(ctx, "xcom", json_pack("{s:{s:s}}", "up", "url", "/p/1"));
	spec = check_spec_new(op, config, ctx, "01900000-0000-7000-8000-000000000001", run_dir, log_dir);
	json_object_set_new(spec, "connections", json_object());
	free(run_dir);
	free(log_dir);
	return spec;
}

/* Parses JSON text for a config (fails the test on bad JSON). */
static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	if (!v)
		check__fail(__FILE__, __LINE__, "bad JSON in test: %s: %s", text, e.text);
	return v;
}

static json_t *specf(const char *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *specf(const char *op, const char *fmt, ...)
{
	va_list ap;
	char *text;
	json_t *spec;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	spec = spec_new(op, J(text));
	free(text);
	return spec;
}

static void add_conn(json_t *spec, const char *name, json_t *conn)
{
	json_object_set_new(json_object_get(spec, "connections"), name, conn);
}

static void set_deadline(json_t *spec, int64_t ms_from_now)
{
	json_object_set_new(spec, "deadline_us", json_integer(weir_now_us() + ms_from_now * 1000));
}

static void set_sensor(json_t *spec, const char *mode, int poke_ms, int64_t timeout_ms)
{
	json_object_set_new(spec, "sensor",
			    json_pack("{s:s, s:I, s:I, s:I}", "mode", mode, "poke_interval_ms", (json_int_t)poke_ms,
				      "timeout_us", (json_int_t)(timeout_ms * 1000),
				      "deadline_us", (json_int_t)(weir_now_us() + timeout_ms * 1000)));
}

static const char *outcome(json_t *res)
{
	return json_string_value(json_object_get(res, "outcome"));
}

static const char *message(json_t *res)
{
	const char *m = json_string_value(json_object_get(res, "message"));
	return m ? m : "";
}

static json_t *xcom(json_t *res, const char *key)
{
	return json_object_get(json_object_get(res, "xcom"), key);
}

static char *read_log(json_t *spec)
{
	return check_read_file(json_string_value(json_object_get(spec, "log_path")));
}

/* Runs the spec in this process; fails the test with the log when the
 * outcome is not want. */
static json_t *run_expect(json_t *spec, const char *want)
{
	json_t *res = weir_taskrun(spec, -1);

	if (strcmp(outcome(res), want)) {
		char *log = read_log(spec);
		check__fail(__FILE__, __LINE__, "outcome %s, expected %s: %s\nlog:\n%s", outcome(res), want,
			    message(res), log);
	}
	return res;
}

/*
 * Runs spec, expects outcome "failed" with a message equal to want
 * (CHECK_FAILED) or containing it (CHECK_FAILED_WITH); frees spec.
 */
#define CHECK_FAILED_(spec, check_str, want)                     \
	do {                                                     \
		json_t *res_ = run_expect((spec), "failed");     \
		check_str(message(res_), (want));                \
		json_decref(res_);                               \
		json_decref(spec);                               \
	} while (0)
#define CHECK_FAILED(spec, want) CHECK_FAILED_(spec, CHECK_STR_EQ, want)
#define CHECK_FAILED_WITH(spec, want) CHECK_FAILED_(spec, CHECK_STR_CONTAINS, want)

static char *xcom_text(json_t *res, const char *key)
{
	json_t *v = xcom(res, key);
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : weir_xstrdup("(none)");
}

#define CHECK_XCOM(res, key, want)                        \
	do {                                              \
		char *x_ = xcom_text((res), (key));       \
		CHECK_STR_EQ(x_, (want));                 \
		free(x_);                                 \
	} while (0)

/* ------------------------------------------------------------------ */
/* a tiny HTTP server (a thread of the test process)                    */
/* ------------------------------------------------------------------ */

/*
 *   /json          {"a":1,"items":[1,2,3]}
 *   /text          hello world (text/plain)
 *   /big           a JSON array of ~100 KB
 *   /status/NNN    status NNN
 *   /echo          {"method","path","auth","ctype","trace","body"} of the request
 *   /state         {"status":"pending"} until the ready_after-th request, then "done"
 *   /slow          answers after 5 s
 * Every request is recorded (the last one: method, path, headers, body).
 */
struct http_srv {
	int fd, port;
	pthread_mutex_t mu;
	int requests, state_requests, ready_after;
	char method[16], path[256], headers[8192], body[65536];
};

static bool read_request(int c, char *buf, size_t cap, size_t *hlen, size_t *total)
{
	size_t len = 0, need = 0;

	*hlen = 0;
	while (len < cap - 1) {
		ssize_t n = recv(c, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (!*hlen) {
			char *e = strstr(buf, "\r\n\r\n");
			if (e) {
				char *cl = strcasestr(buf, "\r\nContent-Length:");
				*hlen = (size_t)(e - buf) + 4;
				need = cl && cl < e ? (size_t)atol(cl + 17) : 0;
			}
		}
		if (*hlen && len >= *hlen + need)
			break;
	}
	*total = len;
	return true;
}

static void header_value(const char *headers, const char *name, char *out, size_t n)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s:", name);
	out[0] = '\0';
	p = strcasestr(headers, key);
	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	snprintf(out, n, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
}

static void reply(int c, int status, const char *ctype, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, ctype, strlen(body));
	send(c, head, (size_t)n, MSG_NOSIGNAL);
	send(c, body, strlen(body), MSG_NOSIGNAL);
}

static void *http_main(void *arg)
{
	struct http_srv *s = arg;
	static char buf[1 << 20];

	for (;;) {
		size_t hlen, total;
		char line[512], auth[512], ctype[128], trace[128];
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (!read_request(c, buf, sizeof(buf), &hlen, &total)) {
			close(c);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		s->requests++;
		sscanf(buf, "%15s %255s", s->method, s->path);
		snprintf(s->headers, sizeof(s->headers), "%.*s", (int)hlen, buf);
		snprintf(s->body, sizeof(s->body), "%.*s", (int)(total - hlen), buf + hlen);
		snprintf(line, sizeof(line), "%s", s->path);
		pthread_mutex_unlock(&s->mu);
		header_value(s->headers, "Authorization", auth, sizeof(auth));
		header_value(s->headers, "Content-Type", ctype, sizeof(ctype));
		header_value(s->headers, "X-Trace", trace, sizeof(trace));
		if (!strcmp(line, "/json")) {
			reply(c, 200, "application/json", "{\"a\": 1, \"items\": [1, 2, 3]}");
		} else if (!strcmp(line, "/text")) {
			reply(c, 200, "text/plain", "hello world");
		} else if (!strcmp(line, "/big")) {
			struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			weir_buf_addch(&b, '[');
			for (int i = 0; i < 20000; i++)
				weir_buf_addf(&b, "%s%d", i ? "," : "", 10000 + i);
			weir_buf_addch(&b, ']');
			reply(c, 200, "application/json", b.buf);
			weir_buf_release(&b);
		} else if (!strncmp(line, "/status/", 8)) {
			char body[64];
			snprintf(body, sizeof(body), "status %.3s", line + 8);
			reply(c, atoi(line + 8), "text/plain", body);
		} else if (!strcmp(line, "/echo") || !strncmp(line, "/api/", 5)) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "method", s->method, "path", line,
					      "auth", auth, "ctype", ctype, "trace", trace, "body", s->body);
			char *t = json_dumps(o, JSON_COMPACT);
			reply(c, 200, "application/json", t);
			free(t);
			json_decref(o);
		} else if (!strcmp(line, "/state")) {
			int n;
			pthread_mutex_lock(&s->mu);
			n = ++s->state_requests;
			pthread_mutex_unlock(&s->mu);
			reply(c, 200, "application/json",
			      n >= s->ready_after ? "{\"status\": \"done\", \"n\": 3}" : "{\"status\": \"pending\"}");
		} else if (!strcmp(line, "/hook")) {
			reply(c, 200, "text/plain", "ok");
		} else if (!strcmp(line, "/slow")) {
			sleep(5);
			reply(c, 200, "text/plain", "late");
		} else {
			reply(c, 404, "text/plain", "no such page");
		}
		close(c);
	}
	return NULL;
}

static int listen_any(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	CHECK(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(fd, 16) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct http_srv *http_start(void)
{
	struct http_srv *s = calloc(1, sizeof(*s));
	pthread_t th;

	pthread_mutex_init(&s->mu, NULL);
	s->fd = listen_any(&s->port);
	s->ready_after = 3;
	CHECK(pthread_create(&th, NULL, http_main, s) == 0);
	pthread_detach(th);
	return s;
}

static char *url(struct http_srv *s, const char *path)
{
	return weir_xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

/* A port nothing listens on. */
static int dead_port(void)
{
	int port, fd = listen_any(&port);
	close(fd);
	return port;
}

/* ------------------------------------------------------------------ */
/* a tiny SMTP sink (a thread of the test process)                      */
/* ------------------------------------------------------------------ */

struct smtp_sink {
	int fd, port;
	pthread_mutex_t mu;
	int messages;
	char from[256], rcpt[1024], auth[512], data[65536];
};

static int b64val(int c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(t, c) : NULL;
	return p ? (int)(p - t) : -1;
}

/* Decodes base64 into out, NULs shown as '|'. */
static void b64dec(const char *in, char *out, size_t n)
{
	unsigned v = 0;
	int bits = 0;
	size_t k = 0;

	for (; *in && *in != '=' && k + 1 < n; in++) {
		int x = b64val(*in);
		if (x < 0)
			continue;
		v = v << 6 | (unsigned)x;
		bits += 6;
		if (bits >= 8) {
			char ch = (char)(v >> (bits - 8) & 0xFF);
			bits -= 8;
			out[k++] = ch ? ch : '|';
		}
	}
	out[k] = '\0';
}

static bool smtp_line(int c, char *buf, size_t n)
{
	size_t k = 0;
	char ch;

	while (k + 1 < n) {
		if (recv(c, &ch, 1, 0) != 1)
			return false;
		if (ch == '\n')
			break;
		if (ch != '\r')
			buf[k++] = ch;
	}
	buf[k] = '\0';
	return true;
}

static void say(int c, const char *s)
{
	send(c, s, strlen(s), MSG_NOSIGNAL);
}

static void *smtp_main(void *arg)
{
	struct smtp_sink *s = arg;
	char line[4096];

	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		say(c, "220 sink ESMTP\r\n");
		while (smtp_line(c, line, sizeof(line))) {
			pthread_mutex_lock(&s->mu);
			if (!strncasecmp(line, "EHLO", 4)) {
				say(c, "250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
			} else if (!strncasecmp(line, "HELO", 4)) {
				say(c, "250 sink\r\n");
			} else if (!strncasecmp(line, "AUTH PLAIN", 10)) {
				if (line[10] == ' ') {
					b64dec(line + 11, s->auth, sizeof(s->auth));
				} else {
					say(c, "334 \r\n");
					if (smtp_line(c, line, sizeof(line)))
						b64dec(line, s->auth, sizeof(s->auth));
				}
				say(c, "235 ok\r\n");
			} else if (!strncasecmp(line, "AUTH LOGIN", 10)) {
				char u[200] = "", p[200] = "";
				say(c, "334 VXNlcm5hbWU6\r\n");
				if (smtp_line(c, line, sizeof(line)))
					b64dec(line, u, sizeof(u));
				say(c, "334 UGFzc3dvcmQ6\r\n");
				if (smtp_line(c, line, sizeof(line)))
					b64dec(line, p, sizeof(p));
				snprintf(s->auth, sizeof(s->auth), "|%s|%s", u, p);
				say(c, "235 ok\r\n");
			} else if (!strncasecmp(line, "MAIL FROM:", 10)) {
				snprintf(s->from, sizeof(s->from), "%.200s", line + 10);
				s->rcpt[0] = '\0';
				say(c, "250 ok\r\n");
			} else if (!strncasecmp(line, "RCPT TO:", 8)) {
				size_t n = strlen(s->rcpt);
				snprintf(s->rcpt + n, sizeof(s->rcpt) - n, "%s%s", n ? "," : "", line + 8);
				say(c, "250 ok\r\n");
			} else if (!strncasecmp(line, "DATA", 4)) {
				size_t n = 0;
				say(c, "354 go on\r\n");
				pthread_mutex_unlock(&s->mu);
				while (smtp_line(c, line, sizeof(line)) && strcmp(line, ".")) {
					size_t k = strlen(line);
					if (n + k + 2 < sizeof(s->data)) {
						memcpy(s->data + n, line, k);
						s->data[n + k] = '\n';
						n += k + 1;
						s->data[n] = '\0';
					}
				}
				pthread_mutex_lock(&s->mu);
				s->messages++;
				say(c, "250 queued\r\n");
			} else if (!strncasecmp(line, "QUIT", 4)) {
				say(c, "221 bye\r\n");
				pthread_mutex_unlock(&s->mu);
				break;
			} else if (!strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4)) {
				say(c, "250 ok\r\n");
			} else {
				say(c, "502 not here\r\n");
			}
			pthread_mutex_unlock(&s->mu);
		}
		close(c);
	}
	return NULL;
}

static struct smtp_sink *smtp_start(void)
{
	struct smtp_sink *s = calloc(1, sizeof(*s));
	pthread_t th;

	pthread_mutex_init(&s->mu, NULL);
	s->fd = listen_any(&s->port);
	CHECK(pthread_create(&th, NULL, smtp_main, s) == 0);
	pthread_detach(th);
	return s;
}

/* ------------------------------------------------------------------ */
/* PostgreSQL                                                           */
/* ------------------------------------------------------------------ */

/* A postgres connection object for a conninfo of check_pg. */
static json_t *pg_conn_of(const char *conninfo, const char *password)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	json_t *c = json_pack("{s:s}", "type", "postgres");

	CHECK(opts != NULL);
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			json_object_set_new(c, "host", json_string(o->val));
		else if (!strcmp(o->keyword, "port"))
			json_object_set_new(c, "port", json_integer(atoi(o->val)));
		else if (!strcmp(o->keyword, "user"))
			json_object_set_new(c, "login", json_string(o->val));
		else if (!strcmp(o->keyword, "dbname"))
			json_object_set_new(c, "schema", json_string(o->val));
	}
	PQconninfoFree(opts);
	if (password)
		json_object_set_new(c, "password", json_string(password));
	return c;
}

static char *sql1(const char *conninfo, const char *sql)
{
	return check_pg_sql(conninfo, sql);
}

#define CHECK_SQL1(ci, want, sql)                                   \
	do {                                                        \
		char *got_ = sql1((ci), (sql));                     \
		CHECK_STR_EQ(got_ ? got_ : "(null)", (want));       \
		free(got_);                                         \
	} while (0)

/* ------------------------------------------------------------------ */
/* python and node                                                      */
/* ------------------------------------------------------------------ */

static void test_python__inline_code_reads_input_and_returns_json(void)
{
	json_t *spec = specf("python",
			     "{\"interpreter\": \"/usr/bin/python3\", \"code\":"
			     " \"import json, sys\\nd = json.load(sys.stdin)\\nprint('working on', d['params']['region'])\\n"
			     "print(json.dumps({'n': d['params']['n'] + 1, 'fast': d['conf']['fast'],"
			     " 'up': d['xcom']['up']['url'], 'ds': d['context']['ds'], 'argv': sys.argv[1:]}))\\n\","
			     " \"args\": [\"--x\", 7]}");
	json_t *res = run_expect(spec, "success");
	char *log = read_log(spec);

	CHECK_XCOM(res, "return_value", "{\"argv\":[\"--x\",\"7\"],\"ds\":\"2026-11-23\",\"fast\":true,\"n\":42,\"up\":\"/p/1\"}");
	CHECK_STR_CONTAINS(log, "OUT working on alps");
	CHECK_STR_CONTAINS(log, "python: inline code (4 lines) with /usr/bin/python3 --x 7");
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_python__script_file_beside_the_dag_with_xcom_lines(void)
{
	char *dir = weir_xasprintf("%s/dags/scripts", check_tmpdir());
	char *file = weir_xasprintf("%s/clean.py", dir);
	char *dag = weir_xasprintf("%s/dags/etl.yaml", check_tmpdir());
	json_t *spec, *res;

	CHECK_OK(weir_spec_mkdirs(dir, NULL));
	check_write_file(file, "import json, os, sys\n"
			       "sys.path.insert(0, os.path.dirname(__file__))\n"
			       "print('::xcom rows=12')\n"
			       "print(json.dumps({'cwd': os.path.basename(os.getcwd()), 'name': __name__}))\n"
			       "print()\n");
	spec = specf("python", "{\"script\": \"scripts/clean.py\"}");
	json_object_set_new(spec, "dag_file", json_string(dag));
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "rows", "12");
	/* The working directory is the run_dir; the script runs as __main__. */
	CHECK_XCOM(res, "return_value", "{\"cwd\":\"run\",\"name\":\"__main__\"}");
	json_decref(res);
	json_decref(spec);

	/* A last line that is not a JSON object: success, no return_value. */
	spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\", \"code\": \"print('{\\\"a\\\": 1}')\\nprint('done')\\n\"}");
	res = run_expect(spec, "success");
	CHECK(xcom(res, "return_value") == NULL);
	{
		char *log = read_log(spec);
		CHECK_STR_CONTAINS(log, "the last line of output is not a JSON object: no return_value");
		free(log);
	}
	json_decref(res);
	json_decref(spec);
	free(dir);
	free(file);
	free(dag);
}

static void test_python__failing_script_fails_with_the_exception_name(void)
{
	json_t *spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\","
				       " \"code\": \"def f():\\n    raise ValueError('bad row 7')\\nf()\\n\"}");
	json_t *res = run_expect(spec, "failed");
	char *log = read_log(spec);

	CHECK_STR_EQ(message(res), "python script exited with code 1 (ValueError; see the log)");
	CHECK_STR_CONTAINS(log, "ERR ValueError: bad row 7");
	/* The bootstrap's own frame is not shown. */
	CHECK(!strstr(log, "_weir_boot"));
	free(log);
	json_decref(res);
	json_decref(spec);

	/* sys.exit(3) with invalid_exit_code 3: INVALID. */
	spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\", \"code\": \"import sys\\nsys.exit(3)\\n\"}");
	json_object_set_new(spec, "invalid_exit_code", json_integer(3));
	res = run_expect(spec, "invalid");
	json_decref(res);
	json_decref(spec);

	/* A missing script file. */
	spec = specf("python", "{\"script\": \"/nonexistent/x.py\"}");
	CHECK_FAILED_WITH(spec, "could not open python script \"/nonexistent/x.py\": No such file or directory");
}

static void test_python__timeout_kills_the_script(void)
{
	json_t *spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\","
				       " \"code\": \"import time\\nprint('start')\\ntime.sleep(60)\\n\"}");
	int64_t t0 = weir_mono_us();

	set_deadline(spec, 1500);
	CHECK_FAILED_WITH(spec, "timed out after");
	CHECK_INT_OP(weir_mono_us() - t0, <, 10 * WEIR_US_PER_SEC);
}

static void test_python__memory_limit_kills_a_hog_with_a_clear_message(void)
{
	json_t *spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\","
				       " \"code\": \"x = bytearray(2 * 1024 * 1024 * 1024)\\nprint('{}')\\n\"}");
	json_t *res;

	json_object_set_new(spec, "limits", json_pack("{s:I}", "memory_bytes", (json_int_t)(300 << 20)));
	CHECK_FAILED(spec, "python script ran out of memory (MemoryError): limits.memory is 300 MiB");

	/* Within the limit the same script works. */
	spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\","
			       " \"code\": \"x = bytearray(50 * 1024 * 1024)\\nprint('{\\\"ok\\\": true}')\\n\"}");
	json_object_set_new(spec, "limits", json_pack("{s:I}", "memory_bytes", (json_int_t)(300 << 20)));
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value", "{\"ok\":true}");
	json_decref(res);
	json_decref(spec);
}

static void test_python__result_larger_than_xcom_max_fails(void)
{
	json_t *spec = specf("python", "{\"interpreter\": \"/usr/bin/python3\","
				       " \"code\": \"import json\\nprint(json.dumps({'x': 'y' * 5000}))\\n\"}");

	json_object_set_new(spec, "xcom_max_bytes", json_integer(1000));
	CHECK_FAILED_WITH(spec, "larger than xcom_max_bytes (1000)");
}

static void test_python__missing_interpreter_is_a_clear_error(void)
{
	json_t *spec = specf("python", "{\"interpreter\": \"python9.9\", \"code\": \"print(1)\"}");
	json_t *res = run_expect(spec, "failed");

	CHECK_STR_CONTAINS(message(res), "Python interpreter \"python9.9\" not found in PATH (");
	CHECK_STR_CONTAINS(message(res), "or set \"interpreter\" to its path");
	json_decref(res);
	json_decref(spec);
}

static void test_node__inline_and_file_scripts_return_json(void)
{
	char *file = weir_xasprintf("%s/m.mjs", check_tmpdir());
	json_t *spec, *res;

	CHECK(check_have_program("node"));
	spec = specf("node", "{\"code\": \"let s = '';\\nprocess.stdin.on('data', d => s += d);\\n"
			     "process.stdin.on('end', () => {\\n  const d = JSON.parse(s);\\n"
			     "  console.log('hello from node');\\n"
			     "  console.log(JSON.stringify({n: d.params.n + 1, up: d.xcom.up.url, argv: process.argv.slice(2)}));\\n});\\n\","
			     " \"args\": [\"-v\"]}");
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value", "{\"argv\":[\"-v\"],\"n\":42,\"up\":\"/p/1\"}");
	json_decref(res);
	json_decref(spec);

	/* An ES module file. */
	check_write_file(file, "import path from 'node:path';\nconsole.log(JSON.stringify({base: path.basename(process.argv[1])}));\n");
	spec = specf("node", "{\"script\": \"%s\"}", file);
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value", "{\"base\":\"m.mjs\"}");
	json_decref(res);
	json_decref(spec);

	/* A thrown error. */
	spec = specf("node", "{\"code\": \"throw new TypeError('nope')\"}");
	CHECK_FAILED(spec, "node script exited with code 1 (TypeError; see the log)");

	/* No node under that name: a clear message, not an exec error. */
	spec = specf("node", "{\"interpreter\": \"node-does-not-exist\", \"code\": \"1\"}");
	res = run_expect(spec, "failed");
	CHECK_STR_CONTAINS(message(res), "Node.js interpreter \"node-does-not-exist\" not found in PATH");
	CHECK_STR_CONTAINS(message(res), "Debian package nodejs");
	json_decref(res);
	json_decref(spec);
	free(file);
}

/* ------------------------------------------------------------------ */
/* http                                                                 */
/* ------------------------------------------------------------------ */

static void test_http__json_response_becomes_return_value(void)
{
	struct http_srv *s = http_start();
	char *u = url(s, "/json");
	json_t *spec = specf("http", "{\"url\": \"%s\"}", u);
	json_t *res = run_expect(spec, "success");

	CHECK_XCOM(res, "status_code", "200");
	CHECK_XCOM(res, "return_value", "{\"a\":1,\"items\":[1,2,3]}");
	CHECK_STR_EQ(s->method, "GET");
	json_decref(res);
	json_decref(spec);
	free(u);

	/* Text: XCom body.  Too large: not stored, still success. */
	u = url(s, "/text");
	spec = specf("http", "{\"url\": \"%s\"}", u);
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "body", "\"hello world\"");
	json_decref(res);
	json_decref(spec);
	free(u);
	u = url(s, "/big");
	spec = specf("http", "{\"url\": \"%s\"}", u);
	res = run_expect(spec, "success");
	CHECK(xcom(res, "return_value") == NULL);
	{
		char *log = read_log(spec);
		CHECK_STR_CONTAINS(log, "is larger than xcom_max_bytes (65536): not stored as XCom");
		free(log);
	}
	json_decref(res);
	json_decref(spec);
	free(u);
}

static void test_http__templated_json_body_headers_and_bearer_from_connection(void)
{
	struct http_srv *s = http_start();
	char *base = url(s, "");
	json_t *spec = specf("http",
			     "{\"connection\": \"api\", \"url\": \"/api/items\", \"method\": \"PUT\","
			     " \"headers\": {\"X-Trace\": \"{{ run_id }}\"},"
			     " \"json\": {\"region\": \"{{ params.region }}\", \"n\": 5}}");
	json_t *res, *echo;

	add_conn(spec, "api", json_pack("{s:s, s:s, s:s, s:{s:s}}", "type", "http", "host", base, "password",
					"tok-s3cret-123", "extra", "auth", "bearer"));
	json_array_append_new(json_object_get(spec, "secrets"), json_string("tok-s3cret-123"));
	res = run_expect(spec, "success");
	echo = xcom(res, "return_value");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "method")), "PUT");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "path")), "/api/items");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "auth")), "Bearer tok-s3cret-123");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "ctype")), "application/json");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "trace")), "r");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "body")), "{\"region\":\"alps\",\"n\":5}");
	{
		char *log = read_log(spec);
		CHECK(!strstr(log, "tok-s3cret-123"));
		free(log);
	}
	json_decref(res);
	json_decref(spec);

	/* Basic auth from login + password; a text body is POSTed. */
	spec = specf("http", "{\"connection\": \"api\", \"url\": \"echo\", \"body\": \"a=1\"}");
	add_conn(spec, "api", json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "http", "host", "127.0.0.1",
					"port", s->port, "schema", "http", "login", "etl", "password", "pw"));
	res = run_expect(spec, "success");
	echo = xcom(res, "return_value");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "method")), "POST");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "auth")), "Basic ZXRsOnB3");
	CHECK_STR_EQ(json_string_value(json_object_get(echo, "body")), "a=1");
	json_decref(res);
	json_decref(spec);
	free(base);
}

static void test_http__5xx_and_refused_connections_fail_and_expected_status_applies(void)
{
	struct http_srv *s = http_start();
	char *u = url(s, "/status/503"), *dead;
	json_t *spec = specf("http", "{\"url\": \"%s\"}", u);
	json_t *res = run_expect(spec, "failed");

	{
		char want[256];
		snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/status/503 returned 503 (expected 2xx): status 503",
			 s->port);
		CHECK_STR_EQ(message(res), want);
	}
	CHECK_XCOM(res, "status_code", "503");
	json_decref(res);
	json_decref(spec);
	free(u);

	/* A 404 can be expected. */
	u = url(s, "/status/404");
	spec = specf("http", "{\"url\": \"%s\", \"expected_status\": [200, \"4xx\"]}", u);
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "body", "\"status 404\"");
	json_decref(res);
	json_decref(spec);
	free(u);

	/* Nothing listens: a failure naming the reason. */
	dead = weir_xasprintf("http://127.0.0.1:%d/x", dead_port());
	spec = specf("http", "{\"url\": \"%s\"}", dead);
	res = run_expect(spec, "failed");
	CHECK_STR_CONTAINS(message(res), "GET ");
	CHECK_STR_CONTAINS(message(res), "failed: ");
	CHECK_STR_CONTAINS(message(res), "onnect");
	json_decref(res);
	json_decref(spec);
	free(dead);

	/* An undefined connection. */
	spec = specf("http", "{\"connection\": \"nope\", \"url\": \"/x\"}");
	CHECK_FAILED_WITH(spec, "connection \"nope\" is not defined");
}

static void test_http__the_deadline_bounds_a_slow_request(void)
{
	struct http_srv *s = http_start();
	char *u = url(s, "/slow");
	json_t *spec = specf("http", "{\"url\": \"%s\"}", u);
	int64_t t0 = weir_mono_us();

	set_deadline(spec, 1000);
	CHECK_FAILED_WITH(spec, "(execution_timeout)");
	CHECK_INT_OP(weir_mono_us() - t0, <, 4 * WEIR_US_PER_SEC);

	/* request_timeout alone. */
	spec = specf("http", "{\"url\": \"%s\", \"request_timeout\": \"1s\"}", u);
	CHECK_FAILED_WITH(spec, "imed out");
	free(u);
}

/* openssl s_server with a fresh self-signed certificate; returns its pid. */
static pid_t tls_server(int *port)
{
	const char *tmp = check_tmpdir();
	char cmd[2048];
	pid_t pid;

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout %s/k.pem -out %s/c.pem >/dev/null 2>&1",
		 tmp, tmp);
	CHECK_INT_EQ(system(cmd), 0);
	for (int attempt = 0; attempt < 10; attempt++) {
		char p[16], k[600], c[600];
		int fd;
		*port = dead_port();
		snprintf(p, sizeof(p), "%d", *port);
		snprintf(k, sizeof(k), "%s/k.pem", tmp);
		snprintf(c, sizeof(c), "%s/c.pem", tmp);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			execlp("openssl", "openssl", "s_server", "-accept", p, "-cert", c, "-key", k, "-www", "-quiet",
			       (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 100; i++) {
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port),
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
				close(fd);
				return pid;
			}
			close(fd);
			usleep(50000);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	check__fail(__FILE__, __LINE__, "openssl s_server did not start");
}

static void test_http__tls_is_verified_unless_turned_off(void)
{
	int port;
	pid_t srv = tls_server(&port);
	json_t *spec = specf("http", "{\"url\": \"https://127.0.0.1:%d/\"}", port);
	json_t *res = run_expect(spec, "failed");
	char *log;

	CHECK_STR_CONTAINS(message(res), "certificate");
	CHECK_STR_CONTAINS(message(res), "\"verify_tls: false\" turns it off");
	json_decref(res);
	json_decref(spec);

	spec = specf("http", "{\"url\": \"https://127.0.0.1:%d/\", \"verify_tls\": false}", port);
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "status_code", "200");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "WARNING: TLS certificate verification is off (verify_tls: false)");
	free(log);
	json_decref(res);
	json_decref(spec);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* sql                                                                  */
/* ------------------------------------------------------------------ */

static void test_sql__statements_share_one_transaction_and_bound_parameters(void)
{
	const char *db = check_pg_new_db(false);
	char *ci = weir_xstrdup(db);
	json_t *spec, *res;

	free(sql1(ci, "CREATE TABLE t (day date, name text, n int)"));
	spec = specf("sql", "{\"connection\": \"db\", \"sql\": ["
			    " \"DELETE FROM t WHERE day = $1\","
			    " \"INSERT INTO t VALUES ($1, $2, 1), ($1, $2 || '!', $3::int)\","
			    " \"UPDATE t SET n = n + 10 WHERE day = $1\"],"
			    " \"parameters\": [\"{{ ds }}\", \"x'); DROP TABLE t; --\", 2]}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "rowcount", "2");
	/* The parameter is data, never SQL. */
	CHECK_SQL1(ci, "2026-11-23|x'); DROP TABLE t; --|11,2026-11-23|x'); DROP TABLE t; --!|12",
		   "SELECT string_agg(day || '|' || name || '|' || n, ',' ORDER BY n) FROM t");
	json_decref(res);
	json_decref(spec);

	/* An error in the last statement rolls back the first. */
	spec = specf("sql", "{\"connection\": \"db\", \"sql\": [\"DELETE FROM t\", \"SELECT 1/0\"]}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	CHECK_FAILED(spec, "sql[1]: division by zero [SQLSTATE 22012]");
	CHECK_SQL1(ci, "2", "SELECT count(*) FROM t");

	/* Too few parameters for a statement. */
	spec = specf("sql", "{\"connection\": \"db\", \"sql\": \"SELECT $1::int + $2::int\", \"parameters\": [1]}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	CHECK_FAILED(spec, "sql uses $2 but \"parameters\" has 1 value");

	/* autocommit: VACUUM cannot run in a transaction. */
	spec = specf("sql", "{\"connection\": \"db\", \"sql\": \"VACUUM t\", \"autocommit\": true}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	json_decref(run_expect(spec, "success"));
	json_decref(spec);
	free(ci);
}

static void test_sql__fetch_one_and_all_with_types(void)
{
	char *ci = weir_xstrdup(check_pg_new_db(false));
	json_t *spec, *res;

	spec = specf("sql", "{\"connection\": \"db\", \"fetch\": \"all\", \"sql\":"
			    " \"SELECT g AS i, g %% 2 = 0 AS even, g * 1.5 AS x, 'n' || g AS s,"
			    " json_build_object('g', g) AS j, NULL::text AS z, 12345678901234::bigint AS big"
			    " FROM generate_series(1, 2) g ORDER BY g\"}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value",
		   "[{\"big\":12345678901234,\"even\":false,\"i\":1,\"j\":{\"g\":1},\"s\":\"n1\",\"x\":1.5,\"z\":null},"
		   "{\"big\":12345678901234,\"even\":true,\"i\":2,\"j\":{\"g\":2},\"s\":\"n2\",\"x\":3.0,\"z\":null}]");
	CHECK_XCOM(res, "rowcount", "2");
	json_decref(res);
	json_decref(spec);

	spec = specf("sql", "{\"connection\": \"db\", \"fetch\": \"one\", \"sql\": \"SELECT $1::text AS a WHERE $2\","
			    " \"parameters\": [\"{{ params.region }}\", true]}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value", "{\"a\":\"alps\"}");
	json_decref(res);
	json_decref(spec);

	spec = specf("sql", "{\"connection\": \"db\", \"fetch\": \"one\", \"sql\": \"SELECT 1 WHERE false\"}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value", "null");
	json_decref(res);
	json_decref(spec);

	/* Larger than xcom_max_bytes: a failure that says what to do. */
	spec = specf("sql", "{\"connection\": \"db\", \"fetch\": \"all\", \"sql\": \"SELECT g FROM generate_series(1, 1000) g\"}");
	json_object_set_new(spec, "xcom_max_bytes", json_integer(2000));
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	CHECK_FAILED_WITH(spec, "more than xcom_max_bytes (2000) (fetch fewer rows, or fetch: none)");
	free(ci);
}

static void test_sql__the_deadline_cancels_a_long_query(void)
{
	char *ci = weir_xstrdup(check_pg_new_db(false));
	json_t *spec = specf("sql", "{\"connection\": \"db\", \"sql\": \"SELECT pg_sleep(30)\"}");
	int64_t t0 = weir_mono_us();

	add_conn(spec, "db", pg_conn_of(ci, NULL));
	set_deadline(spec, 1500);
	CHECK_FAILED_WITH(spec, "timed out after");
	CHECK_INT_OP(weir_mono_us() - t0, <, 8 * WEIR_US_PER_SEC);
	/* The server stopped it too. */
	CHECK_SQL1(ci, "0", "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'");

	/* A connection of the wrong type. */
	spec = specf("sql", "{\"connection\": \"db\", \"sql\": \"SELECT 1\"}");
	add_conn(spec, "db", json_pack("{s:s}", "type", "http"));
	CHECK_FAILED(spec, "connection \"db\" is of type http; \"connection\" needs a postgres connection");
	free(ci);
}

/* ------------------------------------------------------------------ */
/* sensors                                                              */
/* ------------------------------------------------------------------ */

struct delayed_sql {
	char ci[512];
	char sql[256];
	int delay_ms;
};

static void *delayed_sql_main(void *arg)
{
	struct delayed_sql *d = arg;
	usleep((useconds_t)d->delay_ms * 1000);
	free(check_pg_sql(d->ci, d->sql));
	return NULL;
}

static void test_sql_sensor__becomes_true_mid_wait(void)
{
	static struct delayed_sql d;
	char *ci = weir_xstrdup(check_pg_new_db(false));
	json_t *spec, *res;
	pthread_t th;
	int64_t t0 = weir_mono_us();
	char *log;

	free(sql1(ci, "CREATE TABLE ready (day text, n int)"));
	snprintf(d.ci, sizeof(d.ci), "%s", ci);
	snprintf(d.sql, sizeof(d.sql), "INSERT INTO ready VALUES ('2026-11-23', 7)");
	d.delay_ms = 1200;
	spec = specf("sql_sensor", "{\"connection\": \"db\", \"sql\": \"SELECT count(*), max(n) AS n FROM ready WHERE day = $1\","
				   " \"parameters\": [\"{{ ds }}\"]}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	set_sensor(spec, "poke", 200, 30000);
	CHECK(pthread_create(&th, NULL, delayed_sql_main, &d) == 0);
	res = run_expect(spec, "success");
	pthread_join(th, NULL);
	CHECK_INT_OP(weir_mono_us() - t0, >=, 1000000);
	CHECK_XCOM(res, "return_value", "{\"count\":1,\"n\":7}");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "not yet: the first cell is 0");
	CHECK_STR_CONTAINS(log, "condition met");
	free(log);
	json_decref(res);
	json_decref(spec);

	/* Reschedule mode: one poke, then RESCHEDULE with the next poke time. */
	spec = specf("sql_sensor", "{\"connection\": \"db\", \"sql\": \"SELECT false\"}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	set_sensor(spec, "reschedule", 5000, 60000);
	res = run_expect(spec, "reschedule");
	CHECK_INT_OP(json_integer_value(json_object_get(res, "next_poke_us")), >, weir_now_us() + 3 * WEIR_US_PER_SEC);
	json_decref(res);
	json_decref(spec);

	/* An SQL error fails at once instead of waiting for the timeout. */
	spec = specf("sql_sensor", "{\"connection\": \"db\", \"sql\": \"SELECT * FROM no_such_table\"}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	set_sensor(spec, "poke", 200, 60000);
	t0 = weir_mono_us();
	CHECK_FAILED_WITH(spec, "relation \"no_such_table\" does not exist");
	CHECK_INT_OP(weir_mono_us() - t0, <, 5 * WEIR_US_PER_SEC);

	/* The timeout names the last reason. */
	spec = specf("sql_sensor", "{\"connection\": \"db\", \"sql\": \"SELECT 1 WHERE false\"}");
	add_conn(spec, "db", pg_conn_of(ci, NULL));
	set_sensor(spec, "poke", 200, 800);
	CHECK_FAILED_WITH(spec, "sensor timed out after 800ms (the query returned no rows)");
	free(ci);
}

static void test_http_sensor__json_path_matches_mid_wait(void)
{
	struct http_srv *s = http_start();
	char *u = url(s, "/state");
	json_t *spec = specf("http_sensor", "{\"url\": \"%s\", \"json_path\": \"status\", \"equals\": \"done\"}", u);
	json_t *res;
	char *log;

	s->ready_after = 3;
	set_sensor(spec, "poke", 200, 30000);
	res = run_expect(spec, "success");
	CHECK_INT_EQ(s->state_requests, 3);
	CHECK_XCOM(res, "return_value", "{\"n\":3,\"status\":\"done\"}");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "not yet: \"status\" is \"pending\", not \"done\"");
	free(log);
	json_decref(res);
	json_decref(spec);

	/* Status not expected (404) until the timeout. */
	free(u);
	u = url(s, "/missing");
	spec = specf("http_sensor", "{\"url\": \"%s\"}", u);
	set_sensor(spec, "poke", 200, 700);
	res = run_expect(spec, "failed");
	CHECK_STR_CONTAINS(message(res), "sensor timed out after 700ms (GET ");
	CHECK_STR_CONTAINS(message(res), "/missing returned 404)");
	json_decref(res);
	json_decref(spec);

	/* A refused connection is "not yet", and reschedule mode reschedules. */
	free(u);
	u = weir_xasprintf("http://127.0.0.1:%d/", dead_port());
	spec = specf("http_sensor", "{\"url\": \"%s\"}", u);
	set_sensor(spec, "reschedule", 1000, 60000);
	res = run_expect(spec, "reschedule");
	json_decref(res);
	json_decref(spec);
	free(u);
}

/* ------------------------------------------------------------------ */
/* notify                                                               */
/* ------------------------------------------------------------------ */

static void test_notify__webhook_posts_json(void)
{
	struct http_srv *s = http_start();
	char *u = url(s, "/hook");
	json_t *spec = specf("notify", "{\"url\": \"%s\"}", u), *res, *body;

	/* The default payload, with the callback context when there is one. */
	json_object_set_new(json_object_get(spec, "context"), "callback",
			    json_pack("{s:s, s:s}", "event", "on_failure", "state", "FAILED"));
	res = run_expect(spec, "success");
	CHECK_STR_EQ(s->method, "POST");
	body = J(s->body);
	CHECK_STR_EQ(json_string_value(json_object_get(body, "dag_id")), "d");
	CHECK_STR_EQ(json_string_value(json_object_get(body, "run_id")), "r");
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(body, "callback"), "state")), "FAILED");
	json_decref(body);
	json_decref(res);
	json_decref(spec);

	/* A templated body. */
	spec = specf("notify", "{\"url\": \"%s\", \"json\": {\"text\": \"{{ dag.id }} done on {{ ds }}\"}}", u);
	res = run_expect(spec, "success");
	CHECK_STR_EQ(s->body, "{\"text\":\"d done on 2026-11-23\"}");
	json_decref(res);
	json_decref(spec);
	free(u);

	/* A failing hook fails the task. */
	u = url(s, "/status/500");
	spec = specf("notify", "{\"url\": \"%s\"}", u);
	CHECK_FAILED_WITH(spec, "returned 500");
	free(u);
}

static void test_notify__email_through_smtp(void)
{
	struct smtp_sink *m = smtp_start();
	json_t *spec = specf("notify", "{\"connection\": \"mail\", \"to\": [\"ops@example.com\", \"Dev <dev@example.com>\"],"
				       " \"subject\": \"{{ dag.id }}: Grüße\", \"body\": \"run {{ run_id }}\\n.\\nend\"}");
	json_t *res;
	char *log;

	add_conn(spec, "mail", json_pack("{s:s, s:s, s:i, s:s, s:s, s:{s:s}}", "type", "smtp", "host", "127.0.0.1",
					 "port", m->port, "login", "weir", "password", "mail-pw-77", "extra", "from",
					 "weir@example.com"));
	json_array_append_new(json_object_get(spec, "secrets"), json_string("mail-pw-77"));
	res = run_expect(spec, "success");
	CHECK_INT_EQ(m->messages, 1);
	CHECK_STR_EQ(m->from, "<weir@example.com>");
	CHECK_STR_EQ(m->rcpt, "<ops@example.com>,<dev@example.com>");
	CHECK_STR_CONTAINS(m->auth, "weir|mail-pw-77");
	CHECK_STR_CONTAINS(m->data, "From: weir@example.com\n");
	CHECK_STR_CONTAINS(m->data, "To: ops@example.com, Dev <dev@example.com>\n");
	CHECK_STR_CONTAINS(m->data, "Subject: =?UTF-8?B?ZDogR3LDvMOfZQ==?=\n");
	CHECK_STR_CONTAINS(m->data, "Content-Type: text/plain; charset=utf-8\n");
	/* The lone "." line was escaped on the wire and arrives as "..". */
	CHECK_STR_CONTAINS(m->data, "\nrun r\n..\nend\n");
	log = read_log(spec);
	CHECK(!strstr(log, "mail-pw-77"));
	CHECK_STR_CONTAINS(log, "sent to 2 recipients through \"mail\"");
	free(log);
	json_decref(res);
	json_decref(spec);

	/* The connection asks for STARTTLS and the server has none: no mail. */
	spec = specf("notify", "{\"connection\": \"mail\", \"to\": \"ops@example.com\"}");
	add_conn(spec, "mail", json_pack("{s:s, s:s, s:i, s:{s:s, s:b}}", "type", "smtp", "host", "127.0.0.1", "port",
					 m->port, "extra", "from", "weir@example.com", "starttls", 1));
	CHECK_FAILED_WITH(spec, "STARTTLS");
	CHECK_INT_EQ(m->messages, 1);
}

/* ------------------------------------------------------------------ */
/* trigger_dag and run_sensor (weir's database and a real scheduler)    */
/* ------------------------------------------------------------------ */

/* A spec for an operator with needs_store, built like a scheduler would. */
static json_t *store_spec(struct weir_env *e, const char *op, const char *config)
{
	json_t *spec = spec_new(op, J(config));
	json_object_set_new(spec, "weir_database_url", json_string(e->db));
	json_array_append_new(json_object_get(spec, "secrets"), json_string(e->db));
	return spec;
}

static void test_trigger_dag__waits_for_the_run_and_reuses_it_on_retry(void)
{
	struct weir_env e;
	json_t *spec, *res;
	char *log;

	env_init(&e);
	env_dag(&e, "child.yaml",
		"version: 1\ndag: child\nparams: {day: {type: string, default: x}}\ntasks:\n"
		"  - {id: a, operator: command, shell: \"sleep 0.5; echo '::xcom day={{ params.day | json }}'\"}\n");
	env_dag(&e, "bad.yaml", "version: 1\ndag: bad\ntasks:\n  - {id: a, operator: command, exec: [\"false\"]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 2 FROM dags");

	spec = store_spec(&e, "trigger_dag", "{\"dag_id\": \"child\", \"conf\": {\"day\": \"{{ ds }}\"}, \"wait\": true, \"poll_interval\": \"200ms\"}");
	set_deadline(spec, 60000);
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "run_id", "\"triggered__d.t__r\"");
	CHECK_XCOM(res, "state", "\"SUCCESS\"");
	{
		char *v = env_sql(&e, "SELECT value::text FROM xcom WHERE task_id = 'a'");
		CHECK_STR_EQ(v, "\"2026-11-23\"");
		free(v);
		v = env_sql(&e, "SELECT note FROM dag_runs WHERE dag_id = 'child'");
		CHECK_STR_EQ(v, "task:d.t");
		free(v);
	}
	log = read_log(spec);
	CHECK(!strstr(log, e.db));
	free(log);
	json_decref(res);

	/* A retry of the same task finds the run an earlier try created. */
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "state", "\"SUCCESS\"");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "exists already (an earlier try created it): using it");
	free(log);
	{
		char *v = env_sql(&e, "SELECT count(*) FROM dag_runs WHERE dag_id = 'child'");
		CHECK_STR_EQ(v, "1");
		free(v);
	}
	json_decref(res);
	json_decref(spec);

	/* A run that fails fails the waiting task; without wait it succeeds. */
	spec = store_spec(&e, "trigger_dag", "{\"dag_id\": \"bad\", \"run_id\": \"b1\", \"wait\": true, \"poll_interval\": 1}");
	CHECK_FAILED(spec, "run \"b1\" of DAG \"bad\" ended FAILED");
	spec = store_spec(&e, "trigger_dag", "{\"dag_id\": \"bad\", \"run_id\": \"b1\"}");
	CHECK_FAILED(spec, "could not trigger DAG \"bad\": DAG \"bad\" already has a run \"b1\"");
	spec = store_spec(&e, "trigger_dag", "{\"dag_id\": \"nope\"}");
	CHECK_FAILED(spec, "could not trigger DAG \"nope\": DAG \"nope\" does not exist");

	/* Without weir's database in the spec: a clear message. */
	spec = specf("trigger_dag", "{\"dag_id\": \"child\"}");
	CHECK_FAILED_WITH(spec, "the spec has no \"weir_database_url\"");
	env_stop_all(&e);
}

static void test_run_sensor__waits_for_a_task_of_another_run(void)
{
	struct weir_env e;
	json_t *spec, *res;

	env_init(&e);
	env_dag(&e, "up.yaml",
		"version: 1\ndag: up\ntasks:\n  - {id: load, operator: command, exec: [sleep, \"1.5\"]}\n"
		"  - {id: boom, operator: command, exec: [\"false\"], depends_on: [load]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");

	/* No run yet: not yet (reschedule mode returns at once). */
	spec = store_spec(&e, "run_sensor", "{\"dag_id\": \"up\"}");
	set_sensor(spec, "reschedule", 1000, 60000);
	json_decref(run_expect(spec, "reschedule"));
	json_decref(spec);

	env_trigger(&e, "up", "u1", NULL);
	spec = store_spec(&e, "run_sensor", "{\"dag_id\": \"up\", \"run_id\": \"u1\", \"task_id\": \"load\", \"states\": [\"success\"]}");
	set_sensor(spec, "poke", 200, 60000);
	res = run_expect(spec, "success");
	CHECK_XCOM(res, "return_value", "{\"dag_id\":\"up\",\"run_id\":\"u1\",\"state\":\"success\"}");
	json_decref(res);
	json_decref(spec);

	/* The latest run, failed_states: the run fails, so the sensor fails. */
	spec = store_spec(&e, "run_sensor", "{\"dag_id\": \"up\", \"failed_states\": [\"failed\"]}");
	set_sensor(spec, "poke", 200, 60000);
	CHECK_FAILED(spec, "run \"u1\" of DAG \"up\" is FAILED (one of failed_states)");
	env_stop_all(&e);
}

/* ------------------------------------------------------------------ */
/* connections                                                          */
/* ------------------------------------------------------------------ */

static void test_connections__cli_add_list_delete_never_prints_secrets(void)
{
	struct weir_env e;
	char *out = NULL, *file;
	int rc;

	env_init(&e);
	file = weir_xasprintf("%s/connections.yaml", e.home);
	check_write_file(file, "files_only:\n  type: http\n  host: files.example.com\n  password: file-pw-123\n"
			       "warehouse:\n  type: postgres\n  host: shadowed.example.com\n");
	{
		/* --password-stdin reads the secret; it never appears in argv. */
		char cmd[4096];
		snprintf(cmd, sizeof(cmd),
			 "printf 'db-pw-456\\n' | WEIR_DATABASE_URL='%s' WEIR_HOME='%s' %s connections add warehouse"
			 " --type postgres --host db.example.com --port 5433 --login etl --schema dw"
			 " --extra '{\"sslmode\": \"require\", \"api_token\": \"tok-789\"}' --password-stdin >/dev/null",
			 e.db, e.home, getenv("WEIR_BINARY"));
		CHECK_INT_EQ(system(cmd), 0);
	}
	{
		const char *args[] = {"connections", "list", NULL};
		rc = env_weir(&e, &out, args);
		CHECK_INT_EQ(rc, 0);
		CHECK_STR_CONTAINS(out, "warehouse");
		CHECK_STR_CONTAINS(out, "db.example.com");
		CHECK_STR_CONTAINS(out, "database");
		CHECK_STR_CONTAINS(out, "(overridden by the database)");
		CHECK_STR_CONTAINS(out, "files_only");
		CHECK_STR_CONTAINS(out, "\"api_token\":\"***\"");
		CHECK(!strstr(out, "db-pw-456"));
		CHECK(!strstr(out, "file-pw-123"));
		CHECK(!strstr(out, "tok-789"));
		free(out);
	}
	{
		const char *args[] = {"connections", "list", "--format", "json", NULL};
		json_t *j, *c;
		size_t i;
		rc = env_weir(&e, &out, args);
		CHECK_INT_EQ(rc, 0);
		CHECK(!strstr(out, "db-pw-456"));
		j = J(out);
		json_array_foreach(json_object_get(j, "connections"), i, c)
			if (!strcmp(json_string_value(json_object_get(c, "source")), "database"))
				CHECK_STR_EQ(json_string_value(json_object_get(c, "password")), "***");
		json_decref(j);
		free(out);
	}
	/* The database holds the real secret (the scheduler needs it). */
	{
		char *v = env_sql(&e, "SELECT password || ' ' || port || ' ' || (extra->>'sslmode') FROM connections");
		CHECK_STR_EQ(v, "db-pw-456 5433 require");
		free(v);
	}
	{
		const char *dup[] = {"connections", "add", "warehouse", "--type", "http", NULL};
		const char *bad[] = {"connections", "add", "x y", "--type", "ftp", NULL};
		const char *rep[] = {"connections", "add", "warehouse", "--type", "http", "--host", "h", "--replace", NULL};
		CHECK_INT_EQ(env_weir(&e, NULL, dup), 1);
		CHECK_INT_EQ(env_weir(&e, NULL, bad), 1);
		CHECK_INT_EQ(env_weir(&e, NULL, rep), 0);
	}
	{
		const char *del[] = {"connections", "delete", "warehouse", NULL};
		const char *del_file[] = {"connections", "delete", "files_only", NULL};
		CHECK_INT_EQ(env_weir(&e, NULL, del), 0);
		CHECK_INT_EQ(env_weir(&e, NULL, del), 1);
		CHECK_INT_EQ(env_weir(&e, NULL, del_file), 1);
	}
	{
		char *v = env_sql(&e, "SELECT count(*) FROM connections");
		CHECK_STR_EQ(v, "0");
		free(v);
	}
	free(file);
}

static void test_connections__database_wins_over_the_file_and_secrets_are_masked(void)
{
	const char *db = check_pg_new_db(true);
	const char *home = check_tmpdir();
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	struct weir_diags d;
	char *file = weir_xasprintf("%s/connections.yaml", home);
	json_t *conns, *cfg, *spec, *res;
	char *log;

	check_write_file(file, "api:\n  type: http\n  host: from-file\n  password: file-secret-1\n"
			       "only_file:\n  type: smtp\n  host: mail\n  extra: {from: a@b, smtp_token: tk-2}\n");
	CHECK_OK(weir_pg_store_open(db, &st, &err));
	cfg = J("{\"type\": \"http\", \"host\": \"from-db\", \"password\": \"db-secret-3\"}");
	CHECK_OK(weir_connections_store_add(st, "api", cfg, false, &err));
	json_decref(cfg);
	weir_connections_cache_clear();
	cfg = J("{\"connection\": \"api\", \"url\": \"/x\"}");
	conns = weir_connections_resolve(st, home, weir_operator_find("http"), cfg);
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(conns, "api"), "host")), "from-db");
	json_decref(conns);
	json_decref(cfg);
	cfg = J("{\"connection\": \"only_file\", \"to\": \"x@y\"}");
	conns = weir_connections_resolve(st, home, weir_operator_find("notify"), cfg);
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(conns, "only_file"), "host")), "mail");
	json_decref(cfg);
	/* Unknown names are left out; a config with none resolves to NULL. */
	cfg = J("{\"connection\": \"ghost\"}");
	json_decref(conns);
	conns = weir_connections_resolve(st, home, weir_operator_find("http"), cfg);
	CHECK_INT_EQ(json_object_size(conns), 0);
	json_decref(conns);
	json_decref(cfg);
	cfg = J("{\"url\": \"http://x\"}");
	CHECK(weir_connections_resolve(st, home, weir_operator_find("http"), cfg) == NULL);
	json_decref(cfg);

	/* Through weir_spec_build: the secrets reach the log as ***. */
	{
		static const char yaml[] = "version: 1\ndag: m\ntasks:\n"
					   "  - {id: t, operator: command, shell: \"echo db-secret-3 tk-2; echo sk-1 >&2\"}\n";
		struct weir_dag *dag = NULL;
		struct weir_spec_run sr = WEIR_SPEC_RUN_INIT;
		weir_diags_init(&d, "m.yaml");
		CHECK_OK(weir_dag_load_text("m.yaml", yaml, strlen(yaml), &dag, &d));
		weir_diags_release(&d);
		sr.run_id = "r1";
		sr.logical_date = weir_now_us();
		sr.attempt_id = "01900000-0000-7000-8000-000000000009";
		sr.home = home;
		sr.connections = J("{\"api\": {\"type\": \"http\", \"password\": \"db-secret-3\"},"
				   " \"m\": {\"type\": \"smtp\", \"extra\": {\"smtp_token\": \"tk-2\", \"from\": \"a@b\"}}}");
		sr.database_url = "postgresql://weir:sk-1@db/weir";
		spec = weir_spec_build(dag, 0, &sr);
		/* command has no needs_store: no URL in its spec. */
		CHECK(json_object_get(spec, "weir_database_url") == NULL);
		res = weir_taskrun(spec, -1);
		log = read_log(spec);
		CHECK_STR_CONTAINS(log, "OUT *** ***");
		CHECK(!strstr(log, "db-secret-3"));
		CHECK(!strstr(log, "tk-2"));
		/* "from" is no secret. */
		{
			json_t *sec = json_object_get(spec, "secrets");
			char *t = json_dumps(sec, JSON_COMPACT);
			CHECK_STR_EQ(t, "[\"db-secret-3\",\"tk-2\"]");
			free(t);
		}
		free(log);
		json_decref(res);
		json_decref(spec);
		json_decref(sr.connections);
		weir_dag_unref(dag);

		/* trigger_dag (needs_store): the URL and its password are masked. */
		{
			static const char y2[] = "version: 1\ndag: m\ntasks:\n  - {id: t, operator: trigger_dag, dag_id: other}\n";
			weir_diags_init(&d, "m.yaml");
			CHECK_OK(weir_dag_load_text("m.yaml", y2, strlen(y2), &dag, &d));
			weir_diags_release(&d);
			sr.connections = NULL;
			spec = weir_spec_build(dag, 0, &sr);
			CHECK_STR_EQ(json_string_value(json_object_get(spec, "weir_database_url")), "postgresql://weir:sk-1@db/weir");
			{
				char *t = json_dumps(json_object_get(spec, "secrets"), JSON_COMPACT);
				CHECK_STR_EQ(t, "[\"postgresql://weir:sk-1@db/weir\",\"sk-1\"]");
				free(t);
			}
			json_decref(spec);
			weir_dag_unref(dag);
		}
	}
	weir_store_close(st);
	weir_buf_release(&err);
	free(file);
}

static void test_connections__file_problems_have_positions(void)
{
	char *file = weir_xasprintf("%s/c.yaml", check_tmpdir());
	struct weir_diags d;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *conns = NULL;

	check_write_file(file, "ok:\n  type: postgres\n  port: 5432\n"
			       "bad type:\n  type: ftp\n"
			       "b2:\n  type: postgress\n  prot: 1\n"
			       "b3:\n  host: x\n  port: 99999\n");
	weir_diags_init(&d, "c.yaml");
	CHECK_OK(weir_connections_file_load(file, &conns, &d));
	weir_diags_sort(&d);
	weir_diags_format(&d, &out);
	CHECK_STR_EQ(out.buf,
		     "c.yaml:4:1: error: invalid connection name \"bad type\" (1 to 100 of A-Z a-z 0-9 _ . -)\n"
		     "c.yaml:7:9: error: unknown connection type \"postgress\" (one of postgres, http, smtp, amqp) (did you mean \"postgres\"?)\n"
		     "c.yaml:8:3: error: unknown connection field \"prot\" (did you mean \"port\"?)\n"
		     "c.yaml:10:3: error: connection \"b3\" needs \"type\" (one of postgres, http, smtp, amqp)\n"
		     "c.yaml:11:9: error: \"port\" must be a number from 1 to 65535\n");
	/* The good entry is still there. */
	CHECK_INT_EQ(json_object_size(conns), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(conns, "ok"), "port")), 5432);
	json_decref(conns);
	CHECK_INT_EQ(weir_connections_file_load("/nonexistent/c.yaml", &conns, &d), -ENOENT);
	CHECK_INT_EQ(json_object_size(conns), 0);
	json_decref(conns);
	weir_diags_release(&d);
	weir_buf_release(&out);
	free(file);
}

/* ------------------------------------------------------------------ */
/* with a real scheduler                                                */
/* ------------------------------------------------------------------ */

static void test_sched_ops__reschedule_mode_frees_the_pool_slot(void)
{
	struct weir_env e;
	char *file, *conn;

	env_init(&e);
	free(env_sql(&e, "INSERT INTO pools (name, slots) VALUES ('one', 1)"));
	free(env_sql(&e, "CREATE TABLE flag (n int)"));
	/* A postgres connection to the env's own database, from the file. */
	conn = json_dumps(pg_conn_of(e.db, NULL), JSON_COMPACT);
	file = weir_xasprintf("%s/connections.yaml", e.home);
	{
		char *yaml = weir_xasprintf("db: %s\n", conn);
		check_write_file(file, yaml);
		free(yaml);
	}
	/* The sensor starts first (higher priority) and holds the only slot
	 * of pool "one" unless rescheduling gives it back; "fill" can only
	 * run if it does, and only "fill" makes the sensor true. */
	env_dag(&e, "slot.yaml",
		"version: 1\ndag: slot\ndefault_args: {pool: one, weight_rule: absolute}\ntasks:\n"
		"  - {id: wait, operator: sql_sensor, connection: db, sql: \"SELECT count(*) FROM flag\","
		"     mode: reschedule, poke_interval: 1s, timeout: 90s, priority_weight: 10}\n"
		"  - {id: fill, operator: sql, connection: db, sql: \"INSERT INTO flag VALUES (1)\", priority_weight: 1}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "slot", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "slot", "r1", 100), "SUCCESS");
	{
		/* The sensor was rescheduled at least once, and "fill" started
		 * after the sensor's first try began but before it succeeded. */
		char *v = env_sql(&e, "SELECT count(*) > 0 FROM state_events WHERE task_id = 'wait' AND to_state = 'up_for_reschedule'");
		CHECK_STR_EQ(v, "t");
		free(v);
		v = env_sql(&e, "SELECT (SELECT min(at) FROM state_events WHERE task_id = 'fill' AND to_state = 'running')"
				" < (SELECT max(at) FROM state_events WHERE task_id = 'wait' AND to_state = 'success')");
		CHECK_STR_EQ(v, "t");
		free(v);
	}
	env_stop_all(&e);
	free(file);
	free(conn);
}

static void test_sched_ops__connection_secrets_are_masked_in_task_logs(void)
{
	struct weir_env e;
	char cmd[4096], *log, *v;
	json_t *c;

	env_init(&e);
	c = pg_conn_of(e.db, NULL);
	snprintf(cmd, sizeof(cmd),
		 "printf 'pw-in-db-4242\\n' | WEIR_DATABASE_URL='%s' WEIR_HOME='%s' %s connections add db --type postgres"
		 " --host '%s' --port %lld --login %s --schema %s --password-stdin >/dev/null",
		 e.db, e.home, getenv("WEIR_BINARY"), json_string_value(json_object_get(c, "host")),
		 (long long)json_integer_value(json_object_get(c, "port")), json_string_value(json_object_get(c, "login")),
		 json_string_value(json_object_get(c, "schema")));
	CHECK_INT_EQ(system(cmd), 0);
	env_dag(&e, "m.yaml",
		"version: 1\ndag: m\ntasks:\n"
		"  - {id: q, operator: sql, connection: db, sql: \"SELECT 'pw-in-db-4242'::int\"}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "m", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "m", "r1", 60), "FAILED");
	snprintf(cmd, sizeof(cmd), "%s/logs/m/r1/q/1.log", e.home);
	log = check_read_file(cmd);
	CHECK_STR_CONTAINS(log, "invalid input syntax for type integer: \"***\"");
	CHECK(!strstr(log, "pw-in-db-4242"));
	free(log);
	v = env_sql(&e, "SELECT count(*) FROM state_events WHERE reason LIKE '%%pw-in-db-4242%%'");
	CHECK_STR_EQ(v, "0");
	free(v);
	json_decref(c);
	env_stop_all(&e);
}

/* ------------------------------------------------------------------ */
/* validation at load                                                   */
/* ------------------------------------------------------------------ */

static void test_validate__good_configs_of_every_operator_load(void)
{
	static const char yaml[] =
		"version: 1\ndag: all\nparams: {region: {type: string, default: alps}}\ntasks:\n"
		"  - {id: py, operator: python, code: \"print(1)\", args: [a], interpreter: python3}\n"
		"  - {id: js, operator: node, script: x.js, cwd: sub}\n"
		"  - {id: h, operator: http, url: \"https://x/{{ params.region }}\", method: POST, json: {a: 1},"
		"     headers: {X-A: b}, expected_status: [200, \"4xx\"], verify_tls: false, request_timeout: 30s}\n"
		"  - {id: q, operator: sql, connection: db, sql: [\"SELECT $1\", \"SELECT 2\"], parameters: [\"{{ ds }}\"],"
		"     fetch: all, autocommit: false}\n"
		"  - {id: qs, operator: sql_sensor, connection: db, sql: \"SELECT true\", mode: reschedule, poke_interval: 5s}\n"
		"  - {id: hs, operator: http_sensor, connection: api, url: /status, json_path: state, equals: done}\n"
		"  - {id: rs, operator: run_sensor, dag_id: other, run_id: \"{{ run_id }}\", task_id: t,"
		"     states: [success, skipped], failed_states: [failed, upstream_failed]}\n"
		"  - {id: tr, operator: trigger_dag, dag_id: other, conf: {d: \"{{ ds }}\"}, wait: true, poll_interval: 10s}\n"
		"  - {id: n1, operator: notify, url: \"https://hooks/x\", json: {text: hi}}\n"
		"  - {id: n2, operator: notify, connection: mail, to: [a@b.c], subject: s, body: b, from: w@b.c}\n";
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	weir_diags_init(&d, "all.yaml");
	if (weir_dag_load_text("all.yaml", yaml, strlen(yaml), &dag, &d) < 0) {
		weir_diags_format(&d, &out);
		check__fail(__FILE__, __LINE__, "load failed:\n%s", out.buf);
	}
	CHECK(weir_operator_find("sql")->full_runner);
	CHECK(!weir_operator_find("python")->full_runner);
	CHECK(weir_operator_find("trigger_dag")->needs_store);
	weir_dag_unref(dag);
	weir_diags_release(&d);
	weir_buf_release(&out);
}

static void test_validate__notify_validates_a_bare_callback_mapping(void)
{
	struct weir_yaml_limits lim = WEIR_YAML_LIMITS_DEFAULT;
	static const char yaml[] = "url: ftp://x\nsubject: s\n";
	struct weir_arena arena;
	struct weir_node *root = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_diags d;
	int line, col;

	weir_arena_init(&arena, 4096);
	CHECK_OK(weir_yaml_parse(yaml, strlen(yaml), &lim, &arena, &root, &line, &col, &err));
	weir_diags_init(&d, "cb.yaml");
	weir_operator_find("notify")->validate(root, &d);
	weir_diags_sort(&d);
	weir_diags_format(&d, &out);
	CHECK_STR_EQ(out.buf, "cb.yaml:1:6: error: \"url\" must use http or https\n"
			      "cb.yaml:2:1: error: \"subject\" applies to e-mail; add \"to\" to send one, or remove it\n");
	weir_diags_release(&d);
	weir_arena_release(&arena);
	weir_buf_release(&err);
	weir_buf_release(&out);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_python__inline_code_reads_input_and_returns_json),
	CHECK_TEST(test_python__script_file_beside_the_dag_with_xcom_lines),
	CHECK_TEST(test_python__failing_script_fails_with_the_exception_name),
	CHECK_TEST(test_python__timeout_kills_the_script),
	CHECK_TEST(test_python__memory_limit_kills_a_hog_with_a_clear_message),
	CHECK_TEST(test_python__result_larger_than_xcom_max_fails),
	CHECK_TEST(test_python__missing_interpreter_is_a_clear_error),
	CHECK_TEST(test_node__inline_and_file_scripts_return_json),
	CHECK_TEST(test_http__json_response_becomes_return_value),
	CHECK_TEST(test_http__templated_json_body_headers_and_bearer_from_connection),
	CHECK_TEST(test_http__5xx_and_refused_connections_fail_and_expected_status_applies),
	CHECK_TEST(test_http__the_deadline_bounds_a_slow_request),
	CHECK_TEST(test_http__tls_is_verified_unless_turned_off),
	CHECK_TEST(test_sql__statements_share_one_transaction_and_bound_parameters),
	CHECK_TEST(test_sql__fetch_one_and_all_with_types),
	CHECK_TEST(test_sql__the_deadline_cancels_a_long_query),
	CHECK_TEST(test_sql_sensor__becomes_true_mid_wait),
	CHECK_TEST(test_http_sensor__json_path_matches_mid_wait),
	CHECK_TEST(test_notify__webhook_posts_json),
	CHECK_TEST(test_notify__email_through_smtp),
	CHECK_TEST(test_trigger_dag__waits_for_the_run_and_reuses_it_on_retry),
	CHECK_TEST(test_run_sensor__waits_for_a_task_of_another_run),
	CHECK_TEST(test_connections__cli_add_list_delete_never_prints_secrets),
	CHECK_TEST(test_connections__database_wins_over_the_file_and_secrets_are_masked),
	CHECK_TEST(test_connections__file_problems_have_positions),
	CHECK_TEST(test_sched_ops__reschedule_mode_frees_the_pool_slot),
	CHECK_TEST(test_sched_ops__connection_secrets_are_masked_in_task_logs),
	CHECK_TEST(test_validate__good_configs_of_every_operator_load),
	CHECK_TEST(test_validate__notify_validates_a_bare_callback_mapping),
	{0},
};

int main(int argc, char **argv)
{
	weir_operators_register_all();
	return check_main(argc, argv, tests);
}
