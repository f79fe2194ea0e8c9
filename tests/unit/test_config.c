/* Tests for config (spec section 2, R-017..R-024, R-003, R-048; v2-delta V-068..V-070). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse/config-internal.h"
#include "parse/config.h"
#include "test.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

#define FILE_NAME "codedeployagent.yml"

static int parse(const char *text, struct config *c, struct err *e)
{
    return config_parse(text, strlen(text), FILE_NAME, c, e);
}

/* Parse text that must fail; return the message (static). */
static const char *parse_fail(const char *text, int code)
{
    static struct err e;
    struct config c;
    err_clear(&e);
    memset(&c, 0x5a, sizeof(c));
    if (parse(text, &c, &e) == 0) {
        config_done(&c);
        FAILF("parse of '%s' succeeded, expected an error", text);
    }
    if (e.code != code)
        FAILF("parse of '%s': code %d (%s), expected %d", text, e.code, e.msg, code);
    /* Outputs are untouched on failure. */
    const unsigned char *p = (const unsigned char *)&c;
    for (size_t i = 0; i < sizeof(c); i++)
        if (p[i] != 0x5a)
            FAILF("parse of '%s' wrote *ret although it failed", text);
    return e.msg;
}

static bool has_warning(const struct config *c, const char *fragment)
{
    for (size_t i = 0; i < c->nwarnings; i++)
        if (strstr(c->warnings[i], fragment))
            return true;
    return false;
}

static void assert_defaults(const struct config *c)
{
    /* R-021 code defaults (C-021); directories: the shipped values, as v2 does (V-068). */
    ASSERT_STREQ(c->log_dir, "/var/log/aws/codedeploy-agent");
    ASSERT_STREQ(c->pid_dir, "/opt/codedeploy-agent/state/.pid");
    ASSERT_STREQ(c->root_dir, "/opt/codedeploy-agent/deployment-root");
    ASSERT_STREQ(c->program_name, "codedeploy-agent");
    ASSERT_STREQ(c->ongoing_deployment_tracking, "ongoing-deployment");
    ASSERT_STREQ(c->on_premises_config_file,
                 "/etc/codedeploy-agent/conf/codedeploy.onpremises.yml");
    ASSERT_FALSE(c->verbose);
    ASSERT_TRUE(c->enable_deployments_log);
    ASSERT_FALSE(c->log_aws_wire);
    ASSERT_EQ(c->wait_between_runs, 30);
    ASSERT_EQ(c->wait_after_error, 30);
    ASSERT_EQ(c->http_read_timeout, 80);
    ASSERT_EQ(c->kill_agent_max_wait_time_seconds, 7200);
    ASSERT_EQ(c->max_revisions, 5);
    ASSERT_EQ(c->wait_after_throttle_error, 60);
    ASSERT_EQ(c->wait_after_connection_problem, 5);
    ASSERT_NULL(c->proxy_uri);
    ASSERT_NULL(c->deploy_control_endpoint);
    ASSERT_NULL(c->s3_endpoint_override);
    ASSERT_FALSE(c->use_fips_mode);
    ASSERT_FALSE(c->enable_auth_policy);
    ASSERT_FALSE(c->disable_imds_v1);
    ASSERT_NULL(c->user);
    ASSERT_NULL(c->group);
    ASSERT_EQ(c->children, 1);
    ASSERT_EQ(c->max_runs_per_worker, 0);
    ASSERT_EQ(c->wait_between_spawning_children, 1);
    ASSERT_EQ(c->hook_output_grace_seconds, 5);
    ASSERT_FALSE(c->enable_progress_updates);
    ASSERT_EQ(c->max_bundle_extracted_bytes, 32ULL << 30);
    ASSERT_EQ(c->max_bundle_entries, 1000000);
    ASSERT_TRUE(c->enable_archive_reuse);
    ASSERT_TRUE(c->disable_core_dumps);
    ASSERT_EQ(c->archive_max_extraction_size, 0);
    ASSERT_FALSE(c->reject_symlinks_in_bundle);
    ASSERT_FALSE(c->reject_path_traversal_in_bundle);
    ASSERT_FALSE(c->reject_unsafe_permissions_in_bundle);
    ASSERT_FALSE(c->reject_unconfined_selinux_in_bundle);
    ASSERT_FALSE(c->reject_symlink_permission_targets);
    ASSERT_FALSE(c->ignore_ownership_in_bundle);
    ASSERT_FALSE(c->restrict_agent_dir_permissions);
    ASSERT_FALSE(c->restrict_log_dir_permissions);
    ASSERT_FALSE(c->restrict_hook_env_to_allowlist);
    ASSERT_FALSE(c->strip_loader_env_in_hooks);
    ASSERT_FALSE(c->enable_command_port);
}

TEST(config_R021_init_gives_defaults)
{
    struct config c;
    config_init(&c);
    assert_defaults(&c);
    ASSERT_STREQ(c.path, "");
    ASSERT_EQ(c.nwarnings, 0);
    ASSERT_NULL(c.warnings);
    config_done(&c);
    config_done(&c); /* twice is safe */
    config_done(NULL);
}

