/*
 * Tests for unpack (spec 9.5, R-123..R-127, R-215).  Every archive is built here with
 * libarchive's writer (hostile ones included: the writer stores names verbatim), so nothing
 * depends on fixtures.  Hostile archives are extracted with a sentinel directory next to the
 * target, and a snapshot of the whole test directory before and after proves no byte landed
 * outside the target.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "test.h"
#include "deploy/unpack.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

struct ent {
    char type; /* f file, d dir, l symlink, h hardlink, c char device, p fifo */
    const char *name;
    const char *data; /* file content, link target */
    int mode;         /* permission bits; 0 = 0644 / 0755 */
    size_t zeros;     /* file of that many zero bytes instead of data */
};

enum afmt { A_TAR, A_TGZ, A_TXZ, A_ZIP };

static void make_archive(const char *path, enum afmt fmt, const struct ent *ents, size_t n)
{
    struct archive *a = archive_write_new();
    if (fmt == A_ZIP) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        if (fmt == A_TGZ)
            archive_write_add_filter_gzip(a);
        if (fmt == A_TXZ)
            archive_write_add_filter_xz(a);
    }
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        FAILF("open %s: %s", path, archive_error_string(a));
    static char zero[65536];
    for (size_t i = 0; i < n; i++) {
        const struct ent *x = &ents[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, x->name);
        archive_entry_set_mtime(e, 1500000000 + (time_t)i, 0);
        archive_entry_set_uname(e, "root");
        archive_entry_set_gname(e, "root");
        size_t size = 0;
        switch (x->type) {
        case 'f':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, x->mode ? (mode_t)x->mode : 0644);
            size = x->zeros ? x->zeros : (x->data ? strlen(x->data) : 0);
            archive_entry_set_size(e, (la_int64_t)size);
            break;
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, x->mode ? (mode_t)x->mode : 0755);
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, x->data);
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_hardlink(e, x->data);
            archive_entry_set_size(e, 0);
            break;
        case 'c':
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_perm(e, 0666);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        case 'p':
            archive_entry_set_filetype(e, AE_IFIFO);
            archive_entry_set_perm(e, 0644);
            break;
        }
        if (archive_write_header(a, e) < ARCHIVE_WARN)
            FAILF("write header %s: %s", x->name, archive_error_string(a));
        if (x->type == 'f') {
            if (x->zeros) {
                for (size_t left = x->zeros; left;) {
                    size_t k = left < sizeof(zero) ? left : sizeof(zero);
                    archive_write_data(a, zero, k);
                    left -= k;
                }
            } else if (size) {
                archive_write_data(a, x->data, size);
            }
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static char *tmp(const char *rel)
{
    return path_join(test_tmpdir(), rel);
}

static char *slurp(const char *path)
{
    char *d = NULL;
    struct err e = ERR_INIT;
    if (read_file(path, 1 << 20, &d, NULL, &e) < 0)
        return NULL;
    return d;
}

/* Recursive listing "path type size\n" of dir, sorted, as one string. */
static void snap_walk(const char *dir, const char *rel, struct buf *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 4096) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(names[i], names[k]) > 0) {
                char *t = names[i];
                names[i] = names[k];
                names[k] = t;
            }
    for (size_t i = 0; i < n; i++) {
        AUTOFREE char *p = path_join(dir, names[i]);
        AUTOFREE char *r = rel[0] ? path_join(rel, names[i]) : xstrdup(names[i]);
        struct stat st;
        if (lstat(p, &st) == 0) {
            buf_appendf(out, NULL, "%s %o %lld\n", r, (unsigned)st.st_mode,
                        (long long)(S_ISDIR(st.st_mode) ? 0 : st.st_size));
            if (S_ISDIR(st.st_mode))
                snap_walk(p, r, out);
        }
        free(names[i]);
    }
}

static char *snapshot(void)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    snap_walk(test_tmpdir(), "", &b);
    return buf_steal(&b);
}

/* Extract an archive that must be refused: checks the code, the message and that the whole
 * test directory is exactly as before (no byte outside, partial target removed). */
static void expect_refused(const char *archive, enum unpack_format fmt,
                           const struct unpack_opts *opts, int code, const char *msg_part)
{
    AUTOFREE char *dest = tmp("work/deployment-archive");
    AUTOFREE char *work = tmp("work");
    mkdir(work, 0755);
    AUTOFREE char *before = snapshot();
    struct err e = ERR_INIT;
    ASSERT_FAIL(unpack_archive(archive, fmt, dest, opts, NULL, &e));
    ASSERT_EQ(e.code, code);
    ASSERT_CONTAINS(e.msg, msg_part);
    ASSERT_FALSE(file_exists(dest));
    AUTOFREE char *after = snapshot();
    ASSERT_STREQ(after, before);
}

static const struct unpack_opts *mode_opts(int i)
{
    static struct unpack_opts o[2] = {{0}, {.no_private_cwd = true}};
    return &o[i];
}

/* ---- good archives ---- */

