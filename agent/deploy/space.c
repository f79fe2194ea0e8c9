/* space: see space.h. */
#include "deploy/space.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/map.h"
#include "base/util.h"
#include "deploy/lexpath.h"
#include "deploy/plan.h"

struct fs {
    dev_t dev;
    char *dir; /* owned; the first existing directory seen on it */
    struct statvfs vfs;
    uint64_t need_bytes, need_inodes, freed_bytes, freed_inodes;
};

struct tally {
    struct fs *v; /* owned */
    size_t n;
    space_statvfs_fn *statvfs_fn;
};

static void tally_done(struct tally *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].dir);
    free(t->v);
}

/* The file system of path's nearest existing ancestor-or-self directory. */
static struct fs *fs_of(struct tally *t, const char *path, struct err *err)
{
    AUTOFREE char *dir = xstrdup(path);
    struct stat st;
    while (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        char *up = lexpath_dir(dir);
        free(dir);
        dir = up;
        if (strcmp(dir, "/") == 0 && stat(dir, &st) < 0)
            return err_sys(err, "Install: examine the file system of '%s'", path), NULL;
    }
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].dev == st.st_dev)
            return &t->v[i];
    struct statvfs vfs;
    if (t->statvfs_fn(dir, &vfs) < 0)
        return err_sys(err, "Install: examine the file system of '%s'", dir), NULL;
    t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
    t->v[t->n] = (struct fs){.dev = st.st_dev, .dir = TAKE_PTR(dir), .vfs = vfs};
    return &t->v[t->n++];
}

static uint64_t round_up(uint64_t n, uint64_t block)
{
    return block ? (n + block - 1) / block * block : n;
}

static int add_step(struct tally *t, const struct step *s, struct err *err)
{
    AUTOFREE char *parent = lexpath_dir(s->dst);
    struct fs *f = fs_of(t, parent, err);
    if (!f)
        return -1;
    uint64_t block = f->vfs.f_frsize ? f->vfs.f_frsize : f->vfs.f_bsize;
    struct stat st;
    f->need_inodes++;
    if (s->kind == STEP_MKDIR)
        f->need_bytes += block;
    else if (lstat(s->src, &st) == 0 && S_ISREG(st.st_mode))
        f->need_bytes += round_up((uint64_t)st.st_size, block);
    return 0;
}

/* What removing the previous install frees, on the file systems the plan writes to. */
static void add_freed(struct tally *t, const struct map *gone)
{
    for (size_t i = 0; i < gone->cap; i++) {
        const char *p = gone->v[i].key;
        struct stat st;
        /* A file with another hard link frees nothing when this name goes. */
        if (!p || lstat(p, &st) < 0 || (!S_ISDIR(st.st_mode) && st.st_nlink > 1))
            continue;
        for (size_t k = 0; k < t->n; k++) {
            if (t->v[k].dev == st.st_dev) {
                t->v[k].freed_bytes += (uint64_t)st.st_blocks * 512;
                t->v[k].freed_inodes++;
            }
        }
    }
}

static uint64_t with_margin(uint64_t need, uint64_t minimum)
{
    return need + need / 100 * SPACE_MARGIN_PERCENT + minimum;
}

static int check_fs(const struct fs *f, struct err *err)
{
    uint64_t block = f->vfs.f_frsize ? f->vfs.f_frsize : f->vfs.f_bsize;
    uint64_t free_bytes = (uint64_t)f->vfs.f_bavail * block;
    uint64_t free_inodes = (uint64_t)f->vfs.f_favail;
    uint64_t bytes = with_margin(f->need_bytes, SPACE_MARGIN_MIN_BYTES);
    uint64_t inodes = with_margin(f->need_inodes, SPACE_MARGIN_MIN_INODES);
    bool bytes_ok = bytes <= free_bytes + f->freed_bytes;
    bool inodes_ok = f->vfs.f_files == 0 || inodes <= free_inodes + f->freed_inodes;
    if (bytes_ok && inodes_ok)
        return 0;
    return err_set(err, ERR_INSTALL,
                   "Install: not enough free space on the file system holding '%s': the revision "
                   "needs %" PRIu64 " bytes and %" PRIu64 " inodes there (including a safety "
                   "margin), removing the previous install frees %" PRIu64 " bytes and %" PRIu64
                   " inodes, and %" PRIu64 " bytes and %" PRIu64 " inodes are free; nothing was "
                   "changed. Free space on that file system, and then try again.",
                   f->dir, bytes, inodes, f->freed_bytes, f->freed_inodes, free_bytes, free_inodes);
}

int space_check(const struct plan *p, space_statvfs_fn *statvfs_fn, struct err *err)
{
    struct tally t = {.statvfs_fn = statvfs_fn ? statvfs_fn : statvfs};
    int r = 0;
    for (size_t i = 0; i < p->n_file_steps && r == 0; i++)
        r = add_step(&t, &p->steps[i], err);
    if (r == 0)
        add_freed(&t, &p->gone);
    for (size_t i = 0; i < t.n && r == 0; i++)
        r = check_fs(&t.v[i], err);
    tally_done(&t);
    return r;
}
