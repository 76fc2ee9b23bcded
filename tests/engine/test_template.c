/* test_template.c: the {{ expression | filter }} renderer (engine/template.c). */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "engine/template.h"
#include "tests/check.h"

/* The context most tests render against. */
static const char ctx_text[] =
	"{"
	"  \"ds\": \"2024-01-02\","
	"  \"n\": 42, \"neg\": -7, \"zero\": 0,"
	"  \"max\": 9223372036854775807, \"min\": -9223372036854775808,"
	"  \"r\": 0.1, \"r3\": 3.0, \"third\": 0.3333333333333333, \"huge\": 1e300,"
	"  \"tiny\": 5e-324, \"negzero\": -0.0, \"dec\": 123456.789, \"e20\": 1e20,"
	"  \"t\": true, \"f\": false, \"nil\": null,"
	"  \"params\": {\"area\": \"north sea\", \"bbox\": [1, 2.5, \"x\"],"
	"             \"deep\": {\"a\": {\"b\": {\"c\": \"abc\"}}}},"
	"  \"list\": [10, {\"id\": \"first\"}, [\"x\", \"y\"]],"
	"  \"obj\": {\"zeta\": 1, \"alpha\": [true, null], \"s\": \"q\\\"\\\\\"},"
	"  \"empty_o\": {}, \"empty_a\": [], \"empty_s\": \"\","
	"  \"digits\": {\"0\": \"key zero\", \"007\": \"bond\"},"
	"  \"my-key_2\": \"dashed\","
	"  \"quote\": \"it's\", \"dq\": \"say \\\"hi\\\"\","
	"  \"ctl\": \"a\\tb\\nc\\u0001\\u001f\\u007f\","
	"  \"utf8\": \"Grüße €\","
	"  \"url\": \"a b&c=d/e?f#g~h-i_j.k%\","
	"  \"mixed\": \"MiXeD Ünï 123\""
	"}";

static json_t *ctx_new(void)
{
	json_error_t jerr;
	json_t *c = json_loads(ctx_text, 0, &jerr);

	if (!c)
		check__fail(__FILE__, __LINE__, "bad test context: %s (line %d col %d)", jerr.text,
			    jerr.line, jerr.column);
	return c;
}

/* Renders tpl against ctx_new() and expects success with want. */
#define EXPECT_RENDER(tpl, want) expect_render(__FILE__, __LINE__, (tpl), (want))
static void expect_render(const char *file, int line, const char *tpl, const char *want)
{
	json_t *c = ctx_new();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 12345;
	int rc = weir_template_render(tpl, c, &out, &off, &err);

	if (rc != 0)
		check__fail(file, line, "render(\"%s\") returned %s: %s (offset %zu)", tpl,
			    check__errname(rc), err.buf, off);
	if (strcmp(out.buf, want) != 0 || out.len != strlen(want))
		check__fail(file, line, "render(\"%s\"):\n  got:      \"%s\"\n  expected: \"%s\"", tpl,
			    out.buf, want);
	if (err.len != 0 || off != 12345)
		check__fail(file, line, "render(\"%s\") touched err or err_off on success", tpl);
	/* check() must accept whatever render() accepts. */
	rc = weir_template_check(tpl, NULL, NULL, NULL, NULL);
	if (rc != 0)
		check__fail(file, line, "check(\"%s\") returned %s", tpl, check__errname(rc));
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(c);
}

/* Renders tpl and expects the error rc with exactly msg at offset off. */
#define EXPECT_ERROR(tpl, rc, msg, off) expect_error(__FILE__, __LINE__, (tpl), (rc), (msg), (off))
static void expect_error(const char *file, int line, const char *tpl, int want_rc,
			 const char *want_msg, size_t want_off)
{
	json_t *c = ctx_new();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 12345;
	int rc = weir_template_render(tpl, c, &out, &off, &err);

	if (rc != want_rc)
		check__fail(file, line, "render(\"%s\") returned %s, expected %s (message \"%s\")", tpl,
			    weir_errname(rc), weir_errname(want_rc), err.buf);
	if (strcmp(err.buf, want_msg) != 0)
		check__fail(file, line, "render(\"%s\") message:\n  got:      \"%s\"\n  expected: \"%s\"",
			    tpl, err.buf, want_msg);
	if (off != want_off)
		check__fail(file, line, "render(\"%s\") offset: got %zu, expected %zu", tpl, off,
			    want_off);
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(c);
}

/* ------------------------------------------------------------------------ */
/* Text and values                                                          */
/* ------------------------------------------------------------------------ */

static void test_template__copies_plain_text_unchanged(void)
{
	EXPECT_RENDER("", "");
	EXPECT_RENDER("hello world", "hello world");
	EXPECT_RENDER("line1\nline2\ttab\r\n", "line1\nline2\ttab\r\n");
	EXPECT_RENDER("unicode: Grüße €", "unicode: Grüße €");
}

static void test_template__lone_braces_outside_expressions_are_literal(void)
{
	EXPECT_RENDER("}}", "}}");
	EXPECT_RENDER("a } b { c", "a } b { c");
	EXPECT_RENDER("{x} {\"a\": 1} }}}", "{x} {\"a\": 1} }}}");
	EXPECT_RENDER("{{ n }}}}", "42}}");
	EXPECT_RENDER("{\"n\": {{ n }}}", "{\"n\": 42}");
	EXPECT_RENDER("{ {{ n }}", "{ 42");
}

static void test_template__renders_strings_verbatim(void)
{
	EXPECT_RENDER("day={{ ds }}", "day=2024-01-02");
	EXPECT_RENDER("{{ quote }} {{ dq }}", "it's say \"hi\"");
	EXPECT_RENDER("{{ ctl }}", "a\tb\nc\x01\x1f\x7f");
	EXPECT_RENDER("{{ utf8 }}", "Grüße €");
	EXPECT_RENDER("[{{ empty_s }}]", "[]");
}

