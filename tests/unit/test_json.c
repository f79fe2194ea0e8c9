/* Tests for base/json, the one cJSON owner (issue 12 item 2): limits, parse errors with offsets,
 * NUL refusal, typed getters naming the path, builders and print round trips, redaction. */
#include "base/json.h"
#include "base/util.h"
#include "test.h"

static struct json *parse_ok(const char *text)
{
    struct err e = ERR_INIT;
    struct json *j = json_parse(text, strlen(text), NULL, &e);
    if (!j)
        FAILF("json_parse(%s): %s", text, e.msg);
    return j;
}

static void parse_fails(const char *text, size_t len, const struct json_limits *lim, int code,
                        const char *msg)
{
    struct err e = ERR_INIT;
    ASSERT_NULL(json_parse(text, len, lim, &e));
    ASSERT_EQ(e.code, code);
    ASSERT_STREQ(e.msg, msg);
}

TEST(json_parse_reads_values_and_keeps_member_order)
{
    AUTOJSON struct json *j =
        parse_ok("\xEF\xBB\xBF { \"b\": 1.5, \"a\": [true, false, null, \"x\"], \"o\": {} }\n\t ");
    ASSERT_EQ(json_type(j), JSON_OBJECT);
    ASSERT_EQ(json_count(j), 3);
    const struct json *first = json_first(j);
    double d = 0;
    ASSERT_TRUE(json_num(first, &d));
    ASSERT_TRUE(d == 1.5);
    const struct json *a = json_member(j, "a");
    ASSERT_EQ(json_count(a), 4);
    ASSERT_EQ(json_type(json_first(a)), JSON_TRUE);
    ASSERT_EQ(json_type(json_next(json_first(a))), JSON_FALSE);
    ASSERT_EQ(json_type(json_next(json_next(json_first(a)))), JSON_NULL);
    ASSERT_NULL(json_member(j, "B"));     /* case-sensitive */
    ASSERT_NULL(json_member(a, "x"));     /* not an object */
    ASSERT_NULL(json_member_str(j, "b")); /* not a string */
    ASSERT_EQ(json_type(json_member(j, "zz")), JSON_ABSENT);
    ASSERT_FALSE(json_num(json_member(j, "a"), &d));
}

TEST(json_parse_errors_name_the_offset)
{
    parse_fails("{\"DeploymentId\":", 16, NULL, ERR_PARSE, "parse error at offset 16");
    parse_fails("{\"a\":1} trailing", 16, NULL, ERR_PARSE, "parse error at offset 8");
    parse_fails("", 0, NULL, ERR_PARSE, "parse error at offset 0");
    parse_fails("[1,]", 4, NULL, ERR_PARSE, "parse error at offset 3");
    /* len is honoured: the text need not be NUL-terminated after it */
    struct err e = ERR_INIT;
    AUTOJSON struct json *j = json_parse("[1]garbage", 3, NULL, &e);
    ASSERT_EQ(json_count(j), 1);
}

