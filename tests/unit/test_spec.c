/* Tests for spec: the envelope (R-080, R-081, V-015) and the fields (R-082..R-087, V-012..V-014).
 * The envelope fixtures come from tests/data/spec/make-fixtures.py (openssl). */
#include <string.h>

#include "base/err.h"
#include "cli/local.h"
#include "parse/spec.h"
#include "test.h"
#include "base/fsutil.h"
#include "base/util.h"

static char *fixture(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/data/spec/%s", name);
    char *data = NULL;
    size_t n = 0;
    struct err e = ERR_INIT;
    if (read_file(test_src_path(rel), 1 << 20, &data, &n, &e) < 0)
        FAILF("read fixture %s: %s", name, e.msg);
    *len = n;
    return data;
}

/* Open a fixture as a PKCS7/JSON envelope; returns rc, fills e. */
static int open_fixture(const char *name, char **json, struct err *e)
{
    size_t n = 0, jl = 0;
    AUTOFREE char *payload = fixture(name, &n);
    return spec_open_envelope("PKCS7/JSON", payload, n, false, json, &jl, NULL, e);
}

static void expect_signature_failure(const char *name)
{
    struct err e = ERR_INIT;
    char *json = NULL;
    ASSERT_FAIL(open_fixture(name, &json, &e));
    ASSERT_NULL(json);
    ASSERT_EQ(e.code, ERR_SIGNATURE);
    ASSERT_STREQ(e.msg, "Validation of PKCS7 signed message failed");
}

TEST(spec_r080_pkcs7_pem_verifies_and_yields_content)
{
    size_t cl = 0;
    AUTOFREE char *content = fixture("content.json", &cl);
    size_t n = 0, jl = 0;
    AUTOFREE char *payload = fixture("good.pem", &n);
    AUTOFREE char *json = NULL;
    AUTOFREE char *signer = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(spec_open_envelope("PKCS7/JSON", payload, n, false, &json, &jl, &signer, &e));
    ASSERT_EQ(jl, cl);
    ASSERT_STREQ(json, content);
    ASSERT_CONTAINS(signer, "cdagent test deployment signer");
}

TEST(spec_r080_pkcs7_der_and_bare_base64_verify)
{
    size_t cl = 0;
    AUTOFREE char *content = fixture("content.json", &cl);
    const char *names[] = {"good.der", "good.b64", "ec.pem"};
    for (size_t i = 0; i < 3; i++) {
        AUTOFREE char *json = NULL;
        struct err e = ERR_INIT;
        if (open_fixture(names[i], &json, &e) < 0)
            FAILF("%s: %s", names[i], e.msg);
        ASSERT_STREQ(json, content);
    }
}

TEST(spec_r081_self_signed_signer_accepted_chain_not_validated)
{
    AUTOFREE char *json = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(open_fixture("selfsigned.pem", &json, &e));
    ASSERT_CONTAINS(json, "d-ABCDEF123");
}

TEST(spec_r081_tampered_content_rejected)
{
    expect_signature_failure("tampered.pem");
}

TEST(spec_r081_wrong_signature_rejected)
{
    expect_signature_failure("badsig.pem");
}

TEST(spec_r081_unsigned_detached_nocert_garbage_rejected)
{
    expect_signature_failure("nosigners.pem");
    expect_signature_failure("detached.pem");
    expect_signature_failure("nocerts.pem");
    expect_signature_failure("garbage.pem");
}

TEST(spec_r080_json_in_pkcs7_payload_rejected)
{
    size_t n = 0;
    AUTOFREE char *content = fixture("content.json", &n);
    char *json = NULL;
    size_t jl = 0;
    struct err e = ERR_INIT;
    ASSERT_FAIL(spec_open_envelope("PKCS7/JSON", content, n, false, &json, &jl, NULL, &e));
    ASSERT_EQ(e.code, ERR_SIGNATURE);
    ASSERT_NULL(json);
}

TEST(spec_r080_text_json_only_when_allowed)
{
    const char *doc = "{\"DeploymentId\":\"d-1\"}";
    char *json = NULL;
    size_t jl = 0;
    struct err e = ERR_INIT;
    ASSERT_FAIL(spec_open_envelope("TEXT/JSON", doc, strlen(doc), false, &json, &jl, NULL, &e));
    ASSERT_EQ(e.code, ERR_UNSUPPORTED);
    ASSERT_STREQ(e.msg, "Unsupported DeploymentSpecification format: TEXT/JSON");
    ASSERT_NULL(json);
    err_clear(&e);
    ASSERT_OK(spec_open_envelope("TEXT/JSON", doc, strlen(doc), true, &json, &jl, NULL, &e));
    ASSERT_STREQ(json, doc);
    free(json);
    json = NULL;
    /* V-015: plain JSON in developer mode too. */
    ASSERT_OK(spec_open_envelope("JSON", doc, strlen(doc), true, &json, &jl, NULL, &e));
    free(json);
}