static void test_template__renders_integers_in_decimal(void)
{
	EXPECT_RENDER("{{ n }} {{ neg }} {{ zero }}", "42 -7 0");
	EXPECT_RENDER("{{ max }}", "9223372036854775807");
	EXPECT_RENDER("{{ min }}", "-9223372036854775808");
}

static void test_template__renders_reals_in_shortest_round_trip_form(void)
{
	EXPECT_RENDER("{{ r }}", "0.1");
	EXPECT_RENDER("{{ r3 }}", "3.0");
	EXPECT_RENDER("{{ third }}", "0.3333333333333333");
	EXPECT_RENDER("{{ huge }}", "1e+300");
	EXPECT_RENDER("{{ tiny }}", "5e-324");
	EXPECT_RENDER("{{ negzero }}", "-0.0");
	EXPECT_RENDER("{{ dec }}", "123456.789");
	EXPECT_RENDER("{{ e20 }}", "1e+20");
}

static void test_template__reals_read_back_as_the_same_double(void)
{
	static const double values[] = {0.1, 0.2, 0.30000000000000004, 1.0 / 3, 2.0 / 3,
					 1e-7, 123456789.123456789, 9007199254740993.0,
					 1.7976931348623157e308, 2.2250738585072014e-308, -1.5,
					 5e-324, 100.0, 1e15, 1e16, 0.000123};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json_t *c = json_pack("{s:f}", "x", values[i]);
		struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		char check[40];

		CHECK_OK(weir_template_render("{{ x }}", c, &out, NULL, NULL));
		CHECK(strtod(out.buf, NULL) == values[i]);
		/* No more digits than %.17g, and never fewer than needed. */
		snprintf(check, sizeof(check), "%.17g", values[i]);
		CHECK_INT_OP(out.len, <=, strlen(check) + 2);
		CHECK(strchr(out.buf, '.') || strchr(out.buf, 'e'));
		weir_buf_release(&out);
		json_decref(c);
	}
}

static void test_template__renders_booleans_and_null(void)
{
	EXPECT_RENDER("{{ t }}/{{ f }}/{{ nil }}", "true/false/null");
}

static void test_template__renders_arrays_and_objects_as_compact_json_in_insertion_order(void)
{
	EXPECT_RENDER("{{ list }}", "[10,{\"id\":\"first\"},[\"x\",\"y\"]]");
	EXPECT_RENDER("{{ obj }}", "{\"zeta\":1,\"alpha\":[true,null],\"s\":\"q\\\"\\\\\"}");
	EXPECT_RENDER("{{ params.bbox }}", "[1,2.5,\"x\"]");
	EXPECT_RENDER("{{ empty_o }} {{ empty_a }}", "{} []");
}

static void test_template__json_encoding_matches_jansson_except_for_reals(void)
{
	json_t *v = json_loads("{\"b\":[1,-2,true,false,null,\"\",{}],\"a\":{\"x\":[[],[[]]]},"
			       "\"s\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u00e9\\u20ac"
			       "\\ud83d\\ude00\\u2028\",\"nul\":\"nul\\u0000byte\"}",
			       JSON_ALLOW_NUL, NULL);
	json_t *c = json_object();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *want;

	CHECK(v != NULL);
	/* Keys may hold NUL bytes too (jansson >= 2.14). */
	CHECK_OK(json_object_setn_new(json_object_get(v, "a"), "k\0y", 3, json_string("v")));
	json_object_set(c, "v", v);
	want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	CHECK(want != NULL);
	CHECK_OK(weir_template_render("{{ v }}", c, &out, NULL, NULL));
	CHECK_INT_EQ(out.len, strlen(want));
	CHECK_STR_EQ(out.buf, want);
	weir_buf_reset(&out);
	CHECK_OK(weir_template_render("{{ v | json }}", c, &out, NULL, NULL));
	CHECK_STR_EQ(out.buf, want);
	free(want);

	/* Each member on its own, strings quoted. */
	want = json_dumps(json_object_get(v, "s"), JSON_COMPACT | JSON_ENCODE_ANY);
	weir_buf_reset(&out);
	CHECK_OK(weir_template_render("{{ v.s | json }}", c, &out, NULL, NULL));
	CHECK_STR_EQ(out.buf, want);
	free(want);
	weir_buf_release(&out);
	json_decref(v);
	json_decref(c);
}

static void test_template__strings_with_nul_bytes_render_whole(void)
{
	json_t *c = json_object();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	json_object_set_new(c, "z", json_stringn("a\0b", 3));
	CHECK_OK(weir_template_render("[{{ z }}]", c, &out, NULL, NULL));
	CHECK_INT_EQ(out.len, 5);
	CHECK(memcmp(out.buf, "[a\0b]", 5) == 0);
	weir_buf_reset(&out);
	CHECK_OK(weir_template_render("{{ z | json }}", c, &out, NULL, NULL));
	CHECK_STR_EQ(out.buf, "\"a\\u0000b\"");
	weir_buf_reset(&out);
	CHECK_OK(weir_template_render("{{ z | url }}", c, &out, NULL, NULL));
	CHECK_STR_EQ(out.buf, "a%00b");
	weir_buf_release(&out);
	json_decref(c);
}

/* ------------------------------------------------------------------------ */
/* Paths and syntax that works                                              */
/* ------------------------------------------------------------------------ */

static void test_template__looks_up_nested_paths(void)
{
	EXPECT_RENDER("{{ params.area }}", "north sea");
	EXPECT_RENDER("{{ params.deep.a.b.c }}", "abc");
	EXPECT_RENDER("{{ params.deep.a }}", "{\"b\":{\"c\":\"abc\"}}");
}

