/*
 * imds_probe: drive agent/imds and agent/creds from end-to-end tests (issue 6).
 *
 *   imds_probe [--disable-v1] [--attempts N] [--timeout-ms N] [--ttl S] [--fast-sleep]
 *              [--session-arn A --credentials-file F] [--user-arn A --key K --secret S]
 *              [--onprem-region R] [--onprem-host H]
 *              COMMAND...
 * Commands, run in order on one client (so the token cache carries over):
 *   get PATH | identity | partition | domain | host-id | resolve | role-creds | probe | creds
 *   | invalidate
 *   | pause (wait for a line on stdin, so the test can change the fake in between)
 * Each prints one line: "ok <value>" or "error <code name> <message>".  --fast-sleep makes the
 * retry waits instant and prints "slept <ms>" for each.  The endpoint comes from
 * AWS_EC2_METADATA_SERVICE_ENDPOINT.  Exit status: 0 when every command succeeded, else 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds.h"
#include "aws/imds.h"
#include "base/log.h"
#include "base/util.h"

static void fast_sleep(void *arg, uint64_t ms)
{
    (void)arg;
    printf("slept %" PRIu64 "\n", ms);
    fflush(stdout);
}

static int report(int r, const struct err *e, const char *value)
{
    if (r == 0)
        printf("ok %s\n", value ? value : "");
    else
        printf("error %s %s\n", err_code_name(e->code), e->msg);
    fflush(stdout);
    return r;
}

int main(int argc, char **argv)
{
    struct imds_opts io = {0};
    struct creds_opts co = {0};
    const char *onprem_region = NULL, *onprem_host = NULL;
    int i = 1;
    for (; i < argc && str_has_prefix(argv[i], "--"); i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (str_eq(a, "--disable-v1")) {
            io.disable_v1 = true;
        } else if (str_eq(a, "--fast-sleep")) {
            io.sleep = fast_sleep;
        } else if (v && str_eq(a, "--attempts") && parse_uint(v, 1, 10, &n, NULL) == 0) {
            io.attempts = (int)n, i++;
        } else if (v && str_eq(a, "--timeout-ms") && parse_uint(v, 1, 60000, &n, NULL) == 0) {
            io.timeout_ms = (long)n, i++;
        } else if (v && str_eq(a, "--ttl") && parse_uint(v, 1, 21600, &n, NULL) == 0) {
            io.token_ttl_s = (long)n, i++;
        } else if (v && str_eq(a, "--onprem-region")) {
            onprem_region = v, i++;
        } else if (v && str_eq(a, "--onprem-host")) {
            onprem_host = v, i++;
        } else if (v && str_eq(a, "--session-arn")) {
            co.iam_session_arn = v, i++;
        } else if (v && str_eq(a, "--credentials-file")) {
            co.credentials_file = v, i++;
        } else if (v && str_eq(a, "--user-arn")) {
            co.iam_user_arn = v, i++;
        } else if (v && str_eq(a, "--key")) {
            co.access_key_id = v, i++;
        } else if (v && str_eq(a, "--secret")) {
            co.secret_access_key = v, i++;
        } else {
            fprintf(stderr, "imds_probe: bad option '%s'\n", a);
            return 2;
        }
    }
    struct log_opts lo = {.program = "imds_probe", .verbose = false};
    (void)log_open(&lo, NULL);
    struct err e = ERR_INIT;
    /* A registered on-premises host gets no IMDS client at all. */
    bool onprem = co.iam_session_arn || co.iam_user_arn;
    struct imds *m = NULL;
    if (!onprem && !(m = imds_new(&io, &e))) {
        report(-1, &e, NULL);
        return 1;
    }
    co.imds = m;
    struct creds_provider *cp = NULL;
    int failures = 0;
    for (; i < argc; i++) {
        const char *cmd = argv[i];
        err_clear(&e);
        char *val = NULL;
        int r = -1;
        bool need_imds = !str_eq(cmd, "creds") && !str_eq(cmd, "invalidate") &&
                         !str_eq(cmd, "pause") && !str_eq(cmd, "resolve");
        if (need_imds && !m) {
            r = err_set(&e, ERR_USAGE, "'%s' needs IMDS (no on-premises options)", cmd);
        } else if (str_eq(cmd, "get") && i + 1 < argc) {
            r = imds_get(m, argv[++i], &val, &e);
        } else if (str_eq(cmd, "identity")) {
            struct imds_identity id;
            r = imds_identity(m, &id, &e);
            if (r == 0) {
                val = xasprintf("region=%s account=%s instance=%s", id.region, id.account_id,
                                id.instance_id);
                imds_identity_done(&id);
            }
        } else if (str_eq(cmd, "partition")) {
            r = imds_partition(m, &val, &e);
        } else if (str_eq(cmd, "domain")) {
            r = imds_domain(m, &val, &e);
        } else if (str_eq(cmd, "host-id")) {
            r = imds_host_identifier(m, &val, &e);
        } else if (str_eq(cmd, "resolve")) {
            struct imds_host h;
            r = imds_resolve_host(m, onprem_region, onprem_host, &h, &e);
            if (r == 0) {
                val = xasprintf("region=%s host=%s domain=%s imds=%s", h.region, h.host_id,
                                h.domain ? h.domain : "-", h.used_imds ? "yes" : "no");
                imds_host_done(&h);
            }
        } else if (str_eq(cmd, "probe")) {
            r = imds_probe(m, &e);
        } else if (str_eq(cmd, "role-creds")) {
            struct imds_role_creds c;
            r = imds_role_credentials(m, &c, &e);
            if (r == 0) {
                val = xasprintf("role=%s key=%s secret=%s token=%s expiration=%" PRId64, c.role,
                                c.access_key_id, c.secret_access_key, c.token ? c.token : "",
                                c.expiration_ms);
                imds_role_creds_done(&c);
            }
        } else if (str_eq(cmd, "creds")) {
            if (!cp)
                cp = creds_provider_new(&co, &e);
            if (cp) {
                struct creds c;
                r = creds_get(cp, &c, &e);
                if (r == 0) {
                    val = xasprintf("source=%s key=%s secret=%s token=%s",
                                    creds_source_name(creds_provider_source(cp)), c.access_key_id,
                                    c.secret_access_key, c.session_token ? c.session_token : "");
                    creds_done(&c);
                }
            }
        } else if (str_eq(cmd, "invalidate")) {
            if (cp)
                creds_invalidate(cp);
            r = 0;
        } else if (str_eq(cmd, "pause")) {
            char line[64];
            r = fgets(line, sizeof(line), stdin) ? 0 : err_set(&e, ERR_USAGE, "stdin closed");
        } else {
            r = err_set(&e, ERR_USAGE, "unknown command '%s'", cmd);
        }
        if (report(r, &e, val) < 0)
            failures++;
        secret_free(val);
    }
    printf("requests %" PRIu64 "\n", m ? imds_request_count(m) : 0);
    creds_provider_free(cp);
    imds_free(m);
    log_close();
    return failures ? 1 : 0;
}
