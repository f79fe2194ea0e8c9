/*
 * libFuzzer target: unpack_archive() on arbitrary archives, from a working directory that holds
 * bait files, asserting that nothing outside the destination changed (issue 11 items 1 and 6).
 *
 * Input: byte 0 selects the mode (bit 0: zip, else tar with any compression; bit 1: the
 * fallback absolute-path mode instead of the private-cwd thread; bit 2: reject links), the rest
 * is the archive.  Layout, made once under $TMPDIR:
 *     <base>/cwd/   the process's working directory during the call, with bait entries named
 *                   as archives like to name theirs (X/, etc/, a/b, f, x, a symlink)
 *     <base>/out/   bait reachable from the destination as ../out
 *     <base>/in     the archive          <base>/dest   the destination
 * After every call every entry of <base> except dest and in must have the same type, mode,
 * owner, size, mtime and link target as before, and the call must leave no descriptor open.
 * When run as root the call runs with effective uid/gid 65534 (the bait is theirs), so a bug
 * can only touch the bait, never the host; libFuzzer itself keeps root to write its corpus.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "deploy/unpack.h"
#include "fuzz.h"

#define NOBODY 65534
#define MAX_SNAP 256

struct snap_entry {
    char path[PATH_MAX];
    struct stat st;
    char link[256];
};

static char base[PATH_MAX], in_path[PATH_MAX], dest_path[PATH_MAX];
static struct snap_entry before[MAX_SNAP];
static size_t n_before;
static int fds_before;
static bool drop;

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void die(const char *what)
{
    perror(what);
    abort();
}

static void snap_dir(const char *dir, struct snap_entry *out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        die(dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (!strcmp(p, in_path) || !strcmp(p, dest_path))
            continue;
        if (*n >= MAX_SNAP) {
            fprintf(stderr, "fuzz_unpack: more than %d entries outside the destination: "
                            "something was created there\n", MAX_SNAP);
            abort();
        }
        struct snap_entry *e = &out[(*n)++];
        memset(e, 0, sizeof *e);
        snprintf(e->path, sizeof e->path, "%s", p);
        if (lstat(p, &e->st) < 0)
            die(p);
        if (S_ISLNK(e->st.st_mode) && readlink(p, e->link, sizeof e->link - 1) < 0)
            die(p);
        if (S_ISDIR(e->st.st_mode))
            snap_dir(p, out, n);
    }
    closedir(d);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("/proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void show_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[PATH_MAX], target[PATH_MAX] = "";
        snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
        if (readlink(p, target, sizeof target - 1) < 0)
            target[0] = '\0';
        fprintf(stderr, "    fd %s -> %s\n", de->d_name, target);
    }
    if (d)
        closedir(d);
}

static bool same(const struct snap_entry *a, const struct snap_entry *b)
{
    return !strcmp(a->path, b->path) && a->st.st_mode == b->st.st_mode &&
           a->st.st_uid == b->st.st_uid && a->st.st_gid == b->st.st_gid &&
           a->st.st_size == b->st.st_size && a->st.st_ino == b->st.st_ino &&
           a->st.st_mtim.tv_sec == b->st.st_mtim.tv_sec &&
           a->st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec && !strcmp(a->link, b->link);
}

static void check_outside(void)
{
    static struct snap_entry after[MAX_SNAP];
    size_t n = 0;
    snap_dir(base, after, &n);
    for (size_t i = 0; i < n_before || i < n; i++) {
        if (i >= n || i >= n_before || !same(&before[i], &after[i])) {
            const struct snap_entry *b = i < n_before ? &before[i] : NULL;
            const struct snap_entry *a = i < n ? &after[i] : NULL;
            fprintf(stderr, "fuzz_unpack: outside the destination, '%s' (mode %o, mtime %lld) "
                            "became '%s' (mode %o, mtime %lld)\n",
                    b ? b->path : "-", b ? (unsigned)b->st.st_mode : 0u,
                    b ? (long long)b->st.st_mtim.tv_sec : 0LL, a ? a->path : "-",
                    a ? (unsigned)a->st.st_mode : 0u, a ? (long long)a->st.st_mtim.tv_sec : 0LL);
            abort();
        }
    }
    int fds = count_fds();
    if (fds != fds_before) {
        fprintf(stderr, "fuzz_unpack: %d file descriptors open, %d before:\n", fds, fds_before);
        show_fds();
        abort();
    }
}

static void make_bait(const char *rel, int kind, mode_t mode)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    int rc = 0;
    if (kind == 'd') {
        rc = mkdir(p, mode);
    } else if (kind == 'l') {
        rc = symlink("../out", p);
    } else {
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
        rc = fd < 0 || write(fd, "bait\n", 5) != 5 ? -1 : 0;
        if (fd >= 0)
            close(fd);
    }
    if (rc < 0)
        die(p);
    if (kind != 'l' && chmod(p, mode) < 0)
        die(p);
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    if ((drop && lchown(p, NOBODY, NOBODY) < 0) || lutimes(p, tv) < 0)
        die(p);
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) < 0 ? -1 : 0;
}

static void remove_base(void)
{
    (void)nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/cdagent-fuzz-unpack.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base))
        die(base);
    atexit(remove_base);
    drop = geteuid() == 0;
    if (chmod(base, 0755) < 0 || (drop && chown(base, NOBODY, NOBODY) < 0))
        die(base);
    snprintf(in_path, sizeof in_path, "%s/in", base);
    snprintf(dest_path, sizeof dest_path, "%s/dest", base);
    static const struct {
        const char *rel;
        int kind;
        mode_t mode;
    } bait[] = {
        {"cwd", 'd', 0755},     {"cwd/X", 'd', 0755},   {"cwd/etc", 'd', 0755},
        {"cwd/a", 'd', 0755},   {"cwd/a/b", 'f', 0644}, {"cwd/f", 'f', 0644},
        {"cwd/x", 'f', 0600},   {"cwd/l", 'l', 0},      {"out", 'd', 0755},
        {"out/X", 'd', 0700},   {"out/f", 'f', 0644},   {"out/bin", 'd', 0755},
    };
    for (size_t i = 0; i < sizeof bait / sizeof bait[0]; i++)
        make_bait(bait[i].rel, bait[i].kind, bait[i].mode);
    char cwd[PATH_MAX];
    snprintf(cwd, sizeof cwd, "%s/cwd", base);
    if (chdir(cwd) < 0)
        die(cwd);
    snap_dir(base, before, &n_before);
    fprintf(stderr, "fuzz_unpack: bait under %s (call as uid %d)\n", base,
            drop ? NOBODY : (int)geteuid());
    return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
    int fd = open(in_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(in_path);
    while (size > 0) {
        ssize_t w = write(fd, data, size);
        if (w <= 0)
            die(in_path);
        data += w;
        size -= (size_t)w;
    }
    close(fd);
}

static void as_nobody(bool on)
{
    if (!drop)
        return;
    if (on ? (setegid(NOBODY) < 0 || seteuid(NOBODY) < 0) : (seteuid(0) < 0 || setegid(0) < 0))
        die("seteuid");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    write_input(data + 1, size - 1);
    struct unpack_opts opts = {
        .max_bytes = 8u << 20,
        .max_entries = 2000,
        .reject_links = (data[0] & 4) != 0,
        .no_private_cwd = (data[0] & 2) != 0,
    };
    enum unpack_format fmt = (data[0] & 1) ? UNPACK_ZIP : UNPACK_TAR;
    struct err err = ERR_INIT;
    /* Counted per call: libFuzzer itself opens pipes to llvm-symbolizer when it reports a new
     * function, between calls. */
    fds_before = count_fds();
    as_nobody(true);
    int rc = unpack_archive(in_path, fmt, dest_path, &opts, NULL, &err);
    as_nobody(false);
    fuzz_check_result("unpack_archive", rc, &err);
    check_outside();
    /* A successful extraction may hold mode-0 directories; clear it with every privilege. */
    if (rc == 0 && nftw(dest_path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        die(dest_path);
    return 0;
}
