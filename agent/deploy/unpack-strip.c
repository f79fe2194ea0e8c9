/* unpack: the top-level directory rule of R-127 (see unpack.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/unpack.h"
#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"

static bool name_has_appspec(const char *name)
{
    return strcasestr(name, "appspec") != NULL;
}

/* The single entry of dir, when it has exactly one (hidden ones count); else NULL. */
static char *single_entry(const char *dir, struct err *err, int *rc)
{
    *rc = 0;
    DIR *d = opendir(dir);
    if (!d) {
        *rc = err_sys(err, "strip top-level directory: list '%s'", dir);
        return NULL;
    }
    char *only = NULL;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (++count > 1)
            break;
        only = xstrdup(de->d_name);
    }
    closedir(d);
    if (count != 1) {
        free(only);
        return NULL;
    }
    return only;
}

static int dir_mentions_appspec(const char *dir, bool *ret, struct err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_sys(err, "strip top-level directory: list '%s'", dir);
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL)
        found = name_has_appspec(de->d_name);
    closedir(d);
    *ret = found;
    return 0;
}

int unpack_strip_top_dir(const char *archive_dir, bool *ret_stripped, struct err *err)
{
    int rc;
    AUTOFREE char *only = single_entry(archive_dir, err, &rc);
    if (rc < 0)
        return -1;
    bool strip = false;
    AUTOFREE char *inner = only ? path_join(archive_dir, only) : NULL;
    struct stat st;
    if (inner && lstat(inner, &st) == 0 && S_ISDIR(st.st_mode) &&
        dir_mentions_appspec(inner, &strip, err) < 0)
        return -1;
    if (strip) {
        AUTOFREE char *tmp = xasprintf("%s-temp", archive_dir);
        AUTOFREE char *moved = path_join(tmp, only);
        if (rm_rf(tmp, err) < 0)
            return -1;
        if (rename(archive_dir, tmp) < 0)
            return err_sys(err, "strip top-level directory: rename '%s'", archive_dir);
        if (rename(moved, archive_dir) < 0)
            return err_sys(err, "strip top-level directory: rename '%s'", moved);
        if (rmdir(tmp) < 0)
            return err_sys(err, "strip top-level directory: remove '%s'", tmp);
    }
    if (ret_stripped)
        *ret_stripped = strip;
    return 0;
}
