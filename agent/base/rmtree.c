/* rmtree: see rmtree.h. */
#include "base/rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "base/dirfd.h"

/* One directory on the way down: its name in its parent and its identity. */
struct level {
    char *name; /* owned */
    dev_t dev;
    ino_t ino;
};

struct walk {
    struct level *v; /* owned; v[0] is the top */
    size_t n, cap;
    int fd; /* owned; the directory v[n-1] */
    const char *shown;
};

static void push(struct walk *w, const char *name, const struct stat *st)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    w->v[w->n++] = (struct level){xstrdup(name), st->st_dev, st->st_ino};
}

/* Unlink the non-directories of w->fd; *ret_sub (caller frees) gets one subdirectory, if any. */
static int clear_files(struct walk *w, char **ret_sub, struct err *err)
{
    DIR *d = dirfd_list(w->fd);
    if (!d)
        return err_sys(err, "remove '%s'", w->shown);
    *ret_sub = NULL;
    int r = 0;
    struct dirent *de;
    while (r == 0 && !*ret_sub && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(w->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                r = err_sys(err, "remove '%s'", w->shown);
        } else if (S_ISDIR(st.st_mode)) {
            *ret_sub = xstrdup(de->d_name);
        } else if (unlinkat(w->fd, de->d_name, 0) < 0 && errno != ENOENT) {
            r = err_sys(err, "remove '%s'", w->shown);
        }
    }
    closedir(d);
    return r;
}

static int down(struct walk *w, const char *name, struct err *err)
{
    struct stat st;
    int fd = dirfd_open(w->fd, name, &st);
    if (fd < 0)
        return err_sys(err, "remove '%s'", w->shown);
    close(w->fd);
    w->fd = fd;
    push(w, name, &st);
    return 0;
}

/* w->fd is empty: go to its parent (checked to be the one we came from) and remove it. */
static int up(struct walk *w, struct err *err)
{
    struct stat st;
    int fd = dirfd_open(w->fd, "..", &st);
    if (fd < 0)
        return err_sys(err, "remove '%s'", w->shown);
    const struct level *parent = &w->v[w->n - 2];
    if (st.st_dev != parent->dev || st.st_ino != parent->ino) {
        close(fd);
        return err_set(err, ERR_UNSAFE, "remove '%s': a directory was moved during removal",
                       w->shown);
    }
    close(w->fd);
    w->fd = fd;
    struct level *l = &w->v[--w->n];
    int r = unlinkat(w->fd, l->name, AT_REMOVEDIR);
    free(l->name);
    if (r < 0 && errno != ENOENT)
        return err_sys(err, "remove '%s'", w->shown);
    return 0;
}

static int walk_tree(struct walk *w, struct err *err)
{
    for (;;) {
        AUTOFREE char *sub = NULL;
        if (clear_files(w, &sub, err) < 0)
            return -1;
        if (sub) {
            if (down(w, sub, err) < 0)
                return -1;
        } else if (w->n == 1) {
            return 0;
        } else if (up(w, err) < 0) {
            return -1;
        }
    }
}

int rmtree_at(int dir_fd, const char *name, const char *shown, struct err *err)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : err_sys(err, "remove '%s'", shown);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
            return err_sys(err, "remove '%s'", shown);
        return 0;
    }
    struct walk w = {.shown = shown};
    w.fd = dirfd_open(dir_fd, name, &st);
    if (w.fd < 0)
        return err_sys(err, "remove '%s'", shown);
    push(&w, name, &st);
    int r = walk_tree(&w, err);
    close(w.fd);
    for (size_t i = 0; i < w.n; i++)
        free(w.v[i].name);
    free(w.v);
    if (r == 0 && unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = err_sys(err, "remove '%s'", shown);
    return r;
}
