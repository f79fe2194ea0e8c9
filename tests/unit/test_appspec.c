/* appspec tests: spec section 10 (R-128 - R-149); checklist C-137..C-159, C-261, C-267..C-269 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse/appspec-internal.h"
#include "parse/appspec.h"
#include "parse/lint.h"
#include "base/err.h"
#include "test.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

/* Parse inline text; returns the appspec or NULL with *e filled. */
static struct appspec *parse(const char *text, struct err *e)
{
    struct appspec *as = NULL;
    err_clear(e);
    if (appspec_parse(text, strlen(text), "appspec.yml", &as, e) < 0)
        return NULL;
    return as;
}

/* Expect a rejection with code and message fragment. */
#define ASSERT_REJECTS(text, code_, fragment)                                                      \
    do {                                                                                           \
        struct err e_ = ERR_INIT;                                                                  \
        struct appspec *as_ = parse((text), &e_);                                                  \
        if (as_)                                                                                   \
            appspec_free(as_);                                                                     \
        ASSERT_NULL(as_);                                                                          \
        ASSERT_CONTAINS(e_.msg, (fragment));                                                       \
        ASSERT_EQ(e_.code, (code_));                                                               \
    } while (0)

static struct appspec *parse_ok(const char *text)
{
    struct err e = ERR_INIT;
    struct appspec *as = parse(text, &e);
    if (!as)
        FAILF("parse failed: %s", e.msg);
    return as;
}

static struct appspec *load_fixture(const char *rel)
{
    struct err e = ERR_INIT;
    struct appspec *as = NULL;
    if (appspec_load(test_src_path(rel), &as, &e) < 0)
        FAILF("load '%s' failed: %s", rel, e.msg);
    return as;
}

static bool has_warning(const struct appspec *as, const char *fragment)
{
    for (size_t i = 0; i < as->n_warnings; i++)
        if (strstr(as->warnings[i], fragment))
            return true;
    return false;
}

#define HDR "version: 0.0\nos: linux\n"

/* Parse fixture dir/name under the name appspec.yml (which the .expect messages use); true when
 * it is rejected, with *e set and *ret_expect the sidecar <name without .yml>.expect. */
static bool rejects(const char *dir, const char *name, char **ret_expect, struct err *e)
{
    AUTOFREE char *path = path_join(dir, name);
    AUTOFREE char *expect_path = xasprintf("%.*s.expect", (int)(strlen(path) - 4), path);
    AUTOFREE char *text = NULL;
    size_t len = 0;
    if (read_file(expect_path, 65536, ret_expect, NULL, NULL) < 0 ||
        read_file(path, 4 * APPSPEC_MAX_SIZE_BYTES, &text, &len, NULL) < 0)
        return false;
    struct appspec *as = NULL;
    if (appspec_parse(text, len, "appspec.yml", &as, e) == 0) {
        appspec_free(as);
        return false;
    }
    return true;
}

/* ---- fixtures: every bad one fails with its .expect fragments ---- */

TEST(appspec_bad_fixtures_fail_with_expected_messages)
{
    AUTOFREE char *dir = xstrdup(test_src_path("tests/data/appspec/bad"));
    DIR *d = opendir(dir);
    ASSERT_NOT_NULL(d);
    int checked = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!str_has_suffix(de->d_name, ".yml"))
            continue;
        AUTOFREE char *expect = NULL;
        struct err e = ERR_INIT;
        if (!rejects(dir, de->d_name, &expect, &e))
            FAILF("%s: parsed, expected a rejection (or no .expect)", de->d_name);
        const char *want_code = "AppSpec";
        for (char *line = expect, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (!*line)
                continue;
            if (str_has_prefix(line, "code: ")) {
                want_code = line + 6;
                continue;
            }
            if (!strstr(e.msg, line))
                FAILF("%s:\n    message: %s\n    lacks:   %s", de->d_name, e.msg, line);
        }
        if (strcmp(err_code_name(e.code), want_code) != 0)
            FAILF("%s: code %s, expected %s (%s)", de->d_name, err_code_name(e.code), want_code,
                  e.msg);
        checked++;
    }
    closedir(d);
    ASSERT_TRUE(checked >= 60);
}

TEST(appspec_good_fixtures_parse)
{
    AUTOFREE char *dir = xstrdup(test_src_path("tests/data/appspec/good"));
    DIR *d = opendir(dir);
    ASSERT_NOT_NULL(d);
    int checked = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!str_has_suffix(de->d_name, ".yml") && !str_has_suffix(de->d_name, ".yaml"))
            continue;
        AUTOFREE char *path = path_join(dir, de->d_name);
        struct err e = ERR_INIT;
        struct appspec *as = NULL;
        if (appspec_load(path, &as, &e) < 0)
            FAILF("%s: %s", de->d_name, e.msg);
        ASSERT_STREQ(as->filename, de->d_name);
        appspec_free(as);
        checked++;
    }
    closedir(d);
    ASSERT_TRUE(checked >= 10);
}

/* ---- the full fixture: every key ---- */

TEST(appspec_full_fixture_files_and_feb_R139_R140_R137)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/full.yml");
    ASSERT_EQ(as->n_files, 2);
    ASSERT_STREQ(as->files[0].source, "/");
    ASSERT_STREQ(as->files[0].source_rel, "");
    ASSERT_STREQ(as->files[0].destination, "/var/www/app");
    ASSERT_EQ(as->files[0].line, 5);
    ASSERT_STREQ(as->files[1].source_rel, "config/app.conf");
    ASSERT_STREQ(as->files[1].destination, "/etc/app");
    ASSERT_TRUE(has_warning(as, "full.yml line 8: files destination 'etc/app' is not an absolute"));
    ASSERT_EQ(as->file_exists_behavior, APPSPEC_FEB_OVERWRITE);
    appspec_free(as);
}

TEST(appspec_full_fixture_permissions_R145_R149)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/full.yml");
    ASSERT_EQ(as->n_permissions, 2);
    const struct appspec_permission *p = &as->permissions[0];
    ASSERT_STREQ(p->object, "/var/www/app");
    ASSERT_STREQ(p->pattern, "*.sh");
    ASSERT_EQ(p->n_except, 2);
    ASSERT_STREQ(p->except[0], "skip.sh");
    ASSERT_STREQ(p->except[1], "tmp*");
    ASSERT_STREQ(p->owner, "www-data");
    ASSERT_STREQ(p->group, "www-data");
    ASSERT_TRUE(p->has_mode);
    ASSERT_EQ(p->mode, 0750);
    ASSERT_EQ(p->type, APPSPEC_TYPE_FILE);
    ASSERT_EQ(p->n_acls, 0);
    ASSERT_NULL(p->context);
    ASSERT_EQ(p->line, 11);

    p = &as->permissions[1];
    ASSERT_STREQ(p->pattern, "**");
    ASSERT_EQ(p->n_except, 0);
    ASSERT_NULL(p->owner);
    ASSERT_FALSE(p->has_mode);
    ASSERT_NULL(p->mode_text);
    ASSERT_EQ(p->type, APPSPEC_TYPE_DIRECTORY);
    ASSERT_EQ(p->n_acls, 4);
    ASSERT_TRUE(p->acls_have_default);
    ASSERT_STREQ(p->acls[0].canonical, "default:user:bob:rwx");
    ASSERT_TRUE(p->acls[0].is_default);
    ASSERT_EQ(p->acls[0].tag, APPSPEC_ACL_USER);
    ASSERT_STREQ(p->acls[0].name, "bob");
    ASSERT_EQ(p->acls[0].perms, 7);
    ASSERT_STREQ(p->acls[1].canonical, "mask::---");
    ASSERT_STREQ(p->acls[2].canonical, "user:mask:rw-");
    ASSERT_STREQ(p->acls[3].canonical, "group:staff:r-x");
    ASSERT_NOT_NULL(p->context);
    ASSERT_STREQ(p->context->user, "system_u");
    ASSERT_STREQ(p->context->type, "httpd_sys_content_t");
    ASSERT_STREQ(p->context->range, "s0:c0.c2");
    appspec_free(as);
}

