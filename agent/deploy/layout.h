/*
 * layout: the on-host layout under :root_dir: (spec section 8, R-100..R-106, R-219), shared with
 * the Ruby agent and the v2 agent, so every name and format here is a compatibility contract:
 *
 *   <root>/<group>/<deployment id>/{bundle.tar, deployment-archive/, logs/scripts.log}
 *   <root>/deployment-instructions/<group>_last_successful_install   (path, no newline)
 *   <root>/deployment-instructions/<group>_most_recent_install       (path, no newline)
 *   <root>/deployment-instructions/<group>-cleanup, <group>-install.json (written by install.c)
 *   <root>/deployment-logs/<program>-deployments.log, <root>/ongoing-deployment/
 *
 * Path builders return newly allocated strings (caller frees) and do no I/O.  State files are
 * written atomically (temp + rename) with mode 0600.  Revision retention
 * removes old deployment directories with the agent's own no-follow recursive removal.
 * Nothing here logs above debug.
 *
 * DownloadBundle with these pieces: layout_make_deployment_dir(); layout_prune_revisions()
 * (log a failure and go on); fetch to layout_bundle_path(); unpack_archive() into
 * layout_archive_dir(); unpack_strip_top_dir(); layout_record_most_recent().  Install:
 * appspec_find() + appspec_load() in the archive, install_run() (which also writes
 * _last_successful_install).
 */
#ifndef CDAGENT_LAYOUT_H
#define CDAGENT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

#define LAYOUT_BUNDLE_FILE "bundle.tar"
#define LAYOUT_ARCHIVE_DIR "deployment-archive"
#define LAYOUT_ARCHIVE_TEMP_DIR "deployment-archive-temp"
#define LAYOUT_LOGS_DIR "logs"
#define LAYOUT_SCRIPTS_LOG "scripts.log"
#define LAYOUT_INSTRUCTIONS_DIR "deployment-instructions"
#define LAYOUT_DEPLOYMENT_LOGS_DIR "deployment-logs"
#define LAYOUT_ONGOING_DIR_DEFAULT "ongoing-deployment"
#define LAYOUT_LOCKS_DIR ".cdagent-locks"          /* deploy/grouplock */
#define LAYOUT_BUNDLE_ETAG_FILE ".bundle-etag"     /* v2 marker, V-051 */
#define LAYOUT_BUNDLE_SOURCE_FILE ".bundle-source" /* v2 marker, V-051 */
#define LAYOUT_LAST_SUCCESSFUL_SUFFIX "_last_successful_install"
#define LAYOUT_MOST_RECENT_SUFFIX "_most_recent_install"
#define LAYOUT_CLEANUP_SUFFIX "-cleanup"
#define LAYOUT_INSTALL_JSON_SUFFIX "-install.json"

#define LAYOUT_DIR_MODE 0755  /* directories the agent creates */
#define LAYOUT_FILE_MODE 0644 /* ordinary files the agent creates */
#define LAYOUT_STATE_FILE_MODE                                                                     \
    0600 /* files in deployment-instructions/ and ongoing-deployment/                              \
          */

/* State files are tiny; anything larger is not ours (read cap). */
#define LAYOUT_STATE_FILE_MAX 65536

/* ---- path builders (no I/O; caller frees) ---- */
char *layout_group_dir(const char *root_dir, const char *group_id);
char *layout_deployment_dir(const char *root_dir, const char *group_id, const char *deployment_id);
/* Below a deployment directory ("<root>/<group>/<id>"). */
char *layout_bundle_path(const char *deployment_dir);
char *layout_archive_dir(const char *deployment_dir);
char *layout_logs_dir(const char *deployment_dir);
char *layout_scripts_log(const char *deployment_dir);
char *layout_instructions_dir(const char *root_dir);
char *layout_last_successful_path(const char *root_dir, const char *group_id);
char *layout_most_recent_path(const char *root_dir, const char *group_id);
char *layout_cleanup_path(const char *root_dir, const char *group_id);
char *layout_install_json_path(const char *root_dir, const char *group_id);
char *layout_deployment_logs_dir(const char *root_dir);
/* "<root>/deployment-logs/<program_name>-deployments.log". */
char *layout_deployments_log(const char *root_dir, const char *program_name);
/* "<root>/<tracking_dir>"; tracking_dir NULL or "" = LAYOUT_ONGOING_DIR_DEFAULT. */
char *layout_ongoing_dir(const char *root_dir, const char *tracking_dir);

/*
 * Check that id (a deployment group id or deployment id from the service) is usable as one path
 * component: non-empty, at most 255 bytes, not "." or "..", no '/', no control characters.
 * what names it in the message ("deployment group id").  ERR_UNSAFE otherwise.
 */
int layout_check_id(const char *id, const char *what, struct err *err);