static void test_template__indexes_arrays_by_decimal_position(void)
{
	EXPECT_RENDER("{{ list.0 }}", "10");
	EXPECT_RENDER("{{ list.1.id }}", "first");
	EXPECT_RENDER("{{ list.2.1 }}", "y");
	EXPECT_RENDER("{{ params.bbox.1 }}", "2.5");
}

static void test_template__numeric_segments_in_objects_are_keys(void)
{
	EXPECT_RENDER("{{ digits.0 }}", "key zero");
	EXPECT_RENDER("{{ digits.007 }}", "bond");
}

static void test_template__identifiers_may_contain_dashes_and_underscores(void)
{
	EXPECT_RENDER("{{ my-key_2 }}", "dashed");
	EXPECT_RENDER("{{my-key_2|upper}}", "DASHED");
}

static void test_template__whitespace_inside_braces_is_free(void)
{
	EXPECT_RENDER("{{n}}", "42");
	EXPECT_RENDER("{{   n   }}", "42");
	EXPECT_RENDER("{{\n\tds\r\n|\n upper \t}}", "2024-01-02");
	EXPECT_RENDER("{{ ds|upper|lower }}", "2024-01-02");
}

static void test_template__string_literals_render_their_contents(void)
{
	EXPECT_RENDER("{{ '{{' }}", "{{");
	EXPECT_RENDER("{{ \"}}\" }}", "}}");
	EXPECT_RENDER("{{ '{{' }} ds {{ \"}}\" }}", "{{ ds }}");
	EXPECT_RENDER("{{ \"it's\" }}", "it's");
	EXPECT_RENDER("{{ 'say \"hi\"' }}", "say \"hi\"");
	EXPECT_RENDER("{{ '' }}{{\"\"}}", "");
	EXPECT_RENDER("{{ 'a | b' | upper }}", "A | B");
}

static void test_template__renders_several_expressions_and_text_between(void)
{
	EXPECT_RENDER("s3://bucket/{{ ds }}/{{ params.area | url }}/part-{{ list.0 }}.csv",
		      "s3://bucket/2024-01-02/north%20sea/part-10.csv");
	EXPECT_RENDER("{{n}}{{n}}{{n}}", "424242");
}

static void test_template__appends_to_existing_output(void)
{
	json_t *c = ctx_new();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK_OK(weir_buf_addstr(&out, "prefix:"));
	CHECK_OK(weir_template_render("{{ n }}", c, &out, NULL, NULL));
	CHECK_STR_EQ(out.buf, "prefix:42");
	weir_buf_release(&out);
	json_decref(c);
}

/* ------------------------------------------------------------------------ */
/* Filters                                                                  */
/* ------------------------------------------------------------------------ */

static void test_template__json_filter_quotes_and_escapes_strings(void)
{
	EXPECT_RENDER("{{ ds | json }}", "\"2024-01-02\"");
	EXPECT_RENDER("{{ dq | json }}", "\"say \\\"hi\\\"\"");
	EXPECT_RENDER("{{ ctl | json }}", "\"a\\tb\\nc\\u0001\\u001F\x7f\"");
	EXPECT_RENDER("{{ utf8 | json }}", "\"Grüße €\"");
	EXPECT_RENDER("{{ empty_s | json }}", "\"\"");
	EXPECT_RENDER("{{ 'a\\b' | json }}", "\"a\\\\b\"");
}

static void test_template__json_filter_on_non_strings_is_the_rendered_text(void)
{
	EXPECT_RENDER("{{ n | json }}", "42");
	EXPECT_RENDER("{{ r | json }}", "0.1");
	EXPECT_RENDER("{{ t | json }} {{ nil | json }}", "true null");
	EXPECT_RENDER("{{ params.bbox | json }}", "[1,2.5,\"x\"]");
}

static void test_template__sh_filter_single_quotes_words(void)
{
	EXPECT_RENDER("{{ ds | sh }}", "'2024-01-02'");
	EXPECT_RENDER("{{ params.area | sh }}", "'north sea'");
	EXPECT_RENDER("{{ 'a$b`c\\d' | sh }}", "'a$b`c\\d'");
}

static void test_template__sh_filter_escapes_embedded_single_quotes(void)
{
	EXPECT_RENDER("{{ quote | sh }}", "'it'\\''s'");
	EXPECT_RENDER("{{ \"'\" | sh }}", "''\\'''");
	EXPECT_RENDER("{{ \"'; rm -rf / #\" | sh }}", "''\\''; rm -rf / #'");
}

static void test_template__sh_filter_quotes_the_empty_string(void)
{
	EXPECT_RENDER("{{ empty_s | sh }}", "''");
	EXPECT_RENDER("{{ '' | sh }}", "''");
}

/* Runs script with shell (a command line) in dir and returns its stdout. */
static char *run_shell(const char *shell, const char *script_path, size_t *len, int *status)
{
	char cmd[1024];
	struct weir_buf b = WEIR_BUF_INIT(1 << 20);
	FILE *p;
	char chunk[4096];
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s %s", shell, script_path);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		CHECK_OK(weir_buf_add(&b, chunk, n));
	*status = pclose(p);
	return weir_buf_detach(&b, len);
}

