/* supervisor: see supervisor.h.  Everything here runs after fork: async-signal-safe calls only. */
#include "hook/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook/hook.h"

#define KILL_ROUNDS 10000 /* SIGKILL sweeps over the tree at most */
#define KILL_RESCAN_MS 1  /* a sweep that found nobody waits this long for SIGCHLD */

const char *sup_stage_name(int stage)
{
    switch (stage) {
    case SUP_STAGE_FORK:
        return "fork";
    case SUP_STAGE_SETSID:
        return "setsid";
    case SUP_STAGE_STDIO:
        return "dup2";
    case SUP_STAGE_CLOSE_FDS:
        return "close_range";
    case SUP_STAGE_SETGROUPS:
        return "setgroups";
    case SUP_STAGE_SETRESGID:
        return "setresgid";
    case SUP_STAGE_SETRESUID:
        return "setresuid";
    case SUP_STAGE_VERIFY_DROP:
        return "verify privilege drop";
    case SUP_STAGE_CHDIR:
        return "chdir";
    case SUP_STAGE_EXEC:
        return "execve";
    default:
        return "start";
    }
}

static void sup_send(int fd, int type, int a, int b)
{
    struct sup_msg m = {type, a, b};
    while (write(fd, &m, sizeof(m)) < 0 && errno == EINTR)
        ;
}

void sup_reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (sigaction(sig, &sa, NULL) < 0) {
            /* glibc refuses its reserved real-time signals: use the raw system call */
            struct {
                void *handler;
                unsigned long flags;
                void *restorer;
                unsigned long long mask;
            } k = {NULL, 0, NULL, 0};
            (void)syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
        }
    }
}

void sup_cloexec_from_3(void)
{
    if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0) {
        for (int fd = 3; fd < 65536; fd++)
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

static __attribute__((noreturn)) void child_fail(const struct sup_launch *L, int stage, int e)
{
    sup_send(L->status[1], SUP_EXEC_FAILED, stage, e);
    _exit(127);
}

/* Irrevocable change to the runas user. */
static void drop_privileges(const struct sup_launch *L)
{
    if (setgroups((size_t)L->ngroups, L->groups) < 0)
        child_fail(L, SUP_STAGE_SETGROUPS, errno);
    if (setresgid(L->gid, L->gid, L->gid) < 0)
        child_fail(L, SUP_STAGE_SETRESGID, errno);
    if (setresuid(L->uid, L->uid, L->uid) < 0)
        child_fail(L, SUP_STAGE_SETRESUID, errno);
    if (L->uid != 0 && (setresuid(0, 0, 0) == 0 || getuid() != L->uid || geteuid() != L->uid))
        child_fail(L, SUP_STAGE_VERIFY_DROP, EPERM);
}

/* The script process C: STYLE §8 steps 6-12. */
static __attribute__((noreturn)) void child_exec(const struct sup_launch *L)
{
    if (setsid() < 0)
        child_fail(L, SUP_STAGE_SETSID, errno);
    if (dup2(L->devnull, 0) < 0 || dup2(L->out[1], 1) < 0 || dup2(L->errp[1], 2) < 0)
        child_fail(L, SUP_STAGE_STDIO, errno);
    sup_cloexec_from_3();
    if (L->drop)
        drop_privileges(L);
    if (chdir("/") < 0)
        child_fail(L, SUP_STAGE_CHDIR, errno);
    umask(HOOK_UMASK);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(L->exec_path, L->argv, L->envp);
    if (errno == ENOEXEC) /* no "#!" line: like Ruby's spawn, run it with /bin/sh */
        execve("/bin/sh", L->sh_argv, L->envp);
    child_fail(L, SUP_STAGE_EXEC, errno);
}

/* Reap finished children; report the script's status.  Returns false once no child is left. */
static bool sup_reap(const struct sup_launch *L, pid_t script, bool *script_done)
{
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r == 0)
            return true;
        if (r < 0)
            return errno != ECHILD;
        if (r == script) {
            *script_done = true;
            sup_send(L->status[1], SUP_EXITED, st, 0);
        }
    }
}

/* Wait for the next SIGCHLD on sfd (at most timeout_ms; -1: no limit) and consume it. */
static void wait_sigchld(int sfd, int timeout_ms)
{
    struct pollfd pf = {.fd = sfd, .events = POLLIN};
    if (poll(&pf, 1, timeout_ms) > 0) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) > 0)
            ;
    }
}

