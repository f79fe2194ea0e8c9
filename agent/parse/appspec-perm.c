/*
 * appspec-perm: the permissions section of an AppSpec (R-145 - R-149): object, pattern, except,
 * type, owner, group, mode, acls and SELinux context.  See appspec-internal.h.
 */
#include "parse/appspec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "parse/appspec-internal.h"
#include "base/err.h"
#include "base/util.h"
#include "base/buf.h"

static const char MSG_NO_OBJECT[] =
    "The deployment failed because a permission listed in the application specification file has "
    "no object value. Update the permissions section of the AppSpec file, and then try again.";
static const char MSG_TYPE[] =
    "The deployment failed because the application specification filespecifies a permission for "
    "an object type not supported for permissions (%s). Update the permissions section of the "
    "AppSpec file, and then try again.";
static const char MSG_MODE_LEN[] =
    "The deployment failed because the length of a permissions mode (%s) in the application "
    "specification file is invalid. Permissions modes must be between one and four characters "
    "long. Update the permissions section of the AppSpec file, and then try again.";
static const char MSG_MODE_CHAR[] =
    "The deployment failed because the permissions mode (%s) in the application specification "
    "file contains an invalid character (%c). Update the permissions section of the AppSpec file, "
    "and then try again.";
static const char MSG_ACL_INVALID[] =
    "The deployment failed because of a problem with the acls permission settings in the "
    "application specification file. Invalid acl entry (%s).";
static const char MSG_ACL_BASE[] =
    "The deployment failed because of a problem with the acls permission settings in the "
    "application specification file. Use mode to set the base acl entry (%s). Update the "
    "permissions section of the AppSpec file, and then try again.";
static const char MSG_ACL_CHAR[] =
    "The deployment failed because the access control list (ACL) named %s in the application "
    "specification file contains an invalid character (%c). Correct the ACL in the hooks section "
    "of the AppSpec file, and then try again.";
static const char MSG_CONTEXT_TYPE[] =
    "The deployment failed because the application specification file specifies an invalid "
    "context type (%s). Update the permissions section of the AppSpec file, and then try again.";
static const char MSG_CONTEXT_ROLE[] =
    "The deployment failed because the application specification file specifies a role, but "
    "roles are not supported. Remove the role from the AppSpec file, and then try again.";
static const char MSG_RANGE[] =
    "The deployment failed because of a problem with the SELinux range specified (%s) for the "
    "context parameter in the permissions section of the application specification file. Make "
    "corrections in the permissions section of the AppSpec file, and then try again.";

void appspec_permission_done(struct appspec_permission *p)
{
    free(p->object);
    free(p->pattern);
    for (size_t i = 0; i < p->n_except; i++)
        free(p->except[i]);
    free(p->except);
    free(p->owner);
    free(p->group);
    free(p->mode_text);
    for (size_t i = 0; i < p->n_acls; i++) {
        free(p->acls[i].name);
        free(p->acls[i].canonical);
    }
    free(p->acls);
    if (p->context) {
        free(p->context->user);
        free(p->context->type);
        free(p->context->range);
        free(p->context);
    }
}

/*
 * The scalars of a list-valued key (a single scalar counts as a one-item list); *ret_nodes is
 * borrowed from the tree.  0 with *n = 0 when absent or null.
 */
static int get_scalar_list(struct appspec_ctx *c, const struct yaml11_node *m, const char *key,
                           const struct yaml11_node *const **ret_nodes, size_t *n,
                           const struct yaml11_node **ret_v)
{
    const struct yaml11_node *v = appspec_get(c, m, key);
    *ret_v = v;
    *n = 0;
    *ret_nodes = NULL;
    if (yaml11_is_null(v))
        return 0;
    if (v->kind == YAML11_SCALAR) {
        *ret_nodes = (const struct yaml11_node *const *)ret_v;
        *n = 1;
        return 0;
    }
    if (v->kind != YAML11_SEQ)
        return appspec_fail(c, ERR_APPSPEC, v->line, "permissions '%s' must be a list, got %s", key,
                            appspec_kind_name(v));
    for (size_t i = 0; i < v->n; i++)
        if (v->kids[i]->kind != YAML11_SCALAR)
            return appspec_fail(c, ERR_APPSPEC, v->kids[i]->line,
                                "permissions '%s' items must be strings, got %s", key,
                                appspec_kind_name(v->kids[i]));
    *ret_nodes = (const struct yaml11_node *const *)v->kids;
    *n = v->n;
    return 0;
}

