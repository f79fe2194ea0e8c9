/* layout: on-host paths and state files under :root_dir: (spec section 8). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/layout.h"
#include "deploy/lexpath.h"
#include "deploy/rmtree.h"
#include "base/util.h"
#include "base/path.h"
#include "base/fsutil.h"

char *layout_group_dir(const char *root_dir, const char *group_id)
{
    return path_join(root_dir, group_id);
}

char *layout_deployment_dir(const char *root_dir, const char *group_id, const char *deployment_id)
{
    AUTOFREE char *g = path_join(root_dir, group_id);
    return path_join(g, deployment_id);
}

char *layout_bundle_path(const char *deployment_dir)
{
    return path_join(deployment_dir, LAYOUT_BUNDLE_FILE);
}

char *layout_archive_dir(const char *deployment_dir)
{
    return path_join(deployment_dir, LAYOUT_ARCHIVE_DIR);
}

char *layout_logs_dir(const char *deployment_dir)
{
    return path_join(deployment_dir, LAYOUT_LOGS_DIR);
}

char *layout_scripts_log(const char *deployment_dir)
{
    AUTOFREE char *l = path_join(deployment_dir, LAYOUT_LOGS_DIR);
    return path_join(l, LAYOUT_SCRIPTS_LOG);
}

char *layout_instructions_dir(const char *root_dir)
{
    return path_join(root_dir, LAYOUT_INSTRUCTIONS_DIR);
}

static char *instruction_file(const char *root_dir, const char *group_id, const char *suffix)
{
    AUTOFREE char *d = path_join(root_dir, LAYOUT_INSTRUCTIONS_DIR);
    AUTOFREE char *name = xasprintf("%s%s", group_id, suffix);
    return path_join(d, name);
}

char *layout_last_successful_path(const char *root_dir, const char *group_id)
{
    return instruction_file(root_dir, group_id, LAYOUT_LAST_SUCCESSFUL_SUFFIX);
}

char *layout_most_recent_path(const char *root_dir, const char *group_id)
{
    return instruction_file(root_dir, group_id, LAYOUT_MOST_RECENT_SUFFIX);
}

char *layout_cleanup_path(const char *root_dir, const char *group_id)
{
    return instruction_file(root_dir, group_id, LAYOUT_CLEANUP_SUFFIX);
}

char *layout_install_json_path(const char *root_dir, const char *group_id)
{
    return instruction_file(root_dir, group_id, LAYOUT_INSTALL_JSON_SUFFIX);
}

char *layout_deployment_logs_dir(const char *root_dir)
{
    return path_join(root_dir, LAYOUT_DEPLOYMENT_LOGS_DIR);
}

char *layout_deployments_log(const char *root_dir, const char *program_name)
{
    AUTOFREE char *d = path_join(root_dir, LAYOUT_DEPLOYMENT_LOGS_DIR);
    AUTOFREE char *name = xasprintf("%s-deployments.log",
                                    program_name && *program_name ? program_name
                                                                  : "codedeploy-agent");
    return path_join(d, name);
}

char *layout_ongoing_dir(const char *root_dir, const char *tracking_dir)
{
    return path_join(root_dir,
                     tracking_dir && *tracking_dir ? tracking_dir : LAYOUT_ONGOING_DIR_DEFAULT);
}

int layout_check_id(const char *id, const char *what, struct err *err)
{
    if (!id || !*id)
        return err_set(err, ERR_UNSAFE, "%s is empty", what);
    size_t n = strlen(id);
    if (n > 255)
        return err_set(err, ERR_UNSAFE, "%s '%.40s...' is longer than 255 bytes", what, id);
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return err_set(err, ERR_UNSAFE, "%s '%s' is not a usable directory name", what, id);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c == '/')
            return err_set(err, ERR_UNSAFE, "%s '%s' contains '/'", what, id);
        if (c < 0x20 || c == 0x7f)
            return err_set(err, ERR_UNSAFE, "%s contains a control character", what);
    }
    return 0;
}

int layout_make_deployment_dir(const char *root_dir, const char *group_id,
                               const char *deployment_id, char **ret_dir, struct err *err)
{
    if (layout_check_id(group_id, "deployment group id", err) < 0 ||
        layout_check_id(deployment_id, "deployment id", err) < 0)
        return -1;
    AUTOFREE char *dir = layout_deployment_dir(root_dir, group_id, deployment_id);
    if (mkdir_p(dir, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    if (ret_dir)
        *ret_dir = TAKE_PTR(dir);
    return 0;
}

int layout_make_instructions_dir(const char *root_dir, struct err *err)
{
    AUTOFREE char *d = layout_instructions_dir(root_dir);
    return mkdir_p(d, LAYOUT_DIR_MODE, err);
}

static int read_state(const char *path, char **ret, struct err *err)
{
    char *data = NULL;
    size_t len = 0;
    struct err e = ERR_INIT;
    if (read_file(path, LAYOUT_STATE_FILE_MAX, &data, &len, &e) < 0) {
        if (e.code == ERR_NOT_FOUND) {
            *ret = NULL;
            return 0;
        }
        if (err)
            *err = e;
        return -1;
    }
    /* Readers strip one trailing newline; Ruby and v2 write none. */
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    if (len == 0) {
        free(data);
        data = NULL;
    }
    *ret = data;
    return 0;
}

