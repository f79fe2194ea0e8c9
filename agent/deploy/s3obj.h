/*
 * s3obj: single signed S3 object requests that are not bundle downloads: HeadObject (the size
 * before a download, for the disk check), a small GetObject into memory (a detached bundle
 * signature) and PutObject from memory (hook logs).  Each is one SigV4-signed request (service
 * "s3", payload hash of the exact body) to the URL of R-111/R-112 (endpoint override, FIPS,
 * virtual-hosted or path style) with the caller's credentials; no retries, no region redirects:
 * the callers treat a failure as "not available" (disk check, hook logs) or as fatal (signature).
 * Errors name the operation, the object and S3's answer:
 *     "S3 PutObject s3://b/k: 403 AccessDenied: Access Denied".
 * Nothing here logs above debug; bodies and credentials are never logged.
 */
#ifndef CDAGENT_S3OBJ_H
#define CDAGENT_S3OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct creds_provider;
struct http_client;

struct s3obj_opts {
    const char *region;            /* borrowed; signing region and endpoint */
    const char *domain;            /* borrowed; NULL: derived from the region */
    const char *endpoint_override; /* borrowed; :s3_endpoint_override: or NULL */
    bool use_fips;                 /* :use_fips_mode: */
    struct creds_provider *creds;  /* borrowed */
    struct http_client *http;      /* borrowed */
    long timeout_ms;               /* whole-request cap; 0: none (the read timeout applies) */
};

/*
 * HeadObject: *ret_size gets Content-Length.  version may be NULL (latest).  Errors: as
 * s3obj_get; ERR_PARSE when the answer has no usable Content-Length.
 */
int s3obj_head(const struct s3obj_opts *o, const char *bucket, const char *key, const char *version,
               uint64_t *ret_size, struct err *err);

/*
 * GetObject of a small object into memory: *ret (caller frees, NUL-terminated for convenience)
 * and *ret_len.  Errors: ERR_AUTH (401/403), ERR_NOT_FOUND (404), ERR_THROTTLED, ERR_HTTP (other
 * statuses, transport), ERR_LIMIT when the object is larger than max bytes, ERR_CONFIG for an
 * unusable bucket/key/endpoint.
 */
int s3obj_get(const struct s3obj_opts *o, const char *bucket, const char *key, size_t max,
              char **ret, size_t *ret_len, struct err *err);

/* PutObject of body (len bytes) with the given Content-Type (NULL: none).  Errors: as s3obj_get. */
int s3obj_put(const struct s3obj_opts *o, const char *bucket, const char *key, const void *body,
              size_t len, const char *content_type, struct err *err);

/*
 * Split "s3://bucket[/prefix]" into *ret_bucket and *ret_prefix (both caller frees; the prefix
 * without leading or trailing '/', "" when none).  ERR_CONFIG for anything else.  Pure.
 */
int s3obj_parse_uri(const char *uri, char **ret_bucket, char **ret_prefix, struct err *err);

#endif
