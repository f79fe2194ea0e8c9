/* spec: see spec.h. */
#include "parse/spec.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "base/util.h"

#define MSG_NIL "Provided deployment spec was nil"
#define MSG_BAD_SIGNATURE "Validation of PKCS7 signed message failed"
#define MAX_COMPONENT 255

static void cleanup_cjson(cJSON **p)
{
    cJSON_Delete(*p);
}
#define AUTOJSON __attribute__((cleanup(cleanup_cjson)))

/* ---- envelope ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decode base64 (whitespace ignored, '=' padding optional).  Returns the length or -1. */
static long b64_decode(const char *in, size_t len, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    bool padding = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            padding = true;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || padding)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 6)
        return -1;
    return (long)n;
}

/* Turn a payload in PEM armour, raw DER or bare base64 into DER.  Caller frees. */
static unsigned char *payload_to_der(const char *payload, size_t len, size_t *ret_len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)payload[i]))
        i++;
    const char *p = payload + i;
    size_t n = len - i;
    if (n > 0 && (unsigned char)p[0] == 0x30) {
        unsigned char *der = xmalloc(n);
        memcpy(der, p, n);
        *ret_len = n;
        return der;
    }
    if (n >= 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
        const char *eol = memchr(p, '\n', n);
        if (!eol)
            return NULL;
        const char *body = eol + 1;
        size_t rest = n - (size_t)(body - p);
        const char *end = memmem(body, rest, "-----END ", 9);
        if (!end)
            return NULL;
        p = body;
        n = (size_t)(end - body);
    }
    unsigned char *der = xmalloc(n / 4 * 3 + 3);
    long dl = b64_decode(p, n, der);
    if (dl <= 0) {
        free(der);
        return NULL;
    }
    *ret_len = (size_t)dl;
    return der;
}

static char *signer_subject(PKCS7 *p7)
{
    STACK_OF(X509) *signers = PKCS7_get0_signers(p7, NULL, 0);
    char *ret = NULL;
    if (signers && sk_X509_num(signers) > 0) {
        char *s = X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), NULL, 0);
        if (s) {
            ret = xstrdup(s);
            OPENSSL_free(s);
        }
    }
    sk_X509_free(signers);
    return ret;
}

/*
 * SignedData with embedded content, >= 1 signer, each signer's certificate embedded, the
 * content digest and signatures verified, the chain not (PKCS7_NOVERIFY).  The content OpenSSL
 * writes to `out` is only used when the whole verification succeeded.
 */
static int verify_pkcs7(const unsigned char *der, size_t der_len, char **ret_json, size_t *ret_len,
                        char **ret_signer, struct err *err)
{
    int rc = -1;
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)der_len);
    BIO *out = NULL;
    if (!p7 || !PKCS7_type_is_signed(p7) || PKCS7_get_detached(p7))
        goto out;
    STACK_OF(PKCS7_SIGNER_INFO) *infos = PKCS7_get_signer_info(p7);
    if (!infos || sk_PKCS7_SIGNER_INFO_num(infos) <= 0)
        goto out;
    out = BIO_new(BIO_s_mem());
    if (!out)
        goto out;
    /* No extra certificates and no store: only the embedded signer certificates are used. */
    if (PKCS7_verify(p7, NULL, NULL, NULL, out, PKCS7_NOVERIFY | PKCS7_BINARY) != 1)
        goto out;
    char *data = NULL;
    long dlen = BIO_get_mem_data(out, &data);
    if (dlen < 0 || (size_t)dlen > SPEC_MAX_PAYLOAD) {
        ERR_clear_error();
        PKCS7_free(p7);
        BIO_free(out);
        return err_set(err, ERR_LIMIT, "deployment specification content is larger than %d bytes",
                       SPEC_MAX_PAYLOAD);
    }
    char *json = xmalloc((size_t)dlen + 1);
    if (dlen > 0)
        memcpy(json, data, (size_t)dlen);
    json[dlen] = '\0';
    if (ret_signer)
        *ret_signer = signer_subject(p7);
    *ret_json = json;
    *ret_len = (size_t)dlen;
    rc = 0;
