/*
 * appspec: see appspec.h.  The YAML front end (parse/yaml) turns the text into a node tree with
 * YAML 1.1 typing; the tree is validated section by section in the order of R-138 into a struct
 * appspec (appspec-sections.c, appspec-perm.c); this file holds the public API and the
 * file-system helpers.
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
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

const char *const appspec_default_events[APPSPEC_N_DEFAULT_EVENTS] = {
    "BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",
    "DownloadBundle",     "BeforeInstall",     "Install",
    "AfterInstall",       "ApplicationStart",  "ValidateService",
    "BeforeAllowTraffic", "AfterAllowTraffic",
};

static const char MSG_EMPTY[] =
    "The deployment failed because the application specification file was empty. Make sure your "
    "AppSpec file defines at minimum the 'version' and 'os' properties.";

/* ---------------------------------------------------------------------------------------------
 * Public API
 */

void appspec_free(struct appspec *as)
{
    if (!as)
        return;
    for (size_t i = 0; i < as->n_files; i++)
        appspec_file_done(&as->files[i]);
    free(as->files);
    for (size_t i = 0; i < as->n_permissions; i++)
        appspec_permission_done(&as->permissions[i]);
    free(as->permissions);
    for (size_t i = 0; i < as->n_events; i++)
        appspec_event_done(&as->events[i]);
    free(as->events);
    for (size_t i = 0; i < as->n_warnings; i++)
        free(as->warnings[i]);
    free(as->warnings);
    free(as->warning_kinds);
    free(as->warning_lines);
    free(as->filename);
    free(as);
}

/* The YAML front end's errors in the AppSpec's words. */
static int load_yaml(struct appspec_ctx *c, const char *text, size_t len, struct yaml11_doc *d)
{
    const struct yaml11_opts opts = {.reject_nul = true};
    struct yaml11_error e;
    if (yaml11_load(text, len, &opts, d, &e) == 0)
        return 0;
    switch (e.kind) {
    case YAML11_E_LIMIT:
        return appspec_fail(c, ERR_LIMIT, e.line, "%s", e.problem);
    case YAML11_E_NUL:
        return appspec_fail(c, ERR_APPSPEC, e.line, "%s", e.problem);
    case YAML11_E_ALIAS:
        return appspec_fail(c, ERR_APPSPEC, e.line, "invalid YAML: %s", e.problem);
    default:
        c->failed = true;
        c->fail_line = e.line;
        if (e.context[0])
            return err_set(c->err, ERR_APPSPEC, "%s line %d column %d: invalid YAML: %s %s",
                           c->file, e.line, e.column, e.problem, e.context);
        return err_set(c->err, ERR_APPSPEC, "%s line %d column %d: invalid YAML: %s", c->file,
                       e.line, e.column, e.problem);
    }
}

static int validate(struct appspec_ctx *c, const struct yaml11_node *root)
{
    if (yaml11_is_null(root))
        return appspec_fail(c, ERR_APPSPEC, 0, "%s", MSG_EMPTY);
    if (root->kind != YAML11_MAP)
        return appspec_fail(
            c, ERR_APPSPEC, root->line,
            "the AppSpec must be a mapping with 'version', 'os' and optional 'files', "
            "'permissions', 'hooks', 'file_exists_behavior', got %s",
            appspec_kind_name(root));
    /* R-138 order. */
    if (appspec_section_version(c, root) < 0 || appspec_section_os(c, root) < 0 ||
        appspec_section_hooks(c, root) < 0 || appspec_section_files(c, root) < 0 ||
        appspec_section_permissions(c, root) < 0 || appspec_section_feb(c, root) < 0)
        return -1;
    return 0;
}

