/* map: see map.h. */
#include "base/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct map_ent *slot(const struct map *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->cap - 1);
    while (m->v[i].key && strcmp(m->v[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->v[i];
}

struct map_ent *map_get(const struct map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    struct map_ent *e = slot(m, key);
    return e->key ? e : NULL;
}

static void grow(struct map *m)
{
    struct map old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->v = xcalloc(m->cap, sizeof(*m->v));
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.v[i].key) {
            *slot(m, old.v[i].key) = old.v[i];
            m->n++;
        }
    }
    free(old.v);
}

struct map_ent *map_put(struct map *m, const char *key)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    struct map_ent *e = slot(m, key);
    if (!e->key) {
        e->key = xstrdup(key);
        m->n++;
    }
    return e;
}

void map_done(struct map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].key);
    free(m->v);
    m->v = NULL;
    m->cap = m->n = 0;
}