static void check_tree(const char *dest)
{
    AUTOFREE char *f = path_join(dest, "appspec.yml");
    AUTOFREE char *c = slurp(f);
    ASSERT_STREQ(c, "version: 0.0\n");
    AUTOFREE char *s = path_join(dest, "scripts/start.sh");
    struct stat st;
    ASSERT_OK(stat(s, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755);
    ASSERT_EQ(st.st_mtime, 1500000000 + 2);
    AUTOFREE char *p = path_join(dest, "secret.conf");
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 07777, 0600);
    AUTOFREE char *l = path_join(dest, "scripts/current");
    char target[256];
    ssize_t n = readlink(l, target, sizeof(target) - 1);
    ASSERT_TRUE(n > 0);
    target[n] = '\0';
    ASSERT_STREQ(target, "start.sh");
    AUTOFREE char *abs = path_join(dest, "etc-link");
    n = readlink(abs, target, sizeof(target) - 1);
    ASSERT_TRUE(n > 0);
    target[n] = '\0';
    ASSERT_STREQ(target, "/etc");
    AUTOFREE char *d = path_join(dest, "scripts");
    ASSERT_OK(stat(d, &st));
    ASSERT_EQ(st.st_mode & 07777, 0750);
}

static const struct ent good[] = {
    {'f', "appspec.yml", "version: 0.0\n", 0, 0},
    {'d', "scripts", NULL, 0750, 0},
    {'f', "scripts/start.sh", "#!/bin/sh\necho hi\n", 0755, 0},
    {'l', "scripts/current", "start.sh", 0, 0},
    {'f', "./secret.conf", "pw", 0600, 0},
    {'l', "etc-link", "/etc", 0, 0},
};

TEST(unpack_tar_modes_times_symlinks_R123_C128)
{
    for (int m = 0; m < 2; m++) {
        AUTOFREE char *a = tmp("b.tar");
        AUTOFREE char *dest = tmp("deployment-archive");
        make_archive(a, A_TAR, good, sizeof(good) / sizeof(good[0]));
        struct unpack_stats st;
        struct err e = ERR_INIT;
        if (unpack_archive(a, UNPACK_TAR, dest, mode_opts(m), &st, &e) < 0)
            FAILF("unpack (mode %d): %s", m, e.msg);
        ASSERT_EQ(st.entries, 6);
        check_tree(dest);
        struct stat sd;
        ASSERT_OK(stat(dest, &sd));
        ASSERT_EQ(sd.st_mode & 07777, 0755);
    }
}

TEST(unpack_gzip_labelled_tar_autodetects_R123_C127)
{
    AUTOFREE char *a = tmp("b.tgz");
    AUTOFREE char *x = tmp("b.txz");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_archive(a, A_TGZ, good, sizeof(good) / sizeof(good[0]));
    make_archive(x, A_TXZ, good, sizeof(good) / sizeof(good[0]));
    struct err e = ERR_INIT;
    if (unpack_archive(a, UNPACK_TAR, dest, NULL, NULL, &e) < 0)
        FAILF("unpack: %s", e.msg);
    check_tree(dest);
    if (unpack_archive(x, UNPACK_TGZ, dest, NULL, NULL, &e) < 0)
        FAILF("unpack xz: %s", e.msg);
    check_tree(dest);
}

TEST(unpack_zip_modes_and_symlinks_R123_C129)
{
    AUTOFREE char *a = tmp("b.zip");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_archive(a, A_ZIP, good, sizeof(good) / sizeof(good[0]));
    struct err e = ERR_INIT;
    if (unpack_archive(a, UNPACK_ZIP, dest, NULL, NULL, &e) < 0)
        FAILF("unpack: %s", e.msg);
    check_tree(dest);
}

