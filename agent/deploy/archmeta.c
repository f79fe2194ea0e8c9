/* archmeta: see archmeta.h. */
#include "deploy/archmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/safepath.h"
#include "base/path.h"
#include "base/util.h"
#include "base/dirfd.h"
#include "deploy/install-internal.h"

/* What root may trust: owned by root, no group/other write.  Setid bits are dropped too, so
 * the sealed copy is never a setuid-root program. */
static bool untrusted(const struct stat *st)
{
    return st->st_uid != 0 || (st->st_mode & 06022) != 0;
}

/* Record st's mode, owner and group on fd unless a record is already there (a file sealed
 * before keeps its first, original record). */
static int record(int fd, const struct stat *st, const char *shown, struct err *err)
{
    char v[64];
    if (fgetxattr(fd, ARCHMETA_XATTR, v, sizeof(v)) > 0)
        return 0;
    int n = snprintf(v, sizeof(v), "%o %u %u", (unsigned)(st->st_mode & 07777),
                     (unsigned)st->st_uid, (unsigned)st->st_gid);
    if (fsetxattr(fd, ARCHMETA_XATTR, v, (size_t)n, 0) < 0)
        return err_sys(err, "keep the bundle's owner and mode of '%s'", shown);
    return 0;
}

/* A directory on the way: give it to root without group/other write. */
static int seal_dir(int fd, const struct stat *st, const char *shown, struct err *err)
{
    if (!untrusted(st))
        return 0;
    if (fchown(fd, 0, (gid_t)-1) < 0 || fchmod(fd, st->st_mode & 01755) < 0)
        return err_sys(err, "make '%s' private to root", shown);
    return 0;
}

/* The script: replace it by a root-owned copy (same content and times) carrying the record of
 * the original. */
static int seal_file(int dfd, const char *name, const char *shown, struct err *err)
{
    AUTOCLOSE int in = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) < 0)
        return errno == ELOOP ? 0 : err_sys(err, "examine '%s'", shown); /* a link: checked later */
    if (!S_ISREG(st.st_mode) || !untrusted(&st))
        return 0;
    struct stat orig;
    if (archmeta_fstat(in, &orig) < 0)
        return err_sys(err, "examine '%s'", shown);
    AUTOFREE char *tmp = xasprintf(".%s.cdagent-seal", name);
    (void)unlinkat(dfd, tmp, 0);
    int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return err_sys(err, "make '%s' private to root", shown);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    int r = 0;
    if (apply_copy_data(in, out) < 0)
        r = err_sys(err, "make '%s' private to root: copy", shown);
    else if (record(out, &orig, shown, err) < 0)
        r = -1;
    else if (fchmod(out, st.st_mode & 01755) < 0 || futimens(out, ts) < 0)
        r = err_sys(err, "make '%s' private to root", shown);
    if (close(out) < 0 && r == 0)
        r = err_sys(err, "make '%s' private to root", shown);
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
        r = err_sys(err, "make '%s' private to root", shown);
    if (r < 0)
        (void)unlinkat(dfd, tmp, 0);
    return r;
}

/* The script's path below the resolved archive: links inside the archive resolved, so the walk
 * meets none.  NULL with err when it cannot be resolved or resolves outside the archive. */
static char *resolve_rel(const char *archive_dir, const char *rel, struct err *err)
{
    AUTOFREE char *path = path_join(archive_dir, rel);
    AUTOFREE char *ra = realpath(archive_dir, NULL);
    AUTOFREE char *rp = ra ? realpath(path, NULL) : NULL;
    if (!rp) {
        err_sys(err, "resolve '%s'", path);
        return NULL;
    }
    size_t n = strlen(ra);
    if (strncmp(rp, ra, n) != 0 || rp[n] != '/') {
        err_set(err, ERR_UNSAFE, "'%s' resolves outside the deployment archive", path);
        return NULL;
    }
    return xstrdup(rp + n + 1);
}

