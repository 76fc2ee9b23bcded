/* curlutil.c: HTTP and SMTP transfers for the operators (curlutil.h). */
#include "operators/curlutil.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "operators/ops_int.h"
#include "common/banned.h"

#define CONNECT_TIMEOUT_MS 30000L

void weir__curl_begin(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void weir__curl_end(void)
{
	curl_global_cleanup();
}

/* libcurl asks about every 1 s (more often while data flows). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return weir__op_interrupted(arg) ? 1 : 0;
}

struct sink {
	struct weir_buf *b;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (weir_buf_add(s->b, p, size * n) < 0) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	return size * n;
}

/* The total timeout: the request's own and the time left to the deadline. */
static long timeout_ms(struct weir_task_ctx *ctx, int64_t own_us)
{
	long dl = weir__op_deadline_ms(ctx);
	long own = own_us > 0 ? (long)(own_us / 1000) : -1;

	if (own > 0 && own < 1)
		own = 1;
	if (dl < 0)
		return own < 0 ? 0 : own;
	/* A little past the deadline: then the runner sees it has passed
	 * and reports the try as timed out (execution_timeout). */
	dl += 100;
	if (own < 0)
		return dl;
	return own < dl ? own : dl;
}

/* base + url: an absolute url stays; a path joins the connection's base. */
static char *full_url(json_t *conn, const char *url, struct weir_buf *err)
{
	const char *host, *scheme;
	int port;
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	if (strstr(url, "://"))
		return weir_xstrdup(url);
	host = weir__conn_str(conn, "host");
	if (!host) {
		weir_buf_addf(err, "\"url\" \"%s\" is not absolute (http://...) and no connection gives a host", url);
		return NULL;
	}
	scheme = weir__conn_str(conn, "schema");
	port = weir__conn_port(conn, 0);
	/* host is a name, or a base URL that already holds its port. */
	if (strstr(host, "://"))
		weir_buf_addstr(&b, host);
	else if (port)
		weir_buf_addf(&b, "%s://%s:%d", scheme ? scheme : "https", host, port);
	else
		weir_buf_addf(&b, "%s://%s", scheme ? scheme : "https", host);
	while (b.len && b.buf[b.len - 1] == '/')
		weir_buf_truncate(&b, b.len - 1);
	if (*url && *url != '/')
		weir_buf_addch(&b, '/');
	weir_buf_addstr(&b, url);
	return weir_buf_detach(&b, NULL);
}

/* The URL without user:password@ (for messages and the log). */
static void display_url(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://"), *at, *end;

	if (p) {
		end = p + 3 + strcspn(p + 3, "/?#");
		at = memchr(p + 3, '@', (size_t)(end - p - 3));
		if (at) {
			snprintf(out, n, "%.*s%s", (int)(p + 3 - url), url, at + 1);
			return;
		}
	}
	snprintf(out, n, "%s", url);
}

static bool has_header(struct curl_slist *l, const char *name)
{
	size_t n = strlen(name);

	for (; l; l = l->next)
		if (!strncasecmp(l->data, name, n) && l->data[n] == ':')
			return true;
	return false;
}

static int add_headers(json_t *h, struct curl_slist **list, struct weir_buf *err)
{
	const char *k;
	json_t *v;

	json_object_foreach(h, k, v) {
		char *line;
		if (!json_is_string(v)) {
			weir_buf_addf(err, "header \"%s\" must be a string", k);
			return WEIR_EINVALID;
		}
		if (strpbrk(k, ":\r\n \t") || strpbrk(json_string_value(v), "\r\n")) {
			weir_buf_addf(err, "header \"%s\" contains a line break or an invalid character", k);
			return WEIR_EINVALID;
		}
		/* "Name;" sends an empty header in libcurl's syntax. */
		line = json_string_length(v) ? weir_xasprintf("%s: %s", k, json_string_value(v))
					     : weir_xasprintf("%s;", k);
		*list = curl_slist_append(*list, line);
		free(line);
	}
	return 0;
}

static void curl_failure(struct weir_task_ctx *ctx, CURLcode rc, const char *errbuf, const char *what,
			 const char *url)
{
	weir_buf_setf(&ctx->message, "%s %s failed: %s", what, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	weir_buf_rtrim(&ctx->message);
}

int weir__http_do(struct weir_task_ctx *ctx, const struct weir__http_req *req,
		  struct weir__http_resp *resp)
{
	CURL *h = NULL;
	struct curl_slist *hdrs = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct sink sink = {&resp->body, false};
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = NULL, *bearer = NULL;
	const char *auth, *login, *password, *ct = NULL;
	json_t *conn = req->conn, *extra = json_object_get(conn, "extra");
	long tmo;
	CURLcode crc;
	int rc = WEIR_EINVALID;

	memset(resp, 0, sizeof(*resp));
	weir_buf_init(&resp->body, WEIR_HTTP_MAX_RESPONSE);
	url = full_url(conn, req->url, &err);
	if (!url) {
		weir_buf_setf(&ctx->message, "%s", err.buf);
		goto out;
	}
	display_url(url, resp->url, sizeof(resp->url));
	h = curl_easy_init();
	if (!h) {
		weir_buf_setf(&ctx->message, "could not initialise libcurl");
		goto out;
	}
	/* Connection headers first, the task's own override them. */
	if (add_headers(json_object_get(extra, "headers"), &hdrs, &err) < 0 ||
	    add_headers(req->headers, &hdrs, &err) < 0) {
		weir_buf_setf(&ctx->message, "%s", err.buf);
		goto out;
	}
	login = weir__conn_str(conn, "login");
	password = weir__conn_str(conn, "password");
	auth = json_string_value(json_object_get(extra, "auth"));
	if (!auth)
		auth = login ? "basic" : password ? "bearer" : "none";
	if (!strcmp(auth, "basic") && (login || password)) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, login ? login : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, password ? password : "");
	} else if (!strcmp(auth, "bearer") && password && !has_header(hdrs, "Authorization")) {
		bearer = weir_xasprintf("Authorization: Bearer %s", password);
		hdrs = curl_slist_append(hdrs, bearer);
	} else if (strcmp(auth, "none") && strcmp(auth, "basic") && strcmp(auth, "bearer")) {
		weir_buf_setf(&ctx->message, "connection \"extra.auth\" must be basic, bearer or none, not \"%s\"", auth);
		goto out;
	}
	if (req->body && !has_header(hdrs, "Content-Type")) {
		char *line = weir_xasprintf("Content-Type: %s",
					    req->content_type ? req->content_type : "application/octet-stream");
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	/* No "Expect: 100-continue" round trip for large bodies. */
	if (req->body && !has_header(hdrs, "Expect"))
		hdrs = curl_slist_append(hdrs, "Expect:");

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "weir/" WEIR_VERSION);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (!strcmp(req->method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req->verify_tls ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, ctx);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)WEIR_HTTP_MAX_RESPONSE);
	tmo = timeout_ms(ctx, req->timeout_us);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, tmo > 0 && tmo < CONNECT_TIMEOUT_MS ? tmo : CONNECT_TIMEOUT_MS);
	if (tmo > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);

	crc = curl_easy_perform(h);
	if (sink.too_big || crc == CURLE_FILESIZE_EXCEEDED) {
		weir_buf_setf(&ctx->message, "%s %s: the response is larger than %u MiB", req->method, resp->url,
			      WEIR_HTTP_MAX_RESPONSE >> 20);
		goto out;
	}
	if (crc == CURLE_ABORTED_BY_CALLBACK || (crc != CURLE_OK && weir__op_interrupted(ctx))) {
		/* Stopped or past the deadline: the runner words the message. */
		weir_buf_setf(&ctx->message, "%s %s was interrupted", req->method, resp->url);
		goto out;
	}
	if (crc != CURLE_OK) {
		curl_failure(ctx, crc, errbuf, req->method, resp->url);
		if (crc == CURLE_PEER_FAILED_VERIFICATION || crc == CURLE_SSL_CACERT_BADFILE ||
		    crc == CURLE_SSL_CONNECT_ERROR)
			weir_buf_addstr(&ctx->message, " (TLS verification is on; \"verify_tls: false\" turns it off)");
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
	rc = 0;
out:
	if (rc < 0)
		weir_buf_release(&resp->body);
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	if (bearer) {
		memset(bearer, 0, strlen(bearer));
		free(bearer);
	}
	free(url);
	weir_buf_release(&err);
	return rc;
}

