/* test_common.c: buffers, arena, vectors, strings, time. */
#include <errno.h>
#include <stdlib.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/hmap.h"
#include "common/list.h"
#include "common/str.h"
#include "common/time.h"
#include "common/vec.h"
#include "tests/check.h"

static void test_buf__static_init_is_empty_string(void)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	CHECK_STR_EQ(b.buf, "");
	CHECK_INT_EQ(b.len, 0);
	CHECK_INT_EQ(b.alloc, 0);
	weir_buf_release(&b);
}

static void test_buf__appends_and_formats(void)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	CHECK_OK(weir_buf_addstr(&b, "a"));
	CHECK_OK(weir_buf_addch(&b, 'b'));
	CHECK_OK(weir_buf_addf(&b, "%d-%s", 42, "x"));
	CHECK_STR_EQ(b.buf, "ab42-x");
	for (int i = 0; i < 1000; i++)
		CHECK_OK(weir_buf_addf(&b, "%04d", i));
	CHECK_INT_EQ(b.len, 6 + 4000);
	CHECK_INT_EQ(b.buf[b.len], '\0');
	weir_buf_release(&b);
}

static void test_buf__limit_rejects_without_change(void)
{
	struct weir_buf b = WEIR_BUF_INIT(5);
	CHECK_OK(weir_buf_addstr(&b, "abcd"));
	CHECK_INT_EQ(weir_buf_addstr(&b, "ef"), WEIR_ETOOBIG);
	CHECK_STR_EQ(b.buf, "abcd");
	CHECK_INT_EQ(weir_buf_addf(&b, "%s", "xyz"), WEIR_ETOOBIG);
	CHECK_STR_EQ(b.buf, "abcd");
	CHECK_OK(weir_buf_addch(&b, 'e'));
	CHECK_STR_EQ(b.buf, "abcde");
	weir_buf_release(&b);
}

static void test_buf__read_file_respects_limit(void)
{
	char path[512];
	struct weir_buf b = WEIR_BUF_INIT(10);
	snprintf(path, sizeof(path), "%s/f", check_tmpdir());
	check_write_file(path, "0123456789");
	CHECK_OK(weir_buf_read_file(&b, path));
	CHECK_STR_EQ(b.buf, "0123456789");
	weir_buf_release(&b);
	check_write_file(path, "0123456789A");
	CHECK_INT_EQ(weir_buf_read_file(&b, path), WEIR_ETOOBIG);
	weir_buf_release(&b);
	CHECK_INT_EQ(weir_buf_read_file(&b, "/nonexistent/x"), -ENOENT);
}

static int cleaned;
static void cleanup_cb(void *p)
{
	cleaned = cleaned * 10 + *(int *)p;
}

static void test_arena__cleanups_run_in_reverse_order(void)
{
	struct weir_arena a = WEIR_ARENA_INIT;
	int *one = weir_arena_alloc(&a, sizeof(int)), *two = weir_arena_alloc(&a, sizeof(int));
	*one = 1;
	*two = 2;
	weir_arena_on_release(&a, cleanup_cb, one);
	weir_arena_on_release(&a, cleanup_cb, two);
	for (int i = 0; i < 10000; i++) {
		char *s = weir_arena_printf(&a, "s%d", i);
		CHECK(((uintptr_t)weir_arena_alloc(&a, 3) & 15) == 0);
		CHECK(s[0] == 's');
	}
	(void)weir_arena_alloc(&a, 100000);
	weir_arena_release(&a);
	CHECK_INT_EQ(cleaned, 21);
}

static void test_vec__push_and_strvec_terminates(void)
{
	WEIR_VEC(int) v = WEIR_VEC_INIT;
	struct weir_strvec sv = WEIR_STRVEC_INIT;
	for (int i = 0; i < 100; i++)
		weir_vec_push(&v, i * 2);
	CHECK_INT_EQ(v.n, 100);
	CHECK_INT_EQ(v.v[99], 198);
	weir_vec_release(&v);
	CHECK(sv.v[0] == NULL);
	weir_strvec_push(&sv, "a");
	weir_strvec_pushf(&sv, "b%d", 2);
	CHECK_STR_EQ(sv.v[1], "b2");
	CHECK(sv.v[2] == NULL);
	CHECK_INT_EQ(weir_strvec_find(&sv, "b2"), 1);
	weir_strvec_clear(&sv);
}

struct item {
	int v;
	struct weir_list link;
};

static void test_list__insert_remove_iterate(void)
{
	struct weir_list head = WEIR_LIST_INIT(head), *pos, *tmp;
	struct item it[3] = {{1, {0}}, {2, {0}}, {3, {0}}};
	int sum = 0;
	for (int i = 0; i < 3; i++)
		weir_list_insert_tail(&head, &it[i].link);
	weir_list_remove(&it[1].link);
	weir_list_foreach_safe(pos, tmp, &head) sum = sum * 10 + weir_list_entry(pos, struct item, link)->v;
	CHECK_INT_EQ(sum, 13);
	CHECK(!weir_list_empty(&head));
}

static void test_str__suggests_close_words_only(void)
{
	static const char *const keys[] = {"retries", "retry_delay", "depends_on", "operator", NULL};
	CHECK_STR_EQ(weir_str_suggest("retires", keys), "retries");
	CHECK_STR_EQ(weir_str_suggest("depend_on", keys), "depends_on");
	CHECK_STR_EQ(weir_str_suggest("operater", keys), "operator");
	CHECK(weir_str_suggest("zzz", keys) == NULL);
	CHECK_INT_EQ(weir_str_distance("abc", "acb", 5), 1);
	CHECK_INT_EQ(weir_str_distance("kitten", "sitting", 5), 3);
}

