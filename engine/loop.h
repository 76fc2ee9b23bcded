/*
 * loop.h: the scheduler's event loop (after redis's ae.c).
 *
 * One thread, one loop.  Sources:
 *   - file descriptors with a read/write mask (epoll, level-triggered):
 *     the PostgreSQL socket, task report pipes, the SIGCHLD self-pipe,
 *     inotify, the wake pipe of other threads;
 *   - timers on the monotonic clock: a timer callback returns the delay in
 *     ms until it should fire again, or WEIR_LOOP_NOMORE to end;
 *   - a before_sleep hook run before each wait (the scheduler commits its
 *     batch of state changes there, so changes made by every callback of
 *     one iteration go to the database in one transaction).
 *
 * Ordering promises:
 *   - within one iteration, fd callbacks run before due timers;
 *   - for one fd, the read callback runs before the write callback;
 *   - due timers run in deadline order; equal deadlines in the order the
 *     timers were added (or last rescheduled);
 *   - a timer added or rescheduled by a callback never runs in the same
 *     iteration, even with a 0 ms delay (a timer cannot starve the fds);
 *   - before_sleep runs after all callbacks of an iteration and before
 *     the loop blocks, so nothing a callback queued waits for a timeout;
 *   - a timer or fd deleted from inside a callback does not fire later in
 *     the same iteration (deletion is lazy: marked, then freed after the
 *     callbacks, never inside its own callback).  This holds even when the
 *     deleted fd is closed and its number reused by a new registration in
 *     the same iteration: the new one gets no stale event.
 *
 * Timers are kept in a binary heap: O(log n) add/delete/next.  Not
 * thread-safe, except weir_loop_wake() (and weir_loop_stop() followed by
 * weir_loop_wake()), which any thread or signal handler may call.  Not
 * re-entrant: calling run_once, run or free from a callback is a bug
 * (WEIR_ASSERT).
 */
#ifndef WEIR_LOOP_H
#define WEIR_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct weir_loop;

#define WEIR_LOOP_READ 1
#define WEIR_LOOP_WRITE 2
#define WEIR_LOOP_NOMORE (-1)

/* run_once flags */
#define WEIR_LOOP_DONT_WAIT 1

/* mask: the directions that are ready (errors and hangups set every
 * watched direction: the read() or write() will report them). */
typedef void weir_fd_fn(struct weir_loop *loop, int fd, int mask, void *arg);
/*
 * Returns ms until the next call, counted from when the callback returns
 * (0 = next iteration), or WEIR_LOOP_NOMORE (any negative value) to end
 * the timer.  The id stays the same across reschedules.  A callback that
 * deleted its own timer has its return value ignored.
 */
typedef int64_t weir_timer_fn(struct weir_loop *loop, uint64_t id, void *arg);
typedef void weir_loop_hook_fn(struct weir_loop *loop, void *arg);

/* Returns 0 and *out, or -errno.  Its own fds (epoll, wake pipe) are
 * O_CLOEXEC. */
int weir_loop_new(struct weir_loop **out);
/* Frees the loop and its timers; closes no fd of the caller's. */
void weir_loop_free(struct weir_loop *loop);

/*
 * Watches fd for mask (adds to an existing registration; fn and arg
 * replace those of the directions in mask).  The loop borrows fd: delete
 * it before closing it.  0, -EINVAL (bad fd, mask or fn), or -errno from
 * epoll (-EPERM for a regular file, which is always ready).  With the same
 * fn and arg for both directions, one call gets both bits.
 */
int weir_loop_add_fd(struct weir_loop *loop, int fd, int mask, weir_fd_fn *fn, void *arg);
/* Stops watching mask on fd (all of it when mask covers everything).
 * Unknown fds are ignored. */
void weir_loop_del_fd(struct weir_loop *loop, int fd, int mask);

/* Fires fn once ms (negative = 0) have passed from now, on the monotonic
 * clock; returns the timer id (never 0, never reused for a later timer
 * in practice: an id aliases only after 2^32 reuses of one slot). */
uint64_t weir_timer_add(struct weir_loop *loop, int64_t ms, weir_timer_fn *fn, void *arg);
/* Cancels a timer; unknown or fired ids are ignored. */
void weir_timer_del(struct weir_loop *loop, uint64_t id);

/* fn = NULL removes the hook. */
void weir_loop_set_before_sleep(struct weir_loop *loop, weir_loop_hook_fn *fn, void *arg);

/*
 * Runs one iteration: before_sleep (always, also with DONT_WAIT), wait
 * for events (up to the next timer, forever without timers, or not at
 * all with WEIR_LOOP_DONT_WAIT or after weir_loop_stop), run fd
 * callbacks, run due timers.  A signal interrupting the wait is not an
 * error.  Returns the number of fd and timer callbacks run (the hook and
 * wakeups do not count), or -errno when epoll_wait fails.
 */
int weir_loop_run_once(struct weir_loop *loop, int flags);
/* Microseconds the last run_once spent waiting for events (0 when it did
 * not wait): the rest of its time is the work it did. */
int64_t weir_loop_last_wait_us(const struct weir_loop *loop);
/* Runs until weir_loop_stop(), then clears the stop request.  A stop
 * requested before run() makes it return at once. */
void weir_loop_run(struct weir_loop *loop);
/* Asks run() to return after the current iteration.  Async-signal-safe
 * (an atomic store); from another thread or a handler, call
 * weir_loop_wake() after it so a blocked wait notices. */
void weir_loop_stop(struct weir_loop *loop);
/* Wakes a blocked run_once from another thread or a signal handler
 * (async-signal-safe: one write(2) to a pipe). */
void weir_loop_wake(struct weir_loop *loop);

#endif