TEST(appspec_full_fixture_hooks_R141_R142)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/full.yml");
    /* NullEvent is dropped; EmptyEvent is present with no scripts. */
    ASSERT_EQ(as->n_events, 11);
    ASSERT_NULL(appspec_event_find(as, "NullEvent"));
    const struct appspec_event *empty = appspec_event_find(as, "EmptyEvent");
    ASSERT_NOT_NULL(empty);
    ASSERT_EQ(empty->n_scripts, 0);

    size_t n;
    const struct appspec_script *s = appspec_hooks_for(as, "ApplicationStop", &n);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(s[0].location, "scripts/stop.sh");
    ASSERT_EQ(s[0].timeout_s, 60);
    ASSERT_STREQ(s[0].runas, "root");
    ASSERT_FALSE(s[0].sudo);

    s = appspec_hooks_for(as, "BeforeInstall", &n);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(s[0].location, "/scripts/before.sh");
    ASSERT_STREQ(s[0].location_rel, "scripts/before.sh");
    ASSERT_EQ(s[0].timeout_s, APPSPEC_DEFAULT_TIMEOUT_S);
    ASSERT_NULL(s[0].runas);

    s = appspec_hooks_for(as, "AfterInstall", &n);
    ASSERT_EQ(n, 2);
    ASSERT_STREQ(s[0].location, "scripts/after1.sh");
    ASSERT_EQ(s[0].timeout_s, 30); /* "30" -> 30 */
    ASSERT_EQ(s[1].timeout_s, 12); /* float truncated */
    ASSERT_TRUE(s[1].sudo);
    ASSERT_EQ(s[1].line, 40);

    s = appspec_hooks_for(as, "ApplicationStart", &n);
    ASSERT_STREQ(s[0].runas, "deploy"); /* stripped */
    s = appspec_hooks_for(as, "ValidateService", &n);
    ASSERT_FALSE(s[0].sudo); /* sudo: no */

    const char *events[] = {"BeforeBlockTraffic", "AfterBlockTraffic", "BeforeAllowTraffic",
                            "AfterAllowTraffic", "CustomEvent"};
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        s = appspec_hooks_for(as, events[i], &n);
        ASSERT_EQ(n, 1);
        ASSERT_NOT_NULL(s);
    }
    s = appspec_hooks_for(as, "Install", &n);
    ASSERT_NULL(s);
    ASSERT_EQ(n, 0);
    s = appspec_hooks_for(as, "EmptyEvent", &n);
    ASSERT_EQ(n, 0);
    appspec_free(as);
}

/* ---- section 10.2 / 10.3 ---- */

