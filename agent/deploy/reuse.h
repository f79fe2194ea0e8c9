/*
 * reuse: archive reuse for restart ("bounce") deployments (v2-delta V-012, V-050).  When the
 * deployment spec names ReuseArchiveFromDeploymentId, DownloadBundle may take the unpacked
 * revision of that earlier deployment of the same group instead of downloading the bundle again.
 *
 * Every condition is checked before anything is touched: the source id is "d-" followed by 1 to
 * 62 upper-case letters or digits (64 characters at most); it differs from the current
 * deployment id; <root>/<group>/<source>/deployment-archive exists, is a directory, is not empty,
 * and its canonical path lies below the canonical group directory; the AppSpec name is a safe
 * relative path and the AppSpec is found in that archive (with the R-128 fall-back to
 * appspec.yaml/appspec.yml, as Install resolves it; V-060).
 *
 * Then: the destination deployment-archive is removed and the source archive copied into it
 * (a real copy, never a symlink to the source; links inside are copied as links, as for a
 * local-directory revision), a stale destination bundle.tar is removed and the source bundle.tar,
 * when there is one, hard-linked (so the bytes outlive the source directory when retention prunes
 * it), and the source .bundle-etag copied best-effort.  The copy gets the checks a fresh unpack
 * would apply (V-049 step 7): links refused when reject_links, setuid/setgid bits cleared unless
 * allow_setid.  On any failure the partial destination
 * archive and bundle.tar are removed, so the caller can fall back to a normal download with
 * nothing half-built left.  Nothing here logs; reuse_archive() returns why it declined or failed.
 */
#ifndef CDAGENT_REUSE_H
#define CDAGENT_REUSE_H

#include <stdbool.h>

#include "base/err.h"

#define REUSE_ID_MAX 64

/* The copy step; the default is copytree().  Replaceable so tests can fail it mid-way. */
typedef int (*reuse_copy_fn)(const char *src, const char *dst, struct err *err);

struct reuse_request {
    const char *root_dir;         /* borrowed */
    const char *group_id;         /* borrowed; already validated by layout */
    const char *deployment_id;    /* borrowed; the current deployment */
    const char *source_id;        /* borrowed; ReuseArchiveFromDeploymentId (short form) */
    const char *appspec_filename; /* borrowed; NULL: "appspec.yml" */
    bool allow_local_ids;         /* codedeploy-local: also accept the local deployment ids
                                   * (reuse_local_id_valid) */
    bool reject_links;            /* V-053 on the copy: a symbolic link fails the reuse */
    bool allow_setid;             /* false: setuid/setgid bits are cleared in the copy, as
                                   * unpack_archive() clears them (V-049 step 7, R-123) */
    reuse_copy_fn copy;           /* NULL: copytree() */
};

/* True when id has the form V-050 accepts: "d-" + [A-Z0-9]{1,62}. */
bool reuse_source_id_valid(const char *id);

/* True for the ids local deployments get (V-067): "d-" + [A-Z0-9]+ + "-local" (Ruby, cdagent)
 * or "local-" + digits (v2), at most REUSE_ID_MAX characters.  Only codedeploy-local's restart
 * rehearsal reuses them. */
bool reuse_local_id_valid(const char *id);

/*
 * Reuse the source deployment's archive for the current deployment directory (which must exist).
 * Returns 0 when deployment-archive (and bundle.tar, when the source had one) are in place.
 * Errors (nothing of the destination archive or bundle is left): ERR_UNSAFE for an id of the
 * wrong form, a source equal to the current deployment, an unsafe AppSpec name or an archive
 * outside the group directory; ERR_NOT_FOUND when the source archive is missing, not a
 * directory, empty, or has no AppSpec; ERR_ARCHIVE for a link in the copy under reject_links;
 * ERR_SYSTEM when a copy, link, chmod or removal fails.
 */
int reuse_archive(const struct reuse_request *r, struct err *err);

#endif
