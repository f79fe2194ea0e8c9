/* codedeploy-local argument handling (spec §15, R-205..R-211). */
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/local.h"
#include "cli/localcheck.h"
#include "parse/lint.h"
#include "test.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"
#include "base/path.h"
#include "base/fsutil.h"

/* The documents local builds, read back through base/json (caller frees). */
static struct json *parse_json(const char *text)
{
    struct err e = ERR_INIT;
    struct json *doc = json_parse(text, strlen(text), NULL, &e);
    if (!doc)
        FAILF("%s: %s", e.msg, text);
    return doc;
}

static const char *get_str(const struct json *doc, const char *path)
{
    struct err e = ERR_INIT;
    const char *s = NULL;
    if (json_get_str(doc, path, &s, &e) < 0)
        FAILF("%s", e.msg);
    return s;
}

static double get_num(const struct json *doc, const char *path)
{
    struct err e = ERR_INIT;
    double d = 0;
    if (json_get_num(doc, path, &d, &e) < 0)
        FAILF("%s", e.msg);
    return d;
}

static int parse(struct local_opts *o, struct err *e, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return local_parse_args(argc, argv, o, e);
}

static char *join_events(char **ev)
{
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; ev[i]; i++)
        buf_appendf(&b, NULL, "%s%s", i ? "," : "", ev[i]);
    return buf_steal(&b);
}

static char *events_of(const char *arg, struct err *e)
{
    char **ev = NULL;
    size_t n = 0;
    if (local_events(arg, &ev, &n, e) < 0)
        return NULL;
    char *s = join_events(ev);
    local_events_free(ev);
    return s;
}

TEST(local_defaults_R205)
{
    struct local_opts o;
    struct err e = ERR_INIT;
    char *argv[] = {"codedeploy-local", NULL};
    ASSERT_OK(parse(&o, &e, argv));
    ASSERT_STREQ(o.type, "directory");
    ASSERT_STREQ(o.file_exists_behavior, "DISALLOW");
    ASSERT_STREQ(o.group_id, "default-local-deployment-group");
    ASSERT_STREQ(o.group_name, "LocalFleet");
    ASSERT_STREQ(o.config_file, "/etc/codedeploy-agent/conf/codedeployagent.yml");
    ASSERT_NULL(o.application_name);
    char *cwd = getcwd(NULL, 0);
    ASSERT_STREQ(o.bundle_location, cwd);
    free(cwd);
    local_opts_done(&o);
}

TEST(local_all_flags_short_and_long_R205)
{
    struct local_opts o;
    struct err e = ERR_INIT;
    char *argv[] = {"codedeploy-local",
                    "-l",
                    "/x",
                    "--type",
                    "zip",
                    "-b",
                    "OVERWRITE",
                    "--deployment-group",
                    "g1",
                    "-d",
                    "Fleet",
                    "-a",
                    "App",
                    "-e",
                    "A,B",
                    "-c",
                    "/c.yml",
                    "--appspec-filename",
                    "other.yml",
                    "-h",
                    "-v",
                    NULL};
    ASSERT_OK(parse(&o, &e, argv));
    ASSERT_STREQ(o.bundle_location, "/x");
    ASSERT_STREQ(o.type, "zip");
    ASSERT_STREQ(o.file_exists_behavior, "OVERWRITE");
    ASSERT_STREQ(o.group_id, "g1");
    ASSERT_STREQ(o.group_name, "Fleet");
    ASSERT_STREQ(o.application_name, "App");
    ASSERT_STREQ(o.events, "A,B");
    ASSERT_STREQ(o.config_file, "/c.yml");
    ASSERT_STREQ(o.appspec_filename, "other.yml");
    ASSERT_TRUE(o.help);
    ASSERT_TRUE(o.version);
    local_opts_done(&o);
}

TEST(local_unknown_option_is_usage_error)
{
    struct local_opts o;
    struct err e = ERR_INIT;
    char *argv[] = {"codedeploy-local", "--bogus", NULL};
    ASSERT_FAIL(parse(&o, &e, argv));
    ASSERT_EQ(e.code, ERR_USAGE);
    ASSERT_CONTAINS(e.msg, "--bogus");
    err_clear(&e);
    char *argv2[] = {"codedeploy-local", "-l", NULL};
    ASSERT_FAIL(parse(&o, &e, argv2));
    ASSERT_CONTAINS(e.msg, "needs a value");
}

