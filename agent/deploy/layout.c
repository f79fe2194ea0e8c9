/* layout: on-host paths and state files under :root_dir: (spec section 8). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/layout.h"
#include "base/dirfd.h"
#include "deploy/lexpath.h"
#include "base/rmtree.h"
#include "base/safepath.h"
#include "base/util.h"
#include "base/path.h"
#include "base/buf.h"
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
    AUTOFREE char *name = xasprintf(
        "%s-deployments.log", program_name && *program_name ? program_name : "codedeploy-agent");
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

int layout_open_dir(const char *root_dir, const char *rel, struct err *err)
{
    if (mkdir_p(root_dir, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    AUTOCLOSE int top = safepath_open_dir(root_dir, geteuid(), err);
    if (top < 0)
        return -1;
    return safepath_mkdirs(top, root_dir, rel, LAYOUT_DIR_MODE, geteuid(), err);
}

int layout_make_deployment_dir(const char *root_dir, const char *group_id,
                               const char *deployment_id, char **ret_dir, struct err *err)
{
    if (layout_check_id(group_id, "deployment group id", err) < 0 ||
        layout_check_id(deployment_id, "deployment id", err) < 0)
        return -1;
    AUTOFREE char *rel = path_join(group_id, deployment_id);
    int fd = layout_open_dir(root_dir, rel, err);
    if (fd < 0)
        return -1;
    close(fd);
    if (ret_dir)
        *ret_dir = layout_deployment_dir(root_dir, group_id, deployment_id);
    return 0;
}

int layout_make_instructions_dir(const char *root_dir, struct err *err)
{
    int fd = layout_open_dir(root_dir, LAYOUT_INSTRUCTIONS_DIR, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Read name in deployment-instructions/ through a directory fd, never following a link. */
static int read_state(const char *root_dir, const char *name, char **ret, struct err *err)
{
    AUTOFREE char *dir = layout_instructions_dir(root_dir);
    AUTOFREE char *shown = path_join(dir, name);
    AUTOCLOSE int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    AUTOCLOSE int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *ret = NULL;
            return 0;
        }
        return err_sys(err, "read '%s'", shown);
    }
    struct buf b;
    buf_init(&b, LAYOUT_STATE_FILE_MAX);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || buf_append(&b, chunk, (size_t)n, err) < 0) {
            if (n < 0)
                err_sys(err, "read '%s'", shown);
            err_prefix(err, "read '%s'", shown);
            buf_done(&b);
            return -1;
        }
    }
    size_t len = b.len;
    char *data = buf_steal(&b);
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
    AUTOFREE char *name = xasprintf("%s%s", group_id, LAYOUT_LAST_SUCCESSFUL_SUFFIX);
    return read_state(root_dir, name, ret, err);
}

int layout_read_most_recent(const char *root_dir, const char *group_id, char **ret, struct err *err)
{
    AUTOFREE char *name = xasprintf("%s%s", group_id, LAYOUT_MOST_RECENT_SUFFIX);
    return read_state(root_dir, name, ret, err);
}

static int record_state(const char *root_dir, const char *group_id, const char *suffix,
                        const char *value, struct err *err)
{
    AUTOCLOSE int dfd = layout_open_dir(root_dir, LAYOUT_INSTRUCTIONS_DIR, err);
    if (dfd < 0)
        return -1;
    AUTOFREE char *name = xasprintf("%s%s", group_id, suffix);
    if (layout_write_at(dfd, name, value, strlen(value), LAYOUT_STATE_FILE_MODE, err) < 0) {
        AUTOFREE char *dir = layout_instructions_dir(root_dir);
        err_prefix(err, "write '%s/%s'", dir, name);
        return -1;
    }
    return 0;
}

int layout_record_last_successful(const char *root_dir, const char *group_id,
                                  const char *deployment_dir, struct err *err)
{
    return record_state(root_dir, group_id, LAYOUT_LAST_SUCCESSFUL_SUFFIX, deployment_dir, err);
}

int layout_record_most_recent(const char *root_dir, const char *group_id,
                              const char *deployment_dir, struct err *err)
{
    return record_state(root_dir, group_id, LAYOUT_MOST_RECENT_SUFFIX, deployment_dir, err);
}

/* ---- retention ---- */

