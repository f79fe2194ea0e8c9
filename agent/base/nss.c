/* nss: see nss.h. */
#include "base/nss.h"

#include <errno.h>
#include <stdlib.h>

#include "base/nss-internal.h"
#include "base/util.h"

size_t nss_initial_buf_bytes = 1024;

/* One reentrant lookup: int f(name, entry, buf, buflen, &result). */
typedef int (*lookup_fn)(const char *name, void *entry, char *buf, size_t len, void **found);

static int pw_lookup(const char *name, void *entry, char *buf, size_t len, void **found)
{
    return getpwnam_r(name, entry, buf, len, (struct passwd **)found);
}

static int gr_lookup(const char *name, void *entry, char *buf, size_t len, void **found)
{
    return getgrnam_r(name, entry, buf, len, (struct group **)found);
}

static int lookup(lookup_fn fn, const char *what, const char *name, void *entry, char **ret_buf,
                  struct err *err)
{
    *ret_buf = NULL;
    size_t len = nss_initial_buf_bytes ? nss_initial_buf_bytes : 1;
    for (;;) {
        char *buf = xmalloc(len);
        void *found = NULL;
        int rc = fn(name, entry, buf, len, &found);
        if (rc == 0 && found) {
            *ret_buf = buf;
            return 0;
        }
        free(buf);
        if (rc == ERANGE && len < NSS_BUF_MAX_BYTES) {
            len *= 2;
            continue;
        }
        if (rc == ERANGE)
            return err_set(err, ERR_LIMIT, "%s '%s': entry larger than %u bytes", what, name,
                           NSS_BUF_MAX_BYTES);
        /* 0 with no result, or one of the "not found" codes some services return */
        if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
            return err_set(err, ERR_NOT_FOUND, "no %s '%s'", what, name);
        errno = rc;
        return err_sys(err, "look up %s '%s'", what, name);
    }
}

int nss_user_by_name(const char *name, struct passwd *ret, char **ret_buf, struct err *err)
{
    return lookup(pw_lookup, "user", name, ret, ret_buf, err);
}

int nss_group_by_name(const char *name, struct group *ret, char **ret_buf, struct err *err)
{
    return lookup(gr_lookup, "group", name, ret, ret_buf, err);
}

int nss_uid_by_name(const char *name, uid_t *ret, struct err *err)
{
    struct passwd pw;
    AUTOFREE char *buf = NULL;
    if (nss_user_by_name(name, &pw, &buf, err) < 0)
        return -1;
    *ret = pw.pw_uid;
    return 0;
}

int nss_gid_by_name(const char *name, gid_t *ret, struct err *err)
{
    struct group gr;
    AUTOFREE char *buf = NULL;
    if (nss_group_by_name(name, &gr, &buf, err) < 0)
        return -1;
    *ret = gr.gr_gid;
    return 0;
}
