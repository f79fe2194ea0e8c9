/* Tests for onprem: the on-premises registration file (spec section 3.1, R-025..R-028). */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/onprem.h"
#include "test.h"
#include "base/path.h"
#include "base/util.h"

#define FILE_NAME "codedeploy.onpremises.yml"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static int parse(const char *text, struct onprem *o, struct err *e)
{
    return onprem_parse(text, strlen(text), FILE_NAME, o, e);
}

static const char *parse_fail(const char *text, int code)
{
    static struct err e;
    struct onprem o;
    err_clear(&e);
    memset(&o, 0x5a, sizeof(o));
    if (parse(text, &o, &e) == 0) {
        onprem_done(&o);
        FAILF("parse of '%s' succeeded, expected an error", text);
    }
    if (e.code != code)
        FAILF("parse of '%s': code %d (%s), expected %d", text, e.code, e.msg, code);
    const unsigned char *p = (const unsigned char *)&o;
    for (size_t i = 0; i < sizeof(o); i++)
        if (p[i] != 0x5a)
            FAILF("parse of '%s' wrote *ret although it failed", text);
    return e.msg;
}

TEST(onprem_R027_iam_user)
{
    struct onprem o;
    struct err e = ERR_INIT;
    AUTOFREE char *p = xstrdup(test_src_path("tests/data/config/onprem-user.yml"));
    ASSERT_OK(onprem_load(p, &o, &e));
    ASSERT_EQ(o.kind, ONPREM_IAM_USER);
    ASSERT_STREQ(o.path, p);
    ASSERT_STREQ(o.region, "us-west-2");
    ASSERT_STREQ(o.iam_user_arn, "arn:aws:iam::444455556666:user/CodeDeployUser-OnPrem");
    ASSERT_STREQ(o.aws_access_key_id, "AKIAEXAMPLEKEYID0000");
    ASSERT_STREQ(o.aws_secret_access_key, SECRET);
    ASSERT_NULL(o.iam_session_arn);
    ASSERT_NULL(o.aws_credentials_file);
    /* R-036, C-030 */
    ASSERT_STREQ(onprem_host_identifier(&o),
                 "arn:aws:iam::444455556666:user/CodeDeployUser-OnPrem");
    ASSERT_EQ(o.nwarnings, 0);
    onprem_done(&o);
    onprem_done(&o);
    onprem_done(NULL);
}

TEST(onprem_R026_R027_iam_session_with_colon_keys)
{
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(onprem_load(test_src_path("tests/data/config/onprem-session.yml"), &o, &e));
    ASSERT_EQ(o.kind, ONPREM_IAM_SESSION);
    ASSERT_STREQ(o.region, "eu-west-1");
    ASSERT_STREQ(o.iam_session_arn, "arn:aws:sts::444455556666:assumed-role/CodeDeployRole/host-1");
    ASSERT_STREQ(o.aws_credentials_file, "/etc/codedeploy-agent/conf/.aws_credentials");
    ASSERT_STREQ(onprem_host_identifier(&o),
                 "arn:aws:sts::444455556666:assumed-role/CodeDeployRole/host-1");
    ASSERT_NULL(o.aws_secret_access_key);
    onprem_done(&o);
}

