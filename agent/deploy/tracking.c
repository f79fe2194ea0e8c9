/* tracking: see tracking.h. */
#include "deploy/tracking.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deploy/layout.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

int tracking_write(const char *dir, const char *deployment_id, const char *host_command_id,
                   bool retry, struct err *err)
{
    if (layout_check_id(deployment_id, "deployment id", err) < 0)
        return -1;
    static const unsigned waits_s[] = {1, 2, 5};
    AUTOFREE char *path = path_join(dir, deployment_id);
    for (size_t attempt = 0;; attempt++) {
        struct err e = ERR_INIT;
        if (mkdir_p(dir, 0755, &e) == 0 &&
            write_file_atomic(path, host_command_id, strlen(host_command_id), 0600, &e) == 0)
            return 0;
        bool perm = e.sys_errno == EACCES || e.sys_errno == EPERM;
        if (!retry || !perm || attempt >= 3)
            return err_set(err, e.code, "write tracking file: %s", e.msg);
        sleep(waits_s[attempt]);
    }
}

void tracking_remove(const char *dir, const char *deployment_id)
{
    AUTOFREE char *path = path_join(dir, deployment_id);
    (void)unlink(path);
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

/* Visit non-stale files; delete stale or invalid ones.  cb may be NULL. */
static size_t scan(const char *dir, char **ret_dep, char **ret_id)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    time_t best = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
            continue;
        AUTOFREE char *p = path_join(dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (now - st.st_mtime > TRACKING_STALE_S) {
            (void)unlink(p);
            continue;
        }
        char *id = NULL;
        if (read_file(p, TRACKING_MAX_ID + 16, &id, NULL, NULL) < 0) {
            (void)unlink(p);
            continue;
        }
        size_t l = strlen(id);
        while (l && (id[l - 1] == '\n' || id[l - 1] == '\r' || id[l - 1] == ' '))
            id[--l] = '\0';
        if (!valid_hcid(id)) {
            free(id);
            (void)unlink(p);
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
