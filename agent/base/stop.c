/* stop: see stop.h. */
#include "base/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int stop_init(struct stop *s, struct err *err)
{
    atomic_init(&s->requested, false);
    s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->fd == 0) {
        /* fd 0 marks a zeroed, uninitialised token: move the eventfd above stdio */
        int moved = fcntl(0, F_DUPFD_CLOEXEC, 3);
        (void)close(0);
        s->fd = moved;
    }
    if (s->fd < 0)
        return err_sys(err, "cannot create the stop eventfd");
    return 0;
}

void stop_done(struct stop *s)
{
    if (s && s->fd > 0)
        (void)close(s->fd);
    if (s)
        s->fd = -1;
}

void stop_request(struct stop *s)
{
    int saved = errno;
    atomic_store(&s->requested, true);
    uint64_t one = 1;
    if (s->fd > 0)
        (void)!write(s->fd, &one, sizeof(one));
    errno = saved;
}

bool stop_requested(const struct stop *s)
{
    return s && atomic_load(&s->requested);
}

int stop_fd(const struct stop *s)
{
    return s && s->fd > 0 ? s->fd : -1;
}

bool stop_wait_ms(const struct stop *s, uint64_t ms)
{
    uint64_t deadline = mono_ms() + ms;
    struct pollfd pf = {.fd = stop_fd(s), .events = POLLIN};
    for (;;) {
        if (stop_requested(s))
            return true;
        uint64_t now = mono_ms();
        if (now >= deadline)
            return false;
        uint64_t left = deadline - now;
        int r = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno != EINTR)
            return stop_requested(s);
    }
}