TEST(appspec_yaml_typing_octal_keeps_text_C268_R132)
{
    struct yaml11_scalar s;
    yaml11_scalar_type("0644", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_EQ(s.i, 420);
    ASSERT_TRUE(s.octal);
    ASSERT_STREQ(s.text, "0644");
    ASSERT_FALSE(s.quoted);

    yaml11_scalar_type("0644", false, NULL, &s);
    ASSERT_EQ(s.type, YAML11_STR);
    ASSERT_TRUE(s.quoted);

    yaml11_scalar_type("0.0", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_FLOAT);
    ASSERT_TRUE(s.f == 0.0);
    yaml11_scalar_type("0.", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_FLOAT);
    yaml11_scalar_type("1.5e+3", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_FLOAT);
    ASSERT_TRUE(s.f == 1500.0);
    yaml11_scalar_type("-.inf", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_FLOAT);
    ASSERT_TRUE(isinf(s.f) && s.f < 0);

    yaml11_scalar_type("0x1F", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_EQ(s.i, 31);
    yaml11_scalar_type("0b101", true, NULL, &s);
    ASSERT_EQ(s.i, 5);
    yaml11_scalar_type("1_000", true, NULL, &s);
    ASSERT_EQ(s.i, 1000);
    yaml11_scalar_type("1:30", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_EQ(s.i, 90);
    yaml11_scalar_type("0:01:05", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_EQ(s.i, 65);
    yaml11_scalar_type("1:2:3:4", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_STR);
    yaml11_scalar_type("1:60", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_STR);
    yaml11_scalar_type("-12", true, NULL, &s);
    ASSERT_EQ(s.i, -12);
    yaml11_scalar_type("99999999999999999999999", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_TRUE(s.big);
    yaml11_scalar_type("0799", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_STR);
    yaml11_scalar_type("12a", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_STR);

    const char *trues[] = {"true", "True", "yes", "ON"};
    for (size_t i = 0; i < 4; i++) {
        yaml11_scalar_type(trues[i], true, NULL, &s);
        ASSERT_EQ(s.type, YAML11_BOOL);
        ASSERT_TRUE(s.b);
    }
    yaml11_scalar_type("off", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_BOOL);
    ASSERT_FALSE(s.b);
    const char *nulls[] = {"", "~", "null", "NULL"};
    for (size_t i = 0; i < 4; i++) {
        yaml11_scalar_type(nulls[i], true, NULL, &s);
        ASSERT_EQ(s.type, YAML11_NULL);
    }
    yaml11_scalar_type("0644", true, "tag:yaml.org,2002:str", &s);
    ASSERT_EQ(s.type, YAML11_STR);
    yaml11_scalar_type("5", false, "tag:yaml.org,2002:int", &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_EQ(s.i, 5);
}

TEST(appspec_empty_documents_C141_R133)
{
    const char *texts[] = {"", "   \n\n", "# only\n", "---\n", "--- ~\n", "~\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        ASSERT_REJECTS(texts[i], ERR_APPSPEC,
                       "The deployment failed because the application specification file was "
                       "empty. Make sure your AppSpec file defines at minimum the 'version' and "
                       "'os' properties.");
}

TEST(appspec_yaml_syntax_error_names_line_and_column_R133)
{
    ASSERT_REJECTS("version: 0.0\nos: [linux\n", ERR_APPSPEC,
                   "appspec.yml line 3 column 1: invalid YAML: ");
    ASSERT_REJECTS("\"version\n", ERR_APPSPEC, "invalid YAML: found unexpected end of stream");
    ASSERT_REJECTS("- a\n- b\n", ERR_APPSPEC, "appspec.yml line 1: the AppSpec must be a mapping");
    ASSERT_REJECTS("just text\n", ERR_APPSPEC, "must be a mapping with 'version', 'os'");
}

TEST(appspec_version_values_C142_R135)
{
    const char *ok[] = {"version: 0.0\n",      "version: 0\n",    "version: \"0.0\"\n",
                        "version: '0.0'\n",    "version: 0.00\n", "version: 0.\n",
                        "version: !!str 0.0\n"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        AUTOFREE char *t = xasprintf("%sos: linux\n", ok[i]);
        appspec_free(parse_ok(t));
    }
#define VMSG(v)                                                                                    \
    "The deployment failed because an invalid version value (" v ") was entered in the "           \
    "application specification file. Make sure your AppSpec file specifies \"0.0\" as the "        \
    "version, and then try again."
    ASSERT_REJECTS("version: invalid\nos: linux\n", ERR_APPSPEC, VMSG("invalid"));
    ASSERT_REJECTS("os: linux\n", ERR_APPSPEC, VMSG(""));
    ASSERT_REJECTS("version:\nos: linux\n", ERR_APPSPEC, VMSG(""));
    ASSERT_REJECTS("version: \"0\"\nos: linux\n", ERR_APPSPEC, "invalid version value (0)");
    ASSERT_REJECTS("version: 0.1\nos: linux\n", ERR_APPSPEC, "invalid version value (0.1)");
    ASSERT_REJECTS("version: [0.0]\nos: linux\n", ERR_APPSPEC, "invalid version value ([0.0])");
}

TEST(appspec_os_values_C143_R136)
{
#define OSMSG(v)                                                                                   \
    "The deployment failed because the application specification file specifies an unsupported "   \
    "operating system (" v "). Specify either \"linux\" or \"windows\" in the os section of the "  \
    "AppSpec file, and then try again."
    ASSERT_REJECTS("version: 0.0\nos: windows\n", ERR_APPSPEC, OSMSG("windows"));
    ASSERT_REJECTS("version: 0.0\nos: unsupported\n", ERR_APPSPEC, OSMSG("unsupported"));
    ASSERT_REJECTS("version: 0.0\n", ERR_APPSPEC, OSMSG(""));
    ASSERT_REJECTS("version: 0.0\nos: Linux\n", ERR_APPSPEC, "operating system (Linux)");
    appspec_free(parse_ok("version: 0.0\nos: 'linux'\n"));
}

TEST(appspec_file_exists_behavior_C144_R137)
{
    ASSERT_REJECTS(HDR "file_exists_behavior: invalid\n", ERR_APPSPEC,
                   "The deployment failed because an invalid file_exists_behavior value (invalid) "
                   "was entered in the application specification file. Make sure your AppSpec "
                   "file specifies one of DISALLOW,OVERWRITE,RETAIN as the file_exists_behavior, "
                   "and then try again.");
    ASSERT_REJECTS(HDR "file_exists_behavior: Retain\n", ERR_APPSPEC, "value (Retain)");
    const char *vals[] = {"DISALLOW", "OVERWRITE", "RETAIN"};
    enum appspec_file_exists want[] = {APPSPEC_FEB_DISALLOW, APPSPEC_FEB_OVERWRITE,
                                       APPSPEC_FEB_RETAIN};
    for (size_t i = 0; i < 3; i++) {
        AUTOFREE char *t = xasprintf(HDR "file_exists_behavior: %s\n", vals[i]);
        struct appspec *as = parse_ok(t);
        ASSERT_EQ(as->file_exists_behavior, want[i]);
        appspec_free(as);
    }
    struct appspec *as = parse_ok(HDR);
    ASSERT_EQ(as->file_exists_behavior, APPSPEC_FEB_UNSET);
    appspec_free(as);
    as = parse_ok(HDR "file_exists_behavior:\n");
    ASSERT_EQ(as->file_exists_behavior, APPSPEC_FEB_UNSET);
    appspec_free(as);
}

TEST(appspec_ecs_style_fails_on_os_C145_R134)
{
    ASSERT_REJECTS("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n"
                   "Hooks:\n  - BeforeInstall: fn\n",
                   ERR_APPSPEC, "unsupported operating system ()");
    /* Unknown keys, capitalised Hooks included, are ignored. */
    struct appspec *as = parse_ok(HDR "Hooks:\n  - BeforeInstall: fn\nresources: []\nextra: 1\n");
    ASSERT_EQ(as->n_events, 0);
    appspec_free(as);
}

TEST(appspec_validation_order_C267_R138)
{
    ASSERT_REJECTS("version: 9\nos: windows\n", ERR_APPSPEC, "invalid version value (9)");
    ASSERT_REJECTS("os: windows\nversion: 9\n", ERR_APPSPEC, "invalid version value (9)");
    /* os before hooks, even when hooks come first in the file. */
    ASSERT_REJECTS("hooks:\n  A:\n    - timeout: 1\nversion: 0.0\nos: windows\n", ERR_APPSPEC,
                   "unsupported operating system (windows)");
    /* hooks before files before permissions before file_exists_behavior. */
    ASSERT_REJECTS(HDR "file_exists_behavior: x\npermissions:\n  - owner: a\nfiles:\n"
                       "  - source: a\nhooks:\n  A:\n    - timeout: 1\n",
                   ERR_APPSPEC, "no location value");
    ASSERT_REJECTS(HDR "file_exists_behavior: x\npermissions:\n  - owner: a\nfiles:\n"
                       "  - source: a\n",
                   ERR_APPSPEC, "only a source file (a)");
    ASSERT_REJECTS(HDR "file_exists_behavior: x\npermissions:\n  - owner: a\n", ERR_APPSPEC,
                   "no object value");
}

/* ---- files (10.4) ---- */

TEST(appspec_files_messages_C146_R139)
{
    ASSERT_REJECTS(HDR "files:\n  - source: app\n", ERR_APPSPEC,
                   "appspec.yml line 4: The deployment failed because the application "
                   "specification file specifies only a source file (app). Add the name of the "
                   "destination file to the files section of the AppSpec file, and then try "
                   "again.");
    ASSERT_REJECTS(HDR "files:\n  - destination: /srv\n", ERR_APPSPEC,
                   "The deployment failed because the application specification file specifies a "
                   "destination file, but no source file. Update the files section of the AppSpec "
                   "file, and then try again.");
    ASSERT_REJECTS(HDR "files:\n  - source: ~\n    destination: /x\n", ERR_APPSPEC,
                   "but no source file");
    ASSERT_REJECTS(HDR "files: app\n", ERR_APPSPEC, "'files' must be a list");
    ASSERT_REJECTS(HDR "files:\n  - [a, b]\n", ERR_APPSPEC, "got a list");
    ASSERT_REJECTS(HDR "files:\n  - source: [a]\n    destination: /x\n", ERR_APPSPEC,
                   "files 'source' must be a string, got a list");
    struct appspec *as = parse_ok(HDR "files:\n");
    ASSERT_EQ(as->n_files, 0);
    appspec_free(as);
}

TEST(appspec_files_source_forms_R140)
{
    struct appspec *as = parse_ok(HDR "files:\n  - source: ./\n    destination: /a\n"
                                      "  - source: /lib/../bin//x\n    destination: /b/\n"
                                      "  - source: a/./b/..\n    destination: /c\n");
    ASSERT_STREQ(as->files[0].source_rel, "");
    ASSERT_STREQ(as->files[1].source, "/lib/../bin//x");
    ASSERT_STREQ(as->files[1].source_rel, "bin/x");
    ASSERT_STREQ(as->files[1].destination, "/b/");
    ASSERT_STREQ(as->files[2].source_rel, "a");
    ASSERT_EQ(as->n_warnings, 0);
    appspec_free(as);
}

TEST(appspec_relative_destination_warns_C261_R140)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/relative_dest.yml");
    ASSERT_STREQ(as->files[0].destination, "/var/app");
    ASSERT_EQ(as->n_warnings, 1);
    ASSERT_STREQ(as->warnings[0], "relative_dest.yml line 5: files destination 'var/app' is not "
                                  "an absolute path; installing to '/var/app'");
    appspec_free(as);
}

TEST(appspec_paths_climbing_out_are_rejected_C140_R131)
{
    ASSERT_REJECTS(HDR "hooks:\n  ApplicationStop:\n    - location: ../../etc/x\n", ERR_APPSPEC,
                   "appspec.yml line 5: AppSpec path ../../etc/x resolves outside the revision "
                   "directory");
    ASSERT_REJECTS(HDR "files:\n  - source: ../x\n    destination: /srv\n", ERR_APPSPEC,
                   "appspec.yml line 4: AppSpec path ../x resolves outside the revision directory");
    ASSERT_REJECTS(HDR "files:\n  - source: a/../../x\n    destination: /srv\n", ERR_APPSPEC,
                   "AppSpec path a/../../x resolves");
    ASSERT_REJECTS(HDR "hooks:\n  A:\n    - location: /..\n", ERR_APPSPEC, "AppSpec path /.. ");
    /* Staying inside is fine, also through "..". */
    struct appspec *as = parse_ok(HDR "hooks:\n  A:\n    - location: a/../b.sh\n");
    size_t n;
    ASSERT_STREQ(appspec_hooks_for(as, "A", &n)[0].location_rel, "b.sh");
    appspec_free(as);
}

/* ---- hooks (10.5) ---- */

TEST(appspec_hooks_null_and_location_C147_R141_R142)
{
    struct appspec *as = parse_ok(HDR "hooks:\n  ApplicationStop:\n  AfterInstall:\n"
                                      "    - location: a.sh\n");
    ASSERT_EQ(as->n_events, 1);
    size_t n = 99;
    ASSERT_NULL(appspec_hooks_for(as, "ApplicationStop", &n));
    ASSERT_EQ(n, 0);
    appspec_free(as);
    as = parse_ok(HDR "hooks:\n");
    ASSERT_EQ(as->n_events, 0);
    appspec_free(as);
    ASSERT_REJECTS(HDR "hooks:\n  AfterInstall:\n    - timeout: 30\n", ERR_APPSPEC,
                   "The deployment failed because the application specification file specifies a "
                   "script with no location value. Specify the location in the hooks section of "
                   "the AppSpec file, and then try again.");
    ASSERT_REJECTS(HDR "hooks:\n  AfterInstall:\n    - location: ''\n", ERR_APPSPEC,
                   "no location value");
    ASSERT_REJECTS(HDR "hooks:\n  - BeforeInstall: fn\n", ERR_APPSPEC, "'hooks' must be a mapping");
    ASSERT_REJECTS(HDR "hooks:\n  AfterInstall: a.sh\n", ERR_APPSPEC,
                   "hook 'AfterInstall' must be a list of scripts");
    ASSERT_REJECTS(HDR "hooks:\n  AfterInstall:\n    - a.sh\n", ERR_APPSPEC,
                   "script of hook 'AfterInstall' must be a mapping");
    ASSERT_REJECTS(HDR "hooks:\n  AfterInstall:\n    - location: {a: b}\n", ERR_APPSPEC,
                   "hook 'AfterInstall' script 'location' must be a string");
}

TEST(appspec_hooks_location_and_runas_are_stripped_R142)
{
    struct appspec *as = parse_ok(HDR "hooks:\n  A:\n    - location: '  s/a.sh  '\n"
                                      "      runas: ' bob '\n    - location: b.sh\n"
                                      "      runas: ''\n      other: ignored\n");
    size_t n;
    const struct appspec_script *s = appspec_hooks_for(as, "A", &n);
    ASSERT_EQ(n, 2);
    ASSERT_STREQ(s[0].location, "s/a.sh");
    ASSERT_STREQ(s[0].runas, "bob");
    ASSERT_NULL(s[1].runas);
    appspec_free(as);
}

TEST(appspec_timeouts_C148_R142)
{
    struct appspec *as = parse_ok(HDR "hooks:\n  A:\n    - location: a\n    - location: b\n"
                                      "      timeout: \"30\"\n    - location: c\n      timeout: 7\n"
                                      "    - location: d\n      timeout: 99999999999999\n"
                                      "    - location: e\n      timeout: ~\n");
    size_t n;
    const struct appspec_script *s = appspec_hooks_for(as, "A", &n);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(s[0].timeout_s, 3600);
    ASSERT_EQ(s[1].timeout_s, 30);
    ASSERT_EQ(s[2].timeout_s, 7);
    ASSERT_EQ(s[3].timeout_s, APPSPEC_TIMEOUT_CLAMP_S); /* no maximum */
    ASSERT_EQ(s[4].timeout_s, 3600);
    appspec_free(as);
    const char *bad[] = {"foo", "0", "-1", "'0'", "'abc'", "[1]", "false", "'30s'"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        AUTOFREE char *t =
            xasprintf(HDR "hooks:\n  A:\n    - location: a\n      timeout: %s\n", bad[i]);
        ASSERT_REJECTS(t, ERR_APPSPEC,
                       "appspec.yml line 6: The deployment failed because an invalid timeout value "
                       "was provided for a script in the application specification file. Make "
                       "corrections in the hooks section of the AppSpec file, and then try again.");
    }
}

TEST(appspec_timeout_sum_warns_C269_R143)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/big_timeouts.yml");
    ASSERT_EQ(as->n_warnings, 1);
    ASSERT_CONTAINS(as->warnings[0], "big_timeouts.yml line 4: the scripts of hook 'AfterInstall' "
                                     "have timeouts adding up to 4000 s");
    appspec_free(as);
    as = parse_ok(HDR "hooks:\n  A:\n    - location: a\n");
    ASSERT_EQ(as->n_warnings, 0);
    appspec_free(as);
}

TEST(appspec_sudo_is_ruby_truthiness_R142)
{
    struct appspec *as = parse_ok(HDR "hooks:\n  A:\n    - location: a\n      sudo: true\n"
                                      "    - location: b\n      sudo: false\n"
                                      "    - location: c\n      sudo: ~\n"
                                      "    - location: d\n      sudo: 'false'\n"
                                      "    - location: e\n      sudo: 0\n"
                                      "    - location: f\n");
    size_t n;
    const struct appspec_script *s = appspec_hooks_for(as, "A", &n);
    ASSERT_EQ(n, 6);
    ASSERT_TRUE(s[0].sudo);
    ASSERT_FALSE(s[1].sudo);
    ASSERT_FALSE(s[2].sudo);
    ASSERT_TRUE(s[3].sudo); /* a string is truthy in Ruby */
    ASSERT_TRUE(s[4].sudo); /* so is 0 */
    ASSERT_FALSE(s[5].sudo);
    appspec_free(as);
}

TEST(appspec_duplicate_keys_last_wins)
{
    struct appspec *as = parse_ok(HDR "hooks:\n  A:\n    - location: first\n  A:\n"
                                      "    - location: second\n  B:\n    - location: b\n"
                                      "  B:\nos: linux\n");
    ASSERT_EQ(as->n_events, 1);
    size_t n;
    ASSERT_STREQ(appspec_hooks_for(as, "A", &n)[0].location, "second");
    ASSERT_NULL(appspec_event_find(as, "B"));
    appspec_free(as);
}

TEST(appspec_unknown_hook_did_you_mean_C149_R144)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/typo_hook.yml");
    ASSERT_TRUE(has_warning(as, "typo_hook.yml line 7: unknown hook 'BeforInstall'; did you mean "
                                "'BeforeInstall'?"));
    struct err e = ERR_INIT;
    ASSERT_FAIL(
        appspec_check_events(as, appspec_default_events, APPSPEC_N_DEFAULT_EVENTS, NULL, 0, &e));
    ASSERT_EQ(e.code, ERR_APPSPEC);
    ASSERT_STREQ(e.msg, "typo_hook.yml file contains unknown lifecycle events: [\"BeforInstall\"] "
                        "(typo_hook.yml line 7: unknown hook 'BeforInstall'; did you mean "
                        "'BeforeInstall'?)");
    appspec_free(as);

    as = parse_ok(HDR "hooks:\n  Foo:\n    - location: a\n  Bar:\n    - location: b\n");
    err_clear(&e);
    ASSERT_FAIL(
        appspec_check_events(as, appspec_default_events, APPSPEC_N_DEFAULT_EVENTS, NULL, 0, &e));
    ASSERT_STREQ(e.msg, "appspec.yml file contains unknown lifecycle events: [\"Foo\", \"Bar\"] "
                        "(appspec.yml line 4: unknown hook 'Foo')");
    /* Mapping names outside the list count too. */
    appspec_free(as);
    as = parse_ok(HDR);
    const char *mapping[] = {"ApplicationStart", "Extra"};
    err_clear(&e);
    ASSERT_FAIL(
        appspec_check_events(as, appspec_default_events, APPSPEC_N_DEFAULT_EVENTS, mapping, 2, &e));
    ASSERT_STREQ(e.msg, "appspec.yml file contains unknown lifecycle events: [\"Extra\"]");
    ASSERT_OK(appspec_check_events(as, appspec_default_events, APPSPEC_N_DEFAULT_EVENTS, mapping, 1,
                                   NULL));
    appspec_free(as);
}

TEST(appspec_custom_event_must_exist_C150_R144)
{
    const char *all[13];
    for (size_t i = 0; i < APPSPEC_N_DEFAULT_EVENTS; i++)
        all[i] = appspec_default_events[i];
    all[11] = "CustomEvent";
    all[12] = "Other";
    struct appspec *as = load_fixture("tests/data/appspec/good/full.yml");
    struct err e = ERR_INIT;
    /* full.yml has CustomEvent and EmptyEvent; EmptyEvent is unknown here. */
    ASSERT_FAIL(appspec_check_events(as, all, 12, NULL, 0, &e));
    ASSERT_CONTAINS(e.msg, "full.yml file contains unknown lifecycle events: [\"EmptyEvent\"]");
    appspec_free(as);

    as = parse_ok(HDR "hooks:\n  CustomEvent:\n    - location: c.sh\n");
    ASSERT_OK(appspec_check_events(as, all, 12, NULL, 0, NULL));
    err_clear(&e);
    ASSERT_FAIL(appspec_check_events(as, all, 13, NULL, 0, &e));
    ASSERT_STREQ(e.msg, "You specified a lifecycle event which is not a default one and doesn't "
                        "exist in your appspec.yml file: Other");
    appspec_free(as);
    as = parse_ok(HDR "hooks:\n  CustomEvent:\n");
    err_clear(&e);
    ASSERT_FAIL(appspec_check_events(as, all, 12, NULL, 0, &e));
    ASSERT_CONTAINS(e.msg, "file: CustomEvent");
    appspec_free(as);
}

TEST(appspec_event_helpers)
{
    ASSERT_TRUE(appspec_event_is_default("DownloadBundle"));
    ASSERT_TRUE(appspec_event_is_default("AfterAllowTraffic"));
    ASSERT_FALSE(appspec_event_is_default("BlockTraffic"));
    ASSERT_FALSE(appspec_event_is_default("applicationstart"));
    ASSERT_STREQ(appspec_event_suggest("BeforInstall", NULL, 0), "BeforeInstall");
    ASSERT_STREQ(appspec_event_suggest("applicationstart", NULL, 0), "ApplicationStart");
    ASSERT_STREQ(appspec_event_suggest("ValidateSerivce", NULL, 0), "ValidateService");
    ASSERT_STREQ(appspec_event_suggest("AfterInstal", NULL, 0), "AfterInstall");
    ASSERT_NULL(appspec_event_suggest("HealthCheck", NULL, 0));
    ASSERT_NULL(appspec_event_suggest("AfterInstall", NULL, 0));
    const char *custom[] = {"Deploy", "Warmup"};
    ASSERT_STREQ(appspec_event_suggest("Warmpu", custom, 2), "Warmup");
    ASSERT_EQ(appspec_edit_distance("kitten", "sitting"), 3);
    ASSERT_EQ(appspec_edit_distance("ab", "ba"), 1);
    ASSERT_EQ(appspec_edit_distance("", "abc"), 3);
    ASSERT_EQ(appspec_edit_distance("ABC", "abc"), 0);
}

/* ---- permissions (10.6) ---- */

TEST(appspec_permission_object_and_type_C151_R145)
{
    ASSERT_REJECTS(HDR "permissions:\n  - owner: root\n", ERR_APPSPEC,
                   "The deployment failed because a permission listed in the application "
                   "specification file has no object value. Update the permissions section of the "
                   "AppSpec file, and then try again.");
    ASSERT_REJECTS(HDR "permissions:\n  - object: '  '\n", ERR_APPSPEC, "no object value");
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    type: [file, socket]\n", ERR_APPSPEC,
                   "The deployment failed because the application specification filespecifies a "
                   "permission for an object type not supported for permissions (socket). Update "
                   "the permissions section of the AppSpec file, and then try again.");
    struct appspec *as = parse_ok(HDR "permissions:\n  - object: ' /a '\n    type: file\n"
                                      "  - object: /b\n    type: []\n    except: one\n");
    ASSERT_STREQ(as->permissions[0].object, "/a");
    ASSERT_EQ(as->permissions[0].type, APPSPEC_TYPE_FILE);
    ASSERT_EQ(as->permissions[1].type, 0);
    ASSERT_EQ(as->permissions[1].n_except, 1);
    ASSERT_STREQ(as->permissions[1].except[0], "one");
    appspec_free(as);
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    except: {a: b}\n", ERR_APPSPEC,
                   "permissions 'except' must be a list, got a mapping");
    ASSERT_REJECTS(HDR "permissions:\n  - /a\n", ERR_APPSPEC,
                   "'permissions' entry must be a mapping");
}

TEST(appspec_mode_rules_C152_R146)
{
    struct appspec *as = parse_ok(HDR "permissions:\n  - object: /a\n    mode: 12\n"
                                      "  - object: /b\n    mode: '7'\n  - object: /c\n"
                                      "    mode: 4755\n");
    ASSERT_EQ(as->permissions[0].mode, 012);
    ASSERT_STREQ(as->permissions[0].mode_text, "012");
    ASSERT_EQ(as->permissions[1].mode, 07);
    ASSERT_STREQ(as->permissions[1].mode_text, "007");
    ASSERT_EQ(as->permissions[2].mode, 04755);
    ASSERT_EQ(as->n_warnings, 0);
    appspec_free(as);
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    mode: 12345\n", ERR_APPSPEC,
                   "the length of a permissions mode (12345) in the application specification file "
                   "is invalid. Permissions modes must be between one and four characters long.");
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    mode: 12a\n", ERR_APPSPEC,
                   "the permissions mode (12a) in the application specification file contains an "
                   "invalid character (a).");
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    mode: 8\n", ERR_APPSPEC,
                   "permissions mode (008) in the application specification file contains an "
                   "invalid character (8)");
    /* 0x1ff is the integer 511 to Psych, rendered "511". */
    as = parse_ok(HDR "permissions:\n  - object: /a\n    mode: 0x1ff\n");
    ASSERT_EQ(as->permissions[0].mode, 0511);
    appspec_free(as);
}

