/*
 * unpack: safe bundle extraction with libarchive (spec section 9.5).
 *
 * Each archive is extracted by a short-lived thread that first takes a private filesystem
 * context (unshare(CLONE_FS)) and chdir()s into the destination.  Entry names then stay
 * relative, which lets libarchive's own guards (ARCHIVE_EXTRACT_SECURE_NODOTDOT, _SYMLINKS,
 * _NOABSOLUTEPATHS) run exactly as in bsdtar, and keeps libarchive's internal chdir()s (deep
 * paths, symlink checks) away from the daemon's other threads.  Where unshare() is refused
 * (some container seccomp profiles), the thread instead prefixes every name with the
 * symlink-free real path of the destination.  Either way our own checks run first, so a hostile
 * entry fails with a message naming it, before anything is written for it.
 *
 * libarchive never creates a directory here: this module makes every directory itself, walking
 * down from a descriptor of the destination without following links, and applies directory
 * modes, times and owners only after the last entry succeeded.  That matters because libarchive
 * defers a directory's mode and times to a fix-up list that archive_write_close()/_free() replay
 * by path, also after a failed entry; paths that an earlier entry turned into a symbolic link, or
 * relative paths replayed from another working directory, would then land outside the
 * destination.  libarchive adds to that list only for directory entries, directories it creates
 * for a missing parent, and ACL/fflags/Mac metadata (flags not used here), so with both kept from
 * it the list stays empty.  The writer is also finished and freed on the extraction thread.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/unpack.h"
#include "deploy/unpack-internal.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

#define READ_BLOCK_BYTES (128 * 1024)

enum unpack_format unpack_format_from_type(const char *bundle_type)
{
    if (str_eq(bundle_type, "zip"))
        return UNPACK_ZIP;
    if (str_eq(bundle_type, "tgz"))
        return UNPACK_TGZ;
    return UNPACK_TAR;
}

const char *unpack_kind(const struct job *j)
{
    return j->fmt == UNPACK_ZIP ? "zip" : "tar";
}

static void warnf(const struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(const struct job *j, const char *fmt, ...)
{
    if (!j->opts.warn)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    j->opts.warn(j->opts.warn_ctx, line);
}

static int unsafe(struct job *j, const char *name, const char *why)
{
    return err_set(&j->err, ERR_UNSAFE, "Refusing unsafe archive entry '%s': %s", name, why);
}

/*
 * Normalise an archive name into out (size >= strlen(name)+1): drop "." components, repeated
 * and trailing slashes.  Returns the reason for refusing absolute names and ".." components,
 * else NULL.
 */
static const char *clean_name(const char *name, char *out)
{
    if (name[0] == '/')
        return "absolute path";
    size_t o = 0;
    const char *s = name;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return "path contains '..'";
        if (n > 0 && !(n == 1 && s[0] == '.')) {
            if (o)
                out[o++] = '/';
            memcpy(out + o, s, n);
            o += n;
        }
        s = e;
    }
    out[o] = '\0';
    return NULL;
}

static int disk_full(struct job *j, int e)
{
    err_set(&j->err, ERR_SYSTEM, "%s", UNPACK_DISK_FULL_MSG);
    j->err.sys_errno = e;
    return -1;
}

/* A system call on the destination failed with errno. */
static int dest_failed(struct job *j, const char *rel)
{
    int e = errno;
    if (e == ENOSPC || e == EDQUOT)
        return disk_full(j, e);
    return err_errno(&j->err, e, "Error extracting %s archive: '%s'", unpack_kind(j), rel);
}

/*
 * Open the directory named by the first len bytes of rel (a cleaned name; len 0 is the
 * destination) one component at a time from root_fd, never following a symbolic link.  With
 * make, missing components are created with mode 0755 less the umask, as tar makes implied
 * directories.  Returns a descriptor, or -1 with errno set; ELOOP means a component is a
 * symbolic link, and *ret_link (may be NULL) then names it (allocated).
 */
