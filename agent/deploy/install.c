/*
 * install: the Install step (spec section 12).
 *
 * Structure: read the previous cleanup file and work out what removing it will leave (a
 * directory only goes when everything in it goes); plan copies, mkdirs and permission steps
 * against that future view, so every conflict is found before anything changes; then
 * remove the previous install, write install.json, and execute while appending to the new
 * cleanup file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "parse/appspec.h"
#include "deploy/install.h"
#include "deploy/layout.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

extern char **environ;

#define MAX_SOURCE_DEPTH 128      /* nested directories below one files.source */
#define CLEANUP_FILE_MAX (256u << 20)

#define MSG_TAIL_APPSPEC "Update the permissions section of the AppSpec file, and then try again."

/* ---- a small string-keyed hash map ---- */

struct smap_ent {
    char *key;        /* owned; NULL = empty slot */
    int kind;
    const char *src;  /* borrowed from the plan's steps */
};

struct smap {
    struct smap_ent *v;  /* owned */
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct smap_ent *smap_slot(const struct smap *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->cap - 1);
    while (m->v[i].key && strcmp(m->v[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->v[i];
}

static struct smap_ent *smap_get(const struct smap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    struct smap_ent *e = smap_slot(m, key);
    return e->key ? e : NULL;
}

static struct smap_ent *smap_put(struct smap *m, const char *key)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct smap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->v = xcalloc(m->cap, sizeof(*m->v));
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (old.v[i].key) {
                struct smap_ent *e = smap_slot(m, old.v[i].key);
                *e = old.v[i];
                m->n++;
            }
        }
        free(old.v);
    }
    struct smap_ent *e = smap_slot(m, key);
    if (!e->key) {
        e->key = xstrdup(key);
        m->n++;
    }
    return e;
}

static void smap_done(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].key);
    free(m->v);
    m->v = NULL;
    m->cap = m->n = 0;
}

/* ---- paths ---- */

/* Absolute, lexically normalised: "//" and "." dropped, ".." resolved, no trailing '/'. */
static char *norm_abs(const char *p)
{
    size_t len = strlen(p);
    char *out = xmalloc(len + 2);
    size_t o = 0;
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, s, n);
            o += n;
        }
        s = e;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

static char *join_norm(const char *a, const char *b)
{
    AUTOFREE char *j = path_join(a, b);
    return norm_abs(j);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static char *dir_name(const char *p)
{
    const char *s = strrchr(p, '/');
    if (!s || s == p)
        return xstrdup("/");
    return xstrndup(p, (size_t)(s - p));
}

/* ---- the previous install's cleanup file (R-104, R-173, V-063) ---- */

struct cleanup_line {
    char *path;     /* owned */
    bool semanage;  /* "semanage\0<path>" */
};

struct cleanup_list {
    struct cleanup_line *lines;  /* owned */
    size_t n;
    bool present;  /* the file exists */
    bool trusted;  /* safe to act on (V-063) */
};

static void cleanup_list_done(struct cleanup_list *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i].path);
    free(c->lines);
    memset(c, 0, sizeof(*c));
}

struct ctx {
    const struct install_opts *o;
    const struct appspec *as;
};

static void note(const struct install_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(const struct install_opts *o, const char *fmt, ...)
{
    if (!o || !o->note)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    o->note(o->note_ctx, line);
}

/* Strip leading/trailing whitespace and NULs the way Ruby's String#strip does. */
static void strip_line(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || (**s >= '\t' && **s <= '\r'))) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\0' ||
                  ((*s)[*n - 1] >= '\t' && (*s)[*n - 1] <= '\r')))
        (*n)--;
}

static bool line_is_valid(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/' || memchr(p, '\0', n))
        return false;
    /* Lexically, ".." must not climb above "/" (V-063); norm_abs would clamp it silently. */
    int depth = 0;
    const char *s = p, *end = p + n;
    while (s < end) {
        while (s < end && *s == '/')
            s++;
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e)
            e = end;
        size_t k = (size_t)(e - s);
        if (k == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (k > 0 && !(k == 1 && s[0] == '.')) {
            depth++;
        }
        s = e;
    }
    return true;
}