int appspec_parse_hinted(const char *text, size_t len, const char *filename, struct appspec **ret,
                         struct lint_hint *ret_hint, int *ret_line, struct err *err)
{
    const char *file = filename ? filename : APPSPEC_DEFAULT_NAME;
    struct lint_hint unused;
    if (!ret_hint)
        ret_hint = &unused;
    memset(ret_hint, 0, sizeof(*ret_hint));
    if (ret_line)
        *ret_line = 0;
    if (len > APPSPEC_MAX_SIZE_BYTES)
        return err_set(err, ERR_LIMIT, "%s: file is %zu bytes, more than the %d allowed", file, len,
                       APPSPEC_MAX_SIZE_BYTES);
    struct appspec *as = xcalloc(1, sizeof(*as));
    as->filename = xstrdup(file);
    struct appspec_ctx c = {.file = as->filename, .text = text, .len = len, .err = err, .as = as};
    struct yaml11_doc d;
    int r = load_yaml(&c, text, len, &d);
    if (r == 0)
        r = validate(&c, d.root);
    yaml11_doc_done(&d);
    if (r < 0 || c.failed) {
        if (c.hint.line > 0)
            *ret_hint = c.hint;
        else if (!err || err->code == ERR_APPSPEC)
            (void)lint_yaml_hint(text, len, c.fail_line, ret_hint);
        if (ret_line)
            *ret_line = c.fail_line;
        appspec_free(as);
        return -1;
    }
    *ret = as;
    return 0;
}

int appspec_parse(const char *text, size_t len, const char *filename, struct appspec **ret,
                  struct err *err)
{
    struct lint_hint h;
    if (appspec_parse_hinted(text, len, filename, ret, &h, NULL, err) == 0)
        return 0;
    if (err && h.line > 0) {
        char hint[sizeof(h.quote) + sizeof(h.advice) + 32];
        lint_hint_format(&h, hint, sizeof(hint));
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, "; %s", hint);
    }
    return -1;
}

int appspec_load(const char *path, struct appspec **ret, struct err *err)
{
    AUTOFREE char *text = NULL;
    size_t len = 0;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (read_file(path, APPSPEC_MAX_SIZE_BYTES, &text, &len, err) < 0)
        return -1;
    return appspec_parse(text, len, base, ret, err);
}

/* realpath, or NULL with errno. */
static char *resolve(const char *p)
{
    return realpath(p, NULL);
}

static bool beneath(const char *root, const char *p)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return true;
    return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int appspec_path_in_archive(const char *archive_dir, const char *rel, char **ret_path,
                            struct err *err)
{
    AUTOFREE char *norm = appspec_rel_normalise(rel);
    if (!norm)
        return err_set(err, ERR_UNSAFE, APPSPEC_MSG_OUTSIDE, rel);
    AUTOFREE char *root = resolve(archive_dir);
    if (!root)
        return err_sys(err, "resolve revision directory '%s'", archive_dir);
    AUTOFREE char *joined = norm[0] ? path_join(archive_dir, norm) : xstrdup(archive_dir);
    /* Resolve the longest existing prefix: what a later open would actually reach. */
    AUTOFREE char *probe = xstrdup(joined);
    size_t base_len = strlen(archive_dir);
    for (;;) {
        AUTOFREE char *real = resolve(probe);
        if (real) {
            if (!beneath(root, real))
                return err_set(err, ERR_UNSAFE, APPSPEC_MSG_OUTSIDE, rel);
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR)
            return err_sys(err, "resolve AppSpec path '%s'", rel);
        char *slash = strrchr(probe, '/');
        if (!slash || (size_t)(slash - probe) < base_len)
            return err_sys(err, "resolve AppSpec path '%s'", rel);
        *slash = '\0';
    }
    *ret_path = TAKE_PTR(joined);
    return 0;
}

int appspec_find(const char *archive_dir, const char *preferred_name, char **ret_path,
                 struct err *err)
{
    const char *name = preferred_name && preferred_name[0] ? preferred_name : APPSPEC_DEFAULT_NAME;
    const char *candidates[] = {name, "appspec.yaml", "appspec.yml"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        AUTOFREE char *p = NULL;
        if (appspec_path_in_archive(archive_dir, candidates[i], &p, err) < 0)
            return -1;
        struct stat st;
        /* p is set whenever appspec_path_in_archive() returns 0: its error paths all return
         * err_set()/err_sys(), which always return -1 but live in err.c, out of the analyzer's
         * sight. */
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            *ret_path = TAKE_PTR(p);
            return 0;
        }
    }
    AUTOFREE char *full = path_join(archive_dir, name);
    return err_set(err, ERR_NOT_FOUND,
                   "The CodeDeploy agent did not find an AppSpec file within the unpacked revision "
                   "directory at revision-relative path \"%s\". The revision was unpacked to "
                   "directory \"%s\", and the AppSpec file was expected but not found at path "
                   "\"%s\". Consult the AWS CodeDeploy Appspec documentation for more information "
                   "at http://docs.aws.amazon.com/codedeploy/latest/userguide/"
                   "reference-appspec-file.html",
                   name, archive_dir, full);
}

