/*
 * config-internal: the flat YAML mapping reader (config-map.c, on the YAML front end parse/yaml),
 * shared by config.c and onprem.c and exposed to the unit tests.  It turns the
 * first YAML document of a text into a list of (key, line, value) entries in file order, keeping
 * how each value was written (null, plain or quoted scalar, list, mapping), and collects warnings.
 * Interpreting the entries (types, defaults, unknown keys) is the caller's job.
 */
#ifndef CDAGENT_CONFIG_INTERNAL_H
#define CDAGENT_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* At most this many warnings are kept; the rest are counted in one last line. */
#define CFG_MAX_WARNINGS 50
/* Values quoted in messages are cut to this many bytes. */
#define CFG_QUOTE_MAX 60

enum cfg_kind {
    CFG_NULL,   /* empty, ~ or null (plain) */
    CFG_SCALAR, /* any other scalar */
    CFG_LIST,   /* a sequence */
    CFG_MAP,    /* a mapping */
};

struct cfg_entry {
    char *key;   /* owned; the key with one leading ':' removed */
    bool colon;  /* the key was written with a leading ':' */
    size_t line; /* 1-based line of the key */
    enum cfg_kind kind;
    char *value; /* owned, wiped on free; the scalar's text (NULL unless CFG_SCALAR) */
    size_t value_len;
    bool quoted; /* written quoted, literal (|) or folded (>): a string to YAML */
};

struct cfg_map {
    struct cfg_entry *v; /* owned */
    size_t n;
};

struct cfg_warnings {
    char **v; /* owned; NULL-terminated after cfg_warnings_finish() */
    size_t n;
    size_t dropped; /* warnings beyond CFG_MAX_WARNINGS */
};

/*
 * Read text as YAML whose top level is a mapping.  An empty document (nothing, comments, '---',
 * a lone null) gives zero entries.  Keys that are not scalars draw a warning ("<filename> line N:
 * a key that is not a plain value, ignoring") and are skipped; later YAML documents draw a
 * warning.  The parser's buffers and the document's scalars are wiped before they are freed.
 * Errors: ERR_CONFIG with a message "line N column M: <libyaml's problem>" (no file name; the
 * caller wraps it) for syntax errors and bad bytes, "line N: the top level must be a mapping of
 * keys to values, not a list" (or "a single value") otherwise.  *ret is untouched on failure.
 */
int cfg_read_map(const char *text, size_t len, const char *filename, struct cfg_map *ret,
                 struct cfg_warnings *w, struct err *err);
void cfg_map_done(struct cfg_map *m);

/* Add a warning (kept unless CFG_MAX_WARNINGS are already there). */
void cfg_warn(struct cfg_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append "<filename>: N more warnings not shown" if some were dropped; NULL-terminate. */
void cfg_warnings_finish(struct cfg_warnings *w, const char *filename);
void cfg_warnings_done(struct cfg_warnings *w);

/* Copy v (len bytes) into out for a message: at most CFG_QUOTE_MAX bytes, bytes outside
 * printable ASCII shown as '?', "..." appended when cut.  out needs CFG_QUOTE_MAX + 4 bytes. */
void cfg_quote(const char *v, size_t len, char out[CFG_QUOTE_MAX + 4]);

/* YAML 1.1 (Psych) typing of a plain scalar, by parse/yaml. */
bool cfg_yaml11_null(const char *s);
/* true/false/yes/no/on/off in any case; returns false when s is none of them. */
bool cfg_yaml11_bool(const char *s, bool *ret);
/* Integers: [-+] then 0b..., 0x..., 0[0-7]... (octal; *ret_octal set), or decimal; '_' allowed
 * between digits.  Returns false when s is not an integer, does not fit in int64_t, or is
 * sexagesimal ("1:30", YAML 1.1 but refused in a config). */
bool cfg_yaml11_int(const char *s, int64_t *ret, bool *ret_octal);

/* True when s (len bytes) holds a byte below 0x20 or 0x7f (tab excluded) or a NUL. */
bool cfg_has_control(const char *s, size_t len);

#endif