TEST(spec_r080_unsupported_and_missing_formats)
{
    char *json = NULL;
    size_t jl = 0;
    struct err e = ERR_INIT;
    ASSERT_FAIL(spec_open_envelope("XML", "<x/>", 4, true, &json, &jl, NULL, &e));
    ASSERT_STREQ(e.msg, "Unsupported DeploymentSpecification format: XML");
    err_clear(&e);
    ASSERT_FAIL(spec_open_envelope(NULL, "x", 1, true, &json, &jl, NULL, &e));
    ASSERT_STREQ(e.msg, "Unsupported DeploymentSpecification format: ");
    err_clear(&e);
    ASSERT_FAIL(spec_open_envelope(NULL, NULL, 0, true, &json, &jl, NULL, &e));
    ASSERT_STREQ(e.msg, "Provided deployment spec was nil");
    err_clear(&e);
    ASSERT_FAIL(spec_open_envelope("PKCS7/JSON", "", 0, false, &json, &jl, NULL, &e));
    ASSERT_STREQ(e.msg, "Provided deployment spec was nil");
    ASSERT_NULL(json);
}

TEST(spec_load_good_fixture_end_to_end)
{
    size_t n = 0;
    AUTOFREE char *payload = fixture("good.pem", &n);
    struct deploy_spec *s = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(spec_load("PKCS7/JSON", payload, n, false, NULL, &s, &e));
    ASSERT_STREQ(s->deployment_id, "d-ABCDEF123");
    ASSERT_STREQ(s->revision.bucket, "my-bucket");
    spec_free(s);
}

/* ---- fields ---- */

static struct deploy_spec *parse_ok(const char *json)
{
    struct deploy_spec *s = NULL;
    struct err e = ERR_INIT;
    struct spec_parse_opts o = {.allow_local_revisions = true};
    if (spec_parse(json, strlen(json), &o, &s, &e) < 0)
        FAILF("spec_parse failed: %s\n    %s", e.msg, json);
    return s;
}

static void parse_fails(const char *json, int code, const char *msg)
{
    struct deploy_spec *s = NULL;
    struct err e = ERR_INIT;
    struct spec_parse_opts o = {.allow_local_revisions = true};
    if (spec_parse(json, strlen(json), &o, &s, &e) == 0) {
        spec_free(s);
        FAILF("spec_parse succeeded, expected '%s'\n    %s", msg, json);
    }
    ASSERT_NULL(s);
    ASSERT_EQ(e.code, code);
    ASSERT_STREQ(e.msg, msg);
}

#define HEAD                                                                                       \
    "\"DeploymentId\":\"d-ABCDEF123\",\"DeploymentGroupId\":\"g-1\","                              \
    "\"DeploymentGroupName\":\"grp\",\"ApplicationName\":\"app\""
#define S3REV                                                                                      \
    "\"Revision\":{\"RevisionType\":\"S3\",\"S3Revision\":{\"Bucket\":\"b\",\"Key\":\"k.zip\","    \
    "\"BundleType\":\"zip\"}}"

