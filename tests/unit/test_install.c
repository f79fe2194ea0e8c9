/*
 * Tests for install (spec section 12, R-171..R-189, C-184..C-205, C-262..C-266).  AppSpecs are
 * parsed from YAML text with appspec_parse(); revisions and destinations live in the test's
 * temporary directory.  Fixtures in tests/data/install/ are cleanup/install.json files in the
 * Ruby agent's format, with @ROOT@ standing for the test directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "parse/appspec.h"
#include "deploy/install.h"
#include "deploy/layout.h"
#include "test.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

#define GROUP "g-1"

extern char **environ;

static char *tmp(const char *rel)
{
    return path_join(test_tmpdir(), rel);
}

/* Parse an AppSpec whose text may use @T@ for the test directory. */
static void expand_t(const char *in, struct buf *b)
{
    buf_init(b, 1 << 16);
    for (const char *s = in; *s;) {
        const char *at = strstr(s, "@T@");
        if (!at) {
            buf_append(b, s, strlen(s), NULL);
            break;
        }
        buf_append(b, s, (size_t)(at - s), NULL);
        buf_append(b, test_tmpdir(), strlen(test_tmpdir()), NULL);
        s = at + 3;
    }
}

static struct appspec *spec(const char *yaml_in)
{
    struct buf b;
    expand_t(yaml_in, &b);
    struct appspec *as = NULL;
    struct err e = ERR_INIT;
    int r = appspec_parse(b.data, b.len, "appspec.yml", &as, &e);
    buf_done(&b);
    if (r < 0 && e.code == ERR_UNSUPPORTED)
        SKIP("the AppSpec parser is not available in this build yet");
    if (r < 0)
        FAILF("appspec_parse: %s", e.msg);
    return as;
}

static char *archive_of(const char *dep)
{
    return xasprintf("%s/root/" GROUP "/%s/deployment-archive", test_tmpdir(), dep);
}

/* Write a file into deployment dep's archive. */
static void rev_file(const char *dep, const char *rel, const char *content, mode_t mode)
{
    AUTOFREE char *p = xasprintf("root/" GROUP "/%s/deployment-archive/%s", dep, rel);
    const char *full = test_write(p, content);
    ASSERT_OK(chmod(full, mode));
}

static void collect(void *ctx, const char *msg)
{
    buf_appendf(ctx, NULL, "%s\n", msg);
}

static struct buf notes;
static int test_selinux = -1; /* the tests below opt in with fake semanage/restorecon */
static const struct install_ops *test_ops; /* the disk-full tests inject faults */

static int install(const char *dep, const struct appspec *as, const char *spec_feb, struct err *e)
{
    AUTOFREE char *root = tmp("root");
    AUTOFREE char *depdir = layout_deployment_dir(root, GROUP, dep);
    AUTOFREE char *arch = archive_of(dep);
    mkdir_p(arch, 0755, NULL);
    if (!notes.max)
        buf_init(&notes, 1 << 16);
    struct install_opts o = {
        .root_dir = root,
        .group_id = GROUP,
        .deployment_dir = depdir,
        .archive_dir = arch,
        .spec_file_exists_behavior = spec_feb,
        .selinux = test_selinux,
        .note = collect,
        .note_ctx = &notes,
        .ops = test_ops,
    };
    return install_run(as, &o, e);
}

static void must_install(const char *dep, const char *yaml, const char *spec_feb)
{
    struct appspec *as = spec(yaml);
    struct err e = ERR_INIT;
    int r = install(dep, as, spec_feb, &e);
    appspec_free(as);
    if (r < 0)
        FAILF("install %s: %s", dep, e.msg);
}

static void must_fail(const char *dep, const char *yaml, const char *spec_feb, int code,
                      const char *msg)
{
    struct appspec *as = spec(yaml);
    struct err e = ERR_INIT;
    int r = install(dep, as, spec_feb, &e);
    appspec_free(as);
    if (r == 0)
        FAILF("install %s succeeded, expected '%s'", dep, msg);
    ASSERT_EQ(e.code, code);
    ASSERT_CONTAINS(e.msg, msg);
}

static char *slurp(const char *path)
{
    char *d = NULL;
    if (read_file(path, 1 << 22, &d, NULL, NULL) < 0)
        return NULL;
    return d;
}

static char *slurp_rel(const char *rel)
{
    AUTOFREE char *p = tmp(rel);
    return slurp(p);
}

/* The cleanup file with test_tmpdir() replaced by @T@ and NULs shown as "\0". */
static char *cleanup_text(void)
{
    AUTOFREE char *p = tmp("root/deployment-instructions/" GROUP "-cleanup");
    char *d = NULL;
    size_t len = 0;
    if (read_file(p, 1 << 22, &d, &len, NULL) < 0)
        return xstrdup("(no cleanup file)");
    struct buf b;
    buf_init(&b, 1 << 22);
    size_t tl = strlen(test_tmpdir());
    for (size_t i = 0; i < len;) {
        if (len - i >= tl && memcmp(d + i, test_tmpdir(), tl) == 0) {
            buf_append(&b, "@T@", 3, NULL);
            i += tl;
        } else if (d[i] == '\0') {
            buf_append(&b, "\\0", 2, NULL);
            i++;
        } else {
            buf_append(&b, d + i, 1, NULL);
            i++;
        }
    }
    free(d);
    return buf_steal(&b);
}

static char *install_json(void)
{
    AUTOFREE char *d = slurp_rel("root/deployment-instructions/" GROUP "-install.json");
    if (!d)
        return xstrdup("(none)");
    struct buf b;
    buf_init(&b, 1 << 22);
    size_t tl = strlen(test_tmpdir());
    for (const char *s = d; *s;) {
        if (strncmp(s, test_tmpdir(), tl) == 0) {
            buf_append(&b, "@T@", 3, NULL);
            s += tl;
        } else {
            buf_append(&b, s++, 1, NULL);
        }
    }
    return buf_steal(&b);
}

static bool exists_rel(const char *rel)
{
    AUTOFREE char *p = tmp(rel);
    struct stat st;
    return lstat(p, &st) == 0;
}

static mode_t mode_rel(const char *rel)
{
    AUTOFREE char *p = tmp(rel);
    struct stat st;
    if (lstat(p, &st) < 0)
        FAILF("lstat %s: %s", p, strerror(errno));
    return st.st_mode & 07777;
}

#define HEAD "version: 0.0\nos: linux\n"

static void perm_revision(void);

/* ---- copies, directories, bookkeeping ---- */

static void basic_revision(const char *dep)
{
    rev_file(dep, "appspec.yml", "version: 0.0\n", 0644);
    rev_file(dep, "app/b.txt", "bee", 0644);
    rev_file(dep, "app/a.txt", "ay", 0640);
    rev_file(dep, "app/sub/run.sh", "#!/bin/sh\n", 0755);
    rev_file(dep, "conf/app.conf", "conf", 0600);
    AUTOFREE char *arch = archive_of(dep);
    AUTOFREE char *lnk = path_join(arch, "app/current");
    ASSERT_OK(symlink("sub/run.sh", lnk));
    AUTOFREE char *f = path_join(arch, "app/a.txt");
    struct timespec ts[2] = {{1400000000, 0}, {1400000000, 0}};
    ASSERT_OK(utimensat(AT_FDCWD, f, ts, 0));
}