TEST(appspec_unquoted_octal_mode_keeps_text_C153_R146_R229)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/modes.yml");
    ASSERT_EQ(as->n_permissions, 6);
    ASSERT_EQ(as->permissions[0].mode, 0644); /* not 0420 */
    ASSERT_STREQ(as->permissions[0].mode_text, "0644");
    ASSERT_EQ(as->permissions[1].mode, 0644);
    ASSERT_EQ(as->permissions[2].mode, 0644);
    ASSERT_EQ(as->permissions[3].mode, 012);
    ASSERT_EQ(as->permissions[4].mode, 04755);
    ASSERT_EQ(as->permissions[5].mode, 0755); /* Ruby: 493 -> invalid character (9) */
    ASSERT_EQ(as->n_warnings, 2);
    ASSERT_STREQ(as->warnings[0], "modes.yml line 6: unquoted mode 0644 is read as octal 0644; "
                                  "the Ruby agent would have read it as decimal 420 (quote the "
                                  "mode to be portable)");
    ASSERT_CONTAINS(as->warnings[1], "modes.yml line 16: unquoted mode 0755");
    ASSERT_CONTAINS(as->warnings[1], "decimal 493");
    appspec_free(as);
}

TEST(appspec_acl_rendering_C154_R147)
{
    struct appspec *as = parse_ok(HDR "permissions:\n  - object: /a\n    acls:\n"
                                      "      - d:u:bob:7\n      - m:0\n      - u:mask:7\n"
                                      "      - default:group:staff:r-x\n      - d:m:rw\n"
                                      "      - 'g:admins:'\n      - bob:4\n      - d:o:x\n"
                                      "      - g:mask:1\n      - d::rw-\n");
    const struct appspec_permission *p = &as->permissions[0];
    const char *want[] = {
        "default:user:bob:rwx", "mask::---",        "user:mask:rwx", "default:group:staff:r-x",
        "default:mask::rw-",    "group:admins:---", "user:bob:r--",  "default:other::--x",
        "group:mask:--x",       "default:user::rw-"};
    ASSERT_EQ(p->n_acls, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < p->n_acls; i++)
        ASSERT_STREQ(p->acls[i].canonical, want[i]);
    ASSERT_EQ(p->acls[1].tag, APPSPEC_ACL_MASK);
    ASSERT_STREQ(p->acls[2].name, "mask");
    ASSERT_EQ(p->acls[2].tag, APPSPEC_ACL_USER);
    ASSERT_TRUE(p->acls_have_default);
    appspec_free(as);
    as = parse_ok(HDR "permissions:\n  - object: /a\n    acls: [u:bob:7]\n");
    ASSERT_FALSE(as->permissions[0].acls_have_default);
    appspec_free(as);
}