static int open_dir_at(struct job *j, const char *rel, size_t len, bool make, char **ret_link)
{
    int fd = openat(j->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; fd >= 0 && i < len;) {
        size_t end = i;
        while (end < len && rel[end] != '/')
            end++;
        AUTOFREE char *comp = xstrndup(rel + i, end - i);
        int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int next = openat(fd, comp, flags);
        if (next < 0 && errno == ENOENT && make &&
            (mkdirat(fd, comp, 0755) == 0 || errno == EEXIST))
            next = openat(fd, comp, flags);
        int e = errno;
        struct stat st;
        /* With O_DIRECTORY, Linux reports a symbolic link as ENOTDIR. */
        if (next < 0 && e == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            e = ELOOP;
        close(fd);
        fd = next;
        if (fd < 0 && e == ELOOP && ret_link)
            *ret_link = xstrndup(rel, end);
        errno = e;
        i = end + 1;
    }
    return fd;
}

/* rel names dir or one of its ancestors. */
static bool covers(const char *rel, const char *dir)
{
    size_t n = strlen(rel);
    return strncmp(rel, dir, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

static void drop_parent(struct job *j)
{
    if (j->parent_fd >= 0)
        close(j->parent_fd);
    j->parent_fd = -1;
    free(j->parent_rel);
    j->parent_rel = NULL;
}

/*
 * The parent directory of the entry rel, created if missing, as a borrowed descriptor (one is
 * cached: entries usually arrive directory by directory).  Errors: ERR_UNSAFE when a component
 * is a symbolic link, else as dest_failed().
 */
static int open_parent(struct job *j, const char *name, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t plen = slash ? (size_t)(slash - rel) : 0;
    if (j->parent_rel && strlen(j->parent_rel) == plen && strncmp(j->parent_rel, rel, plen) == 0)
        return j->parent_fd;
    drop_parent(j);
    AUTOFREE char *link = NULL;
    int fd = open_dir_at(j, rel, plen, true, &link);
    if (fd < 0 && link) {
        AUTOFREE char *msg = xasprintf("would be written through the symbolic link '%s'", link);
        return unsafe(j, name, msg);
    }
    if (fd < 0)
        return dest_failed(j, rel);
    j->parent_fd = fd;
    j->parent_rel = xstrndup(rel, plen);
    return fd;
}

/* A hard link may only name a file extracted earlier, reached without links, and not a link
 * itself (libarchive would otherwise apply the entry's mode and times through it). */
static int vet_link_target(struct job *j, const char *name, const char *hrel)
{
    if (hrel[0] == '\0')
        return unsafe(j, name, "hard link target lies outside the archive");
    const char *slash = strrchr(hrel, '/');
    size_t plen = slash ? (size_t)(slash - hrel) : 0;
    AUTOFREE char *link = NULL;
    int fd = open_dir_at(j, hrel, plen, false, &link);
    if (fd < 0 && link)
        return unsafe(j, name, "hard link target lies outside the archive");
    struct stat st;
    bool is_link = fd >= 0 &&
                   fstatat(fd, slash ? slash + 1 : hrel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISLNK(st.st_mode);
    if (fd >= 0)
        close(fd);
    /* A missing target is left to libarchive, which fails the entry. */
    return is_link ? unsafe(j, name, "hard link target is a symbolic link") : 0;
}

static int write_failed(struct job *j, const char *name)
{
    int e = archive_errno(j->aw);
    if (e == ENOSPC || e == EDQUOT)
        return disk_full(j, e);
    const char *s = archive_error_string(j->aw);
    return err_set(&j->err, ERR_ARCHIVE, "Error extracting %s archive: '%s': %s", unpack_kind(j),
                   name, s ? s : "write failed");
}

static int read_failed(struct job *j, const char *what)
{
    const char *s = archive_error_string(j->ar);
    return err_set(&j->err, ERR_ARCHIVE, "Error extracting %s archive: %s%s", unpack_kind(j),
                   what ? what : "", s ? s : "unreadable archive");
}

/* zip entries made on DOS/Windows carry no Unix mode; libarchive then reports 0664/0775.
 * unzip (the Ruby agent's tool) gives such entries 0666/0777 minus umask 022. */
static void zip_default_mode(struct archive_entry *e)
{
    mode_t perm = archive_entry_perm(e);
    unsigned type = archive_entry_filetype(e);
    if (type == AE_IFREG && (perm == 0664 || perm == 0))
        archive_entry_set_perm(e, 0644);
    else if (type == AE_IFDIR && (perm == 0775 || perm == 0))
        archive_entry_set_perm(e, 0755);
}

static int lookup_uid(struct job *j, struct archive_entry *e, uid_t *ret)
{
    const char *name = archive_entry_uname(e);
    if (name && *name) {
        if (j->last_uname && strcmp(j->last_uname, name) == 0) {
            *ret = j->last_uid;
            return 0;
        }
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res) {
            free(j->last_uname);
            j->last_uname = xstrdup(name);
            j->last_uid = res->pw_uid;
            *ret = res->pw_uid;
            return 0;
        }
    }
    *ret = (uid_t)archive_entry_uid(e);
    return 0;
}

static int lookup_gid(struct job *j, struct archive_entry *e, gid_t *ret)
{
    const char *name = archive_entry_gname(e);
    if (name && *name) {
        if (j->last_gname && strcmp(j->last_gname, name) == 0) {
            *ret = j->last_gid;
            return 0;
        }
        struct group gr, *res = NULL;
        char buf[4096];
        if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res) {
            free(j->last_gname);
            j->last_gname = xstrdup(name);
            j->last_gid = res->gr_gid;
            *ret = res->gr_gid;
            return 0;
        }
    }
    *ret = (gid_t)archive_entry_gid(e);
    return 0;
}

/* After libarchive finished an entry: owner (root, restore_owner) and setid bits. */
static int finish_meta(struct job *j, struct archive_entry *e, const char *path, const char *rel)
{
    unsigned type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e);
    bool chowned = false;
    if (j->opts.restore_owner && j->is_root) {
        uid_t uid;
        gid_t gid;
        lookup_uid(j, e, &uid);
        lookup_gid(j, e, &gid);
        if (fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return err_sys(&j->err, "Error extracting %s archive: set owner of '%s'",
                           unpack_kind(j), rel);
        chowned = true;
    }
    /* chown() clears setid bits, and libarchive restores them only when the archive's owner is
     * ours: put them back ourselves when they are allowed. */
    if (type == AE_IFREG && (perm & 06000) && (chowned || j->opts.allow_setid)) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return err_sys(&j->err, "Error extracting %s archive: chmod '%s'", unpack_kind(j), rel);
        int r = fchmod(fd, perm);
        close(fd);
        if (r < 0)
            return err_sys(&j->err, "Error extracting %s archive: chmod '%s'", unpack_kind(j), rel);
    }
    return 0;
}

static int copy_data(struct job *j, const char *rel)
{
    int64_t high = 0;
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(j->ar, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN) {
            AUTOFREE char *what = xasprintf("'%s': ", rel);
            return read_failed(j, what);
        }
        int64_t end = (int64_t)off + (int64_t)size;
        if (end > high) {
            uint64_t before = j->stats.bytes;
            j->stats.bytes += (uint64_t)(end - high);
            high = end;
            if (j->opts.progress &&
                before / UNPACK_PROGRESS_BYTES != j->stats.bytes / UNPACK_PROGRESS_BYTES)
                j->opts.progress(j->opts.progress_ctx, j->stats.bytes, j->stats.entries);
        }
        if (j->stats.bytes > j->opts.max_bytes)
            return err_set(&j->err, ERR_LIMIT,
                           "Refusing archive entry '%s': the archive expands to more than %llu "
                           "bytes (:max_bundle_extracted_bytes:)",
                           rel, (unsigned long long)j->opts.max_bytes);
        if (size > 0 && archive_write_data_block(j->aw, buf, size, off) < ARCHIVE_OK)
            return write_failed(j, rel);
    }
}

