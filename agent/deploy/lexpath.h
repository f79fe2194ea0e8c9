/*
 * lexpath: lexical path arithmetic for Install: absolute, normalised names compared as
 * strings, no I/O.  Every returned string is newly allocated (caller frees).
 */
#ifndef CDAGENT_LEXPATH_H
#define CDAGENT_LEXPATH_H

#include <stdbool.h>
#include <stddef.h>

/* Absolute, lexically normalised: "//" and "." dropped, ".." resolved (clamped at "/"), no
 * trailing '/'. */
char *lexpath_norm(const char *p);
/* lexpath_norm(a + "/" + b). */
char *lexpath_join(const char *a, const char *b);
/* The last component (borrowed pointer into p). */
const char *lexpath_base(const char *p);
/* Everything before the last '/', or "/". */
char *lexpath_dir(const char *p);
/* Is path equal to root or below it (both absolute and normalised)? */
bool lexpath_within(const char *path, const char *root);
/* Does the absolute path p (n bytes, may hold no NUL) keep ".." from climbing above "/"? */
bool lexpath_stays_below_root(const char *p, size_t n);

#endif