TEST(json_limits_size_and_depth)
{
    struct json_limits lim = {.max_bytes = 8, .max_depth = 3};
    parse_fails("[1,2,3,4]", 9, &lim, ERR_LIMIT, "JSON text is larger than 8 bytes");
    parse_fails("[[[[]]]]", 8, &lim, ERR_LIMIT, "JSON nests deeper than 3 levels at offset 3");
    /* brackets inside strings do not count */
    struct err e = ERR_INIT;
    AUTOJSON struct json *j = json_parse("[\"[[[[\"]", 8, &lim, &e);
    ASSERT_NOT_NULL(j);
    AUTOJSON struct json *k = json_parse("[[[]]]", 6, &lim, &e);
    ASSERT_NOT_NULL(k);
    /* the default depth */
    char deep[2 * (JSON_DEFAULT_MAX_DEPTH + 1) + 1];
    memset(deep, '[', JSON_DEFAULT_MAX_DEPTH + 1);
    memset(deep + JSON_DEFAULT_MAX_DEPTH + 1, ']', JSON_DEFAULT_MAX_DEPTH + 1);
    deep[sizeof(deep) - 1] = '\0';
    ASSERT_NULL(json_parse(deep, strlen(deep), NULL, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    AUTOJSON struct json *ok = json_parse(deep + 1, strlen(deep) - 2, NULL, NULL);
    ASSERT_NOT_NULL(ok);
}

/* Decision (json.h): NUL is refused, never truncated. */
TEST(json_nul_in_strings_is_rejected)
{
    parse_fails("{\"a\":\"x\\u0000y\"}", 16, NULL, ERR_PARSE, "\\u0000 in a string at offset 7");
    parse_fails("{\"a\":\"x\0y\"}", 11, NULL, ERR_PARSE, "NUL byte at offset 7");
    parse_fails("{\"a\":1}\0", 8, NULL, ERR_PARSE, "NUL byte at offset 7");
    /* an escaped backslash before u0000 is text, and other \u escapes are fine */
    AUTOJSON struct json *j = parse_ok("[\"\\\\u0000\", \"\\u0041\\u00e9\"]");
    ASSERT_STREQ(json_str(json_first(j)), "\\u0000");
    ASSERT_STREQ(json_str(json_next(json_first(j))), "A\xC3\xA9");
}

TEST(json_typed_getters_name_the_path)
{
    AUTOJSON struct json *j = parse_ok("{\"HostCommand\":{\"Id\":\"h-1\",\"Nonce\":7,\"On\":false},"
                                       "\"problems\":[{\"severity\":\"error\"},{\"line\":3}],"
                                       "\"n\":null}");
    struct err e = ERR_INIT;
    const char *s = NULL;
    ASSERT_OK(json_get_str(j, "HostCommand.Id", &s, &e));
    ASSERT_STREQ(s, "h-1");
    ASSERT_OK(json_get_str(j, "problems[0].severity", &s, &e));
    ASSERT_STREQ(s, "error");
    double d = 0;
    ASSERT_OK(json_get_num(j, "HostCommand.Nonce", &d, &e));
    ASSERT_TRUE(d == 7);
    bool b = true;
    ASSERT_OK(json_get_bool(j, "HostCommand.On", &b, &e));
    ASSERT_FALSE(b);
    const struct json *arr = NULL;
    size_t n = 0;
    ASSERT_OK(json_get_array(j, "problems", &arr, &n, &e));
    ASSERT_EQ(n, 2);
    const struct json *o = NULL;
    ASSERT_OK(json_get_object(arr, "[1]", &o, &e));
    ASSERT_OK(json_get_num(o, "line", &d, &e));
    ASSERT_TRUE(d == 3);

    ASSERT_FAIL(json_get_str(j, "problems[1].severity", &s, &e));
    ASSERT_STREQ(e.msg, "problems[1].severity is missing");
    err_clear(&e);
    ASSERT_FAIL(json_get_str(j, "problems[2]", &s, &e));
    ASSERT_STREQ(e.msg, "problems[2] is missing");
    err_clear(&e);
    ASSERT_FAIL(json_get_str(j, "HostCommand.Nonce", &s, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_STREQ(e.msg, "HostCommand.Nonce is a number, not a string");
    err_clear(&e);
    ASSERT_FAIL(json_get_object(j, "n", &o, &e));
    ASSERT_STREQ(e.msg, "n is null, not an object");
    err_clear(&e);
    ASSERT_FAIL(json_get_array(j, "HostCommand", &arr, &n, &e));
    ASSERT_STREQ(e.msg, "HostCommand is an object, not an array");
    err_clear(&e);
    ASSERT_FAIL(json_get_bool(j, "HostCommand.Id.x", &b, &e));
    ASSERT_STREQ(e.msg, "HostCommand.Id.x is missing");
    err_clear(&e);
    ASSERT_FAIL(json_get_num(j, "problems[x]", &d, &e));
    ASSERT_STREQ(e.msg, "problems[x] is missing");
}

TEST(json_build_print_round_trip)
{
    AUTOJSON struct json *o = json_new_object();
    json_add_str(o, "z", "q\"uote\\ \n tab\t \xC3\xA9");
    json_add_str(o, "nil", NULL);
    json_add_num(o, "n", 1733450000);
    json_add_num(o, "f", -2.5);
    json_add_bool(o, "t", true);
    json_add_null(o, "null");
    struct json *a = json_add_array(o, "a");
    json_push_str(a, "s");
    json_push_str(a, NULL);
    json_add_str(json_push_object(a), "k", "v");
    json_add_object(o, "empty");
    AUTOFREE char *text = json_print(o, false);
    ASSERT_STREQ(text, "{\"z\":\"q\\\"uote\\\\ \\n tab\\t \xC3\xA9\",\"nil\":null,\"n\":1733450000,"
                       "\"f\":-2.5,\"t\":true,\"null\":null,\"a\":[\"s\",null,{\"k\":\"v\"}],"
                       "\"empty\":{}}");
    AUTOJSON struct json *back = parse_ok(text);
    AUTOFREE char *again = json_print(back, false);
    ASSERT_STREQ(again, text);
    ASSERT_STREQ(json_member_str(back, "z"), "q\"uote\\ \n tab\t \xC3\xA9");
    AUTOFREE char *pretty = json_print(back, true);
    ASSERT_CONTAINS(pretty, "{\n\t\"z\":\t\"q");
    ASSERT_CONTAINS(pretty, "\n\t\"a\":\t[\"s\", null, {\n\t\t\t\"k\":\t\"v\"\n\t\t}],\n");
}

TEST(json_redact_replaces_named_strings_at_any_depth)
{
    AUTOJSON struct json *j = parse_ok("{\"Token\":\"abc\",\"x\":[{\"Token\":\"longer-secret\","
                                       "\"Other\":\"keep\"},{\"Token\":{\"Token\":\"in\"}}],"
                                       "\"Key\":\"k\",\"Token2\":\"t\"}");
    static const char *const names[] = {"Token", "Key", NULL};
    json_redact(j, names, "REDACTED");
    AUTOFREE char *s = json_print(j, false);
    ASSERT_STREQ(s, "{\"Token\":\"REDACTED\",\"x\":[{\"Token\":\"REDACTED\",\"Other\":\"keep\"},"
                    "{\"Token\":{\"Token\":\"REDACTED\"}}],\"Key\":\"REDACTED\",\"Token2\":\"t\"}");
}

TEST(json_free_secret_and_null_roots)
{
    json_free(NULL);
    json_free_secret(NULL);
    ASSERT_EQ(json_type(NULL), JSON_ABSENT);
    ASSERT_NULL(json_first(NULL));
    ASSERT_NULL(json_next(NULL));
    ASSERT_EQ(json_count(NULL), 0);
    struct json *j = parse_ok("{\"SecretAccessKey\":\"s3cret\",\"n\":{\"Token\":\"t\"}}");
    json_free_secret(j); /* wipes, then frees: ASan/LSan see no leak or overflow */
}