TEST(spec_r085_appendix_a_document_and_defaults)
{
    size_t n = 0;
    AUTOFREE char *json = fixture("content.json", &n);
    struct deploy_spec *s = parse_ok(json);
    ASSERT_STREQ(s->deployment_id, "d-ABCDEF123");
    ASSERT_STREQ(s->deployment_id_raw, "d-ABCDEF123");
    ASSERT_STREQ(s->deployment_group_id, "b1a2189b-dd90-4ef5-8f40-4c1c5EXAMPLE");
    ASSERT_STREQ(s->deployment_group_name, "WordPress_DepGroup");
    ASSERT_STREQ(s->application_name, "WordPress_App");
    ASSERT_STREQ(s->deployment_creator, "user");
    ASSERT_EQ(s->deployment_type, SPEC_DEPLOY_IN_PLACE);
    ASSERT_STREQ(s->file_exists_behavior, "OVERWRITE");
    ASSERT_STREQ(s->appspec_filename, "appspec.yml");
    ASSERT_EQ(s->revision.type, SPEC_REV_S3);
    ASSERT_STREQ(s->revision.type_name, "S3");
    ASSERT_EQ(s->revision.bundle_type, SPEC_BUNDLE_ZIP);
    ASSERT_STREQ(s->revision.bucket, "my-bucket");
    ASSERT_STREQ(s->revision.key, "app.zip");
    ASSERT_STREQ(s->revision.version,
                 "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo");
    ASSERT_STREQ(s->revision.etag, "b10a8db164e0754105b7a99be72e3fe5-4");
    ASSERT_FALSE(s->has_all_lifecycle_events);
    ASSERT_NULL(s->github_access_token);
    ASSERT_NULL(s->reuse_archive_from);
    ASSERT_FALSE(spec_is_blue_green_rollback(s));
    spec_free(s);

    s = parse_ok("{" HEAD "," S3REV ",\"AgentActionOverrides\":{\"AgentOverrides\":{}},"
                 "\"DeploymentCreator\":\"\",\"AppSpecFilename\":\"\",\"Unknown\":[1,{}]}");
    ASSERT_STREQ(s->file_exists_behavior, "DISALLOW");
    ASSERT_STREQ(s->deployment_creator, "user");
    ASSERT_STREQ(s->deployment_type_name, "IN_PLACE");
    ASSERT_STREQ(s->appspec_filename, "appspec.yml");
    ASSERT_NULL(s->revision.version);
    spec_free(s);
}

TEST(spec_r085_file_exists_upper_cased_rollback_blue_green_events)
{
    struct deploy_spec *s = parse_ok(
        "{" HEAD "," S3REV ",\"AgentActionOverrides\":{\"AgentOverrides\":{\"FileExistsBehavior\":"
        "\"overwrite\"}},\"DeploymentCreator\":\"codeDeployRollback\",\"DeploymentType\":"
        "\"BLUE_GREEN\",\"AllPossibleLifecycleEvents\":[\"ApplicationStop\",\"Custom\"],"
        "\"AppSpecFilename\":\"configs/appspec.yml\",\"GitHubAccessToken\":null}");
    ASSERT_STREQ(s->file_exists_behavior, "OVERWRITE");
    ASSERT_EQ(s->deployment_type, SPEC_DEPLOY_BLUE_GREEN);
    ASSERT_TRUE(spec_is_blue_green_rollback(s));
    ASSERT_TRUE(s->has_all_lifecycle_events);
    ASSERT_EQ(s->n_all_lifecycle_events, 2);
    ASSERT_STREQ(s->all_lifecycle_events[1], "Custom");
    ASSERT_STREQ(s->appspec_filename, "configs/appspec.yml");
    ASSERT_NULL(s->github_access_token);
    spec_free(s);
    /* V-013: an unknown type is in-place. */
    s = parse_ok("{" HEAD "," S3REV ",\"DeploymentType\":\"RESTART\"}");
    ASSERT_EQ(s->deployment_type, SPEC_DEPLOY_IN_PLACE);
    ASSERT_STREQ(s->deployment_type_name, "RESTART");
    spec_free(s);
}

TEST(spec_r083_required_fields_in_order)
{
    parse_fails("{}", ERR_PARSE, "Deployment Spec has no DeploymentId");
    parse_fails("{\"DeploymentId\":null}", ERR_PARSE, "Deployment Spec has no DeploymentId");
    parse_fails("{\"DeploymentId\":\"\",\"DeploymentGroupId\":\"\"}", ERR_PARSE,
                "Deployment Spec has no DeploymentId");
    parse_fails("{\"DeploymentId\":\"d-1\"}", ERR_PARSE,
                "Deployment Spec has no DeploymentGroupId");
    parse_fails(
        "{\"DeploymentId\":\"d-1\",\"DeploymentGroupId\":\"g\",\"DeploymentGroupName\":\"\"}",
        ERR_PARSE, "Deployment Spec has no DeploymentGroupName");
    parse_fails("{\"DeploymentId\":\"d-1\",\"DeploymentGroupId\":\"g\",\"DeploymentGroupName\":"
                "\"n\",\"ApplicationName\":null}",
                ERR_PARSE, "Deployment Spec has no ApplicationName");
}