/* A zip written on DOS/Windows has no Unix modes: files 0644, directories 0755. */
TEST(unpack_zip_without_unix_modes_gets_defaults_R123)
{
    static const struct ent ents[] = {
        {'d', "dir/", NULL, 0700, 0},
        {'f', "dir/a.txt", "a", 0700, 0},
    };
    AUTOFREE char *a = tmp("dos.zip");
    make_archive(a, A_ZIP, ents, 2);
    /* Rewrite every central directory record as "made by MS-DOS" with zero attributes. */
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(read_file(a, 1 << 20, &data, &len, NULL));
    int patched = 0;
    for (size_t i = 0; i + 46 <= len; i++) {
        if (memcmp(data + i, "PK\1\2", 4) == 0) {
            data[i + 5] = 0; /* version made by: host system 0 = MS-DOS */
            bool dir = data[i + 46 + (unsigned char)data[i + 28] - 1] == '/';
            data[i + 38] = dir ? 0x10 : 0; /* DOS directory attribute */
            memset(data + i + 39, 0, 3);
            patched++;
        }
    }
    ASSERT_EQ(patched, 2);
    ASSERT_OK(write_file_atomic(a, data, len, 0644, NULL));
    free(data);
    AUTOFREE char *dest = tmp("deployment-archive");
    struct err e = ERR_INIT;
    if (unpack_archive(a, UNPACK_ZIP, dest, NULL, NULL, &e) < 0)
        FAILF("unpack: %s", e.msg);
    AUTOFREE char *f = path_join(dest, "dir/a.txt");
    AUTOFREE char *d = path_join(dest, "dir");
    struct stat st;
    ASSERT_OK(stat(f, &st));
    ASSERT_EQ(st.st_mode & 07777, 0644);
    ASSERT_OK(stat(d, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755);
}

TEST(unpack_hardlink_inside_archive_R123)
{
    static const struct ent ents[] = {
        {'f', "a.txt", "shared", 0, 0},
        {'h', "b.txt", "a.txt", 0, 0},
    };
    AUTOFREE char *a = tmp("h.tar");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_archive(a, A_TAR, ents, 2);
    for (int m = 0; m < 2; m++) {
        struct err e = ERR_INIT;
        if (unpack_archive(a, UNPACK_TAR, dest, mode_opts(m), NULL, &e) < 0)
            FAILF("unpack (mode %d): %s", m, e.msg);
        AUTOFREE char *p1 = path_join(dest, "a.txt");
        AUTOFREE char *p2 = path_join(dest, "b.txt");
        struct stat s1, s2;
        ASSERT_OK(stat(p1, &s1));
        ASSERT_OK(stat(p2, &s2));
        ASSERT_EQ(s1.st_ino, s2.st_ino);
    }
}

TEST(unpack_setid_stripped_unless_allowed)
{
    static const struct ent ents[] = {
        {'f', "suid", "x", 04755, 0},
        {'f', "sgid", "x", 02755, 0},
        {'f', "sticky", "x", 01755, 0},
    };
    AUTOFREE char *a = tmp("s.tar");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_archive(a, A_TAR, ents, 3);
    struct err e = ERR_INIT;
    ASSERT_OK(unpack_archive(a, UNPACK_TAR, dest, NULL, NULL, &e));
    AUTOFREE char *p1 = path_join(dest, "suid");
    AUTOFREE char *p2 = path_join(dest, "sgid");
    AUTOFREE char *p3 = path_join(dest, "sticky");
    struct stat st;
    ASSERT_OK(stat(p1, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755);
    ASSERT_OK(stat(p2, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755);
    ASSERT_OK(stat(p3, &st));
    ASSERT_EQ(st.st_mode & 07777, 01755);
    struct unpack_opts o = {.allow_setid = true, .restore_owner = true};
    ASSERT_OK(unpack_archive(a, UNPACK_TAR, dest, &o, NULL, &e));
    ASSERT_OK(stat(p1, &st));
    ASSERT_EQ(st.st_mode & 07777, 04755);
    ASSERT_OK(stat(p2, &st));
    ASSERT_EQ(st.st_mode & 07777, 02755);
}

TEST(unpack_restore_owner_when_root_R123)
{
    if (geteuid() != 0)
        SKIP("needs root");
    struct archive *w = archive_write_new();
    AUTOFREE char *a = tmp("o.tar");
    archive_write_set_format_pax_restricted(w);
    ASSERT_EQ(archive_write_open_filename(w, a), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "owned");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 4321);
    archive_entry_set_gid(e, 4322);
    archive_entry_set_uname(e, "no-such-user-cdagent");
    archive_entry_set_size(e, 0);
    archive_write_header(w, e);
    archive_entry_clear(e);
    archive_entry_set_pathname(e, "byname");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 4321);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    archive_entry_set_size(e, 0);
    archive_write_header(w, e);
    archive_entry_free(e);
    archive_write_close(w);
    archive_write_free(w);
    AUTOFREE char *dest = tmp("deployment-archive");
    struct unpack_opts o = {.restore_owner = true};
    struct err er = ERR_INIT;
    ASSERT_OK(unpack_archive(a, UNPACK_TAR, dest, &o, NULL, &er));
    AUTOFREE char *p = path_join(dest, "owned");
    AUTOFREE char *q = path_join(dest, "byname");
    struct stat st;
    ASSERT_OK(lstat(p, &st));
    ASSERT_EQ(st.st_uid, 4321); /* unknown name: numeric id */
    ASSERT_EQ(st.st_gid, 4322);
    ASSERT_OK(lstat(q, &st));
    ASSERT_EQ(st.st_uid, 0); /* known name wins over the numeric id */
    /* Without the option, files belong to the agent. */
    ASSERT_OK(unpack_archive(a, UNPACK_TAR, dest, NULL, NULL, &er));
    ASSERT_OK(lstat(p, &st));
    ASSERT_EQ(st.st_uid, 0);
}

TEST(unpack_replaces_stale_destination_R107)
{
    AUTOFREE char *a = tmp("b.tar");
    make_archive(a, A_TAR, good, 1);
    test_write("deployment-archive/old.txt", "stale");
    AUTOFREE char *dest = tmp("deployment-archive");
    ASSERT_OK(unpack_archive(a, UNPACK_TAR, dest, NULL, NULL, NULL));
    AUTOFREE char *old = path_join(dest, "old.txt");
    ASSERT_FALSE(file_exists(old));
}

/* ---- hostile archives, each in tar and zip, both thread modes ---- */

static void refuse_both(const struct ent *ents, size_t n, int code, const char *msg, bool zip_too)
{
    for (int m = 0; m < 2; m++) {
        for (int z = 0; z < (zip_too ? 2 : 1); z++) {
            AUTOFREE char *a = tmp(z ? "evil.zip" : "evil.tar");
            make_archive(a, z ? A_ZIP : A_TAR, ents, n);
            expect_refused(a, z ? UNPACK_ZIP : UNPACK_TAR, mode_opts(m), code, msg);
            unlink(a);
        }
    }
}

TEST(unpack_refuses_dotdot_R125_C130)
{
    test_write("outside/.keep", "");
    static const struct ent ents[] = {
        {'f', "ok.txt", "fine", 0, 0},
        {'f', "../outside/evil", "pwned", 0, 0},
    };
    refuse_both(ents, 2, ERR_UNSAFE,
                "Refusing unsafe archive entry '../outside/evil': path contains '..'", true);
    static const struct ent deep[] = {
        {'d', "a", NULL, 0, 0},
        {'f', "a/../../outside/evil", "pwned", 0, 0},
    };
    refuse_both(deep, 2, ERR_UNSAFE, "'a/../../outside/evil'", true);
}

TEST(unpack_refuses_absolute_R125_C131)
{
    test_write("outside/.keep", "");
    AUTOFREE char *abs = tmp("outside/abs.txt");
    struct ent ents[] = {
        {'f', abs, "pwned", 0, 0},
    };
    refuse_both(ents, 1, ERR_UNSAFE, "absolute path", true);
    ASSERT_FALSE(file_exists(abs));
    static const struct ent etc[] = {{'f', "/etc/x", "pwned", 0, 0}};
    refuse_both(etc, 1, ERR_UNSAFE, "Refusing unsafe archive entry '/etc/x'", true);
}

TEST(unpack_refuses_write_through_symlink_R125_C132)
{
    test_write("outside/.keep", "");
    AUTOFREE char *out = tmp("outside");
    struct ent abs_link[] = {
        {'l', "link", out, 0, 0},
        {'f', "link/pwned", "x", 0, 0},
    };
    refuse_both(abs_link, 2, ERR_UNSAFE, "through the symbolic link 'link'", true);
    static const struct ent rel_link[] = {
        {'d', "d", NULL, 0, 0},
        {'l', "d/up", "../../outside", 0, 0},
        {'f', "d/up/pwned", "x", 0, 0},
    };
    refuse_both(rel_link, 3, ERR_UNSAFE, "'d/up/pwned': would be written through", true);
    /* A directory entry through the link is refused too. */
    static const struct ent dir_link[] = {
        {'l', "etc", "/etc", 0, 0},
        {'d', "etc/cron.d", NULL, 0, 0},
    };
    refuse_both(dir_link, 2, ERR_UNSAFE, "through the symbolic link 'etc'", true);
}

TEST(unpack_refuses_hardlink_outside_R125)
{
    test_write("outside/target", "secret");
    AUTOFREE char *abs = tmp("outside/target");
    struct ent abs_hl[] = {{'h', "stolen", abs, 0, 0}};
    refuse_both(abs_hl, 1, ERR_UNSAFE, "'stolen': hard link target lies outside the archive",
                false);
    static const struct ent up_hl[] = {{'h', "stolen", "../outside/target", 0, 0}};
    refuse_both(up_hl, 1, ERR_UNSAFE, "hard link target lies outside", false);
    static const struct ent via_link[] = {
        {'l', "o", "../outside", 0, 0},
        {'h', "stolen", "o/target", 0, 0},
    };
    refuse_both(via_link, 2, ERR_UNSAFE, "hard link target lies outside", false);
}

static void collect(void *ctx, const char *msg)
{
    buf_appendf(ctx, NULL, "%s\n", msg);
}

TEST(unpack_skips_devices_and_fifos_with_warning_R125)
{
    static const struct ent ents[] = {
        {'c', "null", NULL, 0, 0},
        {'p', "fifo", NULL, 0, 0},
        {'f', "ok", "ok", 0, 0},
    };
    AUTOFREE char *a = tmp("dev.tar");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_archive(a, A_TAR, ents, 3);
    struct buf w;
    buf_init(&w, 4096);
    struct unpack_opts o = {.warn = collect, .warn_ctx = &w};
    struct unpack_stats st;
    ASSERT_OK(unpack_archive(a, UNPACK_TAR, dest, &o, &st, NULL));
    ASSERT_EQ(st.skipped, 2);
    ASSERT_CONTAINS(w.data, "Skipping archive entry 'null'");
    ASSERT_CONTAINS(w.data, "Skipping archive entry 'fifo'");
    AUTOFREE char *n = path_join(dest, "null");
    AUTOFREE char *f = path_join(dest, "fifo");
    AUTOFREE char *k = path_join(dest, "ok");
    struct stat sb;
    ASSERT_FAIL(lstat(n, &sb));
    ASSERT_FAIL(lstat(f, &sb));
    ASSERT_OK(lstat(k, &sb));
    buf_done(&w);
}

TEST(unpack_reject_links_option)
{
    static const struct ent ents[] = {{'l', "l", "x", 0, 0}};
    AUTOFREE char *a = tmp("l.tar");
    make_archive(a, A_TAR, ents, 1);
    struct unpack_opts o = {.reject_links = true};
    expect_refused(a, UNPACK_TAR, &o, ERR_UNSAFE, "'l': the bundle may not contain links");
}

TEST(unpack_entry_count_cap_R126_C255)
{
    struct ent ents[12];
    char names[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), "f%02d", i);
        ents[i] = (struct ent){'f', names[i], "x", 0, 0};
    }
    struct unpack_opts o = {.max_entries = 10};
    for (int z = 0; z < 2; z++) {
        AUTOFREE char *a = tmp(z ? "many.zip" : "many.tar");
        make_archive(a, z ? A_ZIP : A_TAR, ents, 12);
        expect_refused(a, z ? UNPACK_ZIP : UNPACK_TAR, &o, ERR_LIMIT,
                       "Refusing archive entry 'f10': the archive has more than 10 entries");
        unlink(a);
    }
}

