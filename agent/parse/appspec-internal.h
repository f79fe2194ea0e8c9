/*
 * appspec-internal: the YAML 1.1 scalar typing stage of appspec.c, exposed for unit tests only
 * (R-132, checklist C-268).  Not for other modules.
 */
#ifndef CDAGENT_APPSPEC_INTERNAL_H
#define CDAGENT_APPSPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum appspec_ytype {
    APPSPEC_Y_NULL = 0,
    APPSPEC_Y_BOOL,
    APPSPEC_Y_INT,
    APPSPEC_Y_FLOAT,
    APPSPEC_Y_STR,
};

/* A typed scalar: the value as Psych would type it plus what was written. */
struct appspec_yscalar {
    enum appspec_ytype type;
    bool b;          /* APPSPEC_Y_BOOL */
    int64_t i;       /* APPSPEC_Y_INT (saturated when big) */
    bool big;        /* APPSPEC_Y_INT outside int64_t */
    double f;        /* APPSPEC_Y_FLOAT */
    bool octal;      /* APPSPEC_Y_INT written with a leading 0 (0644) */
    const char *text;  /* borrowed: the scalar as written */
    bool quoted;     /* not plain style (quoted, literal or folded) */
};

/*
 * Type a scalar: text (NUL-terminated), plain = plain style, tag = explicit tag or NULL.
 * Quoted scalars and !!str are strings; plain ones follow YAML 1.1 as Psych reads it.
 */
void appspec_yscalar_type(const char *text, bool plain, const char *tag,
                          struct appspec_yscalar *ret);

/* Edit distance (optimal string alignment, ASCII case-insensitive). */
size_t appspec_edit_distance(const char *a, const char *b);

#endif
