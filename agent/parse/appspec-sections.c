/*
 * appspec-sections: the version, os, hooks, files and file_exists_behavior sections of an AppSpec
 * (R-135 - R-144), each checked and copied into struct appspec.  See appspec-internal.h.
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

static const char MSG_VERSION[] =
    "The deployment failed because an invalid version value (%s) was entered in the application "
    "specification file. Make sure your AppSpec file specifies \"0.0\" as the version, and then "
    "try again.";
static const char MSG_OS[] =
    "The deployment failed because the application specification file specifies an unsupported "
    "operating system (%s). Specify either \"linux\" or \"windows\" in the os section of the "
    "AppSpec file, and then try again.";
static const char MSG_FEB[] =
    "The deployment failed because an invalid file_exists_behavior value (%s) was entered in the "
    "application specification file. Make sure your AppSpec file specifies one of "
    "DISALLOW,OVERWRITE,RETAIN as the file_exists_behavior, and then try again.";
static const char MSG_NO_SOURCE[] =
    "The deployment failed because the application specification file specifies a destination "
    "file, but no source file. Update the files section of the AppSpec file, and then try again.";
static const char MSG_NO_DEST[] =
    "The deployment failed because the application specification file specifies only a source "
    "file (%s). Add the name of the destination file to the files section of the AppSpec file, "
    "and then try again.";
static const char MSG_NO_LOCATION[] =
    "The deployment failed because the application specification file specifies a script with no "
    "location value. Specify the location in the hooks section of the AppSpec file, and then try "
    "again.";
static const char MSG_TIMEOUT[] =
    "The deployment failed because an invalid timeout value was provided for a script in the "
    "application specification file. Make corrections in the hooks section of the AppSpec file, "
    "and then try again.";

/* the float 0.0, the integer 0 or the string "0.0". */
int appspec_section_version(struct appspec_ctx *c, const struct yaml11_node *root)
{
    const struct yaml11_node *v = appspec_get(c, root, "version");
    int line = v ? v->line : root->line;
    if (v && v->kind == YAML11_SCALAR) {
        struct yaml11_scalar s;
        yaml11_node_type(v, &s);
        if ((s.type == YAML11_FLOAT && s.f == 0.0) ||
            (s.type == YAML11_INT && s.i == 0 && !s.big) ||
            (s.type == YAML11_STR && strcmp(v->text, "0.0") == 0))
            return 0;
    }
    AUTOFREE char *shown = v && v->kind == YAML11_SCALAR ? appspec_to_s(v) : appspec_inspect(v);
    if (v)
        appspec_hint(c, line, "write `version: 0.0` (the only version there is)");
    else
        appspec_hint(c, 1, "add the line `version: 0.0` at the top of the file");
    return appspec_fail(c, ERR_APPSPEC, line, MSG_VERSION, shown);
}

/* only linux on this agent. */
int appspec_section_os(struct appspec_ctx *c, const struct yaml11_node *root)
{
    const struct yaml11_node *v = appspec_get(c, root, "os");
    int line = v ? v->line : root->line;
    if (v && v->kind == YAML11_SCALAR && strcmp(v->text, "linux") == 0) {
        struct yaml11_scalar s;
        yaml11_node_type(v, &s);
        if (s.type == YAML11_STR)
            return 0;
    }
    AUTOFREE char *shown = v && v->kind == YAML11_SCALAR ? appspec_to_s(v) : appspec_inspect(v);
    if (!v)
        appspec_hint(c, 1, "add the line `os: linux` (this agent deploys to Linux)");
    else if (v->kind == YAML11_SCALAR && strcmp(v->text, "windows") == 0)
        appspec_hint(c, line,
                     "this host runs Linux: write `os: linux`, or deploy this revision "
                     "to a Windows instance");
    else
        appspec_hint(c, line, "write `os: linux` (lower case; this agent deploys to Linux)");
    return appspec_fail(c, ERR_APPSPEC, line, MSG_OS, shown);
}

