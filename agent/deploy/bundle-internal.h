/*
 * bundle-internal: what bundle.c (helpers, GitHub), bundle-s3.c (one stream), bundle-sink.c (the
 * bytes on their way to disk) and bundle-parts.c (parallel and per-part downloads) share.  Not
 * for other modules.
 */
#ifndef CDAGENT_BUNDLE_INTERNAL_H
#define CDAGENT_BUNDLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/checksum.h"
#include "base/err.h"
#include "deploy/bundle.h"
#include "deploy/unpack.h"
#include "net/endpoint.h"
#include "net/http.h"

#define BUNDLE_HEAD_BYTES 4096 /* first bytes kept to recognise an S3 error document */

void bundle_default_sleep(void *arg, uint64_t ms);
bool bundle_etag_is_md5(const char *etag);
bool bundle_sse_hides_md5(const struct http_headers *h);
char *bundle_xml_text(const char *xml, const char *tag);
const char *bundle_status_reason(long status);

/*
 * The object's bytes in order: hashed as they arrive (MD5 and one additional checksum, each
 * optional), the first BUNDLE_HEAD_BYTES kept, fed to a streamed extraction, and (fd >= 0)
 * written at base + off.  A minimum transfer rate is checked on every chunk.
 */
struct bundle_sink {
    int fd;                   /* borrowed; -1: digest only */
    uint64_t base;            /* file offset of this sink's first byte */
    uint64_t off;             /* bytes taken so far */
    EVP_MD_CTX *md5;          /* owned; NULL: no MD5 wanted */
    struct checksum_run *cks; /* owned; NULL: no additional checksum wanted */
    struct unpack_stream *ex; /* owned; NULL: no extraction while downloading */
    char head[BUNDLE_HEAD_BYTES];
    size_t head_len;
    uint64_t min_bps; /* 0: no minimum rate */
    uint64_t window_ms;
    uint64_t win_start_ms, win_bytes;
    struct err why; /* why bundle_sink_write refused */
    int why_kind;   /* enum bundle_sink_fail */
};

enum bundle_sink_fail { SINK_OK, SINK_SLOW, SINK_DISK, SINK_EXTRACT, SINK_STOP };

void bundle_sink_init(struct bundle_sink *s, int fd, uint64_t base, const struct bundle_s3_opts *o);
/* Forget the digests and the head, off = 0 (the extraction is left to the caller). */
void bundle_sink_reset(struct bundle_sink *s);
void bundle_sink_done(struct bundle_sink *s);
/* The rate window starts now (a new request). */
void bundle_sink_restart_window(struct bundle_sink *s);
/* Take len bytes: -1 with s->why and s->why_kind when the rate is too low, the write or the
 * extraction failed. */
int bundle_sink_write(struct bundle_sink *s, const void *data, size_t len);
/* Lower-case hex MD5 of what was taken (ends the MD5); out must hold 33 bytes. */
void bundle_sink_md5_hex(struct bundle_sink *s, char out[33]);
/* When the first bytes are an S3 <Error> document: the err (ERR_HTTP, or ERR_THROTTLED) naming
 * its code and message, -1.  Else 0. */
int bundle_sink_xml_error(const struct bundle_sink *s, const char *bucket, const char *key,
                          struct err *err);

/* One download of an S3 object: the state shared by the single stream and the parts. */
struct s3_ctx {
    const struct bundle_s3_source *src; /* borrowed */
    const struct bundle_s3_opts *o;     /* borrowed */
    const char *tmp;                    /* borrowed; the .part file */
    char *region;                       /* owned; may change once */
    struct endpoint_s3_object obj;      /* owned */
    long clock_offset_sec;              /* */
    int fd;
    uint64_t have; /* bytes of the object in .part when this request started */
    uint64_t start_usec;
    char *want_etag; /* owned; the spec's ETag unquoted, NULL when none */
    /* The object being fetched, learnt from the response that delivered its first bytes; every
     * later response must be the same object or the download starts over. */
    char *etag;              /* owned; NULL: unknown, so no resume is possible */
    char *version;           /* owned */
    uint64_t total;          /* object size, 0 unknown */
    bool kms;                /* the ETag is not the MD5 of the content */
    int cks_alg;             /* enum checksum_alg of cks_value, -1 for none */
    char *cks_value;         /* owned; x-amz-checksum-* of the whole object */
    struct err refused;      /* why s3_begin refused a response */
    bool refused_fatal;      /* ... and whether starting over cannot help */
    struct bundle_sink sink; /* the single stream's bytes */
    bool go_parts;           /* the first answer showed a parts download is due */
    bool one_stream;         /* parts were tried and are not of one size */
    int parts;               /* parts fetched by bundle_s3_parts */
};

/* One signed S3 request on http. */
struct s3_call {
    struct http_client *http;
    const char *method; /* "GET" or "HEAD" */
    int part;           /* > 0: ?partNumber= */
    uint64_t from, to;  /* Range bytes=from-to when ranged; to UINT64_MAX: open */
    bool ranged;
    const char *if_match; /* unquoted ETag or NULL */
    bool checksum_mode;   /* x-amz-checksum-mode: ENABLED */
    http_begin_fn begin;
    http_write_fn write;
    http_progress_fn progress;
    void *arg;
};
int bundle_s3_call(struct s3_ctx *c, const struct s3_call *call, struct http_response *resp,
                   struct err *err);

/* Set up c->sink's digests for a whole object from its first byte. */
void bundle_s3_digests(struct s3_ctx *c);
/* Start (again) the streamed extraction of c->o->extract, if any, into c->sink. */
int bundle_s3_extract_start(struct s3_ctx *c, struct err *err);

/* True when the object c learnt of is fetched in parts (size or multipart ETag, options). */
bool bundle_s3_wants_parts(const struct s3_ctx *c);
/* Fetch c's object (c->etag, c->total known) in parts into c->fd, feeding c->sink in order and
 * verifying a multipart ETag.  1: the parts are not of one size, use one stream instead. */
int bundle_s3_parts(struct s3_ctx *c, struct err *err);

#endif