/* ---- directories ---- */
/*
 * Refuse a root dir other users could tamper with (R-219, issue 18; as sshd's StrictModes):
 * root_dir and every directory above it must be owned by root or uid and not writable by group
 * or others (safepath_check); below it, deployment-instructions, deployment-logs, the tracking
 * directory (tracking_dir, NULL for the default), .cdagent-locks, each deployment group
 * directory, each deployment directory and its logs/ must be real directories trusted the same
 * way, and none of them may hold a symbolic link where the agent keeps its files.  The message
 * names the path, its owner and mode.  ERR_UNSAFE, ERR_NOT_FOUND, ERR_SYSTEM.
 */
int layout_check_root(const char *root_dir, const char *tracking_dir, uid_t uid, struct err *err);
/* At start (daemon and codedeploy-local): create root_dir and log_dir when missing, then refuse
 * either when it is not trusted: layout_check_root() for the root dir, safepath_check() for
 * log_dir (NULL: none), both for uid.  Errors as layout_check_root(), prefixed with which
 * directory it is. */
int layout_check_host_dirs(const char *root_dir, const char *tracking_dir, const char *log_dir,
                           uid_t uid, struct err *err);
/*
 * Open "<root_dir>/<rel>" as a directory, creating root_dir (mkdir -p) and each missing
 * component of rel (mode 0755) on the way: root_dir must pass safepath_check for the process's
 * user, and no component of rel is followed when it is a link (safepath_mkdirs).  Returns the fd
 * (caller closes) or -1 with ERR_UNSAFE / ERR_SYSTEM.
 */
int layout_open_dir(const char *root_dir, const char *rel, struct err *err);
/* Write name in the directory dfd atomically (temporary name, fsync, renameat), mode, never
 * through a link.  Errors: ERR_SYSTEM (the caller adds the path). */
int layout_write_at(int dfd, const char *name, const void *data, size_t len, mode_t mode,
                    struct err *err);
/* mkdir -p "<root>/<group>/<id>" (mode 0755) with layout_open_dir(); *ret_dir (may be NULL)
 * gets its path.  ERR_UNSAFE for a bad id or an untrusted directory or link on the way,
 * ERR_SYSTEM when a directory cannot be created. */
int layout_make_deployment_dir(const char *root_dir, const char *group_id,
                               const char *deployment_id, char **ret_dir, struct err *err);
/* mkdir -p "<root>/deployment-instructions" (mode 0755).  ERR_SYSTEM on failure. */
int layout_make_instructions_dir(const char *root_dir, struct err *err);

/* ---- state files (R-102, R-103) ---- */
/*
 * Read "<group>_last_successful_install" / "_most_recent_install": the deployment directory path
 * with one trailing newline stripped (files written by the Ruby agent or by hand may have one).
 * A missing or empty file is not an error: *ret = NULL.  Otherwise *ret is allocated (caller
 * frees).  Errors: ERR_SYSTEM when the file exists but cannot be read, ERR_LIMIT when it is larger
 * than LAYOUT_STATE_FILE_MAX.
 */
int layout_read_last_successful(const char *root_dir, const char *group_id, char **ret,
                                struct err *err);
int layout_read_most_recent(const char *root_dir, const char *group_id, char **ret,
                            struct err *err);
/*
 * Write deployment_dir (no trailing newline) atomically, mode 0600, creating
 * deployment-instructions/ when missing.  Errors: ERR_SYSTEM.
 */
int layout_record_last_successful(const char *root_dir, const char *group_id,
                                  const char *deployment_dir, struct err *err);
int layout_record_most_recent(const char *root_dir, const char *group_id,
                              const char *deployment_dir, struct err *err);

/* ---- retention (R-106, V-061) ---- */
/* Is group_dir/name the deployment directory that last (the _last_successful_install value, may
 * be NULL) names, also when spelled another way (lexically normalised, or the same inode)? */
bool layout_is_last_successful(const char *group_dir, const char *name, const char *last);

/*
 * Remove old revisions of one deployment group: of the entries of "<root>/<group>/" other than
 * current_deployment_id, with extra = count - max_revisions + 1 > 0, remove the extra oldest by
 * mtime (ties: name order), except the directory named by _last_successful_install (it is
 * excluded after extra is computed, so fewer may be removed).  Removal never follows symlinks.
 * A missing group directory is success.  *ret_removed (may be NULL) counts removed entries.
 * Every candidate is attempted; returns -1 with the first failure in err (ERR_SYSTEM) when any
 * removal or the listing failed, and removes nothing when _last_successful_install exists but
 * cannot be read; the caller logs it and carries on (R-106: not fatal).
 */
int layout_prune_revisions(const char *root_dir, const char *group_id,
                           const char *current_deployment_id, unsigned max_revisions,
                           unsigned *ret_removed, struct err *err);

#endif
