/* hook: see hook.h.  The agent's side of one hook run: prepare everything the supervisor needs
 * (user, argv, envp, pipes), fork it (supervisor.h), read the script's output against the
 * deadline, judge the outcome, and kill the tree or release it. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stop.h"
#include "base/util.h"
#include "hook/drain.h"
#include "hook/proctree.h"
#include "hook/scriptlog.h"
#include "hook/supervisor.h"
#include "parse/lint.h"
#include "sys/scope.h"
#include "base/buf.h"
#include "base/path.h"

#define SUP_EXIT_WAIT_MS 5000 /* the supervisor must exit this soon after its last job */
#define READ_CHUNK 65536

const char *hook_signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
        {SIGILL, "SIGILL"},       {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
        {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
        {SIGCHLD, "SIGCHLD"},     {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
        {SIGTSTP, "SIGTSTP"},     {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
        {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
        {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
        {SIGIO, "SIGIO"},         {SIGPWR, "SIGPWR"},   {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    static __thread char buf[32];
    snprintf(buf, sizeof(buf), "signal %d", sig);
    return buf;
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

static void launch_done(struct sup_launch *L)
{
    strv_free(L->argv);
    strv_free(L->sh_argv);
    strv_free(L->envp);
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
    "LIFECYCLE_EVENT",
    "DEPLOYMENT_ID",
    "APPLICATION_NAME",
    "DEPLOYMENT_GROUP_NAME",
    "DEPLOYMENT_GROUP_ID",
    "BUNDLE_BUCKET",
    "BUNDLE_KEY",
    "BUNDLE_VERSION",
    "BUNDLE_ETAG",
    "BUNDLE_COMMIT",
    NULL,
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
        return xasprintf("Script at specified location: %s run as user %s", o->location, o->runas);
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
                       "Unable to set script at specified location: %s as executable", o->location);
    res->made_executable = true;
    return 0;
}

/* Resolve runas before fork (STYLE §8 step 1). */
static int resolve_user(const struct hook_opts *o, struct sup_launch *L, struct passwd *pw,
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
        return 0; /* already that user: nothing to drop */
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

static int build_argv(const struct hook_opts *o, struct sup_launch *L, struct err *err)
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

static int open_fds(struct sup_launch *L, struct err *err)
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

/* ---- the run loop ---- */

enum outcome { OUT_NONE, OUT_EXITED, OUT_TIMEOUT, OUT_LEFT_OPEN, OUT_CANCEL, OUT_SUPERVISOR };

struct run {
    const struct hook_opts *o;
    struct sup_launch *L;
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
        ssize_t r =
            read(R->L->status[0], (char *)&R->pend + R->pend_len, sizeof(R->pend) - R->pend_len);
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

/* Wait for events (output, status, a cancel request) until wake_ms (absolute, monotonic) at the
 * latest. */
static void wait_events(struct run *R, uint64_t wake_ms, char *buf)
{
    uint64_t now = now_ms();
    uint64_t wait = wake_ms > now ? wake_ms - now : 0;
    if (wait > 60000)
        wait = 60000;
    struct pollfd pf[4] = {
        {.fd = R->fds[0], .events = POLLIN},
        {.fd = R->fds[1], .events = POLLIN},
        {.fd = R->L->status[0], .events = POLLIN},
        /* once requested it stays readable: watch it only until then */
        {.fd = stop_requested(R->o->cancel) ? -1 : stop_fd(R->o->cancel), .events = POLLIN}};
    int pr = poll(pf, 4, (int)wait);
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
    return stop_requested(R->o->cancel);
}

/* Kill the hook's whole tree: SIGTERM, grace, SIGKILL; keeps reading output meanwhile. */
static void terminate_tree(struct run *R, char *buf)
{
    int64_t grace = R->o->kill_grace_ms > 0 ? R->o->kill_grace_ms : HOOK_KILL_GRACE_MS;
    ctl(R, SUP_CTL_TERM);
    uint64_t until = now_ms() + (uint64_t)grace;
    while (!R->all_gone && !R->status_eof && now_ms() < until)
        wait_events(R, until, buf);
    if (!R->all_gone && !R->status_eof) {
        ctl(R, SUP_CTL_KILL);
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

/* Wait until the supervisor has exited or until, returning whether it did: on its pidfd, or
 * without pidfds (Linux < 5.3) on its end of the status pipe closing. */
static bool wait_supervisor_exit(struct run *R, uint64_t until)
{
    int pfd = (int)syscall(SYS_pidfd_open, R->sup, 0);
    bool gone = false;
    for (;;) {
        uint64_t now = now_ms();
        if (pfd < 0 && (R->status_eof || R->L->status[0] < 0))
            return true;
        if (gone || now >= until)
            break;
        struct pollfd pf = {.fd = pfd >= 0 ? pfd : R->L->status[0], .events = POLLIN};
        int pr = poll(&pf, 1, (int)(until - now));
        if (pr > 0 && pfd >= 0)
            gone = true;
        else if (pr > 0)
            read_status(R);
    }
    if (pfd >= 0)
        close(pfd);
    return gone;
}

static void reap_supervisor(struct run *R)
{
    int st;
    if (!wait_supervisor_exit(R, now_ms() + SUP_EXIT_WAIT_MS))
        (void)kill(R->sup, SIGKILL);
    while (waitpid(R->sup, &st, 0) < 0 && errno == EINTR)
        ;
}

static void left_open_record(struct run *R)
{
    struct buf pids;
    buf_init(&pids, 1024);
    for (int i = 0; i < 2; i++)
        if (R->fds[i] >= 0 && pids.len == 0)
            proctree_pipe_holders(R->fds[i], R->sup, &pids);
    AUTOFREE char *rec =
        xasprintf("[agent]Script at specified location: %s exited but left "
                  "STDOUT/STDERR open (background process%s); no longer waiting "
                  "for its output, which goes to the journal as " HOOK_BG_IDENT " from now on",
                  R->o->location, pids.len ? pids.data : "");
    buf_done(&pids);
    if (R->o->log)
        scriptlog_record(R->o->log, rec, strlen(rec));
}

/* "; hint: <why>" into out when the script exists but the interpreter its "#!" line names does
 * not (issue 17: "#!/bin/bash\r" from a Windows editor); else out is left empty. */
static void interp_hint(const char *path, char *out, size_t outsz)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    char headbuf[512];
    ssize_t n = fd < 0 ? -1 : read(fd, headbuf, sizeof(headbuf));
    if (n <= 0)
        return;
    struct lint_shebang sb;
    lint_shebang(headbuf, (size_t)n, &sb);
    if (!sb.present || !sb.interp[0] || access(sb.interp, F_OK) == 0)
        return;
    char why[512];
    lint_interp_message(&sb, why, sizeof(why));
    snprintf(out, outsz, "; hint: %s", why);
}

/* Translate what happened into the result and error of R-165..R-168. */
static int judge(struct run *R, enum outcome out, struct hook_result *res, struct err *err)
{
    const struct hook_opts *o = R->o;
    AUTOFREE char *head = msg_head(o);
    uint64_t timeout_s = o->timeout_s ? o->timeout_s : HOOK_DEFAULT_TIMEOUT_S;
    if (R->exec_stage) {
        const char *cls = strerrorname_np(R->exec_errno);
        char hint[600] = "";
        if (R->exec_stage == SUP_STAGE_EXEC && R->exec_errno == ENOENT)
            interp_hint(o->path, hint, sizeof(hint));
        if (R->exec_stage == SUP_STAGE_EXEC)
            return err_set(err, ERR_SCRIPT_FAILED,
                           "%s failed with error Errno::%s with message %s - %s%s", head,
                           cls ? cls : "EUNKNOWN", strerror(R->exec_errno), o->path, hint);
        return err_set(err, ERR_SCRIPT_FAILED, "%s failed with error Errno::%s with message %s: %s",
                       head, cls ? cls : "EUNKNOWN", sup_stage_name(R->exec_stage),
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
            break; /* judged by its exit status */
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
                uint64_t grace =
                    o->output_grace_ms ? (uint64_t)o->output_grace_ms : HOOK_OUTPUT_GRACE_MS;
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
        ctl(R, SUP_CTL_RELEASE);
    }
    if (detach && rc == 0)
        drain_relay(HOOK_BG_IDENT, R->fds, R->s);
    else if (R->fds[0] >= 0 || R->fds[1] >= 0)
        drain_start(o->drains ? o->drains : drain_default(), R->fds, R->s);
    reap_supervisor(R);
}

static int spawn(struct run *R, struct err *err)
{
    struct sup_launch *L = R->L;
    L->pairs = xcalloc(PROCTREE_MAX_PROCS, sizeof(struct proc_pair));
    L->tree = xcalloc(PROCTREE_MAX_TREE, sizeof(pid_t));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        sup_main(L);
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
    AUTOFREE char *unit = scope_unit_name(
        o->scope_deployment_id, o->scope_event ? o->scope_event : "hook", (unsigned)R->sup);
    AUTOFREE char *desc =
        xasprintf("CodeDeploy hook %s of %s", o->location, o->scope_deployment_id);
    struct err e = ERR_INIT;
    if (scope_start(unit, R->sup, desc, &e) < 0) {
        /* One WARN per hook (issue 13): what it starts stays in the agent's control group. */
        log_warn("hook %s runs without its own systemd scope, so what it starts stays in the "
                 "agent's control group: %s",
                 o->location, e.msg);
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

    struct sup_launch L = {
        .devnull = -1, .out = {-1, -1}, .errp = {-1, -1}, .status = {-1, -1}, .ctl = {-1, -1}};
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

    if (check_script(opts, res, err) < 0 ||
        resolve_user(opts, &L, &pw, &pwbuf, &have_pw, err) < 0 || build_argv(opts, &L, err) < 0)
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
    ctl(&R, SUP_CTL_GO);

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

void hook_drain_shutdown(uint64_t timeout_ms)
{
    drain_shutdown(drain_default(), timeout_ms);
}

bool hook_drain_wait(uint64_t timeout_ms)
{
    return drain_wait(drain_default(), timeout_ms);
}

size_t hook_drain_count(void)
{
    return drain_count(drain_default());
}