static const char *basic_yaml = HEAD "files:\n"
                                     "  - source: app\n"
                                     "    destination: @T@/dest/www/site\n"
                                     "  - source: conf/app.conf\n"
                                     "    destination: @T@/dest/etc\n";

TEST(install_copies_dirs_files_links_R174_R175_R178_C191_C192_C194_C195_C265)
{
    umask(022);
    basic_revision("d-1");
    test_write("dest/.keep", "");
    must_install("d-1", basic_yaml, NULL);
    AUTOFREE char *a = slurp_rel("dest/www/site/a.txt");
    ASSERT_STREQ(a, "ay");
    AUTOFREE char *c = slurp_rel("dest/etc/app.conf");
    ASSERT_STREQ(c, "conf");                       /* a file source lands at destination/basename */
    ASSERT_FALSE(exists_rel("dest/www/site/app")); /* a directory's contents, not itself */
    ASSERT_EQ(mode_rel("dest/www/site/a.txt"), 0640);
    ASSERT_EQ(mode_rel("dest/www/site/sub/run.sh"), 0755);
    ASSERT_EQ(mode_rel("dest/etc/app.conf"), 0600);
    ASSERT_EQ(mode_rel("dest/www"), 0755); /* 0777 minus umask, not the archive's mode */
    AUTOFREE char *ap = tmp("dest/www/site/a.txt");
    struct stat st;
    ASSERT_OK(stat(ap, &st));
    ASSERT_EQ(st.st_mtime, 1400000000);
    AUTOFREE char *lp = tmp("dest/www/site/current");
    char buf[64];
    ssize_t n = readlink(lp, buf, sizeof(buf) - 1);
    ASSERT_TRUE(n > 0);
    buf[n] = '\0';
    ASSERT_STREQ(buf, "sub/run.sh");
    /* Cleanup: ancestors outermost first, mkdir after / copy before, sorted entries. */
    AUTOFREE char *cl = cleanup_text();
    ASSERT_STREQ(cl, "@T@/dest/www\n"
                     "@T@/dest/www/site\n"
                     "@T@/dest/www/site/a.txt\n"
                     "@T@/dest/www/site/b.txt\n"
                     "@T@/dest/www/site/current\n"
                     "@T@/dest/www/site/sub\n"
                     "@T@/dest/www/site/sub/run.sh\n"
                     "@T@/dest/etc\n"
                     "@T@/dest/etc/app.conf\n");
    AUTOFREE char *last = NULL;
    AUTOFREE char *root = tmp("root");
    ASSERT_OK(layout_read_last_successful(root, GROUP, &last, NULL));
    AUTOFREE char *want = layout_deployment_dir(root, GROUP, "d-1");
    ASSERT_STREQ(last, want);
    ASSERT_EQ(mode_rel("root/deployment-instructions/" GROUP "-cleanup"), 0600);
    ASSERT_EQ(mode_rel("root/deployment-instructions/" GROUP "-install.json"), 0600);
}

TEST(install_json_matches_ruby_format_R105_C196)
{
    basic_revision("d-1");
    test_write("dest/.keep", "");
    must_install("d-1", basic_yaml, NULL);
    AUTOFREE char *j = install_json();
    AUTOFREE char *want = slurp(test_src_path("tests/data/install/basic-install.json"));
    ASSERT_NOT_NULL(want);
    if (want[strlen(want) - 1] == '\n')
        want[strlen(want) - 1] = '\0';
    ASSERT_STREQ(j, want);
}

TEST(install_json_permission_steps_match_ruby_format_R105_R185_C196_C266)
{
    perm_revision();
    struct appspec *as = spec(HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out\n"
                                   "  - source: app/sub\n    destination: @T@/out/sub\n"
                                   "permissions:\n  - object: @T@/out/notes.md\n    mode: 0644\n"
                                   "    context:\n      name: system_u\n      type: etc_t\n"
                                   "      range: s0-s3:c1,c2,c3\n    owner: root\n"
                                   "  - object: @T@/out\n    type: [directory]\n"
                                   "    acls: [\"u:65534:rw\", \"d:g::5\"]\n");
    struct err e = ERR_INIT;
    int r = install("d-1", as, NULL, &e);
    appspec_free(as);
    if (r < 0 && strstr(e.msg, "Operation not supported"))
        SKIP("this filesystem does not support POSIX ACLs");
    if (r < 0)
        FAILF("install: %s", e.msg);
    AUTOFREE char *j = install_json();
    AUTOFREE char *want = slurp(test_src_path("tests/data/install/permissions-install.json"));
    ASSERT_NOT_NULL(want);
    want[strcspn(want, "\n")] = '\0';
    ASSERT_STREQ(j, want);
}

TEST(install_source_root_copies_whole_archive_C262)
{
    rev_file("d-1", "appspec.yml", "x", 0644);
    rev_file("d-1", "scripts/start.sh", "x", 0755);
    must_install("d-1", HEAD "files:\n  - source: /\n    destination: @T@/out\n", NULL);
    ASSERT_TRUE(exists_rel("out/appspec.yml"));
    ASSERT_TRUE(exists_rel("out/scripts/start.sh"));
}

TEST(install_missing_source_fails_before_anything_R174)
{
    rev_file("d-1", "appspec.yml", "x", 0644);
    must_fail("d-1", HEAD "files:\n  - source: nope.txt\n    destination: @T@/out\n", NULL,
              ERR_INSTALL, "(nope.txt) that does not exist");
    ASSERT_FALSE(exists_rel("out"));
    ASSERT_FALSE(exists_rel("root/deployment-instructions/" GROUP "_last_successful_install"));
}

TEST(install_duplicate_targets_R177_C193)
{
    rev_file("d-1", "a/x.txt", "1", 0644);
    rev_file("d-1", "b/x.txt", "2", 0644);
    rev_file("d-1", "c/x.txt/inner", "3", 0644);
    AUTOFREE char *arch = archive_of("d-1");
    AUTOFREE char *want = xasprintf("two source files named %s/b/x.txt and %s/a/x.txt for the "
                                    "same destination (%s/out/x.txt)",
                                    arch, arch, test_tmpdir());
    must_fail("d-1",
              HEAD "files:\n  - source: a\n    destination: @T@/out\n"
                   "  - source: b/x.txt\n    destination: @T@/out/\n",
              NULL, ERR_INSTALL, want);
    must_fail("d-1",
              HEAD "files:\n  - source: a\n    destination: @T@/out\n"
                   "  - source: c\n    destination: @T@/out\n",
              NULL, ERR_INSTALL,
              "includes an mkdir command more than once for the same "
              "destination path");
    must_fail("d-1",
              HEAD "files:\n  - source: c\n    destination: @T@/out\n"
                   "  - source: a\n    destination: @T@/out\n",
              NULL, ERR_INSTALL, "calls for installing the file");
    ASSERT_FALSE(exists_rel("out"));
}