static int validate_with(const char *loc, const char *type, const char *cfg, struct err *e,
                         struct local_bundle *b)
{
    struct local_opts o;
    AUTOFREE char *l = xstrdup(loc);
    AUTOFREE char *t = xstrdup(type);
    AUTOFREE char *c = xstrdup(cfg);
    char *argv[] = {"codedeploy-local", "-l", l, "-t", t, "-c", c, NULL};
    if (parse(&o, e, argv) < 0)
        return -1;
    int r = local_validate(&o, b, e);
    local_opts_done(&o);
    return r;
}

TEST(local_validation_messages_R206)
{
    struct err e = ERR_INIT;
    struct local_bundle b = {0};
    const char *cfg = test_write("agent.yml", ":root_dir: /tmp\n");
    char cfgp[4096];
    snprintf(cfgp, sizeof(cfgp), "%s", cfg);

    ASSERT_FAIL(validate_with(".", "invalid-type", cfgp, &e, &b));
    ASSERT_STREQ(e.msg,
                 "type invalid-type is not a valid type. Must be one of tgz,tar,zip,directory");
    err_clear(&e);
    ASSERT_FAIL(validate_with("http://example.com/b.zip", "zip", cfgp, &e, &b));
    ASSERT_STREQ(e.msg, "location http://example.com/b.zip cannot be http, only encrypted (https) "
                        "url endpoints supported");
    err_clear(&e);
    ASSERT_FAIL(validate_with("/no/such/file.zip", "zip", cfgp, &e, &b));
    ASSERT_STREQ(e.msg, "location /no/such/file.zip is specified as a file or directory which "
                        "does not exist");
    err_clear(&e);
    ASSERT_FAIL(validate_with(test_tmpdir(), "zip", cfgp, &e, &b));
    ASSERT_CONTAINS(e.msg, "is specified as a compressed local file but it is a directory");
    err_clear(&e);
    ASSERT_FAIL(validate_with(cfgp, "directory", cfgp, &e, &b));
    ASSERT_CONTAINS(e.msg, "is specified with type directory but it is a file");
    err_clear(&e);
    ASSERT_FAIL(validate_with("ftp://x/y", "zip", cfgp, &e, &b));
    ASSERT_STREQ(e.msg, "unknown location ftp://x/y cannot be determined to be S3, Github, or a "
                        "local file / directory");
    err_clear(&e);
    ASSERT_FAIL(validate_with("https://github.com/onlyowner", "zip", cfgp, &e, &b));
    ASSERT_CONTAINS(e.msg,
                    "github location https://github.com/onlyowner not in the expected format");
    err_clear(&e);
    ASSERT_FAIL(validate_with("bad location", "zip", cfgp, &e, &b));
    ASSERT_STREQ(e.msg, "location bad location is not a valid uri");
}

TEST(local_directory_needs_appspec_R206)
{
    struct err e = ERR_INIT;
    struct local_bundle b = {0};
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/rev", test_tmpdir());
    mkdir(dir, 0755);
    const char *cfg = test_write("agent.yml", "x: 1\n");
    char cfgp[4096];
    snprintf(cfgp, sizeof(cfgp), "%s", cfg);
    ASSERT_FAIL(validate_with(dir, "directory", cfgp, &e, &b));
    char want[16384];
    snprintf(want, sizeof(want),
             "Expecting appspec file at location %s/appspec.yml or %s/appspec.yaml but it is not "
             "found there. Please either run the CLI from within a directory containing the "
             "appspec.yml or appspec.yaml file or specify a bundle location containing an "
             "appspec.yml or appspec.yaml file in its root directory",
             dir, dir);
    ASSERT_STREQ(e.msg, want);
    err_clear(&e);
    test_write("rev/appspec.yaml", "version: 0.0\n");
    ASSERT_OK(validate_with(dir, "directory", cfgp, &e, &b));
    ASSERT_EQ(b.kind, LOCAL_KIND_DIRECTORY);
    local_bundle_done(&b);

    /* -A names a file that must exist (C-227). */
    struct local_opts o;
    char *argv[] = {"codedeploy-local", "-l", dir, "-A", "appspec_override.yaml", "-c", cfgp, NULL};
    ASSERT_OK(parse(&o, &e, argv));
    ASSERT_FAIL(local_validate(&o, &b, &e));
    ASSERT_CONTAINS(e.msg, "/appspec_override.yaml but it is not found there");
    ASSERT_CONTAINS(e.msg, "containing the appspec_override.yaml file");
    err_clear(&e);
    test_write("rev/appspec_override.yaml", "version: 0.0\n");
    ASSERT_OK(local_validate(&o, &b, &e));
    local_bundle_done(&b);
    local_opts_done(&o);
}

