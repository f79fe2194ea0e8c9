/*
 * sigv4-internal: the stages of the SigV4 signer, exposed for tests (tests/unit/test_sigv4.c
 * checks each against the published vectors so a failure names the stage).  Not for other
 * modules: use sigv4.h.
 */
#ifndef CDAGENT_SIGV4_INTERNAL_H
#define CDAGENT_SIGV4_INTERNAL_H

#include "net/sigv4.h"

/* Everything one signing computes.  All strings owned; release with sigv4_result_done(). */
struct sigv4_result {
    char amz_date[17];    /* "20150830T123600Z" */
    char *scope;          /* "20150830/us-east-1/service/aws4_request" */
    char *signed_headers; /* "host;x-amz-date" */
    char *payload_hash;   /* hex SHA-256 of the body or UNSIGNED-PAYLOAD */
    char *canonical_request;
    char *string_to_sign;
    char signature[65];  /* lower-case hex */
    char *authorization; /* header mode: the Authorization value */
    char *query;         /* presign mode: the X-Amz-* parameters to append (with Signature) */
};
void sigv4_result_done(struct sigv4_result *r);

/*
 * Run every stage.  presign selects query signing (the X-Amz-* parameters go into the canonical
 * query, X-Amz-Date/Authorization are not headers).  headers are read only: in header mode the
 * canonical request includes the x-amz-date, token and content-sha256 headers the public
 * function would add.  ret is filled only on success.
 * Errors: ERR_SIGNATURE as sigv4_sign_headers.
 */
int sigv4_compute(const char *method, const char *url, const struct http_headers *headers,
                  const void *body, size_t body_len, const struct sigv4_creds *creds,
                  const struct sigv4_params *params, bool presign, struct sigv4_result *ret,
                  struct err *err);

/* Canonical URI of a raw path (no query): normalised and encoded (s3_mode: decoded, encoded
 * once, no normalisation).  Caller frees. */
char *sigv4_canonical_uri(const char *path, bool s3_mode);

/* Canonical query string of a raw query (no '?'): each name/value percent-decoded, re-encoded
 * with the unreserved set, sorted by name then value, "name=value" joined with '&'.  extra
 * (may be NULL) is a further already-encoded "a=b&c=d" list merged in.  Caller frees. */
char *sigv4_canonical_query(const char *query, const char *extra);

/* Canonical form of one header value: trimmed, whitespace runs collapsed.  Caller frees. */
char *sigv4_canonical_header_value(const char *value);

/* The derived signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date8), region), service),
 * "aws4_request") into out. */
void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char out[32]);

#endif