TEST(config_R021_empty_inputs_give_defaults)
{
    const char *empties[] = {"",
                             "\n\n",
                             "# only a comment\n",
                             "---\n",
                             "---\n# c\n...\n",
                             "~\n",
                             "\xef\xbb\xbf# UTF-8 BOM then a comment\n"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        struct config c;
        struct err e = ERR_INIT;
        if (parse(empties[i], &c, &e) < 0)
            FAILF("empty input %zu failed: %s", i, e.msg);
        assert_defaults(&c);
        ASSERT_STREQ(c.path, FILE_NAME);
        ASSERT_EQ(c.nwarnings, 0);
        config_done(&c);
    }
}

TEST(config_R021_shipped_ruby_file)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(config_load(test_src_path("tests/data/config/shipped-ruby.yml"), &c, &e));
    ASSERT_STREQ(c.log_dir, "/var/log/aws/codedeploy-agent"); /* R-023: trailing '/' dropped */
    ASSERT_STREQ(c.pid_dir, "/opt/codedeploy-agent/state/.pid");
    ASSERT_STREQ(c.root_dir, "/opt/codedeploy-agent/deployment-root");
    ASSERT_STREQ(c.program_name, "codedeploy-agent");
    ASSERT_EQ(c.wait_between_runs, 1);
    ASSERT_EQ(c.max_revisions, 5);
    ASSERT_NULL(c.proxy_uri); /* C-016: empty :proxy_uri: is not set */
    ASSERT_FALSE(c.verbose);
    ASSERT_FALSE(c.log_aws_wire);
    ASSERT_FALSE(c.disable_imds_v1);
    ASSERT_EQ(c.http_read_timeout, 80);
    ASSERT_EQ(c.nwarnings, 0);
    ASSERT_CONTAINS(c.path, "shipped-ruby.yml");
    config_done(&c);
}

TEST(config_R021_every_key_set)
{
    struct config c;
    struct err e = ERR_INIT;
    if (config_load(test_src_path("tests/data/config/all-keys.yml"), &c, &e) < 0)
        FAILF("%s", e.msg);
    for (size_t i = 0; i < c.nwarnings; i++)
        fprintf(stderr, "  unexpected warning: %s\n", c.warnings[i]);
    ASSERT_EQ(c.nwarnings, 0);
    ASSERT_STREQ(c.log_dir, "/srv/cd/log");
    ASSERT_STREQ(c.pid_dir, "/srv/cd/pid"); /* R-023: relative to "/" */
    ASSERT_STREQ(c.root_dir, "/srv/cd/root");
    ASSERT_STREQ(c.program_name, "my-agent");
    ASSERT_STREQ(c.ongoing_deployment_tracking, "in-flight");
    ASSERT_STREQ(c.on_premises_config_file, "/srv/cd/onprem.yml");
    ASSERT_TRUE(c.verbose);
    ASSERT_FALSE(c.enable_deployments_log);
    ASSERT_TRUE(c.log_aws_wire);
    ASSERT_EQ(c.wait_between_runs, 7);
    ASSERT_EQ(c.wait_after_error, 11);
    ASSERT_EQ(c.http_read_timeout, 95);
    ASSERT_EQ(c.kill_agent_max_wait_time_seconds, 600);
    ASSERT_EQ(c.wait_after_throttle_error, 61);
    ASSERT_EQ(c.wait_after_connection_problem, 6);
    ASSERT_EQ(c.max_revisions, 9);
    ASSERT_STREQ(c.proxy_uri, "http://user:pw@proxy.example:3128");
    ASSERT_STREQ(c.deploy_control_endpoint,
                 "https://vpce-1.codedeploy-commands.us-west-2.vpce.amazonaws.com");
    ASSERT_STREQ(c.s3_endpoint_override, "https://s3.example.test");
    ASSERT_TRUE(c.use_fips_mode);
    ASSERT_TRUE(c.enable_auth_policy);
    ASSERT_TRUE(c.disable_imds_v1);
    ASSERT_STREQ(c.user, "deployer");
    ASSERT_STREQ(c.group, "1001");
    ASSERT_EQ(c.children, 1);
    ASSERT_EQ(c.max_runs_per_worker, 3);
    ASSERT_EQ(c.wait_between_spawning_children, 2);
    ASSERT_EQ(c.hook_output_grace_seconds, -1);
    ASSERT_TRUE(c.enable_progress_updates);
    ASSERT_EQ(c.archive_max_extraction_size, 2000000000ULL);
    ASSERT_EQ(c.max_bundle_extracted_bytes, 2000000000ULL); /* the smaller of 10GiB and 2 GB */
    ASSERT_EQ(c.max_bundle_entries, 5000);
    ASSERT_FALSE(c.enable_archive_reuse);
    ASSERT_FALSE(c.disable_core_dumps);
    ASSERT_TRUE(c.reject_symlinks_in_bundle);
    ASSERT_TRUE(c.reject_path_traversal_in_bundle);
    ASSERT_TRUE(c.reject_unsafe_permissions_in_bundle);
    ASSERT_TRUE(c.reject_unconfined_selinux_in_bundle);
    ASSERT_TRUE(c.reject_symlink_permission_targets);
    ASSERT_TRUE(c.ignore_ownership_in_bundle);
    ASSERT_TRUE(c.restrict_agent_dir_permissions);
    ASSERT_TRUE(c.restrict_log_dir_permissions);
    ASSERT_TRUE(c.restrict_hook_env_to_allowlist);
    ASSERT_TRUE(c.strip_loader_env_in_hooks);
    ASSERT_FALSE(c.enable_command_port);
    config_done(&c);
}

