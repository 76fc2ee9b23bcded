/*
 * test_loop.c: the event loop's ordering promises, lazy deletion, wakeups.
 *
 * Timing assertions are bounds, never exact values: a timer must not fire
 * before its delay (a hard promise), and must fire within a generous
 * upper bound (the machine may be loaded, and the suite runs under ASan).
 * Orders are asserted exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/time.h"
#include "common/xalloc.h"
#include "engine/loop.h"
#include "tests/check.h"

/* Upper bound for "soon" under a loaded machine and sanitizers. */
#define SLACK_US (5 * WEIR_US_PER_SEC)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct weir_loop *new_loop(void)
{
	struct weir_loop *loop = NULL;

	CHECK_OK(weir_loop_new(&loop));
	CHECK(loop != NULL);
	return loop;
}

static void make_pipe(int p[2])
{
	CHECK_INT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs iterations until *done is set, failing after max_us. */
static void run_until(struct weir_loop *loop, const bool *done, int64_t max_us)
{
	int64_t deadline = weir_mono_us() + max_us;

	while (!*done) {
		CHECK_INT_OP(weir_loop_run_once(loop, 0), >=, 0);
		CHECK_INT_OP(weir_mono_us(), <, deadline);
	}
}

/* A log of events ("t10", "fdA", "hook", ...) in firing order. */
struct trace {
	char text[4096];
	int count;
	bool done;
	int64_t start_us;
	int64_t at_us[64];
};

static void trace_add(struct trace *t, const char *what)
{
	size_t len = strlen(t->text);

	if (t->count < (int)WEIR_ARRAY_SIZE(t->at_us))
		t->at_us[t->count] = weir_mono_us();
	t->count++;
	snprintf(t->text + len, sizeof(t->text) - len, "%s%s", len ? " " : "", what);
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

struct named_timer {
	struct trace *trace;
	const char *name;
	int64_t delay_ms;
	int64_t added_us;
	int64_t fired_us;
	int fired;
	int done_after; /* sets trace->done when trace->count reaches it */
};

static int64_t named_timer_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct named_timer *nt = arg;

	(void)loop;
	(void)id;
	nt->fired++;
	nt->fired_us = weir_mono_us();
	trace_add(nt->trace, nt->name);
	if (nt->done_after && nt->trace->count >= nt->done_after)
		nt->trace->done = true;
	return WEIR_LOOP_NOMORE;
}

static void test_loop__fires_timers_in_deadline_order_never_early(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct named_timer t[3] = {
		{&tr, "t30", 30, 0, 0, 0, 3},
		{&tr, "t10", 10, 0, 0, 0, 3},
		{&tr, "t20", 20, 0, 0, 0, 3},
	};

	int64_t hi[3];

	for (int i = 0; i < 3; i++) {
		t[i].added_us = weir_mono_us();
		CHECK(weir_timer_add(loop, t[i].delay_ms, named_timer_cb, &t[i]) != 0);
		hi[i] = weir_mono_us();
	}
	run_until(loop, &tr.done, SLACK_US);
	for (int i = 0; i < 3; i++) {
		CHECK_INT_EQ(t[i].fired, 1);
		CHECK_INT_OP(t[i].fired_us - t[i].added_us, >=, t[i].delay_ms * 1000);
		CHECK_INT_OP(t[i].fired_us - t[i].added_us, <, SLACK_US);
	}
	/*
	 * Deadlines count from each add.  When the three adds took less than
	 * the 10 ms spacing, the order is by delay; on a machine so loaded
	 * that they did not, check the order against the deadlines instead.
	 */
	if (hi[2] - t[0].added_us < 10000) {
		CHECK_STR_EQ(tr.text, "t10 t20 t30");
	} else {
		check_note("adds took %lld us; fired \"%s\"", (long long)(hi[2] - t[0].added_us),
			   tr.text);
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 3; b++)
				if (t[a].fired_us < t[b].fired_us)
					CHECK_INT_OP(t[a].added_us + t[a].delay_ms * 1000, <=,
						     hi[b] + t[b].delay_ms * 1000);
	}
	weir_loop_free(loop);
}