int layout_read_last_successful(const char *root_dir, const char *group_id, char **ret,
                                struct err *err)
{
    AUTOFREE char *p = layout_last_successful_path(root_dir, group_id);
    return read_state(p, ret, err);
}

int layout_read_most_recent(const char *root_dir, const char *group_id, char **ret,
                            struct err *err)
{
    AUTOFREE char *p = layout_most_recent_path(root_dir, group_id);
    return read_state(p, ret, err);
}

static int record_state(const char *root_dir, const char *path, const char *value,
                        struct err *err)
{
    if (layout_make_instructions_dir(root_dir, err) < 0)
        return -1;
    return write_file_atomic(path, value, strlen(value), LAYOUT_STATE_FILE_MODE, err);
}

int layout_record_last_successful(const char *root_dir, const char *group_id,
                                  const char *deployment_dir, struct err *err)
{
    AUTOFREE char *p = layout_last_successful_path(root_dir, group_id);
    return record_state(root_dir, p, deployment_dir, err);
}

int layout_record_most_recent(const char *root_dir, const char *group_id,
                              const char *deployment_dir, struct err *err)
{
    AUTOFREE char *p = layout_most_recent_path(root_dir, group_id);
    return record_state(root_dir, p, deployment_dir, err);
}

/* ---- retention ---- */

struct rev {
    char *name;  /* owned */
    struct timespec mtime;
};

static int rev_cmp(const void *a, const void *b)
{
    const struct rev *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

bool layout_is_last_successful(const char *group_dir, const char *name, const char *last)
{
    if (!last)
        return false;
    AUTOFREE char *cand = path_join(group_dir, name);
    AUTOFREE char *a = lexpath_norm(cand);
    AUTOFREE char *b = lexpath_norm(last);
    if (strcmp(a, b) == 0)
        return true;
    /* Same directory reached through another spelling of root_dir (symlinks, relative). */
    struct stat s1, s2;
    return lstat(cand, &s1) == 0 && stat(last, &s2) == 0 && s1.st_dev == s2.st_dev &&
           s1.st_ino == s2.st_ino;
}

static void revs_free(struct rev *revs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(revs[i].name);
    free(revs);
}

/* The entries of gdir except current_id: 1 with *ret and *ret_n set, 0 when gdir does not exist,
 * -1 when it cannot be listed. */
static int list_revisions(const char *gdir, const char *current_id, struct rev **ret,
                          size_t *ret_n, struct err *err)
{
    int fd = open(gdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : err_sys(err, "list old revisions in '%s'", gdir);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_sys(err, "list old revisions in '%s'", gdir);
    }
    struct rev *revs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (current_id && strcmp(de->d_name, current_id) == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            revs = xrealloc(revs, cap * sizeof(*revs));
        }
        revs[n].name = xstrdup(de->d_name);
        revs[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    *ret = revs;
    *ret_n = n;
    return 1;
}

int layout_prune_revisions(const char *root_dir, const char *group_id,
                           const char *current_deployment_id, unsigned max_revisions,
                           unsigned *ret_removed, struct err *err)
{
    if (layout_check_id(group_id, "deployment group id", err) < 0)
        return -1;
    if (max_revisions < 1)
        max_revisions = 1;
    AUTOFREE char *gdir = layout_group_dir(root_dir, group_id);
    struct rev *revs = NULL;
    size_t n = 0;
    int lr = list_revisions(gdir, current_deployment_id, &revs, &n, err);
    if (lr <= 0) {
        if (lr == 0 && ret_removed)
            *ret_removed = 0;
        return lr;
    }

    unsigned removed = 0;
    int rc = 0;
    /* extra = count - max_revisions + 1, computed BEFORE excluding the last successful. */
    long long extra = (long long)n - (long long)max_revisions + 1;
    if (extra > 0) {
        if (n > 1)
            qsort(revs, n, sizeof(*revs), rev_cmp);
        char *last = NULL;
        struct err e = ERR_INIT;
        if (layout_read_last_successful(root_dir, group_id, &last, &e) < 0) {
            /* Without knowing the last successful revision, removing anything could delete
             * the one ApplicationStop needs; keep everything. */
            free(last);
            revs_free(revs, n);
            if (err)
                *err = e;
            return -1;
        }
        long long todo = extra;
        for (size_t i = 0; i < n && todo > 0; i++) {
            /* Excluded from the candidates after extra was computed. */
            if (layout_is_last_successful(gdir, revs[i].name, last))
                continue;
            todo--;
            AUTOFREE char *p = path_join(gdir, revs[i].name);
            if (rmtree_at(AT_FDCWD, p, p, err) < 0)
                rc = -1;
            else
                removed++;
        }
        free(last);
    }
    revs_free(revs, n);
    if (ret_removed)
        *ret_removed = removed;
    return rc;
}