TEST(config_R017_plain_keys_and_colon_keys)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(config_load(test_src_path("tests/data/config/plain-keys.yml"), &c, &e));
    ASSERT_STREQ(c.log_dir, "/var/log/cd");
    ASSERT_STREQ(c.root_dir, "/var/lib/cd");
    ASSERT_TRUE(c.verbose);
    ASSERT_EQ(c.max_revisions, 2);
    config_done(&c);

    ASSERT_OK(parse(":max_revisions: 4\nwait_between_runs: 2\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 4);
    ASSERT_EQ(c.wait_between_runs, 2);
    config_done(&c);
}

TEST(config_R018_repeated_key_last_wins)
{
    struct config c;
    struct err e = ERR_INIT;
    /* C-015, across both spellings of the key. */
    ASSERT_OK(parse(":max_revisions: 3\nverbose: true\nmax_revisions: 7\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 7);
    ASSERT_TRUE(has_warning(&c, FILE_NAME " line 3: key ':max_revisions:' repeats line 1"));
    config_done(&c);
    /* A repeated empty value means "not set": back to the default. */
    ASSERT_OK(parse(":max_revisions: 3\n:max_revisions:\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 5);
    config_done(&c);
    /* Only the last value is checked. */
    ASSERT_OK(parse(":max_revisions: five\n:max_revisions: 2\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 2);
    config_done(&c);
}

TEST(config_R018_booleans_yaml11)
{
    const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "tRuE"};
    const char *no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        struct config c;
        struct err e = ERR_INIT;
        AUTOFREE char *t =
            xasprintf(":verbose: %s\n:enable_deployments_log: %s\n", yes[i], no[i % 9]);
        ASSERT_OK(parse(t, &c, &e));
        ASSERT_TRUE(c.verbose);
        ASSERT_FALSE(c.enable_deployments_log);
        ASSERT_EQ(c.nwarnings, 0);
        config_done(&c);
    }
}

TEST(config_R019_quoted_booleans_read_with_warning)
{
    struct config c;
    struct err e = ERR_INIT;
    /* C-018: Ruby would enable verbose for 'false'; cdagent reads false and warns. */
    ASSERT_OK(parse(":verbose: 'false'\n:log_aws_wire: \"TRUE\"\n", &c, &e));
    ASSERT_FALSE(c.verbose);
    ASSERT_TRUE(c.log_aws_wire);
    ASSERT_EQ(c.nwarnings, 2);
    ASSERT_STREQ(c.warnings[0],
                 FILE_NAME " line 1: key ':verbose:' is the quoted string "
                           "'false'; read as the boolean false (write it without quotes)");
    ASSERT_CONTAINS(c.warnings[1], "line 2: key ':log_aws_wire:'");
    config_done(&c);
}

TEST(config_bool_wrong_type_is_error)
{
    ASSERT_STREQ(parse_fail(":verbose: maybe\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':verbose:' expects true or false, got 'maybe'");
    ASSERT_STREQ(parse_fail("\n\n:use_fips_mode: 1\n", ERR_CONFIG),
                 FILE_NAME " line 3: key ':use_fips_mode:' expects true or false, got '1'");
    ASSERT_STREQ(parse_fail(":verbose: 'nope'\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':verbose:' expects true or false, got 'nope'");
    ASSERT_STREQ(parse_fail(":verbose: [true]\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':verbose:' expects true or false, got a list");
    ASSERT_STREQ(parse_fail(":disable_imds_v1:\n  a: 1\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':disable_imds_v1:' expects true or false, got a "
                           "mapping");
}

TEST(config_whole_number_error_shape_names_file_line_key)
{
    struct config c;
    struct err e = ERR_INIT;
    const char *path = test_src_path("tests/data/config/bad-type.yml");
    AUTOFREE char *p = xstrdup(path);
    ASSERT_FAIL(config_load(p, &c, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    AUTOFREE char *want = xasprintf("%s line 4: key ':max_revisions:' expects a whole number, "
                                    "got 'five'",
                                    p);
    ASSERT_STREQ(e.msg, want);
    /* Plain spelling: the message still uses the key's :name: form. */
    ASSERT_STREQ(parse_fail("wait_between_runs: soon\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':wait_between_runs:' expects a whole number, got "
                           "'soon'");
}

TEST(config_quoted_numbers_read_with_warning)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":max_revisions: '8'\n:wait_between_runs: \"12\"\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 8);
    ASSERT_EQ(c.wait_between_runs, 12);
    ASSERT_EQ(c.nwarnings, 2);
    ASSERT_STREQ(c.warnings[0], FILE_NAME " line 1: key ':max_revisions:' is the quoted string "
                                          "'8'; read as the number 8 (write it without quotes)");
    config_done(&c);
    /* A quoted value that is not a plain decimal stays an error. */
    ASSERT_STREQ(parse_fail(":max_revisions: '0x5'\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':max_revisions:' expects a whole number, got '0x5'");
    ASSERT_STREQ(parse_fail(":max_revisions: ''\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':max_revisions:' expects a whole number, got ''");
}

TEST(config_yaml11_integer_forms_and_octal)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":wait_between_runs: 010\n:max_revisions: 0x1e\n:http_read_timeout: 1_000\n"
                    ":wait_after_error: 0b101\n:wait_after_throttle_error: +7\n",
                    &c, &e));
    ASSERT_EQ(c.wait_between_runs, 8); /* YAML 1.1 octal, as Psych */
    ASSERT_EQ(c.max_revisions, 30);
    ASSERT_EQ(c.http_read_timeout, 1000);
    ASSERT_EQ(c.wait_after_error, 5);
    ASSERT_EQ(c.wait_after_throttle_error, 7);
    ASSERT_EQ(c.nwarnings, 1);
    ASSERT_STREQ(c.warnings[0],
                 FILE_NAME " line 1: key ':wait_between_runs:' value '010' has a "
                           "leading zero, so YAML reads it as the octal number 8; remove the "
                           "zero if you meant decimal");
    config_done(&c);
    ASSERT_OK(parse(":wait_between_runs: 0\n", &c, &e));
    ASSERT_EQ(c.wait_between_runs, 0);
    ASSERT_EQ(c.nwarnings, 0);
    config_done(&c);
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: 09\n", ERR_CONFIG), "got '09'");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: 1.5\n", ERR_CONFIG),
                    "expects a whole number, got '1.5'");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: 1e3\n", ERR_CONFIG), "got '1e3'");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: 1:30\n", ERR_CONFIG), "got '1:30'");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: 1,000\n", ERR_CONFIG), "got '1,000'");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: true\n", ERR_CONFIG), "got 'true'");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: [1]\n", ERR_CONFIG), "got a list");
    ASSERT_CONTAINS(parse_fail(":wait_between_runs: 99999999999999999999999\n", ERR_CONFIG),
                    "expects a whole number, got '99999999999999999999999'");
}

TEST(config_cfg_yaml11_int_edges)
{
    int64_t v;
    bool octal;
    ASSERT_TRUE(cfg_yaml11_int("9223372036854775807", &v, &octal));
    ASSERT_EQ(v, INT64_MAX);
    ASSERT_FALSE(cfg_yaml11_int("9223372036854775808", &v, &octal));
    ASSERT_TRUE(cfg_yaml11_int("-9223372036854775808", &v, &octal));
    ASSERT_EQ(v, INT64_MIN);
    ASSERT_TRUE(cfg_yaml11_int("-1", &v, &octal));
    ASSERT_EQ(v, -1);
    ASSERT_FALSE(octal);
    ASSERT_TRUE(cfg_yaml11_int("0755", &v, &octal));
    ASSERT_EQ(v, 0755);
    ASSERT_TRUE(octal);
    ASSERT_TRUE(cfg_yaml11_int("0", &v, &octal));
    ASSERT_EQ(v, 0);
    ASSERT_FALSE(octal);
    ASSERT_FALSE(cfg_yaml11_int("", &v, &octal));
    ASSERT_FALSE(cfg_yaml11_int("-", &v, &octal));
    ASSERT_FALSE(cfg_yaml11_int("0x", &v, &octal));
    ASSERT_FALSE(cfg_yaml11_int("_1", &v, &octal));
    ASSERT_FALSE(cfg_yaml11_int("0b2", &v, &octal));
    ASSERT_FALSE(cfg_yaml11_int("12a", &v, &octal));
    ASSERT_FALSE(cfg_yaml11_int(" 1", &v, &octal));
}

TEST(config_R022_ranges)
{
    /* C-024 */
    ASSERT_STREQ(parse_fail(":max_revisions: 0\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':max_revisions:' expects a whole number of at least 1, "
                           "got '0' (Invalid configuration :max_revision=0)");
    ASSERT_CONTAINS(parse_fail(":max_revisions: abc\n", ERR_CONFIG),
                    "key ':max_revisions:' expects a whole number, got 'abc'");
    ASSERT_CONTAINS(parse_fail(":max_revisions: -3\n", ERR_CONFIG), "at least 1");
    ASSERT_CONTAINS(parse_fail(":max_revisions: 3000000000\n", ERR_CONFIG), "at least 1");
    ASSERT_STREQ(parse_fail(":wait_between_runs: -1\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':wait_between_runs:' expects a whole number from 0 to "
                           "86400, got '-1'");
    ASSERT_CONTAINS(parse_fail(":http_read_timeout: 0\n", ERR_CONFIG), "from 1 to 86400");
    ASSERT_CONTAINS(parse_fail(":hook_output_grace_seconds: -2\n", ERR_CONFIG), "from -1 to 86400");
    ASSERT_CONTAINS(parse_fail(":kill_agent_max_wait_time_seconds: -5\n", ERR_CONFIG),
                    "at least 0");
    ASSERT_CONTAINS(parse_fail(":max_runs_per_worker: -1\n", ERR_CONFIG), "at least 0");
    ASSERT_CONTAINS(parse_fail(":max_bundle_entries: 0\n", ERR_CONFIG), "at least 1");
    ASSERT_CONTAINS(parse_fail(":wait_after_connection_problem: 86401\n", ERR_CONFIG),
                    "from 0 to 86400");
}

TEST(config_R022_children_must_be_one)
{
    /* C-022 */
    ASSERT_STREQ(parse_fail(":children: 2\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':children:' is '2': children can only be set to 1");
    ASSERT_CONTAINS(parse_fail(":children: 0\n", ERR_CONFIG), "children can only be set to 1");
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":children: 1\n", &c, &e));
    ASSERT_EQ(c.children, 1);
    config_done(&c);
}

TEST(config_V068_kill_wait_clamped_and_read_timeout_warning)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":kill_agent_max_wait_time_seconds: 100000\n:http_read_timeout: 30\n", &c, &e));
    ASSERT_EQ(c.kill_agent_max_wait_time_seconds, 86400);
    ASSERT_EQ(c.http_read_timeout, 30);
    ASSERT_TRUE(has_warning(&c, "line 1: key ':kill_agent_max_wait_time_seconds:' is 100000; "
                                "using the maximum of 86400 seconds"));
    ASSERT_TRUE(has_warning(&c, "line 2: key ':http_read_timeout:' is 30 seconds"));
    config_done(&c);
}

TEST(config_R018_null_and_empty_values_mean_not_set)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":proxy_uri:\n:max_revisions: ~\n:log_dir: null\n:verbose: NULL\n"
                    ":s3_endpoint_override: ''\n:user: \"\"\n:root_dir: ''\n",
                    &c, &e));
    ASSERT_NULL(c.proxy_uri); /* C-016 */
    ASSERT_NULL(c.s3_endpoint_override);
    ASSERT_NULL(c.user);
    ASSERT_EQ(c.max_revisions, 5);
    ASSERT_STREQ(c.log_dir, "/var/log/aws/codedeploy-agent");
    ASSERT_STREQ(c.root_dir, "/opt/codedeploy-agent/deployment-root");
    ASSERT_FALSE(c.verbose);
    ASSERT_EQ(c.nwarnings, 0);
    config_done(&c);
    /* Quoted "null" is the text null, not "not set". */
    ASSERT_OK(parse(":user: 'null'\n", &c, &e));
    ASSERT_STREQ(c.user, "null");
    config_done(&c);
}

