/*
 * appspec-tree: the helpers the AppSpec section checks share: failing and warning with the
 * "<file> line <n>:" prefix, mapping lookup with "<<" merge keys, rendering values for messages,
 * archive-relative path normalisation and the hook-name edit distance.  See appspec-internal.h.
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

#define MAX_MERGE_DEPTH 8 /* nested "<<" merge keys followed */
#define INSPECT_MAX 120   /* bytes of a value quoted back in a message */

size_t appspec_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 256 || lb > 256)
        return SIZE_MAX;
    /* Three rows of the optimal-string-alignment matrix. */
    size_t rows[3][257];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = (char)tolower((unsigned char)a[i - 1]);
            char cb = (char)tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == (char)tolower((unsigned char)b[j - 2]) &&
                (char)tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

__attribute__((format(printf, 4, 0))) int appspec_failv(struct appspec_ctx *c, int code, int line,
                                                        const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    c->failed = true;
    c->fail_line = line > 0 ? line : 0;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0)
        return err_set(c->err, code, "%s line %d: %s", c->file, line, msg);
    return err_set(c->err, code, "%s: %s", c->file, msg);
}

__attribute__((format(printf, 4, 5))) int appspec_fail(struct appspec_ctx *c, int code, int line,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    appspec_failv(c, code, line, fmt, ap);
    va_end(ap);
    return -1;
}

void appspec_warn(struct appspec_ctx *c, enum appspec_warning_kind kind, int line, const char *fmt,
                  ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct appspec *as = c->as;
    size_t n = as->n_warnings + 1;
    as->warnings = xrealloc(as->warnings, n * sizeof(*as->warnings));
    as->warning_kinds = xrealloc(as->warning_kinds, n * sizeof(*as->warning_kinds));
    as->warning_lines = xrealloc(as->warning_lines, n * sizeof(*as->warning_lines));
    as->warning_kinds[n - 1] = kind;
    as->warning_lines[n - 1] = line;
    as->warnings[as->n_warnings++] = xasprintf("%s line %d: %s", c->file, line, msg);
}

int appspec_hint(struct appspec_ctx *c, int line, const char *advice)
{
    if (c->hint.line > 0 || line <= 0)
        return -1;
    AUTOFREE char *q = lint_quote_line(c->text, c->len, line);
    if (!q)
        return -1;
    c->hint.line = line;
    snprintf(c->hint.quote, sizeof(c->hint.quote), "%s", q);
    snprintf(c->hint.advice, sizeof(c->hint.advice), "%s", advice);
    return -1;
}

static bool is_merge_key(const struct yaml11_node *k)
{
    return k->kind == YAML11_SCALAR && k->plain && !k->tag && strcmp(k->text, "<<") == 0;
}

/*
 * Visit a mapping's pairs in order, splicing in "<<" merge keys at their place (as Psych does:
 * later keys override earlier ones).  *budget bounds the merged mappings visited, so aliases
 * cannot make a lookup exponential.  Stops and returns the callback's non-zero result.
 */
int appspec_map_each(struct appspec_ctx *c, const struct yaml11_node *m, appspec_pair_fn fn,
                     void *ud, int depth, size_t *budget)
{
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct yaml11_node *k = m->kids[i], *v = m->kids[i + 1];
        int r = 0;
        if (is_merge_key(k) && depth < MAX_MERGE_DEPTH &&
            (v->kind == YAML11_MAP || v->kind == YAML11_SEQ)) {
            size_t nm = v->kind == YAML11_MAP ? 1 : v->n;
            for (size_t j = 0; j < nm && r == 0; j++) {
                const struct yaml11_node *mm = v->kind == YAML11_MAP ? v : v->kids[j];
                if (mm->kind != YAML11_MAP)
                    continue;
                if (*budget == 0)
                    return appspec_fail(c, ERR_LIMIT, k->line,
                                        "too many '<<' merge keys (more than %d "
                                        "merged mappings in one lookup)",
                                        APPSPEC_MAX_MERGE_VISITS);
                --*budget;
                r = appspec_map_each(c, mm, fn, ud, depth + 1, budget);
            }
        } else {
            r = fn(c, k, v, ud);
        }
        if (r != 0)
            return r;
    }
    return 0;
}

struct get_ud {
    const char *key;
    const struct yaml11_node *value;
};

static int get_fn(struct appspec_ctx *c, const struct yaml11_node *k, const struct yaml11_node *v,
                  void *ud)
{
    struct get_ud *g = ud;
    (void)c;
    if (k->kind == YAML11_SCALAR && strcmp(k->text, g->key) == 0)
        g->value = v; /* the last one wins, as in a Ruby Hash */
    return 0;
}