TEST(local_config_must_be_readable_R206)
{
    struct err e = ERR_INIT;
    struct local_bundle b = {0};
    test_write("rev/appspec.yml", "version: 0.0\n");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/rev", test_tmpdir());
    ASSERT_FAIL(validate_with(dir, "directory", "/no/such/config.yml", &e, &b));
    ASSERT_STREQ(e.msg, "configuration file /no/such/config.yml does not exist or is not readable");
}

TEST(local_s3_and_github_locations_R211)
{
    struct err e = ERR_INIT;
    struct local_bundle b = {0};
    const char *cfg = test_write("agent.yml", "x: 1\n");
    char cfgp[4096];
    snprintf(cfgp, sizeof(cfgp), "%s", cfg);
    ASSERT_OK(validate_with("s3://b/dir/k.zip?versionId=v&etag=e", "zip", cfgp, &e, &b));
    ASSERT_EQ(b.kind, LOCAL_KIND_S3);
    ASSERT_STREQ(b.bucket, "b");
    ASSERT_STREQ(b.key, "dir/k.zip");
    ASSERT_STREQ(b.version, "v");
    ASSERT_STREQ(b.etag, "e");
    local_bundle_done(&b);
    ASSERT_OK(validate_with("https://github.com/o/r", "tgz", cfgp, &e, &b));
    ASSERT_EQ(b.kind, LOCAL_KIND_GITHUB);
    ASSERT_STREQ(b.commit, "HEAD");

    struct local_opts o;
    char *argv[] = {"codedeploy-local", "-l", "https://github.com/o/r", "-t", "tgz", NULL};
    ASSERT_OK(parse(&o, &e, argv));
    char **ev = NULL;
    size_t n = 0;
    ASSERT_OK(local_events(NULL, &ev, &n, &e));
    char *spec = local_build_spec(&o, &b, "d-ABCDEFGHI-local", ev, n);
    struct json *doc = parse_json(spec);
    ASSERT_STREQ(get_str(doc, "Revision.RevisionType"), "GitHub");
    ASSERT_STREQ(get_str(doc, "Revision.GitHubRevision.BundleType"), "zip");
    ASSERT_STREQ(get_str(doc, "Revision.GitHubRevision.CommitId"), "HEAD");
    ASSERT_STREQ(get_str(doc, "Revision.GitHubRevision.Account"), "o");
    json_free(doc);
    free(spec);
    local_events_free(ev);
    local_opts_done(&o);
    local_bundle_done(&b);

    ASSERT_OK(
        validate_with("https://api.github.com/repos/o/r/tarball/abc123", "tar", cfgp, &e, &b));
    ASSERT_STREQ(b.commit, "abc123");
    ASSERT_STREQ(b.repository, "r");
    local_bundle_done(&b);
}

