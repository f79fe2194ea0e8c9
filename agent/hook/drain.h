/*
 * drain: background readers for hook output pipes that a script's background process keeps open
 * after the script exited (spec R-168).  Each reader is a detached thread that copies both pipes
 * into the script log until EOF or until its set is shut down; it owns the descriptors and
 * streams it was given and releases them when it ends.
 *
 * The readers of one set share nothing but the set itself (its lock, count and stop pipe); the
 * set is owned by whoever shuts the readers down.  hook_run() uses the set named in its options,
 * or the process-wide one that hook_drain_shutdown() stops.
 */
#ifndef CDAGENT_DRAIN_H
#define CDAGENT_DRAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scriptlog_stream;

#define DRAIN_MAX 256 /* background readers per set at most */

struct drain_set {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a reader ends */
    size_t n;          /* readers running */
    int stop[2];       /* a byte written here stops every reader; created lazily */
};

#define DRAIN_SET_INIT                                                                             \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,                                    \
        {                                                                                          \
            -1, -1                                                                                 \
        }                                                                                          \
    }

/* Hand fds[0..1] (stdout, stderr; -1 for closed) and their streams (NULL allowed) to a new
 * reader; takes ownership and sets them to -1/NULL.  When no reader can be started (DRAIN_MAX,
 * no thread) the pipes are closed: the output is lost but nothing leaks. */
void drain_start(struct drain_set *set, int *fds, struct scriptlog_stream **streams);

/* After the output grace (R-168, issue 13): hand fds[0..1] to a relay process that outlives the
 * agent, so the background processes holding their write ends never get SIGPIPE when the agent
 * exits (restart, upgrade), and what they write from now on goes to the journal as identifier
 * (or nowhere without a journal), never to the finished deployment's scripts.log.  The relay
 * keeps nothing of the agent's and ends when every writer has closed the pipes.  Takes fds and
 * streams (sets them to -1/NULL). */
void drain_relay(const char *identifier, int *fds, struct scriptlog_stream **streams);

/* Stop every reader of the set and wait up to timeout_ms for them to end. */
void drain_shutdown(struct drain_set *set, uint64_t timeout_ms);

/* Wait up to timeout_ms for every reader of the set to reach EOF on its own (nothing is
 * stopped); true when none is left. */
bool drain_wait(struct drain_set *set, uint64_t timeout_ms);

/* Readers of the set still running. */
size_t drain_count(struct drain_set *set);

/* The process-wide set (hook_drain_shutdown(), hook_drain_count()). */
struct drain_set *drain_default(void);

#endif
