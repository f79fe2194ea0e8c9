/* Unit tests for the agent's own deployment history, the metrics text and the progress texts
 * (deploy/history, run/metrics, run/progress; issue 16 items 3-5).  The metrics file is parsed
 * with the real Prometheus parser in tests/e2e/test_fleet.py. */
#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/history.h"
#include "parse/config.h"
#include "run/executor.h"
#include "parse/spec.h"
#include "run/metrics.h"
#include "run/preflight.h"
#include "run/progress.h"
#include "test.h"

static void cmd(const char *root, const char *dep, const char *event, bool ok, int64_t end,
                enum history_status *st, bool *fin)
{
    struct err e = ERR_INIT;
    struct history_command c = {.deployment_id = dep,
                                .application = "app",
                                .group_name = "grp",
                                .group_id = "g-1",
                                .event = event,
                                .succeeded = ok,
                                .duration_ms = 1500,
                                .script = ok ? "" : "scripts/start.sh",
                                .message = ok ? "" : "Script at specified location: ... failed",
                                .end_wall_ms = end};
    ASSERT_OK(history_record(root, &c, st, fin, &e));
}

TEST(history_records_results_and_lists_newest_first)
{
    const char *root = test_tmpdir();
    enum history_status st;
    bool fin;
    cmd(root, "d-OLD", "DownloadBundle", true, 1000000, &st, &fin);
    ASSERT_EQ(st, HISTORY_IN_PROGRESS);
    ASSERT_FALSE(fin);
    cmd(root, "d-OLD", "ValidateService", true, 1010000, &st, &fin);
    ASSERT_EQ(st, HISTORY_SUCCEEDED);
    ASSERT_TRUE(fin);
    cmd(root, "d-NEW", "DownloadBundle", true, 2000000, &st, &fin);
    cmd(root, "d-NEW", "ApplicationStart", false, 2005000, &st, &fin);
    ASSERT_EQ(st, HISTORY_FAILED);
    ASSERT_TRUE(fin);
    cmd(root, "d-NEW", "ValidateService", true, 2006000, &st, &fin); /* stays Failed */
    ASSERT_EQ(st, HISTORY_FAILED);
    ASSERT_FALSE(fin);
    char *j = history_list_json(root, 0);
    ASSERT_TRUE(strstr(j, "d-NEW") < strstr(j, "d-OLD")); /* newest first */
    ASSERT_CONTAINS(j, "\"failed_event\":\t\"ApplicationStart\"");
    ASSERT_CONTAINS(j, "\"failed_script\":\t\"scripts/start.sh\"");
    free(j);
    j = history_list_json(root, 1);
    ASSERT_NOT_CONTAINS(j, "d-OLD");
    free(j);
    ASSERT_EQ(history_last_success_ms(root), 1010000);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    history_print(f, root, 5);
    fclose(f);
    ASSERT_CONTAINS(out, "DEPLOYMENT");
    ASSERT_CONTAINS(out, "d-NEW          grp                      Failed");
    ASSERT_CONTAINS(out, "ApplicationStart scripts/start.sh");
    free(out);
    struct err e = ERR_INIT;
    struct history_command bad = {.deployment_id = "../x", .event = "Install"};
    ASSERT_FAIL(history_record(root, &bad, NULL, NULL, &e));
}

TEST(metrics_text_counts_and_escapes)
{
    metrics_reset();
    char *path = path_join(test_tmpdir(), "cdagent.prom");
    struct err e = ERR_INIT;
    ASSERT_OK(metrics_open(path, "0.1.0", 1700000000000, &e));
    metrics_event("ApplicationStart", true, 2.0);
    metrics_event("ApplicationStart", false, 20.0);
    metrics_event("My\"Event", true, 0.5);
    metrics_deployment(true, 1800000000000);
    metrics_deployment(false, 0);
    metrics_downloaded(1234);
    metrics_poll_error(false);
    metrics_poll_error(true);
    char *t = NULL;
    ASSERT_OK(read_file(path, 1 << 20, &t, NULL, &e));
    ASSERT_CONTAINS(t, "cdagent_info{version=\"0.1.0\"} 1\n");
    ASSERT_CONTAINS(t, "cdagent_deployments_total{result=\"succeeded\"} 1\n");
    ASSERT_CONTAINS(t, "cdagent_deployments_total{result=\"failed\"} 1\n");
    ASSERT_CONTAINS(
        t, "cdagent_lifecycle_events_total{event=\"ApplicationStart\",result=\"failed\"} 1\n");
    ASSERT_CONTAINS(
        t,
        "cdagent_lifecycle_event_duration_seconds_bucket{event=\"ApplicationStart\",le=\"5\"} 1\n");
    ASSERT_CONTAINS(t, "cdagent_lifecycle_event_duration_seconds_bucket{event=\"ApplicationStart\","
                       "le=\"30\"} 2\n");
    ASSERT_CONTAINS(
        t, "cdagent_lifecycle_event_duration_seconds_count{event=\"ApplicationStart\"} 2\n");
    ASSERT_CONTAINS(t, "event=\"My\\\"Event\"");
    ASSERT_CONTAINS(t, "cdagent_bundle_downloaded_bytes_total 1234\n");
    ASSERT_CONTAINS(t, "cdagent_last_successful_deployment_timestamp_seconds 1800000000.000\n");
    ASSERT_CONTAINS(t, "cdagent_poll_errors_total 1\n");
    ASSERT_CONTAINS(t, "cdagent_poll_throttles_total 1\n");
    free(t);
    metrics_close();
    metrics_reset();
    free(path);
}