out:
    ERR_clear_error();
    BIO_free(out);
    PKCS7_free(p7);
    if (rc < 0)
        err_set(err, ERR_SIGNATURE, MSG_BAD_SIGNATURE);
    return rc;
}

int spec_open_envelope(const char *format, const char *payload, size_t payload_len, bool allow_text,
                       char **ret_json, size_t *ret_len, char **ret_signer, struct err *err)
{
    const char *fmt = format ? format : "";
    bool pkcs7 = strcmp(fmt, "PKCS7/JSON") == 0;
    bool text = strcmp(fmt, "TEXT/JSON") == 0 || strcmp(fmt, "JSON") == 0;

    if (!format && !payload)
        return err_set(err, ERR_PARSE, MSG_NIL);
    if (!pkcs7 && !(text && allow_text))
        return err_set(err, ERR_UNSUPPORTED, "Unsupported DeploymentSpecification format: %s", fmt);
    if (!payload || payload_len == 0)
        return err_set(err, ERR_PARSE, MSG_NIL);
    if (payload_len > SPEC_MAX_PAYLOAD)
        return err_set(err, ERR_LIMIT, "deployment specification payload is larger than %d bytes",
                       SPEC_MAX_PAYLOAD);
    if (text) {
        *ret_json = xstrndup(payload, payload_len);
        *ret_len = strlen(*ret_json);
        if (ret_signer)
            *ret_signer = NULL;
        return 0;
    }
    size_t der_len = 0;
    AUTOFREE unsigned char *der = payload_to_der(payload, payload_len, &der_len);
    if (!der)
        return err_set(err, ERR_SIGNATURE, MSG_BAD_SIGNATURE);
    return verify_pkcs7(der, der_len, ret_json, ret_len, ret_signer, err);
}

/* ---- paths ---- */

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

bool spec_path_component_ok(const char *s)
{
    if (!s || !*s || strlen(s) > MAX_COMPONENT)
        return false;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    if (strchr(s, '/') || strchr(s, '\\'))
        return false;
    return !has_control(s);
}

bool spec_relpath_ok(const char *s)
{
    if (!s || !*s || s[0] == '/' || strchr(s, '\\') || has_control(s) || strlen(s) > 4096)
        return false;
    const char *p = s;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (!slash)
            break;
        p = slash + 1;
    }
    /* A name that ends in '/' or is only "." names a directory, not a file. */
    return s[strlen(s) - 1] != '/' && strcmp(s, ".") != 0;
}

char *spec_deployment_id_from_arn(const char *id)
{
    if (!id)
        return NULL;
    if (!str_has_prefix(id, "arn:"))
        return xstrdup(id);
    const char *f = id;
    for (int i = 0; i < 5; i++) {
        f = strchr(f, ':');
        if (!f)
            return NULL;
        f++;
    }
    const char *end = strchr(f, ':');
    size_t n = end ? (size_t)(end - f) : strlen(f);
    const char *slash = memchr(f, '/', n);
    if (!slash || slash + 1 >= f + n)
        return NULL;
    return xstrndup(slash + 1, n - (size_t)(slash + 1 - f));
}

/* ---- document ---- */

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Ruby's property_set?: present, not null, not empty. */
static const char *jset(const cJSON *o, const char *name)
{
    const char *s = jstr(o, name);
    return s && *s ? s : NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void revision_done(struct spec_revision *r)
{
    free(r->type_name);
    free(r->bundle_type_name);
    free(r->bucket);
    free(r->key);
    free(r->version);
    free(r->etag);
    free(r->account);
    free(r->repository);
    free(r->commit_id);
    free(r->location);
}

void spec_free(struct deploy_spec *s)
{
    if (!s)
        return;
    free(s->deployment_id);
    free(s->deployment_id_raw);
    free(s->deployment_group_id);
    free(s->deployment_group_name);
    free(s->application_name);
    free(s->application_id);
    free(s->deployment_creator);
    free(s->deployment_type_name);
    free(s->appspec_filename);
    free(s->file_exists_behavior);
    for (size_t i = 0; i < s->n_all_lifecycle_events; i++)
        free(s->all_lifecycle_events[i]);
    free(s->all_lifecycle_events);
    secret_free(s->github_access_token);
    free(s->reuse_archive_from);
    revision_done(&s->revision);
    free(s);
}

static void cleanup_spec(struct deploy_spec **p)
{
    spec_free(*p);
}

static int bundle_from_name(const char *name, bool allow_directory, enum spec_bundle_type *ret)
{
    static const struct {
        const char *name;
        enum spec_bundle_type type;
    } names[] = {
        {"tar", SPEC_BUNDLE_TAR},
        {"tgz", SPEC_BUNDLE_TGZ},
        {"zip", SPEC_BUNDLE_ZIP},
        {"directory", SPEC_BUNDLE_DIRECTORY},
    };
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            if (names[i].type == SPEC_BUNDLE_DIRECTORY && !allow_directory)
                return -1;
            *ret = names[i].type;
            return 0;
        }
    }
    return -1;
}