static void test_template__sh_filter_survives_injection_attempts_in_real_shells(void)
{
	static const char *const nasty[] = {
		"'; rm -rf / #",
		"$(touch PWNED)",
		"`touch PWNED`",
		"\"; touch PWNED; \"",
		"'$(touch PWNED)'",
		"'\\''; touch PWNED; '\\''",
		"a\nb\n",
		"\n",
		"\\",
		"\\'",
		"'",
		"''",
		"\"",
		"$HOME ${IFS} $0 $@ $$",
		"*",
		"~",
		"-n",
		"a b\tc  d",
		"!x !! ^a^b",
		"%s %d %%",
		"\x01\x02\x1b[31m\x7f",
		"Grüße €",
		"; touch PWNED & touch PWNED | touch PWNED && touch PWNED",
		"<PWNED >PWNED 2>&1",
		"\\\n touch PWNED",
		"",
	};
	static const char *const shells[] = {"/bin/sh", "/bin/dash", "/bin/bash",
					     "/bin/bash --posix", "/usr/bin/busybox sh",
					     "/usr/bin/zsh", "/bin/ksh", "/bin/mksh", NULL};
	char script[512], pwned[512];
	int ran = 0;

	snprintf(script, sizeof(script), "%s/script.sh", check_tmpdir());
	snprintf(pwned, sizeof(pwned), "%s/PWNED", check_tmpdir());
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
		json_t *c = json_object();
		struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

		json_object_set_new(c, "x", json_string(nasty[i]));
		CHECK_OK(weir_buf_addf(&out, "cd '%s' || exit 9\n", check_tmpdir()));
		/* Alone, glued between other words, and as the only argument. */
		CHECK_OK(weir_template_render("printf '%s|' {{ x | sh }} pre{{ x | sh }}post\n"
					      "set -- {{ x | sh }}; printf '%s|' \"$#\"\n",
					      c, &out, NULL, NULL));
		check_write_file(script, out.buf);
		for (size_t s = 0; shells[s]; s++) {
			char exe[64], *got;
			struct weir_buf want = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			size_t len;
			int status;

			snprintf(exe, sizeof(exe), "%s", shells[s]);
			*strchrnul(exe, ' ') = '\0';
			if (access(exe, X_OK) != 0)
				continue;
			got = run_shell(shells[s], script, &len, &status);
			CHECK_OK(weir_buf_addf(&want, "%s|pre%spost|1|", nasty[i], nasty[i]));
			if (len != want.len || memcmp(got, want.buf, len) != 0)
				check__fail(__FILE__, __LINE__,
					    "%s: value #%zu\n  got:      \"%s\"\n  expected: \"%s\"",
					    shells[s], i, got, want.buf);
			CHECK_INT_EQ(WEXITSTATUS(status), 0);
			CHECK(access(pwned, F_OK) != 0);
			ran++;
			free(got);
			weir_buf_release(&want);
		}
		weir_buf_release(&out);
		json_decref(c);
	}
	CHECK_INT_OP(ran, >=, (int)(sizeof(nasty) / sizeof(nasty[0])));
	check_note("%d shell runs", ran);
}

static void test_template__sh_filter_rejects_nul_bytes(void)
{
	json_t *c = json_object();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 0;

	json_object_set_new(c, "z", json_stringn("rm\0 -rf /", 9));
	CHECK_INT_EQ(weir_template_render("x {{ z | upper | sh }}", c, &out, &off, &err),
		     WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "filter \"sh\" cannot quote a value containing a NUL byte");
	CHECK_INT_EQ(off, 17);
	/* Nothing of the value reached the output. */
	CHECK_STR_EQ(out.buf, "x ");
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(c);
}

static void test_template__url_filter_keeps_only_unreserved_bytes(void)
{
	EXPECT_RENDER("{{ url | url }}", "a%20b%26c%3Dd%2Fe%3Ff%23g~h-i_j.k%25");
	EXPECT_RENDER("{{ 'AZaz09-._~' | url }}", "AZaz09-._~");
	EXPECT_RENDER("{{ \"'+!*()\" | url }}", "%27%2B%21%2A%28%29");
	EXPECT_RENDER("{{ empty_s | url }}", "");
}

static void test_template__url_filter_encodes_utf8_bytewise(void)
{
	EXPECT_RENDER("{{ utf8 | url }}", "Gr%C3%BC%C3%9Fe%20%E2%82%AC");
	EXPECT_RENDER("{{ ctl | url }}", "a%09b%0Ac%01%1F%7F");
}

static void test_template__upper_and_lower_map_ascii_only(void)
{
	EXPECT_RENDER("{{ mixed | upper }}", "MIXED ÜNï 123");
	EXPECT_RENDER("{{ mixed | lower }}", "mixed Ünï 123");
	EXPECT_RENDER("{{ utf8 | upper }}", "GRüßE €");
}

static void test_template__filters_chain_left_to_right(void)
{
	EXPECT_RENDER("{{ mixed | lower | url }}", "mixed%20%C3%9Cn%C3%AF%20123");
	EXPECT_RENDER("{{ quote | upper | sh }}", "'IT'\\''S'");
	EXPECT_RENDER("{{ quote | sh | url }}", "%27it%27%5C%27%27s%27");
	EXPECT_RENDER("{{ ds | json | sh }}", "'\"2024-01-02\"'");
	EXPECT_RENDER("{{ ds | sh | json }}", "\"'2024-01-02'\"");
}

static void test_template__json_twice_encodes_the_json_text_as_a_string(void)
{
	EXPECT_RENDER("{{ ds | json | json }}", "\"\\\"2024-01-02\\\"\"");
	EXPECT_RENDER("{{ params.bbox | json | json }}", "\"[1,2.5,\\\"x\\\"]\"");
	EXPECT_RENDER("{{ n | json | json }}", "\"42\"");
}