TEST(appspec_acl_rejections_C155_C156_R147)
{
    const char *base[] = {"u::7", "g::7", "o:7", "user::rwx"};
    for (size_t i = 0; i < 4; i++) {
        AUTOFREE char *t =
            xasprintf(HDR "permissions:\n  - object: /a\n    acls: ['%s']\n", base[i]);
        AUTOFREE char *m = xasprintf("The deployment failed because of a problem with the acls "
                                     "permission settings in the application specification file. "
                                     "Use mode to set the base acl entry (%s). Update the "
                                     "permissions section of the AppSpec file, and then try again.",
                                     base[i]);
        ASSERT_REJECTS(t, ERR_APPSPEC, m);
    }
    const char *invalid[] = {"7",       "d:u:bob:x:7", "x:u:bob:7", "d:d:bob:7",
                             "q:bob:7", "m:bob:7",     "d:o:bob:7"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        AUTOFREE char *t =
            xasprintf(HDR "permissions:\n  - object: /a\n    acls: ['%s']\n", invalid[i]);
        AUTOFREE char *m = xasprintf("The deployment failed because of a problem with the acls "
                                     "permission settings in the application specification file. "
                                     "Invalid acl entry (%s).",
                                     invalid[i]);
        ASSERT_REJECTS(t, ERR_APPSPEC, m);
    }
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    acls: ['user:bob:rwxd']\n", ERR_APPSPEC,
                   "The deployment failed because the access control list (ACL) named "
                   "user:bob:rwxd in the application specification file contains an invalid "
                   "character (d). Correct the ACL in the hooks section of the AppSpec file, and "
                   "then try again.");
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    acls: ['u:bob:8']\n", ERR_APPSPEC,
                   "invalid character (8)");
}

