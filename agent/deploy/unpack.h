/*
 * unpack: safe extraction of a revision bundle (spec section 9.5, R-123..R-127, R-215).  This is
 * the only libarchive user.  unpack_archive() extracts a tar (plain, gzip, bzip2, xz: compression
 * is auto-detected) or a zip file into a fresh directory, streaming entry by entry so memory does
 * not grow with the archive's size.  Permission bits and mtimes are restored; symbolic links are
 * created verbatim (their targets are not resolved) and hard links as hard links.
 *
 * Hostile input is refused before anything is written for the offending entry, and the partial
 * directory is then removed: absolute names, '..' components, entries that would be created
 * through a symbolic link, hard links whose target is absolute, climbs out, goes through a link
 * or is itself a symbolic link, and archives beyond the entry-count or extracted-byte caps.
 * Directory modes, times and owners are applied only once every entry succeeded, so a failed
 * extraction changes nothing outside (nor inside) the destination before it is removed.  Device
 * nodes, FIFOs and sockets are skipped and reported through opts->warn.  setuid/setgid bits are
 * cleared unless opts->allow_setid.  Ownership from the archive is applied by this module itself
 * (never ARCHIVE_EXTRACT_OWNER) only when opts->restore_owner is set and the process is root.
 *
 * Nothing here logs above debug.  The module does not know about deployments: callers pass the
 * bundle path and the deployment-archive path (see layout.h).
 */
#ifndef CDAGENT_UNPACK_H
#define CDAGENT_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Defaults for the caps (config :max_bundle_extracted_bytes: / :max_bundle_entries:, R-126). */
#define UNPACK_DEFAULT_MAX_BYTES (32ULL * 1024 * 1024 * 1024)
#define UNPACK_DEFAULT_MAX_ENTRIES 1000000ULL

/* The exact message of R-124 for a full disk. */
#define UNPACK_DISK_FULL_MSG "The disk is (or was) full during extraction."

enum unpack_format {
    UNPACK_TAR = 0, /* tar, any compression libarchive can detect */
    UNPACK_TGZ,     /* same reader as UNPACK_TAR (kept apart only for messages) */
    UNPACK_ZIP,
};

#define UNPACK_PROGRESS_BYTES (1024 * 1024)

struct unpack_opts {
    uint64_t max_bytes;   /* cap on bytes actually written; 0 = UNPACK_DEFAULT_MAX_BYTES */
    uint64_t max_entries; /* cap on archive entries; 0 = UNPACK_DEFAULT_MAX_ENTRIES */
    bool allow_setid;     /* keep setuid/setgid bits from the archive (else cleared) */
    bool restore_owner;   /* when root: owner/group by name if known on the host, else numeric */
    bool reject_links;    /* refuse any symlink or hard link entry (v2 reject_symlinks_in_bundle) */
    /* Skip the private-cwd thread mode and use the absolute-path mode that otherwise only runs
     * where unshare(CLONE_FS) is refused (for tests of that mode). */
    bool no_private_cwd;
    /* Non-fatal notices (skipped device node, ...), one line each; may be NULL. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx; /* borrowed, passed to warn */
    /* Progress (may be NULL): file bytes written and entries read so far, called about every
     * UNPACK_PROGRESS_BYTES written, possibly from a helper thread while unpack_archive waits. */
    void (*progress)(void *ctx, uint64_t bytes, uint64_t entries);
    void *progress_ctx; /* borrowed, passed to progress */
};

struct unpack_stats {
    uint64_t entries; /* entries read from the archive */
    uint64_t bytes;   /* file bytes written */
    uint64_t skipped; /* entries skipped (device nodes, FIFOs, sockets) */
};

/* Bundle type of the deployment spec ("tar", "tgz", "zip", anything else = tar, R-123). */
enum unpack_format unpack_format_from_type(const char *bundle_type);

/*
 * Extract archive_path into dest_dir.  dest_dir is removed first if it exists (R-107 step 3) and
 * created with mode 0755; its parent must exist.  opts may be NULL (defaults).  On success
 * *ret_stats (may be NULL) is filled.  On any failure dest_dir is removed again and err says:
 *   ERR_UNSAFE   "Refusing unsafe archive entry '<name>': <reason>";
 *   ERR_LIMIT    "Refusing archive entry '<name>': <which cap> ...";
 *   ERR_SYSTEM   UNPACK_DISK_FULL_MSG on ENOSPC (sys_errno ENOSPC), or a failing syscall on dest;
 *   ERR_ARCHIVE  "Error extracting tar archive: <detail>" / "Error extracting zip archive: ..."
 *                for corrupt or unreadable archives.
 */
int unpack_archive(const char *archive_path, enum unpack_format fmt, const char *dest_dir,
                   const struct unpack_opts *opts, struct unpack_stats *ret_stats, struct err *err);

/*
 * Extraction while the archive downloads (tar, any compression; not zip, whose directory is at
 * its end): dest_dir is made as by unpack_archive() and a thread extracts the bytes given to
 * unpack_stream_write() in order, with every check of unpack_archive().  Returns 0 and *ret, or
 * -1 (ERR_UNSUPPORTED for zip, or dest_dir could not be made).
 */
struct unpack_stream;
int unpack_stream_start(enum unpack_format fmt, const char *dest_dir,
                        const struct unpack_opts *opts, struct unpack_stream **ret,
                        struct err *err);
/* The next bytes of the archive.  -1 once the extraction has stopped (a hostile entry, a corrupt
 * archive, ...): stop feeding it and call unpack_stream_finish() for the reason. */
int unpack_stream_write(struct unpack_stream *s, const void *data, size_t len);
/*
 * End of the stream.  ok true: wait for the extraction and report it as unpack_archive() does.
 * ok false (the download failed or its bytes did not verify): stop it, remove dest_dir and
 * return -1 without touching err.  Releases s either way (s may be NULL: returns 0).
 */
int unpack_stream_finish(struct unpack_stream *s, bool ok, struct unpack_stats *ret_stats,
                         struct err *err);

/*
 * The top-level directory strip rule of R-127 applied to archive_dir (a deployment-archive): if it
 * holds exactly one entry, a real directory, whose listing has a name containing "appspec"
 * (case-insensitive), move that directory's contents up via "<archive_dir>-temp".  *ret_stripped
 * (may be NULL) says whether it happened; the caller logs "Stripping leading directory from
 * archive bundle contents.".  Errors: ERR_SYSTEM when listing or renaming fails (the archive may
 * then be left as "<archive_dir>-temp"; the next unpack removes it).
 */
int unpack_strip_top_dir(const char *archive_dir, bool *ret_stripped, struct err *err);

#endif