TEST(install_directory_links_in_source_R174_R131)
{
    rev_file("d-1", "real/f.txt", "f", 0644);
    test_write("outside/secret", "s");
    AUTOFREE char *arch = archive_of("d-1");
    AUTOFREE char *in = path_join(arch, "tree/in");
    AUTOFREE char *realdir = path_join(arch, "real");
    mkdir_p(in, 0755, NULL);
    rmdir(in);
    ASSERT_OK(symlink(realdir, in));
    must_install("d-1", HEAD "files:\n  - source: tree\n    destination: @T@/out\n", NULL);
    /* Followed inside the archive: installed as a real directory with real files. */
    AUTOFREE char *od = tmp("out/in");
    struct stat st;
    ASSERT_OK(lstat(od, &st));
    ASSERT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_TRUE(exists_rel("out/in/f.txt"));
    AUTOFREE char *bad = path_join(arch, "tree/bad");
    AUTOFREE char *outside = tmp("outside");
    ASSERT_OK(symlink(outside, bad));
    must_fail("d-1", HEAD "files:\n  - source: tree\n    destination: @T@/out2\n", NULL, ERR_UNSAFE,
              "AppSpec path /tree/bad resolves outside the revision directory");
    ASSERT_FALSE(exists_rel("out2"));
}

TEST(install_source_link_outside_refused_R131)
{
    test_write("outside/secret", "s");
    AUTOFREE char *arch = archive_of("d-1");
    mkdir_p(arch, 0755, NULL);
    AUTOFREE char *bad = path_join(arch, "evil");
    AUTOFREE char *outside = tmp("outside");
    ASSERT_OK(symlink(outside, bad));
    must_fail("d-1", HEAD "files:\n  - source: evil\n    destination: @T@/out\n", NULL, ERR_UNSAFE,
              "AppSpec path evil resolves outside the revision directory");
    ASSERT_FALSE(exists_rel("out"));
}

/* ---- file-exists behaviour (R-172, R-176): 3 behaviours x file/dir/symlink present ---- */

static void prepare_conflict(char what)
{
    rev_file("d-1", "x.txt", "new", 0644);
    test_write("elsewhere/target.txt", "linked");
    AUTOFREE char *t = tmp("out/x.txt");
    if (what == 'f') {
        test_write("out/x.txt", "old");
    } else if (what == 'd') {
        test_write("out/x.txt/inside", "old");
    } else {
        AUTOFREE char *tgt = tmp("elsewhere/target.txt");
        test_write("out/.keep", "");
        ASSERT_OK(symlink(tgt, t));
    }
}

static const char *feb_yaml(const char *feb)
{
    static char y[512];
    snprintf(y, sizeof(y), HEAD "%s%s%sfiles:\n  - source: x.txt\n    destination: @T@/out\n",
             feb ? "file_exists_behavior: " : "", feb ? feb : "", feb ? "\n" : "");
    return y;
}

static void disallow_case(char kind)
{
    prepare_conflict(kind);
    AUTOFREE char *want = xasprintf("The deployment failed because a specified file already "
                                    "exists at this location: %s/out/x.txt",
                                    test_tmpdir());
    must_fail("d-1", feb_yaml("DISALLOW"), NULL, ERR_INSTALL, want);
    ASSERT_FALSE(exists_rel("root/deployment-instructions/" GROUP "-cleanup"));
    AUTOFREE char *lt = slurp_rel("elsewhere/target.txt");
    ASSERT_STREQ(lt, "linked");
}

TEST(install_fe_disallow_matrix_R176_C185)
{
    const char kinds[] = {'f', 'd', 'l'};
    for (int k = 0; k < 3; k++) {
        disallow_case(kinds[k]);
        AUTOFREE char *o = tmp("out");
        AUTOFREE char *r = tmp("root");
        AUTOFREE char *e = tmp("elsewhere");
        rm_rf(o, NULL);
        rm_rf(r, NULL);
        rm_rf(e, NULL);
    }
}

TEST(install_fe_overwrite_matrix_R176_R178_C186)
{
    /* file: replaced */
    prepare_conflict('f');
    must_install("d-1", feb_yaml("OVERWRITE"), NULL);
    AUTOFREE char *c = slurp_rel("out/x.txt");
    ASSERT_STREQ(c, "new");
    AUTOFREE char *cl = cleanup_text();
    ASSERT_STREQ(cl, "@T@/out/x.txt\n");
    /* symlink: the link itself is replaced, its target untouched */
    AUTOFREE char *o = tmp("out");
    AUTOFREE char *r = tmp("root");
    rm_rf(o, NULL);
    rm_rf(r, NULL);
    prepare_conflict('l');
    must_install("d-1", feb_yaml("OVERWRITE"), NULL);
    AUTOFREE char *t = tmp("out/x.txt");
    struct stat st;
    ASSERT_OK(lstat(t, &st));
    ASSERT_TRUE(S_ISREG(st.st_mode));
    AUTOFREE char *c2 = slurp_rel("out/x.txt");
    ASSERT_STREQ(c2, "new");
    AUTOFREE char *lt = slurp_rel("elsewhere/target.txt");
    ASSERT_STREQ(lt, "linked");
    /* directory in the way: fails naming the target, directory kept */
    rm_rf(o, NULL);
    rm_rf(r, NULL);
    prepare_conflict('d');
    AUTOFREE char *want = xasprintf("install '%s/out/x.txt'", test_tmpdir());
    must_fail("d-1", feb_yaml("OVERWRITE"), NULL, ERR_SYSTEM, want);
    ASSERT_TRUE(exists_rel("out/x.txt/inside"));
}

TEST(install_fe_retain_matrix_R176_C186)
{
    const char kinds[] = {'f', 'd', 'l'};
    for (int k = 0; k < 3; k++) {
        prepare_conflict(kinds[k]);
        must_install("d-1", feb_yaml("RETAIN"), NULL);
        AUTOFREE char *cl = cleanup_text();
        ASSERT_STREQ(cl, ""); /* kept, and not listed */
        if (kinds[k] == 'f') {
            AUTOFREE char *c = slurp_rel("out/x.txt");
            ASSERT_STREQ(c, "old");
        } else if (kinds[k] == 'd') {
            ASSERT_TRUE(exists_rel("out/x.txt/inside"));
        } else {
            AUTOFREE char *t = tmp("out/x.txt");
            struct stat st;
            ASSERT_OK(lstat(t, &st));
            ASSERT_TRUE(S_ISLNK(st.st_mode));
        }
        AUTOFREE char *o = tmp("out");
        AUTOFREE char *r = tmp("root");
        AUTOFREE char *e = tmp("elsewhere");
        rm_rf(o, NULL);
        rm_rf(r, NULL);
        rm_rf(e, NULL);
    }
}

TEST(install_file_where_a_directory_is_needed_fails_at_planning_R171)
{
    rev_file("d-1", "app/sub/x.txt", "x", 0644);
    test_write("out/sub", "a host file");
    must_fail("d-1",
              HEAD "file_exists_behavior: OVERWRITE\n"
                   "files:\n  - source: app\n    destination: @T@/out\n",
              NULL, ERR_INSTALL,
              "a file already exists where the application specification "
              "file needs the directory");
    AUTOFREE char *c = slurp_rel("out/sub");
    ASSERT_STREQ(c, "a host file");
    ASSERT_FALSE(exists_rel("root/deployment-instructions/" GROUP "-install.json"));
}

TEST(install_dangling_symlink_is_not_a_conflict_R176)
{
    rev_file("d-1", "x.txt", "new", 0644);
    test_write("out/.keep", "");
    AUTOFREE char *t = tmp("out/x.txt");
    AUTOFREE char *nowhere = tmp("nowhere/file");
    ASSERT_OK(symlink(nowhere, t));
    must_install("d-1", feb_yaml(NULL), NULL);
    AUTOFREE char *c = slurp_rel("out/x.txt");
    ASSERT_STREQ(c, "new");
    ASSERT_FALSE(exists_rel("nowhere")); /* the link was replaced, not written through */
}

