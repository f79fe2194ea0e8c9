/* plan: see plan.h. */
#include "deploy/plan.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/nss.h"
#include "base/util.h"
#include "deploy/acl.h"
#include "deploy/lexpath.h"
#include "base/buf.h"

#define MAX_SOURCE_DEPTH 128 /* nested directories below one files.source */

void plan_done(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].src);
        free(p->steps[i].dst);
    }
    free(p->steps);
    free(p->archive_real);
    free(p->archive_norm);
    map_done(&p->targets);
    map_done(&p->permitted);
    map_done(&p->gone);
}

static struct step *add_step(struct plan *p, enum step_kind k, const char *src, const char *dst)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->steps = xrealloc(p->steps, p->cap * sizeof(*p->steps));
    }
    struct step *s = &p->steps[p->n++];
    *s = (struct step){.kind = k, .src = src ? xstrdup(src) : NULL, .dst = xstrdup(dst)};
    return s;
}

/* A mkdir or copy step, remembered by its destination with what it is for messages (the
 * directory of a mkdir, the source of a copy). */
static void add_target(struct plan *p, enum step_kind k, const char *src, const char *dst)
{
    struct step *s = add_step(p, k, src, dst);
    struct map_ent *e = map_put(&p->targets, dst);
    e->tag = k;
    e->val = k == STEP_COPY ? s->src : s->dst;
}

/* True when some ancestor-or-self of path is removed by the previous install's cleanup. */
static bool gone_after_cleanup(const struct plan *p, const char *path)
{
    if (!p->gone.n)
        return false;
    AUTOFREE char *s = xstrdup(path);
    for (;;) {
        if (map_get(&p->gone, s))
            return true;
        char *sl = strrchr(s, '/');
        if (!sl || sl == s)
            return false;
        *sl = '\0';
    }
}

/* File.exist? / File.directory? on the host as it will be after the previous cleanup. */
static bool host_exists(const struct plan *p, const char *path)
{
    struct stat st;
    return !gone_after_cleanup(p, path) && stat(path, &st) == 0;
}

static bool host_is_dir(const struct plan *p, const char *path)
{
    struct stat st;
    return !gone_after_cleanup(p, path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int plan_mkdir(struct plan *p, const char *dir, struct err *err)
{
    struct map_ent *e = map_get(&p->targets, dir);
    if (e && e->tag == STEP_COPY)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the application specification file "
                       "includes an mkdir command more than once for the same destination path "
                       "(%s) from (%s). Update the files section of the AppSpec file, and then "
                       "try again.",
                       dir, (const char *)e->val);
    if (e)
        return 0; /* planned once */
    /* Ruby fails on this only when executing; finding it now keeps the previous install
     * intact. */
    if (host_exists(p, dir) && !host_is_dir(p, dir))
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because a file already exists where the "
                       "application specification file needs the directory %s",
                       dir);
    add_target(p, STEP_MKDIR, NULL, dir);
    return 0;
}

/* plan mkdir for the missing ancestors of target, outermost first. */
static int plan_ancestors(struct plan *p, const char *target, struct err *err)
{
    char *chain[PATH_MAX / 2];
    size_t n = 0;
    char *dir = lexpath_dir(target);
    while (strcmp(dir, "/") != 0 && !host_exists(p, dir) && n < sizeof(chain) / sizeof(*chain)) {
        chain[n++] = dir;
        dir = lexpath_dir(dir);
    }
    free(dir);
    int r = 0;
    for (size_t i = n; i-- > 0;) {
        if (r == 0)
            r = plan_mkdir(p, chain[i], err);
        free(chain[i]);
    }
    return r;
}

