/*
 * bundle: fetch a revision to a file (spec §9.1-§9.3, R-108..R-120; v2-delta V-058, V-059).
 *
 * S3: one signed GetObject (SigV4, service "s3", x-amz-content-sha256 = SHA-256 of the empty body,
 * key URI-encoded per segment, versionId when given, If-Match with the expected ETag,
 * x-amz-checksum-mode: ENABLED) streamed to "<dest>.part" (mode 0600), then verified and renamed
 * to dest.  Each 2xx is vetted before its body is written: a 200 is the whole object and is
 * written from byte 0 (also when it answers a Range request); a 206 must carry the ETag of the
 * object whose bytes we hold and a Content-Range starting where they end, with the same total.
 * Anything else discards the partial bytes and starts again from zero.  A broken transfer is
 * resumed with "Range: bytes=<have>-" plus If-Match up to BUNDLE_S3_ATTEMPTS requests in all.
 * The finished file must have the object's size, the MD5 of a single-part ETag (not SSE-KMS/C)
 * and S3's full-object additional checksum when the object has one (see checksum.h), each
 * computed as the bytes arrive (the hash state continues across a resume; a 200 restarts it).
 * A multipart ETag ("<hex>-<n>") is verified by fetching the object part by part
 * (?partNumber=i): the MD5 of the concatenated part MD5s, "-<n>" (README, "What is verified for
 * which kind of S3 object").  The .part file is not fsync'ed: after a crash the deployment
 * fails and starts over.  A 200 whose body is an S3 <Error> document fails with its code and
 * message.
 * Errors name the object and the service's answer:
 *     "S3 GetObject s3://b/k: 403 AccessDenied: Access Denied".
 *
 * GitHub: GET <api>/repos/<account>/<repo>/{tarball|zipball}/<commit> with "Authorization: token
 * <t>" sent to the API host only (never to a redirect target, never in err or logs), retried after
 * 10, 30, 90 s (injectable) on HTTP error statuses and network errors.
 *
 * Nothing here logs above debug.  The caller owns dest; on failure no dest and no .part remain.
 */
#ifndef CDAGENT_BUNDLE_H
#define CDAGENT_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "deploy/unpack.h"
#include "net/http.h"

struct creds_provider;

#define BUNDLE_S3_ATTEMPTS 5        /* first try + resumes / retries */
#define BUNDLE_S3_RETRY_BASE_MS 300 /* 0.3 s x 2^n, R-064 */
#define BUNDLE_GITHUB_API "https://api.github.com"
#define BUNDLE_GITHUB_RETRIES 3
#define BUNDLE_GITHUB_MAX_REDIRECTS 5
#define BUNDLE_MAX_BYTES_DEFAULT (32ULL * 1024 * 1024 * 1024)
/* Objects of at least this size are fetched in parts over several connections (issue 14). */
#define BUNDLE_PARTS_MIN_BYTES (64ULL * 1024 * 1024)
#define BUNDLE_CONNECTIONS 8                    /* :s3_download_connections: */
#define BUNDLE_PART_BYTES (16ULL * 1024 * 1024) /* :s3_download_part_size_mb: */

/* Sleep hook for retry waits (tests make them instant and record them). */
typedef void (*bundle_sleep_fn)(void *arg, uint64_t ms);
/* Progress: bytes in dest so far, expected total (0 unknown), average rate in bytes/s. */
typedef void (*bundle_progress_fn)(void *arg, uint64_t done, uint64_t total, double rate_bps);

struct bundle_s3_source {
    const char *bucket;  /* borrowed */
    const char *key;     /* borrowed */
    const char *version; /* borrowed; NULL: latest */
    const char *etag;    /* borrowed; NULL: no ETag check (quotes are ignored) */
};

struct bundle_s3_opts {
    const char *region;            /* borrowed; signing region and endpoint */
    const char *domain;            /* borrowed; NULL: derived from the region */
    const char *endpoint_override; /* borrowed; :s3_endpoint_override: or NULL */
    bool use_fips;                 /* :use_fips_mode: */
    struct creds_provider *creds;  /* borrowed */
    struct http_client *http;      /* borrowed */
    uint64_t max_bytes;            /* 0: BUNDLE_MAX_BYTES_DEFAULT */
    int attempts;                  /* 0: BUNDLE_S3_ATTEMPTS */
    uint64_t retry_base_ms;        /* wait before retry n is base << (n - 1); 0: 300 */
    bundle_sleep_fn sleep;         /* NULL: real sleep */
    void *sleep_arg;
    bundle_progress_fn progress; /* may be NULL */
    void *progress_arg;
    /* Parts: an object of at least parts_min_bytes (0: BUNDLE_PARTS_MIN_BYTES), and any object
     * with a multipart ETag, is fetched part by part over up to `connections` clients made from
     * http_opts (NULL: one stream, no parts), each part retried and resumed on its own. */
    const struct http_client_opts *http_opts; /* borrowed */
    int connections;                          /* 0: BUNDLE_CONNECTIONS */
    uint64_t part_bytes; /* 0: BUNDLE_PART_BYTES (ranges of objects with one ETag) */
    uint64_t parts_min_bytes;
    /* A request whose body arrives slower than min_rate_bps, measured over rate_window_ms, is
     * abandoned (and resumed, up to the attempts); 0: no minimum. */
    uint64_t min_rate_bps;
    uint64_t rate_window_ms; /* 0: 60 s */
    /* Extract a tar bundle while it downloads (NULL: don't).  The bytes go to the extraction in
     * order; it is restarted when the download restarts from zero, and removed when the object
     * fails to verify. */
    const struct bundle_extract *extract;
};