static void test_loop__fires_equal_deadlines_in_creation_order(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct named_timer t[4] = {
		{&tr, "a", 0, 0, 0, 0, 4},
		{&tr, "b", 0, 0, 0, 0, 4},
		{&tr, "c", 0, 0, 0, 0, 4},
		{&tr, "d", 0, 0, 0, 0, 4},
	};

	for (int i = 0; i < 4; i++)
		weir_timer_add(loop, 0, named_timer_cb, &t[i]);
	run_until(loop, &tr.done, SLACK_US);
	CHECK_STR_EQ(tr.text, "a b c d");
	weir_loop_free(loop);
}

struct repeater {
	int calls, max;
	int64_t interval_ms;
	int64_t at_us[8];
	uint64_t id;
	bool done;
};

static int64_t repeater_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct repeater *r = arg;

	(void)loop;
	CHECK_INT_EQ(id, r->id); /* rescheduling keeps the id */
	r->at_us[r->calls++] = weir_mono_us();
	if (r->calls == r->max) {
		r->done = true;
		return WEIR_LOOP_NOMORE;
	}
	return r->interval_ms;
}

/* The wait is measured apart from the work: a run_once that waited for a
 * 50 ms timer reports about that long; one that did not wait reports 0. */
static int64_t count_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	++*(int *)arg;
	return WEIR_LOOP_NOMORE;
}

static void test_loop__reports_the_time_it_waited(void)
{
	struct weir_loop *loop = new_loop();
	int fired = 0;

	weir_timer_add(loop, 50, count_cb, &fired);
	while (!fired)
		CHECK_INT_OP(weir_loop_run_once(loop, 0), >=, 0);
	/* Never early; a generous bound above (ASan, a loaded machine). */
	CHECK_INT_OP(weir_loop_last_wait_us(loop), >=, 45000);
	CHECK_INT_OP(weir_loop_last_wait_us(loop), <, 5000000);
	weir_timer_add(loop, 0, count_cb, &fired);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
	CHECK_INT_EQ(weir_loop_last_wait_us(loop), 0);
	CHECK_INT_EQ(fired, 2);
	weir_loop_free(loop);
}

static void test_loop__reschedules_a_timer_by_its_return_value(void)
{
	struct weir_loop *loop = new_loop();
	struct repeater r = {.max = 4, .interval_ms = 20};
	int64_t added = weir_mono_us();

	r.id = weir_timer_add(loop, 20, repeater_cb, &r);
	run_until(loop, &r.done, SLACK_US);
	CHECK_INT_EQ(r.calls, 4);
	CHECK_INT_OP(r.at_us[0] - added, >=, 20000);
	for (int i = 1; i < 4; i++)
		CHECK_INT_OP(r.at_us[i] - r.at_us[i - 1], >=, 20000);

	/* NOMORE ended it: it never fires again, and its id is dead. */
	weir_timer_del(loop, r.id);
	sleep_ms(30);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	CHECK_INT_EQ(r.calls, 4);
	weir_loop_free(loop);
}

static void test_loop__never_reuses_the_id_of_a_finished_timer(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct named_timer a = {&tr, "a", 0, 0, 0, 0, 1}, b = {&tr, "b", 0, 0, 0, 0, 2};
	uint64_t ida, idb;

	ida = weir_timer_add(loop, 0, named_timer_cb, &a);
	run_until(loop, &tr.done, SLACK_US);
	tr.done = false;
	/* b probably gets a's slot; the old id must not cancel it. */
	idb = weir_timer_add(loop, 0, named_timer_cb, &b);
	CHECK(ida != 0 && idb != 0);
	CHECK(ida != idb);
	weir_timer_del(loop, ida);
	weir_timer_del(loop, 0);
	weir_timer_del(loop, UINT64_C(0xdeadbeef00000001));
	run_until(loop, &tr.done, SLACK_US);
	CHECK_STR_EQ(tr.text, "a b");
	weir_loop_free(loop);
}

struct killer {
	struct trace *trace;
	const char *name;
	struct weir_loop *loop;
	uint64_t victim;
};

static int64_t killer_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct killer *k = arg;

	(void)id;
	trace_add(k->trace, k->name);
	weir_timer_del(loop, k->victim);
	return WEIR_LOOP_NOMORE;
}