TEST(install_fe_precedence_R172_C184_C232)
{
    /* AppSpec RETAIN beats the spec's OVERWRITE. */
    prepare_conflict('f');
    rev_file("d-2", "x.txt", "new", 0644);
    rev_file("d-3", "x.txt", "new", 0644);
    must_install("d-1", feb_yaml("RETAIN"), "OVERWRITE");
    AUTOFREE char *c = slurp_rel("out/x.txt");
    ASSERT_STREQ(c, "old");
    /* The spec's OVERWRITE beats the DISALLOW default. */
    must_install("d-2", feb_yaml(NULL), "OVERWRITE");
    AUTOFREE char *c2 = slurp_rel("out/x.txt");
    ASSERT_STREQ(c2, "new");
    /* The default is DISALLOW (the previous install's file is removed by cleanup first, so
     * plant a fresh unrelated one). */
    AUTOFREE char *x = tmp("out/x.txt");
    unlink(x);
    AUTOFREE char *cp = tmp("root/deployment-instructions/" GROUP "-cleanup");
    unlink(cp);
    test_write("out/x.txt", "host");
    must_fail("d-3", feb_yaml(NULL), NULL, ERR_INSTALL, "already exists at this location");
    /* An unknown spec value only matters when there is a conflict. */
    must_fail("d-3", feb_yaml(NULL), "SOMETIMES", ERR_INSTALL,
              "an invalid option was specified for fileExistsBehavior: SOMETIMES. Valid options "
              "include OVERWRITE, RETAIN, and DISALLOW.");
    unlink(x);
    must_install("d-3", feb_yaml(NULL), "SOMETIMES");
}

/* ---- round trip and the previous install's cleanup (R-171, R-173) ---- */

TEST(install_round_trip_redeploy_and_cleanup_R173_C187_C188)
{
    basic_revision("d-1");
    must_install("d-1", basic_yaml, NULL);
    /* Same revision again under DISALLOW: the previous files go first. */
    basic_revision("d-2");
    AUTOFREE char *gone = xasprintf("root/" GROUP "/d-2/deployment-archive/app/b.txt");
    AUTOFREE char *gp = tmp(gone);
    unlink(gp); /* d-2 no longer ships b.txt */
    must_install("d-2", basic_yaml, NULL);
    ASSERT_FALSE(exists_rel("dest/www/site/b.txt"));
    ASSERT_TRUE(exists_rel("dest/www/site/a.txt"));
    AUTOFREE char *cl = cleanup_text();
    ASSERT_NOT_CONTAINS(cl, "b.txt");
    /* A host file inside an installed directory keeps that directory alive. */
    test_write("dest/www/site/sub/host-log.txt", "mine");
    AUTOFREE char *root = tmp("root");
    ASSERT_OK(install_remove_previous(root, GROUP, NULL));
    ASSERT_FALSE(exists_rel("dest/www/site/a.txt"));
    ASSERT_FALSE(exists_rel("dest/www/site/current")); /* link unlinked */
    ASSERT_TRUE(exists_rel("dest/www/site/sub/host-log.txt"));
    ASSERT_TRUE(exists_rel("dest/www/site/sub")); /* non-empty: kept */
    ASSERT_FALSE(exists_rel("dest/etc"));         /* empty: removed */
    ASSERT_FALSE(exists_rel("root/deployment-instructions/" GROUP "-cleanup"));
    ASSERT_TRUE(exists_rel("dest")); /* pre-existing, never listed */
}

TEST(install_cleanup_unlinks_symlinks_without_following_C188)
{
    test_write("precious/file", "keep");
    test_write("dest/.keep", "");
    AUTOFREE char *l = tmp("dest/link");
    AUTOFREE char *p = tmp("precious");
    ASSERT_OK(symlink(p, l));
    AUTOFREE char *content = xasprintf("%s\n", l);
    test_write("root/deployment-instructions/" GROUP "-cleanup", content);
    AUTOFREE char *cf = tmp("root/deployment-instructions/" GROUP "-cleanup");
    chmod(cf, 0600);
    AUTOFREE char *root = tmp("root");
    ASSERT_OK(install_remove_previous(root, GROUP, NULL));
    ASSERT_FALSE(exists_rel("dest/link"));
    ASSERT_TRUE(exists_rel("precious/file"));
}

/* The cleanup file is still cleanup_before and _last_successful_install still names dep. */
static void assert_previous_kept(const char *cleanup_before, const char *dep)
{
    AUTOFREE char *after = cleanup_text();
    ASSERT_STREQ(after, cleanup_before);
    AUTOFREE char *last = NULL;
    AUTOFREE char *root = tmp("root");
    ASSERT_OK(layout_read_last_successful(root, GROUP, &last, NULL));
    ASSERT_CONTAINS(last, dep);
}

TEST(install_conflict_leaves_previous_install_untouched_R171_C190)
{
    basic_revision("d-1");
    must_install("d-1", basic_yaml, NULL);
    AUTOFREE char *before = cleanup_text();
    basic_revision("d-2");
    rev_file("d-2", "app/new.txt", "n", 0644);
    test_write("dest/www/site/new.txt", "host file in the way");
    must_fail("d-2", basic_yaml, NULL, ERR_INSTALL, "already exists at this location");
    ASSERT_TRUE(exists_rel("dest/www/site/a.txt"));
    ASSERT_TRUE(exists_rel("dest/etc/app.conf"));
    assert_previous_kept(before, "/d-1");
}

TEST(install_plans_against_post_cleanup_view_R171)
{
    /* d-1 created dest/www (listed); d-2 must plan mkdir for it again, because removing the
     * previous install takes it away. */
    basic_revision("d-1");
    must_install("d-1", basic_yaml, NULL);
    basic_revision("d-2");
    must_install("d-2", basic_yaml, NULL);
    AUTOFREE char *cl = cleanup_text();
    ASSERT_CONTAINS(cl, "@T@/dest/www\n@T@/dest/www/site\n");
    ASSERT_TRUE(exists_rel("dest/www/site/a.txt"));
}

TEST(install_failure_halfway_keeps_cleanup_true_R181_C264)
{
    rev_file("d-1", "app/a.txt", "a", 0644);
    rev_file("d-1", "app/z.txt", "z", 0644);
    AUTOFREE char *arch = archive_of("d-1");
    AUTOFREE char *fifo = path_join(arch, "app/m.fifo");
    ASSERT_OK(mkfifo(fifo, 0644));
    struct appspec *as = spec(HEAD "files:\n  - source: app\n    destination: @T@/out\n");
    struct err e = ERR_INIT;
    ASSERT_FAIL(install("d-1", as, NULL, &e));
    appspec_free(as);
    AUTOFREE char *want = xasprintf("install '%s/out/m.fifo'", test_tmpdir());
    ASSERT_CONTAINS(e.msg, want);
    ASSERT_CONTAINS(e.msg, "is not a regular file");
    AUTOFREE char *cl = cleanup_text();
    ASSERT_STREQ(cl, "@T@/out\n@T@/out/a.txt\n@T@/out/m.fifo\n");
    ASSERT_TRUE(exists_rel("out/a.txt"));
    ASSERT_FALSE(exists_rel("out/z.txt"));
    ASSERT_FALSE(exists_rel("out/m.fifo"));
    ASSERT_FALSE(exists_rel("root/deployment-instructions/" GROUP "_last_successful_install"));
    /* No temporary files left next to the targets. */
    AUTOFREE char *o = tmp("out");
    int n = 0;
    AUTOFREE char *cmd = xasprintf("ls -A '%s' | wc -l", o);
    FILE *pf = popen(cmd, "r");
    ASSERT_NOT_NULL(pf);
    ASSERT_EQ(fscanf(pf, "%d", &n), 1);
    pclose(pf);
    ASSERT_EQ(n, 1);
}

