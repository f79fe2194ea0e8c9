/*
 * deploy_files: drive the DownloadBundle unpack half and the Install step from the command line,
 * for end-to-end tests (tests/e2e/test_unpack_install.py).
 *   deploy_files unpack TYPE ARCHIVE DEST [MAX_ENTRIES MAX_BYTES]
 *       unpack_archive() then unpack_strip_top_dir(); prints "ok entries=N skipped=N stripped=B"
 *   deploy_files install ROOT GROUP DEPLOYMENT_ID [SPEC_FILE_EXISTS_BEHAVIOR]
 *       appspec_find() + appspec_load() in <root>/<group>/<id>/deployment-archive, install_run()
 * Notes go to stderr as "note: ...".  On failure prints "error <code name>: <message>", exit 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "parse/appspec.h"
#include "deploy/install.h"
#include "deploy/layout.h"
#include "deploy/unpack.h"
#include "base/util.h"

static void note(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "note: %s\n", msg);
}

static int fail(const struct err *e)
{
    printf("error %s: %s\n", err_code_name(e->code), e->msg);
    return 1;
}

static int do_unpack(int argc, char **argv)
{
    struct unpack_opts o = {.warn = note};
    if (argc >= 7) {
        uint64_t n, b;
        if (parse_uint(argv[5], 1, UINT64_MAX, &n, NULL) < 0 ||
            parse_uint(argv[6], 1, UINT64_MAX, &b, NULL) < 0)
            return 2;
        o.max_entries = n;
        o.max_bytes = b;
    }
    struct err e = ERR_INIT;
    struct unpack_stats st;
    bool stripped = false;
    if (unpack_archive(argv[3], unpack_format_from_type(argv[2]), argv[4], &o, &st, &e) < 0 ||
        unpack_strip_top_dir(argv[4], &stripped, &e) < 0)
        return fail(&e);
    printf("ok entries=%llu skipped=%llu stripped=%d\n", (unsigned long long)st.entries,
           (unsigned long long)st.skipped, stripped);
    return 0;
}

static int do_install(int argc, char **argv)
{
    const char *root = argv[2], *group = argv[3], *id = argv[4];
    AUTOFREE char *dep = layout_deployment_dir(root, group, id);
    AUTOFREE char *arch = layout_archive_dir(dep);
    AUTOFREE char *path = NULL;
    struct appspec *as = NULL;
    struct err e = ERR_INIT;
    if (appspec_find(arch, NULL, &path, &e) < 0 || appspec_load(path, &as, &e) < 0)
        return fail(&e);
    struct install_opts o = {
        .root_dir = root,
        .group_id = group,
        .deployment_dir = dep,
        .archive_dir = arch,
        .spec_file_exists_behavior = argc >= 6 ? argv[5] : NULL,
        .note = note,
    };
    int r = install_run(as, &o, &e);
    appspec_free(as);
    if (r < 0)
        return fail(&e);
    printf("ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && str_eq(argv[1], "unpack"))
        return do_unpack(argc, argv);
    if (argc >= 5 && str_eq(argv[1], "install"))
        return do_install(argc, argv);
    fprintf(stderr,
            "usage: deploy_files unpack TYPE ARCHIVE DEST [MAX_ENTRIES MAX_BYTES]\n"
            "       deploy_files install ROOT GROUP DEPLOYMENT_ID [FILE_EXISTS_BEHAVIOR]\n");
    return 2;
}