const struct appspec_event *appspec_event_find(const struct appspec *as, const char *event)
{
    if (!as || !event)
        return NULL;
    for (size_t i = 0; i < as->n_events; i++)
        if (strcmp(as->events[i].name, event) == 0)
            return &as->events[i];
    return NULL;
}

const struct appspec_script *appspec_hooks_for(const struct appspec *as, const char *event,
                                               size_t *n)
{
    const struct appspec_event *e = appspec_event_find(as, event);
    *n = e ? e->n_scripts : 0;
    return e && e->n_scripts ? e->scripts : NULL;
}

bool appspec_event_is_default(const char *name)
{
    for (size_t i = 0; i < APPSPEC_N_DEFAULT_EVENTS; i++)
        if (str_eq(name, appspec_default_events[i]))
            return true;
    return false;
}

const char *appspec_event_suggest(const char *name, const char *const *candidates, size_t n)
{
    if (!candidates) {
        candidates = appspec_default_events;
        n = APPSPEC_N_DEFAULT_EVENTS;
    }
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = appspec_edit_distance(name, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    if (!best || strcmp(best, name) == 0)
        return NULL;
    size_t len = strlen(best);
    size_t limit = len <= 5 ? 1 : (len <= 10 ? 2 : 3);
    return best_d <= limit ? best : NULL;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

int appspec_check_events(const struct appspec *as, const char *const *all_events, size_t n_all,
                         const char *const *mapping_events, size_t n_mapping, struct err *err)
{
    const char *file = as->filename;
    struct buf b;
    buf_init(&b, ERR_MSG_MAX);
    const struct appspec_event *first = NULL;
    size_t unknown = 0;
    for (size_t i = 0; i < as->n_events; i++) {
        const char *name = as->events[i].name;
        if (in_list(name, all_events, n_all))
            continue;
        if (!first)
            first = &as->events[i];
        (void)buf_appendf(&b, NULL, "%s\"%s\"", unknown++ ? ", " : "", name);
    }
    for (size_t i = 0; i < n_mapping; i++) {
        const char *name = mapping_events[i];
        if (in_list(name, all_events, n_all) || appspec_event_find(as, name))
            continue;
        (void)buf_appendf(&b, NULL, "%s\"%s\"", unknown++ ? ", " : "", name);
    }
    if (unknown) {
        const char *sugg = first ? appspec_event_suggest(first->name, all_events, n_all) : NULL;
        if (first && sugg)
            err_set(err, ERR_APPSPEC,
                    "%s file contains unknown lifecycle events: [%s] (%s line %d: unknown hook "
                    "'%s'; did you mean '%s'?)",
                    file, b.data, file, first->line, first->name, sugg);
        else if (first)
            err_set(err, ERR_APPSPEC,
                    "%s file contains unknown lifecycle events: [%s] (%s line %d: unknown hook "
                    "'%s')",
                    file, b.data, file, first->line, first->name);
        else
            err_set(err, ERR_APPSPEC, "%s file contains unknown lifecycle events: [%s]", file,
                    b.data);
        buf_done(&b);
        return -1;
    }
    size_t missing = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (appspec_event_is_default(all_events[i]) || appspec_event_find(as, all_events[i]))
            continue;
        (void)buf_appendf(&b, NULL, "%s%s", missing++ ? "," : "", all_events[i]);
    }
    if (missing) {
        err_set(err, ERR_APPSPEC,
                "You specified a lifecycle event which is not a default one and doesn't exist in "
                "your %s file: %s",
                file, b.data);
        buf_done(&b);
        return -1;
    }
    buf_done(&b);
    return 0;
}