TEST(appspec_context_C157_C159_R148_R149)
{
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    context:\n      name: u\n", ERR_APPSPEC,
                   "The deployment failed because the application specification file specifies an "
                   "invalid context type ({name: u}). Update the permissions section of the "
                   "AppSpec file, and then try again.");
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    context: httpd_t\n", ERR_APPSPEC,
                   "invalid context type (httpd_t)");
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    context:\n      type: t\n"
                       "      range: s3-s2:c0\n",
                   ERR_APPSPEC,
                   "The deployment failed because of a problem with the SELinux range specified "
                   "(s3-s2:c0) for the context parameter in the permissions section of the "
                   "application specification file.");
    const char *bad[][2] = {
        {"s0:c0.c2,c1", "duplicate categories"}, {"s0:c1024", "invalid category c1024"},
        {"s0:c1,c1", "duplicate categories"},    {"t0", "invalid sensitivity t0"},
        {"s", "invalid sensitivity s"},          {"s1x", "invalid sensitivity s1x"},
        {"s0-", "invalid range part s0-"},       {"s0:c5.c2", "invalid category range c5.c2"},
        {"s0:,c1", "invalid category "},         {"s0:c1.c2.c3", "invalid category c2.c3"},
        {":c1", "invalid range part :c1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        AUTOFREE char *t = xasprintf(HDR "permissions:\n  - object: /a\n    context:\n"
                                         "      type: t\n      range: '%s'\n",
                                     bad[i][0]);
        AUTOFREE char *m = xasprintf("appspec.yml line 7: %s", bad[i][1]);
        ASSERT_REJECTS(t, ERR_APPSPEC, m);
    }
    /* C-159: user: is honoured when name: is absent; name: wins when both are there. */
    struct appspec *as = parse_ok(HDR "permissions:\n  - object: /a\n    context:\n"
                                      "      user: staff_u\n      type: t\n  - object: /b\n"
                                      "    context:\n      name: n_u\n      user: u_u\n"
                                      "      type: t\n");
    ASSERT_STREQ(as->permissions[0].context->user, "staff_u");
    ASSERT_NULL(as->permissions[0].context->range);
    ASSERT_STREQ(as->permissions[1].context->user, "n_u");
    appspec_free(as);
    ASSERT_REJECTS(HDR "permissions:\n  - object: /a\n    context:\n      type: t\n"
                       "      role: r\n",
                   ERR_APPSPEC, "specifies a role, but roles are not supported");
}

TEST(appspec_range_normalisation_C158_R149)
{
    const char *cases[][2] = {
        {"s3-s7:c5,c8.c10,c17", "s3-s7:c5,c8.c10,c17"},
        {"s0:c0,c1,c2", "s0:c0.c2"},
        {"s0", "s0"},
        {"s2-s2", "s2"},
        {"s0:c3,c1,c2,c9", "s0:c1.c3,c9"},
        {"s0:c0.c1023", "s0:c0.c1023"},
        {"s0:c1,", "s0:c1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        AUTOFREE char *t = xasprintf(HDR "permissions:\n  - object: /a\n    context:\n"
                                         "      type: t\n      range: '%s'\n",
                                     cases[i][0]);
        struct appspec *as = parse_ok(t);
        ASSERT_STREQ(as->permissions[0].context->range, cases[i][1]);
        appspec_free(as);
    }
}

/* ---- YAML features and limits ---- */

