/* lint: see lint.h. */
#include "parse/lint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void lint_report_done(struct lint_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].file);
        free(r->v[i].message);
        free(r->v[i].quote);
        free(r->v[i].fix);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

void lint_add(struct lint_report *r, enum lint_severity sev, const char *file, int line,
              const char *quote, const char *fix, const char *fmt, ...)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->v[r->n++] = (struct lint_problem){
        .severity = sev,
        .file = xstrdup(file ? file : ""),
        .line = line,
        .message = xstrdup(msg),
        .quote = quote ? xstrdup(quote) : NULL,
        .fix = fix ? xstrdup(fix) : NULL,
    };
}

size_t lint_count(const struct lint_report *r, enum lint_severity sev)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].severity == sev;
    return n;
}

static size_t file_rank(const struct lint_report *r, const char *first, const char *file)
{
    if (first && strcmp(file, first) == 0)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].file, file) == 0)
            return i + 1;
    return r->n + 1;
}

void lint_report_sort(struct lint_report *r, const char *first_file)
{
    /* Insertion sort: stable, and reports are short. */
    size_t *rank = xcalloc(r->n ? r->n : 1, sizeof(*rank));
    for (size_t i = 0; i < r->n; i++)
        rank[i] = file_rank(r, first_file, r->v[i].file);
    for (size_t i = 1; i < r->n; i++) {
        struct lint_problem p = r->v[i];
        size_t pr = rank[i];
        size_t j = i;
        while (j > 0 && (rank[j - 1] > pr || (rank[j - 1] == pr && r->v[j - 1].line > p.line))) {
            r->v[j] = r->v[j - 1];
            rank[j] = rank[j - 1];
            j--;
        }
        r->v[j] = p;
        rank[j] = pr;
    }
    free(rank);
}

/* ---------------------------------------------------------------------------------------------
 * Lines
 */

struct line {
    const char *p; /* start */
    size_t len;    /* without the '\n' */
    int no;        /* 1-based */
};

/* Next line from *pos; false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, struct line *l)
{
    if (*pos >= len)
        return false;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    l->p = start;
    l->len = nl ? (size_t)(nl - start) : len - *pos;
    l->no++;
    *pos += l->len + 1;
    return true;
}

static void quote_into(const char *p, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    size_t i = 0;
    for (; i < n && o + 4 < outsz && i < LINT_QUOTE_MAX; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\t' || ch == '\r') {
            out[o++] = '\\';
            out[o++] = ch == '\t' ? 't' : 'r';
        } else {
            out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
    }
    if (i < n && o + 4 <= outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

char *lint_quote_line(const char *text, size_t len, int line)
{
    size_t pos = 0;
    struct line l = {0};
    while (next_line(text, len, &pos, &l)) {
        if (l.no == line) {
            char out[2 * LINT_QUOTE_MAX + 8];
            quote_into(l.p, l.len, out, sizeof(out));
            return xstrdup(out);
        }
    }
    return NULL;
}

static size_t indent_of(const struct line *l)
{
    size_t i = 0;
    while (i < l->len && l->p[i] == ' ')
        i++;
    return i;
}

int lint_key_line(const char *text, size_t len, int item_line, const char *key)
{
    size_t pos = 0, klen = strlen(key);
    struct line l = {0};
    size_t item_indent = 0;
    while (next_line(text, len, &pos, &l)) {
        if (l.no < item_line)
            continue;
        size_t ind = indent_of(&l);
        const char *p = l.p + ind;
        size_t rest = l.len - ind;
        if (l.no == item_line) {
            item_indent = ind;
            if (rest >= 2 && p[0] == '-' && p[1] == ' ') {
                p += 2;
                rest -= 2;
                while (rest > 0 && *p == ' ') {
                    p++;
                    rest--;
                }
            }
        } else if (ind <= item_indent && rest > 0 && p[0] != '#') {
            break; /* the next item or the end of the list */
        }
        if (rest > klen && strncmp(p, key, klen) == 0 && p[klen] == ':')
            return l.no;
    }
    return item_line;
}

/* Blank or a comment: says nothing about the structure. */
static bool is_blank(const struct line *l)
{
    size_t i = 0;
    while (i < l->len && (l->p[i] == ' ' || l->p[i] == '\t' || l->p[i] == '\r'))
        i++;
    return i == l->len || l->p[i] == '#';
}

/* "- x" or a lone "-" after the indentation. */
static bool is_item(const struct line *l)
{
    size_t i = indent_of(l);
    return i < l->len && l->p[i] == '-' &&
           (i + 1 == l->len || l->p[i + 1] == ' ' || l->p[i + 1] == '\r');
}

