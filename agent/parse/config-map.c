/*
 * config-map: the flat YAML mapping reader of config-internal.h (shared by config.c and onprem.c)
 * on top of the YAML front end (parse/yaml), plus the warning list and the YAML 1.1 typing
 * helpers the readers use.
 */
#include "parse/config-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/yaml.h"
#include "base/util.h"

void cfg_warn(struct cfg_warnings *w, const char *fmt, ...)
{
    if (w->n >= CFG_MAX_WARNINGS) {
        w->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    /* Room for this one and the NULL terminator cfg_warnings_finish() adds. */
    w->v = xrealloc(w->v, (w->n + 2) * sizeof(*w->v));
    w->v[w->n++] = s;
    w->v[w->n] = NULL;
}

void cfg_warnings_finish(struct cfg_warnings *w, const char *filename)
{
    if (w->dropped) {
        w->v = xrealloc(w->v, (w->n + 2) * sizeof(*w->v));
        w->v[w->n++] = xasprintf("%s: %zu more warnings not shown", filename, w->dropped);
        w->v[w->n] = NULL;
        w->dropped = 0;
    }
}

void cfg_warnings_done(struct cfg_warnings *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

void cfg_quote(const char *v, size_t len, char out[CFG_QUOTE_MAX + 4])
{
    size_t n = len < CFG_QUOTE_MAX ? len : CFG_QUOTE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (len > CFG_QUOTE_MAX) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = 0;
}

bool cfg_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

/* The YAML 1.1 typing of a plain scalar, from the one front end (parse/yaml). */
static enum yaml11_type plain_type(const char *s, struct yaml11_scalar *ret)
{
    yaml11_scalar_type(s, true, NULL, ret);
    return ret->type;
}

bool cfg_yaml11_null(const char *s)
{
    struct yaml11_scalar y;
    return plain_type(s, &y) == YAML11_NULL;
}

bool cfg_yaml11_bool(const char *s, bool *ret)
{
    struct yaml11_scalar y;
    if (plain_type(s, &y) != YAML11_BOOL)
        return false;
    *ret = y.b;
    return true;
}

bool cfg_yaml11_int(const char *s, int64_t *ret, bool *ret_octal)
{
    struct yaml11_scalar y;
    /* Sexagesimal "1:30" is YAML 1.1 too, but in a config it is more likely a typo. */
    if (strchr(s, ':') || plain_type(s, &y) != YAML11_INT || y.big)
        return false;
    *ret = y.i;
    *ret_octal = y.octal;
    return true;
}

/* Line (1-based) of byte offset off in text, for reader errors that carry only an offset. */
static size_t line_of_offset(const char *text, size_t len, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* The YAML front end's errors in the config's words. */
static int yaml_error(const struct yaml11_error *y, const char *text, size_t len, struct err *err)
{
    switch (y->kind) {
    case YAML11_E_READER:
        return err_set(err, ERR_CONFIG, "line %zu: %s (byte offset %zu)",
                       line_of_offset(text, len, y->offset), y->problem, y->offset);
    case YAML11_E_SYNTAX:
        if (y->context[0])
            return err_set(err, ERR_CONFIG, "line %d column %d: %s (%s started on line %d)",
                           y->line, y->column, y->problem, y->context, y->context_line);
        return err_set(err, ERR_CONFIG, "line %d column %d: %s", y->line, y->column, y->problem);
    default:
        return err_set(err, ERR_CONFIG, "line %d: %s", y->line, y->problem);
    }
}

static void entry_done(struct cfg_entry *e)
{
    free(e->key);
    if (e->value)
        freezero(e->value, e->value_len);
}

void cfg_map_done(struct cfg_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        entry_done(&m->v[i]);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static void entry_from_value(struct cfg_entry *e, const struct yaml11_node *v)
{
    switch (v->kind) {
    case YAML11_SCALAR:
        if (v->plain && cfg_yaml11_null(v->text)) {
            e->kind = CFG_NULL;
            break;
        }
        e->kind = CFG_SCALAR;
        e->value = xmalloc(v->len + 1);
        memcpy(e->value, v->text, v->len + 1);
        e->value_len = v->len;
        e->quoted = !v->plain;
        break;
    case YAML11_SEQ:
        e->kind = CFG_LIST;
        break;
    default:
        e->kind = CFG_MAP;
        break;
    }
}

static int map_from_root(const struct yaml11_node *root, const char *filename, struct cfg_map *m,
                         struct cfg_warnings *w, struct err *err)
{
    if (root->kind == YAML11_SCALAR) {
        if (root->plain && cfg_yaml11_null(root->text))
            return 0;
        return err_set(err, ERR_CONFIG,
                       "line %d: the top level must be a mapping of keys to values, not a "
                       "single value",
                       root->line);
    }
    if (root->kind != YAML11_MAP)
        return err_set(err, ERR_CONFIG,
                       "line %d: the top level must be a mapping of keys to values, not a list",
                       root->line);
    m->v = xcalloc(root->n ? root->n / 2 : 1, sizeof(*m->v));
    for (size_t i = 0; i + 1 < root->n; i += 2) {
        const struct yaml11_node *k = root->kids[i], *v = root->kids[i + 1];
        if (k->kind != YAML11_SCALAR) {
            cfg_warn(w, "%s line %d: a key that is not a plain value, ignoring", filename, k->line);
            continue;
        }
        struct cfg_entry *e = &m->v[m->n++];
        e->colon = k->text[0] == ':';
        e->key = xstrdup(e->colon ? k->text + 1 : k->text);
        e->line = (size_t)k->line;
        entry_from_value(e, v);
    }
    return 0;
}

int cfg_read_map(const char *text, size_t len, const char *filename, struct cfg_map *ret,
                 struct cfg_warnings *w, struct err *err)
{
    struct yaml11_doc doc;
    struct yaml11_error ye;
    struct cfg_map m = {NULL, 0};
    int r = -1;
    if (yaml11_load(text, len, NULL, &doc, &ye) < 0) {
        yaml_error(&ye, text, len, err);
        goto out;
    }
    if (doc.root && map_from_root(doc.root, filename, &m, w, err) < 0)
        goto out;
    /* Psych reads only the first document; say so when there is another one. */
    if (doc.root && doc.more_documents)
        cfg_warn(w, "%s: only the first YAML document is read, the rest is ignored", filename);
    *ret = m;
    m.v = NULL;
    m.n = 0;
    r = 0;
out:
    cfg_map_done(&m);
    yaml11_doc_done(&doc);
    return r;
}