TEST(install_overwrite_running_executable_no_etxtbsy_R178_C195)
{
    rev_file("d-1", "bin/.keep", "", 0644);
    AUTOFREE char *arch = archive_of("d-1");
    AUTOFREE char *src = path_join(arch, "bin/sleeper");
    char *bin = NULL;
    size_t len = 0;
    ASSERT_OK(read_file("/bin/sleep", 1 << 24, &bin, &len, NULL));
    ASSERT_OK(write_file_atomic(src, bin, len, 0755, NULL));
    AUTOFREE char *dst = tmp("out/sleeper");
    test_write("out/.keep", "");
    ASSERT_OK(write_file_atomic(dst, bin, len, 0755, NULL));
    free(bin);
    pid_t pid;
    char *argv[] = {dst, (char *)"30", NULL};
    ASSERT_EQ(posix_spawn(&pid, dst, NULL, NULL, argv, environ), 0);
    usleep(100 * 1000);
    struct appspec *as = spec(HEAD "file_exists_behavior: OVERWRITE\n"
                                   "files:\n  - source: bin/sleeper\n    destination: @T@/out\n");
    struct err e = ERR_INIT;
    int r = install("d-1", as, NULL, &e);
    appspec_free(as);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (r < 0)
        FAILF("install over a running binary: %s", e.msg);
}

/* ---- the Ruby agent's files (fixtures) ---- */

/* Copy a fixture to dst, replacing @ROOT@ with the test directory. */
static void fixture(const char *name, const char *dst_rel)
{
    char *d = NULL;
    size_t len = 0;
    AUTOFREE char *src = xasprintf("tests/data/install/%s", name);
    ASSERT_OK(read_file(test_src_path(src), 1 << 20, &d, &len, NULL));
    struct buf b;
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < len;) {
        if (len - i >= 6 && memcmp(d + i, "@ROOT@", 6) == 0) {
            buf_append(&b, test_tmpdir(), strlen(test_tmpdir()), NULL);
            i += 6;
        } else {
            buf_append(&b, d + i, 1, NULL);
            i++;
        }
    }
    free(d);
    AUTOFREE char *dst = tmp(dst_rel);
    AUTOFREE char *dir = xstrdup(dst);
    *strrchr(dir, '/') = '\0';
    mkdir_p(dir, 0755, NULL);
    ASSERT_OK(write_file_atomic(dst, b.data, b.len, 0600, NULL));
    buf_done(&b);
}

TEST(install_honours_ruby_cleanup_file_R173_C189)
{
    /* What the Ruby agent left: dirs, files, a symlink, a semanage line, a torn last line. */
    test_write("app/www/index.html", "ruby");
    test_write("app/www/css/site.css", "ruby");
    test_write("app/keep/host.txt", "host");
    AUTOFREE char *lnk = tmp("app/www/current");
    ASSERT_OK(symlink("index.html", lnk));
    test_write("app/torn.txt", "must survive: its line was torn");
    fixture("ruby-cleanup", "root/deployment-instructions/" GROUP "-cleanup");
    rev_file("d-9", "index.html", "cdagent", 0644);
    must_install("d-9", HEAD "files:\n  - source: index.html\n    destination: @T@/app/www\n",
                 NULL);
    AUTOFREE char *c = slurp_rel("app/www/index.html");
    ASSERT_STREQ(c, "cdagent"); /* the Ruby file was removed first: no DISALLOW conflict */
    ASSERT_FALSE(exists_rel("app/www/css"));
    ASSERT_FALSE(exists_rel("app/www/current"));
    ASSERT_TRUE(exists_rel("app/keep/host.txt"));
    ASSERT_TRUE(exists_rel("app/torn.txt"));
    AUTOFREE char *cl = cleanup_text();
    ASSERT_STREQ(cl, "@T@/app/www\n@T@/app/www/index.html\n");
}

TEST(install_cleanup_written_by_cdagent_reads_as_ruby_expects_R104)
{
    /* Lines end in '\n', one absolute path each, semanage entries as "semanage\0<path>". */
    basic_revision("d-1");
    must_install("d-1", basic_yaml, NULL);
    AUTOFREE char *p = tmp("root/deployment-instructions/" GROUP "-cleanup");
    char *d = NULL;
    size_t len = 0;
    ASSERT_OK(read_file(p, 1 << 20, &d, &len, NULL));
    ASSERT_TRUE(len > 0 && d[len - 1] == '\n');
    for (char *s = d; *s; s = strchr(s, '\n') + 1)
        ASSERT_EQ(*s, '/');
    free(d);
}

TEST(install_untrusted_cleanup_file_is_not_acted_on_V063)
{
    test_write("victim/file", "keep");
    AUTOFREE char *victim = tmp("victim/file");
    AUTOFREE char *content = xasprintf("%s\n", victim);
    test_write("root/deployment-instructions/" GROUP "-cleanup", content);
    AUTOFREE char *cf = tmp("root/deployment-instructions/" GROUP "-cleanup");
    ASSERT_OK(chmod(cf, 0666));
    rev_file("d-1", "a", "a", 0644);
    must_install("d-1", HEAD "files:\n  - source: a\n    destination: @T@/out\n", NULL);
    ASSERT_TRUE(exists_rel("victim/file"));
    ASSERT_CONTAINS(notes.data, "not removing the previous install's files");
}

/* ---- permissions (R-182..R-188) ---- */

static void perm_revision_in(const char *dep)
{
    rev_file(dep, "app/my-file-1.txt", "1", 0644);
    rev_file(dep, "app/my-file-2.txt", "2", 0644);
    rev_file(dep, "app/my-file-3.txt", "3", 0644);
    rev_file(dep, "app/notes.md", "n", 0644);
    rev_file(dep, "app/sub/deep.txt", "d", 0644);
}

static void perm_revision(void)
{
    perm_revision_in("d-1");
    perm_revision_in("d-2");
}

TEST(install_permissions_pattern_except_R183_C197)
{
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out\n    pattern: \"*.txt\"\n"
                      "    except: [my-file-3.txt]\n    mode: 600\n    type: [file]\n",
                 NULL);
    ASSERT_EQ(mode_rel("out/my-file-1.txt"), 0600);
    ASSERT_EQ(mode_rel("out/my-file-2.txt"), 0600);
    ASSERT_EQ(mode_rel("out/my-file-3.txt"), 0644);
    ASSERT_EQ(mode_rel("out/notes.md"), 0644);
    ASSERT_EQ(mode_rel("out/sub/deep.txt"), 0644); /* only direct children */
}