/* Value of key in mapping m, or NULL when absent. */
const struct yaml11_node *appspec_get(struct appspec_ctx *c, const struct yaml11_node *m,
                                      const char *key)
{
    struct get_ud g = {key, NULL};
    size_t budget = APPSPEC_MAX_MERGE_VISITS;
    if (appspec_map_each(c, m, get_fn, &g, 0, &budget) < 0)
        return NULL;
    return g.value;
}

const char *appspec_kind_name(const struct yaml11_node *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YAML11_SEQ:
        return "a list";
    case YAML11_MAP:
        return "a mapping";
    default:
        return "a scalar";
    }
}

/* A value as Ruby's to_s would render it, for scalars; NULL for collections.  Caller frees. */
char *appspec_to_s(const struct yaml11_node *n)
{
    if (!n || n->kind != YAML11_SCALAR)
        return NULL;
    struct yaml11_scalar s;
    yaml11_node_type(n, &s);
    switch (s.type) {
    case YAML11_NULL:
        return xstrdup("");
    case YAML11_BOOL:
        return xstrdup(s.b ? "true" : "false");
    case YAML11_INT:
        if (!s.big)
            return xasprintf("%lld", (long long)s.i);
        return xstrdup(n->text);
    default:
        return xstrdup(n->text);
    }
}

/* A short rendering of any node for messages: scalars as text, collections in flow style. */
static void inspect(const struct yaml11_node *n, struct buf *b, int depth)
{
    /* Stop once the message budget is used up: aliases can make the tree look huge. */
    if (!n || b->len >= INSPECT_MAX)
        return;
    if (n->kind == YAML11_SCALAR) {
        (void)buf_append(b, n->text, strlen(n->text), NULL);
        return;
    }
    if (depth > 3) {
        (void)buf_append(b, "...", 3, NULL);
        return;
    }
    (void)buf_append(b, n->kind == YAML11_SEQ ? "[" : "{", 1, NULL);
    for (size_t i = 0; i < n->n; i++) {
        if (i > 0)
            (void)buf_append(b, n->kind == YAML11_MAP && i % 2 ? ": " : ", ", 2, NULL);
        inspect(n->kids[i], b, depth + 1);
    }
    (void)buf_append(b, n->kind == YAML11_SEQ ? "]" : "}", 1, NULL);
}

char *appspec_inspect(const struct yaml11_node *n)
{
    struct buf b;
    buf_init(&b, 2 * INSPECT_MAX);
    (void)buf_append(&b, "", 0, NULL);
    inspect(n, &b, 0);
    if (b.len >= INSPECT_MAX) {
        b.len = INSPECT_MAX;
        b.data[b.len] = '\0';
        (void)buf_append(&b, "...", 3, NULL);
    }
    return buf_steal(&b);
}

char *appspec_strip(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\n\r\f\v", s[n - 1]))
        n--;
    return xstrndup(s, n);
}

/*
 * Archive-relative lexical normalisation: leading '/' and "." dropped, ".." folded.  NULL when
 * a ".." would climb above the archive root.  Caller frees.
 */
char *appspec_rel_normalise(const char *in)
{
    size_t len = strlen(in);
    char *out = xmalloc(len + 1);
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (o == 0) {
                free(out);
                return NULL;
            }
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return out;
}

/* A string-valued key: NULL when absent/null, else the Ruby to_s text; -1 for a collection. */
int appspec_get_text(struct appspec_ctx *c, const struct yaml11_node *m, const char *key,
                     const char *what, char **ret)
{
    const struct yaml11_node *v = appspec_get(c, m, key);
    *ret = NULL;
    if (yaml11_is_null(v))
        return 0;
    if (v->kind != YAML11_SCALAR)
        return appspec_fail(c, ERR_APPSPEC, v->line, "%s '%s' must be a string, got %s", what, key,
                            appspec_kind_name(v));
    *ret = appspec_to_s(v);
    return 0;
}

int appspec_count_entry(struct appspec_ctx *c, int line)
{
    if (++c->entries > APPSPEC_MAX_ENTRIES)
        return appspec_fail(
            c, ERR_LIMIT, line,
            "more than %d files, permissions, hook events and scripts in total (aliases "
            "included)",
            APPSPEC_MAX_ENTRIES);
    return 0;
}

/* ---- hooks (R-141 - R-143) ---- */

/* Ruby truthiness: everything but nil and false. */
