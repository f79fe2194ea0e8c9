/* Tests for bundlemeta: the v2 marker files .bundle-etag and .bundle-source (V-009, V-051). */
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/bundlemeta.h"
#include "run/executor.h"
#include "test.h"

static char *slurp(const char *dir, const char *name)
{
    AUTOFREE char *p = path_join(dir, name);
    char *t = NULL;
    size_t n = 0;
    return read_file(p, 4096, &t, &n, NULL) < 0 ? NULL : t;
}

TEST(bundlemeta_writes_v2_formats_V051)
{
    const char *d = test_tmpdir();
    ASSERT_OK(bundlemeta_write_source(d, BUNDLEMETA_SOURCE_DOWNLOADED, NULL));
    ASSERT_OK(bundlemeta_write_etag(d, "\"0123abcd-2\"", NULL));
    AUTOFREE char *s = slurp(d, ".bundle-source");
    AUTOFREE char *e = slurp(d, ".bundle-etag");
    ASSERT_STREQ(s, "downloaded"); /* exact bytes, no newline */
    ASSERT_STREQ(e, "0123abcd-2"); /* quotes removed */
    AUTOFREE char *p = path_join(d, ".bundle-etag");
    struct stat st;
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 07777, 0644);
    ASSERT_OK(bundlemeta_write_source(d, BUNDLEMETA_SOURCE_REUSE, NULL));
    AUTOFREE char *s2 = slurp(d, ".bundle-source");
    ASSERT_STREQ(s2, "archive-reuse");
}

TEST(bundlemeta_empty_etag_removes_stale_marker)
{
    const char *d = test_tmpdir();
    test_write(".bundle-etag", "stale");
    ASSERT_OK(bundlemeta_write_etag(d, "\"\"", NULL));
    AUTOFREE char *p = path_join(d, ".bundle-etag");
    ASSERT_FALSE(file_exists(p));
    ASSERT_OK(bundlemeta_write_etag(d, NULL, NULL)); /* nothing to remove: still fine */
}

TEST(bundlemeta_reads_markers_left_by_v2_V009)
{
    const char *d = test_tmpdir();
    AUTOFREE char *none = bundlemeta_note(d);
    ASSERT_NULL(none); /* a missing marker means no note */
    test_write(".bundle-source", "archive-reuse\n");
    test_write(".bundle-etag", " abc123 \n");
    AUTOFREE char *n = bundlemeta_note(d);
    ASSERT_STREQ(n, "BundleSource=archive-reuse");
    AUTOFREE char *e = bundlemeta_read_etag(d);
    ASSERT_STREQ(e, "abc123");
    test_write(".bundle-source", "downloaded");
    AUTOFREE char *n2 = bundlemeta_note(d);
    ASSERT_STREQ(n2, "BundleSource=downloaded");
}

TEST(bundlemeta_refuses_unknown_or_binary_markers)
{
    const char *d = test_tmpdir();
    test_write(".bundle-source", "cached");
    AUTOFREE char *n = bundlemeta_note(d);
    ASSERT_NULL(n);
    test_write(".bundle-etag", "ab\x01"
                               "cd");
    AUTOFREE char *e = bundlemeta_read_etag(d);
    ASSERT_NULL(e);
    test_write(".bundle-etag", "\n\n");
    AUTOFREE char *e2 = bundlemeta_read_etag(d);
    ASSERT_NULL(e2);
}

TEST(bundlemeta_copy_etag_follows_the_source)
{
    const char *root = test_tmpdir();
    AUTOFREE char *a = path_join(root, "a");
    AUTOFREE char *b = path_join(root, "b");
    ASSERT_OK(mkdir(a, 0755));
    ASSERT_OK(mkdir(b, 0755));
    ASSERT_OK(bundlemeta_write_etag(a, "feed", NULL));
    ASSERT_OK(bundlemeta_copy_etag(a, b, NULL));
    AUTOFREE char *e = bundlemeta_read_etag(b);
    ASSERT_STREQ(e, "feed");
    AUTOFREE char *c = path_join(root, "c"); /* no marker there: the stale one goes */
    ASSERT_OK(mkdir(c, 0755));
    ASSERT_OK(bundlemeta_copy_etag(c, b, NULL));
    AUTOFREE char *e2 = bundlemeta_read_etag(b);
    ASSERT_NULL(e2);
}

TEST(bundlemeta_note_in_completion_payload_V009)
{
    const char *d = test_tmpdir();
    ASSERT_OK(bundlemeta_write_source(d, BUNDLEMETA_SOURCE_REUSE, NULL));
    struct exec_result r = {.succeeded = true, .note = bundlemeta_note(d)};
    AUTOFREE char *p = executor_diag_json(&r);
    ASSERT_STREQ(p, "{\"error_code\":0,\"script_name\":\"\","
                    "\"message\":\"Succeeded: BundleSource=archive-reuse\",\"log\":\"\"}");
    exec_result_done(&r);
    struct exec_result plain = {.succeeded = true}; /* other commands: R-192 as before */
    AUTOFREE char *q = executor_diag_json(&plain);
    ASSERT_STREQ(q, "{\"error_code\":0,\"script_name\":\"\",\"message\":\"Succeeded: \","
                    "\"log\":\"\"}");
}
