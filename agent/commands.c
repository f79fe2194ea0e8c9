/* commands: see commands.h.  (stub until the implementation lands) */
#include "commands.h"

#include <stdlib.h>

#include "util.h"

void commands_credentials_done(struct commands_credentials *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    secret_free(c->secret_access_key);
    secret_free(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
}

void host_command_free(struct host_command *hc)
{
    if (!hc)
        return;
    free(hc->host_command_identifier);
    free(hc->host_identifier);
    free(hc->deployment_execution_id);
    free(hc->command_name);
    free(hc);
}

const char *commands_status_name(enum commands_status s)
{
    (void)s;
    return "";
}

void commands_spec_free(struct commands_spec *s)
{
    if (!s)
        return;
    free(s->deployment_system);
    free(s->format);
    free(s->payload);
    free(s->variant_id);
    free(s);
}

struct commands_client *commands_client_new(const struct commands_opts *opts, struct err *err)
{
    (void)opts;
    err_set(err, ERR_UNSUPPORTED, "create Commands client: not implemented yet");
    return NULL;
}

void commands_client_free(struct commands_client *c)
{
    (void)c;
}

const struct commands_call_info *commands_last_call(const struct commands_client *c)
{
    (void)c;
    return NULL;
}

int64_t commands_clock_offset(const struct commands_client *c)
{
    (void)c;
    return 0;
}

int commands_poll(struct commands_client *c, const char *host_identifier,
                  struct host_command **ret, struct err *err)
{
    (void)c, (void)host_identifier, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "PollHostCommand: not implemented yet");
}

int commands_ack(struct commands_client *c, const char *host_command_identifier, bool is_noop,
                 enum commands_status *ret_status, struct err *err)
{
    (void)c, (void)host_command_identifier, (void)is_noop, (void)ret_status;
    return err_set(err, ERR_UNSUPPORTED, "PutHostCommandAcknowledgement: not implemented yet");
}

int commands_get_spec(struct commands_client *c, const char *deployment_execution_id,
                      const char *host_identifier, struct commands_spec **ret, struct err *err)
{
    (void)c, (void)deployment_execution_id, (void)host_identifier, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "GetDeploymentSpecification: not implemented yet");
}

int commands_complete(struct commands_client *c, const char *host_command_identifier,
                      bool succeeded, const char *diag_json, struct err *err)
{
    (void)c, (void)host_command_identifier, (void)succeeded, (void)diag_json;
    return err_set(err, ERR_UNSUPPORTED, "PutHostCommandComplete: not implemented yet");
}

int commands_post_update(struct commands_client *c, const char *host_command_identifier,
                         int64_t estimated_completion_epoch_s, const char *diag_json,
                         enum commands_status *ret_status, struct err *err)
{
    (void)c, (void)host_command_identifier, (void)estimated_completion_epoch_s, (void)diag_json;
    (void)ret_status;
    return err_set(err, ERR_UNSUPPORTED, "PostHostCommandUpdate: not implemented yet");
}
