/*
 * appspec: see appspec.h.  Three stages: libyaml events become a small node tree (depth, node and
 * alias limits enforced here); scalars are typed as YAML 1.1 (Psych) would; the tree is validated
 * section by section in the order of R-138 into a struct appspec.
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
#include <yaml.h>

#include "parse/appspec-internal.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

const char *const appspec_default_events[APPSPEC_N_DEFAULT_EVENTS] = {
    "BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",    "DownloadBundle",
    "BeforeInstall",      "Install",           "AfterInstall",       "ApplicationStart",
    "ValidateService",    "BeforeAllowTraffic", "AfterAllowTraffic",
};

#define MAX_NODES 200000   /* YAML nodes per document */
#define MAX_ANCHORS 1000   /* anchors per document (alias lookup is linear) */
#define MAX_ALIASES 10000  /* alias uses per document */
#define MAX_MERGE_DEPTH 8  /* nested "<<" merge keys followed */
#define MAX_MERGE_VISITS 256  /* merged mappings visited per lookup */
#define INSPECT_MAX 120    /* bytes of a value quoted back in a message */

/* Make room in arr (n used of cap) for one more element, doubling the capacity. */
#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap) * 2 : 4;                                                         \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                       \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * YAML 1.1 scalar typing
 */

static bool ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* Digits of base in s (underscores allowed, at least one digit) into *ret; false if not. */
static bool parse_digits(const char *s, unsigned base, uint64_t *ret, bool *big)
{
    uint64_t v = 0;
    bool any = false;
    *big = false;
    for (; *s; s++) {
        unsigned d;
        if (*s == '_')
            continue;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (d >= base)
            return false;
        any = true;
        if (v > (UINT64_MAX - d) / base)
            *big = true;
        else
            v = v * base + d;
    }
    *ret = v;
    return any;
}

/* Sexagesimal integer "1:30" = 90 (YAML 1.1 base 60). */
static bool parse_base60(const char *s, uint64_t *ret, bool *big)
{
    uint64_t v = 0;
    *big = false;
    const char *p = s;
    bool first = true;
    int parts = 0;
    for (;;) {
        const char *colon = strchr(p, ':');
        if (++parts > 3)
            return false; /* Psych: at most two ":nn" groups */
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n == 0)
            return false;
        uint64_t part = 0;
        for (size_t k = 0; k < n; k++) {
            if (p[k] == '_' && first)
                continue;
            if (p[k] < '0' || p[k] > '9')
                return false;
            part = part * 10 + (uint64_t)(p[k] - '0');
            if (part > UINT32_MAX)
                *big = true;
        }
        if (!first && (n > 2 || part > 59))
            return false;
        if (v > UINT64_MAX / 60)
            *big = true;
        v = first ? part : v * 60 + part;
        first = false;
        if (!colon)
            break;
        p = colon + 1;
    }
    *ret = v;
    return true;
}

static bool type_int(const char *text, struct appspec_yscalar *s)
{
    const char *p = text;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    uint64_t v;
    bool big;
    bool ok;
    bool octal = false;
    if (p[0] == '0' && p[1] == 'b') {
        ok = parse_digits(p + 2, 2, &v, &big);
    } else if (p[0] == '0' && p[1] == 'x') {
        ok = parse_digits(p + 2, 16, &v, &big);
    } else if (p[0] >= '0' && p[0] <= '9' && strchr(p, ':')) {
        ok = parse_base60(p, &v, &big);
    } else if (p[0] == '0' && p[1] == '\0') {
        v = 0;
        big = false;
        ok = true;
    } else if (p[0] == '0') {
        ok = parse_digits(p + 1, 8, &v, &big);
        octal = ok;
    } else if (p[0] >= '1' && p[0] <= '9') {
        ok = parse_digits(p, 10, &v, &big);
    } else {
        ok = false;
    }
    if (!ok)
        return false;
    s->type = APPSPEC_Y_INT;
    s->octal = octal;
    if (big || v > (uint64_t)INT64_MAX) {
        s->big = true;
        s->i = neg ? INT64_MIN : INT64_MAX;
    } else {
        s->i = neg ? -(int64_t)v : (int64_t)v;
    }
    return true;
}

/* [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? with at least one digit, or .inf / .nan. */
static bool type_float(const char *text, struct appspec_yscalar *s)
{
    const char *p = text;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (ieq(p, ".inf") || (ieq(text, ".nan"))) {
        s->type = APPSPEC_Y_FLOAT;
        s->f = ieq(p, ".inf") ? (neg ? -INFINITY : INFINITY) : NAN;
        return true;
    }
    char clean[128];
    size_t n = 0;
    bool digits = false;
    bool dot = false;
    if (neg)
        clean[n++] = '-';
    for (; *p && n < sizeof(clean) - 1; p++) {
        if (*p >= '0' && *p <= '9') {
            digits = true;
            clean[n++] = *p;
        } else if (*p == '_') {
            continue;
        } else if (*p == '.' && !dot) {
            dot = true;
            clean[n++] = *p;
        } else if ((*p == 'e' || *p == 'E') && dot && digits) {
            if ((p[1] != '+' && p[1] != '-') || !(p[2] >= '0' && p[2] <= '9'))
                return false;
            clean[n++] = 'e';
            clean[n++] = p[1];
            for (p += 2; *p && n < sizeof(clean) - 1; p++) {
                if (*p < '0' || *p > '9')
                    return false;
                clean[n++] = *p;
            }
            break;
        } else {
            return false;
        }
    }
    if (*p || !dot || !digits)
        return false;
    clean[n] = '\0';
    s->type = APPSPEC_Y_FLOAT;
    s->f = strtod(clean, NULL);
    return true;
}

static bool is_null_text(const char *t)
{
    return t[0] == '\0' || strcmp(t, "~") == 0 || ieq(t, "null");
}

