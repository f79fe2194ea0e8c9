/*
 * yaml: the one YAML 1.1 front end of the agent and the only libyaml user.  It reads the first
 * document of a text into a small node tree (aliases resolved to the anchored node, so the tree
 * may share nodes) under fixed limits on nesting depth, node, anchor and alias counts, and types
 * plain scalars as YAML 1.1 as Psych (the Ruby agent's reader) does: null (~, null, empty),
 * booleans (true/false, yes/no, on/off in any case), integers (decimal, 0 octal, 0x, 0b, base 60,
 * '_' separators), floats.  Parse errors come back as a struct yaml11_error the caller renders in
 * its own words (config and appspec word them differently).  Pure: bytes in, tree out, no I/O, no
 * logging; the parser's buffers and every scalar are wiped before they are freed, since config
 * text may hold secrets.
 * Ownership: a struct yaml11_doc owns all its nodes; yaml11_doc_done() releases them.
 */
#ifndef CDAGENT_YAML_H
#define CDAGENT_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YAML11_MAX_DEPTH 64      /* nesting deeper than this is YAML11_E_LIMIT */
#define YAML11_MAX_NODES 200000  /* nodes per document */
#define YAML11_MAX_ANCHORS 1000  /* anchors per document (alias lookup is linear) */
#define YAML11_MAX_ALIASES 10000 /* alias uses per document */

enum yaml11_kind { YAML11_SCALAR, YAML11_SEQ, YAML11_MAP };

struct yaml11_node {
    enum yaml11_kind kind;
    int line;                  /* 1-based */
    int column;                /* 1-based */
    char *text;                /* owned; scalar text, NUL-terminated (may hold NULs: see len) */
    size_t len;                /* bytes of text */
    char *tag;                 /* owned; explicit tag or NULL */
    bool plain;                /* plain scalar style */
    struct yaml11_node **kids; /* owned array of borrowed nodes; a map alternates key, value */
    size_t n, cap;
};

struct yaml11_doc {
    struct yaml11_node *root;   /* borrowed from nodes; NULL for an empty stream */
    bool more_documents;        /* something follows the first document (it is not read) */
    struct yaml11_node **nodes; /* owned */
    size_t n_nodes, cap_nodes;
    char **anchors;                /* owned names */
    struct yaml11_node **anchored; /* borrowed */
    size_t n_anchors, cap_anchors;
    size_t n_aliases;
};

enum yaml11_error_kind {
    YAML11_E_SYNTAX = 1, /* libyaml scanner/parser error: line, column, problem, context */
    YAML11_E_READER,     /* bad bytes (encoding): offset, problem */
    YAML11_E_LIMIT,      /* depth/node/anchor/alias limit: line, problem is the sentence */
    YAML11_E_NUL,        /* a scalar holds a NUL character (only with reject_nul): line */
    YAML11_E_ALIAS,      /* an alias names no anchor: line, problem names the alias */
};

struct yaml11_error {
    enum yaml11_error_kind kind;
    int line, column;  /* 1-based, of the problem */
    int context_line;  /* 1-based line where the context started; 0 when none */
    size_t offset;     /* byte offset (YAML11_E_READER) */
    char problem[160]; /* libyaml's problem, or our sentence */
    char context[96];  /* libyaml's context ("while parsing a block mapping") or "" */
};

struct yaml11_opts {
    bool reject_nul; /* a scalar holding "\0" is YAML11_E_NUL */
};

/*
 * Parse the first document of text (len bytes, need not be NUL-terminated) into *ret (zeroed
 * first; release with yaml11_doc_done() on success and failure alike).  Returns 0, or -1 with
 * *ret_err filled (libyaml running out of memory aborts, like xmalloc).
 */
int yaml11_load(const char *text, size_t len, const struct yaml11_opts *opts,
                struct yaml11_doc *ret, struct yaml11_error *ret_err);
void yaml11_doc_done(struct yaml11_doc *d);

enum yaml11_type { YAML11_NULL = 0, YAML11_BOOL, YAML11_INT, YAML11_FLOAT, YAML11_STR };

/* A typed scalar: the value as Psych would type it plus what was written. */
struct yaml11_scalar {
    enum yaml11_type type;
    bool b;           /* YAML11_BOOL */
    int64_t i;        /* YAML11_INT (saturated when big) */
    bool big;         /* YAML11_INT outside int64_t */
    double f;         /* YAML11_FLOAT */
    bool octal;       /* YAML11_INT written with a leading 0 (0644) */
    const char *text; /* borrowed: the scalar as written */
    bool quoted;      /* not plain style (quoted, literal or folded) */
};

/*
 * Type a scalar: text (NUL-terminated), plain = plain style, tag = explicit tag or NULL.
 * Quoted scalars and !!str are strings; plain ones follow YAML 1.1 as Psych reads it.
 */
void yaml11_scalar_type(const char *text, bool plain, const char *tag, struct yaml11_scalar *ret);
/* yaml11_scalar_type() of a scalar node; a collection types as YAML11_STR with text "". */
void yaml11_node_type(const struct yaml11_node *n, struct yaml11_scalar *ret);
/* Absent (NULL) or a scalar that types as null. */
bool yaml11_is_null(const struct yaml11_node *n);

#endif
