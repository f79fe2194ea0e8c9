/* localcheck: see localcheck.h. */
#include "cli/localcheck.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "parse/appspec.h"
#include "base/path.h"
#include "base/fsutil.h"

#define SCRIPT_READ_MAX (4 * 1024 * 1024) /* bytes of a script read for line endings */
#define WALK_MAX_DEPTH 64

struct check {
    const struct localcheck_opts *o;
    struct lint_report *r;
    const struct appspec *as;
    const char *text; /* the AppSpec text */
    size_t len;
    char **gone; /* paths of the previous install (cleanup file), owned */
    size_t n_gone;
    const char *feb;  /* effective file_exists_behavior */
    size_t conflicts; /* reported for the current files entry */
    size_t more;      /* not reported for the current files entry */
};

/* Add a problem about line `line` of the AppSpec, quoting it. */
__attribute__((format(printf, 5, 6))) static void spec_problem(struct check *c,
                                                               enum lint_severity sev, int line,
                                                               const char *fix, const char *fmt,
                                                               ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    AUTOFREE char *q = line > 0 ? lint_quote_line(c->text, c->len, line) : NULL;
    lint_add(c->r, sev, c->as->filename, line, q, fix, "%s", msg);
}

/* ---------------------------------------------------------------------------------------------
 * AppSpec
 */

/* "<file> line <n>: msg" -> "msg" (the report shows file and line itself). */
static const char *strip_prefix(const char *msg, const char *file)
{
    size_t n = strlen(file);
    if (strncmp(msg, file, n) != 0)
        return msg;
    const char *p = msg + n;
    if (str_has_prefix(p, ": "))
        return p + 2;
    if (!str_has_prefix(p, " line "))
        return msg;
    p += 6;
    while (*p >= '0' && *p <= '9')
        p++;
    return str_has_prefix(p, ": ") ? p + 2 : msg;
}

static void spec_failure(struct check *c, const char *file, const struct err *e,
                         const struct lint_hint *h, int line)
{
    int at = h->line > 0 ? h->line : line;
    AUTOFREE char *q = at > 0 ? lint_quote_line(c->text, c->len, at) : NULL;
    const char *msg = strip_prefix(e->msg, file);
    if (msg == e->msg || at != line) {
        /* "line 6 column 15: ..." keeps its place in the message; only the file name goes. */
        msg = e->msg;
        if (str_has_prefix(msg, file) && msg[strlen(file)] == ' ')
            msg += strlen(file) + 1;
    }
    lint_add(c->r, LINT_ERROR, file, at, q, h->line > 0 ? h->advice : NULL, "%s", msg);
}

