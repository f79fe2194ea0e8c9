/*
 * appspec-internal: what the files of the appspec module share (appspec.c drives, the section
 * files appspec-sections.c and appspec-perm.c check, appspec-tree.c holds the helpers), and the
 * stages unit tests reach.  Not for other modules.  Every function that fails sets c->err with
 * "<file> line <n>: <why>" (appspec_fail) and returns -1.
 */
#ifndef CDAGENT_APPSPEC_INTERNAL_H
#define CDAGENT_APPSPEC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/appspec.h"
#include "parse/lint.h"
#include "parse/yaml.h"

struct err;

#define APPSPEC_MAX_MERGE_VISITS 256 /* merged mappings visited per lookup */

/* Validation state shared by the section checks. */
struct appspec_ctx {
    const char *file; /* borrowed: name for messages */
    const char *text; /* borrowed: the document, for hints */
    size_t len;
    struct err *err;       /* borrowed */
    struct appspec *as;    /* borrowed: being built */
    size_t entries;        /* files + permissions + scripts so far */
    bool failed;           /* appspec_fail() was called (err may be NULL) */
    int fail_line;         /* line named by the failure (0 = none) */
    struct lint_hint hint; /* set by a section that knows the fix; line 0 = none */
};

/* Edit distance (optimal string alignment, ASCII case-insensitive). */
size_t appspec_edit_distance(const char *a, const char *b);

/* Set c->err to "<file> line <line>: <fmt...>" (no line part when line <= 0); returns -1. */
int appspec_failv(struct appspec_ctx *c, int code, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
int appspec_fail(struct appspec_ctx *c, int code, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Add "<file> line <line>: <fmt...>" to c->as->warnings. */
void appspec_warn(struct appspec_ctx *c, enum appspec_warning_kind kind, int line, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
/* Set c->hint about line (quoted from the document text) unless one is set; returns -1. */
int appspec_hint(struct appspec_ctx *c, int line, const char *advice);

typedef int (*appspec_pair_fn)(struct appspec_ctx *c, const struct yaml11_node *key,
                               const struct yaml11_node *value, void *ud);
/* Visit a mapping's pairs in order with "<<" merge keys spliced in (Psych's order); *budget
 * bounds the merged mappings visited.  Stops at and returns the callback's non-zero result. */
int appspec_map_each(struct appspec_ctx *c, const struct yaml11_node *m, appspec_pair_fn fn,
                     void *ud, int depth, size_t *budget);
/* Value of key in mapping m (the last one wins), or NULL when absent. */
const struct yaml11_node *appspec_get(struct appspec_ctx *c, const struct yaml11_node *m,
                                      const char *key);
/* "a list", "a mapping", "a scalar" or "nothing". */
const char *appspec_kind_name(const struct yaml11_node *n);
/* A scalar as Ruby's to_s renders it; NULL for collections.  Caller frees. */
char *appspec_to_s(const struct yaml11_node *n);
/* A short flow-style rendering of any node for messages.  Caller frees. */
char *appspec_inspect(const struct yaml11_node *n);
/* s without surrounding whitespace.  Caller frees. */
char *appspec_strip(const char *s);
/* Key of mapping m as text into *ret (owned; NULL when absent or null); a collection fails. */
int appspec_get_text(struct appspec_ctx *c, const struct yaml11_node *m, const char *key,
                     const char *what, char **ret);
/* Count one more entry against APPSPEC_MAX_ENTRIES (ERR_LIMIT beyond). */
int appspec_count_entry(struct appspec_ctx *c, int line);

/* The sections, in the order of R-138. */
int appspec_section_version(struct appspec_ctx *c, const struct yaml11_node *root);
int appspec_section_os(struct appspec_ctx *c, const struct yaml11_node *root);
int appspec_section_hooks(struct appspec_ctx *c, const struct yaml11_node *root);
int appspec_section_files(struct appspec_ctx *c, const struct yaml11_node *root);
int appspec_section_permissions(struct appspec_ctx *c, const struct yaml11_node *root);
int appspec_section_feb(struct appspec_ctx *c, const struct yaml11_node *root);

void appspec_event_done(struct appspec_event *e);
void appspec_file_done(struct appspec_file *f);
void appspec_permission_done(struct appspec_permission *p);

#endif
