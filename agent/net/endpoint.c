/* endpoint: see endpoint.h. */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/util.h"

/*
 * Region prefix -> partition and domain.  The ISO partitions are here so that a region IMDS
 * reports from one of them gets a plausible default (v2-delta V-018); first match wins.
 */
static const struct {
    const char *prefix;
    const char *partition;
    const char *domain;
} partitions[] = {
    {"cn-", "aws-cn", "amazonaws.com.cn"},       {"us-gov-", "aws-us-gov", "amazonaws.com"},
    {"eusc-", "aws-eusc", "amazonaws.eu"},       {"us-isob-", "aws-iso-b", "sc2s.sgov.gov"},
    {"us-isof-", "aws-iso-f", "csp.hci.ic.gov"}, {"eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"},
    {"us-iso-", "aws-iso", "c2s.ic.gov"},
};

/* V-019: the regions where Ruby and v2 allow :use_fips_mode:. */
static const char *const fips_regions[] = {
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-west-1", "us-gov-east-1", NULL,
};

static int partition_index(const char *region)
{
    for (size_t i = 0; region && i < sizeof(partitions) / sizeof(partitions[0]); i++)
        if (str_has_prefix(region, partitions[i].prefix))
            return (int)i;
    return -1;
}

const char *endpoint_domain_for_region(const char *region)
{
    int i = partition_index(region);
    return i < 0 ? "amazonaws.com" : partitions[i].domain;
}

const char *endpoint_partition_for_region(const char *region)
{
    int i = partition_index(region);
    return i < 0 ? "aws" : partitions[i].partition;
}

bool endpoint_fips_allowed(const char *region)
{
    for (size_t i = 0; region && fips_regions[i]; i++)
        if (strcmp(region, fips_regions[i]) == 0)
            return true;
    return false;
}

/* ^[0-9a-z-]{1,max}$ (max 0: unbounded) */
static bool region_chars_ok(const char *r, size_t max)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || (max && n > max))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)r[i]) || isdigit((unsigned char)r[i]) || r[i] == '-'))
            return false;
    return true;
}

/* ^cn\-\w+\-\d+$ with \w = [A-Za-z0-9_] (greedy \w+ may include '-': no, \w excludes it). */
static bool cn_region_ok(const char *r)
{
    if (!str_has_prefix(r, "cn-"))
        return false;
    const char *p = r + 3;
    const char *w = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (p == w || *p != '-')
        return false;
    p++;
    const char *d = p;
    while (isdigit((unsigned char)*p))
        p++;
    return p != d && *p == '\0';
}

int endpoint_check_domain(const char *domain, const char *region, struct err *err)
{
    const char *d = domain ? domain : "";
    bool ok;
    if (strcmp(d, "amazonaws.com") == 0 || strcmp(d, "amazonaws.eu") == 0)
        ok = region_chars_ok(region, 20);
    else if (strcmp(d, "amazonaws.com.cn") == 0)
        ok = region && cn_region_ok(region);
    else
        return err_set(err, ERR_CONFIG, "Unknown domain: %s", d);
    if (!ok)
        return err_set(err, ERR_CONFIG, "Invalid region: %s", region ? region : "");
    return 0;
}

/* The "host[:port]" of an http(s) URL (caller frees), *ret_rest after it; NULL if not a URL. */
static char *url_host(const char *url, const char **ret_rest)
{
    const char *p;
    if (str_has_prefix(url, "https://"))
        p = url + 8;
    else if (str_has_prefix(url, "http://"))
        p = url + 7;
    else
        return NULL;
    size_t n = strcspn(p, "/?#");
    if (n == 0 || memchr(p, '@', n) || memchr(p, ' ', n))
        return NULL;
    if (ret_rest)
        *ret_rest = p + n;
    return xstrndup(p, n);
}

static const char *url_scheme(const char *url)
{
    return str_has_prefix(url, "http://") ? "http" : "https";
}

static bool is_set(const char *s)
{
    return s && *s;
}

int endpoint_commands_resolve(const struct endpoint_commands_opts *o, struct endpoint_commands *ret,
                              struct err *err)
{
    if (!region_chars_ok(o->region, 0))
        return err_set(err, ERR_CONFIG, "resolve the CodeDeploy endpoint: invalid region '%s'",
                       o->region ? o->region : "");
    struct endpoint_commands r = {
        .signing_name = o->secure ? ENDPOINT_COMMANDS_SECURE_SERVICE : ENDPOINT_COMMANDS_SERVICE,
        .target_prefix = o->secure ? ENDPOINT_SECURE_TARGET_PREFIX : ENDPOINT_TARGET_PREFIX,
    };
    if (is_set(o->override_url)) {
        r.host = url_host(o->override_url, NULL);
        if (!r.host)
            return err_set(err, ERR_CONFIG,
                           "use :deploy_control_endpoint: '%s': not an http:// or https:// URL "
                           "with a host",
                           o->override_url);
        r.url = xstrdup(o->override_url);
    } else {
        const char *domain = is_set(o->domain) ? o->domain : endpoint_domain_for_region(o->region);
        r.host = xasprintf("%s%s%s.%s.%s", ENDPOINT_COMMANDS_SERVICE, o->secure ? "-secure" : "",
                           o->fips ? "-fips" : "", o->region, domain);
        r.url = xasprintf("https://%s", r.host);
    }
    *ret = r;
    return 0;
}

