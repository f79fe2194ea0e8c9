/* retention: see retention.h. */
#include "deploy/retention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/path.h"
#include "base/util.h"
#include "deploy/diskspace.h"
#include "deploy/layout.h"
#include "base/rmtree.h"

struct entry {
    char *name;
    struct timespec mtime;
    uint64_t bytes;
    bool keep;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void entries_free(struct entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* The entries of gdir with their sizes; *ret NULL and 0 for a missing directory. */
static int list_group(const char *gdir, struct entry **ret, size_t *ret_n, struct err *err)
{
    *ret = NULL;
    *ret_n = 0;
    int fd = open(gdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : err_sys(err, "list revisions in '%s'", gdir);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_sys(err, "list revisions in '%s'", gdir);
    }
    struct entry *v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        v = xrealloc(v, (n + 1) * sizeof(*v));
        AUTOFREE char *p = path_join(gdir, de->d_name);
        v[n] = (struct entry){xstrdup(de->d_name), st.st_mtim, diskspace_usage(p), false};
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof(*v), entry_cmp);
    *ret = v;
    *ret_n = n;
    return 0;
}

/* Mark the current deployment and the last successful one as kept. */
static int mark_kept(const char *root_dir, const char *group_id, const char *gdir,
                     const char *current, struct entry *v, size_t n, struct err *err)
{
    char *last = NULL;
    if (layout_read_last_successful(root_dir, group_id, &last, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i].keep = str_eq(v[i].name, current) || layout_is_last_successful(gdir, v[i].name, last);
    free(last);
    return 0;
}

int retention_prune_budget(const char *root_dir, const char *group_id,
                           const char *current_deployment_id, uint64_t budget_bytes,
                           unsigned *ret_removed, uint64_t *ret_used, struct err *err)
{
    if (layout_check_id(group_id, "deployment group id", err) < 0)
        return -1;
    AUTOFREE char *gdir = layout_group_dir(root_dir, group_id);
    struct entry *v = NULL;
    size_t n = 0;
    if (list_group(gdir, &v, &n, err) < 0)
        return -1;
    uint64_t used = 0;
    for (size_t i = 0; i < n; i++)
        used += v[i].bytes;
    unsigned removed = 0;
    int rc = 0;
    if (budget_bytes > 0 && used > budget_bytes) {
        rc = mark_kept(root_dir, group_id, gdir, current_deployment_id, v, n, err);
        for (size_t i = 0; rc == 0 && i < n && used > budget_bytes; i++) {
            if (v[i].keep)
                continue;
            AUTOFREE char *p = path_join(gdir, v[i].name);
            struct err e = ERR_INIT;
            if (rmtree_at(AT_FDCWD, p, p, &e) < 0) {
                if (!err_is_set(err) && err)
                    *err = e;
                continue;
            }
            used -= v[i].bytes;
            removed++;
        }
        if (err_is_set(err))
            rc = -1;
    }
    entries_free(v, n);
    if (ret_removed)
        *ret_removed = removed;
    if (ret_used)
        *ret_used = used;
    return rc;
}

uint64_t retention_revisions_usage(const char *root_dir, const char *tracking_dir)
{
    AUTOFREE char *ongoing = layout_ongoing_dir(root_dir, tracking_dir);
    DIR *d = opendir(root_dir);
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, LAYOUT_INSTRUCTIONS_DIR) == 0 ||
            strcmp(de->d_name, LAYOUT_DEPLOYMENT_LOGS_DIR) == 0)
            continue;
        AUTOFREE char *p = path_join(root_dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode) || strcmp(p, ongoing) == 0)
            continue;
        sum += diskspace_usage(p);
    }
    closedir(d);
    return sum;
}
