/*
 * copytree: see copytree.h.  The walk keeps one source and one destination directory fd and
 * goes down and up with openat() (each step up checked by device and inode), so neither the
 * depth nor the length of the paths inside the tree is limited; what each level still has to
 * visit is kept as names in memory.
 */
#include "deploy/copytree.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/path.h"
#include "base/util.h"
#include "base/dirfd.h"
#include "deploy/install-internal.h"

/* Copy src_name (in src_dir) to dst_name (in dst_dir) through a temporary name; shown names
 * the source in messages. */
static int copy_file_at(int src_dir, const char *src_name, int dst_dir, const char *dst_name,
                        const char *shown, struct err *err)
{
    AUTOCLOSE int in = openat(src_dir, src_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return err_sys(err, "copy '%s'", shown);
    struct stat st;
    if (fstat(in, &st) < 0)
        return err_sys(err, "copy '%s'", shown);
    AUTOFREE char *tmp = xasprintf("%s.cdagent-tmp", dst_name);
    (void)unlinkat(dst_dir, tmp, 0);
    int out = openat(dst_dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0)
        return err_sys(err, "copy '%s'", shown);
    int r = 0;
    if (apply_copy_data(in, out) < 0)
        r = err_sys(err, "copy '%s'", shown);
    if (r == 0 && (fchmod(out, st.st_mode & 07777) < 0 || close(out) < 0))
        r = err_sys(err, "copy '%s'", shown);
    else if (r < 0)
        close(out);
    if (r == 0 && renameat(dst_dir, tmp, dst_dir, dst_name) < 0)
        r = err_sys(err, "copy '%s'", shown);
    if (r < 0)
        (void)unlinkat(dst_dir, tmp, 0);
    return r;
}

int copy_file(const char *src, const char *dst, struct err *err)
{
    return copy_file_at(AT_FDCWD, src, AT_FDCWD, dst, src, err);
}

/* One directory of the walk: its identity (to check the way up) and what is left to visit. */
struct level {
    dev_t src_dev, dst_dev;
    ino_t src_ino, dst_ino;
    mode_t mode;    /* the source directory's permission bits */
    char **subdirs; /* owned; subdirectories still to copy */
    size_t n_subdirs;
};

struct walk {
    struct level *v; /* owned */
    size_t n, cap;
    int src, dst; /* owned; fds of the directories v[n-1] */
    const char *shown;
};

static int copy_link_at(int src_dir, const char *src_name, int dst_dir, const char *dst_name,
                        const char *shown, struct err *err)
{
    char target[4096];
    ssize_t n = readlinkat(src_dir, src_name, target, sizeof(target) - 1);
    if (n < 0)
        return err_sys(err, "copy link in '%s'", shown);
    target[n] = '\0';
    if (symlinkat(target, dst_dir, dst_name) < 0)
        return err_sys(err, "copy link in '%s'", shown);
    return 0;
}

/* Copy the files and links of the current level; remember its subdirectories. */
static int copy_entries(struct walk *w, struct level *l, struct err *err)
{
    DIR *d = dirfd_list(w->src);
    if (!d)
        return err_sys(err, "read directory in '%s'", w->shown);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(w->src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = err_sys(err, "copy in '%s'", w->shown);
        } else if (S_ISDIR(st.st_mode)) {
            l->subdirs = xrealloc(l->subdirs, (l->n_subdirs + 1) * sizeof(*l->subdirs));
            l->subdirs[l->n_subdirs++] = xstrdup(de->d_name);
        } else if (S_ISLNK(st.st_mode)) {
            r = copy_link_at(w->src, de->d_name, w->dst, de->d_name, w->shown, err);
        } else if (S_ISREG(st.st_mode)) {
            r = copy_file_at(w->src, de->d_name, w->dst, de->d_name, w->shown, err);
        }
    }
    closedir(d);
    return r;
}

