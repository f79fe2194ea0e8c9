/* codedeploy-local --restart (issue 15): the option and the spec member it adds (V-012). */
#include <cjson/cJSON.h>

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
    cJSON *doc = cJSON_Parse(s1);
    ASSERT_NOT_NULL(doc);
    cJSON *r = cJSON_GetObjectItem(doc, "ReuseArchiveFromDeploymentId");
    ASSERT_TRUE(cJSON_IsString(r));
    ASSERT_STREQ(r->valuestring, "d-BBBBBBBBB-local");
    cJSON_Delete(doc);

    char *without[] = {"codedeploy-local", "-l", "/srv/rev", NULL};
    AUTOFREE char *s2 = spec_for(without, NULL);
    doc = cJSON_Parse(s2);
    ASSERT_NULL(cJSON_GetObjectItem(doc, "ReuseArchiveFromDeploymentId"));
    cJSON_Delete(doc);
}
