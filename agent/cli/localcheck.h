/*
 * localcheck: `codedeploy-local validate` (issue 17): every problem a deployment of a directory
 * bundle on this host would hit before any hook runs, found without running anything: the AppSpec
 * (YAML layout with hints, sections, keys at the wrong level), the hook scripts (missing, a
 * directory, not executable, interpreter missing or ending in "\r", Windows line endings),
 * `runas` users, `permissions` owners and groups of objects the revision installs, event
 * timeouts over the 3600 s CodeDeploy allows, `files` sources missing from the bundle, and
 * destinations that exist and conflict under the effective file_exists_behavior (R-172, R-176;
 * paths the group's previous install lists in its cleanup file count as gone, R-171).
 * Reads the bundle, the host's user database and the destinations; writes nothing.
 */
#ifndef CDAGENT_LOCALCHECK_H
#define CDAGENT_LOCALCHECK_H

#include "parse/lint.h"

#define LOCALCHECK_EVENT_LIMIT_S 3600 /* CodeDeploy's maximum per lifecycle event */
#define LOCALCHECK_MAX_CONFLICTS 20   /* conflicting destinations listed per files entry */

struct localcheck_opts {
    const char *bundle_dir;           /* borrowed; absolute path of the directory bundle */
    const char *appspec_name;         /* borrowed; -A, NULL = appspec.yml then appspec.yaml */
    const char *file_exists_behavior; /* borrowed; -b (NULL = DISALLOW) when the AppSpec has none */
    const char *root_dir;             /* borrowed; :root_dir: for the cleanup file, or NULL */
    const char *group_id;             /* borrowed; deployment group id, or NULL */
};

/*
 * Check the bundle; problems are appended to *r in the order a deployment meets them.
 * *ret_appspec (caller frees; may be NULL when no AppSpec was found) is the AppSpec's path.
 */
void localcheck_bundle(const struct localcheck_opts *o, struct lint_report *r, char **ret_appspec);

#endif