TEST(local_event_order_rules_R207_R209)
{
    struct err e = ERR_INIT;
    char *s = events_of(NULL, &e);
    ASSERT_STREQ(s, "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop,DownloadBundle,"
                    "BeforeInstall,Install,AfterInstall,ApplicationStart,ValidateService,"
                    "BeforeAllowTraffic,AfterAllowTraffic");
    free(s);
    s = events_of("DownloadBundle,ApplicationStart", &e);
    ASSERT_STREQ(s, "DownloadBundle,Install,ApplicationStart");
    free(s);
    s = events_of("Stop,Start,HealthCheck", &e);
    ASSERT_STREQ(s, "DownloadBundle,Install,Stop,Start,HealthCheck");
    free(s);
    s = events_of("BeforeInstall,Install", &e);
    ASSERT_STREQ(s, "DownloadBundle,BeforeInstall,Install");
    free(s);
    /* Install is prepended, lands before DownloadBundle and is swapped with it. */
    s = events_of("ApplicationStop,DownloadBundle", &e);
    ASSERT_STREQ(s, "DownloadBundle,ApplicationStop,Install");
    free(s);
    ASSERT_NULL(events_of("Install,DownloadBundle", &e));
    ASSERT_CONTAINS(e.msg, "before DownloadBundle");
    err_clear(&e);
    ASSERT_NULL(events_of("ApplicationStart,DownloadBundle", &e));
    ASSERT_STREQ(e.msg, "The only events that can be specified before DownloadBundle are "
                        "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop. Please fix the "
                        "order of your specified events: ApplicationStart,DownloadBundle");
    err_clear(&e);
    ASSERT_NULL(events_of("ApplicationStart,Install", &e));
    ASSERT_STREQ(e.msg, "The only events that can be specified before Install are "
                        "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop,DownloadBundle,"
                        "BeforeInstall. Please fix the order of your specified events: "
                        "ApplicationStart,Install");
}

TEST(local_deployment_id_format_R211)
{
    regex_t re;
    ASSERT_EQ(regcomp(&re, "^d-[A-Z0-9]{9}-local$", REG_EXTENDED), 0);
    for (int i = 0; i < 50; i++) {
        char id[18];
        local_new_deployment_id(id);
        ASSERT_EQ(regexec(&re, id, 0, NULL, 0), 0);
    }
    regfree(&re);
}

TEST(local_spec_document_R210_R211)
{
    struct err e = ERR_INIT;
    struct local_opts o;
    char *argv[] = {"codedeploy-local", "-l", "/srv/rev", "-b", "RETAIN", "-g", "grp", NULL};
    ASSERT_OK(parse(&o, &e, argv));
    struct local_bundle b = {.kind = LOCAL_KIND_DIRECTORY, .location = xstrdup("/srv/rev")};
    char **ev = NULL;
    size_t n = 0;
    ASSERT_OK(local_events("ApplicationStart,CustomEvent", &ev, &n, &e));
    char *spec = local_build_spec(&o, &b, "d-AAAAAAAAA-local", ev, n);
    struct json *doc = parse_json(spec);
    ASSERT_STREQ(get_str(doc, "ApplicationId"), "/srv/rev");
    ASSERT_STREQ(get_str(doc, "ApplicationName"), "/srv/rev");
    ASSERT_STREQ(get_str(doc, "DeploymentGroupId"), "grp");
    ASSERT_STREQ(get_str(doc, "DeploymentGroupName"), "LocalFleet");
    ASSERT_STREQ(get_str(doc, "AppSpecFilename"), "appspec.yml");
    ASSERT_STREQ(get_str(doc, "AgentActionOverrides.AgentOverrides.FileExistsBehavior"), "RETAIN");
    ASSERT_EQ(json_count(json_member(doc, "AllPossibleLifecycleEvents")), 12);
    ASSERT_STREQ(get_str(doc, "AllPossibleLifecycleEvents[11]"), "CustomEvent");
    ASSERT_STREQ(get_str(doc, "Revision.RevisionType"), "Local Directory");
    ASSERT_STREQ(get_str(doc, "Revision.LocalRevision.BundleType"), "directory");
    ASSERT_STREQ(get_str(doc, "Revision.LocalRevision.Location"), "/srv/rev");
    json_free(doc);
    free(spec);
    local_events_free(ev);
    local_opts_done(&o);
    local_bundle_done(&b);
}

/* ---- validate (issue 17) ---- */

