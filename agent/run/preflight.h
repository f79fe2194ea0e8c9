/*
 * preflight: the executor's checks around a revision download (issue 16 items 2 and 6), each
 * off unless configured.
 *   Before the download: the deployment group's revisions are pruned to :max_revisions_disk_mb:
 *   (deploy/retention; a failure is logged, not fatal), then the size of the revision (S3
 *   HeadObject, or the local file) with the expansion allowance is compared with the free space
 *   and inodes of :root_dir: (deploy/diskspace).  A HEAD that fails skips the disk check with an
 *   INFO line (GetObject then reports the real problem).  The disk check always runs; only a
 *   GitHub revision (size unknown) skips it.
 *   After the download, before unpacking: with :bundle_signing_public_keys:, an S3 revision
 *   must have a detached signature s3://<bucket>/<key>.sig that verifies over the downloaded
 *   bytes with one of the keys (deploy/bundlesig); GitHub revisions are refused (they cannot
 *   carry one); local revisions (codedeploy-local) are not checked.
 */
#ifndef CDAGENT_PREFLIGHT_H
#define CDAGENT_PREFLIGHT_H

#include "base/err.h"

struct deploy_spec;
struct executor_opts;
struct http_client;

/* Prune by disk budget, then the disk check.  http may be NULL for local revisions.
 * Errors: ERR_LIMIT from the disk check (the message gives the numbers). */
int preflight_before_download(const struct executor_opts *o, const struct deploy_spec *spec,
                              struct http_client *http, struct err *err);

/* Verify the signature of the downloaded bundle (see above); on failure the bundle file is
 * removed.  Errors: ERR_SIGNATURE (missing, wrong, GitHub revision), ERR_CONFIG (key file),
 * transport errors of the signature fetch. */
int preflight_verify_signature(const struct executor_opts *o, const struct deploy_spec *spec,
                               struct http_client *http, const char *bundle, struct err *err);

/* At start-up: a key file that cannot be loaded or a hook-log URI that is not s3://bucket[/prefix]
 * is a configuration error (ERR_CONFIG), found before any deployment (either may be NULL). */
int preflight_check_settings(const char *signing_keys, const char *hook_logs_uri, struct err *err);

#endif
