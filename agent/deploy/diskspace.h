/*
 * diskspace: disk safety for revisions (issue 16 item 2).
 *
 * Before a download the executor learns the object's size (S3 HEAD) and asks whether the
 * deployment root can hold the bundle file plus its unpacked tree.  The unpacked tree is
 * estimated with the expansion allowance (:bundle_expansion_allowance:, default
 * DISKSPACE_EXPANSION_DEFAULT): bundle + bundle x allowance bytes, the expansion capped by
 * :max_bundle_extracted_bytes: (unpack never writes more), and one inode per
 * DISKSPACE_BYTES_PER_INODE bytes of bundle (at least DISKSPACE_MIN_INODES).  Free space is what
 * statvfs gives unprivileged users (f_bavail, f_favail): a conservative figure.  File systems
 * that report no inode counts (f_files == 0: btrfs, some network file systems) skip the inode
 * test.  The defaults refuse only what cannot fit: an archive unpacks to at least about its own
 * size, next to the bundle file.  The disk usage of revisions (diskspace_usage) counts allocated
 * blocks, as du does.
 */
#ifndef CDAGENT_DISKSPACE_H
#define CDAGENT_DISKSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define DISKSPACE_EXPANSION_DEFAULT 1
#define DISKSPACE_BYTES_PER_INODE 65536
#define DISKSPACE_MIN_INODES 64

struct diskspace_need {
    uint64_t bytes;
    uint64_t inodes;
};

struct diskspace_free {
    uint64_t bytes;
    uint64_t inodes; /* meaningful only when has_inodes */
    int has_inodes;
};

/* What a bundle of bundle_bytes needs (pure).  allowance 0: DISKSPACE_EXPANSION_DEFAULT;
 * max_extracted 0: no cap. */
void diskspace_need_for(uint64_t bundle_bytes, unsigned allowance, uint64_t max_extracted,
                        struct diskspace_need *ret);

/* statvfs of dir.  ERR_SYSTEM when it fails. */
int diskspace_free_of(const char *dir, struct diskspace_free *ret, struct err *err);

/*
 * Compare need with what is free (pure).  ERR_LIMIT with the numbers, e.g.
 *   "not enough disk space in /root for s3://b/k: the bundle is 200.0 MB and needs 800.0 MB with
 *    the expansion allowance x3 (:bundle_expansion_allowance:), but 120.5 MB are free"
 * (what names the revision, dir the file system; inodes in the same form).
 */
int diskspace_judge(const struct diskspace_need *need, const struct diskspace_free *avail,
                    uint64_t bundle_bytes, unsigned allowance, const char *what, const char *dir,
                    struct err *err);

/* Bytes allocated under path (no symlinks followed, other file systems included); 0 when
 * path does not exist.  Errors while walking are skipped (best effort, for status and budget). */
uint64_t diskspace_usage(const char *path);

/* "12.3 MB" (decimal units, as the messages above use) into out. */
void diskspace_format(uint64_t bytes, char *out, size_t outsz);

#endif