TEST(config_R018_unknown_keys_are_warnings)
{
    struct config c;
    struct err e = ERR_INIT;
    /* C-017 */
    ASSERT_OK(parse(":verbose: true\n:no_such_key: 1\nalso_unknown:\n  - x\n", &c, &e));
    ASSERT_TRUE(c.verbose);
    ASSERT_EQ(c.nwarnings, 2);
    ASSERT_STREQ(c.warnings[0], FILE_NAME " line 2: unknown key ':no_such_key:', ignoring");
    ASSERT_STREQ(c.warnings[1], FILE_NAME " line 3: unknown key 'also_unknown', ignoring");
    ASSERT_NULL(c.warnings[2]);
    config_done(&c);
}

TEST(config_legacy_and_v2_ignored_keys)
{
    struct config c;
    struct err e = ERR_INIT;
    /* R-021 legacy rows: accepted silently, whatever their shape. */
    ASSERT_OK(parse(":plugins:\n  codedeploy: x\n:shared_dir: /x\n:instance_service_port: 8\n"
                    ":codedeploy_test_profile: prod\n:use_mock_command_service: false\n",
                    &c, &e));
    ASSERT_EQ(c.nwarnings, 0);
    config_done(&c);
    /* V-070 / R-052: switches that would weaken security are ignored loudly. */
    ASSERT_OK(parse(":codedeploy_test_profile: beta\n:ssl_verify_peer: false\n"
                    ":enable_command_port: true\n",
                    &c, &e));
    ASSERT_EQ(c.nwarnings, 3);
    ASSERT_CONTAINS(c.warnings[0], "':codedeploy_test_profile:' is 'beta'");
    ASSERT_CONTAINS(c.warnings[1], "TLS verification cannot be turned off");
    ASSERT_CONTAINS(c.warnings[2], "no command port");
    config_done(&c);
}