TEST(install_permissions_double_star_descendants_not_object_R183_C198)
{
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out\n    mode: 750\n    type: [directory]\n"
                      "  - object: @T@/out\n    mode: 0640\n    type: [file]\n",
                 NULL);
    ASSERT_EQ(mode_rel("out"), 0755); /* never the object itself */
    ASSERT_EQ(mode_rel("out/sub"), 0750);
    ASSERT_EQ(mode_rel("out/sub/deep.txt"), 0640);
    ASSERT_EQ(mode_rel("out/notes.md"), 0640);
    AUTOFREE char *j = install_json();
    /* All copy/mkdir steps first, then permission steps, modes as written. */
    ASSERT_CONTAINS(j, "{\"type\":\"chmod\",\"mode\":\"750\",\"file\":\"@T@/out/sub\"}");
    ASSERT_CONTAINS(j, "{\"type\":\"chmod\",\"mode\":\"0640\",\"file\":\"@T@/out/notes.md\"}");
    const char *last_copy = strstr(j, "\"type\":\"copy\",\"source\":\"@T@/root/g-1/d-1/"
                                      "deployment-archive/app/sub/deep.txt\"");
    const char *first_chmod = strstr(j, "\"type\":\"chmod\"");
    ASSERT_NOT_NULL(last_copy);
    ASSERT_TRUE(first_chmod > last_copy);
}

TEST(install_permission_on_copied_file_R182_C199)
{
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out/notes.md\n    mode: 0444\n",
                 NULL);
    ASSERT_EQ(mode_rel("out/notes.md"), 0444);
    must_fail("d-2",
              HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out2\n"
                   "permissions:\n  - object: @T@/out2/notes.md\n    pattern: \"*.md\"\n"
                   "    mode: 0444\n",
              NULL, ERR_INSTALL, "with an invalid pattern (*.md), such as a pattern for a file");
    must_fail("d-2",
              HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out2\n"
                   "permissions:\n  - object: @T@/out2/notes.md\n    except: [a, b]\n"
                   "    mode: 0444\n",
              NULL, ERR_INSTALL,
              "the except parameter for a pattern in the permissions section "
              "([a, b])");
}

TEST(install_permission_twice_R184_C200)
{
    perm_revision();
    AUTOFREE char *want = xasprintf("the permissions setting for (%s/out/notes.md) is specified "
                                    "more than once",
                                    test_tmpdir());
    must_fail("d-1",
              HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                   "permissions:\n  - object: @T@/out\n    mode: 0600\n"
                   "  - object: @T@/out\n    pattern: \"*.md\"\n    mode: 0644\n",
              NULL, ERR_INSTALL, want);
    ASSERT_FALSE(exists_rel("out")); /* planning failure: nothing written */
}

TEST(install_permission_ignored_when_not_installed_here_R182)
{
    perm_revision();
    test_write("unrelated/file.txt", "x");
    AUTOFREE char *u = tmp("unrelated/file.txt");
    chmod(u, 0644);
    must_install("d-1",
                 HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/unrelated\n    mode: 0600\n",
                 NULL);
    ASSERT_EQ(mode_rel("unrelated/file.txt"), 0644);
}

TEST(install_owner_group_root_R186_C201)
{
    if (geteuid() != 0)
        SKIP("chown needs root");
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out\n    pattern: \"*.md\"\n"
                      "    owner: nobody\n    group: nogroup\n",
                 NULL);
    AUTOFREE char *p = tmp("out/notes.md");
    struct stat st;
    ASSERT_OK(lstat(p, &st));
    ASSERT_EQ(st.st_uid, 65534);
    AUTOFREE char *q = tmp("out/my-file-1.txt");
    ASSERT_OK(lstat(q, &st));
    ASSERT_EQ(st.st_uid, 0);
    AUTOFREE char *j = install_json();
    ASSERT_CONTAINS(j, "{\"type\":\"chown\",\"owner\":\"nobody\",\"group\":\"nogroup\",\"file\":"
                       "\"@T@/out/notes.md\"}");
    must_fail("d-2",
              HEAD "files:\n  - source: app\n    destination: @T@/out2\n"
                   "permissions:\n  - object: @T@/out2\n    owner: no-such-user-cd\n",
              NULL, ERR_INSTALL, "the owner 'no-such-user-cd'");
    ASSERT_FALSE(exists_rel("out2"));
}

TEST(install_acl_unknown_user_fails_before_anything_R187)
{
    perm_revision();
    must_fail("d-1",
              HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                   "permissions:\n  - object: @T@/out\n    acls: [\"u:no-such-user-cd:rwx\"]\n",
              NULL, ERR_INSTALL,
              "Unknown user 'no-such-user-cd' in acl entry user:no-such-user-cd:rwx");
    ASSERT_FALSE(exists_rel("out"));
}

TEST(install_acl_default_on_file_refused_R188_C202)
{
    perm_revision();
    must_fail("d-1",
              HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                   "permissions:\n  - object: @T@/out\n    acls: [\"d:u:root:rwx\"]\n"
                   "    type: [file]\n",
              NULL, ERR_INSTALL,
              "the -d parameter has been specified to apply an acl setting "
              "to a file");
}

static char *getfacl(const char *rel)
{
    AUTOFREE char *p = tmp(rel);
    AUTOFREE char *cmd =
        xasprintf("getfacl --omit-header --numeric --absolute-names --no-effective '%s' 2>&1", p);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 1 << 16);
    char line[512];
    while (fgets(line, sizeof(line), f))
        buf_append(&b, line, strlen(line), NULL);
    pclose(f);
    return buf_steal(&b);
}

TEST(install_acls_with_base_entries_and_mask_R187_C203_C204)
{
    if (access("/usr/bin/getfacl", X_OK) != 0)
        SKIP("getfacl not installed");
    perm_revision();
    struct appspec *as =
        spec(HEAD "files:\n  - source: app\n    destination: @T@/out\n"
                  "permissions:\n  - object: @T@/out\n    pattern: \"*.txt\"\n    mode: 640\n"
                  "    acls: [\"u:65534:rw\", \"g:65534:r\"]\n    type: [file]\n"
                  "  - object: @T@/out\n    acls: [\"d:u:65534:rwx\"]\n    type: [directory]\n");
    struct err e = ERR_INIT;
    int r = install("d-1", as, NULL, &e);
    appspec_free(as);
    if (r < 0 && strstr(e.msg, "Operation not supported"))
        SKIP("this filesystem does not support POSIX ACLs");
    if (r < 0)
        FAILF("install: %s", e.msg);
    /* Each of the three matching files gets the same clean ACL (no duplicated base entries). */
    const char *files[] = {"out/my-file-1.txt", "out/my-file-2.txt", "out/my-file-3.txt"};
    for (int i = 0; i < 3; i++) {
        AUTOFREE char *acl = getfacl(files[i]);
        ASSERT_STREQ(acl, "user::rw-\nuser:65534:rw-\ngroup::r--\ngroup:65534:r--\n"
                          "mask::r--\nother::---\n\n");
    }
    ASSERT_EQ(mode_rel("out/my-file-1.txt"), 0640);
    AUTOFREE char *dacl = getfacl("out/sub");
    ASSERT_CONTAINS(dacl, "default:user::rwx\ndefault:user:65534:rwx\ndefault:group::r-x\n"
                          "default:mask::r-x\ndefault:other::r-x\n");
    AUTOFREE char *j = install_json();
    ASSERT_CONTAINS(j, "{\"type\":\"setfacl\",\"acl\":[\"user:65534:rw-\",\"group:65534:r--\"],"
                       "\"file\":\"@T@/out/my-file-1.txt\"}");
}