static int parse_type(struct appspec_ctx *c, const struct yaml11_node *m,
                      struct appspec_permission *p)
{
    const struct yaml11_node *const *items;
    const struct yaml11_node *v;
    size_t n;
    if (get_scalar_list(c, m, "type", &items, &n, &v) < 0)
        return -1;
    if (!v || yaml11_is_null(v)) {
        p->type = APPSPEC_TYPE_FILE | APPSPEC_TYPE_DIRECTORY;
        return 0;
    }
    p->type = 0;
    for (size_t i = 0; i < n; i++) {
        AUTOFREE char *t = appspec_to_s(items[i]);
        if (strcmp(t, "file") == 0)
            p->type |= APPSPEC_TYPE_FILE;
        else if (strcmp(t, "directory") == 0)
            p->type |= APPSPEC_TYPE_DIRECTORY;
        else
            return appspec_fail(c, ERR_APPSPEC, items[i]->line, MSG_TYPE, t);
    }
    return 0;
}

/* R-146, with the unquoted-leading-zero improvement. */
static int parse_mode_key(struct appspec_ctx *c, const struct yaml11_node *m,
                          struct appspec_permission *p)
{
    const struct yaml11_node *v = appspec_get(c, m, "mode");
    if (yaml11_is_null(v))
        return 0;
    if (v->kind != YAML11_SCALAR)
        return appspec_fail(c, ERR_APPSPEC, v->line,
                            "permissions 'mode' must be an octal number such as "
                            "'0644', got %s",
                            appspec_kind_name(v));
    struct yaml11_scalar s;
    yaml11_node_type(v, &s);
    AUTOFREE char *text = NULL;
    if (s.type == YAML11_INT && s.octal) {
        text = xstrdup(v->text);
        appspec_warn(
            c, APPSPEC_WARN_OTHER, v->line,
            "unquoted mode %s is read as octal %s; the Ruby agent would have read it as decimal "
            "%lld (quote the mode to be portable)",
            v->text, v->text, (long long)s.i);
    } else {
        text = appspec_to_s(v);
    }
    /* Ruby left-pads the text with zeros to three characters. */
    size_t len = strlen(text);
    AUTOFREE char *padded = xasprintf("%.*s%s", len < 3 ? (int)(3 - len) : 0, "000", text);
    if (strlen(padded) > 4)
        return appspec_fail(c, ERR_APPSPEC, v->line, MSG_MODE_LEN, padded);
    mode_t mode = 0;
    for (const char *q = padded; *q; q++) {
        if (*q < '0' || *q > '7')
            return appspec_fail(c, ERR_APPSPEC, v->line, MSG_MODE_CHAR, padded, *q);
        mode = (mode_t)(mode * 8 + (mode_t)(*q - '0'));
    }
    p->has_mode = true;
    p->mode = mode;
    p->mode_text = TAKE_PTR(padded);
    return 0;
}

static bool is_default_kw(const char *s)
{
    return strcmp(s, "d") == 0 || strcmp(s, "default") == 0;
}

static const char *const ACL_TAG_NAMES[] = {"user", "group", "mask", "other"};

/* ACL permissions: one octal digit, or any mix of r, w, x and '-'. */
static int acl_perms(struct appspec_ctx *c, int line, const char *text, const char *perm,
                     unsigned *ret)
{
    unsigned bits = 0;
    if (strlen(perm) == 1 && perm[0] >= '0' && perm[0] <= '7') {
        *ret = (unsigned)(perm[0] - '0');
        return 0;
    }
    for (const char *q = perm; *q; q++) {
        if (*q == 'r')
            bits |= 4;
        else if (*q == 'w')
            bits |= 2;
        else if (*q == 'x')
            bits |= 1;
        else if (*q != '-')
            return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_CHAR, text, *q);
    }
    *ret = bits;
    return 0;
}