/* Checks and rewrites for one entry; *ret_skip when it must not be extracted. */
static int vet_entry(struct job *j, struct archive_entry *e, const char *name, char *rel,
                     bool *ret_skip)
{
    *ret_skip = false;
    const char *why = clean_name(name, rel);
    if (why)
        return unsafe(j, name, why);
    if (rel[0] == '\0') {
        /* "." or "./": the destination itself; its mode stays ours (V-052). */
        *ret_skip = true;
        return 0;
    }
    unsigned type = archive_entry_filetype(e);
    const char *hl = archive_entry_hardlink(e);
    if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK) {
        warnf(j, "Skipping archive entry '%s': device nodes, FIFOs and sockets are not extracted",
              rel);
        j->stats.skipped++;
        *ret_skip = true;
        return 0;
    }
    if (j->opts.reject_links && (type == AE_IFLNK || hl))
        return unsafe(j, rel, "the bundle may not contain links (reject_links)");
    /* This entry may replace the cached parent or one of its ancestors. */
    if (j->parent_rel && covers(rel, j->parent_rel))
        drop_parent(j);
    if (open_parent(j, name, rel) < 0)
        return -1;
    if (hl) {
        AUTOFREE char *hrel = xmalloc(strlen(hl) + 1);
        if (clean_name(hl, hrel))
            return unsafe(j, name, "hard link target lies outside the archive");
        if (vet_link_target(j, name, hrel) < 0)
            return -1;
        AUTOFREE char *full = xasprintf("%s%s", j->prefix, hrel);
        archive_entry_copy_hardlink(e, full);
    }
    if (j->fmt == UNPACK_ZIP)
        zip_default_mode(e);
    if (!j->opts.allow_setid && type == AE_IFREG)
        archive_entry_set_perm(e, archive_entry_perm(e) & ~(mode_t)06000);
    AUTOFREE char *full = xasprintf("%s%s", j->prefix, rel);
    archive_entry_copy_pathname(e, full);
    return 0;
}