static void cleanup_add(struct cleanup_list *c, const char *p, size_t n, bool semanage)
{
    c->lines = xrealloc(c->lines, (c->n + 1) * sizeof(*c->lines));
    c->lines[c->n].path = xstrndup(p, n);
    c->lines[c->n].semanage = semanage;
    c->n++;
}

static int cleanup_read(const struct install_opts *o, const char *path, struct cleanup_list *c,
                        struct err *err)
{
    memset(c, 0, sizeof(*c));
    AUTOCLOSE int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ELOOP) {
            c->present = true;
            note(o, "The cleanup file '%s' is a symbolic link; not removing the previous "
                    "install's files", path);
            return 0;
        }
        return err_sys(err, "read the previous install's cleanup file '%s'", path);
    }
    c->present = true;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_sys(err, "read the previous install's cleanup file '%s'", path);
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        note(o, "The cleanup file '%s' is not a regular file owned by the agent and writable "
                "only by it; not removing the previous install's files", path);
        return 0;
    }
    c->trusted = true;
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, CLEANUP_FILE_MAX, &data, &len, err) < 0)
        return -1;
    const char *s = data, *end = data + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            break;  /* a torn last line is ignored */
        const char *p = s;
        size_t n = (size_t)(nl - s);
        s = nl + 1;
        bool sem = n > 9 && memcmp(p, "semanage\0", 9) == 0;
        if (sem) {
            p += 9;
            n -= 9;
        }
        strip_line(&p, &n);
        if (!line_is_valid(p, n)) {
            if (n)
                note(o, "Ignoring invalid line in cleanup file '%s'", path);
            continue;
        }
        cleanup_add(c, p, n, sem);
    }
    free(data);
    return 0;
}