static bool truthy(const struct yaml11_node *n)
{
    if (yaml11_is_null(n))
        return false;
    if (n->kind != YAML11_SCALAR)
        return true;
    struct yaml11_scalar s;
    yaml11_node_type(n, &s);
    return !(s.type == YAML11_BOOL && !s.b);
}

/* A numeric string for timeout: optional sign, digits, optional fraction. */
static bool numeric_string(const char *t, double *ret)
{
    AUTOFREE char *s = appspec_strip(t);
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0)
        return false;
    p += digits;
    if (*p == '.') {
        p++;
        p += strspn(p, "0123456789");
    }
    if (*p)
        return false;
    *ret = strtod(s, NULL);
    return true;
}

static int parse_timeout(struct appspec_ctx *c, const struct yaml11_node *v, uint32_t *ret)
{
    if (yaml11_is_null(v)) {
        *ret = APPSPEC_DEFAULT_TIMEOUT_S;
        return 0;
    }
    double d = 0;
    bool ok = false;
    if (v->kind == YAML11_SCALAR) {
        struct yaml11_scalar s;
        yaml11_node_type(v, &s);
        if (s.type == YAML11_INT) {
            d = s.big ? (s.i < 0 ? -1.0 : 1e300) : (double)s.i;
            ok = true;
        } else if (s.type == YAML11_FLOAT) {
            d = s.f;
            ok = !isnan(d);
        } else if (s.type == YAML11_STR) {
            ok = numeric_string(v->text, &d);
        }
    }
    /* Ruby's to_i truncates, so anything below 1 becomes 0 or less. */
    if (!ok || !(d >= 1.0))
        return appspec_fail(c, ERR_APPSPEC, v->line,
                            "%s (hooks 'timeout' must be a positive number of "
                            "seconds, got '%s')",
                            MSG_TIMEOUT, v->kind == YAML11_SCALAR ? v->text : "");
    *ret = d >= (double)APPSPEC_TIMEOUT_CLAMP_S ? APPSPEC_TIMEOUT_CLAMP_S : (uint32_t)d;
    return 0;
}

static void script_done(struct appspec_script *s)
{
    free(s->location);
    free(s->location_rel);
    free(s->runas);
}

static int parse_script(struct appspec_ctx *c, const char *event, const struct yaml11_node *m,
                        struct appspec_script *s)
{
    memset(s, 0, sizeof(*s));
    s->line = m->line;
    if (m->kind != YAML11_MAP)
        return appspec_fail(c, ERR_APPSPEC, m->line,
                            "script of hook '%s' must be a mapping with 'location' (and optional "
                            "'timeout', 'runas'), got %s",
                            event, appspec_kind_name(m));
    const struct yaml11_node *loc = appspec_get(c, m, "location");
    if (loc && loc->kind != YAML11_SCALAR)
        return appspec_fail(c, ERR_APPSPEC, loc->line,
                            "hook '%s' script 'location' must be a string, got "
                            "%s",
                            event, appspec_kind_name(loc));
    AUTOFREE char *loc_s = yaml11_is_null(loc) ? NULL : appspec_to_s(loc);
    if (loc_s)
        s->location = appspec_strip(loc_s);
    if (!s->location || !s->location[0])
        return appspec_fail(c, ERR_APPSPEC, loc ? loc->line : m->line, "%s", MSG_NO_LOCATION);
    s->location_rel = appspec_rel_normalise(s->location);
    /* s->location is only ever set from loc, so loc is non-NULL here; the analyzer loses that
     * across the memset() above. */
    if (!s->location_rel)
        return appspec_fail(c, ERR_APPSPEC,
                            loc->line, /* NOLINT(clang-analyzer-core.NullDereference) */
                            APPSPEC_MSG_OUTSIDE, s->location);
    if (parse_timeout(c, appspec_get(c, m, "timeout"), &s->timeout_s) < 0)
        return -1;
    AUTOFREE char *runas = NULL;
    if (appspec_get_text(c, m, "runas", "hooks script", &runas) < 0)
        return -1;
    if (runas) {
        s->runas = appspec_strip(runas);
        if (!s->runas[0]) {
            free(s->runas);
            s->runas = NULL;
        }
    }
    s->sudo = truthy(appspec_get(c, m, "sudo"));
    return 0;
}

