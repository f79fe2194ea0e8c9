/*
 * retention: keep the revisions of a deployment group within a disk budget
 * (:max_revisions_disk_mb:, issue 16 item 2), besides the count limit of layout_prune_revisions
 * .  The revisions are the entries of "<root>/<group>/"; the one being deployed and the
 * one named by _last_successful_install are never removed (ApplicationStop and rollbacks need
 * it) but count towards the budget.  Others go oldest first (mtime, then name) until the group
 * uses no more than the budget.  Removal never follows symlinks.  Nothing logs above debug.
 */
#ifndef CDAGENT_RETENTION_H
#define CDAGENT_RETENTION_H

#include <stdint.h>

#include "base/err.h"

/*
 * Prune group_id's revisions to budget_bytes (0: no budget, nothing done).  *ret_removed and
 * *ret_used (may be NULL) get the number removed and the bytes the group uses afterwards.
 * Errors: ERR_UNSAFE for a bad group id; ERR_SYSTEM when the listing, the last-successful file
 * or a removal fails (nothing is removed when the last successful revision is unknown).
 */
int retention_prune_budget(const char *root_dir, const char *group_id,
                           const char *current_deployment_id, uint64_t budget_bytes,
                           unsigned *ret_removed, uint64_t *ret_used, struct err *err);

/* Bytes used by all revisions under root_dir: every directory except deployment-instructions,
 * deployment-logs and the tracking directory (tracking_dir NULL: the default).  Best effort. */
uint64_t retention_revisions_usage(const char *root_dir, const char *tracking_dir);

#endif
