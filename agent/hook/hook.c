/* hook: see hook.h.
 *
 * Process layout while a hook runs:
 *
 *     agent (any thread) --fork--> supervisor S (subreaper) --fork--> script C (setsid, exec)
 *
 * S exists so that every descendant of the script, including those that called setsid() or
 * whose parent exited, stays below a process we control: orphans are re-parented to S, not to
 * init.  S talks to the agent over two pipes: control bytes agent -> S ('G' go, 'T' terminate,
 * 'K' kill, 'R' release) and fixed-size messages S -> agent (exec failure, started, exited, all
 * gone).  After fork, S and C only make async-signal-safe system calls (no malloc, no stdio, no
 * NSS, no locks): everything they need is prepared by the parent in struct launch.
 */
#include "hook/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "base/log.h"
#include "sys/scope.h"
#include "hook/scriptlog.h"
#include "base/util.h"

#define CTL_GO 'G'
#define CTL_TERM 'T'
#define CTL_KILL 'K'
#define CTL_RELEASE 'R'

#define SUP_EXEC_FAILED 1  /* a = stage, b = errno */
#define SUP_STARTED 2      /* a = pid of the script */
#define SUP_EXITED 3       /* a = wait status */
#define SUP_ALL_GONE 4     /* every process of the hook is gone */

#define SUP_MAX_PROCS 65536     /* /proc entries examined when killing a hook's tree */
#define SUP_MAX_TREE 16384      /* descendants tracked */
#define SUP_EXIT_WAIT_MS 5000   /* the supervisor must exit this soon after its last job */
#define READ_CHUNK 65536
#define DRAIN_MAX 256           /* background readers at most */

enum stage {
    STAGE_FORK = 1,
    STAGE_SETSID,
    STAGE_STDIO,
    STAGE_CLOSE_FDS,
    STAGE_SETGROUPS,
    STAGE_SETRESGID,
    STAGE_SETRESUID,
    STAGE_VERIFY_DROP,
    STAGE_CHDIR,
    STAGE_EXEC,
};

struct sup_msg {
    int type;
    int a;
    int b;
};

struct proc_pair {
    pid_t pid;
    pid_t ppid;
};

/* Everything the supervisor and the script need, prepared before fork. */
struct launch {
    const char *exec_path;   /* borrowed */
    char **argv;             /* owned */
    char **sh_argv;          /* owned; "/bin/sh <path>" for ENOEXEC */
    char **envp;             /* owned strings */
    bool drop;               /* change user */
    uid_t uid;
    gid_t gid;
    gid_t *groups;           /* owned */
    int ngroups;
    int devnull;
    int out[2], errp[2];     /* output pipes */
    int status[2];           /* S -> agent messages */
    int ctl[2];              /* agent -> S control */
    struct proc_pair *pairs; /* owned scratch for S */
    pid_t *tree;             /* owned scratch for S */
};

static const char *stage_name(int stage)
{
    switch (stage) {
    case STAGE_FORK: return "fork";
    case STAGE_SETSID: return "setsid";
    case STAGE_STDIO: return "dup2";
    case STAGE_CLOSE_FDS: return "close_range";
    case STAGE_SETGROUPS: return "setgroups";
    case STAGE_SETRESGID: return "setresgid";
    case STAGE_SETRESUID: return "setresuid";
    case STAGE_VERIFY_DROP: return "verify privilege drop";
    case STAGE_CHDIR: return "chdir";
    case STAGE_EXEC: return "execve";
    default: return "start";
    }
}