static int plan_copy(struct plan *p, const char *src, const char *target, struct err *err)
{
    struct map_ent *e = map_get(&p->targets, target);
    if (e && e->tag == STEP_COPY)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the application specification file "
                       "specifies two source files named %s and %s for the same destination "
                       "(%s). Remove one of the source file paths from the AppSpec file, and "
                       "then try again.",
                       src, (const char *)e->val, target);
    if (e)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the application specification file calls "
                       "for installing the file %s, but a file with that name already exists at "
                       "the location (%s). Update your AppSpec file or directory structure, and "
                       "then try again.",
                       src, target);
    if (host_exists(p, target)) {
        if (p->feb_text)
            return err_set(err, ERR_INSTALL,
                           "The deployment failed because an invalid option was specified for "
                           "fileExistsBehavior: %s. Valid options include OVERWRITE, RETAIN, and "
                           "DISALLOW.",
                           p->feb_text);
        if (p->feb == APPSPEC_FEB_RETAIN)
            return 0;
        if (p->feb != APPSPEC_FEB_OVERWRITE)
            return err_set(err, ERR_INSTALL,
                           "The deployment failed because a specified file already exists at "
                           "this location: %s",
                           target);
    }
    add_target(p, STEP_COPY, src, target);
    return 0;
}

/* Directory links inside a source tree are followed only when they stay in the archive. */
static int check_inside(const struct plan *p, const char *path, const char *shown, struct err *err)
{
    char *real = realpath(path, NULL);
    if (!real)
        return err_sys(err, "Install: resolve '%s'", path);
    bool ok = lexpath_within(real, p->archive_real);
    free(real);
    if (!ok)
        return err_set(err, ERR_UNSAFE, APPSPEC_MSG_OUTSIDE, shown);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int plan_dir(struct plan *p, const char *src, const char *dst, int depth, struct err *err);

/* Paths Linux cannot name in one call fail here, with both ends of the path shown whole. */
static int too_long(const char *path, struct err *err)
{
    size_t n = strlen(path);
    if (n < PATH_MAX)
        return 0;
    return err_set(err, ERR_INSTALL,
                   "Install: the path '%.200s...%s' is %zu bytes long, more than the %d bytes "
                   "Linux allows; shorten the directory tree of the revision or the "
                   "destination, and then try again",
                   path, path + n - 120, n, PATH_MAX - 1);
}

static int plan_dir_entries(struct plan *p, const char *src, const char *dst, int depth,
                            struct err *err)
{
    DIR *d = opendir(src);
    if (!d)
        return err_sys(err, "Install: list '%s'", src);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp); /* byte-wise order */
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0) {
            AUTOFREE char *s = lexpath_join(src, names[i]);
            AUTOFREE char *t = lexpath_join(dst, names[i]);
            struct stat lst, st;
            if (too_long(s, err) < 0 || too_long(t, err) < 0) {
                r = -1;
            } else if (lstat(s, &lst) < 0) {
                r = err_sys(err, "Install: stat '%s'", s);
            } else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
                if (S_ISLNK(lst.st_mode))
                    r = check_inside(p, s, s + strlen(p->archive_norm), err);
                if (r == 0)
                    r = plan_dir(p, s, t, depth + 1, err);
            } else {
                r = plan_copy(p, s, t, err);
            }
        }
        free(names[i]);
    }
    free(names);
    return r;
}

static int plan_dir(struct plan *p, const char *src, const char *dst, int depth, struct err *err)
{
    if (depth > MAX_SOURCE_DEPTH)
        return err_set(err, ERR_INSTALL,
                       "Install: '%s' is nested more than %d directories deep (a directory link "
                       "loop?)",
                       src, MAX_SOURCE_DEPTH);
    if (!host_is_dir(p, dst) && plan_mkdir(p, dst, err) < 0)
        return -1;
    return plan_dir_entries(p, src, dst, depth, err);
}