static void put_file(const char *dir, const char *rel, const char *body, mode_t mode)
{
    AUTOFREE char *p = path_join(dir, rel);
    AUTOFREE char *parent = xstrdup(p);
    *strrchr(parent, '/') = '\0';
    ASSERT_OK(mkdir_p(parent, 0755, NULL));
    ASSERT_OK(write_file_atomic(p, body, strlen(body), mode, NULL));
}

static const struct lint_problem *find_problem(const struct lint_report *r, const char *msg)
{
    for (size_t i = 0; i < r->n; i++)
        if (strstr(r->v[i].message, msg))
            return &r->v[i];
    return NULL;
}

/* A bundle installing app/ to dest, with the given AppSpec tail. */
static char *conflict_bundle(const char *dest, const char *tail)
{
    AUTOFREE char *bundle = path_join(test_tmpdir(), "bundle");
    AUTOFREE char *spec = xasprintf("version: 0.0\nos: linux\nfiles:\n  - source: app\n"
                                    "    destination: %s\n%s",
                                    dest, tail);
    put_file(bundle, "appspec.yml", spec, 0644);
    put_file(bundle, "app/index.html", "new\n", 0644);
    put_file(bundle, "app/css/site.css", "new\n", 0644);
    return xstrdup(bundle);
}

TEST(local_validate_destination_conflicts_follow_file_exists_behavior)
{
    AUTOFREE char *dest = path_join(test_tmpdir(), "www");
    put_file(dest, "index.html", "old\n", 0644);
    put_file(dest, "css/site.css", "old\n", 0644);
    AUTOFREE char *bundle = conflict_bundle(dest, "");
    AUTOFREE char *root = path_join(test_tmpdir(), "root");
    struct localcheck_opts o = {.bundle_dir = bundle, .root_dir = root, .group_id = "g"};
    struct lint_report r = {0};
    AUTOFREE char *path = NULL;
    localcheck_bundle(&o, &r, &path);
    ASSERT_EQ(lint_count(&r, LINT_ERROR), 2);
    AUTOFREE char *idx = path_join(dest, "index.html");
    AUTOFREE char *want = xasprintf("%s already exists and file_exists_behavior is DISALLOW: "
                                    "Install would fail with \"The deployment failed because a "
                                    "specified file already exists at this location: %s\"",
                                    idx, idx);
    const struct lint_problem *p = find_problem(&r, want);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(p->line, 4);
    ASSERT_STREQ(p->quote, "  - source: app");
    ASSERT_STREQ(p->fix, "remove the file, or set `file_exists_behavior: OVERWRITE` (or RETAIN) "
                         "in the AppSpec, or run with --file-exists-behavior OVERWRITE");
    lint_report_done(&r);
    /* -b OVERWRITE: no conflict. */
    o.file_exists_behavior = "OVERWRITE";
    free(path);
    localcheck_bundle(&o, &r, &path);
    ASSERT_EQ(r.n, 0);
    lint_report_done(&r);
    /* The AppSpec's own value wins over -b. */
    free(bundle);
    bundle = conflict_bundle(dest, "file_exists_behavior: DISALLOW\n");
    o.bundle_dir = bundle;
    free(path);
    localcheck_bundle(&o, &r, &path);
    ASSERT_EQ(lint_count(&r, LINT_ERROR), 2);
    ASSERT_STREQ(r.v[0].fix, "remove the file, or change `file_exists_behavior:` in the AppSpec "
                             "to OVERWRITE (or RETAIN)");
    lint_report_done(&r);
    /* Paths the group's previous install lists in its cleanup file are about to go. */
    o.file_exists_behavior = NULL;
    AUTOFREE char *css = path_join(dest, "css/site.css");
    AUTOFREE char *cleanup = xasprintf("%s\n%s\n", idx, css);
    put_file(root, "deployment-instructions/g-cleanup", cleanup, 0644);
    free(path);
    localcheck_bundle(&o, &r, &path);
    ASSERT_EQ(r.n, 0);
    lint_report_done(&r);
}