TEST(config_warnings_are_capped)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 80; i++)
        ASSERT_OK(buf_appendf(&b, NULL, ":unknown_%d: 1\n", i));
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(config_parse(b.data, b.len, FILE_NAME, &c, &e));
    ASSERT_EQ(c.nwarnings, CFG_MAX_WARNINGS + 1);
    ASSERT_STREQ(c.warnings[CFG_MAX_WARNINGS], FILE_NAME ": 30 more warnings not shown");
    ASSERT_NULL(c.warnings[c.nwarnings]);
    config_done(&c);
    buf_done(&b);
}

TEST(config_text_keys)
{
    struct config c;
    struct err e = ERR_INIT;
    /* A plain number is fine as text (:group: 1001); a plain boolean is not. */
    ASSERT_OK(parse(":user: 1000\n:group: 1000\n", &c, &e));
    ASSERT_STREQ(c.user, "1000");
    ASSERT_STREQ(c.group, "1000");
    config_done(&c);
    ASSERT_STREQ(parse_fail(":user: yes\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':user:' expects a text value, got the boolean 'yes' "
                           "(quote it if you mean the text)");
    ASSERT_CONTAINS(parse_fail(":root_dir:\n  - /a\n", ERR_CONFIG),
                    "key ':root_dir:' expects a text value, got a list");
    ASSERT_STREQ(parse_fail(":root_dir: \"/a\\x01b\"\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':root_dir:' contains a control character: '/a?b'");
    ASSERT_CONTAINS(parse_fail(":log_dir: \"/a\\nb\"\n", ERR_CONFIG), "control character");
}

TEST(config_R023_directories_normalised)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":log_dir: logs/\n:pid_dir: /\n:root_dir: '/a/b///'\n", &c, &e));
    ASSERT_STREQ(c.log_dir, "/logs");
    ASSERT_STREQ(c.pid_dir, "/");
    ASSERT_STREQ(c.root_dir, "/a/b");
    config_done(&c);
}

