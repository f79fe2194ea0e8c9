/*
 * sigv4: pure AWS Signature Version 4 (AWS4-HMAC-SHA256) signing, spec R-050.  Given a request
 * (method, URL or path+query, headers, exact body bytes) and credentials it adds X-Amz-Date,
 * X-Amz-Security-Token (when the credentials carry a session token), x-amz-content-sha256 (S3)
 * and Authorization to the header list, or builds the query string of a pre-signed URL.  It does
 * no I/O and keeps no state: the signing time comes from the caller (params->now plus the clock
 * offset of R-051), so results are reproducible.  Secrets are only read; intermediate keys are
 * wiped.  Canonicalisation follows the published test suite: header names lower-cased, values
 * trimmed with inner whitespace runs (folded lines too) collapsed to one space, duplicate names
 * joined with ','; query parameters decoded and re-encoded (RFC 3986 unreserved set) and sorted;
 * the path is normalised (dot segments, repeated '/') and encoded once more ("double encoding")
 * for ordinary services, or taken as one encoding of the key with no normalisation in s3_mode.
 * The skew helpers parse a response Date header into an offset for later signing.
 */
#ifndef CDAGENT_SIGV4_H
#define CDAGENT_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/err.h"

struct http_headers;

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_DEFAULT_EXPIRES_SEC 3600

struct sigv4_creds {
    const char *access_key_id;     /* borrowed */
    const char *secret_access_key; /* borrowed; never copied unwiped, never logged */
    const char *session_token;     /* borrowed; NULL or "" when none */
};

struct sigv4_params {
    const char *region;      /* borrowed; credential-scope region */
    const char *service;     /* borrowed; signing name ("codedeploy-commands", "s3") */
    time_t now;              /* signing time, seconds since the epoch (UTC); 0: time(NULL) */
    long clock_offset_sec;   /* added to now: server time minus local time */
    bool s3_mode;            /* S3 rules: no path normalisation or double encoding, and the
                              * x-amz-content-sha256 header is added and signed */
    bool raw_path;           /* S3's path rules (no normalisation, no double encoding) without the
                              * header; s3_mode implies it */
    bool unsigned_payload;   /* payload hash "UNSIGNED-PAYLOAD" instead of the body's SHA-256 */
    bool sign_body_header;   /* add and sign x-amz-content-sha256 outside s3_mode too */
    bool omit_session_token; /* attach the token only after signing, unsigned (test vectors) */
    long expires_sec;        /* presigned URLs: X-Amz-Expires; 0: SIGV4_DEFAULT_EXPIRES_SEC */
};

/*
 * Sign a request with the Authorization header.  url is either an absolute "http(s)://host[:port]
 * /path?query" URL or a "/path?query" as sent on the wire.  headers holds the headers to sign
 * and must contain Host unless url is absolute (then Host is added from the URL when missing);
 * on success X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256 (see params) and
 * Authorization are appended (existing copies of those names are not expected).  body/body_len
 * are the exact bytes that will be sent (NULL/0 for none).
 * Errors: ERR_SIGNATURE when an input is unusable (missing key, region, service or Host, a URL
 * that cannot be parsed, a time that cannot be formatted); headers are unchanged then.
 */
int sigv4_sign_headers(const char *method, const char *url, struct http_headers *headers,
                       const void *body, size_t body_len, const struct sigv4_creds *creds,
                       const struct sigv4_params *params, struct err *err);

/*
 * Pre-sign a request: compute the X-Amz-* query parameters (Algorithm, Credential, Date, Expires,
 * SignedHeaders, Security-Token, Signature) for the request described as in sigv4_sign_headers
 * (headers are read, not changed).  *ret_query (caller frees) is those parameters, encoded and
 * joined with '&', to be appended to the URL's query after '&' (or '?' when it has none).
 * Errors: as sigv4_sign_headers; *ret_query is untouched then.
 */
int sigv4_presign_query(const char *method, const char *url, const struct http_headers *headers,
                        const void *body, size_t body_len, const struct sigv4_creds *creds,
                        const struct sigv4_params *params, char **ret_query, struct err *err);

/*
 * is this service error a clock-skew complaint?  code is the AWS error code (may be NULL),
 * message the error message (may be NULL).
 */
bool sigv4_is_skew_error(const char *code, const char *message);

/*
 * parse an HTTP Date header ("Tue, 01 Dec 2026 08:00:00 GMT", also the RFC 850 and asctime
 * forms) and return server time minus local_now in *ret_offset_sec, for params.clock_offset_sec.
 * Errors: ERR_PARSE when date is NULL or not a valid HTTP date.
 */
int sigv4_clock_offset(const char *date, time_t local_now, long *ret_offset_sec, struct err *err);

#endif