TEST(local_validate_owner_checked_only_for_installed_objects)
{
    AUTOFREE char *bundle = path_join(test_tmpdir(), "b");
    put_file(bundle, "appspec.yml",
             "version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: /opt/cdx\n"
             "permissions:\n  - object: /opt/cdx/sub\n    owner: cdagent-no-such-user\n"
             "  - object: /etc\n    owner: cdagent-no-such-user\n    group: root\n",
             0644);
    put_file(bundle, "app/a", "x\n", 0644);
    struct localcheck_opts o = {.bundle_dir = bundle};
    struct lint_report r = {0};
    AUTOFREE char *path = NULL;
    localcheck_bundle(&o, &r, &path);
    ASSERT_EQ(r.n, 1);
    ASSERT_STREQ(r.v[0].message, "permissions owner 'cdagent-no-such-user' for /opt/cdx/sub does "
                                 "not exist on this host");
    ASSERT_EQ(r.v[0].line, 8);
    ASSERT_STREQ(r.v[0].quote, "    owner: cdagent-no-such-user");
    ASSERT_STREQ(r.v[0].fix, "create the user (`useradd cdagent-no-such-user`) before deploying, "
                             "or change `owner:` to a user that exists");
    lint_report_done(&r);
}

TEST(local_validate_crlf_interpreter_and_missing_appspec)
{
    AUTOFREE char *bundle = path_join(test_tmpdir(), "b");
    struct localcheck_opts o = {.bundle_dir = bundle};
    struct lint_report r = {0};
    AUTOFREE char *path = NULL;
    ASSERT_OK(mkdir_p(bundle, 0755, NULL));
    localcheck_bundle(&o, &r, &path);
    ASSERT_NULL(path);
    ASSERT_EQ(r.n, 1);
    ASSERT_STREQ(r.v[0].file, "appspec.yml");
    lint_report_done(&r);
    put_file(bundle, "appspec.yml",
             "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: s.sh\n", 0644);
    put_file(bundle, "s.sh", "#!/bin/bash\r\necho hi\r\n", 0755);
    localcheck_bundle(&o, &r, &path);
    ASSERT_EQ(r.n, 1); /* the CRLF warning is the same problem: not repeated */
    ASSERT_EQ(r.v[0].severity, LINT_ERROR);
    ASSERT_STREQ(r.v[0].file, "s.sh");
    ASSERT_EQ(r.v[0].line, 1);
    ASSERT_STREQ(r.v[0].message, "the interpreter named on line 1 (`/bin/bash\\r`, Windows line "
                                 "ending) does not exist");
    ASSERT_STREQ(r.v[0].quote, "#!/bin/bash\\r");
    lint_report_done(&r);
}

TEST(local_validate_json_report)
{
    struct lint_report r = {0};
    lint_add(&r, LINT_ERROR, "appspec.yml", 5, "  -source: /", "a fix", "bad");
    lint_add(&r, LINT_WARNING, "s.sh", 0, NULL, NULL, "meh");
    AUTOFREE char *json = local_report_json(&r, "/b/appspec.yml");
    struct json *doc = parse_json(json);
    ASSERT_EQ(json_type(json_member(doc, "valid")), JSON_FALSE);
    ASSERT_TRUE(get_num(doc, "errors") == 1);
    ASSERT_TRUE(get_num(doc, "warnings") == 1);
    ASSERT_STREQ(get_str(doc, "problems[0].severity"), "error");
    ASSERT_STREQ(get_str(doc, "problems[0].quote"), "  -source: /");
    ASSERT_TRUE(get_num(doc, "problems[0].line") == 5);
    const struct json *p1 = NULL;
    ASSERT_OK(json_get_object(doc, "problems[1]", &p1, NULL));
    ASSERT_EQ(json_type(json_member(p1, "fix")), JSON_NULL);
    json_free(doc);
    lint_report_done(&r);
}

TEST(local_json_needs_validate)
{
    struct local_opts o;
    struct err e = ERR_INIT;
    char *argv[] = {"codedeploy-local", "--json", NULL};
    ASSERT_FAIL(parse(&o, &e, argv));
    ASSERT_STREQ(e.msg, "--json works with 'validate' only");
    char *argv2[] = {"codedeploy-local", "validate", "--json", NULL};
    err_clear(&e);
    ASSERT_OK(parse(&o, &e, argv2));
    ASSERT_TRUE(o.json && o.validate_only);
    local_opts_done(&o);
}
