/* reuse: see reuse.h. */
#include "deploy/reuse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/bundlemeta.h"
#include "deploy/copytree.h"
#include "deploy/layout.h"
#include "parse/appspec.h"

/* id[from..to) is non-empty and only holds the given classes of characters. */
static bool chars_ok(const char *id, size_t from, size_t to, bool upper)
{
    if (from >= to)
        return false;
    for (size_t i = from; i < to; i++)
        if (!((upper && id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')))
            return false;
    return true;
}

bool reuse_source_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n <= REUSE_ID_MAX && str_has_prefix(id, "d-") && chars_ok(id, 2, n, true);
}

bool reuse_local_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n > REUSE_ID_MAX)
        return false;
    if (str_has_prefix(id, "local-"))
        return chars_ok(id, 6, n, false);
    return str_has_prefix(id, "d-") && str_has_suffix(id, "-local") && n > 8 &&
           chars_ok(id, 2, n - 6, true);
}

static bool dir_has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool any = false;
    struct dirent *de;
    while (!any && (de = readdir(d)) != NULL)
        any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* The canonical archive path must lie strictly below the canonical group directory. */
static int check_beneath(const char *group_dir, const char *archive, struct err *err)
{
    AUTOFREE char *g = realpath(group_dir, NULL);
    AUTOFREE char *a = realpath(archive, NULL);
    if (!g || !a)
        return err_sys(err, "resolve '%s'", archive);
    size_t n = strlen(g);
    bool below = strncmp(a, g, n) == 0 && a[n] == '/' && a[n + 1];
    if (!below)
        return err_set(err, ERR_UNSAFE,
                       "archive '%s' resolves outside the deployment group directory", archive);
    return 0;
}

/* Every V-050 condition on the source; *ret_src_dir is its deployment directory. */
static int check_source(const struct reuse_request *r, char **ret_src_dir, struct err *err)
{
    if (!reuse_source_id_valid(r->source_id) &&
        !(r->allow_local_ids && reuse_local_id_valid(r->source_id)))
        return err_set(err, ERR_UNSAFE,
                       "source deployment id '%s' is not of the form d-[A-Z0-9]+ (at most %d "
                       "characters)",
                       r->source_id ? r->source_id : "", REUSE_ID_MAX);
    if (str_eq(r->source_id, r->deployment_id))
        return err_set(err, ERR_UNSAFE, "source deployment '%s' is the current deployment",
                       r->source_id);
    const char *name = r->appspec_filename ? r->appspec_filename : "appspec.yml";
    if (!*name || !path_is_beneath(name))
        return err_set(err, ERR_UNSAFE, "AppSpec name '%s' is not a safe relative path", name);
    AUTOFREE char *group = layout_group_dir(r->root_dir, r->group_id);
    AUTOFREE char *src = layout_deployment_dir(r->root_dir, r->group_id, r->source_id);
    AUTOFREE char *archive = layout_archive_dir(src);
    struct stat st;
    if (stat(archive, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(err, ERR_NOT_FOUND, "no archive directory at '%s'", archive);
    if (!dir_has_entries(archive))
        return err_set(err, ERR_NOT_FOUND, "archive directory '%s' is empty", archive);
    if (check_beneath(group, archive, err) < 0)
        return -1;
    AUTOFREE char *found = NULL;
    struct err e = ERR_INIT;
    if (appspec_find(archive, r->appspec_filename, &found, &e) < 0)
        return err_set(err, e.code == ERR_UNSAFE ? ERR_UNSAFE : ERR_NOT_FOUND,
                       "no AppSpec '%s' in '%s'", name, archive);
    *ret_src_dir = TAKE_PTR(src);
    return 0;
}

/* Hard-link the source bundle.tar when it has one (a local-directory revision has none). */
static int link_bundle(const char *src_dir, const char *dst_dir, struct err *err)
{
    AUTOFREE char *from = layout_bundle_path(src_dir);
    AUTOFREE char *to = layout_bundle_path(dst_dir);
    if (unlink(to) < 0 && errno != ENOENT)
        return err_sys(err, "remove '%s'", to);
    struct stat st;
    if (lstat(from, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return err_sys(err, "inspect '%s'", from);
    }
    if (link(from, to) < 0)
        return err_sys(err, "hard-link '%s' to '%s'", from, to);
    return 0;
}

static int scan_copy_dir(const struct reuse_request *r, int dfd, const char *rel, struct err *err);

/* One entry of the copy: a link under reject_links fails, setid bits go unless allowed. */
static int scan_copy_entry(const struct reuse_request *r, int dfd, const char *name,
                           const char *rel, struct err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return err_sys(err, "inspect '%s'", rel);
    if (S_ISLNK(st.st_mode) && r->reject_links)
        return err_set(err, ERR_ARCHIVE, "archive contains symbolic link '%s'", rel);
    if (S_ISDIR(st.st_mode)) {
        int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return err_sys(err, "open directory '%s'", rel);
        return scan_copy_dir(r, sub, rel, err);
    }
    if (S_ISREG(st.st_mode) && !r->allow_setid && (st.st_mode & (S_ISUID | S_ISGID)) &&
        fchmodat(dfd, name, st.st_mode & 0777, 0) < 0)
        return err_sys(err, "clear setuid/setgid bits of '%s'", rel);
    return 0;
}

/* V-049 step 7 on the copy: what unpack_archive() would have refused or cleared.  Walks with
 * *at() calls (takes ownership of dfd), so long paths that copytree() copied pass here too. */
static int scan_copy_dir(const struct reuse_request *r, int dfd, const char *rel, struct err *err)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return err_sys(err, "read directory '%s'", *rel ? rel : ".");
    }
    int ret = 0;
    struct dirent *de;
    while (ret == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        AUTOFREE char *q = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
        ret = scan_copy_entry(r, dirfd(d), de->d_name, q, err);
    }
    closedir(d);
    return ret;
}

static int scan_copy(const struct reuse_request *r, const char *archive, struct err *err)
{
    int fd = open(archive, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "open directory '%s'", archive);
    return scan_copy_dir(r, fd, "", err);
}

int reuse_archive(const struct reuse_request *r, struct err *err)
{
    AUTOFREE char *src_dir = NULL;
    if (check_source(r, &src_dir, err) < 0)
        return -1;
    AUTOFREE char *dst_dir = layout_deployment_dir(r->root_dir, r->group_id, r->deployment_id);
    AUTOFREE char *src_archive = layout_archive_dir(src_dir);
    AUTOFREE char *dst_archive = layout_archive_dir(dst_dir);
    AUTOFREE char *dst_bundle = layout_bundle_path(dst_dir);
    reuse_copy_fn copy = r->copy ? r->copy : copytree;
    if (rm_rf(dst_archive, err) < 0 || copy(src_archive, dst_archive, err) < 0 ||
        scan_copy(r, dst_archive, err) < 0 || link_bundle(src_dir, dst_dir, err) < 0) {
        /* Never leave a half-built archive: the caller downloads into a clean directory. */
        (void)rm_rf(dst_archive, NULL);
        if (unlink(dst_bundle) < 0 && errno != ENOENT)
            (void)rm_rf(dst_bundle, NULL);
        return -1;
    }
    (void)bundlemeta_copy_etag(src_dir, dst_dir, NULL);
    return 0;
}
