/*
 * supervisor: the process side of one hook run (spec, STYLE §8).
 *
 *     agent (any thread) --fork--> supervisor S (subreaper) --fork--> script C (setsid, exec)
 *
 * S exists so that every descendant of the script, including those that called setsid() or whose
 * parent exited, stays below a process we control: orphans are re-parented to S, not to init.
 * S talks to the agent over two channels: control bytes agent -> S on a socket (SUP_CTL_GO go,
 * SUP_CTL_TERM terminate, SUP_CTL_KILL kill, SUP_CTL_RELEASE release) and fixed-size struct
 * sup_msg S -> agent on a pipe (exec failure, started, exited, all gone).  S exits after
 * SUP_ALL_GONE, after a release, or when the agent closes the control socket and the script is
 * done; after a successful script whatever it left running is left alone.
 *
 * sup_main() and everything it calls run after fork and make async-signal-safe system calls only
 * (no malloc, no stdio, no NSS, no locks): everything S and C need is prepared by the agent in
 * struct sup_launch before fork, and S waits for children on a signalfd for SIGCHLD.
 */
#ifndef CDAGENT_SUPERVISOR_H
#define CDAGENT_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "hook/proctree.h"

#define SUP_CTL_GO 'G'
#define SUP_CTL_TERM 'T'
#define SUP_CTL_KILL 'K'
#define SUP_CTL_RELEASE 'R'

#define SUP_EXEC_FAILED 1 /* a = stage, b = errno */
#define SUP_STARTED 2     /* a = pid of the script */
#define SUP_EXITED 3      /* a = wait status */
#define SUP_ALL_GONE 4    /* every process of the hook is gone */

/* Where starting the script failed (SUP_EXEC_FAILED's a). */
enum sup_stage {
    SUP_STAGE_FORK = 1,
    SUP_STAGE_SETSID,
    SUP_STAGE_STDIO,
    SUP_STAGE_CLOSE_FDS,
    SUP_STAGE_SETGROUPS,
    SUP_STAGE_SETRESGID,
    SUP_STAGE_SETRESUID,
    SUP_STAGE_VERIFY_DROP,
    SUP_STAGE_CHDIR,
    SUP_STAGE_EXEC,
};

struct sup_msg {
    int type;
    int a;
    int b;
};

/* Everything the supervisor and the script need, prepared before fork. */
struct sup_launch {
    const char *exec_path; /* borrowed */
    char **argv;           /* owned */
    char **sh_argv;        /* owned; "/bin/sh <path>" for ENOEXEC */
    char **envp;           /* owned strings */
    bool drop;             /* change user */
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* owned */
    int ngroups;
    int devnull;
    int out[2], errp[2];     /* output pipes */
    int status[2];           /* S -> agent messages */
    int ctl[2];              /* agent -> S control */
    struct proc_pair *pairs; /* owned scratch for S (PROCTREE_MAX_PROCS) */
    pid_t *tree;             /* owned scratch for S (PROCTREE_MAX_TREE) */
};

/* Human name of a stage for messages ("setresuid"). */
const char *sup_stage_name(int stage);

/* Reset every signal disposition to SIG_DFL, including glibc's reserved real-time signals (an
 * inherited SIG_IGN would survive exec).  Async-signal-safe. */
void sup_reset_signals(void);

/* Mark every descriptor >= 3 close-on-exec.  Async-signal-safe. */
void sup_cloexec_from_3(void);
/* Close every descriptor >= 3 except the n in keep (sorts keep; async-signal-safe).  S must not
 * hold the agent's sockets or its PID-file lock while a long hook runs, nor the relay anything
 * of the agent's (drain.h). */
void sup_close_all_but(int *keep, int n);

/* The supervisor process: call in the child right after fork, with every signal blocked.
 * Waits for SUP_CTL_GO, forks and supervises the script; never returns. */
__attribute__((noreturn)) void sup_main(const struct sup_launch *L);

#endif