static void hint_set(struct lint_hint *h, const struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hint_set(struct lint_hint *h, const struct line *l, const char *fmt, ...)
{
    h->line = l->no;
    quote_into(l->p, l->len, h->quote, sizeof(h->quote));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->advice, sizeof(h->advice), fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------------
 * YAML layout hints
 */

static bool tab_hint(const char *text, size_t len, int near_line, struct lint_hint *h)
{
    size_t pos = 0;
    struct line l = {0};
    while (next_line(text, len, &pos, &l) && (near_line == 0 || l.no <= near_line)) {
        size_t i = 0;
        while (i < l.len && (l.p[i] == ' ' || l.p[i] == '\t'))
            i++;
        if (i < l.len && memchr(l.p, '\t', i)) {
            hint_set(h, &l,
                     "YAML indentation must be spaces, not tabs: replace the tab with "
                     "spaces");
            return true;
        }
    }
    return false;
}

/* "  -source: /" (a key glued to the dash) -> "- source: /". */
static bool dash_hint(const char *text, size_t len, struct lint_hint *h)
{
    size_t pos = 0;
    struct line l = {0};
    while (next_line(text, len, &pos, &l)) {
        size_t i = indent_of(&l);
        if (i + 1 >= l.len || l.p[i] != '-' ||
            !(isalpha((unsigned char)l.p[i + 1]) || l.p[i + 1] == '_'))
            continue;
        size_t k = i + 1;
        while (k < l.len && (isalnum((unsigned char)l.p[k]) || l.p[k] == '_'))
            k++;
        if (k >= l.len || l.p[k] != ':')
            continue;
        char fixed[LINT_QUOTE_MAX + 16];
        quote_into(l.p + i + 1, l.len - i - 1, fixed, sizeof(fixed));
        hint_set(h, &l, "a list item needs `- ` with a space: `- %s`", fixed);
        return true;
    }
    return false;
}

/* A list item one column off the items of the list above it, at or before last. */
static bool indent_hint(const char *text, size_t len, int last, struct lint_hint *h)
{
    size_t pos = 0;
    struct line l = {0};
    struct line prev_item = {0};
    bool found = false;
    while (next_line(text, len, &pos, &l) && (last == 0 || l.no <= last)) {
        if (is_blank(&l))
            continue;
        size_t ind = indent_of(&l);
        if (prev_item.p && ind + 1 < indent_of(&prev_item))
            prev_item.p = NULL; /* left the block of that list */
        if (!is_item(&l))
            continue;
        if (prev_item.p) {
            size_t above = indent_of(&prev_item);
            if (ind + 1 == above || ind == above + 1) {
                hint_set(h, &l,
                         "line %d is indented %zu space%s, the list above it %zu: indent "
                         "it %zu spaces like the items above",
                         l.no, ind, ind == 1 ? "" : "s", above, above);
                found = true;
            }
        }
        prev_item = l;
    }
    return found;
}

bool lint_yaml_hint(const char *text, size_t len, int near_line, struct lint_hint *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (tab_hint(text, len, near_line, ret) || dash_hint(text, len, ret))
        return true;
    memset(ret, 0, sizeof(*ret));
    return near_line > 0 && indent_hint(text, len, near_line + 1, ret);
}

void lint_hint_format(const struct lint_hint *h, char *out, size_t outsz)
{
    snprintf(out, outsz, "hint: line %d `%s`: %s", h->line, h->quote, h->advice);
}

/* ---------------------------------------------------------------------------------------------
 * Scripts
 */

void lint_shebang(const char *head, size_t len, struct lint_shebang *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (len < 2 || head[0] != '#' || head[1] != '!')
        return;
    ret->present = true;
    size_t i = 2;
    while (i < len && (head[i] == ' ' || head[i] == '\t'))
        i++;
    size_t o = 0;
    /* The kernel splits the interpreter at a space or tab and keeps a '\r'. */
    while (i < len && head[i] != '\n' && head[i] != ' ' && head[i] != '\t' &&
           o + 1 < sizeof(ret->interp))
        ret->interp[o++] = head[i++];
    ret->interp[o] = '\0';
    ret->cr = o > 0 && ret->interp[o - 1] == '\r';
}

void lint_interp_message(const struct lint_shebang *s, char *out, size_t outsz)
{
    char shown[2 * sizeof(s->interp)];
    quote_into(s->interp, strlen(s->interp), shown, sizeof(shown));
    snprintf(out, outsz, "the interpreter named on line 1 (`%s`%s) does not exist", shown,
             s->cr ? ", Windows line ending" : "");
}

int lint_crlf_line(const char *text, size_t len)
{
    size_t pos = 0;
    struct line l = {0};
    while (next_line(text, len, &pos, &l))
        if (l.len > 0 && l.p[l.len - 1] == '\r' && l.p + l.len < text + len)
            return l.no;
    return 0;
}