/* The type keyword of an explicit type field, or -1. */
static int acl_tag_kw(const char *t)
{
    if (strcmp(t, "m") == 0 || strcmp(t, "mask") == 0)
        return APPSPEC_ACL_MASK;
    if (strcmp(t, "o") == 0 || strcmp(t, "other") == 0)
        return APPSPEC_ACL_OTHER;
    if (strcmp(t, "g") == 0 || strcmp(t, "group") == 0)
        return APPSPEC_ACL_GROUP;
    if (strcmp(t, "u") == 0 || strcmp(t, "user") == 0)
        return APPSPEC_ACL_USER;
    return -1;
}

/*
 * One ACL entry; text is the entry as written.  Fields are read right to left:
 * permissions, name-or-type, type-or-default, default.
 */
static int parse_acl_entry(struct appspec_ctx *c, int line, const char *text, struct appspec_acl *a)
{
    char *parts[4];
    size_t n = 0;
    AUTOFREE char *copy = xstrdup(text);
    for (char *p = copy;;) {
        if (n == 4)
            return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
        parts[n++] = p;
        char *colon = strchr(p, ':');
        if (!colon)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    if (n < 2)
        return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    bool dflt = n == 4;
    if (n == 4 && !is_default_kw(parts[0]))
        return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    int tag = -1;
    if (n >= 3 && is_default_kw(parts[n - 3])) {
        if (dflt)
            return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
        dflt = true;
    } else if (n >= 3) {
        tag = acl_tag_kw(parts[n - 3]);
        if (tag < 0)
            return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    }
    /* Without an explicit type, a middle m/o makes a mask/other entry; with one it is a name. */
    const char *name = parts[n - 2];
    int mid = acl_tag_kw(name);
    if ((mid == APPSPEC_ACL_MASK || mid == APPSPEC_ACL_OTHER) && tag < 0) {
        tag = mid;
        name = "";
    } else if (mid == APPSPEC_ACL_MASK || mid == APPSPEC_ACL_OTHER) {
        name = mid == APPSPEC_ACL_MASK ? "mask" : "other";
    } else if (tag < 0) {
        tag = APPSPEC_ACL_USER;
    }
    if ((tag == APPSPEC_ACL_MASK || tag == APPSPEC_ACL_OTHER) && name[0])
        return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    if (!dflt && tag != APPSPEC_ACL_MASK && !name[0])
        return appspec_fail(c, ERR_APPSPEC, line, MSG_ACL_BASE, text);
    unsigned bits = 0;
    if (acl_perms(c, line, text, parts[n - 1], &bits) < 0)
        return -1;
    a->is_default = dflt;
    a->tag = (enum appspec_acl_tag)tag;
    a->name = xstrdup(name);
    a->perms = bits;
    a->canonical = xasprintf("%s%s:%s:%c%c%c", dflt ? "default:" : "", ACL_TAG_NAMES[tag], name,
                             bits & 4 ? 'r' : '-', bits & 2 ? 'w' : '-', bits & 1 ? 'x' : '-');
    return 0;
}

static int parse_acls(struct appspec_ctx *c, const struct yaml11_node *m,
                      struct appspec_permission *p)
{
    const struct yaml11_node *const *items;
    const struct yaml11_node *v;
    size_t n;
    if (get_scalar_list(c, m, "acls", &items, &n, &v) < 0)
        return -1;
    if (n == 0)
        return 0;
    p->acls = xcalloc(n, sizeof(*p->acls));
    for (size_t i = 0; i < n; i++) {
        AUTOFREE char *t = appspec_to_s(items[i]);
        if (parse_acl_entry(c, items[i]->line, t, &p->acls[i]) < 0)
            return -1;
        p->n_acls++;
        if (p->acls[i].is_default)
            p->acls_have_default = true;
    }
    return 0;
}

/* Split s at the first sep; both halves must be non-empty ("invalid range part"). */
static int range_split(struct appspec_ctx *c, int line, char *s, char sep, char **a, char **b)
{
    char *at = strchr(s, sep);
    *a = s;
    *b = NULL;
    if (at) {
        *at = '\0';
        *b = at + 1;
    }
    if (!**a || (*b && !**b)) {
        if (at)
            *at = sep;
        return appspec_fail(c, ERR_APPSPEC, line, "invalid range part %s", s);
    }
    return 0;
}

/* "<c><digits>" with value <= max; -1 when malformed. */
static long range_number(const char *s, char c, long max)
{
    if (s[0] != c || !s[1])
        return -1;
    long v = 0;
    for (const char *p = s + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > max)
            return -1;
    }
    return v;
}