TEST(progress_texts)
{
    char s[200];
    progress_status(s, sizeof(s), "d-X", "DownloadBundle", 120000000, 200000000, 45e6);
    ASSERT_STREQ(s, "d-X: DownloadBundle 120/200 MB, 45 MB/s");
    progress_bar(s, sizeof(s), 120000000, 200000000, 40e6);
    ASSERT_STREQ(s, "[##############----------]  120.0/200.0 MB  40.0 MB/s  0:02 left");
    progress_bar(s, sizeof(s), 5000000, 0, 1e6);
    ASSERT_STREQ(s, "[------------------------]  5.0 MB  1.0 MB/s");
    progress_line(s, sizeof(s), 50000000, 200000000, 10e6);
    ASSERT_STREQ(s, "    downloaded 50.0 of 200.0 MB (25%), 10.0 MB/s");
    progress_unpack(s, sizeof(s), 56000000, 40e6);
    ASSERT_STREQ(s, "    unpacking: 56.0 MB written, 40.0 MB/s");
}

TEST(config_issue16_keys_defaults_and_values)
{
    struct config c;
    struct err e = ERR_INIT;
    const char *none = "---\n";
    ASSERT_OK(config_parse(none, strlen(none), "a.yml", &c, &e));
    ASSERT_NULL(c.hook_logs_s3_uri);
    ASSERT_EQ(c.hook_logs_max_bytes, 16 * 1024 * 1024);
    ASSERT_EQ(c.max_revisions_disk_mb, 0);
    ASSERT_EQ(c.bundle_expansion_allowance, 1);
    ASSERT_NULL(c.metrics_file);
    ASSERT_NULL(c.bundle_signing_public_keys);
    config_done(&c);
    const char *all = "---\n:hook_logs_s3_uri: s3://logs/ci\n:hook_logs_max_bytes: 1MiB\n"
                      ":max_revisions_disk_mb: 2048\n:bundle_expansion_allowance: 10\n"
                      ":metrics_file: /var/lib/node_exporter/cd.prom\n"
                      ":bundle_signing_public_keys: /etc/codedeploy-agent/conf/keys.pem\n";
    ASSERT_OK(config_parse(all, strlen(all), "a.yml", &c, &e));
    ASSERT_STREQ(c.hook_logs_s3_uri, "s3://logs/ci");
    ASSERT_EQ(c.hook_logs_max_bytes, 1024 * 1024);
    ASSERT_EQ(c.max_revisions_disk_mb, 2048);
    ASSERT_EQ(c.bundle_expansion_allowance, 10);
    ASSERT_STREQ(c.metrics_file, "/var/lib/node_exporter/cd.prom");
    ASSERT_STREQ(c.bundle_signing_public_keys, "/etc/codedeploy-agent/conf/keys.pem");
    struct executor_opts eo;
    executor_opts_from_config(&c, &eo);
    ASSERT_EQ(eo.max_revisions_disk_bytes, 2048ULL * 1024 * 1024);
    ASSERT_EQ(eo.bundle_expansion_allowance, 10);
    ASSERT_STREQ(eo.hook_logs_s3_uri, "s3://logs/ci");
    config_done(&c);
    const char *bad = "---\n:bundle_expansion_allowance: 0\n";
    ASSERT_FAIL(config_parse(bad, strlen(bad), "a.yml", &c, &e));
    ASSERT_CONTAINS(e.msg, "bundle_expansion_allowance");
}

TEST(preflight_signed_revisions_refuse_github_and_skip_local)
{
    struct err e = ERR_INIT;
    struct executor_opts o = {.root_dir = test_tmpdir(),
                              .bundle_signing_public_keys = "/nonexistent/keys.pem"};
    struct deploy_spec spec = {.deployment_id = (char *)"d-1", .deployment_group_id = (char *)"g"};
    const char *bundle = test_write("bundle.tar", "github tarball");
    spec.revision.type = SPEC_REV_GITHUB;
    ASSERT_FAIL(preflight_verify_signature(&o, &spec, NULL, bundle, &e));
    ASSERT_EQ(e.code, ERR_SIGNATURE);
    ASSERT_CONTAINS(e.msg, "a GitHub revision cannot carry a signature");
    ASSERT_FALSE(file_exists(bundle)); /* not kept */
    spec.revision.type = SPEC_REV_LOCAL_FILE;
    bundle = test_write("bundle.tar", "local archive");
    ASSERT_OK(preflight_verify_signature(&o, &spec, NULL, bundle, &e));
    o.bundle_signing_public_keys = NULL; /* off: nothing checked */
    spec.revision.type = SPEC_REV_GITHUB;
    ASSERT_OK(preflight_verify_signature(&o, &spec, NULL, bundle, &e));
    err_clear(&e);
    ASSERT_FAIL(preflight_check_settings("/nonexistent/keys.pem", NULL, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    err_clear(&e);
    ASSERT_FAIL(preflight_check_settings(NULL, "s3:/x", &e));
    ASSERT_CONTAINS(e.msg, ":hook_logs_s3_uri: expected an S3 URI");
    ASSERT_OK(preflight_check_settings(NULL, "s3://logs/p", &e));
}