static void type_plain(const char *text, struct appspec_yscalar *s)
{
    if (is_null_text(text)) {
        s->type = APPSPEC_Y_NULL;
    } else if (ieq(text, "true") || ieq(text, "yes") || ieq(text, "on")) {
        s->type = APPSPEC_Y_BOOL;
        s->b = true;
    } else if (ieq(text, "false") || ieq(text, "no") || ieq(text, "off")) {
        s->type = APPSPEC_Y_BOOL;
        s->b = false;
    } else if (!type_int(text, s) && !type_float(text, s)) {
        s->type = APPSPEC_Y_STR;
    }
}

void appspec_yscalar_type(const char *text, bool plain, const char *tag,
                          struct appspec_yscalar *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->text = text;
    ret->quoted = !plain;
    ret->type = APPSPEC_Y_STR;
    if (tag && str_has_prefix(tag, "tag:yaml.org,2002:")) {
        const char *t = tag + strlen("tag:yaml.org,2002:");
        if (strcmp(t, "int") == 0)
            (void)type_int(text, ret);
        else if (strcmp(t, "float") == 0)
            (void)(type_int(text, ret) || type_float(text, ret));
        else if (strcmp(t, "bool") == 0 || strcmp(t, "null") == 0)
            type_plain(text, ret);
        if (ret->type == APPSPEC_Y_INT && strcmp(t, "float") == 0) {
            ret->type = APPSPEC_Y_FLOAT;
            ret->f = (double)ret->i;
        }
        return;
    }
    if (tag && strcmp(tag, "!") == 0)
        return;
    if (plain)
        type_plain(text, ret);
}

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

/* ---------------------------------------------------------------------------------------------
 * YAML node tree built from libyaml events
 */

enum ykind { YK_SCALAR, YK_SEQ, YK_MAP };

struct ynode {
    enum ykind kind;
    int line;               /* 1-based */
    char *text;             /* owned; scalar text, NUL-terminated */
    char *tag;              /* owned; explicit tag or NULL */
    bool plain;             /* plain scalar style */
    struct ynode **kids;    /* owned array of borrowed nodes; a map alternates key, value */
    size_t n, cap;
};

struct ytree {
    struct ynode **nodes;   /* owned nodes */
    size_t n_nodes, cap_nodes;
    char **anchors;         /* owned names */
    struct ynode **anchored;  /* borrowed */
    size_t n_anchors, cap_anchors;
    size_t n_aliases;
    struct ynode *root;     /* borrowed; NULL for an empty stream */
};

static void ytree_done(struct ytree *t)
{
    for (size_t i = 0; i < t->n_nodes; i++) {
        free(t->nodes[i]->text);
        free(t->nodes[i]->tag);
        free(t->nodes[i]->kids);
        free(t->nodes[i]);
    }
    free(t->nodes);
    for (size_t i = 0; i < t->n_anchors; i++)
        free(t->anchors[i]);
    free(t->anchors);
    free(t->anchored);
    memset(t, 0, sizeof(*t));
}

struct ctx {
    const char *file;       /* borrowed: name for messages */
    struct err *err;        /* borrowed */
    struct appspec *as;     /* borrowed: being built */
    size_t entries;         /* files + permissions + scripts so far */
    bool failed;            /* fail() was called (err may be NULL) */
};

__attribute__((format(printf, 4, 0))) static int failv(struct ctx *c, int code, int line,
                                                       const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    c->failed = true;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0)
        return err_set(c->err, code, "%s line %d: %s", c->file, line, msg);
    return err_set(c->err, code, "%s: %s", c->file, msg);
}

__attribute__((format(printf, 4, 5))) static int fail(struct ctx *c, int code, int line,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, code, line, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 3, 4))) static void warn(struct ctx *c, int line, const char *fmt,
                                                       ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct appspec *as = c->as;
    as->warnings = xrealloc(as->warnings, (as->n_warnings + 1) * sizeof(*as->warnings));
    as->warnings[as->n_warnings++] = xasprintf("%s line %d: %s", c->file, line, msg);
}

static struct ynode *ytree_add(struct ytree *t, enum ykind kind, const yaml_mark_t *mark)
{
    struct ynode *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (int)mark->line + 1;
    GROW(t->nodes, t->n_nodes, t->cap_nodes); /* NOLINT(bugprone-sizeof-expression): pointers */
    t->nodes[t->n_nodes++] = n;
    return n;
}

static void ytree_anchor(struct ytree *t, const yaml_char_t *anchor, struct ynode *n)
{
    if (!anchor)
        return;
    if (t->n_anchors == t->cap_anchors) {
        t->cap_anchors = t->cap_anchors ? t->cap_anchors * 2 : 4;
        t->anchors = xrealloc(t->anchors, t->cap_anchors * sizeof(*t->anchors));
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as intended */
        t->anchored = xrealloc(t->anchored, t->cap_anchors * sizeof(*t->anchored));
    }
    t->anchors[t->n_anchors] = xstrdup((const char *)anchor);
    t->anchored[t->n_anchors++] = n;
}

static struct ynode *ytree_alias(const struct ytree *t, const yaml_char_t *anchor)
{
    for (size_t i = t->n_anchors; i-- > 0;)
        if (strcmp(t->anchors[i], (const char *)anchor) == 0)
            return t->anchored[i];
    return NULL;
}

static int yaml_syntax_error(struct ctx *c, const yaml_parser_t *p)
{
    c->failed = true;
    const char *problem = p->problem ? p->problem : "unknown error";
    int line = (int)p->problem_mark.line + 1;
    int col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_MEMORY_ERROR)
        abort();
    if (p->context)
        return err_set(c->err, ERR_APPSPEC, "%s line %d column %d: invalid YAML: %s %s", c->file,
                       line, col, problem, p->context);
    return err_set(c->err, ERR_APPSPEC, "%s line %d column %d: invalid YAML: %s", c->file, line,
                   col, problem);
}

struct builder {
    struct ytree *t;
    struct ynode *stack[APPSPEC_MAX_DEPTH];
    size_t depth;
    bool done;
};