static int plan_file_entry(struct plan *p, const struct appspec_file *f, struct err *err)
{
    AUTOFREE char *src =
        f->source_rel[0] ? lexpath_join(p->archive_norm, f->source_rel) : xstrdup(p->archive_norm);
    AUTOFREE char *dst = lexpath_norm(f->destination);
    struct stat lst, st;
    if (lstat(src, &lst) < 0)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the application specification file "
                       "specifies a source file (%s) that does not exist in the revision "
                       "(looked for '%s')",
                       f->source, src);
    if (check_inside(p, src, f->source, err) < 0)
        return -1;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (plan_ancestors(p, dst, err) < 0)
            return -1;
        return plan_dir(p, src, dst, 0, err);
    }
    AUTOFREE char *target = lexpath_join(dst, lexpath_base(src));
    if (plan_ancestors(p, target, err) < 0)
        return -1;
    return plan_copy(p, src, target, err);
}

/* ---- permission planning ---- */

/* Glob where '*' matches any run and everything else is literal; linear time. */
static bool glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static bool perm_matches(const struct appspec_permission *perm, const char *object,
                         const char *target)
{
    if (!lexpath_within(target, object) || strcmp(target, object) == 0)
        return false;
    const char *rel = target + (strcmp(object, "/") == 0 ? 1 : strlen(object) + 1);
    bool direct = strchr(rel, '/') == NULL;
    if (strcmp(perm->pattern, "**") != 0 && (!direct || !glob_match(perm->pattern, rel)))
        return false;
    if (direct) {
        for (size_t i = 0; i < perm->n_except; i++)
            if (!strchr(perm->except[i], '/') && glob_match(perm->except[i], rel))
                return false;
    }
    return true;
}

/* Owner, group and ACL names must exist before anything is changed. */
static int check_names(const struct appspec_permission *perm, struct err *err)
{
    for (size_t i = 0; i < perm->n_acls; i++) {
        const struct appspec_acl *a = &perm->acls[i];
        uint32_t id;
        if ((a->tag == APPSPEC_ACL_USER || a->tag == APPSPEC_ACL_GROUP) && a->name && a->name[0] &&
            acl_lookup_id(a, perm->object, &id, err) < 0)
            return -1;
    }
    struct err ignored = {0};
    if (perm->owner) {
        uid_t uid;
        if (nss_uid_by_name(perm->owner, &uid, &ignored) < 0)
            return err_set(err, ERR_INSTALL,
                           "The deployment failed because the owner '%s' of permissions object "
                           "%s does not exist on this host",
                           perm->owner, perm->object);
    }
    if (perm->group) {
        gid_t gid;
        if (nss_gid_by_name(perm->group, &gid, &ignored) < 0)
            return err_set(err, ERR_INSTALL,
                           "The deployment failed because the group '%s' of permissions object "
                           "%s does not exist on this host",
                           perm->group, perm->object);
    }
    return 0;
}

static int plan_perm_target(struct plan *p, const struct appspec_permission *perm,
                            const char *target, bool is_dir, struct err *err)
{
    if (map_get(&p->permitted, target))
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the permissions setting for (%s) is "
                       "specified more than once in the application specification file. Update "
                       "the files section of the AppSpec file, and then try again.",
                       target);
    if (!is_dir && perm->n_acls && perm->acls_have_default)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the -d parameter has been specified to "
                       "apply an acl setting to a file. This parameter is supported for "
                       "directories only. Update the AppSpec file, and then try again.");
    map_put(&p->permitted, target);
    /* chmod, setfacl, semanage, chown. */
    static const enum step_kind order[] = {STEP_CHMOD, STEP_SETFACL, STEP_SEMANAGE, STEP_CHOWN};
    for (size_t i = 0; i < 4; i++) {
        bool want = (order[i] == STEP_CHMOD && perm->has_mode) ||
                    (order[i] == STEP_SETFACL && perm->n_acls) ||
                    (order[i] == STEP_SEMANAGE && perm->context) ||
                    (order[i] == STEP_CHOWN && (perm->owner || perm->group));
        if (!want)
            continue;
        struct step *s = add_step(p, order[i], NULL, target);
        s->perm = perm;
        s->dst_is_dir = is_dir;
    }
    return 0;
}