TEST(unpack_size_cap_zip_bomb_R126_C255)
{
    /* 8 MiB of zeros compresses to a few KiB: a small bomb against a 1 MiB cap. */
    static const struct ent ents[] = {
        {'f', "small", "x", 0, 0},
        {'f', "bomb", NULL, 0, 8u << 20},
    };
    struct unpack_opts o = {.max_bytes = 1u << 20};
    for (int z = 0; z < 2; z++) {
        AUTOFREE char *a = tmp(z ? "bomb.zip" : "bomb.tgz");
        make_archive(a, z ? A_ZIP : A_TGZ, ents, 2);
        struct stat st;
        ASSERT_OK(stat(a, &st));
        ASSERT_TRUE(st.st_size < (1 << 20));
        expect_refused(a, z ? UNPACK_ZIP : UNPACK_TAR, &o, ERR_LIMIT,
                       "Refusing archive entry 'bomb': the archive expands to more than 1048576");
        unlink(a);
    }
}

/* A zip whose headers lie about the size: the cap holds on bytes actually written. */
TEST(unpack_size_cap_counts_written_bytes_R126)
{
    static const struct ent ents[] = {{'f', "bomb", NULL, 0, 4u << 20}};
    AUTOFREE char *a = tmp("liar.zip");
    make_archive(a, A_ZIP, ents, 1);
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(read_file(a, 1 << 22, &data, &len, NULL));
    int patched = 0;
    for (size_t i = 0; i + 46 <= len; i++) {
        if (memcmp(data + i, "PK\1\2", 4) == 0) {
            memset(data + i + 24, 0, 4); /* uncompressed size: 0 */
            data[i + 24] = 1;
            patched++;
        }
    }
    ASSERT_EQ(patched, 1);
    ASSERT_OK(write_file_atomic(a, data, len, 0644, NULL));
    free(data);
    struct unpack_opts o = {.max_bytes = 65536};
    AUTOFREE char *dest = tmp("work/deployment-archive");
    AUTOFREE char *work = tmp("work");
    mkdir(work, 0755);
    struct err e = ERR_INIT;
    ASSERT_FAIL(unpack_archive(a, UNPACK_ZIP, dest, &o, NULL, &e));
    /* Either the reader notices the lie (ERR_ARCHIVE) or the cap stops it (ERR_LIMIT); never
     * more than the cap is written. */
    ASSERT_TRUE(e.code == ERR_LIMIT || e.code == ERR_ARCHIVE);
    ASSERT_FALSE(file_exists(dest));
}

