/*
 * fuzz_template.c: libFuzzer target for engine/template.c.
 *
 * Each input is used twice:
 *
 *   1. as a template, rendered against a fixed context (strings with
 *      quotes, backslashes, control bytes, NUL and UTF-8; integers at the
 *      extremes; reals; nested objects and arrays; null; booleans; a value
 *      nested too deeply to render), and checked with
 *      weir_template_check().  Oracles: output within the limit and
 *      NUL-terminated; known error codes only, each with a message and an
 *      offset inside the template; check() and render() agree on syntax
 *      errors; check() with a callback that resolves paths the same way
 *      agrees with render() on unknown variables; every reported path is
 *      the template text at its offset; a successful output of L bytes
 *      also renders into a limit of exactly L and fails with ETOOBIG at
 *      L - 1 (the limit is exact even through filter chains).
 *
 *   2. as a value v: "{{ v | sh }}" must unquote (POSIX rules) to v,
 *      "{{ v | url }}" must percent-decode to v, and "{{ v | json }}" must
 *      parse back to v when v is valid UTF-8.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I.
 *        common/ *.c engine/template.c tests/fuzz/fuzz_template.c -ljansson
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "engine/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                             \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			abort();                                                      \
		}                                                                     \
	} while (0)

#define FUZZ_LIMIT (64 * 1024)

static json_t *fuzz_ctx;

static json_t *nest(int depth)
{
	json_t *v = json_string("bottom");

	for (int i = 0; i < depth; i++) {
		json_t *o = i % 2 ? json_object() : json_array();
		if (json_is_object(o))
			json_object_set_new(o, "d", v);
		else
			json_array_append_new(o, v);
		v = o;
	}
	return v;
}

static json_t *ctx_get(void)
{
	static const char text[] =
		"{\"ds\":\"2024-01-02\",\"s\":\"it's \\\"q\\\" \\\\ $(x) `y` \\n\\t\\u0001 \\u00e9\\u20ac\","
		"\"empty\":\"\",\"n\":42,\"neg\":-7,\"max\":9223372036854775807,"
		"\"min\":-9223372036854775808,\"r\":0.1,\"r3\":3.0,\"nz\":-0.0,\"huge\":1e300,"
		"\"tiny\":5e-324,\"t\":true,\"f\":false,\"nil\":null,"
		"\"params\":{\"area\":\"north sea\",\"bbox\":[1,2.5,\"x\",null,[[]],{}],"
		"\"deep\":{\"a\":{\"b\":{\"c\":[0,{\"d\":\"e\"}]}}},\"0\":\"zero\",\"a-b\":\"dash\"},"
		"\"list\":[10,{\"id\":\"first\"},[\"x\",\"y\"],true,null,0.5],"
		"\"obj\":{\"zeta\":1,\"alpha\":[true,null],\"s\":\"\\\\\\\\\"},\"eo\":{},\"ea\":[]}";

	if (!fuzz_ctx) {
		struct weir_buf big = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

		fuzz_ctx = json_loads(text, 0, NULL);
		FUZZ_ASSERT(fuzz_ctx);
		json_object_set_new(fuzz_ctx, "nul", json_stringn("a\0b'c", 5));
		json_object_set_new(fuzz_ctx, "ok_deep", nest(200));
		json_object_set_new(fuzz_ctx, "too_deep", nest(2100));
		/* Grows fast under `| json` and `| sh`. */
		for (int i = 0; i < 512; i++)
			weir_buf_addstr(&big, "\\\"'%");
		json_object_set_new(fuzz_ctx, "big", json_string(big.buf));
		weir_buf_release(&big);
	}
	return fuzz_ctx;
}