static void test_loop__skips_a_timer_deleted_earlier_in_the_same_iteration(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct killer ka = {&tr, "a", NULL, 0}, kb = {&tr, "b", NULL, 0};
	uint64_t ida, idb;

	/* Both due in the same iteration; each deletes the other.  a was
	 * created first, so it runs first and b must not run at all. */
	ida = weir_timer_add(loop, 0, killer_cb, &ka);
	idb = weir_timer_add(loop, 0, killer_cb, &kb);
	ka.victim = idb;
	kb.victim = ida;
	sleep_ms(2);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
	CHECK_STR_EQ(tr.text, "a");
	sleep_ms(2);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	CHECK_STR_EQ(tr.text, "a");
	weir_loop_free(loop);
}

struct self_deleter {
	int calls;
};

static int64_t self_deleter_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct self_deleter *s = arg;

	s->calls++;
	weir_timer_del(loop, id);
	/* Deleted: this return value must be ignored. */
	return 0;
}

static void test_loop__ignores_the_return_value_of_a_timer_that_deleted_itself(void)
{
	struct weir_loop *loop = new_loop();
	struct self_deleter s = {0};

	weir_timer_add(loop, 0, self_deleter_cb, &s);
	for (int i = 0; i < 5; i++) {
		sleep_ms(1);
		weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT);
	}
	CHECK_INT_EQ(s.calls, 1);
	weir_loop_free(loop);
}

static int64_t zero_forever_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	(*(int *)arg)++;
	return 0;
}

static void test_loop__runs_a_zero_delay_timer_once_per_iteration(void)
{
	struct weir_loop *loop = new_loop();
	int calls = 0;

	/* A timer that keeps returning 0 must not starve the loop. */
	weir_timer_add(loop, 0, zero_forever_cb, &calls);
	for (int i = 1; i <= 5; i++) {
		CHECK_INT_EQ(weir_loop_run_once(loop, 0), 1);
		CHECK_INT_EQ(calls, i);
	}
	weir_loop_free(loop);
}

struct many {
	int n, fired;
	int64_t *lo_us, *hi_us; /* bounds of each timer's deadline, as seen by the test */
	int *order;
	bool done;
};

struct many_timer {
	struct many *m;
	int idx;
};

static int64_t many_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct many_timer *mt = arg;
	struct many *m = mt->m;
	int64_t now = weir_mono_us();

	(void)loop;
	(void)id;
	/* Never before the deadline. */
	CHECK_INT_OP(now, >=, m->lo_us[mt->idx]);
	m->order[m->fired++] = mt->idx;
	if (m->fired == m->n)
		m->done = true;
	return WEIR_LOOP_NOMORE;
}

static void test_loop__fires_10000_timers_added_in_random_order_sorted(void)
{
	enum { N = 10000 };
	struct weir_loop *loop = new_loop();
	struct many m = {.n = N};
	struct many_timer *mt = weir_xcalloc(N, sizeof(*mt));
	int64_t *delay = weir_xcalloc(N, sizeof(*delay));
	int64_t add_start, add_us;
	int inversions = 0;

	m.lo_us = weir_xcalloc(N, sizeof(*m.lo_us));
	m.hi_us = weir_xcalloc(N, sizeof(*m.hi_us));
	m.order = weir_xcalloc(N, sizeof(*m.order));
	srand(12345);
	add_start = weir_mono_us();
	for (int i = 0; i < N; i++) {
		delay[i] = rand() % 500; /* ms; many ties */
		mt[i].m = &m;
		mt[i].idx = i;
		m.lo_us[i] = weir_mono_us() + delay[i] * 1000;
		weir_timer_add(loop, delay[i], many_cb, &mt[i]);
		m.hi_us[i] = weir_mono_us() + delay[i] * 1000;
	}
	add_us = weir_mono_us() - add_start;
	run_until(loop, &m.done, 30 * WEIR_US_PER_SEC);
	CHECK_INT_EQ(m.fired, N);

	/*
	 * The loop's deadline for timer i lies in [lo_i, hi_i] (it reads the
	 * clock inside weir_timer_add).  Fired in deadline order means no
	 * later-fired timer has a deadline certainly earlier than its
	 * predecessor's.  Equal deadlines fire in creation order, which the
	 * index order is.
	 */
	for (int k = 1; k < N; k++) {
		int a = m.order[k - 1], b = m.order[k];
		CHECK_INT_OP(m.lo_us[a], <=, m.hi_us[b]);
		if (delay[a] > delay[b])
			inversions++;
	}
	check_note("10000 timers added in %lld us; %d adjacent delay inversions "
		   "(allowed only within the add window)",
		   (long long)add_us, inversions);
	if (add_us < 1000)
		CHECK_INT_EQ(inversions, 0);
	free(m.lo_us);
	free(m.hi_us);
	free(m.order);
	free(mt);
	free(delay);
	weir_loop_free(loop);
}

