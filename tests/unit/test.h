/*
 * A small unit-test runner.  TEST(name) { ... } registers a test; each runs in its own forked
 * child (so a crash, a leak reported by LeakSanitizer at exit, or a chdir cannot spoil the
 * others) with a fresh temporary directory in test_tmpdir().  ASSERT_* print file, line, the
 * expression and both values, then fail the test.  SKIP("why") ends it as skipped (77).
 * Run: unit-tests [--results FILE] [name-substring ...] [-excluded-substring ...]; last line
 * "N passed, M failed, K skipped".
 * CDAGENT_SRC (set by the Makefile) is the source tree, for tests/data and the spec's vectors.
 */
#ifndef CDAGENT_TEST_H
#define CDAGENT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
const char *test_tmpdir(void);
/* Path under the source tree (CDAGENT_SRC or "."), static storage, valid until the next call. */
const char *test_src_path(const char *rel);
/* Copy the source-tree file rel into the test's tmpdir, mode 0600 (files of secrets must be
 * private to be accepted, issue 11 item 3); returns its path (static storage, valid until the
 * next call). */
const char *test_private_copy(const char *rel);
/* Write a file under the test's tmpdir (or absolute path); returns its path (static storage). */
const char *test_write(const char *rel, const char *content);
/* A file's contents, NUL-terminated, at most 1 MiB (caller frees); fails the test if unreadable. */
char *test_read(const char *path);
void test_fail_exit(void) __attribute__((noreturn));

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        test_register(#name, __FILE__, test_##name);                                               \
    }                                                                                              \
    static void test_##name(void)

#define FAILF(...)                                                                                 \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        test_fail_exit();                                                                          \
    } while (0)

#define ASSERT_TRUE(x)                                                                             \
    do {                                                                                           \
        if (!(x))                                                                                  \
            FAILF("ASSERT_TRUE(%s) failed", #x);                                                   \
    } while (0)
#define ASSERT_FALSE(x)                                                                            \
    do {                                                                                           \
        if (x)                                                                                     \
            FAILF("ASSERT_FALSE(%s) failed", #x);                                                  \
    } while (0)
#define ASSERT_OK(x)                                                                               \
    do {                                                                                           \
        long long r_ = (long long)(x);                                                             \
        if (r_ < 0)                                                                                \
            FAILF("ASSERT_OK(%s) returned %lld", #x, r_);                                          \
    } while (0)
#define ASSERT_FAIL(x)                                                                             \
    do {                                                                                           \
        long long r_ = (long long)(x);                                                             \
        if (r_ >= 0)                                                                               \
            FAILF("ASSERT_FAIL(%s) returned %lld, expected failure", #x, r_);                      \
    } while (0)
#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            FAILF("ASSERT_EQ(%s, %s): %lld != %lld", #a, #b, a_, b_);                              \
    } while (0)
#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ == b_)                                                                              \
            FAILF("ASSERT_NE(%s, %s): both %lld", #a, #b, a_);                                     \
    } while (0)
#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            FAILF("ASSERT_STREQ(%s, %s):\n    got:      \"%s\"\n    expected: \"%s\"", #a, #b,     \
                  a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                         \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !n_ || !strstr(h_, n_))                                                         \
            FAILF("ASSERT_CONTAINS(%s, %s):\n    \"%s\"\n    does not contain \"%s\"", #hay,       \
                  #needle, h_ ? h_ : "(null)", n_ ? n_ : "(null)");                                \
    } while (0)
#define ASSERT_NOT_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (h_ && n_ && strstr(h_, n_))                                                            \
            FAILF("ASSERT_NOT_CONTAINS(%s, %s): \"%s\" found", #hay, #needle, n_);                 \
    } while (0)
#define ASSERT_NULL(x)                                                                             \
    do {                                                                                           \
        if ((x) != NULL)                                                                           \
            FAILF("ASSERT_NULL(%s) failed", #x);                                                   \
    } while (0)
#define ASSERT_NOT_NULL(x)                                                                         \
    do {                                                                                           \
        if ((x) == NULL)                                                                           \
            FAILF("ASSERT_NOT_NULL(%s) failed", #x);                                               \
    } while (0)
#define SKIP(why)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "  skipped: %s\n", why);                                                   \
        exit(77);                                                                                  \
    } while (0)

#endif