static void test_template__filters_apply_to_the_rendered_text_of_non_strings(void)
{
	EXPECT_RENDER("{{ n | sh }}", "'42'");
	EXPECT_RENDER("{{ t | upper }}", "TRUE");
	EXPECT_RENDER("{{ nil | sh }}", "'null'");
	EXPECT_RENDER("{{ list.1 | sh }}", "'{\"id\":\"first\"}'");
	EXPECT_RENDER("{{ params.bbox | url }}", "%5B1%2C2.5%2C%22x%22%5D");
	EXPECT_RENDER("{{ r3 | sh }}", "'3.0'");
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static void test_template__unknown_variable_is_an_error_not_empty(void)
{
	EXPECT_ERROR("a {{ nope }} b", WEIR_EINVALID, "unknown variable \"nope\"", 5);
	EXPECT_ERROR("{{ DS }}", WEIR_EINVALID, "unknown variable \"DS\"", 3);
}

static void test_template__unknown_nested_variable_names_the_full_path(void)
{
	EXPECT_ERROR("--{{ params.aoi }}", WEIR_EINVALID, "unknown variable \"params.aoi\"", 5);
	EXPECT_ERROR("{{params.deep.a.x.c|json}}", WEIR_EINVALID,
		     "unknown variable \"params.deep.a.x.c\"", 2);
}

static void test_template__key_inside_a_scalar_is_an_unknown_variable(void)
{
	EXPECT_ERROR("{{ ds.year }}", WEIR_EINVALID, "unknown variable \"ds.year\"", 3);
	EXPECT_ERROR("{{ n.0 }}", WEIR_EINVALID, "unknown variable \"n.0\"", 3);
	EXPECT_ERROR("{{ nil.x }}", WEIR_EINVALID, "unknown variable \"nil.x\"", 3);
	EXPECT_ERROR("{{ list.id }}", WEIR_EINVALID, "unknown variable \"list.id\"", 3);
}

static void test_template__index_out_of_range_is_an_unknown_variable(void)
{
	EXPECT_ERROR("{{ list.3 }}", WEIR_EINVALID, "unknown variable \"list.3\"", 3);
	EXPECT_ERROR("{{ empty_a.0 }}", WEIR_EINVALID, "unknown variable \"empty_a.0\"", 3);
	EXPECT_ERROR("{{ list.99999999999999999999999 }}", WEIR_EINVALID,
		     "unknown variable \"list.99999999999999999999999\"", 3);
}

static void test_template__array_index_with_leading_zero_is_an_unknown_variable(void)
{
	EXPECT_ERROR("{{ list.01 }}", WEIR_EINVALID, "unknown variable \"list.01\"", 3);
	EXPECT_ERROR("{{ list.00 }}", WEIR_EINVALID, "unknown variable \"list.00\"", 3);
}

static void test_template__missing_or_non_object_context_makes_every_variable_unknown(void)
{
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *arr = json_pack("[s]", "x");
	size_t off = 0;

	CHECK_INT_EQ(weir_template_render("{{ a }}", NULL, &out, &off, &err), WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "unknown variable \"a\"");
	weir_buf_reset(&err);
	CHECK_INT_EQ(weir_template_render("{{ 0 }}", arr, &out, &off, &err), WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "unknown variable \"0\"");
	/* Literals and text need no context. */
	CHECK_OK(weir_template_render("x{{ 'y' }}", NULL, &out, NULL, NULL));
	CHECK_STR_EQ(out.buf, "xy");
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(arr);
}

static void test_template__unknown_filter_suggests_the_closest(void)
{
	EXPECT_ERROR("{{ ds | jsno }}", WEIR_EINVALID,
		     "unknown filter \"jsno\" (did you mean \"json\"?)", 8);
	EXPECT_ERROR("{{ ds | uper }}", WEIR_EINVALID,
		     "unknown filter \"uper\" (did you mean \"upper\"?)", 8);
	EXPECT_ERROR("{{ ds | json | SH }}", WEIR_EINVALID,
		     "unknown filter \"SH\" (did you mean \"sh\"?)", 15);
}

static void test_template__unknown_filter_without_close_match_has_no_hint(void)
{
	EXPECT_ERROR("{{ ds | base64 }}", WEIR_EINVALID, "unknown filter \"base64\"", 8);
	EXPECT_ERROR("{{ 'x' | escape_everything_in_a_very_long_filter_name_that_goes_on_and_on_and_on }}",
		     WEIR_EINVALID,
		     "unknown filter \"escape_everything_in_a_very_long_filter_name_that_goes_on_and_on_and_on\"",
		     9);
}

static void test_template__unterminated_expression_reports_its_start(void)
{
	EXPECT_ERROR("abc {{ ds", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 4);
	EXPECT_ERROR("{{ ds }} {{", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 9);
	EXPECT_ERROR("{{ ds | json", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{ ds |", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{ params.", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{ ds }", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{ }", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{ a.}", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
	EXPECT_ERROR("{{ a |}", WEIR_ESYNTAX, "unterminated \"{{\" (expected \"}}\")", 0);
}

static void test_template__empty_expression_is_a_syntax_error(void)
{
	EXPECT_ERROR("x {{ }}", WEIR_ESYNTAX, "empty expression in \"{{ }}\"", 2);
	EXPECT_ERROR("{{}}", WEIR_ESYNTAX, "empty expression in \"{{ }}\"", 0);
	EXPECT_ERROR("{{ | json }}", WEIR_ESYNTAX, "empty expression in \"{{ }}\"", 0);
}

static void test_template__unexpected_character_is_reported_at_its_offset(void)
{
	EXPECT_ERROR("{{ $x }}", WEIR_ESYNTAX, "unexpected character '$' in expression", 3);
	EXPECT_ERROR("{{ ds $ }}", WEIR_ESYNTAX, "unexpected character '$' in expression", 6);
	EXPECT_ERROR("{{ ds x }}", WEIR_ESYNTAX, "unexpected character 'x' in expression", 6);
	EXPECT_ERROR("{{ ds } }}", WEIR_ESYNTAX, "unexpected character '}' in expression", 6);
	EXPECT_ERROR("{{ 1a }}", WEIR_ESYNTAX, "unexpected character 'a' in expression", 4);
	EXPECT_ERROR("{{ ds | json() }}", WEIR_ESYNTAX, "unexpected character '(' in expression",
		     12);
	EXPECT_ERROR("{{ 'a' . b }}", WEIR_ESYNTAX, "unexpected character '.' in expression", 7);
	EXPECT_ERROR("{{{ ds }}}", WEIR_ESYNTAX, "unexpected character '{' in expression", 2);
	EXPECT_ERROR("{{ \x01 }}", WEIR_ESYNTAX, "unexpected character '\\x01' in expression", 3);
	EXPECT_ERROR("{{ \xc3\xa9 }}", WEIR_ESYNTAX, "unexpected character '\\xc3' in expression",
		     3);
}

static void test_template__whitespace_is_not_allowed_inside_a_path(void)
{
	EXPECT_ERROR("{{ params .area }}", WEIR_ESYNTAX, "unexpected character '.' in expression",
		     10);
	EXPECT_ERROR("{{ params. area }}", WEIR_ESYNTAX, "expected a name or index after \".\"",
		     10);
	EXPECT_ERROR("{{ params..area }}", WEIR_ESYNTAX, "expected a name or index after \".\"",
		     10);
	EXPECT_ERROR("{{ params. }}", WEIR_ESYNTAX, "expected a name or index after \".\"", 10);
}

static void test_template__unterminated_string_literal_is_reported_at_the_quote(void)
{
	EXPECT_ERROR("ab {{ 'oops }}", WEIR_ESYNTAX, "unterminated string literal", 6);
	EXPECT_ERROR("{{ \"it's }}", WEIR_ESYNTAX, "unterminated string literal", 3);
}

static void test_template__missing_filter_name_is_a_syntax_error(void)
{
	EXPECT_ERROR("{{ ds | }}", WEIR_ESYNTAX, "expected a filter name after \"|\"", 8);
	EXPECT_ERROR("{{ ds || json }}", WEIR_ESYNTAX, "expected a filter name after \"|\"", 7);
	EXPECT_ERROR("{{ ds | 9 }}", WEIR_ESYNTAX, "expected a filter name after \"|\"", 8);
}

static void test_template__syntax_errors_win_over_earlier_unknown_variables(void)
{
	EXPECT_ERROR("{{ nope }} {{ ds | }}", WEIR_ESYNTAX, "expected a filter name after \"|\"",
		     19);
	EXPECT_ERROR("{{ nope }} {{ ds | jsno }}", WEIR_EINVALID,
		     "unknown filter \"jsno\" (did you mean \"json\"?)", 19);
	/* Among variables, the first one wins. */
	EXPECT_ERROR("{{ ds }} {{ nope1 }} {{ nope2 }}", WEIR_EINVALID,
		     "unknown variable \"nope1\"", 12);
}

static void test_template__errors_append_to_err_and_accept_null_out_parameters(void)
{
	json_t *c = ctx_new();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK_INT_EQ(weir_template_render("{{ nope }}", c, &out, NULL, NULL), WEIR_EINVALID);
	CHECK_INT_EQ(weir_template_render("{{", c, &out, NULL, NULL), WEIR_ESYNTAX);
	CHECK_OK(weir_buf_addstr(&err, "task \"a\": "));
	CHECK_INT_EQ(weir_template_render("{{ nope }}", c, &out, NULL, &err), WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "task \"a\": unknown variable \"nope\"");
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(c);
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */
/* ------------------------------------------------------------------------ */

static void test_template__output_limit_returns_etoobig(void)
{
	json_t *c = ctx_new();
	struct weir_buf out = WEIR_BUF_INIT(10), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 0;

	/* Exactly at the limit is fine. */
	CHECK_OK(weir_template_render("0123{{ 'abcdef' | upper }}", c, &out, &off, &err));
	weir_buf_reset(&out);
	CHECK_OK(weir_template_render("{{ ds }}", c, &out, &off, &err));
	CHECK_STR_EQ(out.buf, "2024-01-02");
	weir_buf_reset(&out);

	/* One byte more, in a value. */
	CHECK_INT_EQ(weir_template_render("x{{ ds }}", c, &out, &off, &err), WEIR_ETOOBIG);
	CHECK_STR_EQ(err.buf, "rendered template exceeds the output limit of 10 bytes");
	CHECK_INT_EQ(off, 1);
	CHECK_INT_OP(out.len, <=, 10);
	weir_buf_reset(&out);
	weir_buf_reset(&err);

	/* In text after a value. */
	CHECK_INT_EQ(weir_template_render("{{ n }} and more text", c, &out, &off, &err),
		     WEIR_ETOOBIG);
	CHECK_INT_EQ(off, 7);
	CHECK_STR_EQ(out.buf, "42");
	weir_buf_reset(&out);
	weir_buf_reset(&err);

	/* In a filter's output, in a JSON tree, and in the middle of a chain. */
	CHECK_INT_EQ(weir_template_render("{{ ds | sh }}", c, &out, &off, &err), WEIR_ETOOBIG);
	weir_buf_reset(&out);
	CHECK_INT_EQ(weir_template_render("{{ obj }}", c, &out, &off, &err), WEIR_ETOOBIG);
	CHECK_INT_OP(out.len, <=, 10);
	weir_buf_reset(&out);
	CHECK_INT_EQ(weir_template_render("{{ url | url | lower }}", c, &out, &off, &err),
		     WEIR_ETOOBIG);
	CHECK_INT_EQ(off, 0);
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(c);
}

static void test_template__filter_chains_cannot_grow_past_the_limit(void)
{
	/* Each `| json` doubles the backslashes: 2^60 bytes if unbounded. */
	struct weir_buf tpl = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), out = WEIR_BUF_INIT(1 << 20);
	size_t off = 99;

	CHECK_OK(weir_buf_addstr(&tpl, "{{ '\\' "));
	for (int i = 0; i < 60; i++)
		CHECK_OK(weir_buf_addstr(&tpl, "| json "));
	CHECK_OK(weir_buf_addstr(&tpl, "}}"));
	CHECK_INT_EQ(weir_template_render(tpl.buf, NULL, &out, &off, NULL), WEIR_ETOOBIG);
	CHECK_INT_EQ(off, 0);
	CHECK_INT_OP(out.len, <=, 1 << 20);
	weir_buf_release(&tpl);
	weir_buf_release(&out);
}

static json_t *nest_arrays(int depth)
{
	json_t *v = json_integer(7);

	for (int i = 0; i < depth; i++) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	return v;
}

static void test_template__deeply_nested_values_render_without_recursion(void)
{
	json_t *c = json_object();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	json_object_set_new(c, "v", nest_arrays(2048));
	CHECK_OK(weir_template_render("{{ v }}", c, &out, NULL, NULL));
	CHECK_INT_EQ(out.len, 2048 * 2 + 1);
	CHECK(out.buf[0] == '[' && out.buf[2048] == '7' && out.buf[out.len - 1] == ']');
	weir_buf_release(&out);
	json_decref(c);
}

static void test_template__values_nested_too_deeply_are_rejected(void)
{
	json_t *c = json_object();
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 0;

	json_object_set_new(c, "v", nest_arrays(2049));
	CHECK_INT_EQ(weir_template_render("ab{{ v | sh }}", c, &out, &off, &err), WEIR_ETOOBIG);
	CHECK_STR_EQ(err.buf, "value of \"v\" is nested deeper than 2048 levels");
	CHECK_INT_EQ(off, 2);
	weir_buf_release(&out);
	weir_buf_release(&err);
	json_decref(c);
}

/* ------------------------------------------------------------------------ */
/* weir_template_check                                                      */
/* ------------------------------------------------------------------------ */

struct seen {
	struct weir_buf log;
	const char *reject; /* a path to refuse, or NULL */
	bool silent;	    /* refuse without a message */
};

static int record_var(void *arg, const char *path, size_t off, struct weir_buf *err)
{
	struct seen *s = arg;

	CHECK_OK(weir_buf_addf(&s->log, "%s@%zu;", path, off));
	if (s->reject && strcmp(path, s->reject) == 0) {
		if (!s->silent)
			weir_buf_addf(err, "no variable \"%s\" in this DAG", path);
		return WEIR_EINVALID;
	}
	return 0;
}

static void test_template__check_reports_every_variable_path_in_order(void)
{
	struct seen s = {WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), NULL, false};

	CHECK_OK(weir_template_check("{{ ds }}/{{ params.area | url }}-{{ list.1.id|sh }}{{ds}}",
				     record_var, &s, NULL, NULL));
	CHECK_STR_EQ(s.log.buf, "ds@3;params.area@12;list.1.id@36;ds@53;");
	weir_buf_release(&s.log);
}

static void test_template__check_does_not_report_string_literals_or_text(void)
{
	struct seen s = {WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), NULL, false};

	CHECK_OK(weir_template_check("text.path {{ 'lit' | upper }} }} {{ \"a.b\" }}", record_var,
				     &s, NULL, NULL));
	CHECK_STR_EQ(s.log.buf, "");
	CHECK_OK(weir_template_check("", record_var, &s, NULL, NULL));
	weir_buf_release(&s.log);
}

static void test_template__check_stops_at_the_callbacks_error(void)
{
	struct seen s = {WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), "b.c", false};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 0;

	CHECK_INT_EQ(weir_template_check("{{ a }} {{ b.c }} {{ d }}", record_var, &s, &off, &err),
		     WEIR_EINVALID);
	CHECK_STR_EQ(s.log.buf, "a@3;b.c@11;");
	CHECK_STR_EQ(err.buf, "no variable \"b.c\" in this DAG");
	CHECK_INT_EQ(off, 11);
	weir_buf_release(&s.log);
	weir_buf_release(&err);
}