/* Enter src_name, creating dst_name in the destination: open both, copy its files. */
static int enter(struct walk *w, int src_at, const char *src_name, int dst_at, const char *dst_name,
                 struct err *err)
{
    struct stat s, d;
    int src = dirfd_open(src_at, src_name, &s);
    if (src < 0)
        return err_sys(err, "read directory in '%s'", w->shown);
    int dst = -1;
    if (mkdirat(dst_at, dst_name, 0700) == 0)
        dst = dirfd_open(dst_at, dst_name, &d);
    if (dst < 0) {
        close(src);
        return err_sys(err, "create directory in '%s'", w->shown);
    }
    if (w->src >= 0)
        close(w->src);
    if (w->dst >= 0)
        close(w->dst);
    w->src = src;
    w->dst = dst;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    struct level *l = &w->v[w->n++];
    *l = (struct level){.src_dev = s.st_dev,
                        .src_ino = s.st_ino,
                        .dst_dev = d.st_dev,
                        .dst_ino = d.st_ino,
                        .mode = s.st_mode & 07777};
    return copy_entries(w, l, err);
}

static void level_done(struct level *l)
{
    for (size_t i = 0; i < l->n_subdirs; i++)
        free(l->subdirs[i]);
    free(l->subdirs);
}

/* The current level is complete: set its mode and go back to its parent in both trees. */
static int leave(struct walk *w, struct err *err)
{
    struct level *l = &w->v[w->n - 1];
    if (fchmod(w->dst, l->mode) < 0)
        return err_sys(err, "set mode of a directory in '%s'", w->shown);
    const struct level *p = &w->v[w->n - 2];
    struct stat s, d;
    int src = dirfd_open(w->src, "..", &s);
    int dst = dirfd_open(w->dst, "..", &d);
    bool same = src >= 0 && dst >= 0 && s.st_dev == p->src_dev && s.st_ino == p->src_ino &&
                d.st_dev == p->dst_dev && d.st_ino == p->dst_ino;
    if (!same) {
        if (src >= 0)
            close(src);
        if (dst >= 0)
            close(dst);
        return err_set(err, ERR_SYSTEM, "copy '%s': a directory was moved during the copy",
                       w->shown);
    }
    close(w->src);
    close(w->dst);
    w->src = src;
    w->dst = dst;
    level_done(l);
    w->n--;
    return 0;
}

static int walk_tree(struct walk *w, struct err *err)
{
    for (;;) {
        assert(w->v && w->n > 0); /* enter() of the top succeeded */
        struct level *l = &w->v[w->n - 1];
        if (l->n_subdirs) {
            AUTOFREE char *sub = l->subdirs[--l->n_subdirs];
            if (enter(w, w->src, sub, w->dst, sub, err) < 0)
                return -1;
        } else if (w->n == 1) {
            if (fchmod(w->dst, l->mode) < 0)
                return err_sys(err, "set mode of '%s'", w->shown);
            return 0;
        } else if (leave(w, err) < 0) {
            return -1;
        }
    }
}

int copytree(const char *src, const char *dst, struct err *err)
{
    struct stat st;
    if (lstat(src, &st) < 0)
        return err_sys(err, "copy '%s'", src);
    if (S_ISLNK(st.st_mode))
        return copy_link_at(AT_FDCWD, src, AT_FDCWD, dst, src, err);
    if (S_ISREG(st.st_mode))
        return copy_file(src, dst, err);
    if (!S_ISDIR(st.st_mode))
        return 0;
    struct walk w = {.src = -1, .dst = -1, .shown = src};
    int r = enter(&w, AT_FDCWD, src, AT_FDCWD, dst, err);
    if (r == 0)
        r = walk_tree(&w, err);
    for (size_t i = 0; i < w.n; i++)
        level_done(&w.v[i]);
    free(w.v);
    if (w.src >= 0)
        close(w.src);
    if (w.dst >= 0)
        close(w.dst);
    return r;
}