/* ------------------------------------------------------------------ */
/* File descriptors                                                    */
/* ------------------------------------------------------------------ */

struct fd_rec {
	int calls, mask, last_fd;
	char data[64];
	size_t len;
};

static void fd_rec_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct fd_rec *r = arg;

	(void)loop;
	r->calls++;
	r->mask |= mask;
	r->last_fd = fd;
	if (mask & WEIR_LOOP_READ) {
		ssize_t n = read(fd, r->data + r->len, sizeof(r->data) - 1 - r->len);
		if (n > 0)
			r->len += (size_t)n;
		r->data[r->len] = '\0';
	}
}

static void test_loop__calls_read_and_write_callbacks_with_their_mask(void)
{
	struct weir_loop *loop = new_loop();
	struct fd_rec rd = {0}, wr = {0};
	int p[2];

	make_pipe(p);
	CHECK_OK(weir_loop_add_fd(loop, p[0], WEIR_LOOP_READ, fd_rec_cb, &rd));
	CHECK_OK(weir_loop_add_fd(loop, p[1], WEIR_LOOP_WRITE, fd_rec_cb, &wr));

	/* An empty pipe: writable, not readable. */
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
	CHECK_INT_EQ(rd.calls, 0);
	CHECK_INT_EQ(wr.calls, 1);
	CHECK_INT_EQ(wr.mask, WEIR_LOOP_WRITE);
	CHECK_INT_EQ(wr.last_fd, p[1]);

	/* Stop watching the write side; data makes the read side fire. */
	weir_loop_del_fd(loop, p[1], WEIR_LOOP_WRITE);
	CHECK_INT_EQ(write(p[1], "hello", 5), 5);
	CHECK_INT_EQ(weir_loop_run_once(loop, 0), 1);
	CHECK_INT_EQ(rd.calls, 1);
	CHECK_INT_EQ(rd.mask, WEIR_LOOP_READ);
	CHECK_STR_EQ(rd.data, "hello");
	CHECK_INT_EQ(wr.calls, 1);

	/* Level-triggered: nothing left to read, so no call. */
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);

	/* EOF is readable. */
	close(p[1]);
	CHECK_INT_EQ(weir_loop_run_once(loop, 0), 1);
	CHECK_INT_EQ(rd.calls, 2);
	weir_loop_del_fd(loop, p[0], WEIR_LOOP_READ | WEIR_LOOP_WRITE);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	close(p[0]);
	weir_loop_free(loop);
}

static void test_loop__calls_one_callback_for_both_directions_once(void)
{
	struct weir_loop *loop = new_loop();
	struct fd_rec both = {0}, r = {0}, w = {0};
	int sv[2], sv2[2];

	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv2), 0);
	CHECK_INT_EQ(write(sv[1], "x", 1), 1);
	CHECK_INT_EQ(write(sv2[1], "y", 1), 1);

	/* Same callback and argument for both: one call, both bits. */
	CHECK_OK(weir_loop_add_fd(loop, sv[0], WEIR_LOOP_READ | WEIR_LOOP_WRITE, fd_rec_cb, &both));
	/* Different callbacks: read first, then write. */
	CHECK_OK(weir_loop_add_fd(loop, sv2[0], WEIR_LOOP_READ, fd_rec_cb, &r));
	CHECK_OK(weir_loop_add_fd(loop, sv2[0], WEIR_LOOP_WRITE, fd_rec_cb, &w));
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 3);
	CHECK_INT_EQ(both.calls, 1);
	CHECK_INT_EQ(both.mask, WEIR_LOOP_READ | WEIR_LOOP_WRITE);
	CHECK_STR_EQ(both.data, "x");
	CHECK_INT_EQ(r.calls, 1);
	CHECK_INT_EQ(r.mask, WEIR_LOOP_READ);
	CHECK_STR_EQ(r.data, "y");
	CHECK_INT_EQ(w.calls, 1);
	CHECK_INT_EQ(w.mask, WEIR_LOOP_WRITE);
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
	weir_loop_free(loop);
}

