/*
 * httpshare: what every http client of the process shares (issue 14 item 1; spec,
 * R-227), used only by net/http.
 *
 * - A pool of idle transfer handles (a curl multi handle with its one easy handle and the
 *   kept-alive connections in the multi's cache).  A request takes a handle whose last request
 *   went to the same origin (so its connection is warm), else any idle handle, else a new one,
 *   and gives it back when done: the poller and the workers, and every short-lived client
 *   (one per command), reuse the same connections.  libcurl's own connection sharing
 *   (CURL_LOCK_DATA_CONNECT) is not used because its documentation says connections cannot be
 *   shared between concurrent threads; a pooled handle is used by one thread at a time.
 * - One curl share object for DNS and TLS sessions, with one mutex per lock kind, attached to
 *   every pooled easy handle.
 * - The TLS trust store (the system store, or the R-052 override from the environment) read and
 *   parsed once per process and handed to every TLS context (libcurl with OpenSSL); when the
 *   override variables change a new store is built.  With another TLS backend libcurl loads the
 *   store itself.
 *
 * Thread-safe.  Handles live for the process (idle ones beyond HTTPSHARE_MAX_IDLE are freed).
 */
#ifndef CDAGENT_HTTPSHARE_H
#define CDAGENT_HTTPSHARE_H

#include <stdbool.h>
#include <curl/curl.h>

#define HTTPSHARE_MAX_IDLE 8

struct httpshare_handle {
    CURLM *multi; /* owned; its connection cache is the pool's warm connections */
    CURL *easy;   /* owned; reset before every request */
    char *origin; /* owned; "scheme://host:port" of the last request, NULL when new */
    struct httpshare_handle *next;
};

/* Take a handle for a request to origin (may be NULL); NULL only when libcurl cannot allocate.
 * The caller resets the easy handle and calls httpshare_setup(). */
struct httpshare_handle *httpshare_take(const char *origin);
/* Give the handle back after its transfer was removed from the multi handle. */
void httpshare_give(struct httpshare_handle *h, const char *origin);

/* Attach the share object and configure the trust store: verification on, the process-wide
 * parsed store when libcurl uses OpenSSL (CAINFO/CAPATH cleared so libcurl reads nothing), else
 * the override paths.  Call after curl_easy_reset(). */
void httpshare_setup(CURL *e);

/* After a TLS failure: the reason the trust store could not be loaded, or NULL. */
const char *httpshare_trust_error(void);

#endif