/* The same path semantics as template.c, written independently. */
static json_t *resolve(json_t *ctx, const char *path)
{
	json_t *cur = ctx;
	const char *p = path;

	if (!json_is_object(ctx))
		return NULL;
	for (;;) {
		size_t len = strcspn(p, ".");

		if (json_is_object(cur)) {
			cur = json_object_getn(cur, p, len);
		} else if (json_is_array(cur)) {
			size_t idx = 0;

			if (len == 0 || len > 18 || (len > 1 && p[0] == '0'))
				return NULL;
			for (size_t i = 0; i < len; i++) {
				if (p[i] < '0' || p[i] > '9')
					return NULL;
				idx = idx * 10 + (size_t)(p[i] - '0');
			}
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
		if (!p[len])
			return cur;
		p += len + 1;
	}
}

struct var_state {
	const char *tpl;
	size_t tpl_len;
	int calls;
};

static int var_fn(void *arg, const char *path, size_t off, struct weir_buf *err)
{
	struct var_state *st = arg;
	size_t n = strlen(path);

	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(off + n <= st->tpl_len);
	FUZZ_ASSERT(memcmp(st->tpl + off, path, n) == 0);
	st->calls++;
	if (!resolve(fuzz_ctx, path)) {
		weir_buf_addf(err, "unknown variable \"%s\"", path);
		return WEIR_EINVALID;
	}
	return 0;
}

static int render(const char *tpl, json_t *ctx, size_t limit, struct weir_buf *out,
		  size_t *off, struct weir_buf *err)
{
	int rc;

	weir_buf_release(out);
	weir_buf_init(out, limit);
	weir_buf_reset(err);
	*off = SIZE_MAX;
	rc = weir_template_render(tpl, ctx, out, off, err);
	FUZZ_ASSERT(out->len <= limit);
	FUZZ_ASSERT(out->buf[out->len] == '\0');
	FUZZ_ASSERT(rc == 0 || rc == WEIR_ESYNTAX || rc == WEIR_EINVALID || rc == WEIR_ETOOBIG);
	if (rc < 0) {
		FUZZ_ASSERT(err->len > 0);
		FUZZ_ASSERT(*off <= strlen(tpl));
	} else {
		FUZZ_ASSERT(err->len == 0 && *off == SIZE_MAX);
	}
	return rc;
}

static void fuzz_as_template(const char *tpl, size_t tpl_len)
{
	json_t *ctx = ctx_get();
	struct weir_buf out = WEIR_BUF_INIT(FUZZ_LIMIT), out2 = WEIR_BUF_INIT(0);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err2 = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct var_state st = {tpl, tpl_len, 0};
	size_t off = 0, off2 = 0, syn_off = SIZE_MAX, var_off = SIZE_MAX;
	int rc, syn_rc, var_rc;

	rc = render(tpl, ctx, FUZZ_LIMIT, &out, &off, &err);

	/* Syntax and filter errors: check() without a callback finds the same. */
	syn_rc = weir_template_check(tpl, NULL, NULL, &syn_off, &err2);
	if (syn_rc < 0) {
		FUZZ_ASSERT(rc == syn_rc && off == syn_off);
		FUZZ_ASSERT(strcmp(err.buf, err2.buf) == 0);
		FUZZ_ASSERT(out.len == 0);
	}
	weir_buf_reset(&err2);

	/* Variables: check() with a resolving callback agrees with render(). */
	var_rc = weir_template_check(tpl, var_fn, &st, &var_off, &err2);
	FUZZ_ASSERT(var_rc <= 0);
	if (syn_rc < 0) {
		FUZZ_ASSERT(var_rc == syn_rc && st.calls == 0);
	} else if (var_rc < 0) {
		FUZZ_ASSERT(var_rc == WEIR_EINVALID && rc < 0);
		if (rc == WEIR_EINVALID && strncmp(err.buf, "unknown variable", 16) == 0)
			FUZZ_ASSERT(off == var_off && strcmp(err.buf, err2.buf) == 0);
	} else {
		FUZZ_ASSERT(rc == 0 || rc == WEIR_ETOOBIG ||
			    (rc == WEIR_EINVALID && strstr(err.buf, "NUL byte")));
	}

	/* The limit is exact: L bytes fit in L, not in L - 1. */
	if (rc == 0) {
		size_t len = out.len;

		rc = render(tpl, ctx, len, &out2, &off2, &err2);
		FUZZ_ASSERT(rc == 0);
		FUZZ_ASSERT(out2.len == len && memcmp(out.buf, out2.buf, len) == 0);
		if (len > 0) {
			rc = render(tpl, ctx, len - 1, &out2, &off2, &err2);
			FUZZ_ASSERT(rc == WEIR_ETOOBIG);
		}
	}

	(void)weir_template_has_expr(tpl);
	weir_buf_release(&out);
	weir_buf_release(&out2);
	weir_buf_release(&err);
	weir_buf_release(&err2);
}

/* Undoes `| sh` by POSIX rules; false unless s is exactly our quoting. */
static bool sh_unquote(const char *s, size_t n, struct weir_buf *dst)
{
	bool quoted = false;

	if (n < 2 || s[0] != '\'')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (quoted) {
			if (s[i] == '\'')
				quoted = false;
			else
				weir_buf_addch(dst, s[i]);
		} else if (s[i] == '\'') {
			quoted = true;
		} else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
			weir_buf_addch(dst, '\'');
			i++;
		} else {
			return false; /* an unquoted byte the shell would interpret */
		}
	}
	return !quoted;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool url_decode(const char *s, size_t n, struct weir_buf *dst)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return false;
			if (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return false;
			weir_buf_addch(dst, hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			weir_buf_addch(dst, c);
		} else {
			return false;
		}
	}
	return true;
}

