/* tracking: see tracking.h. */
#include "deploy/tracking.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deploy/layout.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/safepath.h"
#include "base/util.h"

/* Open dir (creating it), never following it when it is a link: its parent must be trusted. */
static int open_dir(const char *dir, struct err *err)
{
    AUTOFREE char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash == parent) {
        slash[1] = '\0';
    } else if (slash) {
        *slash = '\0';
    } else {
        free(parent);
        parent = xstrdup(".");
    }
    if (mkdir_p(parent, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    AUTOCLOSE int pfd = safepath_open_dir(parent, geteuid(), err);
    if (pfd < 0)
        return -1;
    return safepath_mkdirs(pfd, parent, base, LAYOUT_DIR_MODE, geteuid(), err);
}

int tracking_write(const char *dir, const char *deployment_id, const char *host_command_id,
                   bool retry, struct err *err)
{
    if (layout_check_id(deployment_id, "deployment id", err) < 0)
        return -1;
    static const unsigned waits_s[] = {1, 2, 5};
    for (size_t attempt = 0;; attempt++) {
        struct err e = ERR_INIT;
        int dfd = open_dir(dir, &e);
        if (dfd >= 0 && layout_write_at(dfd, deployment_id, host_command_id,
                                        strlen(host_command_id), LAYOUT_STATE_FILE_MODE, &e) == 0) {
            close(dfd);
            return 0;
        }
        if (dfd >= 0)
            close(dfd);
        bool perm = e.sys_errno == EACCES || e.sys_errno == EPERM;
        if (!retry || !perm || attempt >= 3)
            return err_set(err, e.code, "write tracking file: %s", e.msg);
        sleep(waits_s[attempt]);
    }
}

void tracking_remove(const char *dir, const char *deployment_id)
{
    AUTOCLOSE int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0)
        (void)unlinkat(dfd, deployment_id, 0);
}

static bool valid_hcid(const char *s)
{
    if (!*s || strlen(s) > TRACKING_MAX_ID)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return false;
    return true;
}

/* The content of name in dfd (at most TRACKING_MAX_ID + 16 bytes, never through a link), or
 * NULL. */
static char *read_small_at(int dfd, const char *name)
{
    AUTOCLOSE int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *id = xmalloc(TRACKING_MAX_ID + 17);
    size_t len = 0;
    ssize_t n;
    while (len < TRACKING_MAX_ID + 16 &&
           (n = read(fd, id + len, TRACKING_MAX_ID + 16 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(id);
            return NULL;
        }
        len += (size_t)n;
    }
    id[len] = '\0';
    return id;
}

/* Visit non-stale files; delete stale or invalid ones.  ret_dep/ret_id may be NULL. */
static size_t scan(const char *dir, char **ret_dep, char **ret_id)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    size_t n = 0;
    time_t best = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        char *id = NULL;
        if (now - st.st_mtime > TRACKING_STALE_S ||
            (id = read_small_at(dirfd(d), de->d_name)) == NULL) {
            (void)unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        size_t l = strlen(id);
        while (l && (id[l - 1] == '\n' || id[l - 1] == '\r' || id[l - 1] == ' '))
            id[--l] = '\0';
        if (!valid_hcid(id)) {
            free(id);
            (void)unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        n++;
        if (ret_dep && (!*ret_dep || st.st_mtime >= best)) {
            best = st.st_mtime;
            free(*ret_dep);
            free(*ret_id);
            *ret_dep = xstrdup(de->d_name);
            *ret_id = id;
            id = NULL;
        }
        free(id);
    }
    closedir(d);
    return n;
}

int tracking_newest(const char *dir, char **ret_deployment, char **ret_hcid, struct err *err)
{
    (void)err;
    *ret_deployment = NULL;
    *ret_hcid = NULL;
    scan(dir, ret_deployment, ret_hcid);
    return 0;
}

size_t tracking_count(const char *dir)
{
    return scan(dir, NULL, NULL);
}