static bool selinux_enabled(const struct install_opts *o)
{
    if (o && o->selinux)
        return o->selinux > 0;
    return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* Run argv; *ret_status is the exit status (or 128+signal).  Returns -1 if it cannot start. */
static int run_cmd(char *const argv[], int *ret_status)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        errno = r;
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    *ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

/* The future view: which listed paths removing the cleanup list will really remove. */
static void cleanup_simulate(const struct cleanup_list *c, struct smap *gone)
{
    if (!c->trusted)
        return;
    for (size_t i = c->n; i-- > 0;) {
        const char *p = c->lines[i].path;
        if (c->lines[i].semanage)
            continue;
        AUTOFREE char *np = norm_abs(p);
        struct stat st;
        if (lstat(np, &st) < 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            smap_put(gone, np);
            continue;
        }
        DIR *d = opendir(np);
        if (!d)
            continue;
        bool empty_after = true;
        struct dirent *de;
        while (empty_after && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            AUTOFREE char *child = join_norm(np, de->d_name);
            empty_after = smap_get(gone, child) != NULL;
        }
        closedir(d);
        if (empty_after)
            smap_put(gone, np);
    }
}

static int cleanup_execute(const struct install_opts *o, const struct cleanup_list *c,
                           struct err *err)
{
    if (!c->trusted)
        return 0;
    bool se = selinux_enabled(o);
    for (size_t i = c->n; i-- > 0;) {
        const char *p = c->lines[i].path;
        if (c->lines[i].semanage) {
            if (se) {
                AUTOFREE char *pp = xstrdup(p);
                char *argv[] = {(char *)"semanage", (char *)"fcontext", (char *)"-d", pp, NULL};
                int status;
                (void)run_cmd(argv, &status);  /* failures ignored */
            }
            continue;
        }
        struct stat st;
        if (lstat(p, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return err_sys(err, "remove the previous install's '%s'", p);
        }
        if (S_ISDIR(st.st_mode)) {
            if (rmdir(p) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
                return err_sys(err, "remove the previous install's directory '%s'", p);
        } else if (unlink(p) < 0 && errno != ENOENT) {
            return err_sys(err, "remove the previous install's '%s'", p);
        }
    }
    return 0;
}

int install_remove_previous(const char *root_dir, const char *group_id, struct err *err)
{
    AUTOFREE char *path = layout_cleanup_path(root_dir, group_id);
    struct cleanup_list c;
    if (cleanup_read(NULL, path, &c, err) < 0)
        return -1;
    int r = cleanup_execute(NULL, &c, err);
    if (r == 0 && c.present && unlink(path) < 0 && errno != ENOENT)
        r = err_sys(err, "delete the cleanup file '%s'", path);
    cleanup_list_done(&c);
    return r;
}

/* ---- planning (R-174..R-177, R-182..R-188) ---- */

enum step_kind { STEP_COPY = 1, STEP_MKDIR, STEP_CHMOD, STEP_SETFACL, STEP_SEMANAGE, STEP_CHOWN };

struct step {
    enum step_kind kind;
    char *src;  /* owned; copy source (absolute, lexical); mkdir: NULL */
    char *dst;  /* owned; copy target, mkdir directory, or permission target */
    const struct appspec_permission *perm;  /* borrowed; permission steps */
    bool dst_is_dir;  /* permission steps: target is a planned mkdir */
};

struct plan {
    const struct install_opts *o;
    const char *archive_dir;  /* borrowed */
    char *archive_real;       /* owned; realpath of archive_dir */
    char *archive_norm;       /* owned; archive_dir lexically normalised */
    enum appspec_file_exists feb;
    const char *feb_text;     /* borrowed; unrecognised spec value, or NULL */
    struct step *steps;       /* owned */
    size_t n, cap;
    size_t n_file_steps;      /* copies and mkdirs, which come first */
    struct smap targets;      /* copy/mkdir target -> kind, src */
    struct smap permitted;    /* targets that already got permissions */
    struct smap gone;         /* what the previous install's removal will take away */
};

static void plan_done(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].src);
        free(p->steps[i].dst);
    }
    free(p->steps);
    free(p->archive_real);
    free(p->archive_norm);
    smap_done(&p->targets);
    smap_done(&p->permitted);
    smap_done(&p->gone);
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

/* True when some ancestor-or-self of path is removed by the previous install's cleanup. */
static bool gone_after_cleanup(const struct plan *p, const char *path)
{
    if (!p->gone.n)
        return false;
    AUTOFREE char *s = xstrdup(path);
    for (;;) {
        if (smap_get(&p->gone, s))
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
    struct smap_ent *e = smap_get(&p->targets, dir);
    if (e && e->kind == STEP_COPY)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the application specification file "
                       "includes an mkdir command more than once for the same destination path "
                       "(%s) from (%s). Update the files section of the AppSpec file, and then "
                       "try again.",
                       dir, e->src);
    if (e)
        return 0;  /* planned once */
    /* Ruby fails on this only when executing; finding it now keeps the previous install
     * intact. */
    if (host_exists(p, dir) && !host_is_dir(p, dir))
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because a file already exists where the "
                       "application specification file needs the directory %s",
                       dir);
    struct step *s = add_step(p, STEP_MKDIR, NULL, dir);
    e = smap_put(&p->targets, dir);
    e->kind = STEP_MKDIR;
    e->src = s->dst;
    return 0;
}

