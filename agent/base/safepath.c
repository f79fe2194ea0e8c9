/* safepath: see safepath.h. */
#include "base/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/path.h"
#include "base/util.h"

/* "alice (uid 1000)" or "uid 1000" into out. */
static void owner_name(uid_t uid, char *out, size_t n)
{
    char buf[16384];
    struct passwd pw, *res = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(out, n, "%s (uid %u)", res->pw_name, (unsigned)uid);
    else
        snprintf(out, n, "uid %u", (unsigned)uid);
}

int safepath_check_stat(const struct stat *st, const char *shown, uid_t uid, bool is_ancestor,
                        struct err *err)
{
    bool owner_ok = st->st_uid == 0 || st->st_uid == uid;
    bool writable = (st->st_mode & 022) != 0;
    if (writable && is_ancestor && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) &&
        st->st_uid == 0)
        writable = false; /* /tmp: others cannot replace what is in it */
    if (owner_ok && !writable)
        return 0;
    char owner[300];
    owner_name(st->st_uid, owner, sizeof(owner));
    return err_set(err, ERR_UNSAFE,
                   "'%s' is owned by %s, mode %04o: it must be owned by root%s and not "
                   "writable by group or others",
                   shown, owner, (unsigned)(st->st_mode & 07777),
                   uid == 0 ? "" : " or the agent's user");
}

/* One step of a walk: open name below at without following a link and check it. */
static int step(int at, const char *name, const char *shown, uid_t uid, bool is_ancestor,
                struct stat *ret_st, struct err *err)
{
    int fd = openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "examine '%s'", shown);
    if (fstat(fd, ret_st) < 0) {
        err_sys(err, "examine '%s'", shown);
        close(fd);
        return -1;
    }
    if (S_ISLNK(ret_st->st_mode)) {
        close(fd);
        return err_set(err, ERR_UNSAFE, "'%s' is a symbolic link", shown);
    }
    if (safepath_check_stat(ret_st, shown, uid, is_ancestor, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Walk the absolute, resolved path real from "/"; returns an O_PATH fd of its last component. */
static int walk(const char *real, uid_t uid, struct stat *ret_st, struct err *err)
{
    int fd = step(AT_FDCWD, "/", "/", uid, real[1] != '\0', ret_st, err);
    AUTOFREE char *shown = xstrdup(real);
    char *p = shown + 1;
    while (fd >= 0 && *p) {
        char *slash = strchr(p, '/');
        bool last = !slash || slash[1] == '\0';
        if (slash)
            *slash = '\0';
        int next = step(fd, p, shown, uid, !last, ret_st, err);
        close(fd);
        fd = next;
        if (!slash)
            break;
        *slash = '/';
        p = slash + 1;
    }
    return fd;
}

static int check_open(const char *path, uid_t uid, bool want_dir, struct err *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        if (errno == ENOENT)
            return err_set(err, ERR_NOT_FOUND, "'%s' does not exist", path);
        return err_sys(err, "resolve '%s'", path);
    }
    struct stat st = {0};
    int fd = walk(real, uid, &st, err);
    if (fd < 0)
        return -1;
    if (want_dir && !S_ISDIR(st.st_mode)) {
        close(fd);
        return err_set(err, ERR_UNSAFE, "'%s' is not a directory", path);
    }
    return fd;
}

int safepath_check(const char *path, uid_t uid, bool want_dir, struct err *err)
{
    int fd = check_open(path, uid, want_dir, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int safepath_check_open(int fd, const char *path, uid_t uid, bool *ret_readable, struct err *err)
{
    struct stat open_st, walked_st;
    if (fstat(fd, &open_st) < 0)
        return err_sys(err, "examine '%s'", path);
    int wfd = check_open(path, uid, false, err);
    if (wfd < 0)
        return -1;
    int r = fstat(wfd, &walked_st);
    close(wfd);
    if (r < 0)
        return err_sys(err, "examine '%s'", path);
    if (open_st.st_dev != walked_st.st_dev || open_st.st_ino != walked_st.st_ino)
        return err_set(err, ERR_UNSAFE, "'%s' was replaced while it was read", path);
    if (ret_readable)
        *ret_readable = (open_st.st_mode & 004) != 0;
    return 0;
}

int safepath_open_dir(const char *dir, uid_t uid, struct err *err)
{
    AUTOCLOSE int pfd = check_open(dir, uid, true, err);
    if (pfd < 0)
        return -1;
    /* Reopen the checked O_PATH fd as a real directory fd (the same inode). */
    int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "open '%s'", dir);
    return fd;
}

int safepath_mkdirs(int top_fd, const char *top, const char *rel, mode_t mode, uid_t uid,
                    struct err *err)
{
    int fd = fcntl(top_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return err_sys(err, "open '%s'", top);
    AUTOFREE char *names = xstrdup(rel);
    AUTOFREE char *shown = xstrdup(top);
    char *save = NULL;
    for (char *c = strtok_r(names, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        char *s = path_join(shown, c);
        free(shown);
        shown = s;
        if (mkdirat(fd, c, mode) < 0 && errno != EEXIST) {
            err_sys(err, "create directory '%s'", shown);
            close(fd);
            return -1;
        }
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (next < 0) {
            if (e == ELOOP || e == ENOTDIR)
                return err_set(err, ERR_UNSAFE,
                               "'%s' is not a directory (a symbolic link or a "
                               "file is in the way)",
                               shown);
            return err_errno(err, e, "open directory '%s'", shown);
        }
        struct stat st;
        if (fstat(next, &st) < 0 || safepath_check_stat(&st, shown, uid, false, err) < 0) {
            if (!err_is_set(err))
                err_sys(err, "examine '%s'", shown);
            close(next);
            return -1;
        }
        fd = next;
    }
    return fd;
}