struct bundle_extract {
    enum unpack_format fmt;         /* UNPACK_TAR or UNPACK_TGZ */
    const char *dest;               /* borrowed; the deployment-archive directory */
    const struct unpack_opts *opts; /* borrowed; may be NULL */
};

struct bundle_result {
    char *etag;       /* owned; the response ETag without quotes, NULL if none */
    char *version_id; /* owned; x-amz-version-id, NULL if none */
    uint64_t size;    /* bytes in dest */
    int attempts;     /* requests made (of the single stream) */
    int parts;        /* parts fetched separately, 0 for one stream */
    bool extracted;   /* the bundle was extracted to extract->dest while it downloaded */
    struct unpack_stats unpacked; /* ... with these figures */
};
void bundle_result_done(struct bundle_result *r);

/*
 * Download src to dest.  Errors (message starts "S3 GetObject s3://<bucket>/<key>"): ERR_AUTH for
 * 401/403, ERR_NOT_FOUND for 404 (NoSuchKey, NoSuchBucket, NoSuchVersion), ERR_SIGNATURE for an
 * ETag, MD5 or checksum mismatch ("Expected deployment artifact bundle etag <a> but was actually
 * <b>", R-110; "downloaded content has SHA256 checksum <x> but S3 says <y>"), ERR_LIMIT beyond
 * max_bytes, ERR_HTTP for other statuses, short bodies after the attempts and transport failures
 * (". Try using s3 endpoint override." appended, R-114), ERR_CANCELLED.
 */
int bundle_fetch_s3(const struct bundle_s3_source *src, const struct bundle_s3_opts *opts,
                    const char *dest, struct bundle_result *ret, struct err *err);

struct bundle_github_source {
    const char *account;     /* borrowed */
    const char *repository;  /* borrowed */
    const char *commit_id;   /* borrowed */
    const char *bundle_type; /* borrowed; "tar" (default when NULL) or "zip" */
    const char *token;       /* borrowed secret; NULL: anonymous */
};

struct bundle_github_opts {
    const char *api_base;     /* borrowed; NULL: BUNDLE_GITHUB_API (tests: http://127.0.0.1:N) */
    struct http_client *http; /* borrowed */
    uint64_t max_bytes;       /* 0: BUNDLE_MAX_BYTES_DEFAULT */
    const uint64_t *retry_ms; /* BUNDLE_GITHUB_RETRIES waits; NULL: 10000, 30000, 90000 */
    bundle_sleep_fn sleep;    /* NULL: real sleep */
    void *sleep_arg;
    bundle_progress_fn progress; /* may be NULL */
    void *progress_arg;
};

/*
 * Download the tarball/zipball to dest.  Errors: ERR_UNSUPPORTED for another bundle type
 * ("GitHub revision specified with bundle_type other than zip or tar [bundle_type=<t>]");
 * ERR_HTTP "Could not download bundle at '<url>' after 3 retries. Server returned codes: <status>
 * '<reason>'; ..."; ERR_LIMIT; ERR_CANCELLED.
 */
int bundle_fetch_github(const struct bundle_github_source *src,
                        const struct bundle_github_opts *opts, const char *dest,
                        struct bundle_result *ret, struct err *err);

/* The GitHub URL for src (pure; caller frees), or NULL with ERR_UNSUPPORTED. */
char *bundle_github_url(const char *api_base, const struct bundle_github_source *src,
                        struct err *err);

/* Pure helpers, for tests and the executor. */
/* Copy of etag without any '"' characters (R-110).  Caller frees. */
char *bundle_etag_unquote(const char *etag);
/* True for a multipart ETag "<hex>-<n>" (no MD5 check possible). */
bool bundle_etag_is_multipart(const char *etag);
/* Parse a Content-Range "bytes <start>-<end>/<total>" (start <= end < total).  -1 when value is
 * NULL, malformed or has an unknown ("*") total; outputs untouched then. */
int bundle_parse_content_range(const char *value, uint64_t *ret_start, uint64_t *ret_end,
                               uint64_t *ret_total);
/* Build "S3 GetObject s3://b/k: <status> <code>: <message>" into err from an S3 XML error body. */
int bundle_s3_error(struct err *err, const char *bucket, const char *key, long status,
                    const char *body);
/* The same for another operation: "S3 <op> s3://b/k: ..." (op "PutObject", "HeadObject"). */
int bundle_s3_error_op(struct err *err, const char *op, const char *bucket, const char *key,
                       long status, const char *body);

#endif
