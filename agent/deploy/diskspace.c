/* diskspace: see diskspace.h. */
#include "deploy/diskspace.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

void diskspace_need_for(uint64_t bundle_bytes, unsigned allowance, uint64_t max_extracted,
                        struct diskspace_need *ret)
{
    if (allowance == 0)
        allowance = DISKSPACE_EXPANSION_DEFAULT;
    uint64_t grow = bundle_bytes > UINT64_MAX / allowance ? UINT64_MAX : bundle_bytes * allowance;
    if (max_extracted && grow > max_extracted)
        grow = max_extracted;
    ret->bytes = bundle_bytes > UINT64_MAX - grow ? UINT64_MAX : bundle_bytes + grow;
    uint64_t in = bundle_bytes / DISKSPACE_BYTES_PER_INODE;
    ret->inodes = in < DISKSPACE_MIN_INODES ? DISKSPACE_MIN_INODES : in;
}

int diskspace_free_of(const char *dir, struct diskspace_free *ret, struct err *err)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0)
        return err_sys(err, "statvfs %s", dir);
    ret->bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    ret->has_inodes = sv.f_files != 0;
    ret->inodes = (uint64_t)sv.f_favail;
    return 0;
}

void diskspace_format(uint64_t bytes, char *out, size_t outsz)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        (void)snprintf(out, outsz, "%" PRIu64 " B", bytes);
    else
        (void)snprintf(out, outsz, "%.1f %s", v, units[u]);
}

int diskspace_judge(const struct diskspace_need *need, const struct diskspace_free *avail,
                    uint64_t bundle_bytes, unsigned allowance, const char *what, const char *dir,
                    struct err *err)
{
    if (allowance == 0)
        allowance = DISKSPACE_EXPANSION_DEFAULT;
    char size[32], want[32], have[32];
    diskspace_format(bundle_bytes, size, sizeof(size));
    diskspace_format(need->bytes, want, sizeof(want));
    diskspace_format(avail->bytes, have, sizeof(have));
    if (need->bytes > avail->bytes)
        return err_set(err, ERR_LIMIT,
                       "not enough disk space in %s for %s: the bundle is %s and needs %s with "
                       "the expansion allowance x%u (:bundle_expansion_allowance:), but %s are "
                       "free",
                       dir, what, size, want, allowance, have);
    if (avail->has_inodes && need->inodes > avail->inodes)
        return err_set(err, ERR_LIMIT,
                       "not enough free inodes in %s for %s: the bundle is %s and may need %" PRIu64
                       " inodes (one per %d bytes), but %" PRIu64 " are free",
                       dir, what, size, need->inodes, DISKSPACE_BYTES_PER_INODE, avail->inodes);
    return 0;
}

/* nftw passes no user argument: the running sum is per thread. */
static __thread uint64_t usage_sum;

static int usage_add(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p;
    (void)ftw;
    if (flag != FTW_NS)
        usage_sum += (uint64_t)st->st_blocks * 512;
    return 0;
}

uint64_t diskspace_usage(const char *path)
{
    usage_sum = 0;
    (void)nftw(path, usage_add, 32, FTW_PHYS);
    return usage_sum;
}