/*
 * A directory entry: made here (never by libarchive, see the top of the file), its metadata kept
 * for apply_dirs().  A non-directory in the way is replaced, as libarchive replaces one for any
 * other entry.
 */
static int make_dir(struct job *j, struct archive_entry *e, const char *name, const char *rel)
{
    int pfd = open_parent(j, name, rel);
    if (pfd < 0)
        return -1;
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    struct stat st;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
        unlinkat(pfd, base, 0) < 0)
        return dest_failed(j, rel);
    if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
        return dest_failed(j, rel);
    if (j->ndirs == j->dirs_cap) {
        j->dirs_cap = j->dirs_cap ? 2 * j->dirs_cap : 64;
        j->dirs = xrealloc(j->dirs, j->dirs_cap * sizeof(*j->dirs));
    }
    struct dir_meta *d = &j->dirs[j->ndirs++];
    *d = (struct dir_meta){
        .rel = xstrdup(rel),
        .seq = j->stats.entries,
        .mode = archive_entry_perm(e) & 07777,
        .times = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}},
    };
    if (archive_entry_atime_is_set(e))
        d->times[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
    if (archive_entry_mtime_is_set(e))
        d->times[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (j->opts.restore_owner && j->is_root) {
        d->set_owner = true;
        lookup_uid(j, e, &d->uid);
        lookup_gid(j, e, &d->gid);
    }
    return 0;
}

/* Deepest first (a name sorts after its ancestors), and the last entry of a name first. */
static int dir_order(const void *a, const void *b)
{
    const struct dir_meta *x = a, *y = b;
    int c = strcmp(y->rel, x->rel);
    if (c)
        return c;
    return x->seq < y->seq ? 1 : -1;
}

/*
 * After every entry succeeded: directory owners, modes and times, each directory opened from the
 * destination without following links.  One replaced by a later entry is skipped.
 */
static int apply_dirs(struct job *j)
{
    if (j->ndirs > 1)
        qsort(j->dirs, j->ndirs, sizeof(*j->dirs), dir_order);
    for (size_t i = 0; i < j->ndirs; i++) {
        const struct dir_meta *d = &j->dirs[i];
        if (i > 0 && strcmp(d->rel, j->dirs[i - 1].rel) == 0)
            continue;
        int fd = open_dir_at(j, d->rel, strlen(d->rel), false, NULL);
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
            continue;
        if (fd < 0 || (d->set_owner && fchown(fd, d->uid, d->gid) < 0) || fchmod(fd, d->mode) < 0 ||
            futimens(fd, d->times) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            errno = e;
            return dest_failed(j, d->rel);
        }
        close(fd);
    }
    return 0;
}

static int extract_entries(struct job *j)
{
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(j->ar, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return read_failed(j, NULL);
        if (++j->stats.entries > j->opts.max_entries)
            return err_set(&j->err, ERR_LIMIT,
                           "Refusing archive entry '%s': the archive has more than %llu entries "
                           "(:max_bundle_entries:)",
                           archive_entry_pathname(e) ? archive_entry_pathname(e) : "?",
                           (unsigned long long)j->opts.max_entries);
        const char *name = archive_entry_pathname(e);
        if (!name)
            name = archive_entry_pathname_utf8(e);
        if (!name || !*name)
            return err_set(&j->err, ERR_ARCHIVE,
                           "Error extracting %s archive: entry %llu has no usable name",
                           unpack_kind(j), (unsigned long long)j->stats.entries);
        AUTOFREE char *orig = xstrdup(name);
        AUTOFREE char *rel = xmalloc(strlen(orig) + 1);
        bool skip;
        if (vet_entry(j, e, orig, rel, &skip) < 0)
            return -1;
        if (skip)
            continue;
        if (archive_entry_filetype(e) == AE_IFDIR) {
            if (make_dir(j, e, orig, rel) < 0)
                return -1;
            continue;
        }
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
            j->stats.bytes + (uint64_t)archive_entry_size(e) > j->opts.max_bytes)
            return err_set(&j->err, ERR_LIMIT,
                           "Refusing archive entry '%s': the archive expands to more than %llu "
                           "bytes (:max_bundle_extracted_bytes:)",
                           rel, (unsigned long long)j->opts.max_bytes);
        if (archive_write_header(j->aw, e) < ARCHIVE_WARN)
            return write_failed(j, rel);
        if (copy_data(j, rel) < 0)
            return -1;
        if (archive_write_finish_entry(j->aw) < ARCHIVE_WARN)
            return write_failed(j, rel);
        if (finish_meta(j, e, archive_entry_pathname(e), rel) < 0)
            return -1;
    }
}

