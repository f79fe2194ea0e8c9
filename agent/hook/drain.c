/* drain: see drain.h. */
#include "hook/drain.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "hook/scriptlog.h"
#include "hook/supervisor.h"
#include "sys/sd.h"

#define DRAIN_CHUNK 65536
#define DRAIN_STACK (256 * 1024)

struct drainer {
    struct drain_set *set;
    int fd[2];
    struct scriptlog_stream *s[2];
};

static struct drain_set default_set = DRAIN_SET_INIT;

struct drain_set *drain_default(void)
{
    return &default_set;
}

/* The relay process: reads both pipes until every writer closed them, writes what it reads to
 * out and, once that fails, drops it.  Only async-signal-safe calls: it is forked from a
 * threaded process. */
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
    /* Nothing of the agent's, not even stdin/stdout/stderr: whoever reads those (the journal,
     * a test) must see EOF when the agent exits. */
    a = fcntl(a, F_DUPFD_CLOEXEC, 3);
    b = fcntl(b, F_DUPFD_CLOEXEC, 3);
    out = out >= 0 ? fcntl(out, F_DUPFD_CLOEXEC, 3) : -1;
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3 && null >= 0; i++)
        (void)dup2(null, i);
    int keep[3] = {a, b, out};
    sup_close_all_but(keep, 3);
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

void drain_relay(const char *identifier, int *fds, struct scriptlog_stream **streams)
{
    int out = sd_journal_stream(identifier, LOG_PRIO_INFO);
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
    if (out >= 0)
        close(out);
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
        scriptlog_stream_free(streams[i]);
        streams[i] = NULL;
    }
}

static void drainer_free(struct drainer *d)
{
    for (int i = 0; i < 2; i++) {
        if (d->fd[i] >= 0)
            close(d->fd[i]);
        scriptlog_stream_free(d->s[i]);
    }
    free(d);
}

/* Read what is ready on pipe i; closes it at EOF or on an error. */
static void drain_read(struct drainer *d, int i, char *buf)
{
    ssize_t r = read(d->fd[i], buf, DRAIN_CHUNK);
    if (r > 0) {
        if (d->s[i])
            scriptlog_stream_feed(d->s[i], buf, (size_t)r);
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(d->fd[i]);
        d->fd[i] = -1;
    }
}

static void *drain_main(void *arg)
{
    struct drainer *d = arg;
    struct drain_set *set = d->set;
    char *buf = xmalloc(DRAIN_CHUNK);
    while (d->fd[0] >= 0 || d->fd[1] >= 0) {
        struct pollfd pf[3] = {{.fd = d->fd[0], .events = POLLIN},
                               {.fd = d->fd[1], .events = POLLIN},
                               {.fd = set->stop[0], .events = POLLIN}};
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[2].revents)
            break;
        for (int i = 0; i < 2; i++)
            if (d->fd[i] >= 0 && pf[i].revents)
                drain_read(d, i, buf);
    }
    free(buf);
    drainer_free(d);
    pthread_mutex_lock(&set->mu);
    set->n--;
    pthread_cond_broadcast(&set->cv);
    pthread_mutex_unlock(&set->mu);
    return NULL;
}

/* Count a new reader in; false when the set is full or its stop pipe cannot be made. */
static bool drain_reserve(struct drain_set *set)
{
    pthread_mutex_lock(&set->mu);
    bool ok = set->n < DRAIN_MAX;
    if (ok && set->stop[0] < 0 && pipe2(set->stop, O_CLOEXEC | O_NONBLOCK) < 0)
        ok = false;
    if (ok)
        set->n++;
    pthread_mutex_unlock(&set->mu);
    return ok;
}

void drain_start(struct drain_set *set, int *fds, struct scriptlog_stream **streams)
{
    bool ok = drain_reserve(set);
    struct drainer *d = xcalloc(1, sizeof(*d));
    d->set = set;
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
    pthread_attr_setstacksize(&a, DRAIN_STACK);
    bool started = ok && pthread_create(&t, &a, drain_main, d) == 0;
    pthread_attr_destroy(&a);
    if (started)
        return;
    if (ok) {
        pthread_mutex_lock(&set->mu);
        set->n--;
        pthread_mutex_unlock(&set->mu);
    }
    drainer_free(d);
}

/* With set->mu held: wait up to timeout_ms for every reader to end; true when none is left. */
static bool wait_empty_locked(struct drain_set *set, uint64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (set->n > 0) {
        if (pthread_cond_timedwait(&set->cv, &set->mu, &ts) != 0)
            break;
    }
    return set->n == 0;
}

void drain_shutdown(struct drain_set *set, uint64_t timeout_ms)
{
    pthread_mutex_lock(&set->mu);
    if (set->stop[1] >= 0)
        (void)!write(set->stop[1], "x", 1);
    if (wait_empty_locked(set, timeout_ms) && set->stop[0] >= 0) {
        char c;
        while (read(set->stop[0], &c, 1) > 0)
            ;
    }
    pthread_mutex_unlock(&set->mu);
}

bool drain_wait(struct drain_set *set, uint64_t timeout_ms)
{
    pthread_mutex_lock(&set->mu);
    bool empty = wait_empty_locked(set, timeout_ms);
    pthread_mutex_unlock(&set->mu);
    return empty;
}

size_t drain_count(struct drain_set *set)
{
    pthread_mutex_lock(&set->mu);
    size_t n = set->n;
    pthread_mutex_unlock(&set->mu);
    return n;
}