static void test_str__parses_integers_strictly(void)
{
	int64_t v;
	CHECK_OK(weir_str_to_i64("-42", &v));
	CHECK_INT_EQ(v, -42);
	CHECK_INT_EQ(weir_str_to_i64("42x", &v), WEIR_EINVALID);
	CHECK_INT_EQ(weir_str_to_i64("", &v), WEIR_EINVALID);
	CHECK_INT_EQ(weir_str_to_i64(" 1", &v), WEIR_EINVALID);
	CHECK_INT_EQ(weir_str_to_i64("99999999999999999999", &v), WEIR_ETOOBIG);
}

static void test_time__civil_roundtrip_over_centuries(void)
{
	for (int64_t d = -800000; d <= 800000; d += 7) {
		int64_t y;
		unsigned m, dd;
		weir_civil_from_days(d, &y, &m, &dd);
		CHECK_INT_EQ(weir_days_from_civil(y, m, dd), d);
	}
	CHECK_INT_EQ(weir_days_from_civil(1970, 1, 1), 0);
	CHECK_INT_EQ(weir_weekday_from_days(weir_days_from_civil(2026, 11, 23)), 1);
	CHECK_INT_EQ(weir_days_in_month(2000, 2), 29);
	CHECK_INT_EQ(weir_days_in_month(1900, 2), 28);
	CHECK_INT_EQ(weir_days_in_month(2024, 2), 29);
}

static void test_time__iso_parse_and_format(void)
{
	char buf[WEIR_ISO_BUFSZ];
	int64_t us;
	bool off;

	CHECK_OK(weir_iso_parse("2026-11-23T10:05:06Z", &us, &off));
	CHECK(off);
	CHECK_STR_EQ(weir_iso_format(us, 0, buf), "2026-11-23T10:05:06Z");
	CHECK_STR_EQ(weir_iso_format(us, WEIR_ISO_OFFSET, buf), "2026-11-23T10:05:06+00:00");
	CHECK_OK(weir_iso_parse("2026-11-23T11:05:06.25+01:00", &us, &off));
	CHECK_STR_EQ(weir_iso_format(us, 0, buf), "2026-11-23T10:05:06.250000Z");
	CHECK_OK(weir_iso_parse("2026-01-02", &us, &off));
	CHECK(!off);
	CHECK_STR_EQ(weir_iso_format(us, 0, buf), "2026-01-02T00:00:00Z");
	CHECK_OK(weir_iso_parse("1969-12-31T23:59:59Z", &us, &off));
	CHECK_INT_EQ(us, -1000000);
	CHECK_STR_EQ(weir_iso_format(us, 0, buf), "1969-12-31T23:59:59Z");
	CHECK_INT_EQ(weir_iso_parse("2026-02-30", &us, &off), WEIR_EINVALID);
	CHECK_INT_EQ(weir_iso_parse("2026-01-02T25:00", &us, &off), WEIR_EINVALID);
	CHECK_INT_EQ(weir_iso_parse("2026-01-02T10:00Zjunk", &us, &off), WEIR_EINVALID);
	CHECK_STR_EQ(weir_iso_format_local(0, -16200, buf), "1970-01-01T00:00:00-04:30");
}

static void test_error__names_and_messages(void)
{
	CHECK_STR_EQ(weir_errname(WEIR_ESTALE), "WEIR_ESTALE");
	CHECK_STR_EQ(weir_errname(-ENOENT), "ENOENT");
	CHECK_STR_EQ(weir_strerror(-ENOENT), "No such file or directory");
	CHECK_STR_EQ(weir_strerror(WEIR_AGAIN), "not ready yet");
}

static void test_hmap__put_get_delete_and_grow(void)
{
	struct weir_hmap m = WEIR_HMAP_INIT;
	char key[32];
	size_t i = 0, seen = 0;
	const char *k;
	void *v;

	for (long n = 0; n < 5000; n++) {
		snprintf(key, sizeof(key), "dag_%ld", n);
		CHECK(weir_hmap_put(&m, key, (void *)(n + 1)) == NULL);
	}
	CHECK_INT_EQ(m.n, 5000);
	for (long n = 0; n < 5000; n += 2) {
		snprintf(key, sizeof(key), "dag_%ld", n);
		CHECK_INT_EQ((long)weir_hmap_del(&m, key), n + 1);
	}
	for (long n = 0; n < 5000; n++) {
		snprintf(key, sizeof(key), "dag_%ld", n);
		CHECK_INT_EQ((long)weir_hmap_get(&m, key), n % 2 ? n + 1 : 0);
	}
	CHECK(weir_hmap_put(&m, "dag_1", (void *)7) == (void *)2);
	while (weir_hmap_next(&m, &i, &k, &v))
		seen++;
	CHECK_INT_EQ(seen, 2500);
	weir_hmap_release(&m);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_hmap__put_get_delete_and_grow),
	CHECK_TEST(test_buf__static_init_is_empty_string),
	CHECK_TEST(test_buf__appends_and_formats),
	CHECK_TEST(test_buf__limit_rejects_without_change),
	CHECK_TEST(test_buf__read_file_respects_limit),
	CHECK_TEST(test_arena__cleanups_run_in_reverse_order),
	CHECK_TEST(test_vec__push_and_strvec_terminates),
	CHECK_TEST(test_list__insert_remove_iterate),
	CHECK_TEST(test_str__suggests_close_words_only),
	CHECK_TEST(test_str__parses_integers_strictly),
	CHECK_TEST(test_time__civil_roundtrip_over_centuries),
	CHECK_TEST(test_time__iso_parse_and_format),
	CHECK_TEST(test_error__names_and_messages),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