TEST(unpack_corrupt_and_empty_archives_R124_C133)
{
    AUTOFREE char *junk = tmp("junk.tar");
    ASSERT_OK(
        write_file_atomic(junk, "this is not an archive at all, just text\n", 41, 0644, NULL));
    expect_refused(junk, UNPACK_TAR, NULL, ERR_ARCHIVE, "Error extracting tar archive: ");
    expect_refused(junk, UNPACK_ZIP, NULL, ERR_ARCHIVE, "Error extracting zip archive: ");
    AUTOFREE char *empty = tmp("empty.tar");
    ASSERT_OK(write_file_atomic(empty, "", 0, 0644, NULL));
    expect_refused(empty, UNPACK_TAR, NULL, ERR_ARCHIVE, "is empty (0 bytes)");
    /* A truncated gzip stream. */
    static const struct ent ents[] = {{'f', "big", NULL, 0, 1u << 20}};
    AUTOFREE char *t = tmp("trunc.tgz");
    make_archive(t, A_TGZ, ents, 1);
    struct stat st;
    ASSERT_OK(stat(t, &st));
    ASSERT_OK(truncate(t, st.st_size / 2));
    expect_refused(t, UNPACK_TAR, NULL, ERR_ARCHIVE, "Error extracting tar archive: ");
    AUTOFREE char *missing = tmp("missing.tar");
    struct err e = ERR_INIT;
    AUTOFREE char *dest = tmp("deployment-archive");
    ASSERT_FAIL(unpack_archive(missing, UNPACK_TAR, dest, NULL, NULL, &e));
    ASSERT_CONTAINS(e.msg, "Error extracting tar archive");
}

TEST(unpack_disk_full_message_R124_C133)
{
    AUTOFREE char *mnt = tmp("small");
    mkdir(mnt, 0755);
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0)
        SKIP("cannot mount a small tmpfs (needs root and mount namespaces)");
    static const struct ent ents[] = {{'f', "big", NULL, 0, 2u << 20}};
    AUTOFREE char *a = tmp("big.tgz");
    make_archive(a, A_TGZ, ents, 1);
    AUTOFREE char *dest = path_join(mnt, "deployment-archive");
    struct err e = ERR_INIT;
    ASSERT_FAIL(unpack_archive(a, UNPACK_TAR, dest, NULL, NULL, &e));
    ASSERT_STREQ(e.msg, "The disk is (or was) full during extraction.");
    ASSERT_EQ(e.sys_errno, ENOSPC);
    ASSERT_FALSE(file_exists(dest));
    umount(mnt);
}

TEST(unpack_format_from_bundle_type_R123)
{
    ASSERT_EQ(unpack_format_from_type("zip"), UNPACK_ZIP);
    ASSERT_EQ(unpack_format_from_type("tgz"), UNPACK_TGZ);
    ASSERT_EQ(unpack_format_from_type("tar"), UNPACK_TAR);
    ASSERT_EQ(unpack_format_from_type(NULL), UNPACK_TAR);
    ASSERT_EQ(unpack_format_from_type("YAML"), UNPACK_TAR);
}

/* ---- R-127 strip rule ---- */

static bool strip(const char *dir)
{
    bool s = false;
    struct err e = ERR_INIT;
    if (unpack_strip_top_dir(dir, &s, &e) < 0)
        FAILF("strip: %s", e.msg);
    return s;
}

