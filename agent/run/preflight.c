/* preflight: see preflight.h. */
#include "run/preflight.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "deploy/bundlesig.h"
#include "deploy/diskspace.h"
#include "deploy/retention.h"
#include "deploy/s3obj.h"
#include "parse/spec.h"
#include "run/executor.h"

static struct s3obj_opts s3_opts(const struct executor_opts *o, struct http_client *http)
{
    return (struct s3obj_opts){.region = o->region,
                               .domain = o->domain,
                               .endpoint_override = o->s3_endpoint_override,
                               .use_fips = o->use_fips,
                               .creds = o->creds,
                               .http = http};
}

static void prune_budget(const struct executor_opts *o, const struct deploy_spec *spec)
{
    if (!o->max_revisions_disk_bytes)
        return;
    unsigned removed = 0;
    uint64_t used = 0;
    struct err e = ERR_INIT;
    if (retention_prune_budget(o->root_dir, spec->deployment_group_id, spec->deployment_id,
                               o->max_revisions_disk_bytes, &removed, &used, &e) < 0) {
        log_warn("Keeping revisions within :max_revisions_disk_mb:: %s, ignoring", e.msg);
        return;
    }
    char u[32];
    diskspace_format(used, u, sizeof(u));
    if (removed)
        log_info("Removed %u old revision(s) of deployment group %s to stay within "
                 ":max_revisions_disk_mb: (now %s)",
                 removed, spec->deployment_group_id, u);
    if (used > o->max_revisions_disk_bytes)
        log_warn("Deployment group %s uses %s, more than :max_revisions_disk_mb:; the revision "
                 "being deployed and the last successful one are never removed",
                 spec->deployment_group_id, u);
}

/* Size of the revision to download; 0 when unknown (no check). */
static uint64_t revision_size(const struct executor_opts *o, const struct deploy_spec *spec,
                              struct http_client *http, char **ret_what)
{
    const struct spec_revision *rev = &spec->revision;
    uint64_t size = 0;
    if (rev->type == SPEC_REV_S3 && http && o->creds) {
        struct s3obj_opts so = s3_opts(o, http);
        struct err e = ERR_INIT;
        if (s3obj_head(&so, rev->bucket, rev->key, rev->version, &size, &e) < 0) {
            log_info("Disk space check skipped: %s", e.msg);
            return 0;
        }
        *ret_what = xasprintf("s3://%s/%s", rev->bucket, rev->key);
    } else if (rev->type == SPEC_REV_LOCAL_FILE) {
        struct stat st;
        if (stat(rev->location, &st) < 0)
            return 0;
        size = (uint64_t)st.st_size;
        *ret_what = xstrdup(rev->location);
    }
    return size;
}

int preflight_before_download(const struct executor_opts *o, const struct deploy_spec *spec,
                              struct http_client *http, struct err *err)
{
    prune_budget(o, spec);
    AUTOFREE char *what = NULL;
    uint64_t size = revision_size(o, spec, http, &what);
    if (!what)
        return 0;
    struct diskspace_need need;
    diskspace_need_for(size, o->bundle_expansion_allowance, o->max_bundle_bytes, &need);
    struct diskspace_free avail;
    struct err e = ERR_INIT;
    if (diskspace_free_of(o->root_dir, &avail, &e) < 0) {
        log_info("Disk space check skipped: %s", e.msg);
        return 0;
    }
    return diskspace_judge(&need, &avail, size, o->bundle_expansion_allowance, what, o->root_dir,
                           err);
}

int preflight_verify_signature(const struct executor_opts *o, const struct deploy_spec *spec,
                               struct http_client *http, const char *bundle, struct err *err)
{
    const struct spec_revision *rev = &spec->revision;
    if (!o->bundle_signing_public_keys || !*o->bundle_signing_public_keys)
        return 0;
    if (rev->type == SPEC_REV_GITHUB) {
        (void)unlink(bundle);
        return err_set(err, ERR_SIGNATURE,
                       "signed revisions are required (:bundle_signing_public_keys:) but a GitHub "
                       "revision cannot carry a signature; deploy from S3 with <key>%s",
                       BUNDLESIG_SUFFIX);
    }
    if (rev->type != SPEC_REV_S3)
        return 0;
    struct bundlesig_keys *keys = bundlesig_keys_load(o->bundle_signing_public_keys, err);
    if (!keys)
        return -1;
    AUTOFREE char *sig_key = xasprintf("%s%s", rev->key, BUNDLESIG_SUFFIX);
    AUTOFREE char *what = xasprintf("s3://%s/%s", rev->bucket, sig_key);
    struct s3obj_opts so = s3_opts(o, http);
    char *sig = NULL;
    size_t sig_len = 0;
    int r = s3obj_get(&so, rev->bucket, sig_key, BUNDLESIG_MAX_BYTES, &sig, &sig_len, err);
    if (r < 0) {
        err->code = err->code == ERR_NOT_FOUND ? ERR_SIGNATURE : err->code;
        err_prefix(err,
                   "signed revisions are required (:bundle_signing_public_keys:) and the "
                   "signature %s could not be fetched",
                   what);
    } else {
        size_t which = 0;
        r = bundlesig_verify_file(keys, bundle, sig, sig_len, what, &which, err);
        if (r == 0)
            log_info("Bundle signature %s verified with key %s", what,
                     bundlesig_key_name(keys, which));
    }
    free(sig);
    bundlesig_keys_free(keys);
    if (r < 0)
        (void)unlink(bundle); /* unverified bytes are not kept */
    return r;
}

int preflight_check_settings(const char *signing_keys, const char *hook_logs_uri, struct err *err)
{
    if (signing_keys && *signing_keys) {
        struct bundlesig_keys *k = bundlesig_keys_load(signing_keys, err);
        if (!k)
            return -1;
        log_info("Revisions must be signed by one of %zu key(s) in %s", bundlesig_keys_count(k),
                 signing_keys);
        bundlesig_keys_free(k);
    }
    if (hook_logs_uri && *hook_logs_uri) {
        char *bucket = NULL, *prefix = NULL;
        if (s3obj_parse_uri(hook_logs_uri, &bucket, &prefix, err) < 0) {
            err_prefix(err, ":hook_logs_s3_uri");
            return -1;
        }
        free(bucket);
        free(prefix);
    }
    return 0;
}
