/*
 * yaml: see yaml.h.  Two stages: libyaml events become a node tree (limits enforced while it
 * grows); scalars are typed on demand as YAML 1.1 (Psych) would.
 */
#include "parse/yaml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/util.h"

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

static bool type_int(const char *text, struct yaml11_scalar *s)
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
    s->type = YAML11_INT;
    s->octal = octal;
    if (!big && neg && v == (uint64_t)INT64_MAX + 1) {
        s->i = INT64_MIN;
    } else if (big || v > (uint64_t)INT64_MAX) {
        s->big = true;
        s->i = neg ? INT64_MIN : INT64_MAX;
    } else {
        s->i = neg ? -(int64_t)v : (int64_t)v;
    }
    return true;
}

/* [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? with at least one digit, or .inf / .nan. */
static bool type_float(const char *text, struct yaml11_scalar *s)
{
    const char *p = text;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (ieq(p, ".inf") || (ieq(text, ".nan"))) {
        s->type = YAML11_FLOAT;
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
    s->type = YAML11_FLOAT;
    s->f = strtod(clean, NULL);
    return true;
}

static bool is_null_text(const char *t)
{
    return t[0] == '\0' || strcmp(t, "~") == 0 || ieq(t, "null");
}

static void type_plain(const char *text, struct yaml11_scalar *s)
{
    if (is_null_text(text)) {
        s->type = YAML11_NULL;
    } else if (ieq(text, "true") || ieq(text, "yes") || ieq(text, "on")) {
        s->type = YAML11_BOOL;
        s->b = true;
    } else if (ieq(text, "false") || ieq(text, "no") || ieq(text, "off")) {
        s->type = YAML11_BOOL;
        s->b = false;
    } else if (!type_int(text, s) && !type_float(text, s)) {
        s->type = YAML11_STR;
    }
}

void yaml11_scalar_type(const char *text, bool plain, const char *tag, struct yaml11_scalar *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->text = text;
    ret->quoted = !plain;
    ret->type = YAML11_STR;
    if (tag && str_has_prefix(tag, "tag:yaml.org,2002:")) {
        const char *t = tag + strlen("tag:yaml.org,2002:");
        if (strcmp(t, "int") == 0)
            (void)type_int(text, ret);
        else if (strcmp(t, "float") == 0)
            (void)(type_int(text, ret) || type_float(text, ret));
        else if (strcmp(t, "bool") == 0 || strcmp(t, "null") == 0)
            type_plain(text, ret);
        if (ret->type == YAML11_INT && strcmp(t, "float") == 0) {
            ret->type = YAML11_FLOAT;
            ret->f = (double)ret->i;
        }
        return;
    }
    if (tag && strcmp(tag, "!") == 0)
        return;
    if (plain)
        type_plain(text, ret);
}

void yaml11_node_type(const struct yaml11_node *n, struct yaml11_scalar *ret)
{
    if (n && n->kind == YAML11_SCALAR) {
        yaml11_scalar_type(n->text, n->plain, n->tag, ret);
        return;
    }
    yaml11_scalar_type("", false, NULL, ret);
}

bool yaml11_is_null(const struct yaml11_node *n)
{
    if (!n)
        return true;
    if (n->kind != YAML11_SCALAR)
        return false;
    struct yaml11_scalar s;
    yaml11_node_type(n, &s);
    return s.type == YAML11_NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Node tree built from libyaml events
 */

/* Append p to the pointer array *arr (n used of *cap), doubling the capacity when full. */
static void push_node(struct yaml11_node ***arr, size_t *n, size_t *cap, struct yaml11_node *p)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as intended */
        *arr = xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = p;
}

void yaml11_doc_done(struct yaml11_doc *d)
{
    for (size_t i = 0; i < d->n_nodes; i++) {
        struct yaml11_node *n = d->nodes[i];
        if (n->text)
            freezero(n->text, n->len + 1);
        free(n->tag);
        free(n->kids);
        free(n);
    }
    free(d->nodes);
    for (size_t i = 0; i < d->n_anchors; i++)
        free(d->anchors[i]);
    free(d->anchors);
    free(d->anchored);
    memset(d, 0, sizeof(*d));
}

static struct yaml11_node *node_add(struct yaml11_doc *d, enum yaml11_kind kind,
                                    const yaml_mark_t *mark)
{
    struct yaml11_node *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (int)mark->line + 1;
    n->column = (int)mark->column + 1;
    push_node(&d->nodes, &d->n_nodes, &d->cap_nodes, n);
    return n;
}

static void anchor_add(struct yaml11_doc *d, const yaml_char_t *anchor, struct yaml11_node *n)
{
    if (!anchor)
        return;
    if (d->n_anchors == d->cap_anchors) {
        d->cap_anchors = d->cap_anchors ? d->cap_anchors * 2 : 4;
        d->anchors = xrealloc(d->anchors, d->cap_anchors * sizeof(*d->anchors));
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as intended */
        d->anchored = xrealloc(d->anchored, d->cap_anchors * sizeof(*d->anchored));
    }
    d->anchors[d->n_anchors] = xstrdup((const char *)anchor);
    d->anchored[d->n_anchors++] = n;
}

static struct yaml11_node *anchor_find(const struct yaml11_doc *d, const yaml_char_t *anchor)
{
    for (size_t i = d->n_anchors; i-- > 0;)
        if (strcmp(d->anchors[i], (const char *)anchor) == 0)
            return d->anchored[i];
    return NULL;
}

static int parser_error(const yaml_parser_t *p, struct yaml11_error *e)
{
    if (p->error == YAML_MEMORY_ERROR)
        abort();
    e->kind = p->error == YAML_READER_ERROR ? YAML11_E_READER : YAML11_E_SYNTAX;
    snprintf(e->problem, sizeof(e->problem), "%s", p->problem ? p->problem : "unknown error");
    e->line = (int)p->problem_mark.line + 1;
    e->column = (int)p->problem_mark.column + 1;
    e->offset = p->problem_offset;
    if (p->context) {
        snprintf(e->context, sizeof(e->context), "%s", p->context);
        e->context_line = (int)p->context_mark.line + 1;
    }
    return -1;
}

__attribute__((format(printf, 4, 5))) static int fail(struct yaml11_error *e,
                                                      enum yaml11_error_kind kind,
                                                      const yaml_event_t *ev, const char *fmt, ...)
{
    e->kind = kind;
    e->line = (int)ev->start_mark.line + 1;
    e->column = (int)ev->start_mark.column + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->problem, sizeof(e->problem), fmt, ap);
    va_end(ap);
    return -1;
}