json_t *weir__http_json(const struct weir__http_resp *resp)
{
	size_t i = 0;

	while (i < resp->body.len && isspace((unsigned char)resp->body.buf[i]))
		i++;
	if (i == resp->body.len)
		return NULL;
	return json_loadb(resp->body.buf + i, resp->body.len - i, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
}

/* ------------------------------------------------------------------ */
/* mail                                                                 */
/* ------------------------------------------------------------------ */

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static void base64(struct weir_buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		weir_buf_addch(b, tab[v >> 18 & 63]);
		weir_buf_addch(b, tab[v >> 12 & 63]);
		weir_buf_addch(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		weir_buf_addch(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

/* A header value: as is when ASCII, else RFC 2047 encoded words. */
static void header_text(struct weir_buf *b, const char *s)
{
	bool ascii = true;
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		ascii &= (unsigned char)s[i] < 0x80;
	if (ascii) {
		weir_buf_addstr(b, s);
		return;
	}
	/* Words of at most 45 bytes (60 base64 chars), cut between UTF-8
	 * sequences, folded onto continuation lines. */
	for (size_t i = 0; i < n;) {
		size_t k = n - i > 45 ? 45 : n - i;
		while (i + k < n && k > 1 && ((unsigned char)s[i + k] & 0xC0) == 0x80)
			k--;
		if (i)
			weir_buf_addstr(b, "\r\n ");
		weir_buf_addstr(b, "=?UTF-8?B?");
		base64(b, (const unsigned char *)s + i, k);
		weir_buf_addstr(b, "?=");
		i += k;
	}
}

static bool one_line(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

/* The address inside "Name <a@b>", or the whole string. */
static char *bare_address(const char *s)
{
	const char *lt = strrchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt)
		return weir_xasprintf("<%.*s>", (int)(gt - lt - 1), lt + 1);
	return weir_xasprintf("<%s>", s);
}

static void rfc5322_date(struct weir_buf *b)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t now = weir_now_us();
	struct weir_civil c;
	int64_t days_since = now / WEIR_US_PER_DAY;

	weir_civil_from_us(now, &c);
	weir_buf_addf(b, "%s, %02u %s %04lld %02u:%02u:%02u +0000", days[weir_weekday_from_days(days_since)],
		      c.day, months[c.month - 1], (long long)c.year, c.hour, c.min, c.sec);
}

int weir__mail_send(struct weir_task_ctx *ctx, const struct weir__mail *m)
{
	json_t *extra = json_object_get(m->conn, "extra"), *v;
	const char *host = weir__conn_str(m->conn, "host");
	const char *login = weir__conn_str(m->conn, "login");
	const char *password = weir__conn_str(m->conn, "password");
	const char *from = m->from ? m->from : json_string_value(json_object_get(extra, "from"));
	bool tls = json_is_true(json_object_get(extra, "tls"));
	bool starttls = json_is_true(json_object_get(extra, "starttls"));
	bool verify = !json_is_false(json_object_get(extra, "verify_tls"));
	int port = weir__conn_port(m->conn, tls ? 465 : 25);
	struct weir_buf msg = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf url = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct curl_slist *rcpt = NULL;
	struct upload up;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *mail_from = NULL;
	CURL *h = NULL;
	CURLcode crc;
	long tmo;
	size_t i;
	int rc = WEIR_EINVALID;

	if (!host) {
		weir_buf_setf(&ctx->message, "the smtp connection has no \"host\"");
		goto out;
	}
	if (!from) {
		weir_buf_setf(&ctx->message, "no sender: set \"from\" in the task or \"extra.from\" in the smtp connection");
		goto out;
	}
	if (!one_line(from) || !one_line(m->subject)) {
		weir_buf_setf(&ctx->message, "\"from\" and \"subject\" must be one line each");
		goto out;
	}
	weir_buf_addf(&url, "%s://%s:%d", tls ? "smtps" : "smtp", host, port);

	/* The message: headers, then the body with CRLF line ends. */
	weir_buf_addstr(&msg, "Date: ");
	rfc5322_date(&msg);
	/* Addresses go as they are (SMTPUTF8 servers take UTF-8 ones); only
	 * the subject may need encoded words. */
	weir_buf_addstr(&msg, "\r\nFrom: ");
	weir_buf_addstr(&msg, from);
	weir_buf_addstr(&msg, "\r\nTo: ");
	json_array_foreach(m->to, i, v) {
		if (!one_line(json_string_value(v))) {
			weir_buf_setf(&ctx->message, "\"to\" must be a list of addresses, each one line");
			goto out;
		}
		weir_buf_addstr(&msg, i ? ", " : "");
		weir_buf_addstr(&msg, json_string_value(v));
		{
			char *a = bare_address(json_string_value(v));
			rcpt = curl_slist_append(rcpt, a);
			free(a);
		}
	}
	if (json_array_size(m->cc)) {
		weir_buf_addstr(&msg, "\r\nCc: ");
		json_array_foreach(m->cc, i, v) {
			char *a;
			if (!one_line(json_string_value(v))) {
				weir_buf_setf(&ctx->message, "\"cc\" must be a list of addresses, each one line");
				goto out;
			}
			weir_buf_addstr(&msg, i ? ", " : "");
			weir_buf_addstr(&msg, json_string_value(v));
			a = bare_address(json_string_value(v));
			rcpt = curl_slist_append(rcpt, a);
			free(a);
		}
	}
	weir_buf_addstr(&msg, "\r\nSubject: ");
	header_text(&msg, m->subject ? m->subject : "");
	weir_buf_addf(&msg, "\r\nMessage-ID: <%lld.%ld@weir>\r\nMIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		      (long long)weir_now_us(), (long)getpid());
	for (const char *p = m->body ? m->body : ""; *p; p++) {
		if (*p == '\n' && (p == m->body || p[-1] != '\r'))
			weir_buf_addch(&msg, '\r');
		weir_buf_addch(&msg, *p);
	}
	if (msg.len < 2 || memcmp(msg.buf + msg.len - 2, "\r\n", 2))
		weir_buf_addstr(&msg, "\r\n");
	up.p = msg.buf;
	up.left = msg.len;
	mail_from = bare_address(from);

	h = curl_easy_init();
	if (!h) {
		weir_buf_setf(&ctx->message, "could not initialise libcurl");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url.buf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
	if (login || password) {
		curl_easy_setopt(h, CURLOPT_USERNAME, login ? login : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, password ? password : "");
	}
	if (starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, ctx);
	tmo = timeout_ms(ctx, m->timeout_us);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, tmo > 0 && tmo < CONNECT_TIMEOUT_MS ? tmo : CONNECT_TIMEOUT_MS);
	if (tmo > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
	crc = curl_easy_perform(h);
	if (crc == CURLE_ABORTED_BY_CALLBACK || (crc != CURLE_OK && weir__op_interrupted(ctx))) {
		weir_buf_setf(&ctx->message, "sending mail through %s was interrupted", url.buf);
		goto out;
	}
	if (crc != CURLE_OK) {
		curl_failure(ctx, crc, errbuf, "sending mail through", url.buf);
		if (crc == CURLE_USE_SSL_FAILED)
			weir_buf_addstr(&ctx->message, " (the connection asks for STARTTLS: extra.starttls)");
		goto out;
	}
	rc = 0;
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	free(mail_from);
	weir_buf_release(&msg);
	weir_buf_release(&url);
	return rc;
}

/* ------------------------------------------------------------------ */
/* request keys shared by http and http_sensor                         */
/* ------------------------------------------------------------------ */

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", NULL};

void weir__http_validate_req(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *conn = weir__op_want_conn(task, "connection", false, "an http connection", d);
	const struct weir_node *url = weir__op_want_text(task, "url", !conn, d);
	const struct weir_node *j = weir_node_get(task, "json");

	if (url && !weir__op_templated(url) && !strstr(url->str, "://") && !conn)
		weir_diag_at(d, url, "\"url\" must be absolute (http:// or https://) unless a \"connection\" gives the host");
	if (url && !weir__op_templated(url) && strstr(url->str, "://") && strncasecmp(url->str, "http://", 7) &&
	    strncasecmp(url->str, "https://", 8))
		weir_diag_at(d, url, "\"url\" must use http or https");
	weir__op_want_enum(task, "method", methods, d);
	weir__op_want_string_map(task, "headers", d);
	weir__op_want_str(task, "body", d);
	if (j && weir_node_get(task, "body"))
		weir_diag_at(d, weir_node_key(task, "json"), "use either \"body\" (text) or \"json\" (a value sent as JSON), not both");
	weir__op_want_bool(task, "verify_tls", d);
	weir__op_want_bool(task, "follow_redirects", d);
	weir__op_want_duration(task, "request_timeout", true, d);
}

int weir__http_req_config(struct weir_task_ctx *ctx, struct weir__http_req *req, char **body_owned)
{
	json_t *j = json_object_get(ctx->config, "json"), *h = json_object_get(ctx->config, "headers");
	const char *name = weir__op_str(ctx, "connection");

	memset(req, 0, sizeof(*req));
	*body_owned = NULL;
	req->url = weir__op_str(ctx, "url");
	if (name) {
		req->conn = weir__op_conn(ctx, "connection", "http");
		if (!req->conn)
			return WEIR_EINVALID;
	}
	if (!req->url && !req->conn) {
		weir_buf_setf(&ctx->message, "http task needs \"url\"");
		return WEIR_EINVALID;
	}
	if (!req->url)
		req->url = "";
	if (h && !json_is_object(h)) {
		weir_buf_setf(&ctx->message, "\"headers\" must be a mapping of names to strings");
		return WEIR_EINVALID;
	}
	req->headers = h;
	req->body = weir__op_str(ctx, "body");
	if (j) {
		*body_owned = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		req->body = *body_owned;
		req->content_type = "application/json";
	} else if (req->body) {
		req->content_type = "text/plain; charset=utf-8";
	}
	req->method = weir__op_str(ctx, "method");
	if (!req->method)
		req->method = req->body ? "POST" : "GET";
	if (weir__op_bool(ctx, "verify_tls", true, &req->verify_tls) < 0 ||
	    weir__op_bool(ctx, "follow_redirects", true, &req->follow_redirects) < 0 ||
	    weir__op_duration(ctx, "request_timeout", 0, &req->timeout_us) < 0)
		return WEIR_EINVALID;
	if (!req->verify_tls)
		weir_task_log(ctx, "WARNING: TLS certificate verification is off (verify_tls: false): the peer is not authenticated");
	return 0;
}

void weir__http_log_response(struct weir_task_ctx *ctx, const struct weir__http_req *req,
			     const struct weir__http_resp *resp, int64_t took_us)
{
	weir_task_log(ctx, "%s %s -> %ld (%zu bytes%s%s) in %.3fs", req->method, resp->url, resp->status,
		      resp->body.len, resp->content_type[0] ? ", " : "", resp->content_type,
		      (double)took_us / 1e6);
}

char *weir__http_excerpt(const struct weir__http_resp *resp)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t n = resp->body.len < 200 ? resp->body.len : 200;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)resp->body.buf[i];
		weir_buf_addch(&b, c < 0x20 ? ' ' : c);
	}
	while (n > 0 && n < resp->body.len && ((unsigned char)b.buf[b.len - 1] & 0xC0) == 0x80)
		weir_buf_truncate(&b, --n); /* not inside a UTF-8 sequence */
	if (resp->body.len > 200)
		weir_buf_addstr(&b, "...");
	return weir_buf_detach(&b, NULL);
}
