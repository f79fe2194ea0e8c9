/* Unit tests for parse/yaml, the one YAML 1.1 front end (issue 12, issue 11.5). */
#include <string.h>

#include "parse/yaml.h"
#include "base/util.h"
#include "test.h"

static int load(const char *text, const struct yaml11_opts *o, struct yaml11_doc *d,
                struct yaml11_error *e)
{
    return yaml11_load(text, strlen(text), o, d, e);
}

TEST(yaml_tree_keeps_order_lines_and_style)
{
    struct yaml11_doc d;
    struct yaml11_error e;
    ASSERT_OK(load("a: 1\nb:\n  - 'x'\n  - y\n", NULL, &d, &e));
    ASSERT_EQ(d.root->kind, YAML11_MAP);
    ASSERT_EQ(d.root->n, 4);
    ASSERT_STREQ(d.root->kids[0]->text, "a");
    const struct yaml11_node *b = d.root->kids[3];
    ASSERT_EQ(b->kind, YAML11_SEQ);
    ASSERT_EQ(b->line, 3);
    ASSERT_FALSE(b->kids[0]->plain);
    ASSERT_TRUE(b->kids[1]->plain);
    ASSERT_EQ(b->kids[1]->line, 4);
    ASSERT_EQ(b->kids[1]->column, 5);
    ASSERT_FALSE(d.more_documents);
    yaml11_doc_done(&d);
}

TEST(yaml_nesting_is_capped_for_every_user)
{
    size_t depth = 100000;
    char *deep = xmalloc(depth + 1);
    memset(deep, '[', depth);
    deep[depth] = '\0';
    struct yaml11_doc d;
    struct yaml11_error e;
    ASSERT_FAIL(load(deep, NULL, &d, &e));
    free(deep);
    yaml11_doc_done(&d);
    ASSERT_EQ(e.kind, YAML11_E_LIMIT);
    ASSERT_EQ(e.line, 1);
    ASSERT_STREQ(e.problem, "YAML nesting is deeper than 64 levels");
}

TEST(yaml_aliases_share_the_anchored_node)
{
    struct yaml11_doc d;
    struct yaml11_error e;
    ASSERT_OK(load("a: &x [1, 2]\nb: *x\n", NULL, &d, &e));
    ASSERT_TRUE(d.root->kids[1] == d.root->kids[3]);
    yaml11_doc_done(&d);
    ASSERT_FAIL(load("a: *nope\n", NULL, &d, &e));
    yaml11_doc_done(&d);
    ASSERT_EQ(e.kind, YAML11_E_ALIAS);
    ASSERT_STREQ(e.problem, "unknown alias 'nope'");
}

TEST(yaml_syntax_error_has_line_column_and_context)
{
    struct yaml11_doc d;
    struct yaml11_error e;
    ASSERT_FAIL(load("files:\n  -source: /\n   destination: /var/www\n", NULL, &d, &e));
    yaml11_doc_done(&d);
    ASSERT_EQ(e.kind, YAML11_E_SYNTAX);
    ASSERT_EQ(e.line, 3);
    ASSERT_EQ(e.column, 15);
    ASSERT_STREQ(e.problem, "mapping values are not allowed in this context");
}

TEST(yaml_nul_rejected_only_when_asked)
{
    struct yaml11_doc d;
    struct yaml11_error e;
    const struct yaml11_opts strict = {.reject_nul = true};
    ASSERT_OK(load("a: \"x\\0y\"\n", NULL, &d, &e));
    ASSERT_EQ(d.root->kids[1]->len, 3);
    yaml11_doc_done(&d);
    ASSERT_FAIL(load("a: \"x\\0y\"\n", &strict, &d, &e));
    yaml11_doc_done(&d);
    ASSERT_EQ(e.kind, YAML11_E_NUL);
}

TEST(yaml_only_first_document_read_and_rest_noticed)
{
    struct yaml11_doc d;
    struct yaml11_error e;
    ASSERT_OK(load("a: 1\n---\nb: 2\n", NULL, &d, &e));
    ASSERT_EQ(d.root->n, 2);
    ASSERT_TRUE(d.more_documents);
    yaml11_doc_done(&d);
    ASSERT_OK(load("", NULL, &d, &e));
    ASSERT_NULL(d.root);
    ASSERT_FALSE(d.more_documents);
    yaml11_doc_done(&d);
}

TEST(yaml11_typing_booleans_ints_null)
{
    struct yaml11_scalar s;
    const char *yes[] = {"yes", "Yes", "ON", "true"};
    for (size_t i = 0; i < 4; i++) {
        yaml11_scalar_type(yes[i], true, NULL, &s);
        ASSERT_EQ(s.type, YAML11_BOOL);
        ASSERT_TRUE(s.b);
    }
    yaml11_scalar_type("off", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_BOOL);
    ASSERT_FALSE(s.b);
    yaml11_scalar_type("yes", false, NULL, &s);
    ASSERT_EQ(s.type, YAML11_STR);
    yaml11_scalar_type("-9223372036854775808", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_INT);
    ASSERT_FALSE(s.big);
    ASSERT_TRUE(s.i == INT64_MIN);
    yaml11_scalar_type("~", true, NULL, &s);
    ASSERT_EQ(s.type, YAML11_NULL);
}