struct rev {
    char *name; /* owned */
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
static int list_revisions(const char *gdir, const char *current_id, struct rev **ret, size_t *ret_n,
                          struct err *err)
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

/* ---- writing below directory fds, and the root dir check (issue 18 item 4) ---- */

int layout_write_at(int dfd, const char *name, const void *data, size_t len, mode_t mode,
                    struct err *err)
{
    AUTOFREE char *tmp = xasprintf("%s.tmp.%ld", name, (long)getpid());
    (void)unlinkat(dfd, tmp, 0);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return err_sys(err, "create a temporary file");
    const char *p = data;
    int r = 0;
    while (len && r == 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno != EINTR)
            r = err_sys(err, "write");
        else if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    if (r == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        r = err_sys(err, "write");
    if (close(fd) < 0 && r == 0)
        r = err_sys(err, "write");
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
        r = err_sys(err, "rename into place");
    if (r < 0)
        (void)unlinkat(dfd, tmp, 0);
    return r;
}

/* Check the entry name of the directory dfd (shown as dir): a trusted real directory when it is
 * one (a missing entry is fine); a symbolic link is refused when no_links. */
static int check_entry(int dfd, const char *dir, const char *name, uid_t uid, bool want_dir,
                       struct err *err)
{
    struct stat st;
    AUTOFREE char *shown = path_join(dir, name);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : err_sys(err, "examine '%s'", shown);
    if (S_ISLNK(st.st_mode))
        return err_set(err, ERR_UNSAFE,
                       "'%s' is a symbolic link; the agent does not follow "
                       "links below its root directory",
                       shown);
    if (want_dir && !S_ISDIR(st.st_mode))
        return err_set(err, ERR_UNSAFE, "'%s' is not a directory", shown);
    return S_ISDIR(st.st_mode) ? safepath_check_stat(&st, shown, uid, false, err) : 0;
}

/* What a deployment directory's entries may be: logs/ trusted and holding no links
 * (deployment-archive is the bundle's, see archmeta). */
static int check_tree(int dfd, const char *dir, const char *name, uid_t uid, int depth,
                      struct err *err);

static int check_child(int dfd, const char *dir, const char *name, uint8_t type, uid_t uid,
                       int depth, struct err *err)
{
    if (depth == 0 || type != DT_DIR) /* bundle.tar may be a link (codedeploy-local) */
        return depth == 1 ? 0 : check_entry(dfd, dir, name, uid, false, err);
    if (depth == 1)
        return strcmp(name, LAYOUT_LOGS_DIR) == 0 ? check_tree(dfd, dir, name, uid, 0, err) : 0;
    return check_tree(dfd, dir, name, uid, depth - 1, err);
}

/* The directory name below dfd and its entries: depth 0 a state directory (no links in it),
 * 1 a deployment directory, 2 a deployment group directory. */
static int check_tree(int dfd, const char *dir, const char *name, uid_t uid, int depth,
                      struct err *err)
{
    if (check_entry(dfd, dir, name, uid, true, err) < 0)
        return -1;
    AUTOFREE char *shown = path_join(dir, name);
    struct stat st;
    AUTOCLOSE int fd = dirfd_open(dfd, name, &st);
    if (fd < 0)
        return errno == ENOENT ? 0 : err_sys(err, "examine '%s'", shown);
    DIR *d = dirfd_list(fd);
    if (!d)
        return err_sys(err, "examine '%s'", shown);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            r = check_child(fd, shown, de->d_name, de->d_type, uid, depth, err);
    closedir(d);
    return r;
}

int layout_check_root(const char *root_dir, const char *tracking_dir, uid_t uid, struct err *err)
{
    AUTOCLOSE int fd = safepath_open_dir(root_dir, uid, err);
    if (fd < 0)
        return -1;
    const char *state[] = {LAYOUT_INSTRUCTIONS_DIR, LAYOUT_DEPLOYMENT_LOGS_DIR,
                           tracking_dir && *tracking_dir ? tracking_dir
                                                         : LAYOUT_ONGOING_DIR_DEFAULT,
                           LAYOUT_LOCKS_DIR};
    for (size_t i = 0; i < sizeof(state) / sizeof(state[0]); i++)
        if (check_tree(fd, root_dir, state[i], uid, 0, err) < 0)
            return -1;
    DIR *d = dirfd_list(fd);
    if (!d)
        return err_sys(err, "examine '%s'", root_dir);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
            continue;
        bool is_state = false;
        for (size_t i = 0; i < sizeof(state) / sizeof(state[0]); i++)
            is_state |= strcmp(de->d_name, state[i]) == 0;
        /* The other directories are deployment groups: <group>/<deployment>/logs. */
        if (!is_state)
            r = check_child(fd, root_dir, de->d_name, de->d_type, uid, 3, err);
    }
    closedir(d);
    return r;
}

int layout_check_host_dirs(const char *root_dir, const char *tracking_dir, const char *log_dir,
                           uid_t uid, struct err *err)
{
    if (mkdir_p(root_dir, LAYOUT_DIR_MODE, err) < 0 ||
        layout_check_root(root_dir, tracking_dir, uid, err) < 0) {
        err_prefix(err, "refusing to use the root directory (:root_dir:)");
        return -1;
    }
    if (log_dir && (mkdir_p(log_dir, LAYOUT_DIR_MODE, err) < 0 ||
                    safepath_check(log_dir, uid, true, err) < 0)) {
        err_prefix(err, "refusing to use the log directory (:log_dir:)");
        return -1;
    }
    return 0;
}