static int parse_s3(const cJSON *rev, struct spec_revision *r, struct err *err)
{
    const cJSON *s3 = cJSON_GetObjectItemCaseSensitive(rev, "S3Revision");
    const char *bucket = jset(s3, "Bucket");
    const char *key = jset(s3, "Key");
    const char *bundle = jstr(s3, "BundleType");
    if (!cJSON_IsObject(s3) || !bucket || !key || !bundle)
        return err_set(err, ERR_PARSE,
                       "S3Revision in Deployment Spec must specify Bucket, Key and BundleType");
    if (bundle_from_name(bundle, false, &r->bundle_type) < 0)
        return err_set(err, ERR_PARSE, "BundleType in S3Revision must be tar, tgz or zip");
    r->type = SPEC_REV_S3;
    r->bucket = xstrdup(bucket);
    r->key = xstrdup(key);
    r->bundle_type_name = xstrdup(bundle);
    r->version = dup_or_null(jset(s3, "Version"));
    r->etag = dup_or_null(jset(s3, "ETag"));
    return 0;
}

static int parse_github(const cJSON *rev, struct spec_revision *r, struct err *err)
{
    const cJSON *gh = cJSON_GetObjectItemCaseSensitive(rev, "GitHubRevision");
    const char *account = jset(gh, "Account");
    const char *repo = jset(gh, "Repository");
    const char *commit = jset(gh, "CommitId");
    const cJSON *anon = cJSON_GetObjectItemCaseSensitive(gh, "Anonymous");
    if (!cJSON_IsObject(gh) || !account || !repo || !commit ||
        (cJSON_IsFalse(anon) && !cJSON_GetObjectItemCaseSensitive(gh, "OAuthToken")))
        return err_set(err, ERR_PARSE,
                       "GitHubRevision in Deployment Spec must specify Account, Repository and "
                       "CommitId");
    const char *bundle = jset(gh, "BundleType");
    if (!bundle)
        bundle = "tar";
    if (bundle_from_name(bundle, false, &r->bundle_type) < 0)
        return err_set(err, ERR_PARSE, "BundleType in GitHubRevision must be tar, tgz or zip");
    r->type = SPEC_REV_GITHUB;
    r->account = xstrdup(account);
    r->repository = xstrdup(repo);
    r->commit_id = xstrdup(commit);
    r->bundle_type_name = xstrdup(bundle);
    return 0;
}

static int parse_local(const cJSON *rev, bool directory, struct spec_revision *r, struct err *err)
{
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(rev, "LocalRevision");
    const char *location = jset(loc, "Location");
    const char *bundle = jstr(loc, "BundleType");
    if (!cJSON_IsObject(loc) || !location || !bundle)
        return err_set(err, ERR_PARSE,
                       "LocalRevision in Deployment Spec must specify Location and BundleType");
    if (bundle_from_name(bundle, true, &r->bundle_type) < 0)
        return err_set(err, ERR_PARSE,
                       "BundleType in LocalRevision must be tar, tgz, zip, or directory");
    r->type = directory ? SPEC_REV_LOCAL_DIRECTORY : SPEC_REV_LOCAL_FILE;
    r->location = xstrdup(location);
    r->bundle_type_name = xstrdup(bundle);
    return 0;
}

