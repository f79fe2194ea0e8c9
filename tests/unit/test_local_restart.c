/* codedeploy-local --restart (issue 15): the option and the spec member it adds (V-012). */
#include "base/json.h"
#include "base/util.h"
#include "cli/local.h"
#include "test.h"

static char *spec_for(char **argv, const char *reuse_from)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    struct local_opts o;
    struct err e = ERR_INIT;
    ASSERT_OK(local_parse_args(argc, argv, &o, &e));
    ASSERT_TRUE(o.restart == (reuse_from != NULL));
    o.reuse_from = reuse_from ? xstrdup(reuse_from) : NULL;
    struct local_bundle b = {.kind = LOCAL_KIND_DIRECTORY, .location = xstrdup("/srv/rev")};
    char **ev = NULL;
    size_t n = 0;
    ASSERT_OK(local_events(NULL, &ev, &n, &e));
    char *spec = local_build_spec(&o, &b, "d-AAAAAAAAA-local", ev, n);
    local_events_free(ev);
    local_bundle_done(&b);
    local_opts_done(&o);
    return spec;
}

TEST(local_restart_names_the_archive_to_reuse)
{
    char *with[] = {"codedeploy-local", "--restart", "-l", "/srv/rev", NULL};
    AUTOFREE char *s1 = spec_for(with, "d-BBBBBBBBB-local");
    struct json *doc = json_parse(s1, strlen(s1), NULL, NULL);
    ASSERT_NOT_NULL(doc);
    ASSERT_STREQ(json_member_str(doc, "ReuseArchiveFromDeploymentId"), "d-BBBBBBBBB-local");
    json_free(doc);

    char *without[] = {"codedeploy-local", "-l", "/srv/rev", NULL};
    AUTOFREE char *s2 = spec_for(without, NULL);
    doc = json_parse(s2, strlen(s2), NULL, NULL);
    ASSERT_NOT_NULL(doc);
    ASSERT_EQ(json_type(json_member(doc, "ReuseArchiveFromDeploymentId")), JSON_ABSENT);
    json_free(doc);
}