TEST(onprem_R027_both_arns_rejected)
{
    struct onprem o;
    struct err e = ERR_INIT;
    /* C-026 */
    ASSERT_FAIL(onprem_load(test_src_path("tests/data/config/onprem-both.yml"), &o, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_STREQ(e.msg, "On Premises config cannot contain both 'iam_user_arn' and "
                        "'iam_session_arn' keys.");
}

TEST(onprem_R027_iam_user_required_keys_in_order)
{
    /* C-027 */
    ASSERT_STREQ(parse_fail("iam_user_arn: arn:x\n", ERR_CONFIG),
                 "'region' key is required when 'iam_user_arn' is provided.");
    ASSERT_STREQ(parse_fail("iam_user_arn: arn:x\nregion: us-east-1\naws_secret_access_key: s\n",
                            ERR_CONFIG),
                 "'aws_access_key_id' key is required when 'iam_user_arn' is provided.");
    ASSERT_STREQ(
        parse_fail("iam_user_arn: arn:x\nregion: us-east-1\naws_access_key_id: AK\n", ERR_CONFIG),
        "'aws_secret_access_key' key is required when 'iam_user_arn' is provided.");
    /* An empty value counts as missing. */
    ASSERT_STREQ(parse_fail("iam_user_arn: arn:x\nregion:\naws_access_key_id: AK\n"
                            "aws_secret_access_key: s\n",
                            ERR_CONFIG),
                 "'region' key is required when 'iam_user_arn' is provided.");
}

TEST(onprem_R027_iam_session_required_keys)
{
    /* C-028 */
    ASSERT_STREQ(parse_fail("iam_session_arn: arn:s\nregion: us-east-1\n", ERR_CONFIG),
                 "'aws_credentials_file' key is required when 'iam_session_arn' is provided.");
    ASSERT_STREQ(parse_fail("iam_session_arn: arn:s\naws_credentials_file: /c\n", ERR_CONFIG),
                 "'region' key is required when 'iam_session_arn' is provided.");
}

TEST(onprem_R027_neither_arn)
{
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(parse("region: ap-south-1\n", &o, &e));
    ASSERT_EQ(o.kind, ONPREM_NONE);
    ASSERT_STREQ(o.region, "ap-south-1");
    ASSERT_NULL(onprem_host_identifier(&o));
    onprem_done(&o);
    ASSERT_OK(parse("", &o, &e));
    ASSERT_EQ(o.kind, ONPREM_NONE);
    ASSERT_NULL(o.region);
    onprem_done(&o);
}

TEST(onprem_R026_invalid_format_message)
{
    struct onprem o;
    struct err e = ERR_INIT;
    const char *path = test_write("bad.yml", "region: us-east-1\n  iam_user_arn: x: y\n");
    AUTOFREE char *p = xstrdup(path);
    ASSERT_FAIL(onprem_load(p, &o, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    /* C-029 */
    AUTOFREE char *want = xasprintf("The deployment failed because the format of the following "
                                    "on-premises configuration file is invalid: %s (line 2",
                                    p);
    ASSERT_TRUE(str_has_prefix(e.msg, want));
    ASSERT_CONTAINS(parse_fail("- region\n", ERR_CONFIG), "the top level must be a mapping");
    ASSERT_CONTAINS(parse_fail("\x7f"
                               "ELF\x02\x01\x01\x00\xff",
                               ERR_CONFIG),
                    "configuration file is invalid: " FILE_NAME);
}

TEST(onprem_value_types)
{
    ASSERT_STREQ(parse_fail("region:\n  - us-east-1\n", ERR_CONFIG),
                 FILE_NAME " line 1: key 'region' expects a text value, got a list");
    ASSERT_STREQ(parse_fail("\n:region: {a: 1}\n", ERR_CONFIG),
                 FILE_NAME " line 2: key 'region' expects a text value, got a mapping");
    ASSERT_CONTAINS(parse_fail("region: yes\n", ERR_CONFIG), "got a boolean");
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(parse("region: 'us-east-1'\nregion: \"us-west-1\"\n", &o, &e));
    ASSERT_STREQ(o.region, "us-west-1"); /* last wins */
    ASSERT_EQ(o.nwarnings, 1);
    ASSERT_STREQ(o.warnings[0], FILE_NAME " line 2: key 'region' repeats line 1; the last value "
                                          "is used");
    onprem_done(&o);
}

TEST(onprem_unknown_keys_warn)
{
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(parse("region: us-east-1\niam_role_arn: x\n:colour: blue\n", &o, &e));
    ASSERT_EQ(o.nwarnings, 2);
    ASSERT_STREQ(o.warnings[0], FILE_NAME " line 2: unknown key 'iam_role_arn', ignoring");
    ASSERT_STREQ(o.warnings[1], FILE_NAME " line 3: unknown key ':colour', ignoring");
    ASSERT_NULL(o.warnings[2]);
    onprem_done(&o);
}

TEST(onprem_R028_secret_never_in_messages)
{
    /* Wrong shape, control character, repeated key, syntax error after it: no message or
     * warning may carry the secret or the access key id. */
    const char *m = parse_fail("aws_secret_access_key:\n  - " SECRET "\n", ERR_CONFIG);
    ASSERT_NOT_CONTAINS(m, "EXAMPLEKEY");
    m = parse_fail("aws_secret_access_key: \"" SECRET "\\x01\"\n", ERR_CONFIG);
    ASSERT_STREQ(m, FILE_NAME " line 1: key 'aws_secret_access_key' contains a control character");
    m = parse_fail("aws_access_key_id: \"AKIAEXAMPLEKEYID0000\\n\"\n", ERR_CONFIG);
    ASSERT_NOT_CONTAINS(m, "AKIA");
    m = parse_fail("aws_secret_access_key: " SECRET "\nregion: [\n", ERR_CONFIG);
    ASSERT_NOT_CONTAINS(m, "EXAMPLEKEY");
    m = parse_fail("aws_secret_access_key: " SECRET "\niam_user_arn: a\nregion: r\n", ERR_CONFIG);
    ASSERT_NOT_CONTAINS(m, "EXAMPLEKEY");
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(parse("aws_secret_access_key: a" SECRET "\naws_secret_access_key: " SECRET "\n" SECRET
                    ": 1\n",
                    &o, &e));
    ASSERT_STREQ(o.aws_secret_access_key, SECRET);
    for (size_t i = 0; i < o.nwarnings; i++)
        ASSERT_NOT_CONTAINS(o.warnings[i], "aws_secret_access_key: ");
    ASSERT_EQ(o.nwarnings, 2);
    ASSERT_CONTAINS(o.warnings[0], "key 'aws_secret_access_key' repeats line 1");
    onprem_done(&o);
}

TEST(onprem_R025_missing_file_is_not_found)
{
    struct onprem o;
    struct err e = ERR_INIT;
    AUTOFREE char *p = path_join(test_tmpdir(), "none.yml");
    ASSERT_FAIL(onprem_load(p, &o, &e));
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    ASSERT_EQ(e.sys_errno, ENOENT);
    ASSERT_CONTAINS(e.msg, "does not exist or is not readable (No such file or directory)");
    err_clear(&e);
    ASSERT_FAIL(onprem_load(test_tmpdir(), &o, &e)); /* a directory */
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    ASSERT_EQ(e.sys_errno, EISDIR);
}

TEST(onprem_R025_unreadable_file_is_not_found)
{
    /* C-251 */
    const char *path = test_write("locked.yml", "region: us-east-1\n");
    ASSERT_OK(chmod(path, 0));
    if (access(path, R_OK) == 0)
        SKIP("running with privileges that read a mode-000 file (root)");
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_FAIL(onprem_load(path, &o, &e));
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    ASSERT_EQ(e.sys_errno, EACCES);
}

TEST(onprem_huge_file_limited)
{
    size_t n = ONPREM_MAX_FILE_BYTES + 10;
    char *big = xmalloc(n + 1);
    memset(big, '#', n);
    big[n] = 0;
    const char *path = test_write("huge.yml", big);
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_FAIL(onprem_load(path, &o, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_CONTAINS(e.msg, "is larger than 65536 bytes");
    err_clear(&e);
    ASSERT_FAIL(onprem_parse(big, n, FILE_NAME, &o, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    /* Exactly at the cap loads. */
    memcpy(big + ONPREM_MAX_FILE_BYTES - 18, "\nregion: eu-west-3", 18);
    big[ONPREM_MAX_FILE_BYTES] = 0;
    path = test_write("cap.yml", big);
    err_clear(&e);
    ASSERT_OK(onprem_load(path, &o, &e));
    ASSERT_STREQ(o.region, "eu-west-3");
    onprem_done(&o);
    free(big);
}

TEST(onprem_null_text_and_filename)
{
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(onprem_parse(NULL, 0, NULL, &o, &e));
    ASSERT_EQ(o.kind, ONPREM_NONE);
    ASSERT_STREQ(o.path, "codedeploy.onpremises.yml");
    onprem_done(&o);
}
