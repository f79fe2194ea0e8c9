/* grouplock: see grouplock.h. */
#include "deploy/grouplock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/stop.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "base/path.h"
#include "base/fsutil.h"

/* Without inotify (instance limit reached), the lock is retried this often. */
#define NO_INOTIFY_RETRY_MS 250

static int open_lock(const char *root_dir, const char *group_id, char **ret_path, struct err *err)
{
    AUTOCLOSE int dfd = layout_open_dir(root_dir, LAYOUT_LOCKS_DIR, err);
    if (dfd < 0)
        return -1;
    AUTOFREE char *name = xasprintf("%s.lock", group_id);
    AUTOFREE char *dir = path_join(root_dir, LAYOUT_LOCKS_DIR);
    char *path = path_join(dir, name);
    int fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        err_sys(err, "open lock '%s'", path);
        free(path);
        return -1;
    }
    *ret_path = path;
    return fd;
}

/* Sleep until the lock file is closed by someone (the holder letting go), the deadline
 * (timeout_ms < 0: none) or a stop request, whichever comes first.  in_fd < 0 (no inotify): a
 * short wait on the stop token instead. */
static void wait_for_close(int in_fd, long timeout_ms, const struct stop *stop)
{
    if (in_fd < 0) {
        long t =
            timeout_ms < 0 || timeout_ms > NO_INOTIFY_RETRY_MS ? NO_INOTIFY_RETRY_MS : timeout_ms;
        (void)stop_wait_ms(stop, (uint64_t)t);
        return;
    }
    struct pollfd p[2] = {{.fd = in_fd, .events = POLLIN}, {.fd = stop_fd(stop), .events = POLLIN}};
    int t = timeout_ms < 0 ? -1 : (timeout_ms > 3600000 ? 3600000 : (int)timeout_ms);
    if (poll(p, 2, t) > 0 && (p[0].revents & POLLIN)) {
        char buf[4096];
        while (read(in_fd, buf, sizeof(buf)) > 0)
            ;
    }
}

int grouplock_acquire(const char *root_dir, const char *group_id, long wait_ms,
                      const struct stop *stop, struct err *err)
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
        if ((wait_ms >= 0 && now >= deadline) || stop_requested(stop)) {
            close(fd);
            return err_set(err, ERR_TIMEOUT,
                           "deployment group '%s' is busy (another deployment holds %s)", group_id,
                           path);
        }
        wait_for_close(in_fd, wait_ms < 0 ? -1 : (long)(deadline - now), stop);
    }
}

void grouplock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