TEST(install_selinux_context_without_range_R189_C205)
{
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out/notes.md\n    mode: 0644\n"
                      "    context:\n      type: httpd_sys_content_t\n    owner: root\n",
                 NULL);
    AUTOFREE char *j = install_json();
    /* Step order for one target: chmod, setfacl, semanage, chown (R-185, C-266). */
    const char *c1 = strstr(j, "\"type\":\"chmod\"");
    const char *c2 = strstr(j, "{\"type\":\"semanage\",\"context\":{\"user\":null,\"role\":null,"
                               "\"type\":\"httpd_sys_content_t\",\"range\":null},\"file\":"
                               "\"@T@/out/notes.md\"}");
    const char *c3 = strstr(j, "\"type\":\"chown\"");
    ASSERT_NOT_NULL(c1);
    ASSERT_NOT_NULL(c2);
    ASSERT_NOT_NULL(c3);
    ASSERT_TRUE(c1 < c2 && c2 < c3);
    ASSERT_CONTAINS(notes.data, "SELinux is not enabled on this host; skipping context "
                                "'httpd_sys_content_t'");
}

/* Fake semanage/restorecon first in PATH, logging their arguments. */
static void fake_selinux_tools(const char *restorecon_rc)
{
    AUTOFREE char *log = tmp("selinux.log");
    AUTOFREE char *s1 = xasprintf("#!/bin/sh\necho \"semanage $*\" >> '%s'\n", log);
    AUTOFREE char *s2 =
        xasprintf("#!/bin/sh\necho \"restorecon $*\" >> '%s'\nexit %s\n", log, restorecon_rc);
    const char *p1 = test_write("fakebin/semanage", s1);
    ASSERT_OK(chmod(p1, 0755));
    const char *p2 = test_write("fakebin/restorecon", s2);
    ASSERT_OK(chmod(p2, 0755));
    AUTOFREE char *bin = tmp("fakebin");
    AUTOFREE char *path = xasprintf("%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin");
    setenv("PATH", path, 1);
    test_selinux = 1;
}

TEST(install_selinux_commands_and_cleanup_entries_R189_R180_C263)
{
    fake_selinux_tools("0");
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out\n"
                      "  - source: app/my-file-1.txt\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out/notes.md\n"
                      "    context:\n      type: httpd_sys_content_t\n"
                      "  - object: @T@/out/my-file-1.txt\n"
                      "    context:\n      name: system_u\n      type: etc_t\n"
                      "      range: s0:c0,c1,c2\n",
                 NULL);
    AUTOFREE char *log = slurp_rel("selinux.log");
    AUTOFREE char *want =
        xasprintf("semanage fcontext -a -t httpd_sys_content_t %1$s/out/notes.md\n"
                  "restorecon -v %1$s/out/notes.md\n"
                  "semanage fcontext -a -s system_u -t etc_t -r s0:c0.c2 %1$s/out/my-file-1.txt\n"
                  "restorecon -v %1$s/out/my-file-1.txt\n",
                  test_tmpdir());
    ASSERT_STREQ(log, want);
    AUTOFREE char *cl = cleanup_text();
    ASSERT_STREQ(cl, "@T@/out\n@T@/out/notes.md\n@T@/out/my-file-1.txt\n"
                     "semanage\\0@T@/out/notes.md\nsemanage\\0@T@/out/my-file-1.txt\n");
    /* The next install removes the contexts too, in reverse order. */
    AUTOFREE char *l = tmp("selinux.log");
    unlink(l);
    rev_file("d-2", "other.txt", "o", 0644);
    must_install("d-2", HEAD "files:\n  - source: other.txt\n    destination: @T@/out2\n", NULL);
    AUTOFREE char *log2 = slurp_rel("selinux.log");
    AUTOFREE char *want2 = xasprintf("semanage fcontext -d %1$s/out/my-file-1.txt\n"
                                     "semanage fcontext -d %1$s/out/notes.md\n",
                                     test_tmpdir());
    ASSERT_STREQ(log2, want2);
    ASSERT_FALSE(exists_rel("out"));
}

TEST(install_selinux_failure_message_R189)
{
    fake_selinux_tools("3");
    perm_revision();
    AUTOFREE char *want =
        xasprintf("Failed command: restorecon -v %s/out/notes.md. Exit code: 3", test_tmpdir());
    must_fail("d-1",
              HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out\n"
                   "permissions:\n  - object: @T@/out/notes.md\n"
                   "    context:\n      type: httpd_sys_content_t\n",
              NULL, ERR_INSTALL, want);
    AUTOFREE char *cl = cleanup_text();
    ASSERT_CONTAINS(cl, "semanage\\0@T@/out/notes.md\n");
}

/* ---- disk full (issue 11 item 2) ---- */

/* Write an AppSpec (with @T@ expanded) into dep's archive, as a real revision carries it. */
static void rev_appspec(const char *dep, const char *yaml)
{
    struct buf b;
    expand_t(yaml, &b);
    rev_file(dep, "appspec.yml", b.data, 0644);
    buf_done(&b);
}

static const char *two_rev_yaml = HEAD "files:\n"
                                       "  - source: app\n"
                                       "    destination: @T@/dest/www\n";

/* d-1 installed (its files and cleanup file on the host), d-2 staged with other content. */
static void two_revisions(void)
{
    rev_appspec("d-1", two_rev_yaml);
    rev_file("d-1", "app/a.txt", "one-a", 0640);
    rev_file("d-1", "app/sub/b.txt", "one-b", 0755);
    rev_file("d-1", "app/only-one.txt", "old only", 0644);
    must_install("d-1", two_rev_yaml, NULL);
    rev_appspec("d-2", two_rev_yaml);
    rev_file("d-2", "app/a.txt", "two-a, longer", 0644);
    rev_file("d-2", "app/sub/b.txt", "two-b", 0644);
    rev_file("d-2", "app/sub/c.txt", "two-c", 0644);
    rev_file("d-2", "app/z.txt", "two-z", 0644);
}

static struct statvfs fake_vfs;

static int fake_statvfs(const char *path, struct statvfs *ret)
{
    (void)path;
    *ret = fake_vfs;
    return 0;
}

static void assert_d1_on_host(const char *cleanup_before)
{
    AUTOFREE char *a = slurp_rel("dest/www/a.txt");
    AUTOFREE char *b = slurp_rel("dest/www/sub/b.txt");
    AUTOFREE char *o = slurp_rel("dest/www/only-one.txt");
    ASSERT_STREQ(a, "one-a");
    ASSERT_STREQ(b, "one-b");
    ASSERT_STREQ(o, "old only");
    ASSERT_EQ(mode_rel("dest/www/a.txt"), 0640);
    ASSERT_EQ(mode_rel("dest/www/sub/b.txt"), 0755);
    ASSERT_FALSE(exists_rel("dest/www/sub/c.txt"));
    ASSERT_FALSE(exists_rel("dest/www/z.txt"));
    assert_previous_kept(cleanup_before, "/d-1");
}

/* Install d-2 (two_revisions) with ops in place. */
static int install_d2_with(const struct install_ops *ops, struct err *e)
{
    test_ops = ops;
    struct appspec *as = spec(two_rev_yaml);
    int r = install("d-2", as, NULL, e);
    appspec_free(as);
    test_ops = NULL;
    return r;
}

