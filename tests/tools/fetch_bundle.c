/*
 * fetch_bundle: drive agent/bundle from end-to-end tests (issue 6).
 *
 *   fetch_bundle s3 --region R --endpoint URL --bucket B --key K --dest PATH
 *                [--version V] [--etag E] [--key-id A --secret S [--token T]]
 *                [--imds] [--attempts N] [--retry-ms N] [--max-bytes N] [--fips] [--progress]
 *                [--connections N --part-bytes N --parts-min-bytes N] [--min-rate N]
 *                [--rate-window-ms N] [--extract DIR [--type tar|tgz]]
 * --connections turns parts on (clients like the first one); --extract extracts while
 * downloading and prints "extracted entries=N" on success.  --unpack-after DIR extracts the
 * bundle after the download (zip); --timing prints "timing total_s=T tail_s=L" (tail: from the
 * last body byte to the end, extraction included), for bench/bundle.
 *   fetch_bundle github --api URL --account A --repo R --commit C --dest PATH
 *                [--type tar|zip] [--token T] [--fast-sleep] [--progress]
 * --imds takes the credentials from IMDS (AWS_EC2_METADATA_SERVICE_ENDPOINT) instead of the keys.
 * Prints "ok size=N etag=E version=V attempts=N" or "error <code name> <message>"; --progress
 * prints "progress <done> <total>" lines on stderr; --fast-sleep makes the GitHub waits instant
 * and prints "slept <ms>".  Exit status 0 on success, 1 on failure, 2 on bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/bundle.h"
#include "aws/creds.h"
#include "net/http.h"
#include "aws/imds.h"
#include "base/log.h"
#include "base/fsutil.h"
#include "base/util.h"

static uint64_t last_byte_usec;

static void progress(void *arg, uint64_t done, uint64_t total, double rate)
{
    last_byte_usec = now_usec();
    if (arg)
        fprintf(stderr, "progress %" PRIu64 " %" PRIu64 " %.0f\n", done, total, rate);
}

static void fast_sleep(void *arg, uint64_t ms)
{
    (void)arg;
    printf("slept %" PRIu64 "\n", ms);
    fflush(stdout);
}

struct args {
    const char *region, *endpoint, *bucket, *key, *dest, *version, *etag, *key_id, *secret, *token,
        *api, *account, *repo, *commit, *type;
    uint64_t attempts, retry_ms, max_bytes, connections, part_bytes, parts_min, min_rate, window_ms;
    const char *extract, *unpack_after;
    bool timing;
    bool fips, progress, fast_sleep, imds;
};

static int parse(int argc, char **argv, struct args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (str_eq(o, "--fips")) {
            a->fips = true;
            continue;
        }
        if (str_eq(o, "--progress")) {
            a->progress = true;
            continue;
        }
        if (str_eq(o, "--imds")) {
            a->imds = true;
            continue;
        }
        if (str_eq(o, "--fast-sleep")) {
            a->fast_sleep = true;
            continue;
        }
        if (!v)
            return -1;
        if (str_eq(o, "--attempts")) {
            if (parse_uint(v, 1, 100, &a->attempts, NULL) < 0)
                return -1;
            i++;
            continue;
        }
        if (str_eq(o, "--max-bytes")) {
            if (parse_uint(v, 1, UINT64_MAX, &a->max_bytes, NULL) < 0)
                return -1;
            i++;
            continue;
        }
        static const char *nums[] = {"--connections", "--part-bytes", "--parts-min-bytes",
                                     "--min-rate", "--rate-window-ms"};
        uint64_t *nslots[] = {&a->connections, &a->part_bytes, &a->parts_min, &a->min_rate,
                              &a->window_ms};
        bool num = false;
        for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
            if (str_eq(o, nums[k])) {
                if (parse_uint(v, 1, UINT64_MAX, nslots[k], NULL) < 0)
                    return -1;
                num = true;
            }
        if (num) {
            i++;
            continue;
        }
        if (str_eq(o, "--timing")) {
            a->timing = true;
            continue;
        }
        if (str_eq(o, "--unpack-after")) {
            a->unpack_after = v;
            i++;
            continue;
        }
        if (str_eq(o, "--extract")) {
            a->extract = v;
            i++;
            continue;
        }
        if (str_eq(o, "--retry-ms")) {
            if (parse_uint(v, 1, 60000, &a->retry_ms, NULL) < 0)
                return -1;
            i++;
            continue;
        }
        static const char *names[] = {"--region",  "--endpoint", "--bucket", "--key",    "--dest",
                                      "--version", "--etag",     "--key-id", "--secret", "--token",
                                      "--api",     "--account",  "--repo",   "--commit", "--type"};
        const char **slots[] = {&a->region,  &a->endpoint, &a->bucket, &a->key,    &a->dest,
                                &a->version, &a->etag,     &a->key_id, &a->secret, &a->token,
                                &a->api,     &a->account,  &a->repo,   &a->commit, &a->type};
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (str_eq(o, names[k]))
                slot = slots[k];
        if (!slot)
            return -1;
        *slot = v;
        i++;
    }
    return a->dest ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    if (argc < 2 || parse(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: fetch_bundle s3|github OPTIONS (see the source)\n");
        return 2;
    }
    struct log_opts lo = {.program = "fetch_bundle"};
    (void)log_open(&lo, NULL);
    struct err e = ERR_INIT;
    struct http_client_opts ho = {0};
    struct http_client *http = http_client_new(&ho, &e);
    struct bundle_result res = {0};
    struct creds_provider *cp = NULL;
    struct imds *m = NULL;
    int r = -1;
    if (!http) {
        /* reported below */
    } else if (str_eq(argv[1], "s3")) {
        struct creds_opts co = {.iam_user_arn = "arn:aws:iam::123456789012:user/test",
                                .access_key_id = a.key_id,
                                .secret_access_key = a.secret};
        if (a.imds) {
            struct imds_opts io = {0};
            m = imds_new(&io, &e);
            struct creds_opts mo = {.imds = m};
            cp = m ? creds_provider_new(&mo, &e) : NULL;
        } else {
            cp = creds_provider_new(&co, &e);
        }
        if (cp && a.token) {
            /* A session token needs the file source: write a throwaway credentials file. */
            creds_provider_free(cp);
            AUTOFREE char *path = xasprintf("%s.creds", a.dest);
            AUTOFREE char *ini = xasprintf("[default]\naws_access_key_id=%s\n"
                                           "aws_secret_access_key=%s\naws_session_token=%s\n",
                                           a.key_id, a.secret, a.token);
            struct creds_opts so = {.iam_session_arn = "arn:aws:sts::1:assumed-role/r/s",
                                    .credentials_file = path};
            cp = write_file_atomic(path, ini, strlen(ini), 0600, &e) == 0
                     ? creds_provider_new(&so, &e)
                     : NULL;
        }
        if (cp) {
            struct bundle_s3_source src = {a.bucket, a.key, a.version, a.etag};
            struct bundle_extract bx = {unpack_format_from_type(a.type), a.extract, NULL};
            struct bundle_s3_opts so = {
                .region = a.region,
                .endpoint_override = a.endpoint,
                .use_fips = a.fips,
                .creds = cp,
                .http = http,
                .attempts = (int)a.attempts,
                .retry_base_ms = a.retry_ms,
                .max_bytes = a.max_bytes,
                .progress = a.progress || a.timing ? progress : NULL,
                .progress_arg = a.progress ? &a : NULL,
                .http_opts = a.connections ? &ho : NULL,
                .connections = (int)a.connections,
                .part_bytes = a.part_bytes,
                .parts_min_bytes = a.parts_min,
                .min_rate_bps = a.min_rate,
                .rate_window_ms = a.window_ms,
                .extract = a.extract ? &bx : NULL,
            };
            uint64_t t0 = now_usec();
            r = bundle_fetch_s3(&src, &so, a.dest, &res, &e);
            if (r == 0 && a.unpack_after)
                r = unpack_archive(a.dest, bx.fmt, a.unpack_after, NULL, NULL, &e);
            uint64_t t1 = now_usec();
            if (r == 0 && a.timing)
                printf("timing total_s=%.3f tail_s=%.3f\n", (double)(t1 - t0) / 1e6,
                       (double)(t1 - (last_byte_usec ? last_byte_usec : t0)) / 1e6);
        }
    } else if (str_eq(argv[1], "github")) {
        struct bundle_github_source src = {a.account, a.repo, a.commit, a.type, a.token};
        struct bundle_github_opts go = {
            .api_base = a.api,
            .http = http,
            .max_bytes = a.max_bytes,
            .sleep = a.fast_sleep ? fast_sleep : NULL,
            .progress = a.progress ? progress : NULL,
            .progress_arg = &a,
        };
        r = bundle_fetch_github(&src, &go, a.dest, &res, &e);
    } else {
        err_set(&e, ERR_USAGE, "unknown source '%s'", argv[1]);
    }
    if (r == 0)
        printf("ok size=%" PRIu64 " etag=%s version=%s attempts=%d parts=%d\n", res.size,
               res.etag ? res.etag : "", res.version_id ? res.version_id : "", res.attempts,
               res.parts);
    if (r == 0 && res.extracted)
        printf("extracted entries=%" PRIu64 "\n", res.unpacked.entries);
    if (r != 0)
        printf("error %s %s\n", err_code_name(e.code), e.msg);
    bundle_result_done(&res);
    creds_provider_free(cp);
    imds_free(m);
    http_client_free(http);
    log_close();
    return r == 0 ? 0 : 1;
}