TEST(spec_r082_invalid_json_names_the_error)
{
    parse_fails("{\"DeploymentId\":", ERR_PARSE,
                "Deployment specification is not valid JSON: parse error at offset 16");
    parse_fails("[1]", ERR_PARSE, "Deployment specification is not valid JSON: not a JSON object");
    parse_fails("{\"DeploymentId\":\"d-1\"} trailing", ERR_PARSE,
                "Deployment specification is not valid JSON: parse error at offset 23");
    struct deploy_spec *s = parse_ok("\n {" HEAD "," S3REV "}\n\t ");
    spec_free(s);
}

TEST(spec_r084_arn_deployment_id_reduced)
{
    struct deploy_spec *s = parse_ok(
        "{\"DeploymentId\":\"arn:aws:codedeploy:us-east-1:123412341234:deployment/d-ABCDEF123\","
        "\"DeploymentGroupId\":\"g\",\"DeploymentGroupName\":\"n\",\"ApplicationName\":\"a\"," S3REV
        ",\"ReuseArchiveFromDeploymentId\":\"arn:aws:codedeploy:r:1:deployment/d-OLD1\"}");
    ASSERT_STREQ(s->deployment_id, "d-ABCDEF123");
    ASSERT_STREQ(s->deployment_id_raw,
                 "arn:aws:codedeploy:us-east-1:123412341234:deployment/d-ABCDEF123");
    ASSERT_STREQ(s->reuse_archive_from, "d-OLD1");
    spec_free(s);
    char *id = spec_deployment_id_from_arn("arn:aws:codedeploy:r:a");
    ASSERT_NULL(id);
    id = spec_deployment_id_from_arn("d-PLAIN");
    ASSERT_STREQ(id, "d-PLAIN");
    free(id);
}

TEST(spec_r086_revision_errors)
{
    parse_fails("{" HEAD "}", ERR_PARSE, "Must specify a revison");
    parse_fails("{" HEAD ",\"Revision\":null}", ERR_PARSE, "Must specify a revison");
    parse_fails("{" HEAD ",\"Revision\":\"\"}", ERR_PARSE, "Must specify a revision source");
    parse_fails("{" HEAD ",\"Revision\":{}}", ERR_PARSE, "Must specify a revision source");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"FTP\"}}", ERR_PARSE,
                "Exactly one of S3Revision, GitHubRevision, or LocalRevision must be specified");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"S3\",\"S3Revision\":{\"Bucket\":\"b\","
                "\"Key\":\"k\"}}}",
                ERR_PARSE, "S3Revision in Deployment Spec must specify Bucket, Key and BundleType");
    /* null sub-revision is the "must specify" error, not a crash. */
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"S3\",\"S3Revision\":null}}", ERR_PARSE,
                "S3Revision in Deployment Spec must specify Bucket, Key and BundleType");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"S3\",\"S3Revision\":{\"Bucket\":\"b\","
                "\"Key\":\"k\",\"BundleType\":\"bar\"}}}",
                ERR_PARSE, "BundleType in S3Revision must be tar, tgz or zip");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"GitHub\"}}", ERR_PARSE,
                "GitHubRevision in Deployment Spec must specify Account, Repository and CommitId");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"GitHub\",\"GitHubRevision\":{"
                "\"Account\":\"a\",\"Repository\":\"r\",\"CommitId\":\"c\",\"Anonymous\":false}}}",
                ERR_PARSE,
                "GitHubRevision in Deployment Spec must specify Account, Repository and CommitId");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"Local File\",\"LocalRevision\":{"
                "\"Location\":\"/x\"}}}",
                ERR_PARSE, "LocalRevision in Deployment Spec must specify Location and BundleType");
    parse_fails("{" HEAD ",\"Revision\":{\"RevisionType\":\"Local File\",\"LocalRevision\":{"
                "\"Location\":\"/x\",\"BundleType\":\"bar\"}}}",
                ERR_PARSE, "BundleType in LocalRevision must be tar, tgz, zip, or directory");
}

TEST(spec_r086_github_and_local_revisions)
{
    struct deploy_spec *s = parse_ok(
        "{" HEAD ",\"GitHubAccessToken\":\"ghp_secret\",\"Revision\":{\"RevisionType\":\"GitHub\","
        "\"GitHubRevision\":{\"Account\":\"acme\",\"Repository\":\"web\",\"CommitId\":\"abc123\"}}"
        "}");
    ASSERT_EQ(s->revision.type, SPEC_REV_GITHUB);
    ASSERT_STREQ(s->revision.account, "acme");
    ASSERT_STREQ(s->revision.repository, "web");
    ASSERT_STREQ(s->revision.commit_id, "abc123");
    ASSERT_EQ(s->revision.bundle_type, SPEC_BUNDLE_TAR);
    ASSERT_STREQ(s->github_access_token, "ghp_secret");
    spec_free(s);
    s = parse_ok("{" HEAD ",\"Revision\":{\"RevisionType\":\"Local Directory\",\"LocalRevision\":{"
                 "\"Location\":\"/srv/app\",\"BundleType\":\"directory\"}}}");
    ASSERT_EQ(s->revision.type, SPEC_REV_LOCAL_DIRECTORY);
    ASSERT_EQ(s->revision.bundle_type, SPEC_BUNDLE_DIRECTORY);
    ASSERT_STREQ(s->revision.location, "/srv/app");
    spec_free(s);
}

