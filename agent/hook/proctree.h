/*
 * proctree: find a process's descendants through /proc (spec) and the processes that
 * hold a pipe (R-168's "left open" record).
 *
 * proctree_scan() and proctree_signal_descendants() run in the hook supervisor after fork, so
 * they make async-signal-safe system calls only (open, read, getdents64, kill): no malloc, no
 * stdio, no locks.  All memory is the caller's scratch, sized PROCTREE_MAX_PROCS and
 * PROCTREE_MAX_TREE.  proctree_pipe_holders() runs in the agent and may allocate.
 */
#ifndef CDAGENT_PROCTREE_H
#define CDAGENT_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"

#define PROCTREE_MAX_PROCS 65536 /* /proc entries examined */
#define PROCTREE_MAX_TREE 16384  /* descendants tracked */

struct proc_pair {
    pid_t pid;
    pid_t ppid;
};

/* Every (pid, parent pid) in /proc into pairs[0..max); returns the count (0 without /proc). */
size_t proctree_scan(struct proc_pair *pairs, size_t max);

/* Send sig to the process group pgrp (when > 0) and to every descendant of the calling process
 * found in /proc, followed by SIGCONT when sig is SIGTERM (so that stopped processes see it).
 * pairs (PROCTREE_MAX_PROCS) and tree (PROCTREE_MAX_TREE) are scratch.  Returns how many
 * descendants were signalled. */
size_t proctree_signal_descendants(pid_t pgrp, int sig, struct proc_pair *pairs, pid_t *tree);

/* Append " <pid>[, <pid>...]" (at most 8) for the processes other than this one and exclude that
 * hold the pipe whose other end is fd. */
void proctree_pipe_holders(int fd, pid_t exclude, struct buf *out);

#endif