TEST(config_names_must_stay_names)
{
    ASSERT_STREQ(parse_fail(":program_name: a/b\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':program_name:' expects a plain file name without "
                           "'/', got 'a/b'");
    ASSERT_CONTAINS(parse_fail(":program_name: ..\n", ERR_CONFIG), "plain file name");
    ASSERT_CONTAINS(parse_fail(":ongoing_deployment_tracking: ../x\n", ERR_CONFIG),
                    "inside :root_dir:");
    ASSERT_CONTAINS(parse_fail(":ongoing_deployment_tracking: /tmp/x\n", ERR_CONFIG),
                    "inside :root_dir:");
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":ongoing_deployment_tracking: state/ongoing\n", &c, &e));
    ASSERT_STREQ(c.ongoing_deployment_tracking, "state/ongoing");
    config_done(&c);
}

TEST(config_V020_endpoint_urls)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":deploy_control_endpoint: http://127.0.0.1:8443\n", &c, &e));
    ASSERT_STREQ(c.deploy_control_endpoint, "http://127.0.0.1:8443");
    ASSERT_EQ(c.nwarnings, 1);
    ASSERT_CONTAINS(c.warnings[0], "key ':deploy_control_endpoint:' uses http://");
    config_done(&c);
    ASSERT_STREQ(parse_fail(":s3_endpoint_override: ftp://x\n", ERR_CONFIG),
                 FILE_NAME " line 1: key ':s3_endpoint_override:' expects a URL starting with "
                           "https:// (or http://), got 'ftp://x'");
    ASSERT_CONTAINS(parse_fail(":deploy_control_endpoint: https://\n", ERR_CONFIG),
                    "expects a URL");
    ASSERT_CONTAINS(parse_fail(":deploy_control_endpoint: codedeploy.example\n", ERR_CONFIG),
                    "expects a URL");
}

TEST(config_R054_proxy_uri_never_echoed)
{
    const char *m = parse_fail(":proxy_uri: ftp://user:hunter2secret@proxy:21\n", ERR_CONFIG);
    ASSERT_STREQ(m, FILE_NAME " line 1: key ':proxy_uri:' expects a URL starting with http:// or "
                              "https:// (value not shown: it may contain a password)");
    ASSERT_NOT_CONTAINS(m, "hunter2");
    m = parse_fail(":proxy_uri: \"http://u:hunter2\\x01@p\"\n", ERR_CONFIG);
    ASSERT_NOT_CONTAINS(m, "hunter2");
    ASSERT_CONTAINS(m, "control character");
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":proxy_uri: https://user:password@my.proxy:443/path?query\n", &c, &e));
    ASSERT_STREQ(c.proxy_uri, "https://user:password@my.proxy:443/path?query");
    for (size_t i = 0; i < c.nwarnings; i++)
        ASSERT_NOT_CONTAINS(c.warnings[i], "password@");
    config_done(&c);
}

