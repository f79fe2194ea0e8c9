/* fsutil: see fsutil.h. */
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/rmtree.h"
#include "base/util.h"

int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int mkdir_p(const char *path, mode_t mode, struct err *err)
{
    AUTOFREE char *p = xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return err_sys(err, "create directory '%s'", p);
        p[i] = c;
    }
    /* p is AUTOFREE; clang-analyzer ignores the cleanup attribute (LLVM bug 3888). */
    struct stat st; /* NOLINT(clang-analyzer-unix.Malloc): not a leak, see above */
    if (stat(path, &st) < 0)
        return err_sys(err, "create directory '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, ERR_SYSTEM, "create directory '%s': a file is in the way", path);
    return 0;
}

int rm_rf(const char *path, struct err *err)
{
    return rmtree_at(AT_FDCWD, path, path, err);
}

/* read(2) fd to the end, resuming after EINTR, handing each chunk to take (which may stop the
 * loop by returning -1 with err set). */
typedef int (*take_fn)(void *arg, const void *data, size_t len);
static int read_loop(int fd, const char *path, take_fn take, void *arg, struct err *err)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_sys(err, "read '%s'", path);
        if (n == 0)
            return 0;
        if (take(arg, chunk, (size_t)n) < 0)
            return -1;
    }
}

struct bounded {
    struct buf b;
    const char *path;
    struct err *err;
};

static int take_bounded(void *arg, const void *data, size_t len)
{
    struct bounded *x = arg;
    if (buf_append(&x->b, data, len, NULL) < 0)
        return err_set(x->err, ERR_LIMIT, "read '%s': file is larger than %zu bytes", x->path,
                       x->b.max);
    return 0;
}

int read_fd(int fd, const char *path, size_t max, char **ret, size_t *ret_len, struct err *err)
{
    struct bounded x = {.path = path, .err = err};
    buf_init(&x.b, max);
    if (read_loop(fd, path, take_bounded, &x, err) < 0) {
        buf_done(&x.b);
        return -1;
    }
    size_t len = x.b.len;
    *ret = buf_steal(&x.b);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, ERR_NOT_FOUND, "read '%s': no such file", path);
        return err_sys(err, "read '%s'", path);
    }
    return read_fd(fd, path, max, ret, ret_len, err);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
    AUTOFREE char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return err_sys(err, "write '%s'", path);
    if (write_all(fd, data, len) < 0) {
        err_sys(err, "write '%s'", path);
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        err_sys(err, "write '%s'", path);
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0) {
        err_sys(err, "write '%s'", path);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        err_sys(err, "rename '%s' into place", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

struct chunks {
    file_chunk_fn fn;
    void *arg;
};

static int take_chunk(void *arg, const void *data, size_t len)
{
    const struct chunks *x = arg;
    x->fn(x->arg, data, len);
    return 0;
}

int file_read_chunks(const char *path, file_chunk_fn fn, void *arg, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "read '%s'", path);
    struct chunks x = {fn, arg};
    return read_loop(fd, path, take_chunk, &x, err);
}

bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
