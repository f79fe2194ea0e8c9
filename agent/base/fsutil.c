/* fsutil: see fsutil.h. */
#include "base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
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

static int rm_rf_at(int at, const char *name, const char *shown, struct err *err)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : err_sys(err, "remove '%s'", shown);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(at, name, 0) < 0 && errno != ENOENT)
            return err_sys(err, "remove '%s'", shown);
        return 0;
    }
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "remove '%s'", shown);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_sys(err, "remove '%s'", shown);
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = rm_rf_at(dirfd(d), de->d_name, shown, err);
    }
    closedir(d);
    if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return err_sys(err, "remove '%s'", shown);
    return r;
}

int rm_rf(const char *path, struct err *err)
{
    return rm_rf_at(AT_FDCWD, path, path, err);
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, ERR_NOT_FOUND, "read '%s': no such file", path);
        return err_sys(err, "read '%s'", path);
    }
    struct buf b;
    buf_init(&b, max);
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buf_done(&b);
            return err_sys(err, "read '%s'", path);
        }
        if (n == 0)
            break;
        if (buf_append(&b, chunk, (size_t)n, NULL) < 0) {
            buf_done(&b);
            return err_set(err, ERR_LIMIT, "read '%s': file is larger than %zu bytes", path, max);
        }
    }
    size_t len = b.len;
    *ret = buf_steal(&b);
    if (ret_len)
        *ret_len = len;
    return 0;
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

int file_read_chunks(const char *path, file_chunk_fn fn, void *arg, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "read '%s'", path);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_sys(err, "read '%s'", path);
        if (n == 0)
            return 0;
        fn(arg, chunk, (size_t)n);
    }
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
