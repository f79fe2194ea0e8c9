/* acl: see acl.h. */
#include "deploy/acl.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "base/nss.h"
#include "base/util.h"
#include "parse/appspec.h"

#define MSG_TAIL_APPSPEC "Update the permissions section of the AppSpec file, and then try again."

#define ACL_XATTR_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20
#define ACL_UNDEF_ID 0xffffffffu

struct acl_ent {
    uint16_t tag, perm;
    uint32_t id;
};

static int acl_ent_cmp(const void *a, const void *b)
{
    const struct acl_ent *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int acl_lookup_id(const struct appspec_acl *a, const char *path, uint32_t *ret, struct err *err)
{
    uint64_t num;
    struct err ignored = {0};
    if (a->tag == APPSPEC_ACL_USER) {
        uid_t uid;
        if (nss_uid_by_name(a->name, &uid, &ignored) == 0) {
            *ret = uid;
            return 0;
        }
    } else {
        gid_t gid;
        if (nss_gid_by_name(a->name, &gid, &ignored) == 0) {
            *ret = gid;
            return 0;
        }
    }
    if (parse_uint(a->name, 0, 0xfffffffeu, &num, NULL) == 0) {
        *ret = (uint32_t)num;
        return 0;
    }
    return err_set(err, ERR_INSTALL,
                   "The deployment failed because of a problem with the acls permission settings "
                   "in the application specification file for this object: %s. Unknown %s '%s' "
                   "in acl entry %s. " MSG_TAIL_APPSPEC,
                   path, a->tag == APPSPEC_ACL_USER ? "user" : "group", a->name, a->canonical);
}

/* Build the access (is_default false) or default ACL for mode; *ret_n entries in out[]. */
static int acl_build(const struct appspec_permission *perm, bool is_default, mode_t mode,
                     struct acl_ent *out, size_t *ret_n, const char *path, struct err *err)
{
    size_t n = 0;
    bool have[0x21] = {false};
    bool named = false;
    for (size_t i = 0; i < perm->n_acls; i++) {
        const struct appspec_acl *a = &perm->acls[i];
        if (a->is_default != is_default)
            continue;
        struct acl_ent e = {.perm = (uint16_t)(a->perms & 7), .id = ACL_UNDEF_ID};
        bool has_name = a->name && a->name[0];
        switch (a->tag) {
        case APPSPEC_ACL_USER:
            e.tag = has_name ? TAG_USER : TAG_USER_OBJ;
            break;
        case APPSPEC_ACL_GROUP:
            e.tag = has_name ? TAG_GROUP : TAG_GROUP_OBJ;
            break;
        case APPSPEC_ACL_MASK:
            e.tag = TAG_MASK;
            break;
        case APPSPEC_ACL_OTHER:
            e.tag = TAG_OTHER;
            break;
        }
        if (e.tag == TAG_USER || e.tag == TAG_GROUP) {
            if (acl_lookup_id(a, path, &e.id, err) < 0)
                return -1;
            named = true;
        } else if (have[e.tag]) {
            continue; /* one base entry of each kind */
        }
        have[e.tag] = true;
        out[n++] = e;
    }
    if (is_default && n == 0) {
        *ret_n = 0;
        return 0;
    }
    uint16_t gperm = (uint16_t)((mode >> 3) & 7);
    if (!have[TAG_USER_OBJ])
        out[n++] = (struct acl_ent){TAG_USER_OBJ, (uint16_t)((mode >> 6) & 7), ACL_UNDEF_ID};
    if (!have[TAG_GROUP_OBJ])
        out[n++] = (struct acl_ent){TAG_GROUP_OBJ, gperm, ACL_UNDEF_ID};
    else
        for (size_t i = 0; i < n; i++)
            if (out[i].tag == TAG_GROUP_OBJ)
                gperm = out[i].perm;
    if (!have[TAG_OTHER])
        out[n++] = (struct acl_ent){TAG_OTHER, (uint16_t)(mode & 7), ACL_UNDEF_ID};
    if (named && !have[TAG_MASK])
        out[n++] = (struct acl_ent){TAG_MASK, gperm, ACL_UNDEF_ID};
    qsort(out, n, sizeof(*out), acl_ent_cmp);
    *ret_n = n;
    return 0;
}

static int acl_set(int fd, const char *xname, const struct acl_ent *ents, size_t n)
{
    size_t len = 4 + n * 8;
    AUTOFREE unsigned char *b = xmalloc(len);
    uint32_t v = ACL_XATTR_VERSION;
    memcpy(b, &v, 4); /* the format is little-endian; so are the hosts we run on */
    for (size_t i = 0; i < n; i++) {
        memcpy(b + 4 + i * 8, &ents[i].tag, 2);
        memcpy(b + 6 + i * 8, &ents[i].perm, 2);
        memcpy(b + 8 + i * 8, &ents[i].id, 4);
    }
    return fsetxattr(fd, xname, b, len, 0);
}

int acl_apply(int fd, const struct appspec_permission *perm, mode_t mode, const char *path,
              struct err *err)
{
    size_t cap = perm->n_acls + 4;
    AUTOFREE struct acl_ent *ents = xcalloc(cap, sizeof(*ents));
    size_t n;
    if (acl_build(perm, false, mode, ents, &n, path, err) < 0)
        return -1;
    int r = acl_set(fd, "system.posix_acl_access", ents, n);
    if (r == 0 && perm->acls_have_default) {
        if (acl_build(perm, true, mode, ents, &n, path, err) < 0)
            return -1;
        r = acl_set(fd, "system.posix_acl_default", ents, n);
    }
    if (r < 0)
        return err_sys(
            err,
            "The deployment failed because of a problem with the acls permission "
            "settings in the application specification file for this object: %s. " MSG_TAIL_APPSPEC
            " Error",
            path);
    return 0;
}