/* plan mkdir for the missing ancestors of target, outermost first. */
static int plan_ancestors(struct plan *p, const char *target, struct err *err)
{
    char *chain[PATH_MAX / 2];
    size_t n = 0;
    char *dir = dir_name(target);
    while (strcmp(dir, "/") != 0 && !host_exists(p, dir) && n < sizeof(chain) / sizeof(*chain)) {
        chain[n++] = dir;
        dir = dir_name(dir);
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
    struct smap_ent *e = smap_get(&p->targets, target);
    if (e && e->kind == STEP_COPY)
        return err_set(err, ERR_INSTALL,
                       "The deployment failed because the application specification file "
                       "specifies two source files named %s and %s for the same destination "
                       "(%s). Remove one of the source file paths from the AppSpec file, and "
                       "then try again.",
                       src, e->src, target);
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
    struct step *s = add_step(p, STEP_COPY, src, target);
    e = smap_put(&p->targets, target);
    e->kind = STEP_COPY;
    e->src = s->src;
    return 0;
}

/* Directory links inside a source tree are followed only when they stay in the archive. */
static int check_inside(const struct plan *p, const char *path, const char *shown,
                        struct err *err)
{
    char *real = realpath(path, NULL);
    if (!real)
        return err_sys(err, "Install: resolve '%s'", path);
    bool ok = path_within(real, p->archive_real);
    free(real);
    if (!ok)
        return err_set(err, ERR_UNSAFE, "AppSpec path %s resolves outside the revision directory",
                       shown);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int plan_dir(struct plan *p, const char *src, const char *dst, int depth,
                    struct err *err);

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
        qsort(names, n, sizeof(*names), name_cmp);  /* byte-wise order */
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0) {
            AUTOFREE char *s = join_norm(src, names[i]);
            AUTOFREE char *t = join_norm(dst, names[i]);
            struct stat lst, st;
            if (lstat(s, &lst) < 0) {
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

static int plan_dir(struct plan *p, const char *src, const char *dst, int depth,
                    struct err *err)
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
    AUTOFREE char *src = f->source_rel[0] ? join_norm(p->archive_norm, f->source_rel)
                                          : xstrdup(p->archive_norm);
    AUTOFREE char *dst = norm_abs(f->destination);
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
    AUTOFREE char *target = join_norm(dst, base_name(src));
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
    if (!path_within(target, object) || strcmp(target, object) == 0)
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

static int acl_id(const struct appspec_acl *a, uint32_t *ret, struct err *err, const char *path);

/* Owner, group and ACL names must exist before anything is changed. */
static int check_names(const struct appspec_permission *perm, struct err *err)
{
    for (size_t i = 0; i < perm->n_acls; i++) {
        const struct appspec_acl *a = &perm->acls[i];
        uint32_t id;
        if ((a->tag == APPSPEC_ACL_USER || a->tag == APPSPEC_ACL_GROUP) && a->name &&
            a->name[0] && acl_id(a, &id, err, perm->object) < 0)
            return -1;
    }
    char buf[4096];
    if (perm->owner) {
        struct passwd pw, *res = NULL;
        if (getpwnam_r(perm->owner, &pw, buf, sizeof(buf), &res) != 0 || !res)
            return err_set(err, ERR_INSTALL,
                           "The deployment failed because the owner '%s' of permissions object "
                           "%s does not exist on this host",
                           perm->owner, perm->object);
    }
    if (perm->group) {
        struct group gr, *res = NULL;
        if (getgrnam_r(perm->group, &gr, buf, sizeof(buf), &res) != 0 || !res)
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
    if (smap_get(&p->permitted, target))
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
    smap_put(&p->permitted, target);
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

static int plan_permission(struct plan *p, const struct appspec_permission *perm,
                           struct err *err)
{
    AUTOFREE char *object = norm_abs(perm->object);
    struct smap_ent *e = smap_get(&p->targets, object);
    if (e && e->kind == STEP_COPY && (perm->type & APPSPEC_TYPE_FILE)) {
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
    if (!((e && e->kind == STEP_MKDIR) || host_is_dir(p, object)))
        return 0;  /* not something this Install creates: ignored */
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
        AUTOFREE char *t = xstrdup(s->dst);  /* add_step may move steps */
        if (plan_perm_target(p, perm, t, is_dir, err) < 0)
            return -1;
    }
    return 0;
}

static int make_plan(struct plan *p, const struct appspec *as, struct err *err)
{
    p->archive_real = realpath(p->archive_dir, NULL);
    if (!p->archive_real)
        return err_sys(err, "Install: resolve the revision directory '%s'", p->archive_dir);
    /* Sources below a relative archive_dir still need absolute names for install.json. */
    if (p->archive_dir[0] == '/') {
        p->archive_norm = norm_abs(p->archive_dir);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            return err_sys(err, "Install: resolve the revision directory '%s'", p->archive_dir);
        p->archive_norm = join_norm(cwd, p->archive_dir);
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

/* ---- install.json (R-105) ---- */

static void json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

static void json_step(FILE *f, const struct step *s)
{
    const struct appspec_permission *perm = s->perm;
    switch (s->kind) {
    case STEP_COPY:
        fputs("{\"type\":\"copy\",\"source\":", f);
        json_str(f, s->src);
        fputs(",\"destination\":", f);
        json_str(f, s->dst);
        break;
    case STEP_MKDIR:
        fputs("{\"type\":\"mkdir\",\"directory\":", f);
        json_str(f, s->dst);
        break;
    case STEP_CHMOD:
        fputs("{\"type\":\"chmod\",\"mode\":", f);
        if (perm->mode_text) {
            json_str(f, perm->mode_text);
        } else {
            char m[8];
            snprintf(m, sizeof(m), "%04o", (unsigned)perm->mode);
            json_str(f, m);
        }
        fputs(",\"file\":", f);
        json_str(f, s->dst);
        break;
    case STEP_SETFACL:
        fputs("{\"type\":\"setfacl\",\"acl\":[", f);
        for (size_t i = 0; i < perm->n_acls; i++) {
            if (i)
                fputc(',', f);
            json_str(f, perm->acls[i].canonical);
        }
        fputs("],\"file\":", f);
        json_str(f, s->dst);
        break;
    case STEP_SEMANAGE:
        fputs("{\"type\":\"semanage\",\"context\":{\"user\":", f);
        json_str(f, perm->context->user);
        fputs(",\"role\":null,\"type\":", f);
        json_str(f, perm->context->type);
        fputs(",\"range\":", f);
        json_str(f, perm->context->range);
        fputs("},\"file\":", f);
        json_str(f, s->dst);
        break;
    case STEP_CHOWN:
        fputs("{\"type\":\"chown\",\"owner\":", f);
        json_str(f, perm->owner);
        fputs(",\"group\":", f);
        json_str(f, perm->group);
        fputs(",\"file\":", f);
        json_str(f, s->dst);
        break;
    }
    fputc('}', f);
}

static int write_install_json(const struct plan *p, const char *path, struct err *err)
{
    AUTOFREE char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                  LAYOUT_STATE_FILE_MODE);
    if (fd < 0)
        return err_sys(err, "write '%s'", path);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return err_sys(err, "write '%s'", path);
    }
    fputs("{\"instructions\":[", f);
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            fputc(',', f);
        json_step(f, &p->steps[i]);
    }
    fputs("]}", f);
    bool bad = fflush(f) != 0 || fchmod(fd, LAYOUT_STATE_FILE_MODE) < 0 || fsync(fd) < 0;
    if (fclose(f) != 0)
        bad = true;
    if (bad || rename(tmp, path) < 0) {
        err_sys(err, "write '%s'", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- execution (R-178..R-181, R-186..R-189) ---- */

struct exec {
    const struct install_opts *o;
    int cleanup_fd;
    bool is_root;
    bool selinux;
};

static int record(struct exec *x, const char *prefix, size_t plen, const char *path,
                  struct err *err)
{
    size_t n = strlen(path);
    AUTOFREE char *line = xmalloc(plen + n + 1);
    memcpy(line, prefix, plen);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a counted record, ends in '\n' */
    memcpy(line + plen, path, n);
    line[plen + n] = '\n';
    size_t len = plen + n + 1, off = 0;
    while (off < len) {
        ssize_t w = write(x->cleanup_fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return err_sys(err, "Install: append '%s' to the cleanup file", path);
        off += (size_t)w;
    }
    return 0;
}

static int copy_content(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return -1;
        break;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (write_all(out, buf, (size_t)n) < 0)
            return -1;
    }
}

/* A name for a temporary file next to target (never the target's own name). */
static char *temp_beside(const char *target)
{
    AUTOFREE char *dir = dir_name(target);
    AUTOFREE char *name = xasprintf(".%s.cdagent-%ld-%08x", base_name(target), (long)getpid(),
                                    rand_below(0xffffffffu));
    return path_join(dir, name);
}

static int copy_symlink(const char *src, const char *target, struct err *err)
{
    char buf[PATH_MAX + 1];
    ssize_t n = readlink(src, buf, sizeof(buf) - 1);
    if (n < 0)
        return err_sys(err, "install '%s': read link '%s'", target, src);
    buf[n] = '\0';
    AUTOFREE char *tmp = temp_beside(target);
    if (symlink(buf, tmp) < 0)
        return err_sys(err, "install '%s': create link", target);
    /* rename() replaces a link at the target instead of writing through it. */
    if (rename(tmp, target) < 0) {
        int e = errno;
        unlink(tmp);
        return err_errno(err, e, "install '%s'", target);
    }
    return 0;
}

static int copy_regular(struct exec *x, const char *src, const char *target, struct err *err)
{
    AUTOCLOSE int in = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return err_sys(err, "install '%s': open source '%s'", target, src);
    struct stat st;
    if (fstat(in, &st) < 0)
        return err_sys(err, "install '%s': stat source '%s'", target, src);
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_INSTALL, "install '%s': source '%s' is not a regular file",
                       target, src);
    AUTOFREE char *tmp = temp_beside(target);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return err_sys(err, "install '%s': create temporary file", target);
    int r = 0;
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (copy_content(in, out) < 0)
        r = err_sys(err, "install '%s': copy from '%s'", target, src);
    else if (x->is_root && fchown(out, st.st_uid, st.st_gid) < 0)
        r = err_sys(err, "install '%s': set owner", target);
    else if (fchmod(out, st.st_mode & 07777) < 0)  /* after chown, which clears setid */
        r = err_sys(err, "install '%s': set mode", target);
    else if (futimens(out, ts) < 0)
        r = err_sys(err, "install '%s': set times", target);
    if (close(out) < 0 && r == 0)
        r = err_sys(err, "install '%s': write", target);
    if (r == 0 && rename(tmp, target) < 0)
        r = err_sys(err, "install '%s'", target);
    if (r < 0)
        unlink(tmp);
    return r;
}

static int exec_copy(struct exec *x, const struct step *s, struct err *err)
{
    /* the target is recorded BEFORE the copy, so a crash leaves it listed. */
    if (record(x, "", 0, s->dst, err) < 0)
        return -1;
    struct stat st;
    if (lstat(s->src, &st) < 0)
        return err_sys(err, "install '%s': stat source '%s'", s->dst, s->src);
    if (S_ISLNK(st.st_mode))
        return copy_symlink(s->src, s->dst, err);
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_INSTALL, "install '%s': source '%s' is not a regular file",
                       s->dst, s->src);
    return copy_regular(x, s->src, s->dst, err);
}

static int exec_mkdir(struct exec *x, const struct step *s, struct err *err)
{
    if (mkdir(s->dst, 0777) < 0) {  /* 0777 minus umask */
        struct stat st;
        if (errno == EEXIST && stat(s->dst, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;  /* appeared meanwhile: not ours, so not recorded */
        return err_sys(err, "install: create directory '%s'", s->dst);
    }
    return record(x, "", 0, s->dst, err);
}

/* Open a permission target without following a final symlink; -2 = it is a symlink. */
static int open_target(const char *path, bool *ret_link, struct err *err)
{
    *ret_link = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP) {
        *ret_link = true;
        return -1;
    }
    if (fd < 0)
        return err_sys(err, "install: open '%s'", path);
    return fd;
}

static int exec_chmod(struct exec *x, const struct step *s, struct err *err)
{
    bool link;
    AUTOCLOSE int fd = open_target(s->dst, &link, err);
    if (link) {
        note(x->o, "Not changing the mode of symbolic link '%s' (it would change its target)",
             s->dst);
        return 0;
    }
    if (fd < 0)
        return -1;
    if (fchmod(fd, s->perm->mode) < 0)
        return err_sys(err, "install: chmod %04o '%s'", (unsigned)s->perm->mode, s->dst);
    return 0;
}

static int exec_chown(const struct step *s, struct err *err)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    char buf[4096];
    if (s->perm->owner) {
        struct passwd pw, *res = NULL;
        if (getpwnam_r(s->perm->owner, &pw, buf, sizeof(buf), &res) != 0 || !res)
            return err_set(err, ERR_INSTALL, "install: chown '%s': unknown user '%s'", s->dst,
                           s->perm->owner);
        uid = res->pw_uid;
    }
    if (s->perm->group) {
        struct group gr, *res = NULL;
        if (getgrnam_r(s->perm->group, &gr, buf, sizeof(buf), &res) != 0 || !res)
            return err_set(err, ERR_INSTALL, "install: chown '%s': unknown group '%s'", s->dst,
                           s->perm->group);
        gid = res->gr_gid;
    }
    struct stat st;
    if (lstat(s->dst, &st) < 0)
        return err_sys(err, "install: chown '%s'", s->dst);
    if (lchown(s->dst, uid, gid) < 0)  /* never the link's target */
        return err_sys(err, "install: chown '%s'", s->dst);
    /* chown() clears setuid/setgid on files; keep what chmod or the copy set. */
    if (S_ISREG(st.st_mode) && (st.st_mode & 06000)) {
        int fd = open(s->dst, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, st.st_mode & 07777) < 0) {
            err_sys(err, "install: chmod '%s' after chown", s->dst);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* ---- POSIX ACLs as the kernel's xattr format (no libacl needed) ---- */

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

static int acl_id(const struct appspec_acl *a, uint32_t *ret, struct err *err, const char *path)
{
    char buf[4096];
    uint64_t num;
    if (a->tag == APPSPEC_ACL_USER) {
        struct passwd pw, *res = NULL;
        if (getpwnam_r(a->name, &pw, buf, sizeof(buf), &res) == 0 && res) {
            *ret = res->pw_uid;
            return 0;
        }
    } else {
        struct group gr, *res = NULL;
        if (getgrnam_r(a->name, &gr, buf, sizeof(buf), &res) == 0 && res) {
            *ret = res->gr_gid;
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
            if (acl_id(a, &e.id, err, path) < 0)
                return -1;
            named = true;
        } else if (have[e.tag]) {
            continue;  /* one base entry of each kind */
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
    memcpy(b, &v, 4);  /* the format is little-endian; so are the hosts we run on */
    for (size_t i = 0; i < n; i++) {
        memcpy(b + 4 + i * 8, &ents[i].tag, 2);
        memcpy(b + 6 + i * 8, &ents[i].perm, 2);
        memcpy(b + 8 + i * 8, &ents[i].id, 4);
    }
    return fsetxattr(fd, xname, b, len, 0);
}

static int exec_setfacl(struct exec *x, const struct step *s, struct err *err)
{
    bool link;
    AUTOCLOSE int fd = open_target(s->dst, &link, err);
    if (link) {
        note(x->o, "Not setting an ACL on symbolic link '%s'", s->dst);
        return 0;
    }
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_sys(err, "install: setfacl '%s'", s->dst);
    size_t cap = s->perm->n_acls + 4;
    AUTOFREE struct acl_ent *ents = xcalloc(cap, sizeof(*ents));
    size_t n;
    if (acl_build(s->perm, false, st.st_mode, ents, &n, s->dst, err) < 0)
        return -1;
    int r = acl_set(fd, "system.posix_acl_access", ents, n);
    if (r == 0 && s->perm->acls_have_default) {
        if (acl_build(s->perm, true, st.st_mode, ents, &n, s->dst, err) < 0)
            return -1;
        r = acl_set(fd, "system.posix_acl_default", ents, n);
    }
    if (r < 0)
        return err_sys(err,
                       "The deployment failed because of a problem with the acls permission "
                       "settings in the application specification file for this object: %s. "
                       MSG_TAIL_APPSPEC " Error",
                       s->dst);
    return 0;
}

static int exec_semanage(struct exec *x, const struct step *s, struct err *err)
{
    const struct appspec_context *c = s->perm->context;
    if (!x->selinux) {
        note(x->o, "SELinux is not enabled on this host; skipping context '%s' for '%s'",
             c->type, s->dst);
        return 0;
    }
    AUTOFREE char *real = realpath(s->dst, NULL);
    if (!real)
        return err_sys(err, "install: resolve '%s' for its SELinux context", s->dst);
    char *argv[12];
    size_t k = 0;
    argv[k++] = (char *)"semanage";
    argv[k++] = (char *)"fcontext";
    argv[k++] = (char *)"-a";
    if (c->user) {
        argv[k++] = (char *)"-s";
        argv[k++] = c->user;
    }
    argv[k++] = (char *)"-t";
    argv[k++] = c->type;
    if (c->range) {  /* no -r without a range */
        argv[k++] = (char *)"-r";
        argv[k++] = c->range;
    }
    argv[k++] = real;
    argv[k] = NULL;
    char *rargv[] = {(char *)"restorecon", (char *)"-v", real, NULL};
    char *const *cmds[2] = {argv, rargv};
    for (int i = 0; i < 2; i++) {
        int status = 127;
        if (run_cmd(cmds[i], &status) < 0 || status != 0) {
            struct buf b;
            buf_init(&b, 4096);
            for (char *const *a = cmds[i]; *a; a++)
                buf_appendf(&b, NULL, "%s%s", a == cmds[i] ? "" : " ", *a);
            err_set(err, ERR_INSTALL,
                    "The deployment failed because the application specification file contains "
                    "an error in the settings for the context parameter. Update the permissions "
                    "section of the AppSpec file, and then try again. Failed command: %s. Exit "
                    "code: %d",
                    b.data, status);
            buf_done(&b);
            return -1;
        }
        if (i == 0 && record(x, "semanage\0", 9, real, err) < 0)
            return -1;
    }
    return 0;
}

static int exec_step(struct exec *x, const struct step *s, struct err *err)
{
    switch (s->kind) {
    case STEP_COPY:
        return exec_copy(x, s, err);
    case STEP_MKDIR:
        return exec_mkdir(x, s, err);
    case STEP_CHMOD:
        return exec_chmod(x, s, err);
    case STEP_SETFACL:
        return exec_setfacl(x, s, err);
    case STEP_SEMANAGE:
        return exec_semanage(x, s, err);
    case STEP_CHOWN:
        return exec_chown(s, err);
    }
    return err_set(err, ERR_INSTALL, "install: unknown step");
}

static int execute(const struct install_opts *o, const struct plan *p, const char *cleanup_path,
                   struct err *err)
{
    struct exec x = {.o = o, .is_root = geteuid() == 0, .selinux = selinux_enabled(o)};
    x.cleanup_fd = open(cleanup_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                        LAYOUT_STATE_FILE_MODE);
    if (x.cleanup_fd < 0)
        return err_sys(err, "Install: create the cleanup file '%s'", cleanup_path);
    (void)fchmod(x.cleanup_fd, LAYOUT_STATE_FILE_MODE);
    int r = 0;
    for (size_t i = 0; i < p->n && r == 0; i++)
        r = exec_step(&x, &p->steps[i], err);
    if (close(x.cleanup_fd) < 0 && r == 0)
        r = err_sys(err, "Install: write the cleanup file '%s'", cleanup_path);
    return r;
}

static int effective_feb(const struct appspec *as, const char *spec, struct plan *p)
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
        p->feb_text = spec;  /* fails only when a conflict needs it */
    }
    return 0;
}

int install_run(const struct appspec *as, const struct install_opts *o, struct err *err)
{
    if (layout_check_id(o->group_id, "deployment group id", err) < 0)
        return -1;
    if (layout_make_instructions_dir(o->root_dir, err) < 0)
        return -1;
    AUTOFREE char *cleanup_path = layout_cleanup_path(o->root_dir, o->group_id);
    AUTOFREE char *json_path = layout_install_json_path(o->root_dir, o->group_id);
    struct cleanup_list old;
    if (cleanup_read(o, cleanup_path, &old, err) < 0)
        return -1;
    struct plan p = {.o = o, .archive_dir = o->archive_dir};
    effective_feb(as, o->spec_file_exists_behavior, &p);
    cleanup_simulate(&old, &p.gone);
    int r = make_plan(&p, as, err);
    /* Nothing has changed on the host up to here. */
    if (r == 0)
        r = cleanup_execute(o, &old, err);
    if (r == 0 && old.present && unlink(cleanup_path) < 0 && errno != ENOENT)
        r = err_sys(err, "Install: delete the cleanup file '%s'", cleanup_path);
    if (r == 0)
        r = write_install_json(&p, json_path, err);
    if (r == 0)
        r = execute(o, &p, cleanup_path, err);
    if (r == 0)
        r = layout_record_last_successful(o->root_dir, o->group_id, o->deployment_dir, err);
    cleanup_list_done(&old);
    plan_done(&p);
    return r;
}
