/*
 * path: lexical path helpers, no file system access.  The one path normaliser of the agent
 * lives here; callers that must not follow symlinks out of a directory check the result with
 * path_within() and resolve links themselves.  Returned strings are the caller's to free.
 */
#ifndef CDAGENT_PATH_H
#define CDAGENT_PATH_H

#include <stdbool.h>

/* "a" + "/" + "b" with exactly one slash between. */
char *path_join(const char *a, const char *b);
/* True if a relative path stays beneath its base lexically (no absolute, no ".." escaping). */
bool path_is_beneath(const char *rel);
/* Absolute and lexically normalised: "//" and "." dropped, ".." resolved (never above "/"),
 * no trailing '/'.  A relative input is taken as relative to "/". */
char *path_normalise(const char *p);
/* path_normalise(path_join(a, b)). */
char *path_join_normalise(const char *a, const char *b);
/* Is path equal to root or below it?  Both absolute and normalised. */
bool path_within(const char *path, const char *root);

#endif