static int range_categories(struct appspec_ctx *c, int line, char *list, unsigned char seen[1024])
{
    char *p = list;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p && !comma)
            break; /* Ruby's split drops a trailing empty field */
        long lo, hi;
        if (strchr(p, '.')) {
            char *a, *b;
            if (range_split(c, line, p, '.', &a, &b) < 0)
                return -1;
            lo = range_number(a, 'c', 1023);
            if (lo < 0)
                return appspec_fail(c, ERR_APPSPEC, line, "invalid category %s", a);
            hi = range_number(b, 'c', 1023);
            if (hi < 0)
                return appspec_fail(c, ERR_APPSPEC, line, "invalid category %s", b);
            if (hi < lo)
                return appspec_fail(c, ERR_APPSPEC, line, "invalid category range %s.%s", a, b);
        } else {
            lo = hi = range_number(p, 'c', 1023);
            if (lo < 0)
                return appspec_fail(c, ERR_APPSPEC, line, "invalid category %s", p);
        }
        for (long k = lo; k <= hi; k++) {
            if (seen[k])
                return appspec_fail(c, ERR_APPSPEC, line, "duplicate categories");
            seen[k] = 1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static char *range_render(long lo, long hi, const unsigned char seen[1024], bool cats)
{
    struct buf b;
    buf_init(&b, 16384);
    (void)buf_appendf(&b, NULL, "s%ld", lo);
    if (hi != lo)
        (void)buf_appendf(&b, NULL, "-s%ld", hi);
    if (cats) {
        bool first = true;
        for (int k = 0; k < 1024; k++) {
            if (!seen[k])
                continue;
            int e = k;
            while (e + 1 < 1024 && seen[e + 1])
                e++;
            (void)buf_appendf(&b, NULL, e == k ? "%sc%d" : "%sc%d.c%d", first ? ":" : ",", k, e);
            first = false;
            k = e;
        }
    }
    return buf_steal(&b);
}

/* validate and normalise an SELinux range. */
static int parse_range(struct appspec_ctx *c, int line, const char *range, char **ret)
{
    AUTOFREE char *s = xstrdup(range);
    char *sens, *cats, *lo_s, *hi_s;
    if (range_split(c, line, s, ':', &sens, &cats) < 0)
        return -1;
    if (range_split(c, line, sens, '-', &lo_s, &hi_s) < 0)
        return -1;
    long lo = range_number(lo_s, 's', 1000000000L);
    if (lo < 0)
        return appspec_fail(c, ERR_APPSPEC, line, "invalid sensitivity %s", lo_s);
    long hi = lo;
    if (hi_s) {
        hi = range_number(hi_s, 's', 1000000000L);
        if (hi < 0)
            return appspec_fail(c, ERR_APPSPEC, line, "invalid sensitivity %s", hi_s);
        if (hi < lo)
            return appspec_fail(c, ERR_APPSPEC, line, MSG_RANGE, range);
    }
    unsigned char seen[1024] = {0};
    if (cats && range_categories(c, line, cats, seen) < 0)
        return -1;
    *ret = range_render(lo, hi, seen, cats != NULL);
    return 0;
}

static int parse_context(struct appspec_ctx *c, const struct yaml11_node *m,
                         struct appspec_permission *p)
{
    const struct yaml11_node *v = appspec_get(c, m, "context");
    if (yaml11_is_null(v))
        return 0;
    const struct yaml11_node *type = v->kind == YAML11_MAP ? appspec_get(c, v, "type") : NULL;
    if (!type || yaml11_is_null(type) || type->kind != YAML11_SCALAR) {
        AUTOFREE char *shown = appspec_inspect(v);
        return appspec_fail(c, ERR_APPSPEC, v->line, MSG_CONTEXT_TYPE, shown);
    }
    if (!yaml11_is_null(appspec_get(c, v, "role")))
        return appspec_fail(c, ERR_APPSPEC, appspec_get(c, v, "role")->line, "%s",
                            MSG_CONTEXT_ROLE);
    struct appspec_context *ctx = xcalloc(1, sizeof(*ctx));
    p->context = ctx;
    AUTOFREE char *type_s = appspec_to_s(type);
    ctx->type = appspec_strip(type_s);
    AUTOFREE char *user = NULL;
    if (appspec_get_text(c, v, "name", "context", &user) < 0)
        return -1;
    if (!user && appspec_get_text(c, v, "user", "context", &user) < 0)
        return -1;
    if (user)
        ctx->user = appspec_strip(user);
    AUTOFREE char *range = NULL;
    if (appspec_get_text(c, v, "range", "context", &range) < 0)
        return -1;
    if (range) {
        AUTOFREE char *stripped = appspec_strip(range);
        if (parse_range(c, appspec_get(c, v, "range")->line, stripped, &ctx->range) < 0)
            return -1;
    }
    return 0;
}

static int parse_except(struct appspec_ctx *c, const struct yaml11_node *m,
                        struct appspec_permission *p)
{
    const struct yaml11_node *const *items;
    const struct yaml11_node *v;
    size_t n;
    if (get_scalar_list(c, m, "except", &items, &n, &v) < 0)
        return -1;
    p->except = xcalloc(n ? n : 1, sizeof(*p->except));
    for (size_t i = 0; i < n; i++)
        p->except[p->n_except++] = appspec_to_s(items[i]);
    return 0;
}

static int parse_permission(struct appspec_ctx *c, const struct yaml11_node *m,
                            struct appspec_permission *p)
{
    memset(p, 0, sizeof(*p));
    p->line = m->line;
    if (m->kind != YAML11_MAP)
        return appspec_fail(
            c, ERR_APPSPEC, m->line,
            "'permissions' entry must be a mapping with 'object' (and optional 'pattern', "
            "'except', 'type', 'owner', 'group', 'mode', 'acls', 'context'), got %s",
            appspec_kind_name(m));
    AUTOFREE char *object = NULL;
    if (appspec_get_text(c, m, "object", "permissions", &object) < 0)
        return -1;
    if (object)
        p->object = appspec_strip(object);
    if (!p->object || !p->object[0])
        return appspec_fail(c, ERR_APPSPEC, m->line, "%s", MSG_NO_OBJECT);
    if (appspec_get_text(c, m, "pattern", "permissions", &p->pattern) < 0)
        return -1;
    if (!p->pattern)
        p->pattern = xstrdup("**");
    if (parse_except(c, m, p) < 0 || parse_type(c, m, p) < 0)
        return -1;
    if (appspec_get_text(c, m, "owner", "permissions", &p->owner) < 0 ||
        appspec_get_text(c, m, "group", "permissions", &p->group) < 0)
        return -1;
    if (parse_mode_key(c, m, p) < 0 || parse_acls(c, m, p) < 0 || parse_context(c, m, p) < 0)
        return -1;
    return 0;
}

int appspec_section_permissions(struct appspec_ctx *c, const struct yaml11_node *root)
{
    const struct yaml11_node *v = appspec_get(c, root, "permissions");
    if (yaml11_is_null(v))
        return 0;
    if (v->kind != YAML11_SEQ)
        return appspec_fail(c, ERR_APPSPEC, v->line,
                            "'permissions' must be a list of mappings with 'object', got %s",
                            appspec_kind_name(v));
    struct appspec *as = c->as;
    as->permissions = xcalloc(v->n ? v->n : 1, sizeof(*as->permissions));
    for (size_t i = 0; i < v->n; i++) {
        if (appspec_count_entry(c, v->kids[i]->line) < 0)
            return -1;
        as->n_permissions++;
        if (parse_permission(c, v->kids[i], &as->permissions[i]) < 0)
            return -1;
    }
    return 0;
}
