/* copytree: see copytree.h. */
#include "deploy/copytree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/path.h"
#include "base/util.h"

int copy_file(const char *src, const char *dst, struct err *err)
{
    AUTOCLOSE int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return err_sys(err, "copy '%s'", src);
    struct stat st;
    if (fstat(in, &st) < 0)
        return err_sys(err, "copy '%s'", src);
    AUTOFREE char *tmp = xasprintf("%s.cdagent-tmp", dst);
    (void)unlink(tmp);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0)
        return err_sys(err, "copy to '%s'", dst);
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_sys(err, "copy '%s'", src);
            goto fail;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                err_sys(err, "copy to '%s'", dst);
                goto fail;
            }
            off += w;
        }
    }
    if (fchmod(out, st.st_mode & 07777) < 0 || close(out) < 0) {
        out = -1;
        err_sys(err, "copy to '%s'", dst);
        goto fail;
    }
    out = -1;
    if (rename(tmp, dst) < 0) {
        err_sys(err, "copy to '%s'", dst);
        goto fail;
    }
    return 0;
fail:
    if (out >= 0)
        close(out);
    (void)unlink(tmp);
    return -1;
}

int copytree(const char *src, const char *dst, struct err *err)
{
    struct stat st;
    if (lstat(src, &st) < 0)
        return err_sys(err, "copy '%s'", src);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            return err_sys(err, "copy link '%s'", src);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            return err_sys(err, "copy link to '%s'", dst);
        return 0;
    }
    if (S_ISREG(st.st_mode))
        return copy_file(src, dst, err);
    if (!S_ISDIR(st.st_mode))
        return 0;
    if (mkdir(dst, 0700) < 0)
        return err_sys(err, "create directory '%s'", dst);
    DIR *d = opendir(src);
    if (!d)
        return err_sys(err, "read directory '%s'", src);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *s = path_join(src, de->d_name);
        char *t = path_join(dst, de->d_name);
        r = copytree(s, t, err);
        free(s);
        free(t);
    }
    closedir(d);
    if (r == 0 && chmod(dst, st.st_mode & 07777) < 0)
        return err_sys(err, "set mode of '%s'", dst);
    return r;
}