static void test_template__check_supplies_a_message_when_the_callback_gives_none(void)
{
	struct seen s = {WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), "b", true};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK_INT_EQ(weir_template_check("{{ b }}", record_var, &s, NULL, &err), WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "unknown variable \"b\"");
	weir_buf_release(&s.log);
	weir_buf_release(&err);
}

static void test_template__check_reports_syntax_errors_before_calling_back(void)
{
	struct seen s = {WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), NULL, false};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 0;

	CHECK_INT_EQ(weir_template_check("{{ a }} {{ b | jsno }}", record_var, &s, &off, &err),
		     WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "unknown filter \"jsno\" (did you mean \"json\"?)");
	CHECK_INT_EQ(off, 15);
	CHECK_STR_EQ(s.log.buf, "");
	weir_buf_reset(&err);
	CHECK_INT_EQ(weir_template_check("{{ a }} {{ 'x }}", record_var, &s, &off, &err),
		     WEIR_ESYNTAX);
	CHECK_STR_EQ(err.buf, "unterminated string literal");
	CHECK_INT_EQ(off, 11);
	CHECK_STR_EQ(s.log.buf, "");
	weir_buf_release(&s.log);
	weir_buf_release(&err);
}

static void test_template__check_with_null_callback_validates_syntax_only(void)
{
	CHECK_OK(weir_template_check("{{ anything.at.all | sh }}", NULL, NULL, NULL, NULL));
	CHECK_INT_EQ(weir_template_check("{{ }}", NULL, NULL, NULL, NULL), WEIR_ESYNTAX);
	CHECK_INT_EQ(weir_template_check("{{ a | nope }}", NULL, NULL, NULL, NULL), WEIR_EINVALID);
}