TEST(config_R126_sizes)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse(":max_bundle_extracted_bytes: 512MiB\n", &c, &e));
    ASSERT_EQ(c.max_bundle_extracted_bytes, 512ULL << 20);
    config_done(&c);
    ASSERT_OK(parse(":max_bundle_extracted_bytes: 1073741824\n", &c, &e));
    ASSERT_EQ(c.max_bundle_extracted_bytes, 1ULL << 30);
    config_done(&c);
    ASSERT_OK(parse(":max_bundle_extracted_bytes: '3 kb'\n", &c, &e));
    ASSERT_EQ(c.max_bundle_extracted_bytes, 3000);
    config_done(&c);
    ASSERT_OK(
        parse(":max_bundle_extracted_bytes: 2TiB\n:archive_max_extraction_size: 4TiB\n", &c, &e));
    ASSERT_EQ(c.max_bundle_extracted_bytes, 2ULL << 40); /* ours is smaller: kept */
    ASSERT_EQ(c.archive_max_extraction_size, 4ULL << 40);
    config_done(&c);
    ASSERT_CONTAINS(parse_fail(":max_bundle_extracted_bytes: lots\n", ERR_CONFIG),
                    "key ':max_bundle_extracted_bytes:' expects a size in bytes");
    ASSERT_CONTAINS(parse_fail(":max_bundle_extracted_bytes: 1.5GB\n", ERR_CONFIG), "got '1.5GB'");
    ASSERT_CONTAINS(parse_fail(":max_bundle_extracted_bytes: 0\n", ERR_CONFIG), "at least 1");
    ASSERT_CONTAINS(parse_fail(":archive_max_extraction_size: 99999999999TiB\n", ERR_CONFIG),
                    "expects a size");
    ASSERT_CONTAINS(parse_fail(":archive_max_extraction_size: -5\n", ERR_CONFIG), "expects a size");
}

