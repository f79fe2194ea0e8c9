/* bundle: see bundle.h.  Stub (issue 6). */
#include "bundle.h"

#include <stdlib.h>

#include "util.h"

void bundle_result_done(struct bundle_result *r)
{
    if (!r)
        return;
    free(r->etag);
    free(r->version_id);
    r->etag = r->version_id = NULL;
}

int bundle_fetch_s3(const struct bundle_s3_source *src, const struct bundle_s3_opts *opts,
                    const char *dest, struct bundle_result *ret, struct err *err)
{
    (void)src, (void)opts, (void)dest, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "S3 GetObject: not implemented yet");
}

int bundle_fetch_github(const struct bundle_github_source *src,
                        const struct bundle_github_opts *opts, const char *dest,
                        struct bundle_result *ret, struct err *err)
{
    (void)src, (void)opts, (void)dest, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "GitHub download: not implemented yet");
}

char *bundle_github_url(const char *api_base, const struct bundle_github_source *src,
                        struct err *err)
{
    (void)api_base, (void)src;
    err_set(err, ERR_UNSUPPORTED, "GitHub URL: not implemented yet");
    return NULL;
}

char *bundle_etag_unquote(const char *etag)
{
    return etag ? xstrdup(etag) : NULL;
}

bool bundle_etag_is_multipart(const char *etag)
{
    (void)etag;
    return false;
}

int bundle_s3_error(struct err *err, const char *bucket, const char *key, long status,
                    const char *body)
{
    (void)body;
    return err_set(err, ERR_HTTP, "S3 GetObject s3://%s/%s: %ld", bucket, key, status);
}
