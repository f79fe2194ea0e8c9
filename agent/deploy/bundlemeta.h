/*
 * bundlemeta: the two marker files AWS's agent 2.x keeps in a deployment directory (v2-delta
 * V-051), read and written the same way so a host can switch agents in both directions:
 *
 *   <root>/<group>/<deployment>/.bundle-etag    the ETag S3 returned, quotes removed (V-042)
 *   <root>/<group>/<deployment>/.bundle-source  "downloaded" or "archive-reuse" (V-009, V-049)
 *
 * Files are written without a trailing newline, mode 0644 (LAYOUT_FILE_MODE), atomically (temp +
 * rename in the same directory).  Writers return an err; DownloadBundle treats a failure as a
 * warning only (V-051: best-effort).  Readers trim surrounding whitespace (another writer may
 * have added a newline), refuse anything that is not one short printable line, and never fail:
 * a missing, unreadable or malformed marker reads as NULL.  Nothing here logs.
 */
#ifndef CDAGENT_BUNDLEMETA_H
#define CDAGENT_BUNDLEMETA_H

#include "base/err.h"
#include "deploy/layout.h"

#define BUNDLEMETA_ETAG_FILE LAYOUT_BUNDLE_ETAG_FILE
#define BUNDLEMETA_SOURCE_FILE LAYOUT_BUNDLE_SOURCE_FILE
#define BUNDLEMETA_SOURCE_DOWNLOADED "downloaded"
#define BUNDLEMETA_SOURCE_REUSE "archive-reuse"
/* The completion-note key (V-009); the service parses "BundleSource=<value>". */
#define BUNDLEMETA_NOTE_KEY "BundleSource"
/* Markers are one short line; anything larger is not a marker. */
#define BUNDLEMETA_MAX_BYTES 1024

/* Write ".bundle-source" in deployment_dir: source must be BUNDLEMETA_SOURCE_DOWNLOADED or
 * BUNDLEMETA_SOURCE_REUSE (anything else is a programming error).  Errors: ERR_SYSTEM. */
int bundlemeta_write_source(const char *deployment_dir, const char *source, struct err *err);

/* Write ".bundle-etag" with every '"' of etag removed.  A NULL or (after unquoting) empty etag
 * removes a stale marker instead.  Errors: ERR_SYSTEM. */
int bundlemeta_write_etag(const char *deployment_dir, const char *etag, struct err *err);

/* The marker's value (caller frees), or NULL.  read_source returns only the two known values. */
char *bundlemeta_read_source(const char *deployment_dir);
char *bundlemeta_read_etag(const char *deployment_dir);

/* Copy ".bundle-etag" from one deployment directory to another (V-050: so BUNDLE_ETAG survives
 * a chain of restarts).  A source without a marker removes the destination's.  Errors:
 * ERR_SYSTEM. */
int bundlemeta_copy_etag(const char *from_dir, const char *to_dir, struct err *err);

/* The DownloadBundle completion note read back from ".bundle-source" (V-009):
 * "BundleSource=downloaded" or "BundleSource=archive-reuse"; NULL when the marker is missing or
 * holds anything else.  Caller frees. */
char *bundlemeta_note(const char *deployment_dir);

#endif