static void test_loop__rejects_an_fd_epoll_cannot_watch(void)
{
	struct weir_loop *loop = new_loop();
	struct fd_rec r = {0};
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/file", check_tmpdir());
	check_write_file(path, "x");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_INT_EQ(weir_loop_add_fd(loop, fd, WEIR_LOOP_READ, fd_rec_cb, &r), -EPERM);
	CHECK_INT_EQ(weir_loop_add_fd(loop, -1, WEIR_LOOP_READ, fd_rec_cb, &r), -EINVAL);
	CHECK_INT_EQ(weir_loop_add_fd(loop, 0, 0, fd_rec_cb, &r), -EINVAL);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	close(fd);
	weir_loop_free(loop);
}

/* Each of two readable pipes deletes the other from its callback. */
struct fd_killer {
	struct trace *trace;
	const char *name;
	int victim;
};

static void fd_killer_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct fd_killer *k = arg;

	(void)fd;
	(void)mask;
	trace_add(k->trace, k->name);
	weir_loop_del_fd(loop, k->victim, WEIR_LOOP_READ);
}

static void test_loop__skips_an_fd_deleted_earlier_in_the_same_iteration(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct fd_killer ka = {&tr, "a", -1}, kb = {&tr, "b", -1};
	int pa[2], pb[2];

	make_pipe(pa);
	make_pipe(pb);
	ka.victim = pb[0];
	kb.victim = pa[0];
	CHECK_OK(weir_loop_add_fd(loop, pa[0], WEIR_LOOP_READ, fd_killer_cb, &ka));
	CHECK_OK(weir_loop_add_fd(loop, pb[0], WEIR_LOOP_READ, fd_killer_cb, &kb));
	CHECK_INT_EQ(write(pa[1], "x", 1), 1);
	CHECK_INT_EQ(write(pb[1], "x", 1), 1);
	/* Both are ready in the same epoll batch; epoll picks the order. */
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
	CHECK_INT_EQ(tr.count, 1);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
	weir_loop_free(loop);
}

/*
 * The subtle case: a callback deletes fd X, closes it, and opens a new
 * pipe that gets the same number and registers it.  The batch still holds
 * X's stale "readable" event, which must not reach the new registration.
 */
struct reopener {
	struct trace *trace;
	int victim_rd, victim_wr;
	int new_p[2];
	struct fd_rec *new_rec;
};

static void reopener_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct reopener *ro = arg;
	char c;

	(void)mask;
	CHECK_INT_EQ(read(fd, &c, 1), 1);
	trace_add(ro->trace, "reopener");
	if (ro->victim_rd < 0)
		return;
	weir_loop_del_fd(loop, ro->victim_rd, WEIR_LOOP_READ);
	close(ro->victim_rd);
	close(ro->victim_wr);
	make_pipe(ro->new_p);
	CHECK_OK(weir_loop_add_fd(loop, ro->new_p[0], WEIR_LOOP_READ, fd_rec_cb, ro->new_rec));
	ro->victim_rd = -1;
}

static void victim_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct reopener *ro = arg;
	char c;

	(void)loop;
	(void)mask;
	CHECK_INT_EQ(read(fd, &c, 1), 1);
	trace_add(ro->trace, "victim");
}

