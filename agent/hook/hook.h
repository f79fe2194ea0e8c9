/*
 * hook: run lifecycle-event hook scripts (spec §11, R-150..R-170, v2-delta §3, STYLE §8).  The
 * only code in cdagent that forks, execs or changes user ids.
 *
 * hook_run() runs ONE script.  Before fork it resolves the runas user (getpwnam_r,
 * getgrouplist), builds argv and envp and opens the pipes.  It then forks a small supervisor
 * process that makes itself a child subreaper (PR_SET_CHILD_SUBREAPER) and forks the script:
 * session and process-group leader (setsid), stdin /dev/null, stdout/stderr pipes, no other
 * descriptors, default signal dispositions and an empty mask, cwd "/", umask 022, privileges
 * dropped irrevocably for runas (setgroups, setresgid, setresuid, then setresuid(0,0,0) must
 * fail), exec of the script itself (the kernel honours its "#!" line), or "/bin/sh <path>" when
 * the kernel answers ENOEXEC (no "#!" line, R-155).  Because every descendant of the script,
 * even one that called setsid or was orphaned, stays below the supervisor, a failed or timed-out
 * script's whole tree can be killed: SIGTERM (+SIGCONT) to all, then SIGKILL after kill_grace_ms
 * .  After a successful script the supervisor just exits and whatever the script
 * left running (the deployed application) is left alone and is not reaped or killed.  Where
 * systemd is PID 1 the supervisor (and so the whole hook) is first moved into its own transient
 * scope (scope.h) so it survives agent restarts.
 *
 * Output is read from both pipes with poll() against one deadline into the struct
 * scriptlog.  When the script exits but a background process still holds its stdout/stderr, the
 * hook waits at most output_grace_ms for EOF, then judges the script by its exit status, writes an
 * "[agent]... left STDOUT/STDERR open ..." record and hands the pipes to a relay process that
 * outlives the agent and forwards what those processes write later to the journal (identifier
 * HOOK_BG_IDENT), never to the finished deployment's scripts.log; the agent keeps no end of
 * those pipes, so its exit (restart, upgrade) never kills them with SIGPIPE (R-168, issue 13).
 * After a failed or killed script the remaining output of the dying tree is copied into
 * scripts.log by a background reader until EOF or hook_drain_shutdown().  With
 * output_grace_ms < 0 the Ruby behaviour holds: wait until the deadline, then error code 6.
 *
 * Files: hook.c (this contract: preparation, the agent's event loop, judging), supervisor.c (the
 * forked supervisor and script), proctree.c (/proc walks), drain.c (background readers and
 * the relay),
 * capture.c (hookenv's command capture).  An event's scripts are sequenced by run/hookrun.
 */
#ifndef CDAGENT_HOOK_H
#define CDAGENT_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Journal identifier of the output that processes a hook left running write after the output
 * grace: a relay process outliving the agent forwards it there (issue 13). */
#define HOOK_BG_IDENT "cdagent-hook"

struct stop;

#define HOOK_DEFAULT_TIMEOUT_S 3600
#define HOOK_KILL_GRACE_MS 10000  /* SIGTERM -> SIGKILL */
#define HOOK_OUTPUT_GRACE_MS 5000 /* :hook_output_grace_seconds: default */
#define HOOK_UMASK 022

struct drain_set;
struct scriptlog;

/* Called for the agent-log lines the spec asks for (R-153 chmod warning, R-165 "timed out");
 * the executor logs them at WARN.  NULL: logged at debug. */
typedef void (*hook_warn_fn)(void *ctx, const char *msg);

struct hook_opts {
    const char *path;          /* borrowed; absolute path of the script */
    const char *location;      /* borrowed; the AppSpec location, used in messages */
    const char *runas;         /* borrowed; NULL or "": the agent's user */
    bool sudo;                 /* run through sudo */
    uint64_t timeout_s;        /* 0: HOOK_DEFAULT_TIMEOUT_S */
    char *const *envp;         /* borrowed; hookenv_build(); NULL: empty environment */
    struct scriptlog *log;     /* borrowed; output records; NULL: output discarded */
    int64_t output_grace_ms;   /* R-168; 0: HOOK_OUTPUT_GRACE_MS; < 0: wait for EOF until the
                                * deadline, then code 6 (:hook_output_grace_seconds: -1) */
    int64_t kill_grace_ms;     /* <= 0: HOOK_KILL_GRACE_MS */
    const struct stop *cancel; /* borrowed; requested: agent stops, kill the hook (ERR_CANCELLED) */
    const char
        *scope_deployment_id; /* borrowed; non-NULL: try a transient systemd scope
                               * "cdagent-hook-<deployment>-<event>-<supervisor pid>.scope" */
    const char *scope_event;  /* borrowed; for the scope name */
    hook_warn_fn warn;
    void *warn_ctx;
    struct drain_set *drains; /* borrowed; background readers; NULL: the process-wide
                               * set of hook_drain_shutdown() */
};

struct hook_result {
    pid_t pid;            /* the script's pid (= its pgid), 0 if never started */
    int exit_code;        /* exit status, 128+signal when killed, -1 when not run */
    int term_signal;      /* signal that killed it, else 0 */
    bool made_executable; /* chmod a+x was applied */
    bool timed_out;
    bool outputs_left_open; /* pipes were still open after exit (detached or code 6) */
    bool cancelled;
    bool in_scope; /* ran in its own systemd scope */
    uint64_t duration_ms;
};

/* Run one script.  Returns 0 when it exited 0, else -1 with err->code:
 *   ERR_SCRIPT_MISSING        "Script does not exist at specified location: <path>"
 *   ERR_SCRIPT_EXECUTABILITY  "Unable to set script at specified location: <loc> as executable"
 *   ERR_SCRIPT_TIMED_OUT      "Script at specified location: <loc> failed to complete in <n>
 * seconds" ERR_SCRIPT_FAILED         "... failed with exit code <n>[ (SIG...)]", "... failed with
 * error <class> with message <detail>", "... run as user <u> failed with error: unknown user",
 * runas without root ERR_OUTPUTS_LEFT_OPEN     "Script at specified location: <loc> failed to close
 * STDOUT|STDERR" ERR_CANCELLED             the cancel token was requested ERR_SYSTEM pipes/fork
 * failed ret (NULL allowed) is filled in every case, as far as the script got. */
int hook_run(const struct hook_opts *opts, struct hook_result *ret, struct err *err);

/* Stop every background output reader of the process-wide set (agent shutdown) and wait up to
 * timeout_ms for them. */
void hook_drain_shutdown(uint64_t timeout_ms);
/* Wait up to timeout_ms for the process-wide set's readers to reach EOF on their own; true when
 * none is left. */
bool hook_drain_wait(uint64_t timeout_ms);
/* Number of background output readers of the process-wide set still running. */
size_t hook_drain_count(void);

/* Exit-code text for a signal ("SIGKILL"), or "signal <n>".  Static storage. */
const char *hook_signal_name(int sig);

#endif