TEST(config_R020_syntax_error)
{
    struct config c;
    struct err e = ERR_INIT;
    AUTOFREE char *p = xstrdup(test_src_path("tests/data/config/bad-syntax.yml"));
    ASSERT_FAIL(config_load(p, &c, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    /* C-020 */
    AUTOFREE char *want = xasprintf("An error occurred loading the CodeDeploy agent config file "
                                    "at %s. Error message: line 5",
                                    p);
    ASSERT_TRUE(str_has_prefix(e.msg, want));
    ASSERT_CONTAINS(parse_fail(":a: [1, 2\n", ERR_CONFIG), "Error message: line 2");
    ASSERT_CONTAINS(parse_fail(":a: 'unterminated\n", ERR_CONFIG), "Error message: line");
    ASSERT_CONTAINS(parse_fail("\t:verbose: true\n", ERR_CONFIG), "Error message: line 1");
}

TEST(config_top_level_must_be_mapping)
{
    struct config c;
    struct err e = ERR_INIT;
    AUTOFREE char *p = xstrdup(test_src_path("tests/data/config/top-list.yml"));
    ASSERT_FAIL(config_load(p, &c, &e));
    AUTOFREE char *want = xasprintf("An error occurred loading the CodeDeploy agent config file "
                                    "at %s. Error message: line 1: the top level must be a "
                                    "mapping of keys to values, not a list",
                                    p);
    ASSERT_STREQ(e.msg, want);
    ASSERT_CONTAINS(parse_fail("just some words\n", ERR_CONFIG), "not a single value");
    ASSERT_CONTAINS(parse_fail("'~'\n", ERR_CONFIG), "not a single value");
    ASSERT_CONTAINS(parse_fail("42\n", ERR_CONFIG), "not a single value");
}

TEST(config_binary_garbage_rejected)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(config_load(test_src_path("tests/data/config/garbage.bin"), &c, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_CONTAINS(e.msg, "An error occurred loading the CodeDeploy agent config file at ");
    ASSERT_CONTAINS(e.msg, "garbage.bin. Error message: line 1");
    /* An embedded NUL, invalid UTF-8, a lone control byte on line 2. */
    static const char nul[] = ":verbose: true\n:root_dir: /a\0b\n";
    err_clear(&e);
    ASSERT_FAIL(config_parse(nul, sizeof(nul) - 1, FILE_NAME, &c, &e));
    ASSERT_CONTAINS(e.msg, "Error message: line 2");
    ASSERT_CONTAINS(parse_fail(":root_dir: /a\xff\xfe\n", ERR_CONFIG), "Error message: line 1");
    ASSERT_CONTAINS(parse_fail(":verbose: true\n\x01\n", ERR_CONFIG), "Error message: line 2");
    /* Random bytes never crash and never succeed with garbage in a key. */
    unsigned char junk[4096];
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (unsigned char)rand_below(256);
        err_clear(&e);
        if (config_parse((const char *)junk, sizeof(junk), FILE_NAME, &c, &e) == 0)
            config_done(&c);
        else
            ASSERT_EQ(e.code, ERR_CONFIG);
    }
}

TEST(config_crlf_and_documents)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(parse("---\r\n:verbose: true\r\n:max_revisions: 3\r\n", &c, &e));
    ASSERT_TRUE(c.verbose);
    ASSERT_EQ(c.max_revisions, 3);
    config_done(&c);
    /* Only the first document counts (as Psych). */
    ASSERT_OK(parse(":max_revisions: 3\n---\n:max_revisions: 4\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 3);
    ASSERT_TRUE(has_warning(&c, "only the first YAML document is read"));
    config_done(&c);
    /* A non-scalar key is skipped with a warning. */
    ASSERT_OK(parse("? [a, b]\n: c\n:max_revisions: 2\n", &c, &e));
    ASSERT_EQ(c.max_revisions, 2);
    ASSERT_TRUE(has_warning(&c, FILE_NAME " line 1: a key that is not a plain value"));
    config_done(&c);
}

TEST(config_aliases_and_nesting_are_bounded)
{
    struct config c;
    struct err e = ERR_INIT;
    /* Aliases resolve (Psych supports them); a "billion laughs" under an ignored key is cheap. */
    ASSERT_OK(parse(":wait_between_runs: &w 4\n:wait_after_error: *w\n"
                    ":plugins:\n  a: &a [x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a]\n"
                    "  c: &c [*b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c]\n"
                    "  e: [*d, *d, *d, *d, *d]\n",
                    &c, &e));
    ASSERT_EQ(c.wait_between_runs, 4);
    ASSERT_EQ(c.wait_after_error, 4);
    config_done(&c);
    /* Deep nesting under an unknown key: no stack overflow. */
    size_t depth = 100000;
    char *deep = xmalloc(2 * depth + 16);
    memcpy(deep, ":plugins: ", 10);
    memset(deep + 10, '[', depth);
    memset(deep + 10 + depth, ']', depth);
    deep[10 + 2 * depth] = '\n';
    err_clear(&e);
    /* Issue 11.5: capped like the AppSpec (it used to take minutes). */
    int r = config_parse(deep, 11 + 2 * depth, FILE_NAME, &c, &e);
    free(deep);
    ASSERT_EQ(r, -1);
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_CONTAINS(e.msg, "line 1: YAML nesting is deeper than 64 levels");
}

TEST(config_huge_input_limited)
{
    size_t n = CONFIG_MAX_FILE_BYTES + 1;
    char *big = xmalloc(n);
    memset(big, '#', n);
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(config_parse(big, n, FILE_NAME, &c, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_STREQ(e.msg, "The config file " FILE_NAME " is larger than 1048576 bytes");
    /* Exactly at the cap is fine: one long comment line then a key. */
    const char *tail = "\n:max_revisions: 6\n";
    memcpy(big + CONFIG_MAX_FILE_BYTES - strlen(tail), tail, strlen(tail));
    err_clear(&e);
    ASSERT_OK(config_parse(big, CONFIG_MAX_FILE_BYTES, FILE_NAME, &c, &e));
    ASSERT_EQ(c.max_revisions, 6);
    config_done(&c);
    /* Through config_load. */
    const char *path = test_write("huge.yml", "");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    memset(big, '#', n);
    ASSERT_EQ(write(fd, big, n), (ssize_t)n);
    close(fd);
    err_clear(&e);
    ASSERT_FAIL(config_load(path, &c, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_CONTAINS(e.msg, "is larger than 1048576 bytes");
    free(big);
}

TEST(config_R020_missing_file)
{
    struct config c;
    struct err e = ERR_INIT;
    AUTOFREE char *p = path_join(test_tmpdir(), "nope.yml");
    ASSERT_FAIL(config_load(p, &c, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_EQ(e.sys_errno, ENOENT);
    /* C-019 */
    AUTOFREE char *want = xasprintf("The config file %s does not exist or is not readable "
                                    "(No such file or directory)",
                                    p);
    ASSERT_STREQ(e.msg, want);
}

TEST(config_R020_directory_is_not_readable)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(config_load(test_tmpdir(), &c, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_EQ(e.sys_errno, EISDIR);
    ASSERT_CONTAINS(e.msg, "does not exist or is not readable (Is a directory)");
}

TEST(config_R020_unreadable_file)
{
    const char *path = test_write("locked.yml", ":verbose: true\n");
    ASSERT_OK(chmod(path, 0));
    if (access(path, R_OK) == 0)
        SKIP("running with privileges that read a mode-000 file (root)");
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(config_load(path, &c, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_EQ(e.sys_errno, EACCES);
    ASSERT_CONTAINS(e.msg, "does not exist or is not readable (Permission denied)");
}

TEST(config_R003_default_path)
{
    const char *p = config_default_path();
    if (access(CONFIG_ETC_PATH, F_OK) == 0)
        ASSERT_STREQ(p, CONFIG_ETC_PATH);
    else
        ASSERT_STREQ(p, CONFIG_OPT_PATH);
}

TEST(config_quote_for_messages)
{
    char out[CFG_QUOTE_MAX + 4];
    cfg_quote("a\tb\x01", 4, out);
    ASSERT_STREQ(out, "a?b?");
    char longv[100];
    memset(longv, 'x', sizeof(longv));
    cfg_quote(longv, sizeof(longv), out);
    ASSERT_EQ(strlen(out), CFG_QUOTE_MAX + 3);
    ASSERT_TRUE(str_has_suffix(out, "x..."));
    /* A long bad value is cut in the message. */
    AUTOFREE char *t = xasprintf(":max_revisions: %.*s\n", 100, longv);
    ASSERT_CONTAINS(parse_fail(t, ERR_CONFIG), "xxx...'");
}

TEST(config_null_text_and_filename)
{
    struct config c;
    struct err e = ERR_INIT;
    ASSERT_OK(config_parse(NULL, 0, NULL, &c, &e));
    ASSERT_STREQ(c.path, "codedeployagent.yml");
    assert_defaults(&c);
    config_done(&c);
    ASSERT_CONTAINS(parse_fail(":verbose: 2\n", ERR_CONFIG), "line 1");
}