static void test_loop__does_not_deliver_a_stale_event_to_a_reused_fd_number(void)
{
	int tries = 0;

	/* epoll's order within a batch is not ours to choose: retry until
	 * the reopener ran first (it does on the first try on Linux, which
	 * reports in readiness order). */
	for (;;) {
		struct weir_loop *loop = new_loop();
		struct trace tr = {0};
		struct fd_rec fresh = {0};
		struct reopener ro = {&tr, -1, -1, {-1, -1}, &fresh};
		int pa[2], pv[2];

		make_pipe(pa);
		make_pipe(pv);
		ro.victim_rd = pv[0];
		ro.victim_wr = pv[1];
		CHECK_OK(weir_loop_add_fd(loop, pa[0], WEIR_LOOP_READ, reopener_cb, &ro));
		CHECK_OK(weir_loop_add_fd(loop, pv[0], WEIR_LOOP_READ, victim_cb, &ro));
		CHECK_INT_EQ(write(pa[1], "x", 1), 1);
		CHECK_INT_EQ(write(pv[1], "x", 1), 1);
		CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), tr.count);
		if (!strcmp(tr.text, "reopener")) {
			/* The fd number was reused, and the new, empty pipe was
			 * not called with the old pipe's event. */
			CHECK_INT_EQ(ro.new_p[0], pv[0]);
			CHECK_INT_EQ(fresh.calls, 0);
			/* It works normally from the next iteration on. */
			CHECK_INT_EQ(write(ro.new_p[1], "y", 1), 1);
			CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
			CHECK_INT_EQ(fresh.calls, 1);
			CHECK_STR_EQ(fresh.data, "y");
			close(ro.new_p[0]);
			close(ro.new_p[1]);
			close(pa[0]);
			close(pa[1]);
			weir_loop_free(loop);
			break;
		}
		CHECK_INT_OP(++tries, <, 100);
		close(pa[0]);
		close(pa[1]);
		if (ro.victim_rd >= 0) {
			close(pv[0]);
			close(pv[1]);
		} else {
			close(ro.new_p[0]);
			close(ro.new_p[1]);
		}
		weir_loop_free(loop);
	}
}

struct fd_then_timer {
	struct trace *trace;
	uint64_t timer;
};

static void fd_deletes_timer_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct fd_then_timer *ft = arg;
	char c;

	(void)mask;
	CHECK_INT_EQ(read(fd, &c, 1), 1);
	trace_add(ft->trace, "fd");
	weir_timer_del(loop, ft->timer);
}

static void test_loop__runs_fd_callbacks_before_due_timers(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct named_timer t = {&tr, "timer", 0, 0, 0, 0, 0};
	int p[2];

	make_pipe(p);
	weir_timer_add(loop, 0, named_timer_cb, &t);
	{
		struct fd_then_timer ft = {&tr, 0};
		CHECK_OK(weir_loop_add_fd(loop, p[0], WEIR_LOOP_READ, fd_deletes_timer_cb, &ft));
		CHECK_INT_EQ(write(p[1], "x", 1), 1);
		sleep_ms(2);
		/* The timer is due and the fd readable: fd first. */
		CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 2);
		CHECK_STR_EQ(tr.text, "fd timer");

		/* And a due timer deleted by an fd callback does not fire. */
		ft.timer = weir_timer_add(loop, 0, named_timer_cb, &t);
		CHECK_INT_EQ(write(p[1], "x", 1), 1);
		sleep_ms(2);
		CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
		CHECK_STR_EQ(tr.text, "fd timer fd");
		weir_loop_del_fd(loop, p[0], WEIR_LOOP_READ);
	}
	close(p[0]);
	close(p[1]);
	weir_loop_free(loop);
}

static void self_closer_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	(void)mask;
	(*(int *)arg)++;
	weir_loop_del_fd(loop, fd, WEIR_LOOP_READ | WEIR_LOOP_WRITE);
	close(fd);
}

static void test_loop__lets_an_fd_callback_delete_and_close_its_own_fd(void)
{
	struct weir_loop *loop = new_loop();
	int calls = 0;
	int p[2];

	make_pipe(p);
	CHECK_OK(weir_loop_add_fd(loop, p[0], WEIR_LOOP_READ | WEIR_LOOP_WRITE, self_closer_cb,
				  &calls));
	CHECK_INT_EQ(write(p[1], "x", 1), 1);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 1);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	CHECK_INT_EQ(calls, 1);
	close(p[1]);
	weir_loop_free(loop);
}

/* ------------------------------------------------------------------ */
/* before_sleep, stop, wake                                            */
/* ------------------------------------------------------------------ */

