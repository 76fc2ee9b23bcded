/*
 * loop.c: the scheduler's event loop (after redis's ae.c).
 *
 * One iteration of weir_loop_run_once():
 *
 *     before_sleep hook
 *          |
 *     epoll_wait(timeout = next deadline, 0 with DONT_WAIT, -1 without timers)
 *          |           batch++  (events of this wait belong to this batch)
 *     fd callbacks, in the order epoll returned them (read before write)
 *          |
 *     due timers: pop every timer with when <= now into `due`, run them by
 *     (deadline, creation order); reschedule or retire each
 *          |
 *     release timers deleted during the iteration (the `dead` list)
 *
 * Storage:
 *   - fds[fd]: the registration of fd (mask, one callback per direction).
 *     Indexed by fd number, grown on demand, never shrunk.  Callbacks may
 *     add fds and so realloc the array: never hold an entry pointer across
 *     a callback.
 *   - timers[]: slot table, reused through a free list.  A timer id is
 *     (generation << 32) | (slot + 1): never 0, and a stale id (fired or
 *     deleted timer) no longer matches its slot's generation.  An old id
 *     aliases a new timer only after 2^32 reuses of the same slot.
 *   - heap[]: slot numbers of scheduled timers, a binary min-heap on
 *     (when_us, seq).  seq makes equal deadlines fire in creation order.
 *
 * Lazy deletion: weir_timer_del() takes a scheduled timer out of the heap
 * at once (so it no longer shortens the wait), but the slot is only
 * returned to the free list at the end of the iteration.  So a slot named
 * in this iteration's `due` list is never reused for another timer before
 * the list has been walked, and a timer deleting itself is never freed
 * inside its own callback.  fd entries are plain array cells, so "deleted"
 * just means mask == 0; see reg_batch for the one subtle case.
 *
 * Possible optimizations, rejected for now: a timerfd (one more syscall
 * per change, and epoll's ms timeout is precise enough for a scheduler);
 * edge-triggered epoll (every reader would have to drain to EAGAIN, and a
 * forgotten drain is a hang, whereas level-triggered costs one extra wakeup).
 */
#include "engine/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"

#include "common/banned.h"

#define LOOP_MAX_EVENTS 256
#define LOOP_MASK_ALL (WEIR_LOOP_READ | WEIR_LOOP_WRITE)
/* Timer delays are clamped to 100 years so now + delay never overflows. */
#define LOOP_MAX_DELAY_MS (INT64_C(100) * 366 * 86400 * 1000)
#define SLOT_NONE UINT32_MAX

struct fd_entry {
	int mask;           /* WEIR_LOOP_READ|WRITE being watched; 0 = none */
	uint64_t reg_batch; /* loop->batch when mask last went from 0 to non-zero */
	weir_fd_fn *rfn, *wfn;
	void *rarg, *warg;
};

enum timer_state {
	TIMER_FREE,    /* on the free list */
	TIMER_HEAP,    /* scheduled: in the heap at heap_idx */
	TIMER_DUE,     /* popped into this iteration's due list, not yet run */
	TIMER_RUNNING, /* its callback is on the stack */
	TIMER_DEAD,    /* deleted or finished; on the dead list until the iteration ends */
};

struct timer {
	uint32_t gen;          /* bumped when the slot is freed; part of the id */
	uint8_t state;         /* enum timer_state */
	int64_t when_us;       /* deadline, monotonic */
	uint64_t seq;          /* creation/reschedule order, breaks deadline ties */
	uint32_t heap_idx;     /* valid in TIMER_HEAP */
	uint32_t next_free;    /* valid in TIMER_FREE */
	weir_timer_fn *fn;
	void *arg;
};

struct u32_vec {
	uint32_t *v;
	size_t len, alloc;
};

struct weir_loop {
	int epfd;
	int wake_rd, wake_wr; /* non-blocking CLOEXEC pipe for weir_loop_wake */

	struct fd_entry *fds;
	int nfds;             /* cells in fds[] */
	uint64_t batch;       /* incremented after each epoll_wait */
	struct epoll_event events[LOOP_MAX_EVENTS];

	struct timer *timers;
	uint32_t ntimers;     /* slots in timers[] */
	uint32_t free_head;   /* first free slot or SLOT_NONE */
	uint64_t next_seq;
	struct u32_vec heap;  /* scheduled slots */
	struct u32_vec due;   /* slots popped for the current timer phase */
	struct u32_vec dead;  /* slots to free at the end of the iteration */

