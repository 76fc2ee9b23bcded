/*
 * connections_light.c: the parts of connections.h that the lean runner
 * `weir-task` links through spec.c and the operators' validate helpers:
 * names, and which values are secrets.  Nothing here may call into the
 * config, the YAML parser or the store (connections.c), or those would be
 * linked into every task process.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "engine/connections.h"
#include "common/banned.h"

bool weir_conn_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > WEIR_CONN_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

bool weir_conn_secret_key(const char *key)
{
	static const char *const words[] = {"password", "secret", "token", "key"};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(words); i++)
		if (strcasestr(key, words[i]))
			return true;
	return false;
}

static void add_secret(json_t *secrets, const char *s)
{
	size_t i;
	json_t *v;

	if (!s || !*s)
		return;
	json_array_foreach(secrets, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return;
	json_array_append_new(secrets, json_string(s));
}

void weir_connections_secrets(json_t *conns, json_t *secrets)
{
	const char *name, *k;
	json_t *c, *v;

	json_object_foreach(conns, name, c) {
		add_secret(secrets, json_string_value(json_object_get(c, "password")));
		json_object_foreach(json_object_get(c, "extra"), k, v)
			if (weir_conn_secret_key(k) && json_is_string(v))
				add_secret(secrets, json_string_value(v));
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *weir_conninfo_password(const char *ci)
{
	const char *p, *at, *colon, *end;
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	if (!ci)
		return NULL;
	p = strstr(ci, "://");
	if (p) {
		/* URI: scheme://user:PASSWORD@host (percent-encoded) */
		p += 3;
		end = p + strcspn(p, "/?#");
		at = memrchr(p, '@', (size_t)(end - p));
		if (!at)
			return NULL;
		colon = memchr(p, ':', (size_t)(at - p));
		if (!colon || colon + 1 == at)
			return NULL;
		for (const char *q = colon + 1; q < at; q++) {
			if (*q == '%' && q + 2 < at && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
				weir_buf_addch(&b, hexval(q[1]) * 16 + hexval(q[2]));
				q += 2;
			} else {
				weir_buf_addch(&b, *q);
			}
		}
		return weir_buf_detach(&b, NULL);
	}
	/* key=value: password=SECRET or password='SEC RET' */
	for (p = ci; (p = strstr(p, "password")); p += 8) {
		const char *q = p + 8;
		if (p > ci && !isspace((unsigned char)p[-1]))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '=')
			continue;
		q++;
		while (isspace((unsigned char)*q))
			q++;
		if (*q == '\'') {
			for (q++; *q && *q != '\''; q++) {
				if (*q == '\\' && q[1])
					q++;
				weir_buf_addch(&b, *q);
			}
		} else {
			for (; *q && !isspace((unsigned char)*q); q++) {
				if (*q == '\\' && q[1])
					q++;
				weir_buf_addch(&b, *q);
			}
		}
		if (b.len)
			return weir_buf_detach(&b, NULL);
	}
	weir_buf_release(&b);
	return NULL;
}