struct hook_state {
	struct trace *trace;
	struct named_timer *timer;
	int calls;
};

static void hook_cb(struct weir_loop *loop, void *arg)
{
	struct hook_state *h = arg;

	trace_add(h->trace, "hook");
	/* The first hook adds the only timer: if the loop blocked before
	 * running the hook, it would wait forever (no timers, no fds). */
	if (h->calls++ == 0)
		weir_timer_add(loop, 10, named_timer_cb, h->timer);
}

static void test_loop__runs_before_sleep_every_iteration_before_blocking(void)
{
	struct weir_loop *loop = new_loop();
	struct trace tr = {0};
	struct named_timer t = {&tr, "timer", 10, 0, 0, 0, 0};
	struct hook_state h = {&tr, &t, 0};
	int64_t start = weir_mono_us();
	int iterations = 0;

	weir_loop_set_before_sleep(loop, hook_cb, &h);
	while (!t.fired) {
		CHECK_INT_OP(weir_loop_run_once(loop, 0), >=, 0);
		iterations++;
		CHECK_INT_OP(weir_mono_us() - start, <, SLACK_US);
	}
	/* One hook per iteration, each before that iteration's callbacks. */
	CHECK_INT_EQ(h.calls, iterations);
	CHECK_INT_OP(iterations, >=, 1);
	CHECK(strstr(tr.text, "hook timer") != NULL);
	CHECK_INT_OP(t.fired_us - start, >=, 10000);
	weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT);
	CHECK_INT_EQ(h.calls, iterations + 1); /* also with DONT_WAIT */

	weir_loop_set_before_sleep(loop, NULL, NULL);
	weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT);
	CHECK_INT_EQ(h.calls, iterations + 1);
	weir_loop_free(loop);
}

struct stopper {
	int calls;
};

static int64_t stopper_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct stopper *s = arg;

	(void)id;
	if (++s->calls % 3 == 0)
		weir_loop_stop(loop);
	return 1;
}

static void test_loop__run_returns_after_stop(void)
{
	struct weir_loop *loop = new_loop();
	struct stopper s = {0};

	weir_timer_add(loop, 1, stopper_cb, &s);
	weir_loop_run(loop);
	CHECK_INT_EQ(s.calls, 3);
	/* run() cleared the request: the loop can run again. */
	weir_loop_run(loop);
	CHECK_INT_EQ(s.calls, 6);
	weir_loop_free(loop);
}

static int64_t never_cb(struct weir_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	(void)arg;
	CHECK(!"a 60 s timer fired");
	return WEIR_LOOP_NOMORE;
}

struct waker {
	struct weir_loop *loop;
	int delay_ms;
	bool via_signal;
};

static struct weir_loop *signal_loop;

static void wake_from_handler(int sig)
{
	(void)sig;
	weir_loop_wake(signal_loop);
}

static void *waker_thread(void *arg)
{
	struct waker *w = arg;

	sleep_ms(w->delay_ms);
	if (w->via_signal) {
		sigset_t usr1;

		/* This thread takes the signal (raise() targets the calling
		 * thread); the loop's thread keeps it blocked. */
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
		raise(SIGUSR1);
	} else {
		weir_loop_wake(w->loop);
	}
	return NULL;
}

static void check_wake(bool via_signal)
{
	struct weir_loop *loop = new_loop();
	struct waker w = {loop, 50, via_signal};
	pthread_t th;
	int64_t start, elapsed;
	sigset_t usr1, old;

	/* SIGUSR1 is blocked on the loop's thread: an EINTR there would end
	 * the wait without the wake pipe and prove nothing. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	CHECK_INT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
	if (via_signal) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = wake_from_handler;
		sigemptyset(&sa.sa_mask);
		signal_loop = loop;
		CHECK_INT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	}
	weir_timer_add(loop, 60000, never_cb, NULL);
	start = weir_mono_us();
	CHECK_INT_EQ(pthread_create(&th, NULL, waker_thread, &w), 0);
	CHECK_INT_EQ(weir_loop_run_once(loop, 0), 0);
	elapsed = weir_mono_us() - start;
	CHECK_INT_EQ(pthread_join(th, NULL), 0);
	CHECK_INT_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	CHECK_INT_OP(elapsed, >=, 40000);
	CHECK_INT_OP(elapsed, <, SLACK_US);
	/* The wakeup was consumed: the next DONT_WAIT pass has nothing. */
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	weir_loop_free(loop);
}