const char *hook_signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
        {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},
        {SIGTTOU, "SIGTTOU"}, {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
        {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"}, {SIGIO, "SIGIO"},
        {SIGPWR, "SIGPWR"},   {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    static __thread char buf[32];
    snprintf(buf, sizeof(buf), "signal %d", sig);
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Code that runs after fork: async-signal-safe system calls only.                             */

static void sup_send(int fd, int type, int a, int b)
{
    struct sup_msg m = {type, a, b};
    while (write(fd, &m, sizeof(m)) < 0 && errno == EINTR)
        ;
}

static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (sigaction(sig, &sa, NULL) < 0) {
            /* glibc refuses its reserved real-time signals; an inherited SIG_IGN on them would
             * survive exec, so reset them with the raw system call */
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

static __attribute__((noreturn)) void child_fail(const struct launch *L, int stage, int e)
{
    sup_send(L->status[1], SUP_EXEC_FAILED, stage, e);
    _exit(127);
}

/* The script process C: STYLE §8 steps 6-12. */
static __attribute__((noreturn)) void child_exec(const struct launch *L)
{
    if (setsid() < 0)
        child_fail(L, STAGE_SETSID, errno);
    if (dup2(L->devnull, 0) < 0 || dup2(L->out[1], 1) < 0 || dup2(L->errp[1], 2) < 0)
        child_fail(L, STAGE_STDIO, errno);
    if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0) {
        for (int fd = 3; fd < 65536; fd++)
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (L->drop) {
        if (setgroups((size_t)L->ngroups, L->groups) < 0)
            child_fail(L, STAGE_SETGROUPS, errno);
        if (setresgid(L->gid, L->gid, L->gid) < 0)
            child_fail(L, STAGE_SETRESGID, errno);
        if (setresuid(L->uid, L->uid, L->uid) < 0)
            child_fail(L, STAGE_SETRESUID, errno);
        if (L->uid != 0) {
            /* the drop must be irrevocable */
            if (setresuid(0, 0, 0) == 0 || getuid() != L->uid || geteuid() != L->uid)
                child_fail(L, STAGE_VERIFY_DROP, EPERM);
        }
    }
    if (chdir("/") < 0)
        child_fail(L, STAGE_CHDIR, errno);
    umask(HOOK_UMASK);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(L->exec_path, L->argv, L->envp);
    if (errno == ENOEXEC)  /* no "#!" line: like Ruby's spawn, run it with /bin/sh */
        execve("/bin/sh", L->sh_argv, L->envp);
    child_fail(L, STAGE_EXEC, errno);
}

/* Parent pid from /proc/<pid>/stat, or -1. */
static pid_t read_ppid(const char *pidstr, size_t n)
{
    char path[48] = "/proc/";
    if (n > 20)
        return -1;
    memcpy(path + 6, pidstr, n);
    memcpy(path + 6 + n, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[512];
    ssize_t r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (r <= 0)
        return -1;
    buf[r] = '\0';
    char *p = NULL;
    for (ssize_t i = r - 1; i >= 0; i--) {
        if (buf[i] == ')') {
            p = buf + i;
            break;
        }
    }
    /* ") S 1234 " */
    if (!p || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
        return -1;
    p += 4;
    long v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    return (pid_t)v;
}

struct linux_dirent64_ {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* All (pid, ppid) pairs from /proc into L->pairs; returns the count. */
static size_t scan_procs(const struct launch *L)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n = 0;
    char buf[8192] __attribute__((aligned(8)));
    for (;;) {
        long r = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (r <= 0)
            break;
        for (long off = 0; off < r;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(void *)(buf + off);
            off += d->d_reclen;
            const char *name = d->d_name;
            size_t len = 0;
            bool num = true;
            while (name[len]) {
                if (name[len] < '0' || name[len] > '9')
                    num = false;
                len++;
            }
            if (!num || len == 0 || n >= SUP_MAX_PROCS)
                continue;
            pid_t ppid = read_ppid(name, len);
            if (ppid < 0)
                continue;
            long v = 0;
            for (size_t i = 0; i < len; i++)
                v = v * 10 + (name[i] - '0');
            L->pairs[n].pid = (pid_t)v;
            L->pairs[n].ppid = ppid;
            n++;
        }
    }
    close(fd);
    return n;
}

/* Send sig to every descendant of this process (the supervisor).  Returns how many. */
static size_t signal_tree(const struct launch *L, pid_t script, int sig)
{
    if (script > 0)
        (void)kill(-script, sig);
    size_t np = scan_procs(L);
    size_t nt = 1;
    L->tree[0] = getpid();
    bool grew = true;
    while (grew && nt < SUP_MAX_TREE) {
        grew = false;
        for (size_t i = 0; i < np && nt < SUP_MAX_TREE; i++) {
            bool parent_in = false, self_in = false;
            for (size_t j = 0; j < nt; j++) {
                if (L->tree[j] == L->pairs[i].ppid)
                    parent_in = true;
                if (L->tree[j] == L->pairs[i].pid)
                    self_in = true;
            }
            if (parent_in && !self_in) {
                L->tree[nt++] = L->pairs[i].pid;
                grew = true;
            }
        }
    }
    for (size_t j = 1; j < nt; j++) {
        (void)kill(L->tree[j], sig);
        if (sig == SIGTERM)
            (void)kill(L->tree[j], SIGCONT);
    }
    return nt - 1;
}

/* Reap finished children; report the script's status.  Returns false once no child is left. */
static bool sup_reap(const struct launch *L, pid_t script, bool *script_done)
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

static __attribute__((noreturn)) void sup_kill_all(const struct launch *L, pid_t script,
                                                   bool *script_done)
{
    for (int round = 0; round < 10000; round++) {
        size_t n = signal_tree(L, script, SIGKILL);
        if (!sup_reap(L, script, script_done))
            break;  /* no child left: the whole tree is gone */
        if (n == 0) {
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
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

/* Close every descriptor >= 3 except the n in keep (S must not hold the agent's sockets or its
 * PID-file lock while a long hook runs). */
static void close_all_but(int *keep, int n)
{
    for (int i = 1; i < n; i++) {  /* insertion sort: n is tiny */
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

/* The supervisor S. */
static __attribute__((noreturn)) void supervise(const struct launch *L)
{
    /* all signals stay blocked in S: it reacts to SIGCHLD through a signalfd only */
    reset_signals();
    int keep[] = {L->ctl[0], L->status[1], L->devnull, L->out[1], L->errp[1]};
    close_all_but(keep, (int)(sizeof(keep) / sizeof(keep[0])));
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

    char c = 0;
    ssize_t r;
    do {
        r = read(L->ctl[0], &c, 1);
    } while (r < 0 && errno == EINTR);
    if (r != 1 || c != CTL_GO)
        _exit(1);

    pid_t script = fork();
    if (script == 0)
        child_exec(L);
    if (script < 0) {
        sup_send(L->status[1], SUP_EXEC_FAILED, STAGE_FORK, errno);
        sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
        _exit(1);
    }
    /* S must not keep the script's pipes open */
    close(L->devnull);
    close(L->out[1]);
    close(L->errp[1]);
    sup_send(L->status[1], SUP_STARTED, (int)script, 0);

    bool script_done = false, terminating = false, ctl_open = true;
    for (;;) {
        struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ctl_open ? L->ctl[0] : -1,
                                                              .events = POLLIN}};
        /* without a signalfd fall back to checking every 100 ms */
        int pr = poll(pf, 2, sfd < 0 ? 100 : -1);
        if (pr < 0 && errno != EINTR)
            _exit(1);
        if (sfd >= 0 && (pf[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) > 0)
                ;
        }
        bool children = sup_reap(L, script, &script_done);
        if (!children && terminating) {
            sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
            _exit(0);
        }
        if (!children && !ctl_open)
            _exit(0);
        if (script_done && !ctl_open)
            _exit(0);  /* the agent went away: leave the rest alone */
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            do {
                r = read(L->ctl[0], &c, 1);
            } while (r < 0 && errno == EINTR);
            if (r <= 0) {
                ctl_open = false;
                if (script_done)
                    _exit(0);
                continue;
            }
            if (c == CTL_RELEASE)
                _exit(0);
            if (c == CTL_KILL)
                sup_kill_all(L, script, &script_done);
            if (c == CTL_TERM) {
                terminating = true;
                signal_tree(L, script, SIGTERM);
                if (!sup_reap(L, script, &script_done)) {
                    sup_send(L->status[1], SUP_ALL_GONE, 0, 0);
                    _exit(0);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Parent side.                                                                                */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static void launch_done(struct launch *L)
{
    free_strv(L->argv);
    free_strv(L->sh_argv);
    free_strv(L->envp);
    free(L->groups);
    free(L->pairs);
    free(L->tree);
    close_fd(&L->devnull);
    for (int i = 0; i < 2; i++) {
        close_fd(&L->out[i]);
        close_fd(&L->errp[i]);
        close_fd(&L->status[i]);
        close_fd(&L->ctl[i]);
    }
}

static const char *const preserved_names[] = {
    "LIFECYCLE_EVENT", "DEPLOYMENT_ID", "APPLICATION_NAME", "DEPLOYMENT_GROUP_NAME",
    "DEPLOYMENT_GROUP_ID", "BUNDLE_BUCKET", "BUNDLE_KEY", "BUNDLE_VERSION", "BUNDLE_ETAG",
    "BUNDLE_COMMIT", NULL,
};

static bool env_has(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *p = envp; p && *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return true;
    return false;
}

/* envp with HOME, USER, LOGNAME, SHELL replaced (when pw is given). */
static char **build_envp(char *const *base, const struct passwd *pw)
{
    size_t n = 0;
    for (char *const *p = base; p && *p; p++)
        n++;
    char **envp = xcalloc(n + 5, sizeof(char *));
    size_t k = 0;
    static const char *const user_vars[] = {"HOME=", "USER=", "LOGNAME=", "SHELL=", NULL};
    for (char *const *p = base; p && *p; p++) {
        bool skip = false;
        for (int i = 0; pw && user_vars[i]; i++)
            if (str_has_prefix(*p, user_vars[i]))
                skip = true;
        if (!skip)
            envp[k++] = xstrdup(*p);
    }
    if (pw) {
        envp[k++] = xasprintf("HOME=%s", pw->pw_dir ? pw->pw_dir : "/");
        envp[k++] = xasprintf("USER=%s", pw->pw_name);
        envp[k++] = xasprintf("LOGNAME=%s", pw->pw_name);
        envp[k++] = xasprintf("SHELL=%s", pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
    }
    envp[k] = NULL;
    return envp;
}

static const char *find_sudo(void)
{
    static const char *const c[] = {"/usr/bin/sudo", "/bin/sudo", "/usr/local/bin/sudo",
                                    "/usr/sbin/sudo", NULL};
    for (int i = 0; c[i]; i++)
        if (access(c[i], X_OK) == 0)
            return c[i];
    return NULL;
}

/* "Script at specified location: <loc>[ run as user <u>]" */
static char *msg_head(const struct hook_opts *o)
{
    if (o->runas && *o->runas)
        return xasprintf("Script at specified location: %s run as user %s", o->location,
                         o->runas);
    return xasprintf("Script at specified location: %s", o->location);
}

static void warn_msg(const struct hook_opts *o, const char *msg)
{
    if (o->warn)
        o->warn(o->warn_ctx, msg);
    else
        log_debug("%s", msg);
}

/* the script exists and is executable (made so when needed). */
static int check_script(const struct hook_opts *o, struct hook_result *res, struct err *err)
{
    struct stat st;
    if (stat(o->path, &st) < 0)
        return err_set(err, ERR_SCRIPT_MISSING, "Script does not exist at specified location: %s",
                       o->path);
    if (access(o->path, X_OK) == 0 && (st.st_mode & 0111))
        return 0;
    AUTOFREE char *w = xasprintf("Script at specified location: %s is not executable.  Trying to "
                                 "make it executable.",
                                 o->location);
    warn_msg(o, w);
    if (chmod(o->path, (st.st_mode & 07777) | 0111) < 0 || access(o->path, X_OK) < 0)
        return err_set(err, ERR_SCRIPT_EXECUTABILITY,
                       "Unable to set script at specified location: %s as executable",
                       o->location);
    res->made_executable = true;
    return 0;
}

/* Resolve runas before fork (STYLE §8 step 1). */
static int resolve_user(const struct hook_opts *o, struct launch *L, struct passwd *pw,
                        char **pwbuf, bool *ret_set, struct err *err)
{
    *ret_set = false;
    if (!o->runas || !*o->runas || o->sudo)
        return 0;
    size_t bl = 16384;
    struct passwd *found = NULL;
    int rc;
    for (;;) {
        *pwbuf = xrealloc(*pwbuf, bl);
        rc = getpwnam_r(o->runas, pw, *pwbuf, bl, &found);
        if (rc != ERANGE || bl > (1u << 22))
            break;
        bl *= 2;
    }
    AUTOFREE char *head = msg_head(o);
    if (!found)
        return err_set(err, ERR_SCRIPT_FAILED, "%s failed with error: unknown user", head);
    *ret_set = true;
    if (found->pw_uid == geteuid() && found->pw_gid == getegid())
        return 0;  /* already that user: nothing to drop */
    if (geteuid() != 0)
        return err_set(err, ERR_SCRIPT_FAILED,
                       "%s failed with error: the agent must run as root to use runas", head);
    int ng = 64;
    L->groups = xcalloc((size_t)ng, sizeof(gid_t));
    while (getgrouplist(found->pw_name, found->pw_gid, L->groups, &ng) < 0) {
        if (ng > 65536)
            return err_set(err, ERR_SCRIPT_FAILED, "%s failed with error: too many groups", head);
        L->groups = xrealloc(L->groups, (size_t)ng * sizeof(gid_t));
    }
    L->ngroups = ng;
    L->uid = found->pw_uid;
    L->gid = found->pw_gid;
    L->drop = true;
    return 0;
}

static int build_argv(const struct hook_opts *o, struct launch *L, struct err *err)
{
    L->sh_argv = xcalloc(3, sizeof(char *));
    L->sh_argv[0] = xstrdup("/bin/sh");
    L->sh_argv[1] = xstrdup(o->path);
    if (!o->sudo) {
        L->argv = xcalloc(2, sizeof(char *));
        L->argv[0] = xstrdup(o->path);
        L->exec_path = o->path;
        return 0;
    }
    /* sudo --preserve-env=<names> [-u <runas>] -- <path>  */
    const char *sudo = find_sudo();
    if (!sudo) {
        AUTOFREE char *head = msg_head(o);
        return err_set(err, ERR_SCRIPT_FAILED,
                       "%s failed with error Errno::ENOENT with message No such file or directory "
                       "- sudo",
                       head);
    }
    struct buf names;
    buf_init(&names, 4096);
    for (int i = 0; preserved_names[i]; i++) {
        if (env_has(o->envp, preserved_names[i]))
            (void)buf_appendf(&names, NULL, "%s%s", names.len ? "," : "", preserved_names[i]);
    }
    L->argv = xcalloc(8, sizeof(char *));
    int k = 0;
    L->argv[k++] = xstrdup(sudo);
    if (names.len)
        L->argv[k++] = xasprintf("--preserve-env=%s", names.data);
    if (o->runas && *o->runas) {
        L->argv[k++] = xstrdup("-u");
        L->argv[k++] = xstrdup(o->runas);
    }
    L->argv[k++] = xstrdup("--");
    L->argv[k++] = xstrdup(o->path);
    buf_done(&names);
    L->exec_path = L->argv[0];
    return 0;
}

static int open_fds(struct launch *L, struct err *err)
{
    L->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (L->devnull < 0)
        return err_sys(err, "open '/dev/null'");
    if (pipe2(L->out, O_CLOEXEC) < 0 || pipe2(L->errp, O_CLOEXEC) < 0 ||
        pipe2(L->status, O_CLOEXEC) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, L->ctl) < 0)
        return err_sys(err, "create pipes for the hook");
    (void)fcntl(L->out[0], F_SETFL, O_NONBLOCK);
    (void)fcntl(L->errp[0], F_SETFL, O_NONBLOCK);
    return 0;
}

/* ---- background readers for pipes a daemon keeps open (R-168) ---- */

static pthread_mutex_t drain_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cv = PTHREAD_COND_INITIALIZER;
static size_t drain_n;
static int drain_stop[2] = {-1, -1};

struct drainer {
    int fd[2];
    struct scriptlog_stream *s[2];
};

static void *drain_main(void *arg)
{
    struct drainer *d = arg;
    char *buf = xmalloc(READ_CHUNK);
    for (;;) {
        struct pollfd pf[3] = {{.fd = d->fd[0], .events = POLLIN},
                               {.fd = d->fd[1], .events = POLLIN},
                               {.fd = drain_stop[0], .events = POLLIN}};
        if (d->fd[0] < 0 && d->fd[1] < 0)
            break;
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[2].revents)
            break;
        for (int i = 0; i < 2; i++) {
            if (d->fd[i] < 0 || !pf[i].revents)
                continue;
            ssize_t r = read(d->fd[i], buf, READ_CHUNK);
            if (r > 0) {
                if (d->s[i])
                    scriptlog_stream_feed(d->s[i], buf, (size_t)r);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN))
                close_fd(&d->fd[i]);
        }
    }
    free(buf);
    for (int i = 0; i < 2; i++) {
        close_fd(&d->fd[i]);
        scriptlog_stream_free(d->s[i]);
    }
    free(d);
    pthread_mutex_lock(&drain_mu);
    drain_n--;
    pthread_cond_broadcast(&drain_cv);
    pthread_mutex_unlock(&drain_mu);
    return NULL;
}

/* Hand the open pipes to a background reader; takes ownership of fds and streams. */
static void drain_start(int *fds, struct scriptlog_stream **streams)
{
    pthread_mutex_lock(&drain_mu);
    bool ok = drain_n < DRAIN_MAX;
    if (ok && drain_stop[0] < 0 && pipe2(drain_stop, O_CLOEXEC | O_NONBLOCK) < 0)
        ok = false;
    if (ok)
        drain_n++;
    pthread_mutex_unlock(&drain_mu);
    struct drainer *d = xcalloc(1, sizeof(*d));
    for (int i = 0; i < 2; i++) {
        d->fd[i] = fds[i];
        fds[i] = -1;
        d->s[i] = streams[i];
        streams[i] = NULL;
    }
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024);
    if (ok && pthread_create(&t, &a, drain_main, d) == 0) {
        pthread_attr_destroy(&a);
        return;
    }
    pthread_attr_destroy(&a);
    if (ok) {
        pthread_mutex_lock(&drain_mu);
        drain_n--;
        pthread_mutex_unlock(&drain_mu);
    }
    for (int i = 0; i < 2; i++) {
        close_fd(&d->fd[i]);
        scriptlog_stream_free(d->s[i]);
    }
    free(d);
}

void hook_drain_shutdown(uint64_t timeout_ms)
{
    pthread_mutex_lock(&drain_mu);
    if (drain_stop[1] >= 0)
        (void)!write(drain_stop[1], "x", 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (drain_n > 0) {
        if (pthread_cond_timedwait(&drain_cv, &drain_mu, &ts) != 0)
            break;
    }
    if (drain_n == 0 && drain_stop[0] >= 0) {
        char c;
        while (read(drain_stop[0], &c, 1) > 0)
            ;
    }
    pthread_mutex_unlock(&drain_mu);
}

size_t hook_drain_count(void)
{
    pthread_mutex_lock(&drain_mu);
    size_t n = drain_n;
    pthread_mutex_unlock(&drain_mu);
    return n;
}

/* ---- the relay for the output of processes a hook leaves running (R-168, issue 13) ---- */

/* The relay process: reads both pipes until every writer closed them, writes what it reads to
 * out (the journal) and, once that fails, drops it.  Only async-signal-safe calls: it is forked
 * from a threaded process. */
static _Noreturn void relay_main(int a, int b, int out)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    (void)setsid();
    /* Nothing of the agent's: not even its stdin/stdout/stderr (whoever reads those, the
     * journal or a test, must see EOF when the agent exits). */
    a = fcntl(a, F_DUPFD_CLOEXEC, 3);
    b = fcntl(b, F_DUPFD_CLOEXEC, 3);
    out = out >= 0 ? fcntl(out, F_DUPFD_CLOEXEC, 3) : -1;
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3 && null >= 0; i++)
        (void)dup2(null, i);
    int keep[3] = {a, b, out};
    close_all_but(keep, 3);
    int fd[2] = {a, b};
    char buf[4096];
    while (fd[0] >= 0 || fd[1] >= 0) {
        struct pollfd pf[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fd[i] < 0 || !pf[i].revents)
                continue;
            ssize_t r = read(fd[i], buf, sizeof(buf));
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                (void)close(fd[i]);
                fd[i] = -1;
            } else if (r > 0 && out >= 0 && write(out, buf, (size_t)r) != r) {
                (void)close(out);
                out = -1;
            }
        }
    }
    _exit(0);
}

/* After the output grace: hand the pipes a hook's background processes hold to a relay process
 * that outlives the agent, so those processes never get SIGPIPE when the agent exits (restart,
 * upgrade) and their output no longer grows the finished deployment's scripts.log: it goes to
 * the journal as HOOK_BG_IDENT (or nowhere without a journal).  Takes fds and streams. */
static void relay_start(int *fds, struct scriptlog_stream **streams)
{
    int out = sd_journal_stream_fd(HOOK_BG_IDENT, LOG_PRIO_INFO, 0);
    if (out < 0)
        out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        /* The relay is a grandchild, adopted by PID 1 (or a subreaper), never our zombie. */
        if (fork() == 0)
            relay_main(fds[0], fds[1], out);
        _exit(0);
    }
    if (pid < 0)
        log_warn("cannot start the relay for a hook's background output: %s", strerror(errno));
    else
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    close_fd(&out);
    for (int i = 0; i < 2; i++) {
        close_fd(&fds[i]);
        scriptlog_stream_free(streams[i]);
        streams[i] = NULL;
    }
}

/* Pids (other than exclude) that hold the pipe read by fd, for the "left open" record. */
static void pipe_holders(int fd, pid_t exclude, struct buf *out)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    char want[64];
    snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
    int found = 0;
    int pd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pd < 0)
        return;
    char buf[8192] __attribute__((aligned(8)));
    long r;
    while (found < 8 && (r = syscall(SYS_getdents64, pd, buf, sizeof(buf))) > 0) {
        for (long off = 0; off < r && found < 8;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(void *)(buf + off);
            off += d->d_reclen;
            uint64_t pid;
            if (parse_uint(d->d_name, 1, 1u << 30, &pid, NULL) < 0 || (pid_t)pid == getpid() ||
                (pid_t)pid == exclude)
                continue;
            char dir[64];
            snprintf(dir, sizeof(dir), "/proc/%s/fd", d->d_name);
            int fdd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fdd < 0)
                continue;
            char fbuf[4096] __attribute__((aligned(8)));
            long fr;
            bool hit = false;
            while (!hit && (fr = syscall(SYS_getdents64, fdd, fbuf, sizeof(fbuf))) > 0) {
                for (long fo = 0; fo < fr && !hit;) {
                    struct linux_dirent64_ *e = (struct linux_dirent64_ *)(void *)(fbuf + fo);
                    fo += e->d_reclen;
                    char link[128];
                    ssize_t ln = readlinkat(fdd, e->d_name, link, sizeof(link) - 1);
                    if (ln > 0) {
                        link[ln] = '\0';
                        hit = strcmp(link, want) == 0;
                    }
                }
            }
            close(fdd);
            if (hit) {
                (void)buf_appendf(out, NULL, "%s%s", found ? ", " : " ", d->d_name);
                found++;
            }
        }
    }
    close(pd);
}

/* ---- the run loop ---- */

enum outcome { OUT_NONE, OUT_EXITED, OUT_TIMEOUT, OUT_LEFT_OPEN, OUT_CANCEL, OUT_SUPERVISOR };

struct run {
    const struct hook_opts *o;
    struct launch *L;
    pid_t sup;
    pid_t script;
    bool exited, all_gone, status_eof;
    int wstatus;
    int exec_stage, exec_errno;
    uint64_t start_ms, deadline_ms, exit_ms;
    struct scriptlog_stream *s[2];
    int fds[2];          /* our read ends of stdout / stderr */
    struct sup_msg pend; /* partial status message */
    size_t pend_len;
};

static void read_status(struct run *R)
{
    for (;;) {
        ssize_t r = read(R->L->status[0], (char *)&R->pend + R->pend_len,
                         sizeof(R->pend) - R->pend_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0 || errno != EAGAIN) {
                R->status_eof = true;
                close_fd(&R->L->status[0]);
            }
            return;
        }
        R->pend_len += (size_t)r;
        if (R->pend_len < sizeof(R->pend))
            continue;
        R->pend_len = 0;
        switch (R->pend.type) {
        case SUP_EXEC_FAILED:
            R->exec_stage = R->pend.a;
            R->exec_errno = R->pend.b;
            break;
        case SUP_STARTED:
            R->script = R->pend.a;
            break;
        case SUP_EXITED:
            R->exited = true;
            R->wstatus = R->pend.a;
            R->exit_ms = now_ms();
            break;
        case SUP_ALL_GONE:
            R->all_gone = true;
            break;
        default:
            break;
        }
    }
}

static void read_output(struct run *R, int i, char *buf)
{
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t r = read(R->fds[i], buf, READ_CHUNK);
        if (r > 0) {
            if (R->s[i])
                scriptlog_stream_feed(R->s[i], buf, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        close_fd(&R->fds[i]);
        if (R->s[i])
            scriptlog_stream_flush(R->s[i]);
        return;
    }
}

/* Wait for events until wake_ms (absolute, monotonic) at the latest; 100 ms slices when a cancel
 * flag must be watched. */
static void wait_events(struct run *R, uint64_t wake_ms, char *buf)
{
    uint64_t now = now_ms();
    uint64_t wait = wake_ms > now ? wake_ms - now : 0;
    if (R->o->cancel && wait > 100)
        wait = 100;
    if (wait > 60000)
        wait = 60000;
    struct pollfd pf[3] = {{.fd = R->fds[0], .events = POLLIN},
                           {.fd = R->fds[1], .events = POLLIN},
                           {.fd = R->L->status[0], .events = POLLIN}};
    int pr = poll(pf, 3, (int)wait);
    if (pr <= 0)
        return;
    for (int i = 0; i < 2; i++)
        if (R->fds[i] >= 0 && pf[i].revents)
            read_output(R, i, buf);
    if (R->L->status[0] >= 0 && pf[2].revents)
        read_status(R);
}

static void ctl(struct run *R, char c)
{
    if (R->L->ctl[1] < 0)
        return;
    /* a socket, so that a supervisor gone away means EPIPE, not SIGPIPE */
    while (send(R->L->ctl[1], &c, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

static bool cancelled(const struct run *R)
{
    return R->o->cancel && *R->o->cancel;
}

/* Kill the hook's whole tree: SIGTERM, grace, SIGKILL; keeps reading output meanwhile. */
static void terminate_tree(struct run *R, char *buf)
{
    int64_t grace = R->o->kill_grace_ms > 0 ? R->o->kill_grace_ms : HOOK_KILL_GRACE_MS;
    ctl(R, CTL_TERM);
    uint64_t until = now_ms() + (uint64_t)grace;
    while (!R->all_gone && !R->status_eof && now_ms() < until)
        wait_events(R, until, buf);
    if (!R->all_gone && !R->status_eof) {
        ctl(R, CTL_KILL);
        until = now_ms() + SUP_EXIT_WAIT_MS;
        while (!R->all_gone && !R->status_eof && now_ms() < until)
            wait_events(R, until, buf);
    }
    if (!R->all_gone && !R->status_eof) {
        /* the supervisor is stuck: last resort */
        if (R->script > 0)
            (void)kill(-R->script, SIGKILL);
        (void)kill(R->sup, SIGKILL);
    }
    /* whatever is left in the pipes (they close once the processes are gone) */
    until = now_ms() + 1000;
    while ((R->fds[0] >= 0 || R->fds[1] >= 0) && now_ms() < until)
        wait_events(R, until, buf);
}

static void reap_supervisor(struct run *R)
{
    uint64_t until = now_ms() + SUP_EXIT_WAIT_MS;
    for (;;) {
        int st;
        pid_t r = waitpid(R->sup, &st, WNOHANG);
        if (r == R->sup || (r < 0 && errno != EINTR))
            return;
        if (now_ms() >= until) {
            (void)kill(R->sup, SIGKILL);
            while (waitpid(R->sup, &st, 0) < 0 && errno == EINTR)
                ;
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void left_open_record(struct run *R)
{
    struct buf pids;
    buf_init(&pids, 1024);
    for (int i = 0; i < 2; i++)
        if (R->fds[i] >= 0 && pids.len == 0)
            pipe_holders(R->fds[i], R->sup, &pids);
    AUTOFREE char *rec = xasprintf("[agent]Script at specified location: %s exited but left "
                                   "STDOUT/STDERR open (background process%s); no longer waiting "
                                   "for its output, which goes to the journal as "
                                   HOOK_BG_IDENT " from now on",
                                   R->o->location, pids.len ? pids.data : "");
    buf_done(&pids);
    if (R->o->log)
        scriptlog_record(R->o->log, rec, strlen(rec));
}

/* Translate what happened into the result and error of R-165..R-168. */
static int judge(struct run *R, enum outcome out, struct hook_result *res, struct err *err)
{
    const struct hook_opts *o = R->o;
    AUTOFREE char *head = msg_head(o);
    uint64_t timeout_s = o->timeout_s ? o->timeout_s : HOOK_DEFAULT_TIMEOUT_S;
    if (R->exec_stage) {
        const char *cls = strerrorname_np(R->exec_errno);
        if (R->exec_stage == STAGE_EXEC)
            return err_set(err, ERR_SCRIPT_FAILED,
                           "%s failed with error Errno::%s with message %s - %s", head,
                           cls ? cls : "EUNKNOWN", strerror(R->exec_errno), o->path);
        return err_set(err, ERR_SCRIPT_FAILED, "%s failed with error Errno::%s with message %s: %s",
                       head, cls ? cls : "EUNKNOWN", stage_name(R->exec_stage),
                       strerror(R->exec_errno));
    }
    switch (out) {
    case OUT_TIMEOUT:
        res->timed_out = true;
        return err_set(err, ERR_SCRIPT_TIMED_OUT,
                       "Script at specified location: %s failed to complete in %llu seconds",
                       o->location, (unsigned long long)timeout_s);
    case OUT_CANCEL:
        res->cancelled = true;
        return err_set(err, ERR_CANCELLED, "%s was stopped because the agent is shutting down",
                       head);
    case OUT_LEFT_OPEN:
        res->outputs_left_open = true;
        if (o->output_grace_ms >= 0)
            break;  /* judged by its exit status */
        return err_set(err, ERR_OUTPUTS_LEFT_OPEN,
                       "Script at specified location: %s failed to close %s", o->location,
                       R->fds[0] >= 0 ? "STDOUT" : "STDERR");
    case OUT_SUPERVISOR:
    case OUT_NONE:
        return err_set(err, ERR_SCRIPT_FAILED,
                       "%s failed with error RuntimeError with message the hook supervisor "
                       "exited unexpectedly",
                       head);
    case OUT_EXITED:
        break;
    }
    if (WIFEXITED(R->wstatus)) {
        res->exit_code = WEXITSTATUS(R->wstatus);
        if (res->exit_code == 0)
            return 0;
        return err_set(err, ERR_SCRIPT_FAILED, "%s failed with exit code %d", head, res->exit_code);
    }
    int sig = WIFSIGNALED(R->wstatus) ? WTERMSIG(R->wstatus) : 0;
    res->term_signal = sig;
    res->exit_code = 128 + sig;
    return err_set(err, ERR_SCRIPT_FAILED, "%s failed with exit code %d (%s)", head, 128 + sig,
                   hook_signal_name(sig));
}

/* The event loop of STYLE §8 steps 13-17. */
static enum outcome run_loop(struct run *R, char *buf)
{
    const struct hook_opts *o = R->o;
    for (;;) {
        uint64_t now = now_ms();
        bool pipes_open = R->fds[0] >= 0 || R->fds[1] >= 0;
        if (R->exec_stage && R->exited)
            return OUT_EXITED;
        if (R->exited && !pipes_open)
            return OUT_EXITED;
        if (R->exited) {
            /* the script is done but something holds its output */
            if (o->output_grace_ms >= 0) {
                uint64_t grace = o->output_grace_ms ? (uint64_t)o->output_grace_ms
                                                     : HOOK_OUTPUT_GRACE_MS;
                uint64_t until = R->exit_ms + grace;
                if (now >= until || now >= R->deadline_ms || cancelled(R))
                    return OUT_LEFT_OPEN;
                wait_events(R, until < R->deadline_ms ? until : R->deadline_ms, buf);
                continue;
            }
            if (now >= R->deadline_ms)
                return OUT_LEFT_OPEN;
        } else if (now >= R->deadline_ms) {
            return OUT_TIMEOUT;
        }
        if (cancelled(R))
            return OUT_CANCEL;
        if (R->status_eof && !R->exited)
            return OUT_SUPERVISOR;
        wait_events(R, R->deadline_ms, buf);
    }
}

static void finish(struct run *R, enum outcome out, int rc, char *buf)
{
    const struct hook_opts *o = R->o;
    bool detach = out == OUT_LEFT_OPEN && o->output_grace_ms >= 0;
    if (out == OUT_TIMEOUT) {
        AUTOFREE char *w = xasprintf("Script at specified location: %s timed out", o->location);
        warn_msg(o, w);
    }
    if (detach && rc == 0)
        left_open_record(R);
    if (rc < 0 || (out != OUT_EXITED && !detach)) {
        /* failed, timed out, cancelled or code 6: the whole tree goes */
        terminate_tree(R, buf);
    } else {
        ctl(R, CTL_RELEASE);
    }
    if (detach && rc == 0)
        relay_start(R->fds, R->s);
    else if (R->fds[0] >= 0 || R->fds[1] >= 0)
        drain_start(R->fds, R->s);
    reap_supervisor(R);
}

static int spawn(struct run *R, struct err *err)
{
    struct launch *L = R->L;
    L->pairs = xcalloc(SUP_MAX_PROCS, sizeof(struct proc_pair));
    L->tree = xcalloc(SUP_MAX_TREE, sizeof(pid_t));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        supervise(L);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(L->pairs);
    L->pairs = NULL;
    free(L->tree);
    L->tree = NULL;
    if (pid < 0)
        return err_errno(err, e, "fork the hook supervisor");
    R->sup = pid;
    close_fd(&L->out[1]);
    close_fd(&L->errp[1]);
    close_fd(&L->status[1]);
    close_fd(&L->ctl[0]);
    close_fd(&L->devnull);
    R->fds[0] = TAKE_FD(L->out[0]);
    R->fds[1] = TAKE_FD(L->errp[0]);
    (void)fcntl(L->status[0], F_SETFL, O_NONBLOCK);
    return 0;
}

static void try_scope(struct run *R, struct hook_result *res)
{
    const struct hook_opts *o = R->o;
    if (!o->scope_deployment_id || !scope_available())
        return;
    AUTOFREE char *unit = scope_unit_name(o->scope_deployment_id,
                                          o->scope_event ? o->scope_event : "hook",
                                          (unsigned)R->sup);
    AUTOFREE char *desc = xasprintf("CodeDeploy hook %s of %s", o->location,
                                    o->scope_deployment_id);
    struct err e = ERR_INIT;
    if (scope_start(unit, R->sup, desc, &e) < 0) {
        /* One WARN per hook (issue 13): what it starts stays in the agent's control group. */
        log_warn("hook %s runs without its own systemd scope, so what it starts stays in the "
                 "agent's control group: %s", o->location, e.msg);
        return;
    }
    res->in_scope = true;
}

int hook_run(const struct hook_opts *opts, struct hook_result *ret, struct err *err)
{
    struct hook_result res_local = {0};
    struct hook_result *res = ret ? ret : &res_local;
    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    uint64_t t0 = now_ms();

    struct launch L = {.devnull = -1, .out = {-1, -1}, .errp = {-1, -1}, .status = {-1, -1},
                       .ctl = {-1, -1}};
    struct passwd pw;
    AUTOFREE char *pwbuf = NULL;
    bool have_pw = false;
    int rc = -1;
    char *buf = NULL;
    struct run R = {.o = opts, .L = &L, .fds = {-1, -1}};
    /* the script runs with cwd "/": a relative path must be made absolute first */
    AUTOFREE char *abs = NULL;
    struct hook_opts o_abs;
    if (opts->path[0] != '/') {
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd))) {
            rc = err_sys(err, "resolve script path '%s'", opts->path);
            goto out;
        }
        abs = path_join(cwd, opts->path);
        o_abs = *opts;
        o_abs.path = abs;
        opts = &o_abs;
        R.o = opts;
    }

    if (check_script(opts, res, err) < 0 || resolve_user(opts, &L, &pw, &pwbuf, &have_pw, err) < 0 ||
        build_argv(opts, &L, err) < 0)
        goto out;
    L.envp = build_envp(opts->envp, have_pw ? &pw : NULL);
    if (open_fds(&L, err) < 0 || spawn(&R, err) < 0)
        goto out;
    try_scope(&R, res);
    if (opts->log) {
        R.s[0] = scriptlog_stream_new(opts->log, SCRIPTLOG_STDOUT, 0);
        R.s[1] = scriptlog_stream_new(opts->log, SCRIPTLOG_STDERR, 0);
    }
    R.start_ms = now_ms();
    uint64_t timeout_s = opts->timeout_s ? opts->timeout_s : HOOK_DEFAULT_TIMEOUT_S;
    R.deadline_ms = R.start_ms + timeout_s * 1000;
    ctl(&R, CTL_GO);

    buf = xmalloc(READ_CHUNK);
    enum outcome out = run_loop(&R, buf);
    res->pid = R.script;
    struct err jerr = ERR_INIT;
    rc = judge(&R, out, res, &jerr);
    if (out == OUT_LEFT_OPEN)
        res->outputs_left_open = true;
    finish(&R, out, rc, buf);
    if (rc < 0)
        err_set(err, jerr.code, "%s", jerr.msg);
out:
    free(buf);
    for (int i = 0; i < 2; i++) {
        close_fd(&R.fds[i]);
        scriptlog_stream_free(R.s[i]);
    }
    launch_done(&L);
    res->duration_ms = now_ms() - t0;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

int hook_run_event(const struct hook_event_opts *opts, struct hook_event_result *ret,
                   struct err *err)
{
    struct hook_event_result r = {0, NULL};
    if (opts->n_scripts == 0) {
        if (ret)
            *ret = r;
        return 0;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < opts->n_scripts; i++)
        total += opts->scripts[i].timeout_s ? opts->scripts[i].timeout_s : HOOK_DEFAULT_TIMEOUT_S;
    if (total > 3600) {
        /* */
        AUTOFREE char *w = xasprintf("The sum of the timeouts of the scripts of %s is %llu "
                                     "seconds, more than the 3600 seconds the service allows",
                                     opts->event, (unsigned long long)total);
        if (opts->warn)
            opts->warn(opts->warn_ctx, w);
    }
    if (opts->log)
        scriptlog_event(opts->log, opts->event);
    int rc = 0;
    for (size_t i = 0; i < opts->n_scripts; i++) {
        const struct hook_script *s = &opts->scripts[i];
        const char *rel = s->location;
        while (*rel == '/')
            rel++;  /* relative to the archive root even with a leading '/' */
        AUTOFREE char *path = path_join(opts->archive_dir, rel);
        if (opts->log)
            scriptlog_script(opts->log, s->location);
        struct hook_opts ho = {
            .path = path,
            .location = s->location,
            .runas = s->runas,
            .sudo = s->sudo,
            .timeout_s = s->timeout_s,
            .envp = opts->envp,
            .log = opts->log,
            .output_grace_ms = opts->output_grace_ms,
            .kill_grace_ms = opts->kill_grace_ms,
            .cancel = opts->cancel,
            .scope_deployment_id = opts->use_scope ? opts->deployment_id : NULL,
            .scope_event = opts->event,
            .warn = opts->warn,
            .warn_ctx = opts->warn_ctx,
        };
        r.scripts_run++;
        if (hook_run(&ho, NULL, err) < 0) {
            r.script_name = s->location;
            rc = -1;
            break;
        }
    }
    if (ret)
        *ret = r;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

struct capture_child {
    char *const *argv;
    char *const *envp;
    int devnull;
    int out;
};

static __attribute__((noreturn)) void capture_exec(const struct capture_child *c)
{
    reset_signals();
    (void)setsid();
    if (dup2(c->devnull, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->devnull, 2) < 0)
        _exit(127);
    if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0) {
        for (int fd = 3; fd < 65536; fd++)
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (chdir("/") < 0)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(c->argv[0], c->argv, c->envp);
    _exit(127);
}

int hook_capture(char *const *argv, char *const *envp, size_t max, uint64_t timeout_ms,
                 char **ret, size_t *ret_len, struct err *err)
{
    AUTOCLOSE int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return err_sys(err, "open '/dev/null'");
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_sys(err, "create a pipe for '%s'", argv[0]);
    AUTOCLOSE int rd = p[0];
    struct capture_child c = {argv, envp, devnull, p[1]};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        capture_exec(&c);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    if (pid < 0)
        return err_errno(err, e, "fork for '%s'", argv[0]);

    struct buf b;
    buf_init(&b, max);
    uint64_t deadline = now_ms() + timeout_ms;
    int rc = 0;
    char chunk[8192];
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            rc = err_set(err, ERR_TIMEOUT, "run '%s': no result within %llu ms", argv[0],
                         (unsigned long long)timeout_ms);
            break;
        }
        struct pollfd pf = {.fd = rd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t r = read(rd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (buf_append(&b, chunk, (size_t)r, err) < 0) {
            err_prefix(err, "output of '%s'", argv[0]);
            rc = -1;
            break;
        }
    }
    if (rc < 0) {
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        rc = err_set(err, ERR_UNKNOWN, "run '%s': exited with status %d", argv[0],
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    if (rc < 0) {
        buf_done(&b);
        return -1;
    }
    (void)buf_append(&b, "", 0, NULL);
    if (ret_len)
        *ret_len = b.len;
    *ret = buf_steal(&b);
    return 0;
}
