/*
 * map: a string-keyed hash map (open addressing, linear probing) for sets and small lookups.
 * The map owns copies of its keys; values are borrowed pointers plus an int tag the caller
 * interprets.  Lookups are O(1) on average; the table doubles when half full.  Out of memory
 * aborts (xmalloc).  Not thread-safe.
 */
#ifndef CDAGENT_MAP_H
#define CDAGENT_MAP_H

#include <stddef.h>

struct map_ent {
    char *key;       /* owned; NULL = empty slot */
    int tag;         /* the caller's (e.g. a kind) */
    const void *val; /* borrowed */
};

struct map {
    struct map_ent *v; /* owned */
    size_t cap;        /* a power of two, or 0 */
    size_t n;
};

/* A zeroed struct map is an empty map; map_done() frees it and leaves it empty again. */
void map_done(struct map *m);
/* The entry for key, or NULL. */
struct map_ent *map_get(const struct map *m, const char *key);
/* The entry for key, created (tag 0, val NULL) when missing.  Valid until the next map_put. */
struct map_ent *map_put(struct map *m, const char *key);

#endif