static int parse_revision(const cJSON *doc, const struct spec_parse_opts *opts,
                          struct spec_revision *r, struct err *err)
{
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(doc, "Revision");
    if (!rev || cJSON_IsNull(rev))
        return err_set(err, ERR_PARSE, "Must specify a revison");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rev, "RevisionType");
    if (!cJSON_IsObject(rev) || !type || cJSON_IsNull(type))
        return err_set(err, ERR_PARSE, "Must specify a revision source");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    int rc;
    if (strcmp(name, "S3") == 0) {
        rc = parse_s3(rev, r, err);
    } else if (strcmp(name, "GitHub") == 0) {
        rc = parse_github(rev, r, err);
    } else if (strcmp(name, "Local File") == 0 || strcmp(name, "Local Directory") == 0) {
        if (!opts || !opts->allow_local_revisions)
            return err_set(err, ERR_UNSUPPORTED,
                           "Revision type '%s' is only supported by codedeploy-local", name);
        rc = parse_local(rev, strcmp(name, "Local Directory") == 0, r, err);
    } else {
        return err_set(err, ERR_PARSE,
                       "Exactly one of S3Revision, GitHubRevision, or LocalRevision must be "
                       "specified");
    }
    if (rc == 0)
        r->type_name = xstrdup(name);
    return rc;
}

static int parse_events(const cJSON *doc, struct deploy_spec *s, struct err *err)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(doc, "AllPossibleLifecycleEvents");
    if (!ev || cJSON_IsNull(ev))
        return 0;
    if (!cJSON_IsArray(ev))
        return err_set(err, ERR_PARSE, "AllPossibleLifecycleEvents must be a list of event names");
    int n = cJSON_GetArraySize(ev);
    s->all_lifecycle_events = xcalloc((size_t)n + 1, sizeof(char *));
    const cJSON *item;
    cJSON_ArrayForEach(item, ev)
    {
        if (!cJSON_IsString(item) || !*item->valuestring)
            return err_set(err, ERR_PARSE,
                           "AllPossibleLifecycleEvents must be a list of event names");
        s->all_lifecycle_events[s->n_all_lifecycle_events++] = xstrdup(item->valuestring);
    }
    s->has_all_lifecycle_events = true;
    return 0;
}