	weir_loop_hook_fn *before_sleep;
	void *before_sleep_arg;
	bool in_run_once;     /* run_once is not re-entrant */
	int64_t last_wait_us; /* time the last run_once spent in epoll_wait */
	atomic_int stop;      /* set by weir_loop_stop, cleared when run() returns */
};

/* ------------------------------------------------------------------ */
/* Small vectors                                                       */
/* ------------------------------------------------------------------ */

static void u32_push(struct u32_vec *a, uint32_t x)
{
	if (a->len == a->alloc) {
		a->alloc = a->alloc ? a->alloc * 2 : 64;
		a->v = weir_xreallocarray(a->v, a->alloc, sizeof(*a->v));
	}
	a->v[a->len++] = x;
}

/* ------------------------------------------------------------------ */
/* Timer heap                                                          */
/* ------------------------------------------------------------------ */

static bool timer_before(const struct weir_loop *loop, uint32_t a, uint32_t b)
{
	const struct timer *ta = &loop->timers[a], *tb = &loop->timers[b];

	if (ta->when_us != tb->when_us)
		return ta->when_us < tb->when_us;
	return ta->seq < tb->seq;
}

static void heap_set(struct weir_loop *loop, size_t i, uint32_t slot)
{
	loop->heap.v[i] = slot;
	loop->timers[slot].heap_idx = (uint32_t)i;
}

static void heap_up(struct weir_loop *loop, size_t i)
{
	uint32_t slot = loop->heap.v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(loop, slot, loop->heap.v[parent]))
			break;
		heap_set(loop, i, loop->heap.v[parent]);
		i = parent;
	}
	heap_set(loop, i, slot);
}

static void heap_down(struct weir_loop *loop, size_t i)
{
	uint32_t slot = loop->heap.v[i];
	size_t n = loop->heap.len;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = l;
		if (l >= n)
			break;
		if (r < n && timer_before(loop, loop->heap.v[r], loop->heap.v[l]))
			min = r;
		if (!timer_before(loop, loop->heap.v[min], slot))
			break;
		heap_set(loop, i, loop->heap.v[min]);
		i = min;
	}
	heap_set(loop, i, slot);
}

static void heap_push(struct weir_loop *loop, uint32_t slot)
{
	u32_push(&loop->heap, slot);
	loop->timers[slot].state = TIMER_HEAP;
	heap_up(loop, loop->heap.len - 1);
}

/* Removes heap.v[i] and returns its slot. */
static uint32_t heap_remove(struct weir_loop *loop, size_t i)
{
	uint32_t slot = loop->heap.v[i];
	uint32_t last = loop->heap.v[--loop->heap.len];

	if (i < loop->heap.len) {
		heap_set(loop, i, last);
		/* The moved element may belong above or below i. */
		if (i > 0 && timer_before(loop, last, loop->heap.v[(i - 1) / 2]))
			heap_up(loop, i);
		else
			heap_down(loop, i);
	}
	return slot;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

int weir_loop_new(struct weir_loop **out)
{
	struct weir_loop *loop = NULL;
	struct epoll_event ev;
	int p[2] = {-1, -1};
	int epfd = -1, rc = 0;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		rc = -errno;
		goto out;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = p[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p[0], &ev) < 0) {
		rc = -errno;
		goto out;
	}
	loop = weir_xcalloc(1, sizeof(*loop));
	loop->epfd = epfd;
	loop->wake_rd = p[0];
	loop->wake_wr = p[1];
	loop->batch = 1;
	loop->free_head = SLOT_NONE;
	atomic_init(&loop->stop, 0);
out:
	if (rc < 0) {
		if (epfd >= 0)
			close(epfd);
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
	}
	*out = (rc == 0) ? loop : NULL;
	return rc;
}

void weir_loop_free(struct weir_loop *loop)
{
	if (!loop)
		return;
	WEIR_ASSERT(!loop->in_run_once);
	close(loop->epfd);
	close(loop->wake_rd);
	close(loop->wake_wr);
	free(loop->fds);
	free(loop->timers);
	free(loop->heap.v);
	free(loop->due.v);
	free(loop->dead.v);
	free(loop);
}

/* ------------------------------------------------------------------ */
/* File descriptors                                                    */
/* ------------------------------------------------------------------ */