/* Seal each directory of names ("deployment-archive/a/b/script") below the directory parent,
 * then the script when seal_last.  A link on the way ends the walk when links_end_it (what it
 * points to is sealed by the walk of the resolved path, and the link itself sits in a directory
 * already sealed); otherwise a link is refused.  *ret_shown gets the path walked. */
static int seal_way(const char *parent, const char *names, bool links_end_it, bool seal_last,
                    char **ret_shown, struct err *err)
{
    AUTOCLOSE int dfd = safepath_open_dir(parent, 0, err);
    if (dfd < 0)
        return -1;
    AUTOFREE char *list = xstrdup(names);
    char *shown = xstrdup(parent), *save = NULL;
    *ret_shown = shown;
    char *c = strtok_r(list, "/", &save);
    for (char *next; c; c = next) {
        next = strtok_r(NULL, "/", &save);
        if (strcmp(c, "..") == 0)
            return err_set(err, ERR_UNSAFE, "'%s' climbs out of the deployment archive", names);
        char *s = path_join(shown, c);
        free(shown);
        *ret_shown = shown = s;
        if (!next)
            return seal_last ? seal_file(dfd, c, shown, err) : 0;
        struct stat st;
        int fd = dirfd_open(dfd, c, &st);
        if (fd < 0 && errno == ELOOP && links_end_it)
            return 0;
        if (fd < 0)
            return errno == ELOOP ? err_set(err, ERR_UNSAFE, "'%s' is a symbolic link", shown)
                                  : err_sys(err, "open '%s'", shown);
        if (seal_dir(fd, &st, shown, err) < 0) {
            close(fd);
            return -1;
        }
        close(dfd);
        dfd = fd;
    }
    return 0;
}

int archmeta_guard(const char *archive_dir, const char *rel, struct err *err)
{
    AUTOFREE char *parent = realpath(archive_dir, NULL);
    AUTOFREE char *real_rel = resolve_rel(archive_dir, rel, err);
    if (!parent || !real_rel)
        return parent ? -1 : err_sys(err, "resolve '%s'", archive_dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return err_set(err, ERR_UNSAFE, "'%s' is not a deployment archive", archive_dir);
    *slash = '\0';
    if (geteuid() != 0) {
        /* An agent that is not root runs a script as root only through sudo.  It cannot
         * give files to root, so it only checks: the script and every directory above it must
         * belong to root or to the agent's user (who may use sudo anyway) and be writable by
         * nobody else. */
        AUTOFREE char *path = xasprintf("%s/%s/%s", parent, slash + 1, real_rel);
        return safepath_check(path, geteuid(), false, err);
    }
    /* The way as written (the hook runs that path: no link on it may be changed), then the
     * resolved way and the script it names. */
    AUTOFREE char *lexical = xasprintf("%s/%s", slash + 1, rel);
    AUTOFREE char *resolved = xasprintf("%s/%s", slash + 1, real_rel);
    AUTOFREE char *shown_lexical = NULL;
    AUTOFREE char *shown = NULL;
    if (seal_way(parent, lexical, true, false, &shown_lexical, err) < 0 ||
        seal_way(parent, resolved, false, true, &shown, err) < 0)
        return -1;
    return safepath_check(shown, 0, false, err);
}

int archmeta_fstat(int fd, struct stat *ret_st)
{
    if (fstat(fd, ret_st) < 0)
        return -1;
    char v[64];
    ssize_t n = fgetxattr(fd, ARCHMETA_XATTR, v, sizeof(v) - 1);
    if (n <= 0)
        return 0;
    v[n] = '\0';
    unsigned mode, uid, gid;
    if (sscanf(v, "%o %u %u", &mode, &uid, &gid) != 3 || mode > 07777)
        return 0;
    ret_st->st_mode = (ret_st->st_mode & S_IFMT) | mode;
    ret_st->st_uid = uid;
    ret_st->st_gid = gid;
    return 0;
}