static void test_loop__wakes_a_long_wait_from_another_thread(void)
{
	check_wake(false);
}

static void test_loop__wakes_a_long_wait_from_a_signal_handler(void)
{
	check_wake(true);
}

static void test_loop__wake_before_run_once_is_not_lost(void)
{
	struct weir_loop *loop = new_loop();
	int64_t start;

	weir_timer_add(loop, 60000, never_cb, NULL);
	/* Many wakes (more than the pipe holds) collapse into one. */
	for (int i = 0; i < 100000; i++)
		weir_loop_wake(loop);
	start = weir_mono_us();
	CHECK_INT_EQ(weir_loop_run_once(loop, 0), 0);
	CHECK_INT_OP(weir_mono_us() - start, <, SLACK_US);
	weir_loop_free(loop);
}

static void test_loop__run_once_dont_wait_returns_immediately(void)
{
	struct weir_loop *loop = new_loop();
	struct fd_rec r = {0};
	struct trace tr = {0};
	struct named_timer t = {&tr, "t", 0, 0, 0, 0, 0};
	int64_t start;
	int p[2];

	make_pipe(p);
	CHECK_OK(weir_loop_add_fd(loop, p[0], WEIR_LOOP_READ, fd_rec_cb, &r));
	weir_timer_add(loop, 60000, never_cb, NULL);
	start = weir_mono_us();
	for (int i = 0; i < 100; i++)
		CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 0);
	CHECK_INT_OP(weir_mono_us() - start, <, SLACK_US);

	/* It still runs what is ready, and counts the callbacks. */
	weir_timer_add(loop, 0, named_timer_cb, &t);
	CHECK_INT_EQ(write(p[1], "x", 1), 1);
	sleep_ms(2);
	CHECK_INT_EQ(weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT), 2);
	CHECK_INT_EQ(r.calls, 1);
	CHECK_INT_EQ(t.fired, 1);
	close(p[0]);
	close(p[1]);
	weir_loop_free(loop);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_loop__fires_timers_in_deadline_order_never_early),
	CHECK_TEST(test_loop__fires_equal_deadlines_in_creation_order),
	CHECK_TEST(test_loop__reschedules_a_timer_by_its_return_value),
	CHECK_TEST(test_loop__reports_the_time_it_waited),
	CHECK_TEST(test_loop__never_reuses_the_id_of_a_finished_timer),
	CHECK_TEST(test_loop__skips_a_timer_deleted_earlier_in_the_same_iteration),
	CHECK_TEST(test_loop__ignores_the_return_value_of_a_timer_that_deleted_itself),
	CHECK_TEST(test_loop__runs_a_zero_delay_timer_once_per_iteration),
	CHECK_TEST(test_loop__fires_10000_timers_added_in_random_order_sorted),
	CHECK_TEST(test_loop__calls_read_and_write_callbacks_with_their_mask),
	CHECK_TEST(test_loop__calls_one_callback_for_both_directions_once),
	CHECK_TEST(test_loop__rejects_an_fd_epoll_cannot_watch),
	CHECK_TEST(test_loop__skips_an_fd_deleted_earlier_in_the_same_iteration),
	CHECK_TEST(test_loop__does_not_deliver_a_stale_event_to_a_reused_fd_number),
	CHECK_TEST(test_loop__runs_fd_callbacks_before_due_timers),
	CHECK_TEST(test_loop__lets_an_fd_callback_delete_and_close_its_own_fd),
	CHECK_TEST(test_loop__runs_before_sleep_every_iteration_before_blocking),
	CHECK_TEST(test_loop__run_returns_after_stop),
	CHECK_TEST(test_loop__wakes_a_long_wait_from_another_thread),
	CHECK_TEST(test_loop__wakes_a_long_wait_from_a_signal_handler),
	CHECK_TEST(test_loop__wake_before_run_once_is_not_lost),
	CHECK_TEST(test_loop__run_once_dont_wait_returns_immediately),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