static int open_reader(struct job *j)
{
    j->ar = archive_read_new();
    if (!j->ar)
        return err_set(&j->err, ERR_SYSTEM, "Error extracting %s archive: out of memory",
                       unpack_kind(j));
    if (j->fmt == UNPACK_ZIP) {
        /* The seekable reader takes modes and symlink flags from the central directory. */
        archive_read_support_format_zip_seekable(j->ar);
    } else {
        archive_read_support_filter_all(j->ar);
        archive_read_support_format_tar(j->ar);
        archive_read_support_format_gnutar(j->ar);
    }
    int r = j->in_fd >= 0 ? archive_read_open_fd(j->ar, j->in_fd, READ_BLOCK_BYTES)
                          : archive_read_open_filename(j->ar, j->archive_path, READ_BLOCK_BYTES);
    if (r != ARCHIVE_OK)
        return read_failed(j, NULL);
    return 0;
}

static int open_writer(struct job *j, bool relative)
{
    j->aw = archive_write_disk_new();
    if (!j->aw)
        return err_set(&j->err, ERR_SYSTEM, "Error extracting %s archive: out of memory",
                       unpack_kind(j));
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS;
    /* Absolute names are refused by clean_name() in both modes; libarchive can double-check
     * only when names stay relative. */
    if (relative)
        flags |= ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
    archive_write_disk_set_options(j->aw, flags);
    return 0;
}

static void run_job(struct job *j)
{
    bool relative = false;
    /* Open the archive first: its path may be relative to the caller's directory. */
    if (open_reader(j) < 0) {
        j->rc = -1;
        return;
    }
    if (!j->opts.no_private_cwd && unshare(CLONE_FS) == 0) {
        if (chdir(j->dest) < 0) {
            j->rc = err_sys(&j->err, "Error extracting %s archive: enter '%s'", unpack_kind(j),
                            j->dest);
            return;
        }
        umask(022); /* entries without a stored mode land at 0644 (V-052) */
        relative = true;
        j->prefix = xstrdup("");
        j->root_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        char *real = realpath(j->dest, NULL);
        if (!real) {
            j->rc = err_sys(&j->err, "Error extracting %s archive: resolve '%s'", unpack_kind(j),
                            j->dest);
            return;
        }
        j->prefix = xasprintf("%s/", real);
        j->root_fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        free(real);
    }
    if (j->root_fd < 0) {
        j->rc = err_sys(&j->err, "Error extracting %s archive: open '%s'", unpack_kind(j), j->dest);
        return;
    }
    if (open_writer(j, relative) < 0 || extract_entries(j) < 0) {
        j->rc = -1;
        return;
    }
    if (archive_write_close(j->aw) < ARCHIVE_WARN) {
        j->rc = write_failed(j, ".");
        return;
    }
    j->rc = apply_dirs(j);
}

