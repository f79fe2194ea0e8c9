/* pidfile: see pidfile.h. */
#include "sys/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

void pidfile_init(struct pidfile *p, const char *pid_dir, const char *program)
{
    char *dir = path_join(pid_dir, "");
    p->pid_path = xasprintf("%s/%s.pid", dir, program);
    p->lock_path = xasprintf("%s/%s.pid.lock", dir, program);
    p->lock_fd = -1;
    free(dir);
}

void pidfile_done(struct pidfile *p)
{
    if (p->lock_fd >= 0)
        close(p->lock_fd);
    p->lock_fd = -1;
    free(p->pid_path);
    free(p->lock_path);
    p->pid_path = p->lock_path = NULL;
}

int pidfile_lock(struct pidfile *p, struct err *err)
{
    AUTOFREE char *dir = xstrdup(p->lock_path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir_p(dir, 0755, err) < 0)
            return -1;
    }
    int fd = open(p->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return err_sys(err, "open lock file '%s'", p->lock_path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return err_set(err, ERR_SYSTEM, "another agent holds the lock '%s'", p->lock_path);
        return err_errno(err, e, "lock '%s'", p->lock_path);
    }
    p->lock_fd = fd;
    return 0;
}

int pidfile_write(struct pidfile *p, pid_t pid, struct err *err)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%ld\n", (long)pid);
    return write_file_atomic(p->pid_path, text, (size_t)n, 0644, err);
}

void pidfile_remove(struct pidfile *p)
{
    (void)unlink(p->pid_path);
}

bool pidfile_is_agent(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    char *data = NULL;
    size_t n = 0;
    bool ok = false;
    if (read_file(path, 65536, &data, &n, NULL) == 0) {
        /* argv[0] (up to the first NUL) must name the agent: "tail -f .../codedeploy-agent.log"
         * on a reused PID must not count, "codedeploy-agent: master 123" does. */
        const char *base = strrchr(data, '/');
        base = base ? base + 1 : data;
        ok = str_has_prefix(base, "codedeploy-agent") || str_has_prefix(base, "cdagent");
        free(data);
    }
    if (!ok) {
        char exe[4096];
        snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
        ssize_t l = readlink(path, exe, sizeof(exe) - 1);
        if (l > 0) {
            exe[l] = '\0';
            const char *base = strrchr(exe, '/');
            base = base ? base + 1 : exe;
            ok = str_has_prefix(base, "codedeploy-agent") || str_has_prefix(base, "cdagent");
        }
    }
    return ok;
}

enum pidfile_state pidfile_check(const struct pidfile *p, pid_t *ret_pid)
{
    char *data = NULL;
    *ret_pid = 0;
    if (read_file(p->pid_path, 64, &data, NULL, NULL) < 0)
        return file_exists(p->pid_path) ? PIDFILE_STALE : PIDFILE_NONE;
    char *nl = strchr(data, '\n');
    if (nl)
        *nl = '\0';
    uint64_t v = 0;
    int r = parse_uint(data, 1, 4194304, &v, NULL);
    free(data);
    if (r < 0)
        return PIDFILE_STALE;
    *ret_pid = (pid_t)v;
    return pidfile_is_agent((pid_t)v) ? PIDFILE_RUNNING : PIDFILE_STALE;
}
