/*
 * appspec-lint: what a valid AppSpec can still get wrong without the agent failing: keys at the
 * wrong level (a hook at the top level never runs, a `files` key nested under `hooks` is never
 * read) and keys nobody reads (a misspelt `runas`).  Used by `codedeploy-local validate` only;
 * deployments keep the Ruby agent's behaviour of ignoring unknown keys.
 */
#include "parse/appspec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse/appspec-internal.h"
#include "parse/lint.h"
#include "parse/yaml.h"
#include "base/util.h"

static const char *const top_keys[] = {
    "version", "os", "files", "permissions", "hooks", "file_exists_behavior", NULL};
static const char *const file_keys[] = {"source", "destination", NULL};
static const char *const script_keys[] = {"location", "timeout", "runas", "sudo", NULL};
static const char *const perm_keys[] = {"object", "pattern", "except", "type",    "owner",
                                        "group",  "mode",    "acls",   "context", NULL};

struct lint_ctx {
    const char *text;
    size_t len;
    const char *file;
    struct lint_report *r;
};

static size_t count(const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

static bool in(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

__attribute__((format(printf, 5, 6))) static void
add(struct lint_ctx *x, enum lint_severity sev, int line, const char *fix, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    AUTOFREE char *q = lint_quote_line(x->text, x->len, line);
    lint_add(x->r, sev, x->file, line, q, fix, "%s", msg);
}

/* A key of the top level that the AppSpec does not define. */
static void top_key(struct lint_ctx *x, const struct yaml11_node *k)
{
    const char *name = k->text;
    const char *near = appspec_event_suggest(name, top_keys, count(top_keys));
    if (appspec_event_is_default(name) || appspec_event_suggest(name, NULL, 0))
        add(x, LINT_ERROR, k->line, "indent it under `hooks:` (2 spaces more than `hooks:`)",
            "lifecycle event '%s' is at the top level, so it never runs", name);
    else if (in(file_keys, name))
        add(x, LINT_ERROR, k->line, "move it into an item of the `files:` list: `  - source: ...`",
            "'%s' is at the top level; it belongs to an item of the 'files' list", name);
    else if (in(script_keys, name))
        add(x, LINT_ERROR, k->line, "move it into a script item under an event in `hooks:`",
            "'%s' is at the top level; it belongs to a script under an event in 'hooks'", name);
    else if (in(perm_keys, name))
        add(x, LINT_ERROR, k->line, "move it into an item of the `permissions:` list",
            "'%s' is at the top level; it belongs to an item of the 'permissions' list", name);
    else if (near) {
        char fix[128];
        snprintf(fix, sizeof(fix), "rename it to `%s:`", near);
        add(x, LINT_ERROR, k->line, fix,
            "unknown top-level key '%s' is ignored; did you mean '%s'?", name, near);
    } else
        add(x, LINT_WARNING, k->line, "remove it, or check its indentation",
            "unknown top-level key '%s' is ignored", name);
}

/* Keys of one mapping item of a section: unknown ones are ignored by the agent. */
static void item_keys(struct lint_ctx *x, const struct yaml11_node *m, const char *const *known,
                      const char *what)
{
    if (!m || m->kind != YAML11_MAP)
        return;
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct yaml11_node *k = m->kids[i];
        if (k->kind != YAML11_SCALAR || in(known, k->text) || strcmp(k->text, "<<") == 0)
            continue;
        if (in(top_keys, k->text)) {
            add(x, LINT_ERROR, k->line, "remove its indentation so it starts in column 1",
                "'%s' is nested inside %s, so it is never read; it belongs at the top level",
                k->text, what);
            continue;
        }
        const char *near = appspec_event_suggest(k->text, known, count(known));
        char fix[128];
        snprintf(fix, sizeof(fix), "rename it to `%s:`", near ? near : "?");
        add(x, LINT_WARNING, k->line, near ? fix : "remove it",
            near ? "unknown key '%s' in %s is ignored; did you mean '%s'?"
                 : "unknown key '%s' in %s is ignored%s",
            k->text, what, near ? near : "");
    }
}

static void list_items(struct lint_ctx *x, const struct yaml11_node *seq, const char *const *known,
                       const char *what)
{
    if (!seq || seq->kind != YAML11_SEQ)
        return;
    for (size_t i = 0; i < seq->n; i++)
        item_keys(x, seq->kids[i], known, what);
}

static void hooks(struct lint_ctx *x, const struct yaml11_node *h)
{
    if (!h || h->kind != YAML11_MAP)
        return;
    for (size_t i = 0; i + 1 < h->n; i += 2) {
        const struct yaml11_node *k = h->kids[i];
        if (k->kind == YAML11_SCALAR && in(top_keys, k->text)) {
            add(x, LINT_ERROR, k->line, "remove its indentation so it starts in column 1",
                "'%s' is nested inside 'hooks', so it is never read; it belongs at the top level",
                k->text);
            continue;
        }
        list_items(x, h->kids[i + 1], script_keys, "a hook script");
    }
}

void appspec_lint(const char *text, size_t len, const char *file, struct lint_report *r)
{
    struct yaml11_doc d;
    struct yaml11_error e;
    struct lint_ctx x = {text, len, file ? file : APPSPEC_DEFAULT_NAME, r};
    if (yaml11_load(text, len, NULL, &d, &e) == 0 && d.root && d.root->kind == YAML11_MAP) {
        const struct yaml11_node *root = d.root;
        for (size_t i = 0; i + 1 < root->n; i += 2) {
            const struct yaml11_node *k = root->kids[i], *v = root->kids[i + 1];
            if (k->kind != YAML11_SCALAR || strcmp(k->text, "<<") == 0)
                continue;
            if (!in(top_keys, k->text))
                top_key(&x, k);
            else if (strcmp(k->text, "files") == 0)
                list_items(&x, v, file_keys, "a 'files' item");
            else if (strcmp(k->text, "permissions") == 0)
                list_items(&x, v, perm_keys, "a 'permissions' item");
            else if (strcmp(k->text, "hooks") == 0)
                hooks(&x, v);
        }
    }
    yaml11_doc_done(&d);
}
