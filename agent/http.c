/* http: see http.h.  Header list and classification helpers; the transfer lands next. */
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
        /* Header values may be tokens or signatures: wipe them. */
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

struct http_client *http_client_new(const struct http_client_opts *opts, struct err *err)
{
    (void)opts;
    err_set(err, ERR_UNSUPPORTED, "http: not implemented yet");
    return NULL;
}

void http_client_free(struct http_client *c)
{
    (void)c;
}

int http_request(struct http_client *c, const struct http_request *req, struct http_response *ret,
                 struct err *err)
{
    (void)c, (void)req;
    ret->status = 0;
    http_headers_init(&ret->headers);
    buf_init(&ret->body, 1);
    ret->bytes_streamed = 0;
    return err_set(err, ERR_UNSUPPORTED, "http: not implemented yet");
}

void http_response_done(struct http_response *r)
{
    if (!r)
        return;
    http_headers_done(&r->headers);
    buf_done(&r->body);
}

bool http_is_throttle_code(const char *error_code)
{
    (void)error_code;
    return false;
}

bool http_is_retryable(long status, int transport_err_code, const char *error_code)
{
    (void)status, (void)transport_err_code, (void)error_code;
    return false;
}

char *http_uri_encode(const char *s, bool encode_slash)
{
    (void)encode_slash;
    return xstrdup(s);
}

bool http_host_allows_plain(const char *host)
{
    (void)host;
    return false;
}
