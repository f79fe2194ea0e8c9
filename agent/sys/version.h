/*
 * version: the agent version the host sees, from one source of truth (agent-spec R-048,
 * v2-delta V-004, V-087).  The daemon writes its own version into the `.version` file at start
 * (version_publish) and then sends, as x-amz-codedeploy-agent-version, exactly what the R-048
 * lookup reads back (version_lookup).  So the header and the file agree whenever the file could
 * be written; when it could not, the header follows whatever file the Ruby or v2 agent left there,
 * as R-048 requires, and without any file it is our own build identifier.
 *
 * File format (shared by Ruby, v2 and cdagent): `agent_version: <version>` with no newline,
 * mode 0444, written atomically (temp + rename).  Readers take the text after the first ": "
 * (the whole text without one), whitespace-trimmed; a file that is missing, empty, over
 * VERSION_FILE_MAX bytes, holds a NUL, or whose value holds bytes other than printable ASCII
 * (it would break the HTTP header) gives no value.
 *
 * Where: R-048 reads ".version" in the parent directory of root_dir first, then
 * VERSION_FILE_DEFAULT.  version_publish writes the first of these, which for the default root
 * (/opt/codedeploy-agent/deployment-root) is VERSION_FILE_DEFAULT, the file v2 rewrites (V-087).
 * Nothing here logs.
 */
#ifndef CDAGENT_VERSION_H
#define CDAGENT_VERSION_H

#include "base/err.h"

#define VERSION_FILE_DEFAULT "/opt/codedeploy-agent/.version"
#define VERSION_FILE_NAME ".version"
#define VERSION_FILE_MODE 0444
#define VERSION_FILE_MAX 4096
#define VERSION_FILE_PREFIX "agent_version: "

/* Our own build identifier, "cdagent-" CDAGENT_VERSION.  Static storage. */
const char *version_own(void);

/* The value of one version file (caller frees), or NULL (see the format above). */
char *version_read_file(const char *path);

/* "<parent of root_dir>/.version" (root_dir may end in '/'); caller frees. */
char *version_file_for_root(const char *root_dir);

/*
 * R-048 lookup: the value of version_file_for_root(root_dir) (skipped when root_dir is NULL or
 * empty), else of fallback_file (NULL skips it), else version_own().  Never fails; caller frees.
 */
char *version_lookup(const char *root_dir, const char *fallback_file);

/* Write "agent_version: <value>" to path (no newline, mode 0444, atomic).  value must be
 * printable ASCII.  Errors: ERR_SYSTEM. */
int version_write_file(const char *path, const char *value, struct err *err);

/* V-087: write version_own() into version_file_for_root(root_dir).  The caller logs a failure
 * as a warning and carries on.  Errors: ERR_SYSTEM. */
int version_publish(const char *root_dir, struct err *err);

#endif
