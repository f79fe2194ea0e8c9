/* grouplock: see grouplock.h. */
#include "deploy/grouplock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "deploy/layout.h"
#include "base/stop.h"
#include "base/util.h"

int grouplock_acquire(const char *root_dir, const char *group_id, long wait_ms,
                      const struct stop *stop, struct err *err)
{
    if (layout_check_id(group_id, "deployment group id", err) < 0)
        return -1;
    AUTOFREE char *dir = path_join(root_dir, ".cdagent-locks");
    if (mkdir_p(dir, 0755, err) < 0)
        return -1;
    AUTOFREE char *name = xasprintf("%s.lock", group_id);
    AUTOFREE char *path = path_join(dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_sys(err, "open lock '%s'", path);
    uint64_t deadline = now_ms() + (wait_ms > 0 ? (uint64_t)wait_ms : 0);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK) {
            err_sys(err, "lock '%s'", path);
            close(fd);
            return -1;
        }
        if ((wait_ms >= 0 && now_ms() >= deadline) || stop_requested(stop)) {
            close(fd);
            return err_set(err, ERR_TIMEOUT,
                           "deployment group '%s' is busy (another deployment holds %s)",
                           group_id, path);
        }
        (void)stop_wait_ms(stop, 100);
    }
}

void grouplock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
