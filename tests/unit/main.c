/* The unit-test runner: see test.h. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"

#define MAX_TESTS 2048

struct test_entry {
    const char *name;
    const char *file;
    test_fn fn;
};

static struct test_entry tests[MAX_TESTS];
static int ntests;
static char tmpdir[4096];
static char pathbuf[8192];
static char writebuf[8192];

void test_register(const char *name, const char *file, test_fn fn)
{
    if (ntests < MAX_TESTS)
        tests[ntests++] = (struct test_entry){name, file, fn};
}

const char *test_tmpdir(void)
{
    return tmpdir;
}

const char *test_src_path(const char *rel)
{
    const char *src = getenv("CDAGENT_SRC");
    snprintf(pathbuf, sizeof(pathbuf), "%s/%s", src && *src ? src : ".", rel);
    return pathbuf;
}

const char *test_private_copy(const char *rel)
{
    static char copybuf[4096];
    FILE *in = fopen(test_src_path(rel), "re");
    char data[65536];
    size_t n = in ? fread(data, 1, sizeof(data) - 1, in) : 0;
    if (in)
        fclose(in);
    data[n] = '\0';
    const char *slash = strrchr(rel, '/');
    snprintf(copybuf, sizeof(copybuf), "%s", test_write(slash ? slash + 1 : rel, data));
    if (chmod(copybuf, 0600) < 0)
        fprintf(stderr, "  test_private_copy %s: %s\n", copybuf, strerror(errno));
    return copybuf;
}

const char *test_write(const char *rel, const char *content)
{
    if (rel[0] == '/')
        snprintf(writebuf, sizeof(writebuf), "%s", rel);
    else
        snprintf(writebuf, sizeof(writebuf), "%s/%s", tmpdir, rel);
    /* create parent directories */
    for (char *p = writebuf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(writebuf, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(writebuf, "we");
    if (!f) {
        fprintf(stderr, "  test_write %s: %s\n", writebuf, strerror(errno));
        test_fail_exit();
    }
    fputs(content, f);
    fclose(f);
    return writebuf;
}

char *test_read(const char *path)
{
    char *s = NULL;
    size_t n = 0;
    struct err e = ERR_INIT;
    if (read_file(path, 1 << 20, &s, &n, &e) < 0) {
        fprintf(stderr, "  test_read %s: %s\n", path, e.msg);
        test_fail_exit();
    }
    return s;
}

void test_fail_exit(void)
{
    exit(1);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    /* chmod follows symlinks: a test's link to /etc must not make /etc mode 0700. */
    if (flag != FTW_SL && flag != FTW_SLN)
        chmod(p, 0700);
    return remove(p);
}

static int run_one(const struct test_entry *t)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/cdagent-unit-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(120);
        t->fn();
        fflush(stdout);
        exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    fprintf(stderr, "  killed by signal %d\n", WTERMSIG(st));
    return 1;
}

/* Arguments are name substrings to run; one starting with '-' excludes the names holding the
 * rest of it.  With no (positive) substrings every test not excluded runs. */
static int selected(const char *name, int argc, char **argv, int first)
{
    int positive = 0;
    for (int i = first; i < argc; i++)
        if (argv[i][0] == '-' && strstr(name, argv[i] + 1))
            return 0;
    for (int i = first; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        positive = 1;
        if (strstr(name, argv[i]))
            return 1;
    }
    return !positive;
}

int main(int argc, char **argv)
{
    const char *results = NULL;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--results") == 0) {
        results = argv[2];
        first = 3;
    }
    signal(SIGPIPE, SIG_IGN);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        if (!selected(tests[i].name, argc, argv, first))
            continue;
        int rc = run_one(&tests[i]);
        const char *f = strrchr(tests[i].file, '/');
        f = f ? f + 1 : tests[i].file;
        if (rc == 0) {
            passed++;
            printf("ok   %s (%s)\n", tests[i].name, f);
        } else if (rc == 77) {
            skipped++;
            printf("skip %s (%s)\n", tests[i].name, f);
        } else {
            failed++;
            printf("FAIL %s (%s) exit %d\n", tests[i].name, f, rc);
        }
        fflush(stdout);
    }
    char line[128];
    snprintf(line, sizeof(line), "%d passed, %d failed, %d skipped", passed, failed, skipped);
    printf("%s\n", line);
    if (results) {
        FILE *f = fopen(results, "we");
        if (f) {
            fprintf(f, "%s\n", line);
            fclose(f);
        }
    }
    return failed ? 1 : 0;
}
