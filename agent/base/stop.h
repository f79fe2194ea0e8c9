/*
 * stop: a cancellation token that waiters block on instead of polling a flag against the clock.
 *
 * A token is an atomic flag plus an eventfd.  stop_request() sets the flag and makes the eventfd
 * readable for good (it is never drained), so any number of threads sleeping in stop_wait_ms()
 * or polling stop_fd() wake at once.  stop_request() is async-signal-safe: a SIGTERM handler
 * may call it.  A request cannot be withdrawn; make a new token for a new run.
 *
 * Every function taking a const token accepts NULL, meaning "never stops": stop_requested(NULL)
 * is false, stop_wait_ms(NULL, ms) sleeps the whole ms, stop_fd(NULL) is -1 (ignored by poll()).
 */
#ifndef CDAGENT_STOP_H
#define CDAGENT_STOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct stop {
    atomic_bool requested;
    int fd; /* owned eventfd (EFD_CLOEXEC | EFD_NONBLOCK); -1 after stop_done */
};

/* Make a fresh, unrequested token.  ERR_SYSTEM when no eventfd can be created. */
int stop_init(struct stop *s, struct err *err);
/* Release the eventfd.  Accepts a token never initialised (zeroed, fd 0 excluded by init). */
void stop_done(struct stop *s);

/* Request the stop: wakes every waiter.  Async-signal-safe; keeps errno. */
void stop_request(struct stop *s);
bool stop_requested(const struct stop *s);
/* Sleep up to ms milliseconds (CLOCK_MONOTONIC deadline, EINTR resumed); returns true at once
 * when the stop is (or becomes) requested, false when the time ran out. */
bool stop_wait_ms(const struct stop *s, uint64_t ms);
/* The fd to add to a poll() set (POLLIN once requested); -1 for NULL. */
int stop_fd(const struct stop *s);

#endif