static int plan_permission(struct plan *p, const struct appspec_permission *perm, struct err *err)
{
    AUTOFREE char *object = lexpath_norm(perm->object);
    struct map_ent *e = map_get(&p->targets, object);
    if (e && e->tag == STEP_COPY && (perm->type & APPSPEC_TYPE_FILE)) {
        if (strcmp(perm->pattern, "**") != 0)
            return err_set(err, ERR_INSTALL,
                           "The deployment failed because the application specification file "
                           "includes an object (%s) with an invalid pattern (%s), such as a "
                           "pattern for a file applied to a directory. Correct the permissions "
                           "section of the AppSpec file, and then try again.",
                           perm->object, perm->pattern);
        if (perm->n_except) {
            struct buf b;
            buf_init(&b, 4096);
            buf_appendf(&b, NULL, "[");
            for (size_t i = 0; i < perm->n_except; i++)
                buf_appendf(&b, NULL, "%s%s", i ? ", " : "", perm->except[i]);
            buf_appendf(&b, NULL, "]");
            err_set(err, ERR_INSTALL,
                    "The deployment failed because the except parameter for a pattern in the "
                    "permissions section (%s) for the object named %s contains an invalid "
                    "format. Update the AppSpec file, and then try again.",
                    b.data, perm->object);
            buf_done(&b);
            return -1;
        }
        if (check_names(perm, err) < 0)
            return -1;
        return plan_perm_target(p, perm, object, false, err);
    }
    if (!((e && e->tag == STEP_MKDIR) || host_is_dir(p, object)))
        return 0; /* not something this Install creates: ignored */
    bool checked = false;
    size_t n_file = p->n_file_steps;
    for (size_t i = 0; i < n_file; i++) {
        const struct step *s = &p->steps[i];
        bool is_dir = s->kind == STEP_MKDIR;
        if (is_dir ? !(perm->type & APPSPEC_TYPE_DIRECTORY) : !(perm->type & APPSPEC_TYPE_FILE))
            continue;
        if (!perm_matches(perm, object, s->dst))
            continue;
        if (!checked && check_names(perm, err) < 0)
            return -1;
        checked = true;
        AUTOFREE char *t = xstrdup(s->dst); /* add_step may move steps */
        if (plan_perm_target(p, perm, t, is_dir, err) < 0)
            return -1;
    }
    return 0;
}

int plan_make(struct plan *p, const struct appspec *as, struct err *err)
{
    p->archive_real = realpath(p->archive_dir, NULL);
    if (!p->archive_real)
        return err_sys(err, "Install: resolve the revision directory '%s'", p->archive_dir);
    /* Sources below a relative archive_dir still need absolute names for install.json. */
    if (p->archive_dir[0] == '/') {
        p->archive_norm = lexpath_norm(p->archive_dir);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            return err_sys(err, "Install: resolve the revision directory '%s'", p->archive_dir);
        p->archive_norm = lexpath_join(cwd, p->archive_dir);
    }
    for (size_t i = 0; i < as->n_files; i++)
        if (plan_file_entry(p, &as->files[i], err) < 0)
            return -1;
    p->n_file_steps = p->n;
    for (size_t i = 0; i < as->n_permissions; i++)
        if (plan_permission(p, &as->permissions[i], err) < 0)
            return -1;
    return 0;
}

void plan_set_file_exists(struct plan *p, const struct appspec *as, const char *spec)
{
    p->feb_text = NULL;
    if (as->file_exists_behavior != APPSPEC_FEB_UNSET) {
        p->feb = as->file_exists_behavior;
    } else if (!spec || !*spec || strcmp(spec, "DISALLOW") == 0) {
        p->feb = APPSPEC_FEB_DISALLOW;
    } else if (strcmp(spec, "OVERWRITE") == 0) {
        p->feb = APPSPEC_FEB_OVERWRITE;
    } else if (strcmp(spec, "RETAIN") == 0) {
        p->feb = APPSPEC_FEB_RETAIN;
    } else {
        p->feb = APPSPEC_FEB_UNSET;
        p->feb_text = spec; /* fails only when a conflict needs it */
    }
}