static void attach(struct builder *b, struct ynode *n)
{
    if (b->depth == 0) {
        b->t->root = n;
        return;
    }
    struct ynode *parent = b->stack[b->depth - 1];
    GROW(parent->kids, parent->n, parent->cap); /* NOLINT(bugprone-sizeof-expression): pointers */
    parent->kids[parent->n++] = n;
}

/* Handle one parser event; -1 with err set on a structural problem. */
static int build_event(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
    struct ynode *n;
    if (b->t->n_nodes >= MAX_NODES)
        return fail(c, ERR_LIMIT, (int)ev->start_mark.line + 1,
                    "document has more than %d YAML nodes", MAX_NODES);
    if (b->t->n_anchors >= MAX_ANCHORS || b->t->n_aliases >= MAX_ALIASES)
        return fail(c, ERR_LIMIT, (int)ev->start_mark.line + 1,
                    "document has more than %d anchors or %d aliases", MAX_ANCHORS, MAX_ALIASES);
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        /* "\0" escapes would silently cut paths short in C strings. */
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
            return fail(c, ERR_APPSPEC, (int)ev->start_mark.line + 1,
                        "a value contains a NUL character");
        n = ytree_add(b->t, YK_SCALAR, &ev->start_mark);
        n->text = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (ev->data.scalar.tag)
            n->tag = xstrdup((const char *)ev->data.scalar.tag);
        ytree_anchor(b->t, ev->data.scalar.anchor, n);
        attach(b, n);
        return 0;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (b->depth == APPSPEC_MAX_DEPTH)
            return fail(c, ERR_LIMIT, (int)ev->start_mark.line + 1,
                        "YAML nesting is deeper than %d levels", APPSPEC_MAX_DEPTH);
        n = ytree_add(b->t, ev->type == YAML_SEQUENCE_START_EVENT ? YK_SEQ : YK_MAP,
                      &ev->start_mark);
        ytree_anchor(b->t, ev->type == YAML_SEQUENCE_START_EVENT
                               ? ev->data.sequence_start.anchor
                               : ev->data.mapping_start.anchor,
                     n);
        attach(b, n);
        b->stack[b->depth++] = n;
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    case YAML_ALIAS_EVENT:
        b->t->n_aliases++;
        n = ytree_alias(b->t, ev->data.alias.anchor);
        if (!n)
            return fail(c, ERR_APPSPEC, (int)ev->start_mark.line + 1,
                        "invalid YAML: unknown alias '%s'", (const char *)ev->data.alias.anchor);
        attach(b, n);
        return 0;
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
        /* Like Psych's YAML.load, only the first document counts. */
        b->done = true;
        return 0;
    default:
        return 0;
    }
}

static int ytree_load(struct ctx *c, struct ytree *t, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        abort();
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct builder b = {.t = t};
    int r = 0;
    while (!b.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            r = yaml_syntax_error(c, &p);
            break;
        }
        r = build_event(c, &b, &ev);
        yaml_event_delete(&ev);
        if (r < 0)
            break;
    }
    yaml_parser_delete(&p);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Tree helpers
 */

static void yscalar(const struct ynode *n, struct appspec_yscalar *s)
{
    appspec_yscalar_type(n->text, n->plain, n->tag, s);
}

/* Absent or YAML null. */
static bool is_null(const struct ynode *n)
{
    if (!n)
        return true;
    if (n->kind != YK_SCALAR)
        return false;
    struct appspec_yscalar s;
    yscalar(n, &s);
    return s.type == APPSPEC_Y_NULL;
}

static bool is_merge_key(const struct ynode *k)
{
    return k->kind == YK_SCALAR && k->plain && !k->tag && strcmp(k->text, "<<") == 0;
}

typedef int (*pair_fn)(struct ctx *c, const struct ynode *key, const struct ynode *value,
                       void *ud);

/*
 * Visit a mapping's pairs in order, splicing in "<<" merge keys at their place (as Psych does:
 * later keys override earlier ones).  *budget bounds the merged mappings visited, so aliases
 * cannot make a lookup exponential.  Stops and returns the callback's non-zero result.
 */