TEST(spec_r086_daemon_refuses_local_revisions)
{
    const char *json = "{" HEAD ",\"Revision\":{\"RevisionType\":\"Local File\",\"LocalRevision\":{"
                       "\"Location\":\"/x.tgz\",\"BundleType\":\"tgz\"}}}";
    struct deploy_spec *s = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(spec_parse(json, strlen(json), NULL, &s, &e));
    ASSERT_EQ(e.code, ERR_UNSUPPORTED);
    ASSERT_CONTAINS(e.msg, "'Local File'");
    ASSERT_NULL(s);
}

TEST(spec_v014_ids_must_be_safe_path_components)
{
    parse_fails(
        "{\"DeploymentId\":\"..\",\"DeploymentGroupId\":\"g\",\"DeploymentGroupName\":\"n\","
        "\"ApplicationName\":\"a\"," S3REV "}",
        ERR_UNSAFE, "DeploymentId is not a valid path component: '..'");
    parse_fails("{\"DeploymentId\":\"d-A/../../etc\",\"DeploymentGroupId\":\"g\","
                "\"DeploymentGroupName\":\"n\",\"ApplicationName\":\"a\"," S3REV "}",
                ERR_UNSAFE, "DeploymentId is not a valid path component: 'd-A/../../etc'");
    parse_fails("{\"DeploymentId\":\"d-1\",\"DeploymentGroupId\":\"../../tmp/evil\","
                "\"DeploymentGroupName\":\"n\",\"ApplicationName\":\"a\"," S3REV "}",
                ERR_UNSAFE, "DeploymentGroupId is not a valid path component: '../../tmp/evil'");
    parse_fails(
        "{\"DeploymentId\":\"arn:aws:codedeploy:r:a:deployment/../x\","
        "\"DeploymentGroupId\":\"g\",\"DeploymentGroupName\":\"n\",\"ApplicationName\":\"a\"," S3REV
        "}",
        ERR_UNSAFE, "DeploymentId is not a valid path component: '../x'");
    ASSERT_TRUE(spec_path_component_ok("b1a2189b-dd90-4ef5-8f40-4c1c5EXAMPLE"));
    ASSERT_TRUE(spec_path_component_ok("d-ABCDEF123-local"));
    ASSERT_FALSE(spec_path_component_ok("."));
    ASSERT_FALSE(spec_path_component_ok(""));
    ASSERT_FALSE(spec_path_component_ok("a\\b"));
    ASSERT_FALSE(spec_path_component_ok("a\nb"));
}

TEST(spec_v014_appspec_filename_must_stay_inside_revision)
{
    parse_fails("{" HEAD "," S3REV ",\"AppSpecFilename\":\"../../etc/passwd\"}", ERR_UNSAFE,
                "AppSpecFilename is not a safe revision-relative path: '../../etc/passwd'");
    parse_fails("{" HEAD "," S3REV ",\"AppSpecFilename\":\"/etc/shadow\"}", ERR_UNSAFE,
                "AppSpecFilename is not a safe revision-relative path: '/etc/shadow'");
    parse_fails(
        "{" HEAD "," S3REV ",\"AppSpecFilename\":\"configs/../../appspec.yml\"}", ERR_UNSAFE,
        "AppSpecFilename is not a safe revision-relative path: 'configs/../../appspec.yml'");
    ASSERT_TRUE(spec_relpath_ok("configs/appspec.yml"));
    ASSERT_TRUE(spec_relpath_ok("appspec.yaml"));
    ASSERT_FALSE(spec_relpath_ok("configs/"));
    ASSERT_FALSE(spec_relpath_ok(".."));
}