TEST(unpack_strip_single_top_dir_R127_C134)
{
    test_write("da/owner-repo-abc/appspec.yml", "version: 0.0\n");
    test_write("da/owner-repo-abc/scripts/x.sh", "x");
    AUTOFREE char *da = tmp("da");
    ASSERT_TRUE(strip(da));
    AUTOFREE char *as = path_join(da, "appspec.yml");
    AUTOFREE char *sc = path_join(da, "scripts/x.sh");
    AUTOFREE char *tempdir = tmp("da-temp");
    ASSERT_TRUE(file_exists(as));
    ASSERT_TRUE(file_exists(sc));
    ASSERT_FALSE(file_exists(tempdir));
    /* Any name containing "appspec", any case. */
    test_write("db/top/AppSpec.YAML", "x");
    AUTOFREE char *db = tmp("db");
    ASSERT_TRUE(strip(db));
    AUTOFREE char *as2 = path_join(db, "AppSpec.YAML");
    ASSERT_TRUE(file_exists(as2));
    /* A stale -temp directory is replaced. */
    test_write("dc-temp/junk", "x");
    test_write("dc/top/my-appspec-notes", "x");
    AUTOFREE char *dc = tmp("dc");
    ASSERT_TRUE(strip(dc));
    AUTOFREE char *j = tmp("dc-temp");
    ASSERT_FALSE(file_exists(j));
}

TEST(unpack_no_strip_cases_R127_C135)
{
    test_write("na/top/readme", "x"); /* no appspec name */
    AUTOFREE char *na = tmp("na");
    ASSERT_FALSE(strip(na));
    test_write("nb/top/appspec.yml", "x"); /* two top-level entries */
    test_write("nb/other", "x");
    AUTOFREE char *nb = tmp("nb");
    ASSERT_FALSE(strip(nb));
    test_write("nc/top/appspec.yml", "x"); /* hidden entries count */
    test_write("nc/.hidden", "x");
    AUTOFREE char *nc = tmp("nc");
    ASSERT_FALSE(strip(nc));
    test_write("nd/appspec.yml", "x"); /* single entry that is a file */
    AUTOFREE char *nd = tmp("nd");
    ASSERT_FALSE(strip(nd));
    test_write("real/appspec.yml", "x"); /* single entry that is a symlink to a directory */
    AUTOFREE char *ne = tmp("ne");
    AUTOFREE char *real = tmp("real");
    mkdir(ne, 0755);
    AUTOFREE char *lnk = path_join(ne, "top");
    ASSERT_OK(symlink(real, lnk));
    ASSERT_FALSE(strip(ne));
    AUTOFREE char *top = path_join(na, "top/readme");
    ASSERT_TRUE(file_exists(top));
}

TEST(unpack_relative_archive_and_destination_paths)
{
    AUTOFREE char *a = tmp("rel.tar");
    make_archive(a, A_TAR, good, sizeof(good) / sizeof(good[0]));
    ASSERT_OK(chdir(test_tmpdir()));
    for (int m = 0; m < 2; m++) {
        struct err e = ERR_INIT;
        if (unpack_archive("rel.tar", UNPACK_TAR, "deployment-archive", mode_opts(m), NULL, &e) < 0)
            FAILF("unpack with relative paths (mode %d): %s", m, e.msg);
        AUTOFREE char *dest = tmp("deployment-archive");
        check_tree(dest);
    }
}

struct par {
    const char *archive;
    char *dest; /* owned */
    int rc;
};

static void *par_run(void *arg)
{
    struct par *p = arg;
    p->rc = unpack_archive(p->archive, UNPACK_TAR, p->dest, NULL, NULL, NULL);
    return NULL;
}

/* The daemon unpacks for several deployment groups at once: extractions must not disturb each
 * other or the process's working directory (each runs with a private one). */
