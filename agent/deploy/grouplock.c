/* grouplock: see grouplock.h. */
#include "deploy/grouplock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/util.h"
#include "deploy/layout.h"

/* Until callers pass a stop token with an fd, the stop flag is looked at this often while
 * waiting; the lock itself is waited for as an event. */
#define STOP_FLAG_CHECK_MS 1000
/* Without inotify (instance limit reached), the lock is retried this often. */
#define NO_INOTIFY_RETRY_MS 250

static int open_lock(const char *root_dir, const char *group_id, char **ret_path,
                     struct err *err)
{
    AUTOFREE char *dir = path_join(root_dir, ".cdagent-locks");
    if (mkdir_p(dir, 0755, err) < 0)
        return -1;
    AUTOFREE char *name = xasprintf("%s.lock", group_id);
    char *path = path_join(dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        err_sys(err, "open lock '%s'", path);
        free(path);
        return -1;
    }
    *ret_path = path;
    return fd;
}

/* Sleep until the lock file is closed by someone (the holder letting go), the deadline, or the
 * stop-flag check interval.  in_fd < 0: no inotify, a short sleep instead. */
static void wait_for_close(int in_fd, long timeout_ms, const volatile int *stop)
{
    long cap = in_fd < 0 ? NO_INOTIFY_RETRY_MS : (stop ? STOP_FLAG_CHECK_MS : -1);
    long t = timeout_ms < 0 ? cap : (cap < 0 || timeout_ms < cap ? timeout_ms : cap);
    if (in_fd < 0) {
        sleep_ms_interruptible((uint64_t)t, stop);
        return;
    }
    struct pollfd p = {.fd = in_fd, .events = POLLIN};
    if (poll(&p, 1, (int)t) > 0) {
        char ev[4096];
        while (read(in_fd, ev, sizeof(ev)) > 0) {
        }
    }
}

int grouplock_acquire(const char *root_dir, const char *group_id, long wait_ms,
                      const volatile int *stop, struct err *err)
{
    if (layout_check_id(group_id, "deployment group id", err) < 0)
        return -1;
    AUTOFREE char *path = NULL;
    int fd = open_lock(root_dir, group_id, &path, err);
    if (fd < 0)
        return -1;
    /* Watch before the first try, so a release between try and wait is not missed. */
    AUTOCLOSE int in_fd = wait_ms == 0 ? -1 : inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in_fd >= 0 && inotify_add_watch(in_fd, path, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) < 0) {
        close(in_fd);
        in_fd = -1;
    }
    uint64_t deadline = now_ms() + (wait_ms > 0 ? (uint64_t)wait_ms : 0);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK) {
            err_sys(err, "lock '%s'", path);
            close(fd);
            return -1;
        }
        uint64_t now = now_ms();
        if ((wait_ms >= 0 && now >= deadline) || (stop && *stop)) {
            close(fd);
            return err_set(err, ERR_TIMEOUT,
                           "deployment group '%s' is busy (another deployment holds %s)",
                           group_id, path);
        }
        wait_for_close(in_fd, wait_ms < 0 ? -1 : (long)(deadline - now), stop);
    }
}

void grouplock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
