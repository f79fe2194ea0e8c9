/* sigv4: see sigv4.h.  Stub bodies; the signer lands next. */
#include "sigv4-internal.h"

#include <stdlib.h>

#include "http.h"
#include "util.h"

void sigv4_result_done(struct sigv4_result *r)
{
    (void)r;
}

int sigv4_compute(const char *method, const char *url, const struct http_headers *headers,
                  const void *body, size_t body_len, const struct sigv4_creds *creds,
                  const struct sigv4_params *params, bool presign, struct sigv4_result *ret,
                  struct err *err)
{
    (void)method, (void)url, (void)headers, (void)body, (void)body_len, (void)creds;
    (void)params, (void)presign, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "sigv4: not implemented yet");
}

int sigv4_sign_headers(const char *method, const char *url, struct http_headers *headers,
                       const void *body, size_t body_len, const struct sigv4_creds *creds,
                       const struct sigv4_params *params, struct err *err)
{
    struct sigv4_result r;
    return sigv4_compute(method, url, headers, body, body_len, creds, params, false, &r, err);
}

int sigv4_presign_query(const char *method, const char *url, const struct http_headers *headers,
                        const void *body, size_t body_len, const struct sigv4_creds *creds,
                        const struct sigv4_params *params, char **ret_query, struct err *err)
{
    struct sigv4_result r;
    (void)ret_query;
    return sigv4_compute(method, url, headers, body, body_len, creds, params, true, &r, err);
}

bool sigv4_is_skew_error(const char *code, const char *message)
{
    (void)code, (void)message;
    return false;
}

int sigv4_clock_offset(const char *date, time_t local_now, long *ret_offset_sec, struct err *err)
{
    (void)date, (void)local_now, (void)ret_offset_sec;
    return err_set(err, ERR_UNSUPPORTED, "sigv4: not implemented yet");
}