static void test_template__has_expr_finds_double_braces(void)
{
	CHECK(weir_template_has_expr("a {{ b }}"));
	CHECK(weir_template_has_expr("{{"));
	CHECK(!weir_template_has_expr("a { b } }}"));
	CHECK(!weir_template_has_expr(""));
	CHECK(!weir_template_has_expr(NULL));
}

static void test_template__renders_a_long_template_in_one_pass(void)
{
	json_t *c = ctx_new();
	struct weir_buf tpl = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	for (int i = 0; i < 20000; i++)
		CHECK_OK(weir_buf_addstr(&tpl, "x{{ n }}{"));
	CHECK_OK(weir_template_render(tpl.buf, c, &out, NULL, NULL));
	CHECK_INT_EQ(out.len, 20000 * 4);
	CHECK(memcmp(out.buf, "x42{x42{", 8) == 0);
	weir_buf_release(&tpl);
	weir_buf_release(&out);
	json_decref(c);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_template__copies_plain_text_unchanged),
	CHECK_TEST(test_template__lone_braces_outside_expressions_are_literal),
	CHECK_TEST(test_template__renders_strings_verbatim),
	CHECK_TEST(test_template__renders_integers_in_decimal),
	CHECK_TEST(test_template__renders_reals_in_shortest_round_trip_form),
	CHECK_TEST(test_template__reals_read_back_as_the_same_double),
	CHECK_TEST(test_template__renders_booleans_and_null),
	CHECK_TEST(test_template__renders_arrays_and_objects_as_compact_json_in_insertion_order),
	CHECK_TEST(test_template__json_encoding_matches_jansson_except_for_reals),
	CHECK_TEST(test_template__strings_with_nul_bytes_render_whole),
	CHECK_TEST(test_template__looks_up_nested_paths),
	CHECK_TEST(test_template__indexes_arrays_by_decimal_position),
	CHECK_TEST(test_template__numeric_segments_in_objects_are_keys),
	CHECK_TEST(test_template__identifiers_may_contain_dashes_and_underscores),
	CHECK_TEST(test_template__whitespace_inside_braces_is_free),
	CHECK_TEST(test_template__string_literals_render_their_contents),
	CHECK_TEST(test_template__renders_several_expressions_and_text_between),
	CHECK_TEST(test_template__appends_to_existing_output),
	CHECK_TEST(test_template__json_filter_quotes_and_escapes_strings),
	CHECK_TEST(test_template__json_filter_on_non_strings_is_the_rendered_text),
	CHECK_TEST(test_template__sh_filter_single_quotes_words),
	CHECK_TEST(test_template__sh_filter_escapes_embedded_single_quotes),
	CHECK_TEST(test_template__sh_filter_quotes_the_empty_string),
	CHECK_TEST(test_template__sh_filter_survives_injection_attempts_in_real_shells),
	CHECK_TEST(test_template__sh_filter_rejects_nul_bytes),
	CHECK_TEST(test_template__url_filter_keeps_only_unreserved_bytes),
	CHECK_TEST(test_template__url_filter_encodes_utf8_bytewise),
	CHECK_TEST(test_template__upper_and_lower_map_ascii_only),
	CHECK_TEST(test_template__filters_chain_left_to_right),
	CHECK_TEST(test_template__json_twice_encodes_the_json_text_as_a_string),
	CHECK_TEST(test_template__filters_apply_to_the_rendered_text_of_non_strings),
	CHECK_TEST(test_template__unknown_variable_is_an_error_not_empty),
	CHECK_TEST(test_template__unknown_nested_variable_names_the_full_path),
	CHECK_TEST(test_template__key_inside_a_scalar_is_an_unknown_variable),
	CHECK_TEST(test_template__index_out_of_range_is_an_unknown_variable),
	CHECK_TEST(test_template__array_index_with_leading_zero_is_an_unknown_variable),
	CHECK_TEST(test_template__missing_or_non_object_context_makes_every_variable_unknown),
	CHECK_TEST(test_template__unknown_filter_suggests_the_closest),
	CHECK_TEST(test_template__unknown_filter_without_close_match_has_no_hint),
	CHECK_TEST(test_template__unterminated_expression_reports_its_start),
	CHECK_TEST(test_template__empty_expression_is_a_syntax_error),
	CHECK_TEST(test_template__unexpected_character_is_reported_at_its_offset),
	CHECK_TEST(test_template__whitespace_is_not_allowed_inside_a_path),
	CHECK_TEST(test_template__unterminated_string_literal_is_reported_at_the_quote),
	CHECK_TEST(test_template__missing_filter_name_is_a_syntax_error),
	CHECK_TEST(test_template__syntax_errors_win_over_earlier_unknown_variables),
	CHECK_TEST(test_template__errors_append_to_err_and_accept_null_out_parameters),
	CHECK_TEST(test_template__output_limit_returns_etoobig),
	CHECK_TEST(test_template__filter_chains_cannot_grow_past_the_limit),
	CHECK_TEST(test_template__deeply_nested_values_render_without_recursion),
	CHECK_TEST(test_template__values_nested_too_deeply_are_rejected),
	CHECK_TEST(test_template__check_reports_every_variable_path_in_order),
	CHECK_TEST(test_template__check_does_not_report_string_literals_or_text),
	CHECK_TEST(test_template__check_stops_at_the_callbacks_error),
	CHECK_TEST(test_template__check_supplies_a_message_when_the_callback_gives_none),
	CHECK_TEST(test_template__check_reports_syntax_errors_before_calling_back),
	CHECK_TEST(test_template__check_with_null_callback_validates_syntax_only),
	CHECK_TEST(test_template__has_expr_finds_double_braces),
	CHECK_TEST(test_template__renders_a_long_template_in_one_pass),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