static void spec_warnings(struct check *c)
{
    const struct appspec *as = c->as;
    for (size_t i = 0; i < as->n_warnings; i++) {
        const char *msg = strip_prefix(as->warnings[i], as->filename);
        int line = as->warning_lines[i];
        switch (as->warning_kinds[i]) {
        case APPSPEC_WARN_HOOK_NAME:
            spec_problem(c, LINT_ERROR, line,
                         "use the event's exact name (names are case-sensitive); a deployment "
                         "from CodeDeploy fails on an unknown event (R-144)",
                         "%s", msg);
            break;
        case APPSPEC_WARN_EVENT_TIMEOUT:
            spec_problem(c, LINT_ERROR, line,
                         "lower the `timeout:` values so each event adds up to 3600 s or less",
                         "%s", msg);
            break;
        default:
            spec_problem(c, LINT_WARNING, line, NULL, "%s", msg);
            break;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Scripts
 */

static bool is_shell(const char *interp, const char *path)
{
    const char *base = strrchr(interp, '/');
    base = base ? base + 1 : interp;
    return str_has_suffix(path, ".sh") || str_has_prefix(base, "sh") ||
           str_has_prefix(base, "bash") || str_has_prefix(base, "dash") ||
           str_has_prefix(base, "zsh") || str_has_prefix(base, "ksh");
}

/* Interpreter and line endings of a script that exists. */
static char *lf_fix(const char *loc)
{
    return xasprintf("save the script with Unix line endings (LF): `sed -i 's/\\r$//' %s` or "
                     "`dos2unix %s`",
                     loc, loc);
}

static void script_content(struct check *c, const char *loc, const char *path)
{
    AUTOFREE char *text = NULL;
    size_t len = 0;
    struct err e = ERR_INIT;
    if (read_file(path, SCRIPT_READ_MAX, &text, &len, &e) < 0) {
        lint_add(c->r, LINT_WARNING, loc, 0, NULL, NULL, "cannot read the script: %s", e.msg);
        return;
    }
    struct lint_shebang sb;
    lint_shebang(text, len, &sb);
    AUTOFREE char *line1 = lint_quote_line(text, len, 1);
    if (sb.present && (sb.interp[0] != '/' || access(sb.interp, X_OK) != 0)) {
        char msg[512];
        lint_interp_message(&sb, msg, sizeof(msg));
        AUTOFREE char *fix = sb.cr ? lf_fix(loc)
                                   : xstrdup("install that interpreter on this host, or name one "
                                             "that exists (e.g. `#!/bin/bash`)");
        lint_add(c->r, LINT_ERROR, loc, 1, line1, fix, "%s", msg);
        return; /* the line endings are the same problem */
    }
    int crlf = lint_crlf_line(text, len);
    if (crlf > 0 && is_shell(sb.interp, loc)) {
        AUTOFREE char *q = lint_quote_line(text, len, crlf);
        AUTOFREE char *fix = lf_fix(loc);
        lint_add(c->r, LINT_WARNING, loc, crlf, q, fix,
                 "Windows line ending (CRLF) from line %d on: the shell reads each command with "
                 "a trailing '\\r'",
                 crlf);
    }
}

static void check_script(struct check *c, const struct appspec_script *sc)
{
    AUTOFREE char *path = NULL;
    struct err e = ERR_INIT;
    if (appspec_path_in_archive(c->o->bundle_dir, sc->location_rel, &path, &e) < 0) {
        spec_problem(c, LINT_ERROR, sc->line, "use a path inside the bundle", "%s", e.msg);
        return;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        spec_problem(c, LINT_ERROR, sc->line,
                     "add the script to the bundle, or fix `location:` (it is relative to the "
                     "bundle's top directory)",
                     "script %s is not in the bundle", sc->location);
    } else if (S_ISDIR(st.st_mode)) {
        spec_problem(c, LINT_ERROR, sc->line, "point `location:` at the script file itself",
                     "script %s is a directory, not a file", sc->location);
    } else if (!S_ISREG(st.st_mode)) {
        spec_problem(c, LINT_ERROR, sc->line, "point `location:` at a regular file",
                     "script %s is not a regular file", sc->location);
    } else {
        if (!(st.st_mode & 0111)) {
            AUTOFREE char *fix = xasprintf("`chmod +x %s` (in git: `git update-index --chmod=+x "
                                           "%s`)",
                                           sc->location_rel, sc->location_rel);
            spec_problem(c, LINT_WARNING, sc->line, fix,
                         "script %s is not executable; the agent will try `chmod a+x` (R-153)",
                         sc->location);
        }
        script_content(c, sc->location_rel, path);
    }
}

/* The user (or group) `name`, given by `key:` in the item starting on item_line, must exist. */
static void need_principal(struct check *c, int item_line, const char *key, const char *name,
                           bool group, const char *what)
{
    if (!name || (group ? getgrnam(name) != NULL : getpwnam(name) != NULL))
        return;
    const char *kind = group ? "group" : "user";
    AUTOFREE char *fix = xasprintf("create the %s (`%s %s`) before deploying, or change `%s:` to "
                                   "a %s that exists",
                                   kind, group ? "groupadd" : "useradd", name, key, kind);
    spec_problem(c, LINT_ERROR, lint_key_line(c->text, c->len, item_line, key), fix,
                 "%s does not exist on this host", what);
}

static bool seen_before(const struct appspec *as, size_t ev, size_t k)
{
    const char *loc = as->events[ev].scripts[k].location_rel;
    for (size_t i = 0; i <= ev; i++)
        for (size_t j = 0; j < (i == ev ? k : as->events[i].n_scripts); j++)
            if (strcmp(as->events[i].scripts[j].location_rel, loc) == 0)
                return true;
    return false;
}

static void check_scripts(struct check *c)
{
    const struct appspec *as = c->as;
    for (size_t i = 0; i < as->n_events; i++) {
        for (size_t k = 0; k < as->events[i].n_scripts; k++) {
            const struct appspec_script *sc = &as->events[i].scripts[k];
            if (!seen_before(as, i, k))
                check_script(c, sc);
            AUTOFREE char *what = sc->runas ? xasprintf("runas user '%s'", sc->runas) : NULL;
            need_principal(c, sc->line, "runas", sc->runas, false, what);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Files and permissions
 */

static void load_gone(struct check *c)
{
    if (!c->o->root_dir || !c->o->group_id)
        return;
    AUTOFREE char *path = layout_cleanup_path(c->o->root_dir, c->o->group_id);
    AUTOFREE char *text = NULL;
    size_t len = 0;
    if (read_file(path, SCRIPT_READ_MAX, &text, &len, NULL) < 0)
        return;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        c->gone = xrealloc(c->gone, (c->n_gone + 1) * sizeof(*c->gone));
        c->gone[c->n_gone++] = xstrdup(l);
    }
}

static bool is_gone(const struct check *c, const char *target)
{
    for (size_t i = 0; i < c->n_gone; i++)
        if (strcmp(c->gone[i], target) == 0)
            return true;
    return false;
}

static void target(struct check *c, const struct appspec_file *f, const char *dst)
{
    struct stat st;
    if (stat(dst, &st) < 0 || S_ISDIR(st.st_mode) || is_gone(c, dst) ||
        strcmp(c->feb, "DISALLOW") != 0)
        return;
    if (c->conflicts == LOCALCHECK_MAX_CONFLICTS) {
        c->more++;
        return;
    }
    c->conflicts++;
    spec_problem(c, LINT_ERROR, f->line,
                 c->as->file_exists_behavior != APPSPEC_FEB_UNSET
                     ? "remove the file, or change `file_exists_behavior:` in the AppSpec to "
                       "OVERWRITE (or RETAIN)"
                     : "remove the file, or set `file_exists_behavior: OVERWRITE` (or RETAIN) in "
                       "the AppSpec, or run with --file-exists-behavior OVERWRITE",
                 "%s already exists and file_exists_behavior is DISALLOW: Install would fail with "
                 "\"The deployment failed because a specified file already exists at this "
                 "location: %s\"",
                 dst, dst);
}

static void walk(struct check *c, const struct appspec_file *f, const char *src, const char *dst,
                 int depth)
{
    DIR *d = depth < WALK_MAX_DEPTH ? opendir(src) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        AUTOFREE char *s = path_join(src, de->d_name);
        AUTOFREE char *t = path_join(dst, de->d_name);
        if (dir_exists(s))
            walk(c, f, s, t, depth + 1);
        else
            target(c, f, t);
    }
    closedir(d);
}

static void check_files(struct check *c)
{
    const struct appspec *as = c->as;
    for (size_t i = 0; i < as->n_files; i++) {
        const struct appspec_file *f = &as->files[i];
        AUTOFREE char *src = NULL;
        struct err e = ERR_INIT;
        struct stat st;
        if (appspec_path_in_archive(c->o->bundle_dir, f->source_rel, &src, &e) < 0 ||
            stat(src, &st) < 0) {
            spec_problem(c, LINT_ERROR, f->line,
                         "add it to the bundle, or fix `source:` (it is relative to the bundle's "
                         "top directory; `/` means the whole bundle)",
                         "files source '%s' is not in the bundle", f->source);
            continue;
        }
        c->conflicts = c->more = 0;
        if (S_ISDIR(st.st_mode)) {
            walk(c, f, src, f->destination, 0);
        } else {
            const char *base = strrchr(src, '/');
            AUTOFREE char *t = path_join(f->destination, base ? base + 1 : src);
            target(c, f, t);
        }
        if (c->more)
            spec_problem(c, LINT_ERROR, f->line, NULL,
                         "%zu more files under %s already exist (not listed)", c->more,
                         f->destination);
    }
}

/* Does object lie in what the revision installs (a files destination or below)? */
static bool installed(const struct appspec *as, const char *object)
{
    for (size_t i = 0; i < as->n_files; i++) {
        const char *d = as->files[i].destination;
        size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
            n--;
        if (strncmp(object, d, n) == 0 && (object[n] == '\0' || object[n] == '/' || n == 1))
            return true;
    }
    return false;
}

static void check_permissions(struct check *c)
{
    const struct appspec *as = c->as;
    for (size_t i = 0; i < as->n_permissions; i++) {
        const struct appspec_permission *p = &as->permissions[i];
        if (!installed(as, p->object))
            continue;
        AUTOFREE char *owner =
            p->owner ? xasprintf("permissions owner '%s' for %s", p->owner, p->object) : NULL;
        AUTOFREE char *group =
            p->group ? xasprintf("permissions group '%s' for %s", p->group, p->object) : NULL;
        need_principal(c, p->line, "owner", p->owner, false, owner);
        need_principal(c, p->line, "group", p->group, true, group);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Driver
 */

static const char *effective_feb(const struct appspec *as, const char *cli)
{
    switch (as->file_exists_behavior) {
    case APPSPEC_FEB_OVERWRITE:
        return "OVERWRITE";
    case APPSPEC_FEB_RETAIN:
        return "RETAIN";
    case APPSPEC_FEB_DISALLOW:
        return "DISALLOW";
    default:
        return cli ? cli : "DISALLOW";
    }
}

static void check_parsed(struct check *c)
{
    c->feb = effective_feb(c->as, c->o->file_exists_behavior);
    load_gone(c);
    spec_warnings(c);
    check_scripts(c);
    check_files(c);
    check_permissions(c);
}

void localcheck_bundle(const struct localcheck_opts *o, struct lint_report *r, char **ret_appspec)
{
    struct err e = ERR_INIT;
    AUTOFREE char *path = NULL;
    *ret_appspec = NULL;
    const char *name = o->appspec_name ? o->appspec_name : APPSPEC_DEFAULT_NAME;
    if (appspec_find(o->bundle_dir, o->appspec_name, &path, &e) < 0) {
        lint_add(r, LINT_ERROR, name, 0, NULL,
                 "put appspec.yml in the top directory of the bundle (not in a subdirectory)", "%s",
                 e.msg);
        return;
    }
    const char *slash = strrchr(path, '/');
    const char *file = slash ? slash + 1 : path;
    AUTOFREE char *text = NULL;
    size_t len = 0;
    struct appspec *as = NULL;
    struct lint_hint h;
    int line = 0;
    struct check c = {.o = o, .r = r};
    if (read_file(path, APPSPEC_MAX_SIZE_BYTES, &text, &len, &e) < 0) {
        lint_add(r, LINT_ERROR, file, 0, NULL, NULL, "%s", e.msg);
    } else if (appspec_parse_hinted(text, len, file, &as, &h, &line, &e) < 0) {
        c.text = text;
        c.len = len;
        spec_failure(&c, file, &e, &h, line);
        appspec_lint(text, len, file, r);
    } else {
        c.as = as;
        c.text = text;
        c.len = len;
        appspec_lint(text, len, file, r);
        check_parsed(&c);
    }
    lint_report_sort(r, file);
    for (size_t i = 0; i < c.n_gone; i++)
        free(c.gone[i]);
    free(c.gone);
    appspec_free(as);
    *ret_appspec = path;
    path = NULL;
}