void appspec_event_done(struct appspec_event *e)
{
    for (size_t i = 0; i < e->n_scripts; i++)
        script_done(&e->scripts[i]);
    free(e->scripts);
    free(e->name);
}

static int parse_event(struct appspec_ctx *c, const char *name, int line,
                       const struct yaml11_node *v, struct appspec_event *e)
{
    memset(e, 0, sizeof(*e));
    e->name = xstrdup(name);
    e->line = line;
    if (v->kind != YAML11_SEQ)
        return appspec_fail(c, ERR_APPSPEC, v->line,
                            "hook '%s' must be a list of scripts (each with 'location'), got %s",
                            name, appspec_kind_name(v));
    e->scripts = xcalloc(v->n ? v->n : 1, sizeof(*e->scripts));
    uint64_t sum = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (appspec_count_entry(c, v->kids[i]->line) < 0)
            return -1;
        int r = parse_script(c, name, v->kids[i], &e->scripts[i]);
        e->n_scripts++;
        if (r < 0)
            return -1;
        sum += e->scripts[i].timeout_s;
    }
    if (sum > APPSPEC_EVENT_TIMEOUT_WARN_S)
        appspec_warn(
            c, APPSPEC_WARN_EVENT_TIMEOUT, line,
            "the scripts of hook '%s' have timeouts adding up to %llu s, more than the %d s "
            "CodeDeploy allows per lifecycle event",
            name, (unsigned long long)sum, APPSPEC_EVENT_TIMEOUT_WARN_S);
    return 0;
}

static int hooks_pair(struct appspec_ctx *c, const struct yaml11_node *k,
                      const struct yaml11_node *v, void *ud)
{
    (void)ud;
    struct appspec *as = c->as;
    if (k->kind != YAML11_SCALAR)
        return appspec_fail(c, ERR_APPSPEC, k->line,
                            "hooks: lifecycle event name must be a string, got %s",
                            appspec_kind_name(k));
    AUTOFREE char *name = appspec_to_s(k);
    const char *sugg = appspec_event_is_default(name) ? NULL : appspec_event_suggest(name, NULL, 0);
    if (sugg)
        appspec_warn(c, APPSPEC_WARN_HOOK_NAME, k->line, "unknown hook '%s'; did you mean '%s'?",
                     name, sugg);
    if (yaml11_is_null(v)) {
        /* a null event is as if absent (and drops an earlier duplicate). */
        for (size_t i = 0; i < as->n_events; i++) {
            if (strcmp(as->events[i].name, name) == 0) {
                appspec_event_done(&as->events[i]);
                memmove(&as->events[i], &as->events[i + 1],
                        (as->n_events - i - 1) * sizeof(*as->events));
                as->n_events--;
                break;
            }
        }
        return 0;
    }
    if (appspec_count_entry(c, k->line) < 0)
        return -1;
    if (as->n_events >= APPSPEC_MAX_EVENTS)
        return appspec_fail(c, ERR_LIMIT, k->line, "more than %d hook events", APPSPEC_MAX_EVENTS);
    struct appspec_event e;
    if (parse_event(c, name, k->line, v, &e) < 0) {
        appspec_event_done(&e);
        return -1;
    }
    for (size_t i = 0; i < as->n_events; i++) {
        if (strcmp(as->events[i].name, name) == 0) {
            /* Duplicate key: the last value wins, as in a Ruby Hash. */
            appspec_event_done(&as->events[i]);
            as->events[i] = e;
            return 0;
        }
    }
    as->events = xrealloc(as->events, (as->n_events + 1) * sizeof(*as->events));
    as->events[as->n_events++] = e;
    return 0;
}

int appspec_section_hooks(struct appspec_ctx *c, const struct yaml11_node *root)
{
    const struct yaml11_node *h = appspec_get(c, root, "hooks");
    if (yaml11_is_null(h))
        return 0;
    if (h->kind != YAML11_MAP)
        return appspec_fail(
            c, ERR_APPSPEC, h->line,
            "'hooks' must be a mapping from lifecycle event names to lists of scripts, "
            "got %s",
            appspec_kind_name(h));
    size_t budget = APPSPEC_MAX_MERGE_VISITS;
    return appspec_map_each(c, h, hooks_pair, NULL, 0, &budget) < 0 ? -1 : 0;
}