static int map_each(struct ctx *c, const struct ynode *m, pair_fn fn, void *ud, int depth,
                    size_t *budget)
{
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
        int r = 0;
        if (is_merge_key(k) && depth < MAX_MERGE_DEPTH &&
            (v->kind == YK_MAP || v->kind == YK_SEQ)) {
            size_t nm = v->kind == YK_MAP ? 1 : v->n;
            for (size_t j = 0; j < nm && r == 0; j++) {
                const struct ynode *mm = v->kind == YK_MAP ? v : v->kids[j];
                if (mm->kind != YK_MAP)
                    continue;
                if (*budget == 0)
                    return fail(c, ERR_LIMIT, k->line, "too many '<<' merge keys (more than %d "
                                "merged mappings in one lookup)", MAX_MERGE_VISITS);
                --*budget;
                r = map_each(c, mm, fn, ud, depth + 1, budget);
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
    const struct ynode *value;
};

static int get_fn(struct ctx *c, const struct ynode *k, const struct ynode *v, void *ud)
{
    struct get_ud *g = ud;
    (void)c;
    if (k->kind == YK_SCALAR && strcmp(k->text, g->key) == 0)
        g->value = v; /* the last one wins, as in a Ruby Hash */
    return 0;
}

/* Value of key in mapping m, or NULL when absent. */
static const struct ynode *map_get(struct ctx *c, const struct ynode *m, const char *key)
{
    struct get_ud g = {key, NULL};
    size_t budget = MAX_MERGE_VISITS;
    if (map_each(c, m, get_fn, &g, 0, &budget) < 0)
        return NULL;
    return g.value;
}

static const char *kind_name(const struct ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YK_SEQ:
        return "a list";
    case YK_MAP:
        return "a mapping";
    default:
        return "a scalar";
    }
}

/* A value as Ruby's to_s would render it, for scalars; NULL for collections.  Caller frees. */
static char *scalar_to_s(const struct ynode *n)
{
    if (!n || n->kind != YK_SCALAR)
        return NULL;
    struct appspec_yscalar s;
    yscalar(n, &s);
    switch (s.type) {
    case APPSPEC_Y_NULL:
        return xstrdup("");
    case APPSPEC_Y_BOOL:
        return xstrdup(s.b ? "true" : "false");
    case APPSPEC_Y_INT:
        if (!s.big)
            return xasprintf("%lld", (long long)s.i);
        return xstrdup(n->text);
    default:
        return xstrdup(n->text);
    }
}

/* A short rendering of any node for messages: scalars as text, collections in flow style. */
static void inspect(const struct ynode *n, struct buf *b, int depth)
{
    /* Stop once the message budget is used up: aliases can make the tree look huge. */
    if (!n || b->len >= INSPECT_MAX)
        return;
    if (n->kind == YK_SCALAR) {
        (void)buf_append(b, n->text, strlen(n->text), NULL);
        return;
    }
    if (depth > 3) {
        (void)buf_append(b, "...", 3, NULL);
        return;
    }
    (void)buf_append(b, n->kind == YK_SEQ ? "[" : "{", 1, NULL);
    for (size_t i = 0; i < n->n; i++) {
        if (i > 0)
            (void)buf_append(b, n->kind == YK_MAP && i % 2 ? ": " : ", ", 2, NULL);
        inspect(n->kids[i], b, depth + 1);
    }
    (void)buf_append(b, n->kind == YK_SEQ ? "]" : "}", 1, NULL);
}

static char *inspect_str(const struct ynode *n)
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

static char *strip_dup(const char *s)
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
static char *rel_normalise(const char *in)
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

/* ---------------------------------------------------------------------------------------------
 * Sections
 */

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
static const char MSG_OUTSIDE[] = "AppSpec path %s resolves outside the revision directory";
static const char MSG_EMPTY[] =
    "The deployment failed because the application specification file was empty. Make sure your "
    "AppSpec file defines at minimum the 'version' and 'os' properties.";

/* the float 0.0, the integer 0 or the string "0.0". */
static int check_version(struct ctx *c, const struct ynode *root)
{
    const struct ynode *v = map_get(c, root, "version");
    int line = v ? v->line : root->line;
    if (v && v->kind == YK_SCALAR) {
        struct appspec_yscalar s;
        yscalar(v, &s);
        if ((s.type == APPSPEC_Y_FLOAT && s.f == 0.0) ||
            (s.type == APPSPEC_Y_INT && s.i == 0 && !s.big) ||
            (s.type == APPSPEC_Y_STR && strcmp(v->text, "0.0") == 0))
            return 0;
    }
    AUTOFREE char *shown = v && v->kind == YK_SCALAR ? scalar_to_s(v) : inspect_str(v);
    return fail(c, ERR_APPSPEC, line, MSG_VERSION, shown);
}

/* only linux on this agent. */
static int check_os(struct ctx *c, const struct ynode *root)
{
    const struct ynode *v = map_get(c, root, "os");
    int line = v ? v->line : root->line;
    if (v && v->kind == YK_SCALAR && strcmp(v->text, "linux") == 0) {
        struct appspec_yscalar s;
        yscalar(v, &s);
        if (s.type == APPSPEC_Y_STR)
            return 0;
    }
    AUTOFREE char *shown = v && v->kind == YK_SCALAR ? scalar_to_s(v) : inspect_str(v);
    return fail(c, ERR_APPSPEC, line, MSG_OS, shown);
}

/* A string-valued key: NULL when absent/null, else the Ruby to_s text; -1 for a collection. */
static int get_text(struct ctx *c, const struct ynode *m, const char *key, const char *what,
                    char **ret)
{
    const struct ynode *v = map_get(c, m, key);
    *ret = NULL;
    if (is_null(v))
        return 0;
    if (v->kind != YK_SCALAR)
        return fail(c, ERR_APPSPEC, v->line, "%s '%s' must be a string, got %s", what, key,
                    kind_name(v));
    *ret = scalar_to_s(v);
    return 0;
}

static int count_entry(struct ctx *c, int line)
{
    if (++c->entries > APPSPEC_MAX_ENTRIES)
        return fail(c, ERR_LIMIT, line,
                    "more than %d files, permissions, hook events and scripts in total (aliases "
                    "included)",
                    APPSPEC_MAX_ENTRIES);
    return 0;
}

/* ---- hooks (R-141 - R-143) ---- */

/* Ruby truthiness: everything but nil and false. */
static bool truthy(const struct ynode *n)
{
    if (is_null(n))
        return false;
    if (n->kind != YK_SCALAR)
        return true;
    struct appspec_yscalar s;
    yscalar(n, &s);
    return !(s.type == APPSPEC_Y_BOOL && !s.b);
}

/* A numeric string for timeout: optional sign, digits, optional fraction. */
static bool numeric_string(const char *t, double *ret)
{
    AUTOFREE char *s = strip_dup(t);
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

static int parse_timeout(struct ctx *c, const struct ynode *v, uint32_t *ret)
{
    if (is_null(v)) {
        *ret = APPSPEC_DEFAULT_TIMEOUT_S;
        return 0;
    }
    double d = 0;
    bool ok = false;
    if (v->kind == YK_SCALAR) {
        struct appspec_yscalar s;
        yscalar(v, &s);
        if (s.type == APPSPEC_Y_INT) {
            d = s.big ? (s.i < 0 ? -1.0 : 1e300) : (double)s.i;
            ok = true;
        } else if (s.type == APPSPEC_Y_FLOAT) {
            d = s.f;
            ok = !isnan(d);
        } else if (s.type == APPSPEC_Y_STR) {
            ok = numeric_string(v->text, &d);
        }
    }
    /* Ruby's to_i truncates, so anything below 1 becomes 0 or less. */
    if (!ok || !(d >= 1.0))
        return fail(c, ERR_APPSPEC, v->line, "%s (hooks 'timeout' must be a positive number of "
                    "seconds, got '%s')", MSG_TIMEOUT, v->kind == YK_SCALAR ? v->text : "");
    *ret = d >= (double)APPSPEC_TIMEOUT_CLAMP_S ? APPSPEC_TIMEOUT_CLAMP_S : (uint32_t)d;
    return 0;
}

static void script_done(struct appspec_script *s)
{
    free(s->location);
    free(s->location_rel);
    free(s->runas);
}

static int parse_script(struct ctx *c, const char *event, const struct ynode *m,
                        struct appspec_script *s)
{
    memset(s, 0, sizeof(*s));
    s->line = m->line;
    if (m->kind != YK_MAP)
        return fail(c, ERR_APPSPEC, m->line,
                    "script of hook '%s' must be a mapping with 'location' (and optional "
                    "'timeout', 'runas'), got %s",
                    event, kind_name(m));
    const struct ynode *loc = map_get(c, m, "location");
    if (loc && loc->kind != YK_SCALAR)
        return fail(c, ERR_APPSPEC, loc->line, "hook '%s' script 'location' must be a string, got "
                    "%s", event, kind_name(loc));
    AUTOFREE char *loc_s = is_null(loc) ? NULL : scalar_to_s(loc);
    if (loc_s)
        s->location = strip_dup(loc_s);
    if (!s->location || !s->location[0])
        return fail(c, ERR_APPSPEC, loc ? loc->line : m->line, "%s", MSG_NO_LOCATION);
    s->location_rel = rel_normalise(s->location);
    /* s->location is only ever set from loc, so loc is non-NULL here; the analyzer loses that
     * across the memset() above. */
    if (!s->location_rel)
        return fail(c, ERR_APPSPEC, loc->line, /* NOLINT(clang-analyzer-core.NullDereference) */
                    MSG_OUTSIDE, s->location);
    if (parse_timeout(c, map_get(c, m, "timeout"), &s->timeout_s) < 0)
        return -1;
    AUTOFREE char *runas = NULL;
    if (get_text(c, m, "runas", "hooks script", &runas) < 0)
        return -1;
    if (runas) {
        s->runas = strip_dup(runas);
        if (!s->runas[0]) {
            free(s->runas);
            s->runas = NULL;
        }
    }
    s->sudo = truthy(map_get(c, m, "sudo"));
    return 0;
}

static void event_done(struct appspec_event *e)
{
    for (size_t i = 0; i < e->n_scripts; i++)
        script_done(&e->scripts[i]);
    free(e->scripts);
    free(e->name);
}

static int parse_event(struct ctx *c, const char *name, int line, const struct ynode *v,
                       struct appspec_event *e)
{
    memset(e, 0, sizeof(*e));
    e->name = xstrdup(name);
    e->line = line;
    if (v->kind != YK_SEQ)
        return fail(c, ERR_APPSPEC, v->line,
                    "hook '%s' must be a list of scripts (each with 'location'), got %s", name,
                    kind_name(v));
    e->scripts = xcalloc(v->n ? v->n : 1, sizeof(*e->scripts));
    uint64_t sum = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (count_entry(c, v->kids[i]->line) < 0)
            return -1;
        int r = parse_script(c, name, v->kids[i], &e->scripts[i]);
        e->n_scripts++;
        if (r < 0)
            return -1;
        sum += e->scripts[i].timeout_s;
    }
    if (sum > APPSPEC_EVENT_TIMEOUT_WARN_S)
        warn(c, line,
             "the scripts of hook '%s' have timeouts adding up to %llu s, more than the %d s "
             "CodeDeploy allows per lifecycle event",
             name, (unsigned long long)sum, APPSPEC_EVENT_TIMEOUT_WARN_S);
    return 0;
}

static int hooks_pair(struct ctx *c, const struct ynode *k, const struct ynode *v, void *ud)
{
    (void)ud;
    struct appspec *as = c->as;
    if (k->kind != YK_SCALAR)
        return fail(c, ERR_APPSPEC, k->line, "hooks: lifecycle event name must be a string, got %s",
                    kind_name(k));
    AUTOFREE char *name = scalar_to_s(k);
    const char *sugg = appspec_event_is_default(name) ? NULL
                                                      : appspec_event_suggest(name, NULL, 0);
    if (sugg)
        warn(c, k->line, "unknown hook '%s'; did you mean '%s'?", name, sugg);
    if (is_null(v)) {
        /* a null event is as if absent (and drops an earlier duplicate). */
        for (size_t i = 0; i < as->n_events; i++) {
            if (strcmp(as->events[i].name, name) == 0) {
                event_done(&as->events[i]);
                memmove(&as->events[i], &as->events[i + 1],
                        (as->n_events - i - 1) * sizeof(*as->events));
                as->n_events--;
                break;
            }
        }
        return 0;
    }
    if (count_entry(c, k->line) < 0)
        return -1;
    if (as->n_events >= APPSPEC_MAX_EVENTS)
        return fail(c, ERR_LIMIT, k->line, "more than %d hook events", APPSPEC_MAX_EVENTS);
    struct appspec_event e;
    if (parse_event(c, name, k->line, v, &e) < 0) {
        event_done(&e);
        return -1;
    }
    for (size_t i = 0; i < as->n_events; i++) {
        if (strcmp(as->events[i].name, name) == 0) {
            /* Duplicate key: the last value wins, as in a Ruby Hash. */
            event_done(&as->events[i]);
            as->events[i] = e;
            return 0;
        }
    }
    as->events = xrealloc(as->events, (as->n_events + 1) * sizeof(*as->events));
    as->events[as->n_events++] = e;
    return 0;
}

static int parse_hooks(struct ctx *c, const struct ynode *root)
{
    const struct ynode *h = map_get(c, root, "hooks");
    if (is_null(h))
        return 0;
    if (h->kind != YK_MAP)
        return fail(c, ERR_APPSPEC, h->line,
                    "'hooks' must be a mapping from lifecycle event names to lists of scripts, "
                    "got %s",
                    kind_name(h));
    size_t budget = MAX_MERGE_VISITS;
    return map_each(c, h, hooks_pair, NULL, 0, &budget) < 0 ? -1 : 0;
}

/* ---- files (R-139, R-140) ---- */

static void file_done(struct appspec_file *f)
{
    free(f->source);
    free(f->source_rel);
    free(f->destination);
}

static int parse_file(struct ctx *c, const struct ynode *m, struct appspec_file *f)
{
    memset(f, 0, sizeof(*f));
    f->line = m->line;
    if (m->kind != YK_MAP)
        return fail(c, ERR_APPSPEC, m->line,
                    "'files' entry must be a mapping with 'source' and 'destination', got %s",
                    kind_name(m));
    if (get_text(c, m, "source", "files", &f->source) < 0)
        return -1;
    if (!f->source)
        return fail(c, ERR_APPSPEC, m->line, "%s", MSG_NO_SOURCE);
    AUTOFREE char *dest = NULL;
    if (get_text(c, m, "destination", "files", &dest) < 0)
        return -1;
    if (!dest)
        return fail(c, ERR_APPSPEC, m->line, MSG_NO_DEST, f->source);
    const struct ynode *src = map_get(c, m, "source");
    f->source_rel = rel_normalise(f->source);
    if (!f->source_rel)
        return fail(c, ERR_APPSPEC, src->line, MSG_OUTSIDE, f->source);
    if (dest[0] == '/') {
        f->destination = TAKE_PTR(dest);
    } else {
        f->destination = xasprintf("/%s", dest);
        warn(c, map_get(c, m, "destination")->line,
             "files destination '%s' is not an absolute path; installing to '%s'", dest,
             f->destination);
    }
    return 0;
}

static int parse_files(struct ctx *c, const struct ynode *root)
{
    const struct ynode *v = map_get(c, root, "files");
    if (is_null(v))
        return 0;
    if (v->kind != YK_SEQ)
        return fail(c, ERR_APPSPEC, v->line,
                    "'files' must be a list of mappings with 'source' and 'destination', got %s",
                    kind_name(v));
    struct appspec *as = c->as;
    as->files = xcalloc(v->n ? v->n : 1, sizeof(*as->files));
    for (size_t i = 0; i < v->n; i++) {
        if (count_entry(c, v->kids[i]->line) < 0)
            return -1;
        as->n_files++;
        if (parse_file(c, v->kids[i], &as->files[i]) < 0)
            return -1;
    }
    return 0;
}

/* ---- permissions (R-145 - R-149) ---- */

static void permission_done(struct appspec_permission *p)
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
static int get_scalar_list(struct ctx *c, const struct ynode *m, const char *key,
                           const struct ynode *const **ret_nodes, size_t *n,
                           const struct ynode **ret_v)
{
    const struct ynode *v = map_get(c, m, key);
    *ret_v = v;
    *n = 0;
    *ret_nodes = NULL;
    if (is_null(v))
        return 0;
    if (v->kind == YK_SCALAR) {
        *ret_nodes = (const struct ynode *const *)ret_v;
        *n = 1;
        return 0;
    }
    if (v->kind != YK_SEQ)
        return fail(c, ERR_APPSPEC, v->line, "permissions '%s' must be a list, got %s", key,
                    kind_name(v));
    for (size_t i = 0; i < v->n; i++)
        if (v->kids[i]->kind != YK_SCALAR)
            return fail(c, ERR_APPSPEC, v->kids[i]->line,
                        "permissions '%s' items must be strings, got %s", key,
                        kind_name(v->kids[i]));
    *ret_nodes = (const struct ynode *const *)v->kids;
    *n = v->n;
    return 0;
}

static int parse_type(struct ctx *c, const struct ynode *m, struct appspec_permission *p)
{
    const struct ynode *const *items;
    const struct ynode *v;
    size_t n;
    if (get_scalar_list(c, m, "type", &items, &n, &v) < 0)
        return -1;
    if (!v || is_null(v)) {
        p->type = APPSPEC_TYPE_FILE | APPSPEC_TYPE_DIRECTORY;
        return 0;
    }
    p->type = 0;
    for (size_t i = 0; i < n; i++) {
        AUTOFREE char *t = scalar_to_s(items[i]);
        if (strcmp(t, "file") == 0)
            p->type |= APPSPEC_TYPE_FILE;
        else if (strcmp(t, "directory") == 0)
            p->type |= APPSPEC_TYPE_DIRECTORY;
        else
            return fail(c, ERR_APPSPEC, items[i]->line, MSG_TYPE, t);
    }
    return 0;
}

/* R-146, with the unquoted-leading-zero improvement. */
static int parse_mode_key(struct ctx *c, const struct ynode *m, struct appspec_permission *p)
{
    const struct ynode *v = map_get(c, m, "mode");
    if (is_null(v))
        return 0;
    if (v->kind != YK_SCALAR)
        return fail(c, ERR_APPSPEC, v->line, "permissions 'mode' must be an octal number such as "
                    "'0644', got %s", kind_name(v));
    struct appspec_yscalar s;
    yscalar(v, &s);
    AUTOFREE char *text = NULL;
    if (s.type == APPSPEC_Y_INT && s.octal) {
        text = xstrdup(v->text);
        warn(c, v->line,
             "unquoted mode %s is read as octal %s; the Ruby agent would have read it as decimal "
             "%lld (quote the mode to be portable)",
             v->text, v->text, (long long)s.i);
    } else {
        text = scalar_to_s(v);
    }
    /* Ruby left-pads the text with zeros to three characters. */
    size_t len = strlen(text);
    AUTOFREE char *padded = xasprintf("%.*s%s", len < 3 ? (int)(3 - len) : 0, "000", text);
    if (strlen(padded) > 4)
        return fail(c, ERR_APPSPEC, v->line, MSG_MODE_LEN, padded);
    mode_t mode = 0;
    for (const char *q = padded; *q; q++) {
        if (*q < '0' || *q > '7')
            return fail(c, ERR_APPSPEC, v->line, MSG_MODE_CHAR, padded, *q);
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
static int acl_perms(struct ctx *c, int line, const char *text, const char *perm, unsigned *ret)
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
            return fail(c, ERR_APPSPEC, line, MSG_ACL_CHAR, text, *q);
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
static int parse_acl_entry(struct ctx *c, int line, const char *text, struct appspec_acl *a)
{
    char *parts[4];
    size_t n = 0;
    AUTOFREE char *copy = xstrdup(text);
    for (char *p = copy;;) {
        if (n == 4)
            return fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
        parts[n++] = p;
        char *colon = strchr(p, ':');
        if (!colon)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    if (n < 2)
        return fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    bool dflt = n == 4;
    if (n == 4 && !is_default_kw(parts[0]))
        return fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    int tag = -1;
    if (n >= 3 && is_default_kw(parts[n - 3])) {
        if (dflt)
            return fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
        dflt = true;
    } else if (n >= 3) {
        tag = acl_tag_kw(parts[n - 3]);
        if (tag < 0)
            return fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
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
        return fail(c, ERR_APPSPEC, line, MSG_ACL_INVALID, text);
    if (!dflt && tag != APPSPEC_ACL_MASK && !name[0])
        return fail(c, ERR_APPSPEC, line, MSG_ACL_BASE, text);
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

static int parse_acls(struct ctx *c, const struct ynode *m, struct appspec_permission *p)
{
    const struct ynode *const *items;
    const struct ynode *v;
    size_t n;
    if (get_scalar_list(c, m, "acls", &items, &n, &v) < 0)
        return -1;
    if (n == 0)
        return 0;
    p->acls = xcalloc(n, sizeof(*p->acls));
    for (size_t i = 0; i < n; i++) {
        AUTOFREE char *t = scalar_to_s(items[i]);
        if (parse_acl_entry(c, items[i]->line, t, &p->acls[i]) < 0)
            return -1;
        p->n_acls++;
        if (p->acls[i].is_default)
            p->acls_have_default = true;
    }
    return 0;
}

/* Split s at the first sep; both halves must be non-empty ("invalid range part"). */
static int range_split(struct ctx *c, int line, char *s, char sep, char **a, char **b)
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
        return fail(c, ERR_APPSPEC, line, "invalid range part %s", s);
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

static int range_categories(struct ctx *c, int line, char *list, unsigned char seen[1024])
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
                return fail(c, ERR_APPSPEC, line, "invalid category %s", a);
            hi = range_number(b, 'c', 1023);
            if (hi < 0)
                return fail(c, ERR_APPSPEC, line, "invalid category %s", b);
            if (hi < lo)
                return fail(c, ERR_APPSPEC, line, "invalid category range %s.%s", a, b);
        } else {
            lo = hi = range_number(p, 'c', 1023);
            if (lo < 0)
                return fail(c, ERR_APPSPEC, line, "invalid category %s", p);
        }
        for (long k = lo; k <= hi; k++) {
            if (seen[k])
                return fail(c, ERR_APPSPEC, line, "duplicate categories");
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
static int parse_range(struct ctx *c, int line, const char *range, char **ret)
{
    AUTOFREE char *s = xstrdup(range);
    char *sens, *cats, *lo_s, *hi_s;
    if (range_split(c, line, s, ':', &sens, &cats) < 0)
        return -1;
    if (range_split(c, line, sens, '-', &lo_s, &hi_s) < 0)
        return -1;
    long lo = range_number(lo_s, 's', 1000000000L);
    if (lo < 0)
        return fail(c, ERR_APPSPEC, line, "invalid sensitivity %s", lo_s);
    long hi = lo;
    if (hi_s) {
        hi = range_number(hi_s, 's', 1000000000L);
        if (hi < 0)
            return fail(c, ERR_APPSPEC, line, "invalid sensitivity %s", hi_s);
        if (hi < lo)
            return fail(c, ERR_APPSPEC, line, MSG_RANGE, range);
    }
    unsigned char seen[1024] = {0};
    if (cats && range_categories(c, line, cats, seen) < 0)
        return -1;
    *ret = range_render(lo, hi, seen, cats != NULL);
    return 0;
}

static int parse_context(struct ctx *c, const struct ynode *m, struct appspec_permission *p)
{
    const struct ynode *v = map_get(c, m, "context");
    if (is_null(v))
        return 0;
    const struct ynode *type = v->kind == YK_MAP ? map_get(c, v, "type") : NULL;
    if (is_null(type) || type->kind != YK_SCALAR) {
        AUTOFREE char *shown = inspect_str(v);
        return fail(c, ERR_APPSPEC, v->line, MSG_CONTEXT_TYPE, shown);
    }
    if (!is_null(map_get(c, v, "role")))
        return fail(c, ERR_APPSPEC, map_get(c, v, "role")->line, "%s", MSG_CONTEXT_ROLE);
    struct appspec_context *ctx = xcalloc(1, sizeof(*ctx));
    p->context = ctx;
    AUTOFREE char *type_s = scalar_to_s(type);
    ctx->type = strip_dup(type_s);
    AUTOFREE char *user = NULL;
    if (get_text(c, v, "name", "context", &user) < 0)
        return -1;
    if (!user && get_text(c, v, "user", "context", &user) < 0)
        return -1;
    if (user)
        ctx->user = strip_dup(user);
    AUTOFREE char *range = NULL;
    if (get_text(c, v, "range", "context", &range) < 0)
        return -1;
    if (range) {
        AUTOFREE char *stripped = strip_dup(range);
        if (parse_range(c, map_get(c, v, "range")->line, stripped, &ctx->range) < 0)
            return -1;
    }
    return 0;
}

static int parse_except(struct ctx *c, const struct ynode *m, struct appspec_permission *p)
{
    const struct ynode *const *items;
    const struct ynode *v;
    size_t n;
    if (get_scalar_list(c, m, "except", &items, &n, &v) < 0)
        return -1;
    p->except = xcalloc(n ? n : 1, sizeof(*p->except));
    for (size_t i = 0; i < n; i++)
        p->except[p->n_except++] = scalar_to_s(items[i]);
    return 0;
}

static int parse_permission(struct ctx *c, const struct ynode *m, struct appspec_permission *p)
{
    memset(p, 0, sizeof(*p));
    p->line = m->line;
    if (m->kind != YK_MAP)
        return fail(c, ERR_APPSPEC, m->line,
                    "'permissions' entry must be a mapping with 'object' (and optional 'pattern', "
                    "'except', 'type', 'owner', 'group', 'mode', 'acls', 'context'), got %s",
                    kind_name(m));
    AUTOFREE char *object = NULL;
    if (get_text(c, m, "object", "permissions", &object) < 0)
        return -1;
    if (object)
        p->object = strip_dup(object);
    if (!p->object || !p->object[0])
        return fail(c, ERR_APPSPEC, m->line, "%s", MSG_NO_OBJECT);
    if (get_text(c, m, "pattern", "permissions", &p->pattern) < 0)
        return -1;
    if (!p->pattern)
        p->pattern = xstrdup("**");
    if (parse_except(c, m, p) < 0 || parse_type(c, m, p) < 0)
        return -1;
    if (get_text(c, m, "owner", "permissions", &p->owner) < 0 ||
        get_text(c, m, "group", "permissions", &p->group) < 0)
        return -1;
    if (parse_mode_key(c, m, p) < 0 || parse_acls(c, m, p) < 0 || parse_context(c, m, p) < 0)
        return -1;
    return 0;
}

static int parse_permissions(struct ctx *c, const struct ynode *root)
{
    const struct ynode *v = map_get(c, root, "permissions");
    if (is_null(v))
        return 0;
    if (v->kind != YK_SEQ)
        return fail(c, ERR_APPSPEC, v->line,
                    "'permissions' must be a list of mappings with 'object', got %s",
                    kind_name(v));
    struct appspec *as = c->as;
    as->permissions = xcalloc(v->n ? v->n : 1, sizeof(*as->permissions));
    for (size_t i = 0; i < v->n; i++) {
        if (count_entry(c, v->kids[i]->line) < 0)
            return -1;
        as->n_permissions++;
        if (parse_permission(c, v->kids[i], &as->permissions[i]) < 0)
            return -1;
    }
    return 0;
}

/* */
static int parse_feb(struct ctx *c, const struct ynode *root)
{
    const struct ynode *v = map_get(c, root, "file_exists_behavior");
    if (is_null(v))
        return 0;
    if (v->kind == YK_SCALAR) {
        struct appspec_yscalar s;
        yscalar(v, &s);
        if (s.type == APPSPEC_Y_STR) {
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
    AUTOFREE char *shown = v->kind == YK_SCALAR ? scalar_to_s(v) : inspect_str(v);
    return fail(c, ERR_APPSPEC, v->line, MSG_FEB, shown);
}

/* ---------------------------------------------------------------------------------------------
 * Public API
 */

void appspec_free(struct appspec *as)
{
    if (!as)
        return;
    for (size_t i = 0; i < as->n_files; i++)
        file_done(&as->files[i]);
    free(as->files);
    for (size_t i = 0; i < as->n_permissions; i++)
        permission_done(&as->permissions[i]);
    free(as->permissions);
    for (size_t i = 0; i < as->n_events; i++)
        event_done(&as->events[i]);
    free(as->events);
    for (size_t i = 0; i < as->n_warnings; i++)
        free(as->warnings[i]);
    free(as->warnings);
    free(as->filename);
    free(as);
}

static int validate(struct ctx *c, const struct ynode *root)
{
    if (is_null(root))
        return fail(c, ERR_APPSPEC, 0, "%s", MSG_EMPTY);
    if (root->kind != YK_MAP)
        return fail(c, ERR_APPSPEC, root->line,
                    "the AppSpec must be a mapping with 'version', 'os' and optional 'files', "
                    "'permissions', 'hooks', 'file_exists_behavior', got %s",
                    kind_name(root));
    /* R-138 order. */
    if (check_version(c, root) < 0 || check_os(c, root) < 0 || parse_hooks(c, root) < 0 ||
        parse_files(c, root) < 0 || parse_permissions(c, root) < 0 || parse_feb(c, root) < 0)
        return -1;
    return 0;
}

int appspec_parse(const char *text, size_t len, const char *filename, struct appspec **ret,
                  struct err *err)
{
    const char *file = filename ? filename : APPSPEC_DEFAULT_NAME;
    if (len > APPSPEC_MAX_SIZE_BYTES)
        return err_set(err, ERR_LIMIT, "%s: file is %zu bytes, more than the %d allowed", file, len,
                       APPSPEC_MAX_SIZE_BYTES);
    struct appspec *as = xcalloc(1, sizeof(*as));
    as->filename = xstrdup(file);
    struct ctx c = {.file = as->filename, .err = err, .as = as};
    struct ytree t = {0};
    int r = ytree_load(&c, &t, text, len);
    if (r == 0)
        r = validate(&c, t.root);
    ytree_done(&t);
    if (r < 0 || c.failed) {
        appspec_free(as);
        return -1;
    }
    *ret = as;
    return 0;
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
    AUTOFREE char *norm = rel_normalise(rel);
    if (!norm)
        return err_set(err, ERR_UNSAFE, MSG_OUTSIDE, rel);
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
                return err_set(err, ERR_UNSAFE, MSG_OUTSIDE, rel);
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
