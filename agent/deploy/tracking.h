/*
 * tracking: in-flight command tracking files for restart recovery (spec §5.1 R-074..R-076,
 * v2-delta V-032..V-034).  One file "<root>/<tracking dir>/<deployment id>" per running command,
 * holding the HostCommandIdentifier without a trailing newline, written atomically (mode 0600);
 * files older than TRACKING_STALE_S are stale and deleted whenever the directory is examined.
 */
#ifndef CDAGENT_TRACKING_H
#define CDAGENT_TRACKING_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define TRACKING_STALE_S 86400
#define TRACKING_MAX_ID 4096

/* Write the tracking file for deployment_id (retrying after 1, 2 and 5 s on EACCES/EPERM,
 * R-074; sleeps can be disabled for tests with retry=false).  ERR_UNSAFE for an unsafe id. */
int tracking_write(const char *dir, const char *deployment_id, const char *host_command_id,
                   bool retry, struct err *err);
/* Remove it (missing is fine). */
void tracking_remove(const char *dir, const char *deployment_id);

/* The newest non-stale tracking file: *ret_deployment and *ret_hcid (caller frees), or both
 * NULL when there is none.  Stale and unreadable/invalid files are deleted on the way. */
int tracking_newest(const char *dir, char **ret_deployment, char **ret_hcid, struct err *err);

/* Count of non-stale tracking files (stale ones are deleted). */
size_t tracking_count(const char *dir);

#endif