static char *upper_dup(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

static int check_component(const char *field, const char *value, struct err *err)
{
    if (spec_path_component_ok(value))
        return 0;
    return err_set(err, ERR_UNSAFE, "%s is not a valid path component: '%s'", field, value);
}

int spec_parse(const char *json, size_t len, const struct spec_parse_opts *opts,
               struct deploy_spec **ret, struct err *err)
{
    if (!json)
        return err_set(err, ERR_PARSE, MSG_NIL);
    if (len > SPEC_MAX_PAYLOAD)
        return err_set(err, ERR_LIMIT, "deployment specification is larger than %d bytes",
                       SPEC_MAX_PAYLOAD);
    /* A NUL-terminated copy lets cJSON insist that nothing but whitespace follows the object. */
    AUTOFREE char *text = xstrndup(json, len);
    const char *end = NULL;
    AUTOJSON cJSON *doc = cJSON_ParseWithLengthOpts(text, strlen(text) + 1, &end, true);
    if (!doc) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        return err_set(err, ERR_PARSE,
                       "Deployment specification is not valid JSON: parse error at offset %zu",
                       off);
    }
    if (!cJSON_IsObject(doc))
        return err_set(err, ERR_PARSE,
                       "Deployment specification is not valid JSON: not a JSON object");

    /* R-083, in Ruby's order. */
    const char *id = jset(doc, "DeploymentId");
    if (!id)
        return err_set(err, ERR_PARSE, "Deployment Spec has no DeploymentId");
    const char *group_id = jset(doc, "DeploymentGroupId");
    if (!group_id)
        return err_set(err, ERR_PARSE, "Deployment Spec has no DeploymentGroupId");
    const char *group_name = jset(doc, "DeploymentGroupName");
    if (!group_name)
        return err_set(err, ERR_PARSE, "Deployment Spec has no DeploymentGroupName");
    const char *app = jset(doc, "ApplicationName");
    if (!app)
        return err_set(err, ERR_PARSE, "Deployment Spec has no ApplicationName");

    __attribute__((cleanup(cleanup_spec))) struct deploy_spec *s = xcalloc(1, sizeof(*s));
    s->deployment_id_raw = xstrdup(id);
    s->deployment_id = spec_deployment_id_from_arn(id);
    if (!s->deployment_id)
        return err_set(err, ERR_PARSE, "Deployment Spec has an invalid DeploymentId ARN: '%s'", id);
    /* V-014: both become directory names under the root dir. */
    if (check_component("DeploymentId", s->deployment_id, err) < 0 ||
        check_component("DeploymentGroupId", group_id, err) < 0)
        return -1;
    s->deployment_group_id = xstrdup(group_id);
    s->deployment_group_name = xstrdup(group_name);
    s->application_name = xstrdup(app);
    s->application_id = dup_or_null(jset(doc, "ApplicationId"));

    /* R-085 defaults. */
    const char *creator = jset(doc, "DeploymentCreator");
    s->deployment_creator = xstrdup(creator ? creator : "user");
    const char *type = jset(doc, "DeploymentType");
    s->deployment_type_name = xstrdup(type ? type : "IN_PLACE");
    s->deployment_type = strcmp(s->deployment_type_name, "BLUE_GREEN") == 0 ? SPEC_DEPLOY_BLUE_GREEN
                                                                            : SPEC_DEPLOY_IN_PLACE;
    const char *appspec = jset(doc, "AppSpecFilename");
    if (appspec && !spec_relpath_ok(appspec))
        return err_set(err, ERR_UNSAFE,
                       "AppSpecFilename is not a safe revision-relative path: '%s'", appspec);
    s->appspec_filename = xstrdup(appspec ? appspec : "appspec.yml");

    /* */
    if (parse_revision(doc, opts, &s->revision, err) < 0)
        return -1;

    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(doc, "AgentActionOverrides");
    const cJSON *aov =
        cJSON_IsObject(ov) ? cJSON_GetObjectItemCaseSensitive(ov, "AgentOverrides") : NULL;
    const char *feb = cJSON_IsObject(aov) ? jset(aov, "FileExistsBehavior") : NULL;
    s->file_exists_behavior = upper_dup(feb ? feb : "DISALLOW");

    if (parse_events(doc, s, err) < 0)
        return -1;

    s->github_access_token = dup_or_null(jstr(doc, "GitHubAccessToken"));

    /* V-012: the format is validated where the id is used; here it is only reduced. */
    const char *reuse = jset(doc, "ReuseArchiveFromDeploymentId");
    if (reuse)
        s->reuse_archive_from = spec_deployment_id_from_arn(reuse);

    *ret = TAKE_PTR(s);
    return 0;
}

int spec_load(const char *format, const char *payload, size_t payload_len, bool allow_text,
              const struct spec_parse_opts *opts, struct deploy_spec **ret, struct err *err)
{
    AUTOFREE char *json = NULL;
    size_t len = 0;
    if (spec_open_envelope(format, payload, payload_len, allow_text, &json, &len, NULL, err) < 0)
        return -1;
    return spec_parse(json, len, opts, ret, err);
}

static void redact(cJSON *node)
{
    cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        if (child->string && cJSON_IsString(child) &&
            (strcmp(child->string, "GitHubAccessToken") == 0 ||
             strcmp(child->string, "OAuthToken") == 0))
            cJSON_SetValuestring(child, "REDACTED");
        else if (cJSON_IsObject(child) || cJSON_IsArray(child))
            redact(child);
    }
}

char *spec_redact_json(const char *json, size_t len)
{
    if (!json)
        return NULL;
    AUTOJSON cJSON *doc = cJSON_ParseWithLength(json, len);
    if (!doc)
        return NULL;
    redact(doc);
    char *s = cJSON_PrintUnformatted(doc);
    if (!s)
        return NULL;
    char *r = xstrdup(s);
    cJSON_free(s);
    return r;
}

bool spec_is_blue_green_rollback(const struct deploy_spec *s)
{
    return s && str_eq(s->deployment_creator, "codeDeployRollback") &&
           s->deployment_type == SPEC_DEPLOY_BLUE_GREEN;
}