/* SIGKILL the whole tree until no child is left, then report SUP_ALL_GONE and exit. */
static __attribute__((noreturn)) void sup_kill_all(const struct sup_launch *L, int sfd,
                                                   pid_t script, bool *script_done)
{
    for (int round = 0; round < KILL_ROUNDS; round++) {
        size_t n = proctree_signal_descendants(script, SIGKILL, L->pairs, L->tree);
        if (!sup_reap(L, script, script_done))
            break; /* no child left: the whole tree is gone */
        if (n == 0) {
            /* a child not yet visible in /proc: its SIGCHLD, or a rescan soon */
            wait_sigchld(sfd, KILL_RESCAN_MS);
            continue;
        }
        /* SIGKILLed processes die promptly; the agent has a watchdog should one not */
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r == script) {
            *script_done = true;
            sup_send(L->status[1], SUP_EXITED, st, 0);
        }
    }
    sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
    _exit(0);
}

void sup_close_all_but(int *keep, int n)
{
    for (int i = 1; i < n; i++) { /* insertion sort: n is tiny */
        int v = keep[i], j = i - 1;
        while (j >= 0 && keep[j] > v) {
            keep[j + 1] = keep[j];
            j--;
        }
        keep[j + 1] = v;
    }
    unsigned lo = 3;
    for (int i = 0; i <= n; i++) {
        unsigned hi = i < n ? (unsigned)keep[i] : ~0U;
        if (i < n && keep[i] < 3)
            continue;
        if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0U) < 0) {
            unsigned top = hi == ~0U ? 65536 : hi;
            for (unsigned fd = lo; fd < top; fd++)
                (void)close((int)fd);
        }
        lo = hi == ~0U ? hi : hi + 1;
    }
}

static char read_ctl(const struct sup_launch *L)
{
    char c = 0;
    ssize_t r;
    do {
        r = read(L->ctl[0], &c, 1);
    } while (r < 0 && errno == EINTR);
    return r == 1 ? c : 0;
}

/* Start the script once the agent says go; returns its pid. */
static pid_t start_script(const struct sup_launch *L)
{
    if (read_ctl(L) != SUP_CTL_GO)
        _exit(1);
    pid_t script = fork();
    if (script == 0)
        child_exec(L);
    if (script < 0) {
        sup_send(L->status[1], SUP_EXEC_FAILED, SUP_STAGE_FORK, errno);
        sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
        _exit(1);
    }
    /* S must not keep the script's pipes open */
    close(L->devnull);
    close(L->out[1]);
    close(L->errp[1]);
    sup_send(L->status[1], SUP_STARTED, (int)script, 0);
    return script;
}

struct sup_state {
    int sfd;
    pid_t script;
    bool script_done, terminating, ctl_open;
};

/* Act on one control byte (or the agent closing the socket). */
static void on_control(const struct sup_launch *L, struct sup_state *S)
{
    char c = read_ctl(L);
    if (c == 0) {
        S->ctl_open = false;
        if (S->script_done)
            _exit(0);
        return;
    }
    if (c == SUP_CTL_RELEASE)
        _exit(0);
    if (c == SUP_CTL_KILL)
        sup_kill_all(L, S->sfd, S->script, &S->script_done);
    if (c == SUP_CTL_TERM) {
        S->terminating = true;
        proctree_signal_descendants(S->script, SIGTERM, L->pairs, L->tree);
        if (!sup_reap(L, S->script, &S->script_done)) {
            sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
            _exit(0);
        }
    }
}

void sup_main(const struct sup_launch *L)
{
    /* all signals stay blocked in S: it reacts to SIGCHLD through a signalfd only */
    sup_reset_signals();
    int keep[] = {L->ctl[0], L->status[1], L->devnull, L->out[1], L->errp[1]};
    sup_close_all_but(keep, (int)(sizeof(keep) / sizeof(keep[0])));
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    struct sup_state S = {.sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK), .ctl_open = true};
    S.script = start_script(L);
    for (;;) {
        struct pollfd pf[2] = {{.fd = S.sfd, .events = POLLIN},
                               {.fd = S.ctl_open ? L->ctl[0] : -1, .events = POLLIN}};
        /* without a signalfd fall back to checking every 100 ms */
        int pr = poll(pf, 2, S.sfd < 0 ? 100 : -1);
        if (pr < 0 && errno != EINTR)
            _exit(1);
        if (S.sfd >= 0 && (pf[0].revents & POLLIN))
            wait_sigchld(S.sfd, 0);
        bool children = sup_reap(L, S.script, &S.script_done);
        if (!children && S.terminating) {
            sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
            _exit(0);
        }
        if (!children && !S.ctl_open)
            _exit(0);
        if (S.script_done && !S.ctl_open)
            _exit(0); /* the agent went away: leave the rest alone */
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR))
            on_control(L, &S);
    }
}
