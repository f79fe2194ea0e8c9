/*
 * headers: the request/response header list (http_headers_*) shared by net/http and the SigV4
 * signer.  Plain memory, no libcurl: the signer includes this, never net/http.h.  Values are
 * wiped on free (they may be tokens or signatures).
 */
#ifndef CDAGENT_HEADERS_H
#define CDAGENT_HEADERS_H

#include <stddef.h>

struct http_header {
    char *name;  /* owned */
    char *value; /* owned */
};

/* A growable list of headers; http_headers_add copies name and value. */
struct http_headers {
    struct http_header *items; /* owned */
    size_t n;
    size_t cap;
};
void http_headers_init(struct http_headers *h);
void http_headers_done(struct http_headers *h);
void http_headers_add(struct http_headers *h, const char *name, const char *value);
/* Case-insensitive lookup; NULL when absent.  Borrowed pointer. */
const char *http_headers_get(const struct http_headers *h, const char *name);

#endif