TEST(install_refuses_early_when_bytes_do_not_fit_issue11)
{
    two_revisions();
    AUTOFREE char *before = cleanup_text();
    fake_vfs = (struct statvfs){.f_bsize = 4096,
                                .f_frsize = 4096,
                                .f_blocks = 1 << 20,
                                .f_bavail = 100,
                                .f_bfree = 100,
                                .f_files = 1 << 20,
                                .f_favail = 1 << 20,
                                .f_ffree = 1 << 20};
    struct install_ops ops = {.statvfs = fake_statvfs};
    test_ops = &ops;
    AUTOFREE char *where =
        xasprintf("not enough free space on the file system holding '%s'", test_tmpdir());
    must_fail("d-2", two_rev_yaml, NULL, ERR_INSTALL, where);
    /* The numbers a person needs: what is free, and that nothing changed. */
    must_fail("d-2", two_rev_yaml, NULL, ERR_INSTALL,
              "409600 bytes and 1048576 inodes are free; nothing was changed");
    test_ops = NULL;
    assert_d1_on_host(before);
}

TEST(install_refuses_early_when_inodes_do_not_fit_issue11)
{
    two_revisions();
    AUTOFREE char *before = cleanup_text();
    fake_vfs = (struct statvfs){.f_bsize = 4096,
                                .f_frsize = 4096,
                                .f_blocks = 1 << 20,
                                .f_bavail = 1 << 20,
                                .f_bfree = 1 << 20,
                                .f_files = 1000,
                                .f_favail = 3,
                                .f_ffree = 3};
    struct install_ops ops = {.statvfs = fake_statvfs};
    struct err e = ERR_INIT;
    ASSERT_FAIL(install_d2_with(&ops, &e));
    ASSERT_EQ(e.code, ERR_INSTALL);
    ASSERT_CONTAINS(e.msg, "and 3 inodes are free; nothing was changed");
    assert_d1_on_host(before);
}

static int copies_left;

/* The real copy, except for the copy number copies_left (from 0), which finds the disk full. */
static int enospc_copy(int in, int out)
{
    if (copies_left-- == 0) {
        errno = ENOSPC;
        return -1;
    }
    char b[4096];
    ssize_t n;
    while ((n = read(in, b, sizeof(b))) > 0)
        if (write(out, b, (size_t)n) != n)
            return -1;
    return n < 0 ? -1 : 0;
}

TEST(install_disk_full_midway_restores_previous_revision_issue11)
{
    two_revisions();
    AUTOFREE char *before = cleanup_text();
    struct install_ops ops = {.copy_data = enospc_copy};
    copies_left = 2;
    struct err e = ERR_INIT;
    ASSERT_FAIL(install_d2_with(&ops, &e));
    ASSERT_EQ(e.code, ERR_SYSTEM);
    ASSERT_CONTAINS(e.msg, "No space left on device");
    AUTOFREE char *d1 = tmp("root/" GROUP "/d-1");
    AUTOFREE char *said = xasprintf("; the previous revision's files (%s) were restored", d1);
    ASSERT_CONTAINS(e.msg, said);
    assert_d1_on_host(before);
}

TEST(install_disk_full_restore_failure_is_reported_issue11)
{
    two_revisions();
    /* The previous revision's archive is gone: say so instead of claiming a restore. */
    AUTOFREE char *a1 = archive_of("d-1");
    ASSERT_OK(rm_rf(a1, NULL));
    struct install_ops ops = {.copy_data = enospc_copy};
    copies_left = 0;
    struct err e = ERR_INIT;
    ASSERT_FAIL(install_d2_with(&ops, &e));
    ASSERT_CONTAINS(e.msg, "No space left on device; restoring the previous revision's files");
    ASSERT_CONTAINS(e.msg, "failed too:");
}

/* ---- semanage/restorecon run clean (issue 11 item 5) ---- */

TEST(install_selinux_tools_get_minimal_env_and_clean_signals_issue11)
{
    AUTOFREE char *log = tmp("selinux-env.log");
    AUTOFREE char *s1 = xasprintf("#!/bin/sh\nenv >> '%1$s'\ngrep -E '^Sig(Blk|Ign)' "
                                  "/proc/self/status >> '%1$s'\n",
                                  log);
    const char *p1 = test_write("fakebin2/semanage", s1);
    ASSERT_OK(chmod(p1, 0755));
    const char *p2 = test_write("fakebin2/restorecon", "#!/bin/sh\nexit 0\n");
    ASSERT_OK(chmod(p2, 0755));
    AUTOFREE char *bin = tmp("fakebin2");
    AUTOFREE char *path = xasprintf("%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin");
    AUTOFREE char *old_path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin");
    setenv("PATH", path, 1);
    setenv("CDAGENT_TEST_SECRET", "hunter2", 1);
    sigset_t usr1, old_mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old_mask);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_act;
    sigaction(SIGUSR2, &ign, &old_act);
    int saved = test_selinux;
    test_selinux = 1;
    perm_revision();
    must_install("d-1",
                 HEAD "files:\n  - source: app/notes.md\n    destination: @T@/out\n"
                      "permissions:\n  - object: @T@/out/notes.md\n"
                      "    context:\n      type: httpd_sys_content_t\n",
                 NULL);
    test_selinux = saved;
    sigaction(SIGUSR2, &old_act, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    unsetenv("CDAGENT_TEST_SECRET");
    setenv("PATH", old_path, 1);
    AUTOFREE char *got = slurp(log);
    ASSERT_NOT_NULL(got);
    ASSERT_FALSE(strstr(got, "hunter2") != NULL);
    ASSERT_CONTAINS(got, "LC_ALL=C\n");
    ASSERT_CONTAINS(got, "SigBlk:\t0000000000000000\n");
    /* Signals 1-31 at their defaults (glibc's posix_spawn leaves its two internal real-time
     * signals ignored; a glibc program resets them itself). */
    const char *sig_ign = strstr(got, "SigIgn:\t");
    ASSERT_NOT_NULL(sig_ign);
    unsigned long long mask = strtoull(sig_ign + 8, NULL, 16);
    ASSERT_EQ(mask & 0x7fffffffULL, 0);
}

/* ---- paths longer than PATH_MAX (issue 11 item 5) ---- */

TEST(install_path_past_path_max_fails_with_a_whole_message_issue11)
{
    rev_file("d-1", "app/top.txt", "t", 0644);
    AUTOFREE char *archive = archive_of("d-1");
    AUTOFREE char *app = xasprintf("%s/app", archive);
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    int fd = open(app, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < 25; i++) { /* 25 x 201 bytes: past 4096 */
        ASSERT_OK(mkdirat(fd, name, 0755));
        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(sub >= 0);
        close(fd);
        fd = sub;
    }
    int f = openat(fd, "leaf.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    close(f);
    close(fd);
    struct appspec *as = spec(HEAD "files:\n  - source: app\n    destination: @T@/out\n");
    struct err e = ERR_INIT;
    ASSERT_FAIL(install("d-1", as, NULL, &e));
    appspec_free(as);
    ASSERT_EQ(e.code, ERR_INSTALL);
    ASSERT_CONTAINS(e.msg, "bytes long, more than the 4095 bytes Linux allows");
    ASSERT_CONTAINS(e.msg, "and then try again");
    ASSERT_FALSE(exists_rel("out"));
}