static void fuzz_as_value(const uint8_t *data, size_t size)
{
	json_t *ctx = json_object();
	struct weir_buf out = WEIR_BUF_INIT(0), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf dec = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *utf8 = json_stringn((const char *)data, size);
	size_t off;
	int rc;

	json_object_set_new(ctx, "v", json_stringn_nocheck((const char *)data, size));

	rc = render("{{ v | sh }}", ctx, FUZZ_LIMIT, &out, &off, &err);
	if (memchr(data, '\0', size)) {
		FUZZ_ASSERT(rc == WEIR_EINVALID);
	} else if (rc == 0) {
		FUZZ_ASSERT(sh_unquote(out.buf, out.len, &dec));
		FUZZ_ASSERT(dec.len == size && (size == 0 || memcmp(dec.buf, data, size) == 0));
	} else {
		FUZZ_ASSERT(rc == WEIR_ETOOBIG);
	}

	weir_buf_reset(&dec);
	rc = render("{{ v | url }}", ctx, FUZZ_LIMIT, &out, &off, &err);
	if (rc == 0) {
		FUZZ_ASSERT(url_decode(out.buf, out.len, &dec));
		FUZZ_ASSERT(dec.len == size && (size == 0 || memcmp(dec.buf, data, size) == 0));
	} else {
		FUZZ_ASSERT(rc == WEIR_ETOOBIG);
	}

	rc = render("{{ v | json }}", ctx, FUZZ_LIMIT, &out, &off, &err);
	FUZZ_ASSERT(rc == 0 || rc == WEIR_ETOOBIG);
	if (rc == 0 && utf8) {
		json_t *back = json_loadb(out.buf, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		FUZZ_ASSERT(back && json_equal(back, utf8));
		json_decref(back);
	}

	json_decref(utf8);
	json_decref(ctx);
	weir_buf_release(&out);
	weir_buf_release(&err);
	weir_buf_release(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tpl = malloc(size + 1);

	if (!tpl)
		return 0;
	memcpy(tpl, data, size);
	tpl[size] = '\0';
	fuzz_as_template(tpl, strlen(tpl));
	free(tpl);
	fuzz_as_value(data, size);
	return 0;
}