TEST(unpack_concurrent_extractions_keep_cwd)
{
    AUTOFREE char *a = tmp("par.tgz");
    make_archive(a, A_TGZ, good, sizeof(good) / sizeof(good[0]));
    ASSERT_OK(chdir("/"));
    struct par ps[6];
    pthread_t ts[6];
    for (int i = 0; i < 6; i++) {
        char rel[32];
        snprintf(rel, sizeof(rel), "g%d/deployment-archive", i);
        AUTOFREE char *g = xasprintf("%s/g%d", test_tmpdir(), i);
        mkdir(g, 0755);
        ps[i] = (struct par){.archive = a, .dest = tmp(rel)};
        ASSERT_EQ(pthread_create(&ts[i], NULL, par_run, &ps[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(ts[i], NULL);
        ASSERT_EQ(ps[i].rc, 0);
        check_tree(ps[i].dest);
        free(ps[i].dest);
    }
    char cwd[256];
    ASSERT_NOT_NULL(getcwd(cwd, sizeof(cwd)));
    ASSERT_STREQ(cwd, "/");
}

/* ---- a failed (or odd) extraction leaves the working directory alone (issue 11, R-215) ---- */

#define BAIT_TIME 1000000000

/* <tmp>/cwd with a directory X (0755) and a file F (0640), both dated BAIT_TIME; the test then
 * runs there, as the daemon runs in '/'. */
static char *plant_bait(void)
{
    char *cwd = tmp("cwd");
    AUTOFREE char *x = path_join(cwd, "X");
    AUTOFREE char *f = path_join(cwd, "F");
    mkdir(cwd, 0755);
    mkdir(x, 0755);
    test_write(f, "bait");
    ASSERT_OK(chmod(x, 0755));
    ASSERT_OK(chmod(f, 0640));
    struct timespec ts[2] = {{BAIT_TIME, 0}, {BAIT_TIME, 0}};
    ASSERT_OK(utimensat(AT_FDCWD, x, ts, AT_SYMLINK_NOFOLLOW));
    ASSERT_OK(utimensat(AT_FDCWD, f, ts, AT_SYMLINK_NOFOLLOW));
    ASSERT_OK(chdir(cwd));
    return cwd;
}

static void check_bait(const char *cwd, const char *what)
{
    static const struct {
        const char *name;
        mode_t mode;
    } baits[] = {{"X", S_IFDIR | 0755}, {"F", S_IFREG | 0640}};
    for (size_t i = 0; i < 2; i++) {
        AUTOFREE char *p = path_join(cwd, baits[i].name);
        struct stat st;
        ASSERT_OK(lstat(p, &st));
        if (st.st_mode != baits[i].mode || st.st_mtime != BAIT_TIME)
            FAILF("%s: bait %s changed: mode %o mtime %lld", what, p, (unsigned)st.st_mode,
                  (long long)st.st_mtime);
    }
}

/* Extract ents (tar, and zip when zip_too) in both thread modes from the bait directory. */
static void bait_case(const struct ent *ents, size_t n, bool zip_too, const char *msg_part)
{
    AUTOFREE char *work = tmp("work");
    AUTOFREE char *dest = tmp("work/deployment-archive");
    mkdir(work, 0755);
    for (int m = 0; m < 2; m++) {
        for (int z = 0; z < (zip_too ? 2 : 1); z++) {
            AUTOFREE char *a = tmp(z ? "bait.zip" : "bait.tar");
            make_archive(a, z ? A_ZIP : A_TAR, ents, n);
            AUTOFREE char *cwd = plant_bait();
            struct err e = ERR_INIT;
            int rc = unpack_archive(a, z ? UNPACK_ZIP : UNPACK_TAR, dest, mode_opts(m), NULL, &e);
            AUTOFREE char *what = xasprintf("%s, mode %d", z ? "zip" : "tar", m);
            check_bait(cwd, what);
            if (msg_part) {
                ASSERT_FAIL(rc);
                ASSERT_CONTAINS(e.msg, msg_part);
                ASSERT_FALSE(file_exists(dest));
            } else if (rc < 0) {
                FAILF("%s: %s", what, e.msg);
            }
        }
    }
}

TEST(unpack_failed_dir_fixups_stay_in_destination_R125_R215)
{
    /* A directory entry named like the bait, then a refused entry. */
    static const struct ent dotdot[] = {
        {'d', "X", NULL, 0777, 0},
        {'f', "../evil", "x", 0, 0},
    };
    bait_case(dotdot, 2, true, "Refusing unsafe archive entry '../evil'");
    static const struct ent absolute[] = {
        {'d', "X/", NULL, 0777, 0},
        {'d', "X/sub", NULL, 0700, 0},
        {'f', "/etc/evil", "x", 0, 0},
    };
    bait_case(absolute, 3, true, "absolute path");
    /* Fails after libarchive started an entry (the size cap). */
    static const struct ent big[] = {
        {'d', "X", NULL, 0777, 0},
        {'f', "X/big", NULL, 0, 1u << 20},
    };
    struct unpack_opts o = {.max_bytes = 4096};
    AUTOFREE char *cwd = NULL;
    for (int z = 0; z < 2; z++) {
        AUTOFREE char *a = tmp(z ? "big.zip" : "big.tar");
        make_archive(a, z ? A_ZIP : A_TAR, big, 2);
        free(cwd);
        cwd = plant_bait();
        struct err e = ERR_INIT;
        AUTOFREE char *dest = tmp("deployment-archive");
        ASSERT_FAIL(unpack_archive(a, z ? UNPACK_ZIP : UNPACK_TAR, dest, &o, NULL, &e));
        ASSERT_EQ(e.code, ERR_LIMIT);
        check_bait(cwd, "size cap");
    }
}

/* A directory entry that a later entry replaces by an absolute symbolic link: neither a failed
 * nor a successful extraction may apply the directory's mode and time through the link. */
TEST(unpack_dir_replaced_by_absolute_link_R125_R215)
{
    AUTOFREE char *bx = tmp("cwd/X");
    struct ent ents[] = {
        {'d', "d", NULL, 0777, 0},
        {'l', "d", bx, 0, 0},
        {'d', "e", NULL, 0777, 0},
        {'f', "../evil", "x", 0, 0},
    };
    bait_case(ents, 4, true, "'../evil'");
    bait_case(ents, 3, true, NULL);
}

static void octal(char *dst, size_t width, unsigned long long v)
{
    dst[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        dst[i] = (char)('0' + (v & 7));
}

static void ustar_block(FILE *f, char type, const char *name, const char *link, size_t size)
{
    char h[512] = {0};
    memcpy(h, name, strlen(name));
    octal(h + 100, 8, 0600);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 1500000000);
    h[156] = type;
    if (link)
        memcpy(h + 157, link, strlen(link));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    octal(h + 148, 7, sum);
    fwrite(h, 1, 512, f);
}

static void tar_data(FILE *f, const char *data, size_t len)
{
    char pad[512] = {0};
    fwrite(data, 1, len, f);
    fwrite(pad, 1, (512 - len % 512) % 512, f);
}

/* The writer side of libarchive cannot store data for a hard link; pax interchange can. */
static void make_hardlink_with_data(const char *path, const char *link_target)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    ustar_block(f, '2', "s", link_target, 0);
    static const char pax[] = "10 path=h\n";
    ustar_block(f, 'x', "PaxHeader/h", NULL, sizeof(pax) - 1);
    tar_data(f, pax, sizeof(pax) - 1);
    ustar_block(f, '1', "h", "s", 4);
    tar_data(f, "DATA", 4);
    char end[1024] = {0};
    fwrite(end, 1, sizeof(end), f);
    fclose(f);
}

TEST(unpack_refuses_hardlink_to_symlink_R125_R215)
{
    AUTOFREE char *a = tmp("hl.tar");
    AUTOFREE char *bf = tmp("cwd/F");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_hardlink_with_data(a, bf);
    for (int m = 1; m >= 0; m--) {
        AUTOFREE char *cwd = plant_bait();
        struct err e = ERR_INIT;
        int rc = unpack_archive(a, UNPACK_TAR, dest, mode_opts(m), NULL, &e);
        check_bait(cwd, m ? "fallback mode" : "private-cwd mode");
        ASSERT_FAIL(rc);
        ASSERT_EQ(e.code, ERR_UNSAFE);
        ASSERT_CONTAINS(e.msg, "'h': hard link target is a symbolic link");
        ASSERT_FALSE(file_exists(dest));
        AUTOFREE char *c = slurp(bf);
        ASSERT_STREQ(c, "bait");
    }
}

/* ---- extraction of a stream (issue 14 item 2) ---- */

/* Feed the archive at path to unpack_stream_* in chunks of `chunk` bytes, then finish. */
static int stream_file(const char *path, enum unpack_format fmt, const char *dest,
                       const struct unpack_opts *opts, size_t chunk, struct unpack_stats *st,
                       struct err *e)
{
    struct unpack_stream *s = NULL;
    if (unpack_stream_start(fmt, dest, opts, &s, e) < 0)
        return -1;
    FILE *f = fopen(path, "rb");
    ASSERT_NOT_NULL(f);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, chunk < sizeof(buf) ? chunk : sizeof(buf), f)) > 0)
        if (unpack_stream_write(s, buf, n) < 0)
            break; /* stopped: finish says why */
    fclose(f);
    return unpack_stream_finish(s, true, st, e);
}

