/*
 * install: the Install lifecycle step (spec section 12, R-171..R-189, R-215, R-223).  Given a
 * parsed AppSpec and the unpacked revision, install_run():
 *   1. plans every copy and mkdir of `files` and every permission step, detecting ALL conflicts
 *      (file-exists behaviour, duplicate targets, permission errors) while treating the paths of
 *      the previous install's cleanup file as already gone, before anything is removed;
 *   2. checks that the new files fit on every destination file system (bytes and inodes, with a
 *      margin, crediting what the removal frees), refusing before anything changes otherwise;
 *   3. removes the previous install listed in "<group>-cleanup" and deletes that file;
 *   4. writes "<group>-install.json" in the Ruby agent's format;
 *   5. executes the plan, appending each created path to a fresh "<group>-cleanup" before the
 *      filesystem change it records (copies) or right after it (mkdir, SELinux), flushed each
 *      time, so the file always tells the truth about what is on disk;
 *   6. writes "<group>_last_successful_install" once everything succeeded.
 * When a step from 3 on fails after the previous install's files were removed, the host gets the
 * previous revision back: what this Install created (its cleanup file) is removed, and the
 * revision named by _last_successful_install is installed again from its deployment-archive
 * (files already on the host are kept, as RETAIN does), with a fresh cleanup file listing it.
 * The error then says whether that restore worked.
 * Copies write a temporary file in the target's directory and rename it over the target,
 * never following a symlink at the target.  Nothing is ever written outside the declared
 * destinations (and deployment-instructions/).  The module reads the Ruby agent's cleanup file
 * format and writes the same format, so hosts can switch agents between deployments.
 *
 * Nothing here logs above debug: notices (SELinux skipped, ...) go to opts->note.
 */
#ifndef CDAGENT_INSTALL_H
#define CDAGENT_INSTALL_H

#include <stdbool.h>

#include "base/err.h"

struct appspec;
struct statvfs;

/* Seams for tests; NULL members (or a NULL ops) mean the real system calls. */
struct install_ops {
    int (*statvfs)(const char *path, struct statvfs *ret);
    /* Copy all of in_fd to out_fd; -1 with errno on failure. */
    int (*copy_data)(int in_fd, int out_fd);
};

struct install_opts {
    const char *root_dir;       /* borrowed; :root_dir: */
    const char *group_id;       /* borrowed; DeploymentGroupId */
    const char *deployment_dir; /* borrowed; "<root>/<group>/<deployment id>" */
    const char *archive_dir;    /* borrowed; the unpacked revision (deployment-archive) */
    /* borrowed, may be NULL: AgentActionOverrides...FileExistsBehavior of the deployment spec
     * (already upper-cased, R-085); used when the AppSpec has no file_exists_behavior. */
    const char *spec_file_exists_behavior;
    /* SELinux contexts: 0 = apply when /sys/fs/selinux/enforce exists, 1 = always run
     * semanage/restorecon, -1 = always skip (tests, hosts where detection is wrong). */
    int selinux;
    /* Lines worth logging at INFO/WARN by the caller; may be NULL. */
    void (*note)(void *ctx, const char *msg);
    void *note_ctx;                /* borrowed */
    const struct install_ops *ops; /* borrowed, may be NULL */
};

/*
 * Run the Install step.  On success the new files are in place and the state files written.
 * Errors (err->code):
 *   ERR_INSTALL  planning failures with the Ruby agent's exact messages (R-174..R-177, R-182..
 *                R-188), e.g. "The deployment failed because a specified file already exists at
 *                this location: <target>"; nothing has been removed or written then.  Also a
 *                failing chown (unknown user/group), ACL or SELinux step while executing.
 *   ERR_UNSAFE   a `files.source` or followed directory link resolving outside the archive.
 *   ERR_INSTALL  also "Install: not enough free space on the file system holding ..." (nothing
 *                changed then).
 *   ERR_SYSTEM   a filesystem operation failed while executing ("install '<target>': ..."); the
 *                cleanup file then lists exactly what is on disk: the restored previous
 *                revision, or what was created so far when there was none to restore.  The
 *                message ends with "; the previous revision's files (<dir>) were restored" or
 *                "; restoring the previous revision's files (<dir>) failed too: <why>".
 */
int install_run(const struct appspec *as, const struct install_opts *opts, struct err *err);

/*
 * Remove what "<group>-cleanup" lists and delete the file; a missing file is success.
 * Exposed for tests and tools; install_run() calls it itself.  Errors: ERR_SYSTEM when the file
 * cannot be read or a listed path exists but cannot be removed.
 */
int install_remove_previous(const char *root_dir, const char *group_id, struct err *err);

#endif