void endpoint_commands_done(struct endpoint_commands *e)
{
    if (!e)
        return;
    free(e->url);
    free(e->host);
    e->url = e->host = NULL;
}

/* Host part without port or brackets is an IP address literal or "localhost". */
static bool host_is_ip_or_localhost(const char *hostport)
{
    char h[256];
    if (hostport[0] == '[') {
        size_t n = strcspn(hostport + 1, "]");
        if (n >= sizeof(h))
            return false;
        memcpy(h, hostport + 1, n);
        h[n] = '\0';
    } else {
        size_t n = strcspn(hostport, ":");
        if (n >= sizeof(h))
            return false;
        memcpy(h, hostport, n);
        h[n] = '\0';
    }
    unsigned char addr[16];
    return strcasecmp(h, "localhost") == 0 || inet_pton(AF_INET, h, addr) == 1 ||
           inet_pton(AF_INET6, h, addr) == 1;
}

/* R-112: DNS-compatible (3-63 of [a-z0-9-], letter/digit at both ends) and without '.'. */
static bool bucket_virtual_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-'))
            return false;
    return b[0] != '-' && b[n - 1] != '-';
}

/* RFC 3986 unreserved set kept; '/' kept when keep_slash. */
static void encode_into(struct buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            (void)buf_append(b, p, 1, NULL);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            (void)buf_append(b, e, 3, NULL);
        }
    }
}

/* Scheme, host and base path of the S3 endpoint into the out parameters (caller frees). */
static int s3_base(const struct endpoint_s3_opts *o, char **ret_scheme, char **ret_host,
                   char **ret_base, struct err *err)
{
    if (is_set(o->override_url)) {
        const char *rest = NULL;
        char *host = url_host(o->override_url, &rest);
        if (!host) {
            /* A literal -1 so the analyzer, which cannot see into err.c, knows the out
             * parameters are set whenever this returns 0. */
            (void)err_set(err, ERR_CONFIG,
                          "use :s3_endpoint_override: '%s': not an http:// or https:// URL "
                          "with a host",
                          o->override_url);
            return -1;
        }
        size_t bl = strcspn(rest, "?#");
        while (bl > 0 && rest[bl - 1] == '/')
            bl--;
        *ret_scheme = xstrdup(url_scheme(o->override_url));
        *ret_host = host;
        *ret_base = xstrndup(rest, bl);
        return 0;
    }
    if (o->fips)
        *ret_host = xasprintf("s3-fips.%s.amazonaws.com", o->region);
    else if (strcmp(o->region, "eusc-de-east-1") == 0)
        *ret_host = xstrdup("s3.eusc-de-east-1.amazonaws.eu");
    else
        *ret_host =
            xasprintf("s3.%s.%s", o->region,
                      is_set(o->domain) ? o->domain : endpoint_domain_for_region(o->region));
    *ret_scheme = xstrdup("https");
    *ret_base = xstrdup("");
    return 0;
}

int endpoint_s3_object(const struct endpoint_s3_opts *o, const char *bucket, const char *key,
                       const char *version_id, struct endpoint_s3_object *ret, struct err *err)
{
    if (!region_chars_ok(o->region, 0))
        return err_set(err, ERR_CONFIG, "resolve the S3 endpoint: invalid region '%s'",
                       o->region ? o->region : "");
    if (!is_set(bucket))
        return err_set(err, ERR_CONFIG, "resolve the S3 endpoint: empty bucket name");
    if (!is_set(key))
        return err_set(err, ERR_CONFIG, "resolve the S3 endpoint for bucket '%s': empty key",
                       bucket);
    AUTOFREE char *scheme = NULL;
    AUTOFREE char *ep_host = NULL;
    AUTOFREE char *base = NULL;
    if (s3_base(o, &scheme, &ep_host, &base, err) < 0)
        return -1;
    struct endpoint_s3_object r = {0};
    r.path_style = !bucket_virtual_ok(bucket) || host_is_ip_or_localhost(ep_host);
    struct buf pq;
    buf_init(&pq, SIZE_MAX);
    (void)buf_append(&pq, base, strlen(base), NULL);
    if (r.path_style) {
        r.host = TAKE_PTR(ep_host);
        (void)buf_append(&pq, "/", 1, NULL);
        encode_into(&pq, bucket, false);
    } else {
        r.host = xasprintf("%s.%s", bucket, ep_host);
    }
    (void)buf_append(&pq, "/", 1, NULL);
    encode_into(&pq, key, true);
    if (is_set(version_id)) {
        (void)buf_append(&pq, "?versionId=", 11, NULL);
        encode_into(&pq, version_id, false);
    }
    r.path_query = buf_steal(&pq);
    r.url = xasprintf("%s://%s%s", scheme, r.host, r.path_query);
    *ret = r;
    return 0;
}

void endpoint_s3_object_done(struct endpoint_s3_object *e)
{
    if (!e)
        return;
    free(e->url);
    free(e->host);
    free(e->path_query);
    e->url = e->host = e->path_query = NULL;
}