static void job_done(struct job *j)
{
    if (j->ar)
        archive_read_free(j->ar);
    if (j->aw)
        archive_write_free(j->aw);
    free(j->prefix);
    drop_parent(j);
    if (j->root_fd >= 0)
        close(j->root_fd);
    for (size_t i = 0; i < j->ndirs; i++)
        free(j->dirs[i].rel);
    free(j->dirs);
    free(j->last_uname);
    free(j->last_gname);
}

/*
 * Entry names reach libarchive as UTF-8 (zip names flagged UTF-8, pax path records) and are
 * converted to the current locale's charset; in the "C" locale of a daemon that fails for any
 * non-ASCII name.  Give this thread alone a UTF-8 LC_CTYPE, so names arrive as their UTF-8
 * bytes, which is what the Ruby agent's tools write on Linux.
 */
static void *job_thread(void *arg)
{
    struct job *j = arg;
    locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!loc)
        loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    if (loc)
        uselocale(loc);
    run_job(j);
    /* Here, not on the caller's thread: closing the writer finishes the current entry by its
     * name, which is relative to this thread's working directory. */
    job_done(j);
    if (loc) {
        uselocale(LC_GLOBAL_LOCALE);
        freelocale(loc);
    }
    if (j->in_fd >= 0) {
        /* A stream: take what follows the end of the archive (padding) so the writer never
         * blocks; after a failure, closing makes the writer's next write fail at once. */
        char sink[65536];
        while (j->rc == 0 && (read(j->in_fd, sink, sizeof(sink)) > 0 || errno == EINTR))
            ;
        close(j->in_fd);
        j->in_fd = -1;
    }
    return NULL;
}

void unpack_job_init(struct job *j, enum unpack_format fmt, const char *dest_dir,
                     const struct unpack_opts *opts)
{
    *j = (struct job){
        .fmt = fmt,
        .dest = dest_dir,
        .is_root = geteuid() == 0,
        .root_fd = -1,
        .parent_fd = -1,
        .in_fd = -1,
    };
    if (opts)
        j->opts = *opts;
    if (!j->opts.max_bytes)
        j->opts.max_bytes = UNPACK_DEFAULT_MAX_BYTES;
    if (!j->opts.max_entries)
        j->opts.max_entries = UNPACK_DEFAULT_MAX_ENTRIES;
}

/* A fresh, empty destination (R-107 step 3), mode 0755 whatever the umask (V-052). */
int unpack_make_dest(const struct job *j, struct err *err)
{
    if (rm_rf(j->dest, err) < 0)
        return -1;
    if (mkdir(j->dest, 0755) < 0)
        return err_sys(err, "Error extracting %s archive: create '%s'", unpack_kind(j), j->dest);
    (void)chmod(j->dest, 0755);
    return 0;
}

int unpack_job_start(struct job *j, pthread_t *t)
{
    int pe = pthread_create(t, NULL, job_thread, j);
    if (pe == 0)
        return 0;
    err_errno(&j->err, pe, "Error extracting %s archive: start extraction thread", unpack_kind(j));
    if (j->in_fd >= 0)
        close(j->in_fd);
    j->in_fd = -1;
    j->rc = -1;
    return -1;
}

/* After the thread: remove the destination of a failed extraction and report. */
int unpack_job_result(struct job *j, struct unpack_stats *ret_stats, struct err *err)
{
    if (j->rc < 0) {
        (void)rm_rf(j->dest, NULL);
        if (err && !err_is_set(err))
            *err = j->err;
        return -1;
    }
    if (ret_stats)
        *ret_stats = j->stats;
    return 0;
}

int unpack_archive(const char *archive_path, enum unpack_format fmt, const char *dest_dir,
                   const struct unpack_opts *opts, struct unpack_stats *ret_stats, struct err *err)
{
    struct job j;
    unpack_job_init(&j, fmt, dest_dir, opts);
    j.archive_path = archive_path;
    struct stat st;
    if (stat(archive_path, &st) < 0)
        return err_sys(err, "Error extracting %s archive: open '%s'", unpack_kind(&j),
                       archive_path);
    if (st.st_size == 0)
        return err_set(err, ERR_ARCHIVE, "Error extracting %s archive: '%s' is empty (0 bytes)",
                       unpack_kind(&j), archive_path);
    if (unpack_make_dest(&j, err) < 0)
        return -1;
    pthread_t t;
    if (unpack_job_start(&j, &t) == 0)
        pthread_join(t, NULL);
    return unpack_job_result(&j, ret_stats, err);
}