struct builder {
    struct yaml11_doc *d;
    const struct yaml11_opts *opts;
    struct yaml11_node *stack[YAML11_MAX_DEPTH];
    size_t depth;
    bool done;
};

static void attach(struct builder *b, struct yaml11_node *n)
{
    if (b->depth == 0) {
        b->d->root = n;
        return;
    }
    struct yaml11_node *parent = b->stack[b->depth - 1];
    push_node(&parent->kids, &parent->n, &parent->cap, n);
}

static int add_scalar(struct builder *b, const yaml_event_t *ev, struct yaml11_error *e)
{
    /* "\0" escapes would silently cut paths short in C strings. */
    if (b->opts->reject_nul && memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
        return fail(e, YAML11_E_NUL, ev, "a value contains a NUL character");
    struct yaml11_node *n = node_add(b->d, YAML11_SCALAR, &ev->start_mark);
    n->len = ev->data.scalar.length;
    n->text = xmalloc(n->len + 1);
    memcpy(n->text, ev->data.scalar.value, n->len);
    n->text[n->len] = '\0';
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
               ev->data.scalar.style == YAML_ANY_SCALAR_STYLE;
    if (ev->data.scalar.tag)
        n->tag = xstrdup((const char *)ev->data.scalar.tag);
    anchor_add(b->d, ev->data.scalar.anchor, n);
    attach(b, n);
    return 0;
}

static int add_collection(struct builder *b, const yaml_event_t *ev, struct yaml11_error *e)
{
    if (b->depth == YAML11_MAX_DEPTH)
        return fail(e, YAML11_E_LIMIT, ev, "YAML nesting is deeper than %d levels",
                    YAML11_MAX_DEPTH);
    bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
    struct yaml11_node *n = node_add(b->d, seq ? YAML11_SEQ : YAML11_MAP, &ev->start_mark);
    anchor_add(b->d, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor, n);
    attach(b, n);
    b->stack[b->depth++] = n;
    return 0;
}

/* Handle one parser event; -1 with *e set on a limit or a bad alias. */
static int build_event(struct builder *b, const yaml_event_t *ev, struct yaml11_error *e)
{
    struct yaml11_doc *d = b->d;
    if (d->n_nodes >= YAML11_MAX_NODES)
        return fail(e, YAML11_E_LIMIT, ev, "document has more than %d YAML nodes",
                    YAML11_MAX_NODES);
    if (d->n_anchors >= YAML11_MAX_ANCHORS || d->n_aliases >= YAML11_MAX_ALIASES)
        return fail(e, YAML11_E_LIMIT, ev, "document has more than %d anchors or %d aliases",
                    YAML11_MAX_ANCHORS, YAML11_MAX_ALIASES);
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return add_scalar(b, ev, e);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return add_collection(b, ev, e);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    case YAML_ALIAS_EVENT: {
        d->n_aliases++;
        struct yaml11_node *n = anchor_find(d, ev->data.alias.anchor);
        if (!n)
            return fail(e, YAML11_E_ALIAS, ev, "unknown alias '%s'",
                        (const char *)ev->data.alias.anchor);
        attach(b, n);
        return 0;
    }
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
        /* Like Psych's YAML.load, only the first document counts. */
        b->done = true;
        return 0;
    default:
        return 0;
    }
}

/* Wipe everything the parser buffered (the text may hold secrets) before it is freed. */
static void parser_wipe_delete(yaml_parser_t *p)
{
    if (p->raw_buffer.start)
        explicit_bzero(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
    if (p->buffer.start)
        explicit_bzero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
    yaml_parser_delete(p);
}

/* After the first document: does another one follow (or garbage libyaml rejects)? */
static bool another_document(yaml_parser_t *p)
{
    yaml_event_t ev;
    if (!yaml_parser_parse(p, &ev))
        return true;
    bool more = ev.type != YAML_STREAM_END_EVENT;
    yaml_event_delete(&ev);
    return more;
}

int yaml11_load(const char *text, size_t len, const struct yaml11_opts *opts,
                struct yaml11_doc *ret, struct yaml11_error *ret_err)
{
    static const struct yaml11_opts defaults = {0};
    memset(ret, 0, sizeof(*ret));
    memset(ret_err, 0, sizeof(*ret_err));
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        abort();
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct builder b = {.d = ret, .opts = opts ? opts : &defaults};
    int r = 0;
    bool started = false;
    while (!b.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            r = parser_error(&p, ret_err);
            break;
        }
        started = started || ev.type == YAML_DOCUMENT_START_EVENT;
        r = build_event(&b, &ev, ret_err);
        yaml_event_delete(&ev);
        if (r < 0)
            break;
    }
    if (r == 0 && started)
        ret->more_documents = another_document(&p);
    parser_wipe_delete(&p);
    return r;
}
