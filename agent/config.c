/* config: stub bodies (the real parser follows); see config.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->path = xstrdup("");
    c->log_dir = xstrdup("/var/log/aws/codedeploy-agent");
    c->pid_dir = xstrdup("/opt/codedeploy-agent/state/.pid");
    c->root_dir = xstrdup("/opt/codedeploy-agent/deployment-root");
    c->program_name = xstrdup("codedeploy-agent");
    c->ongoing_deployment_tracking = xstrdup("ongoing-deployment");
    c->on_premises_config_file = xstrdup("/etc/codedeploy-agent/conf/codedeploy.onpremises.yml");
    c->enable_deployments_log = true;
    c->wait_between_runs = 30;
    c->wait_after_error = 30;
    c->http_read_timeout = 80;
    c->kill_agent_max_wait_time_seconds = 7200;
    c->wait_after_throttle_error = 60;
    c->wait_after_connection_problem = 5;
    c->children = 1;
    c->wait_between_spawning_children = 1;
    c->hook_output_grace_seconds = 5;
    c->max_bundle_extracted_bytes = 32ULL << 30;
    c->max_bundle_entries = 1000000;
    c->enable_archive_reuse = true;
    c->disable_core_dumps = true;
}

void config_done(struct config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->log_dir);
    free(c->pid_dir);
    free(c->root_dir);
    free(c->program_name);
    free(c->ongoing_deployment_tracking);
    free(c->on_premises_config_file);
    secret_free(c->proxy_uri);
    free(c->deploy_control_endpoint);
    free(c->s3_endpoint_override);
    free(c->user);
    free(c->group);
    for (size_t i = 0; i < c->nwarnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof(*c));
}

int config_parse(const char *text, size_t len, const char *filename, struct config *ret,
                 struct err *err)
{
    (void)text;
    (void)len;
    (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "parse '%s': config parser not implemented yet", filename);
}

int config_load(const char *path, struct config *ret, struct err *err)
{
    (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "load '%s': config parser not implemented yet",
                   path ? path : config_default_path());
}

const char *config_default_path(void)
{
    return file_exists(CONFIG_ETC_PATH) ? CONFIG_ETC_PATH : CONFIG_OPT_PATH;
}

char *config_agent_version(const char *root_dir, const char *fallback_file)
{
    (void)root_dir;
    (void)fallback_file;
    return xstrdup("cdagent-" CDAGENT_VERSION);
}

bool config_fips_region_allowed(const char *region)
{
    static const char *const ok[] = {"us-east-1", "us-east-2", "us-west-1", "us-west-2",
                                     "us-gov-west-1", "us-gov-east-1"};
    for (size_t i = 0; region && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(region, ok[i]) == 0)
            return true;
    return false;
}
