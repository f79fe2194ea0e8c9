/*
 * commands_client: drive agent/commands.c (and spec.c) from end-to-end tests.
 *
 *   commands_client [--secure] --endpoint URL --region R [--version V] poll HOST_ID
 *   ... spec DEPLOYMENT_EXECUTION_ID HOST_ID     (prints the verified spec document)
 *   ... ack HOST_COMMAND_ID true|false           (prints the returned CommandStatus)
 *   ... complete HOST_COMMAND_ID Succeeded|Failed DIAG_JSON
 *   ... update HOST_COMMAND_ID EPOCH_SECONDS DIAG_JSON
 *
 * --virtual-time: retry and throttle-gate waits (V-026) take no real time; they advance the
 * client's monotonic clock instead, and "slept=<ms>" at the end of the last line adds them up.
 *
 * Credentials come from CDAGENT_TEST_AK, CDAGENT_TEST_SK and CDAGENT_TEST_TOKEN (optional).
 * stderr always ends with "status=<http> retries=<n> offset=<s> ms=<elapsed>"; on failure the
 * error goes first as "error: <kind>: <message>" and the exit status is 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/commands.h"
#include "base/err.h"
#include "parse/spec.h"
#include "base/util.h"

static int env_creds(void *arg, bool refresh, struct commands_credentials *ret, struct err *err)
{
    (void)arg;
    (void)refresh;
    const char *ak = getenv("CDAGENT_TEST_AK");
    const char *sk = getenv("CDAGENT_TEST_SK");
    const char *tok = getenv("CDAGENT_TEST_TOKEN");
    if (!ak || !sk)
        return err_set(err, ERR_AUTH, "no credentials: set CDAGENT_TEST_AK and CDAGENT_TEST_SK");
    ret->access_key_id = xstrdup(ak);
    ret->secret_access_key = xstrdup(sk);
    ret->session_token = tok && *tok ? xstrdup(tok) : NULL;
    return 0;
}

static uint64_t virtual_slept_ms;

static void virtual_sleep(void *arg, uint64_t ms)
{
    (void)arg;
    virtual_slept_ms += ms;
}

static uint64_t virtual_clock(void)
{
    return now_ms() + virtual_slept_ms;
}

static void usage(void)
{
    fprintf(stderr, "usage: commands_client [--secure] [--virtual-time] --endpoint URL --region R "
                    "[--version V] "
                    "poll|spec|ack|complete|update ARGS...\n");
    exit(2);
}

static int run(struct commands_client *c, int argc, char **argv, struct err *err)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "poll") == 0 && argc == 2) {
        struct host_command *hc = NULL;
        if (commands_poll(c, argv[1], &hc, err) < 0)
            return -1;
        if (!hc) {
            printf("{}\n");
            return 0;
        }
        printf("{\"HostCommandIdentifier\":\"%s\",\"HostIdentifier\":\"%s\","
               "\"DeploymentExecutionId\":\"%s\",\"CommandName\":\"%s\",\"Nonce\":%lld}\n",
               hc->host_command_identifier, hc->host_identifier ? hc->host_identifier : "",
               hc->deployment_execution_id ? hc->deployment_execution_id : "",
               hc->command_name ? hc->command_name : "", (long long)hc->nonce);
        host_command_free(hc);
        return 0;
    }
    if (strcmp(cmd, "spec") == 0 && argc == 3) {
        struct commands_spec *s = NULL;
        if (commands_get_spec(c, argv[1], argv[2], &s, err) < 0)
            return -1;
        char *json = NULL;
        char *signer = NULL;
        size_t len = 0;
        int rc = spec_open_envelope(s->format, s->payload, s->payload_len, false, &json, &len,
                                    &signer, err);
        if (rc == 0) {
            fprintf(stderr, "system=%s signer=%s\n",
                    s->deployment_system ? s->deployment_system : "(none)", signer ? signer : "");
            printf("%s\n", json);
        }
        free(json);
        free(signer);
        commands_spec_free(s);
        return rc;
    }
    if (strcmp(cmd, "ack") == 0 && argc == 3) {
        enum commands_status st;
        if (commands_ack(c, argv[1], strcmp(argv[2], "true") == 0, &st, err) < 0)
            return -1;
        printf("%s\n", commands_status_name(st));
        return 0;
    }
    if (strcmp(cmd, "complete") == 0 && argc == 4)
        return commands_complete(c, argv[1], strcmp(argv[2], "Succeeded") == 0, argv[3], err);
    if (strcmp(cmd, "update") == 0 && argc == 4) {
        uint64_t t = 0;
        enum commands_status st;
        if (parse_uint(argv[2], 0, INT64_MAX, &t, err) < 0)
            return -1;
        if (commands_post_update(c, argv[1], (int64_t)t, argv[3], &st, err) < 0)
            return -1;
        printf("%s\n", commands_status_name(st));
        return 0;
    }
    usage();
    return -1;
}

int main(int argc, char **argv)
{
    struct commands_opts o = {.agent_version = "cdagent-test-driver", .get_creds = env_creds};
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--secure") == 0) {
            o.secure = true;
        } else if (strcmp(argv[i], "--virtual-time") == 0) {
            o.sleep = virtual_sleep;
            o.mono_clock_ms = virtual_clock;
        } else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) {
            o.endpoint = argv[++i];
        } else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc) {
            o.region = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
            o.agent_version = argv[++i];
        } else {
            break;
        }
    }
    if (i >= argc)
        usage();
    struct err e = ERR_INIT;
    struct commands_client *c = commands_client_new(&o, &e);
    if (!c) {
        fprintf(stderr, "error: %s: %s\n", err_code_name(e.code), e.msg);
        return 1;
    }
    int rc = run(c, argc - i, argv + i, &e);
    const struct commands_call_info *ci = commands_last_call(c);
    if (rc < 0)
        fprintf(stderr, "error: %s: %s\n", err_code_name(e.code), e.msg);
    fprintf(stderr, "op=%s status=%ld retries=%d offset=%lld ms=%llu code=%s slept=%llu\n",
            ci->operation ? ci->operation : "", ci->status, ci->retries,
            (long long)commands_clock_offset(c), (unsigned long long)ci->elapsed_ms, ci->error_code,
            (unsigned long long)virtual_slept_ms);
    commands_client_free(c);
    return rc < 0 ? 1 : 0;
}
