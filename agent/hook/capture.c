/* capture: see capture.h. */
#include "hook/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook/supervisor.h"
#include "base/util.h"
#include "base/buf.h"

struct capture_child {
    char *const *argv;
    char *const *envp;
    int devnull;
    int out;
};

static __attribute__((noreturn)) void capture_exec(const struct capture_child *c)
{
    sup_reset_signals();
    (void)setsid();
    if (dup2(c->devnull, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->devnull, 2) < 0)
        _exit(127);
    sup_cloexec_from_3();
    if (chdir("/") < 0)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(c->argv[0], c->argv, c->envp);
    _exit(127);
}

/* Read rd into b until EOF, the deadline or the limit. */
static int read_until(int rd, struct buf *b, uint64_t timeout_ms, const char *what, struct err *err)
{
    uint64_t deadline = now_ms() + timeout_ms;
    char chunk[8192];
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return err_set(err, ERR_TIMEOUT, "run '%s': no result within %llu ms", what,
                           (unsigned long long)timeout_ms);
        struct pollfd pf = {.fd = rd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)(deadline - now));
        if (pr <= 0)
            continue;
        ssize_t r = read(rd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        if (buf_append(b, chunk, (size_t)r, err) < 0) {
            err_prefix(err, "output of '%s'", what);
            return -1;
        }
    }
}

int capture_run(char *const *argv, char *const *envp, size_t max, uint64_t timeout_ms, char **ret,
                size_t *ret_len, struct err *err)
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
    int rc = read_until(rd, &b, timeout_ms, argv[0], err);
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