static uint32_t epoll_mask(int mask)
{
	uint32_t ev = 0;

	if (mask & WEIR_LOOP_READ)
		ev |= EPOLLIN;
	if (mask & WEIR_LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

static void grow_fds(struct weir_loop *loop, int fd)
{
	int n = loop->nfds ? loop->nfds : 64;

	if (fd < loop->nfds)
		return;
	while (n <= fd)
		n = (n > INT_MAX / 2) ? INT_MAX : n * 2;
	loop->fds = weir_xreallocarray(loop->fds, (size_t)n, sizeof(*loop->fds));
	memset(loop->fds + loop->nfds, 0, (size_t)(n - loop->nfds) * sizeof(*loop->fds));
	loop->nfds = n;
}

int weir_loop_add_fd(struct weir_loop *loop, int fd, int mask, weir_fd_fn *fn, void *arg)
{
	struct epoll_event ev;
	struct fd_entry *fe;
	int newmask, op;

	if (fd < 0 || fd == INT_MAX || !fn || !(mask & LOOP_MASK_ALL) || (mask & ~LOOP_MASK_ALL))
		return -EINVAL;
	grow_fds(loop, fd);
	fe = &loop->fds[fd];
	newmask = fe->mask | mask;

	memset(&ev, 0, sizeof(ev));
	ev.events = epoll_mask(newmask);
	ev.data.fd = fd;
	op = fe->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
		/*
		 * Our table and the kernel's set disagree when a caller closed
		 * an fd without deleting it (the kernel forgets it) and the
		 * number was reused.  Trust the kernel and retry the other op.
		 */
		if (errno == ENOENT && op == EPOLL_CTL_MOD)
			op = EPOLL_CTL_ADD;
		else if (errno == EEXIST && op == EPOLL_CTL_ADD)
			op = EPOLL_CTL_MOD;
		else
			return -errno;
		if (epoll_ctl(loop->epfd, op, fd, &ev) < 0)
			return -errno;
	}
	if (!fe->mask)
		fe->reg_batch = loop->batch;
	fe->mask = newmask;
	if (mask & WEIR_LOOP_READ) {
		fe->rfn = fn;
		fe->rarg = arg;
	}
	if (mask & WEIR_LOOP_WRITE) {
		fe->wfn = fn;
		fe->warg = arg;
	}
	return 0;
}

void weir_loop_del_fd(struct weir_loop *loop, int fd, int mask)
{
	struct epoll_event ev;
	struct fd_entry *fe;
	int newmask;

	if (fd < 0 || fd >= loop->nfds)
		return;
	fe = &loop->fds[fd];
	newmask = fe->mask & ~mask;
	if (newmask == fe->mask)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = epoll_mask(newmask);
	ev.data.fd = fd;
	/* Errors are ignored: a closed fd has already left the epoll set. */
	(void)epoll_ctl(loop->epfd, newmask ? EPOLL_CTL_MOD : EPOLL_CTL_DEL, fd, &ev);
	fe->mask = newmask;
	if (!(newmask & WEIR_LOOP_READ)) {
		fe->rfn = NULL;
		fe->rarg = NULL;
	}
	if (!(newmask & WEIR_LOOP_WRITE)) {
		fe->wfn = NULL;
		fe->warg = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

static uint64_t timer_id(const struct weir_loop *loop, uint32_t slot)
{
	return ((uint64_t)loop->timers[slot].gen << 32) | ((uint64_t)slot + 1);
}

/* Returns the slot of a live timer id, or SLOT_NONE. */
static uint32_t timer_lookup(const struct weir_loop *loop, uint64_t id)
{
	uint64_t low = id & 0xffffffffu;
	uint32_t slot;

	if (low == 0 || low > loop->ntimers)
		return SLOT_NONE;
	slot = (uint32_t)(low - 1);
	if (loop->timers[slot].gen != (uint32_t)(id >> 32))
		return SLOT_NONE;
	if (loop->timers[slot].state == TIMER_FREE || loop->timers[slot].state == TIMER_DEAD)
		return SLOT_NONE;
	return slot;
}

static int64_t clamp_delay_us(int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > LOOP_MAX_DELAY_MS)
		ms = LOOP_MAX_DELAY_MS;
	return ms * 1000;
}

uint64_t weir_timer_add(struct weir_loop *loop, int64_t ms, weir_timer_fn *fn, void *arg)
{
	struct timer *t;
	uint32_t slot;

	WEIR_ASSERT(fn);
	if (loop->free_head == SLOT_NONE) {
		uint32_t n = loop->ntimers ? loop->ntimers * 2 : 64;
		WEIR_ASSERT(loop->ntimers < UINT32_MAX / 2);
		loop->timers = weir_xreallocarray(loop->timers, n, sizeof(*loop->timers));
		/* Push the new slots so the lowest is handed out first. */
		for (uint32_t i = n; i-- > loop->ntimers;) {
			memset(&loop->timers[i], 0, sizeof(loop->timers[i]));
			loop->timers[i].gen = 1;
			loop->timers[i].state = TIMER_FREE;
			loop->timers[i].next_free = loop->free_head;
			loop->free_head = i;
		}
		loop->ntimers = n;
	}
	slot = loop->free_head;
	t = &loop->timers[slot];
	loop->free_head = t->next_free;
	t->fn = fn;
	t->arg = arg;
	/* The deadline counts from now, not from the start of the iteration. */
	t->when_us = weir_mono_us() + clamp_delay_us(ms);
	t->seq = loop->next_seq++;
	heap_push(loop, slot);
	return timer_id(loop, slot);
}

/* Moves a slot to the dead list; it is freed when the iteration ends. */
static void timer_kill(struct weir_loop *loop, uint32_t slot)
{
	loop->timers[slot].state = TIMER_DEAD;
	u32_push(&loop->dead, slot);
}

void weir_timer_del(struct weir_loop *loop, uint64_t id)
{
	uint32_t slot = timer_lookup(loop, id);

	if (slot == SLOT_NONE)
		return;
	if (loop->timers[slot].state == TIMER_HEAP)
		heap_remove(loop, loop->timers[slot].heap_idx);
	/* TIMER_DUE: skipped by the timer phase.  TIMER_RUNNING: its return
	 * value is ignored. */
	timer_kill(loop, slot);
	if (!loop->in_run_once) {
		/* Outside an iteration no list can name the slot: free it now
		 * rather than keeping it until the next iteration. */
		loop->dead.len--;
		loop->timers[slot].state = TIMER_FREE;
		loop->timers[slot].gen++;
		loop->timers[slot].next_free = loop->free_head;
		loop->free_head = slot;
	}
}

static void release_dead_timers(struct weir_loop *loop)
{
	for (size_t i = 0; i < loop->dead.len; i++) {
		uint32_t slot = loop->dead.v[i];
		struct timer *t = &loop->timers[slot];

		WEIR_ASSERT(t->state == TIMER_DEAD);
		t->state = TIMER_FREE;
		t->gen++;
		t->fn = NULL;
		t->arg = NULL;
		t->next_free = loop->free_head;
		loop->free_head = slot;
	}
	loop->dead.len = 0;
}

static int run_timers(struct weir_loop *loop)
{
	int64_t now = weir_mono_us();
	int ran = 0;

	/*
	 * Take every due timer out of the heap first, then run them.  Timers
	 * added or rescheduled by these callbacks go back into the heap and
	 * wait for the next iteration, even with a 0 ms delay: a timer that
	 * keeps returning 0 cannot starve the fds.
	 */
	loop->due.len = 0;
	while (loop->heap.len && loop->timers[loop->heap.v[0]].when_us <= now) {
		uint32_t slot = heap_remove(loop, 0);
		loop->timers[slot].state = TIMER_DUE;
		u32_push(&loop->due, slot);
	}

	for (size_t i = 0; i < loop->due.len; i++) {
		uint32_t slot = loop->due.v[i];
		struct timer *t = &loop->timers[slot];
		weir_timer_fn *fn = t->fn;
		void *arg = t->arg;
		int64_t next;

		if (t->state != TIMER_DUE)
			continue; /* deleted by an earlier callback */
		t->state = TIMER_RUNNING;
		next = fn(loop, timer_id(loop, slot), arg);
		ran++;
		t = &loop->timers[slot]; /* callbacks may grow timers[] */
		if (t->state == TIMER_DEAD)
			continue; /* deleted itself: the return value is ignored */
		if (next < 0) {
			timer_kill(loop, slot);
			continue;
		}
		/* As for add: the next call is `next` ms after this one returned. */
		t->when_us = weir_mono_us() + clamp_delay_us(next);
		t->seq = loop->next_seq++;
		heap_push(loop, slot);
	}
	loop->due.len = 0;
	return ran;
}

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

void weir_loop_set_before_sleep(struct weir_loop *loop, weir_loop_hook_fn *fn, void *arg)
{
	loop->before_sleep = fn;
	loop->before_sleep_arg = arg;
}

static int wait_timeout_ms(const struct weir_loop *loop, int flags)
{
	int64_t delta;

	if ((flags & WEIR_LOOP_DONT_WAIT) || atomic_load(&loop->stop))
		return 0;
	if (!loop->heap.len)
		return -1;
	delta = loop->timers[loop->heap.v[0]].when_us - weir_mono_us();
	if (delta <= 0)
		return 0;
	/* Round up: waking a little late is fine, waking early spins. */
	delta = (delta + 999) / 1000;
	return delta > INT_MAX ? INT_MAX : (int)delta;
}

static void drain_wake_pipe(struct weir_loop *loop)
{
	char buf[64];

	while (read(loop->wake_rd, buf, sizeof(buf)) > 0)
		;
}

/* Runs the callbacks of one epoll event; returns how many ran. */
static int dispatch_fd(struct weir_loop *loop, int fd, uint32_t events)
{
	struct fd_entry *fe;
	int fired = 0, ran = 0;
	weir_fd_fn *fn;
	void *arg;

	if (fd >= loop->nfds)
		return 0;
	fe = &loop->fds[fd];
	/*
	 * An entry registered after this batch's epoll_wait returned cannot
	 * own the event: it is for a registration that an earlier callback
	 * deleted (and perhaps closed and reopened under the same number).
	 */
	if (fe->reg_batch == loop->batch)
		return 0;
	/* Errors and hangups wake both directions: read() or write() will
	 * report them, as in ae.c. */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		fired |= WEIR_LOOP_READ;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		fired |= WEIR_LOOP_WRITE;
	fired &= fe->mask; /* a callback may have deleted a direction */

	if ((fired & WEIR_LOOP_READ) && (fired & WEIR_LOOP_WRITE) && fe->rfn == fe->wfn &&
	    fe->rarg == fe->warg) {
		/* One registration for both: one call with both bits. */
		fn = fe->rfn;
		arg = fe->rarg;
		fn(loop, fd, fired, arg);
		return 1;
	}
	if (fired & WEIR_LOOP_READ) {
		fn = fe->rfn;
		arg = fe->rarg;
		fn(loop, fd, WEIR_LOOP_READ, arg);
		ran++;
		fe = &loop->fds[fd]; /* the callback may have grown fds[] */
	}
	/* Read first, then write, and only if the read callback did not
	 * delete (or replace) the write side. */
	if ((fired & WEIR_LOOP_WRITE) && (fe->mask & WEIR_LOOP_WRITE) &&
	    fe->reg_batch != loop->batch) {
		fn = fe->wfn;
		arg = fe->warg;
		fn(loop, fd, WEIR_LOOP_WRITE, arg);
		ran++;
	}
	return ran;
}

int weir_loop_run_once(struct weir_loop *loop, int flags)
{
	int n, ran = 0, rc = 0;

	WEIR_ASSERT(!loop->in_run_once);
	loop->in_run_once = true;

	/* Before the timeout is computed: the hook may add timers or fds. */
	if (loop->before_sleep)
		loop->before_sleep(loop, loop->before_sleep_arg);

	{
		int timeout = wait_timeout_ms(loop, flags);
		int64_t t0 = timeout ? weir_mono_us() : 0;
		n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, timeout);
		loop->last_wait_us = timeout ? weir_mono_us() - t0 : 0;
	}
	if (n < 0) {
		if (errno != EINTR) {
			rc = -errno;
			goto out;
		}
		n = 0; /* a signal: still run the due timers */
	}
	loop->batch++;

	/* Ordering: every fd callback of the batch runs before any timer. */
	for (int i = 0; i < n; i++) {
		int fd = loop->events[i].data.fd;

		if (fd == loop->wake_rd) {
			drain_wake_pipe(loop);
			continue;
		}
		ran += dispatch_fd(loop, fd, loop->events[i].events);
	}
	ran += run_timers(loop);
	rc = ran;
out:
	release_dead_timers(loop);
	loop->in_run_once = false;
	return rc;
}

int64_t weir_loop_last_wait_us(const struct weir_loop *loop)
{
	return loop->last_wait_us;
}

void weir_loop_run(struct weir_loop *loop)
{
	while (!atomic_load(&loop->stop)) {
		int rc = weir_loop_run_once(loop, 0);
		if (rc < 0)
			WEIR_BUG("event loop wait failed: %s", strerror(-rc));
	}
	atomic_store(&loop->stop, 0);
}

void weir_loop_stop(struct weir_loop *loop)
{
	atomic_store(&loop->stop, 1);
}

void weir_loop_wake(struct weir_loop *loop)
{
	int saved = errno;
	ssize_t n;

	/* A full pipe already holds a pending wakeup: EAGAIN is fine. */
	do
		n = write(loop->wake_wr, "", 1);
	while (n < 0 && errno == EINTR);
	errno = saved;
}