TEST(appspec_aliases_and_merge_keys)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/aliases.yml");
    size_t n;
    const struct appspec_script *s = appspec_hooks_for(as, "ApplicationStart", &n);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(s[0].location, "scripts/a.sh");
    ASSERT_EQ(s[0].timeout_s, 10);
    ASSERT_EQ(as->n_permissions, 2);
    ASSERT_STREQ(as->permissions[1].object, "/opt/b");
    ASSERT_STREQ(as->permissions[1].owner, "app");
    appspec_free(as);
}

TEST(appspec_json_document_R132)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/json.yml");
    size_t n;
    const struct appspec_script *s = appspec_hooks_for(as, "AfterInstall", &n);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(s[0].timeout_s, 5);
    appspec_free(as);
}

TEST(appspec_size_cap_is_err_limit)
{
    size_t len = APPSPEC_MAX_SIZE_BYTES + 1;
    AUTOFREE char *big = xmalloc(len);
    memset(big, '#', len);
    struct appspec *as = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(appspec_parse(big, len, "appspec.yml", &as, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_NULL(as);
    const char *path = test_write("appspec.yml", "");
    ASSERT_OK(write_file_atomic(path, big, len, 0644, NULL));
    err_clear(&e);
    ASSERT_FAIL(appspec_load(path, &as, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
}

TEST(appspec_first_document_crlf_and_bom_R132)
{
    /* Only the first document counts, as with Psych's YAML.load. */
    struct appspec *as = parse_ok("---\nversion: 0.0\nos: linux\n---\nthis: [is not parsed\n");
    appspec_free(as);
    as = parse_ok("\xef\xbb\xbfversion: 0.0\r\nos: linux\r\nhooks:\r\n  A:\r\n"
                  "    - location: a.sh\r\n");
    size_t n;
    ASSERT_STREQ(appspec_hooks_for(as, "A", &n)[0].location, "a.sh");
    ASSERT_EQ(appspec_hooks_for(as, "A", &n)[0].line, 5);
    appspec_free(as);
    ASSERT_REJECTS("version: 0.0\nos: linux\nhooks:\n\tA: []\n", ERR_APPSPEC,
                   "appspec.yml line 4 column 1: invalid YAML: found character that cannot start "
                   "any token");
}

TEST(appspec_embedded_nul_is_rejected)
{
    ASSERT_REJECTS(HDR "hooks:\n  A:\n    - location: \"ok.sh\\0../../x\"\n", ERR_APPSPEC,
                   "appspec.yml line 5: a value contains a NUL character");
}

TEST(appspec_text_need_not_be_nul_terminated)
{
    const char text[] = "version: 0.0\nos: linux\nhooks:\n  A:\n    - location: a.shXXXX";
    struct appspec *as = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(appspec_parse(text, sizeof(text) - 1 - 4, NULL, &as, &e));
    size_t n;
    ASSERT_STREQ(appspec_hooks_for(as, "A", &n)[0].location, "a.sh");
    ASSERT_STREQ(as->filename, "appspec.yml");
    appspec_free(as);
    appspec_free(NULL);
}

TEST(appspec_load_missing_file)
{
    struct appspec *as = NULL;
    struct err e = ERR_INIT;
    AUTOFREE char *p = path_join(test_tmpdir(), "nope.yml");
    ASSERT_FAIL(appspec_load(p, &as, &e));
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    ASSERT_NULL(as);
}

/* ---- locating (10.1) ---- */

static char *mkarchive(void)
{
    char *dir = path_join(test_tmpdir(), "deployment-archive");
    ASSERT_OK(mkdir_p(dir, 0755, NULL));
    return dir;
}

static void put(const char *dir, const char *name, const char *content)
{
    AUTOFREE char *p = path_join(dir, name);
    ASSERT_OK(write_file_atomic(p, content, strlen(content), 0644, NULL));
}

TEST(appspec_find_resolution_order_C137_C138_R128_R129)
{
    AUTOFREE char *dir = mkarchive();
    AUTOFREE char *p = NULL;
    struct err e = ERR_INIT;
    put(dir, "appspec.yml", HDR);
    ASSERT_OK(appspec_find(dir, NULL, &p, &e));
    AUTOFREE char *yml = path_join(dir, "appspec.yml");
    ASSERT_STREQ(p, yml);
    free(TAKE_PTR(p));
    put(dir, "appspec.yaml", HDR);
    ASSERT_OK(appspec_find(dir, "appspec.yml", &p, &e));
    ASSERT_STREQ(p, yml); /* the requested name exists: it wins */
    free(TAKE_PTR(p));
    ASSERT_OK(appspec_find(dir, "custom.yml", &p, &e));
    AUTOFREE char *yaml = path_join(dir, "appspec.yaml");
    ASSERT_STREQ(p, yaml); /* then appspec.yaml */
    free(TAKE_PTR(p));
    put(dir, "custom.yml", HDR);
    ASSERT_OK(appspec_find(dir, "custom.yml", &p, &e));
    ASSERT_CONTAINS(p, "/custom.yml");
    free(TAKE_PTR(p));
    AUTOFREE char *ymlpath = path_join(dir, "appspec.yml");
    ASSERT_EQ(unlink(ymlpath), 0);
    /* C-138: a revision with only appspec.yaml works with the default name. */
    ASSERT_OK(appspec_find(dir, NULL, &p, &e));
    ASSERT_STREQ(p, yaml);
    struct appspec *as = NULL;
    ASSERT_OK(appspec_load(p, &as, &e));
    ASSERT_STREQ(as->filename, "appspec.yaml");
    appspec_free(as);
}

TEST(appspec_find_missing_exact_message_C139_R130)
{
    AUTOFREE char *dir = mkarchive();
    AUTOFREE char *p = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(appspec_find(dir, NULL, &p, &e));
    ASSERT_NULL(p);
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    ASSERT_EQ(err_diag_code(&e), 5);
    AUTOFREE char *want = xasprintf(
        "The CodeDeploy agent did not find an AppSpec file within the unpacked revision directory "
        "at revision-relative path \"appspec.yml\". The revision was unpacked to directory "
        "\"%s\", and the AppSpec file was expected but not found at path \"%s/appspec.yml\". "
        "Consult the AWS CodeDeploy Appspec documentation for more information at "
        "http://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file.html",
        dir, dir);
    ASSERT_STREQ(e.msg, want);
    /* The whole message survives a realistic root dir path (R-130 is matched exactly). */
    AUTOFREE char *deep = path_join(test_tmpdir(), "opt/codedeploy-agent/deployment-root/"
                                                   "5e3a4b0c-1234-4c8e-9a7b-0123456789ab/"
                                                   "d-ABCDEFGHI/deployment-archive");
    ASSERT_OK(mkdir_p(deep, 0755, NULL));
    err_clear(&e);
    ASSERT_FAIL(appspec_find(deep, NULL, &p, &e));
    ASSERT_CONTAINS(e.msg, "reference-appspec-file.html");
    ASSERT_CONTAINS(e.msg, deep);
    /* A directory named appspec.yml is not an AppSpec. */
    AUTOFREE char *sub = path_join(dir, "appspec.yml");
    ASSERT_EQ(mkdir(sub, 0755), 0);
    err_clear(&e);
    ASSERT_FAIL(appspec_find(dir, "mine.yml", &p, &e));
    ASSERT_CONTAINS(e.msg, "revision-relative path \"mine.yml\"");
}

TEST(appspec_find_refuses_links_out_of_archive_R131)
{
    AUTOFREE char *dir = mkarchive();
    const char *outside = test_write("outside.yml", HDR);
    AUTOFREE char *link = path_join(dir, "appspec.yml");
    ASSERT_EQ(symlink(outside, link), 0);
    AUTOFREE char *p = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(appspec_find(dir, NULL, &p, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    ASSERT_STREQ(e.msg, "AppSpec path appspec.yml resolves outside the revision directory");
    err_clear(&e);
    ASSERT_FAIL(appspec_find(dir, "../outside.yml", &p, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    /* A link that stays inside is fine. */
    ASSERT_EQ(unlink(link), 0);
    put(dir, "real.yml", HDR);
    ASSERT_EQ(symlink("real.yml", link), 0);
    ASSERT_OK(appspec_find(dir, NULL, &p, NULL));
    ASSERT_STREQ(p, link);
}

TEST(appspec_path_in_archive_follows_links_R131)
{
    AUTOFREE char *dir = mkarchive();
    AUTOFREE char *scripts = path_join(dir, "scripts");
    ASSERT_OK(mkdir_p(scripts, 0755, NULL));
    put(dir, "scripts/a.sh", "#!/bin/sh\n");
    AUTOFREE char *evil = path_join(dir, "evil");
    ASSERT_EQ(symlink("/etc", evil), 0);
    AUTOFREE char *up = path_join(dir, "up");
    ASSERT_EQ(symlink("..", up), 0);
    AUTOFREE char *p = NULL;
    struct err e = ERR_INIT;

    ASSERT_OK(appspec_path_in_archive(dir, "/scripts/./a.sh", &p, &e));
    AUTOFREE char *want = path_join(dir, "scripts/a.sh");
    ASSERT_STREQ(p, want);
    free(TAKE_PTR(p));
    /* A missing file under an existing directory is fine (the hook reports it missing). */
    ASSERT_OK(appspec_path_in_archive(dir, "scripts/missing/b.sh", &p, &e));
    free(TAKE_PTR(p));
    ASSERT_OK(appspec_path_in_archive(dir, "/", &p, &e));
    ASSERT_STREQ(p, dir);
    free(TAKE_PTR(p));

    const char *bad[] = {"evil/passwd", "evil", "up/outside", "evil/nonexistent/x", "../x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        if (appspec_path_in_archive(dir, bad[i], &p, &e) == 0)
            FAILF("'%s' accepted as '%s'", bad[i], p);
        ASSERT_EQ(e.code, ERR_UNSAFE);
        AUTOFREE char *m =
            xasprintf("AppSpec path %s resolves outside the revision directory", bad[i]);
        ASSERT_STREQ(e.msg, m);
    }
    ASSERT_NULL(p);
}

/* ---- issue 17: tutorial mistakes, each with its exact message (hint after the spec text) ---- */

TEST(appspec_tutorial_fixtures_exact_messages_with_hints)
{
    AUTOFREE char *dir = xstrdup(test_src_path("tests/data/appspec/tutorial"));
    DIR *d = opendir(dir);
    ASSERT_NOT_NULL(d);
    int checked = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!str_has_suffix(de->d_name, ".yml"))
            continue;
        AUTOFREE char *expect = NULL;
        struct err e = ERR_INIT;
        if (!rejects(dir, de->d_name, &expect, &e))
            FAILF("%s: parsed, expected a rejection (or no .expect)", de->d_name);
        expect[strcspn(expect, "\n")] = '\0';
        if (strcmp(e.msg, expect) != 0)
            FAILF("%s:\n    got:  %s\n    want: %s", de->d_name, e.msg, expect);
        checked++;
    }
    closedir(d);
    ASSERT_EQ(checked, 10);
}

TEST(appspec_hint_comes_after_the_spec_message)
{
    struct err e = ERR_INIT;
    struct appspec *as = NULL;
    const char *t = "version: 0.0\nos: linux\nfiles:\n  -source: /\n   destination: /var/www\n";
    ASSERT_FAIL(appspec_parse(t, strlen(t), "appspec.yml", &as, &e));
    ASSERT_STREQ(e.msg,
                 "appspec.yml line 5 column 15: invalid YAML: mapping values are not allowed "
                 "in this context; hint: line 4 `  -source: /`: a list item needs `- ` with "
                 "a space: `- source: /`");
    /* appspec_parse_hinted keeps them apart for validate. */
    struct lint_hint h;
    int line = 0;
    struct err e2 = ERR_INIT;
    ASSERT_FAIL(appspec_parse_hinted(t, strlen(t), "appspec.yml", &as, &h, &line, &e2));
    ASSERT_STREQ(e2.msg,
                 "appspec.yml line 5 column 15: invalid YAML: mapping values are not allowed "
                 "in this context");
    ASSERT_EQ(line, 5);
    ASSERT_EQ(h.line, 4);
    ASSERT_STREQ(h.advice, "a list item needs `- ` with a space: `- source: /`");
}

static bool has_problem(const struct lint_report *r, enum lint_severity sev, int line,
                        const char *msg)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].severity == sev && r->v[i].line == line && strcmp(r->v[i].message, msg) == 0)
            return true;
    return false;
}

TEST(appspec_lint_keys_at_the_wrong_level)
{
    const char *t = "version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: a.sh\n"
                    "      runAs: root\n  files:\n    - source: /\nApplicationStart:\n"
                    "  - location: b.sh\nhook:\n  x: 1\ndestination: /var/www\nmystuff: 1\n";
    struct lint_report r = {0};
    appspec_lint(t, strlen(t), NULL, &r);
    ASSERT_TRUE(has_problem(&r, LINT_WARNING, 6,
                            "unknown key 'runAs' in a hook script is ignored; did you mean "
                            "'runas'?"));
    ASSERT_TRUE(has_problem(&r, LINT_ERROR, 7,
                            "'files' is nested inside 'hooks', so it is never read; it belongs at "
                            "the top level"));
    ASSERT_TRUE(has_problem(&r, LINT_ERROR, 9,
                            "lifecycle event 'ApplicationStart' is at the top level, so it never "
                            "runs"));
    ASSERT_TRUE(has_problem(&r, LINT_ERROR, 11,
                            "unknown top-level key 'hook' is ignored; did you mean 'hooks'?"));
    ASSERT_TRUE(has_problem(&r, LINT_ERROR, 13,
                            "'destination' is at the top level; it belongs to an item of the "
                            "'files' list"));
    ASSERT_TRUE(has_problem(&r, LINT_WARNING, 14, "unknown top-level key 'mystuff' is ignored"));
    ASSERT_EQ(r.n, 6);
    ASSERT_STREQ(r.v[2].quote, "ApplicationStart:");
    ASSERT_STREQ(r.v[2].fix, "indent it under `hooks:` (2 spaces more than `hooks:`)");
    lint_report_done(&r);
}

TEST(appspec_warning_kinds_for_validate)
{
    struct appspec *as = load_fixture("tests/data/appspec/good/typo_hook.yml");
    bool hook_name = false;
    for (size_t i = 0; i < as->n_warnings; i++)
        hook_name = hook_name || as->warning_kinds[i] == APPSPEC_WARN_HOOK_NAME;
    ASSERT_TRUE(hook_name);
    appspec_free(as);
    as = load_fixture("tests/data/appspec/good/big_timeouts.yml");
    bool timeout = false;
    for (size_t i = 0; i < as->n_warnings; i++)
        timeout = timeout ||
                  (as->warning_kinds[i] == APPSPEC_WARN_EVENT_TIMEOUT && as->warning_lines[i] > 0);
    ASSERT_TRUE(timeout);
    appspec_free(as);
}