TEST(spec_r082_redacted_dump_hides_github_token)
{
    const char *json = "{\"GitHubAccessToken\":\"ghp_secret\",\"Revision\":{\"GitHubRevision\":{"
                       "\"OAuthToken\":\"tok2\"}},\"DeploymentId\":\"d-1\"}";
    AUTOFREE char *r = spec_redact_json(json, strlen(json));
    ASSERT_NOT_NULL(r);
    ASSERT_NOT_CONTAINS(r, "ghp_secret");
    ASSERT_NOT_CONTAINS(r, "tok2");
    ASSERT_CONTAINS(r, "\"GitHubAccessToken\":\"REDACTED\"");
    ASSERT_CONTAINS(r, "\"DeploymentId\":\"d-1\"");
    ASSERT_NULL(spec_redact_json("{", 1));
}

/* codedeploy-local's TEXT/JSON document (local.c, R-211) goes through the same envelope and
 * parser; a directory bundle, an S3 bundle and a GitHub bundle each come out as built. */
static struct deploy_spec *local_spec(char **argv, const struct local_bundle *b)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    struct local_opts o;
    struct err e = ERR_INIT;
    if (local_parse_args(argc, argv, &o, &e) < 0)
        FAILF("local_parse_args: %s", e.msg);
    char **ev = NULL;
    size_t n = 0;
    ASSERT_OK(local_events(NULL, &ev, &n, &e));
    AUTOFREE char *doc = local_build_spec(&o, b, "d-AAAAAAAAA-local", ev, n);
    local_events_free(ev);
    local_opts_done(&o);
    struct spec_parse_opts po = {.allow_local_revisions = true};
    struct deploy_spec *s = NULL;
    if (spec_load("TEXT/JSON", doc, strlen(doc), true, &po, &s, &e) < 0)
        FAILF("spec_load: %s\n    %s", e.msg, doc);
    return s;
}

TEST(spec_r211_codedeploy_local_documents_parse)
{
    char *argv[] = {"codedeploy-local", "-l", "/srv/rev", "-b", "overwrite", "-g", "grp", NULL};
    struct local_bundle dir = {.kind = LOCAL_KIND_DIRECTORY, .location = "/srv/rev"};
    struct deploy_spec *s = local_spec(argv, &dir);
    ASSERT_STREQ(s->deployment_id, "d-AAAAAAAAA-local");
    ASSERT_STREQ(s->deployment_group_id, "grp");
    ASSERT_STREQ(s->application_id, "/srv/rev");
    ASSERT_EQ(s->revision.type, SPEC_REV_LOCAL_DIRECTORY);
    ASSERT_EQ(s->revision.bundle_type, SPEC_BUNDLE_DIRECTORY);
    ASSERT_STREQ(s->revision.location, "/srv/rev");
    ASSERT_STREQ(s->file_exists_behavior, "OVERWRITE");
    ASSERT_TRUE(s->has_all_lifecycle_events);
    ASSERT_EQ(s->n_all_lifecycle_events, 11);
    spec_free(s);

    char *argv2[] = {
        "codedeploy-local", "-l", "s3://bkt/path/app.tgz?versionId=v1&etag=e1", "-t", "tgz", NULL};
    struct local_bundle s3 = {.kind = LOCAL_KIND_S3,
                              .location = argv2[2],
                              .bucket = "bkt",
                              .key = "path/app.tgz",
                              .version = "v1",
                              .etag = "e1"};
    s = local_spec(argv2, &s3);
    ASSERT_EQ(s->revision.type, SPEC_REV_S3);
    ASSERT_STREQ(s->revision.bucket, "bkt");
    ASSERT_STREQ(s->revision.key, "path/app.tgz");
    ASSERT_EQ(s->revision.bundle_type, SPEC_BUNDLE_TGZ);
    ASSERT_STREQ(s->revision.version, "v1");
    ASSERT_STREQ(s->revision.etag, "e1");
    spec_free(s);

    char *argv3[] = {"codedeploy-local", "-l", "https://github.com/acme/web", "-t", "zip", NULL};
    struct local_bundle gh = {.kind = LOCAL_KIND_GITHUB,
                              .location = argv3[2],
                              .account = "acme",
                              .repository = "web",
                              .commit = "HEAD"};
    s = local_spec(argv3, &gh);
    ASSERT_EQ(s->revision.type, SPEC_REV_GITHUB);
    ASSERT_STREQ(s->revision.account, "acme");
    ASSERT_STREQ(s->revision.commit_id, "HEAD");
    ASSERT_EQ(s->revision.bundle_type, SPEC_BUNDLE_ZIP);
    ASSERT_NULL(s->github_access_token);
    spec_free(s);
}
