/*
 * lint: the words a newcomer needs next to a parse error (issue 17).  Pure text heuristics over
 * the bytes of an AppSpec or a script, no I/O: the YAML layout mistakes tutorials spread (a list
 * item written "-source:" without the space, tab indentation, a list item one column off its
 * siblings), the first line of a script (its interpreter, a Windows line ending), and the list of
 * problems `codedeploy-local validate` reports, each with file, line, the line quoted and a fix.
 * The hints are added after the spec's messages (spec section 13), never instead of them.
 * Ownership: a struct lint_report owns its problems; lint_report_done() releases them.
 */
#ifndef CDAGENT_LINT_H
#define CDAGENT_LINT_H

#include <stdbool.h>
#include <stddef.h>

#define LINT_QUOTE_MAX 100 /* bytes of a line quoted back */

enum lint_severity { LINT_ERROR = 0, LINT_WARNING };

/* One problem a deployment of the bundle would hit (error) or may hit (warning). */
struct lint_problem {
    enum lint_severity severity;
    char *file;    /* owned; path inside the bundle ("appspec.yml", "scripts/start.sh") */
    int line;      /* 1-based; 0 = the file as a whole */
    char *message; /* owned; what is wrong */
    char *quote;   /* owned; the offending line as written (see lint_quote_line), or NULL */
    char *fix;     /* owned; what to change, or NULL */
};

struct lint_report {
    struct lint_problem *v; /* owned, in the order found */
    size_t n, cap;
};

void lint_report_done(struct lint_report *r);
/* Add a problem; quote and fix may be NULL (copied). */
void lint_add(struct lint_report *r, enum lint_severity sev, const char *file, int line,
              const char *quote, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
size_t lint_count(const struct lint_report *r, enum lint_severity sev);
/* Order the problems by file (first_file first, the others in order of appearance), then by
 * line; problems of one line keep their order. */
void lint_report_sort(struct lint_report *r, const char *first_file);

/*
 * The line of `key:` inside the mapping item that starts on line `item_line` (the item's first
 * line or a later line more indented than its "- "), or item_line when it is not found.
 */
int lint_key_line(const char *text, size_t len, int item_line, const char *key);

/*
 * Line `line` (1-based) of text as a quotable string: at most LINT_QUOTE_MAX bytes ("..."
 * appended when cut), a tab shown as "\t", a carriage return as "\r", other control bytes as
 * '?'.  NULL when text has no such line.  Caller frees.
 */
char *lint_quote_line(const char *text, size_t len, int line);

/* A hint: the line it is about, that line quoted, and the advice. */
struct lint_hint {
    int line; /* 0 = no hint */
    char quote[LINT_QUOTE_MAX + 16];
    char advice[256];
};

/*
 * Look for the YAML layout mistake behind an error reported at near_line (0 = anywhere), in this
 * order: a tab in the indentation (at or before near_line), a list item missing the space after
 * '-' ("-source:", anywhere), a list item indented one column off the list above it (at or before
 * near_line + 1).  Fills *ret and returns true when one is found.
 */
bool lint_yaml_hint(const char *text, size_t len, int near_line, struct lint_hint *ret);

/* "hint: line <n> `<quote>`: <advice>" into out. */
void lint_hint_format(const struct lint_hint *h, char *out, size_t outsz);

/* The first line of a script as far as the kernel reads it (issue 17: "#!/bin/bash\r"). */
struct lint_shebang {
    bool present;     /* the script starts with "#!" */
    char interp[256]; /* the interpreter path as the kernel sees it, '\r' included */
    bool cr;          /* the interpreter ends with '\r' (a Windows line ending) */
};

/* Read the "#!" line from the first len bytes of a script. */
void lint_shebang(const char *head, size_t len, struct lint_shebang *ret);

/*
 * The sentence explaining a missing interpreter, e.g. "the interpreter named on line 1
 * (`/bin/bash\r`, Windows line ending) does not exist" or "the interpreter named on line 1
 * (`/usr/bin/python4`) does not exist".  The hook runner appends it after its ENOENT message.
 */
void lint_interp_message(const struct lint_shebang *s, char *out, size_t outsz);

/* 1-based number of the first line of text ending in "\r\n"; 0 when there is none. */
int lint_crlf_line(const char *text, size_t len);

#endif
