/* headers: see headers.h. */
#include "net/headers.h"

#include <stdlib.h>
#include <strings.h>

#include "base/util.h"

void http_headers_init(struct http_headers *h)
{
    h->items = NULL;
    h->n = 0;
    h->cap = 0;
}

void http_headers_done(struct http_headers *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->items[i].name);
        /* Values may be tokens or signatures: wipe them. */
        secret_free(h->items[i].value);
    }
    free(h->items);
    http_headers_init(h);
}

void http_headers_add(struct http_headers *h, const char *name, const char *value)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 8;
        h->items = xrealloc(h->items, h->cap * sizeof(*h->items));
    }
    h->items[h->n].name = xstrdup(name);
    h->items[h->n].value = xstrdup(value);
    h->n++;
}

const char *http_headers_get(const struct http_headers *h, const char *name)
{
    if (!h)
        return NULL;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->items[i].name, name) == 0)
            return h->items[i].value;
    return NULL;
}