TEST(unpack_stream_tar_and_tgz_in_small_chunks)
{
    for (int m = 0; m < 2; m++) {
        for (int z = 0; z < 2; z++) {
            AUTOFREE char *a = tmp(z ? "b.tgz" : "b.tar");
            AUTOFREE char *dest = tmp("deployment-archive");
            make_archive(a, z ? A_TGZ : A_TAR, good, sizeof(good) / sizeof(good[0]));
            struct unpack_stats st = {0};
            struct err e = ERR_INIT;
            if (stream_file(a, z ? UNPACK_TGZ : UNPACK_TAR, dest, mode_opts(m), 7, &st, &e) < 0)
                FAILF("stream (mode %d, %s): %s", m, z ? "tgz" : "tar", e.msg);
            ASSERT_EQ(st.entries, 6);
            check_tree(dest);
        }
    }
}

TEST(unpack_stream_refuses_hostile_entries_and_leaves_nothing)
{
    test_write("outside/.keep", "");
    static const struct ent ents[] = {
        {'f', "ok.txt", "fine", 0, 0},
        {'f', "../outside/evil", "pwned", 0, 0},
    };
    AUTOFREE char *a = tmp("evil.tar");
    make_archive(a, A_TAR, ents, 2);
    AUTOFREE char *work = tmp("work");
    mkdir(work, 0755);
    AUTOFREE char *dest = tmp("work/deployment-archive");
    AUTOFREE char *before = snapshot();
    struct err e = ERR_INIT;
    ASSERT_FAIL(stream_file(a, UNPACK_TAR, dest, NULL, 100, NULL, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    ASSERT_CONTAINS(e.msg, "Refusing unsafe archive entry '../outside/evil'");
    ASSERT_FALSE(file_exists(dest));
    AUTOFREE char *after = snapshot();
    ASSERT_STREQ(after, before);
}

TEST(unpack_stream_aborted_download_removes_destination)
{
    AUTOFREE char *a = tmp("b.tar");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_archive(a, A_TAR, good, sizeof(good) / sizeof(good[0]));
    AUTOFREE char *data = slurp(a);
    struct unpack_stream *s = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(unpack_stream_start(UNPACK_TAR, dest, NULL, &s, &e));
    ASSERT_OK(unpack_stream_write(s, data, 1024)); /* some entries may be on disk now */
    ASSERT_FAIL(unpack_stream_finish(s, false, NULL, &e));
    ASSERT_FALSE(err_is_set(&e));
    ASSERT_FALSE(file_exists(dest));
}

TEST(unpack_stream_zip_is_refused_up_front)
{
    AUTOFREE char *dest = tmp("deployment-archive");
    struct unpack_stream *s = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(unpack_stream_start(UNPACK_ZIP, dest, NULL, &s, &e));
    ASSERT_EQ(e.code, ERR_UNSUPPORTED);
    ASSERT_FALSE(file_exists(dest));
}

TEST(unpack_stream_refuses_hardlink_to_symlink_R125_R215)
{
    AUTOFREE char *a = tmp("hl.tar");
    AUTOFREE char *bf = tmp("cwd/F");
    AUTOFREE char *dest = tmp("deployment-archive");
    make_hardlink_with_data(a, bf);
    for (int m = 1; m >= 0; m--) {
        AUTOFREE char *cwd = plant_bait();
        struct err e = ERR_INIT;
        int rc = stream_file(a, UNPACK_TAR, dest, mode_opts(m), 512, NULL, &e);
        check_bait(cwd, m ? "fallback mode" : "private-cwd mode");
        ASSERT_FAIL(rc);
        ASSERT_EQ(e.code, ERR_UNSAFE);
        ASSERT_CONTAINS(e.msg, "'h': hard link target is a symbolic link");
        ASSERT_FALSE(file_exists(dest));
        AUTOFREE char *c = slurp(bf);
        ASSERT_STREQ(c, "bait");
    }
}