/* ---- files (R-139, R-140) ---- */

void appspec_file_done(struct appspec_file *f)
{
    free(f->source);
    free(f->source_rel);
    free(f->destination);
}

static int parse_file(struct appspec_ctx *c, const struct yaml11_node *m, struct appspec_file *f)
{
    memset(f, 0, sizeof(*f));
    f->line = m->line;
    if (m->kind != YAML11_MAP)
        return appspec_fail(
            c, ERR_APPSPEC, m->line,
            "'files' entry must be a mapping with 'source' and 'destination', got %s",
            appspec_kind_name(m));
    if (appspec_get_text(c, m, "source", "files", &f->source) < 0)
        return -1;
    if (!f->source)
        return appspec_fail(c, ERR_APPSPEC, m->line, "%s", MSG_NO_SOURCE);
    AUTOFREE char *dest = NULL;
    if (appspec_get_text(c, m, "destination", "files", &dest) < 0)
        return -1;
    if (!dest)
        return appspec_fail(c, ERR_APPSPEC, m->line, MSG_NO_DEST, f->source);
    const struct yaml11_node *src = appspec_get(c, m, "source");
    f->source_rel = appspec_rel_normalise(f->source);
    if (!f->source_rel)
        return appspec_fail(c, ERR_APPSPEC, src->line, APPSPEC_MSG_OUTSIDE, f->source);
    if (dest[0] == '/') {
        f->destination = TAKE_PTR(dest);
    } else {
        f->destination = xasprintf("/%s", dest);
        appspec_warn(c, APPSPEC_WARN_OTHER, appspec_get(c, m, "destination")->line,
                     "files destination '%s' is not an absolute path; installing to '%s'", dest,
                     f->destination);
    }
    return 0;
}

int appspec_section_files(struct appspec_ctx *c, const struct yaml11_node *root)
{
    const struct yaml11_node *v = appspec_get(c, root, "files");
    if (yaml11_is_null(v))
        return 0;
    if (v->kind != YAML11_SEQ)
        return appspec_fail(
            c, ERR_APPSPEC, v->line,
            "'files' must be a list of mappings with 'source' and 'destination', got %s",
            appspec_kind_name(v));
    struct appspec *as = c->as;
    as->files = xcalloc(v->n ? v->n : 1, sizeof(*as->files));
    for (size_t i = 0; i < v->n; i++) {
        if (appspec_count_entry(c, v->kids[i]->line) < 0)
            return -1;
        as->n_files++;
        if (parse_file(c, v->kids[i], &as->files[i]) < 0)
            return -1;
    }
    return 0;
}

/* ---- permissions (R-145 - R-149) ---- */

/* */
int appspec_section_feb(struct appspec_ctx *c, const struct yaml11_node *root)
{
    const struct yaml11_node *v = appspec_get(c, root, "file_exists_behavior");
    if (yaml11_is_null(v))
        return 0;
    if (v->kind == YAML11_SCALAR) {
        struct yaml11_scalar s;
        yaml11_node_type(v, &s);
        if (s.type == YAML11_STR) {
            if (strcmp(v->text, "DISALLOW") == 0)
                c->as->file_exists_behavior = APPSPEC_FEB_DISALLOW;
            else if (strcmp(v->text, "OVERWRITE") == 0)
                c->as->file_exists_behavior = APPSPEC_FEB_OVERWRITE;
            else if (strcmp(v->text, "RETAIN") == 0)
                c->as->file_exists_behavior = APPSPEC_FEB_RETAIN;
            if (c->as->file_exists_behavior != APPSPEC_FEB_UNSET)
                return 0;
        }
    }
    AUTOFREE char *shown = v->kind == YAML11_SCALAR ? appspec_to_s(v) : appspec_inspect(v);
    return appspec_fail(c, ERR_APPSPEC, v->line, MSG_FEB, shown);
}
