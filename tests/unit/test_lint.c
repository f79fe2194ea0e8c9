/* Unit tests for parse/lint: the newcomer hints of issue 17. */
#include <string.h>

#include "parse/lint.h"
#include "base/util.h"
#include "test.h"

static struct lint_hint hint(const char *text, int near)
{
    struct lint_hint h;
    ASSERT_TRUE(lint_yaml_hint(text, strlen(text), near, &h));
    return h;
}

TEST(lint_dash_without_space_for_source_object_location)
{
    struct lint_hint h = hint("files:\n  -source: /\n   destination: /x\n", 3);
    ASSERT_EQ(h.line, 2);
    ASSERT_STREQ(h.quote, "  -source: /");
    ASSERT_STREQ(h.advice, "a list item needs `- ` with a space: `- source: /`");
    h = hint("permissions:\n  -object: /var/www\n", 0);
    ASSERT_STREQ(h.advice, "a list item needs `- ` with a space: `- object: /var/www`");
    h = hint("hooks:\n  A:\n    -location: s.sh\n", 0);
    ASSERT_STREQ(h.advice, "a list item needs `- ` with a space: `- location: s.sh`");
    /* A negative number or "- item" is no mistake. */
    struct lint_hint none;
    const char *ok = "a: -1\nb:\n  - x\n  - -3\n";
    ASSERT_FALSE(lint_yaml_hint(ok, strlen(ok), 0, &none));
}

TEST(lint_tab_in_indentation)
{
    struct lint_hint h = hint("hooks:\n  A:\n\t- location: s.sh\n", 3);
    ASSERT_EQ(h.line, 3);
    ASSERT_STREQ(h.quote, "\\t- location: s.sh");
    ASSERT_STREQ(h.advice,
                 "YAML indentation must be spaces, not tabs: replace the tab with spaces");
}

TEST(lint_list_item_one_column_off)
{
    const char *t = "hooks:\n  A:\n    - location: a\n      timeout: 1\n   - location: b\n";
    struct lint_hint h = hint(t, 5);
    ASSERT_EQ(h.line, 5);
    ASSERT_STREQ(h.advice, "line 5 is indented 3 spaces, the list above it 4: indent it 4 spaces "
                           "like the items above");
    /* Only near a syntax error: a nested list two columns in is fine. */
    struct lint_hint none;
    const char *nested = "a:\n- x:\n  - y\n";
    ASSERT_FALSE(lint_yaml_hint(nested, strlen(nested), 3, &none));
    ASSERT_FALSE(lint_yaml_hint(t, strlen(t), 0, &none));
}

TEST(lint_shebang_with_windows_line_ending)
{
    struct lint_shebang s;
    const char *crlf = "#!/bin/bash\r\necho hi\r\n";
    lint_shebang(crlf, strlen(crlf), &s);
    ASSERT_TRUE(s.present && s.cr);
    ASSERT_STREQ(s.interp, "/bin/bash\r");
    char msg[300];
    lint_interp_message(&s, msg, sizeof(msg));
    ASSERT_STREQ(msg, "the interpreter named on line 1 (`/bin/bash\\r`, Windows line ending) does "
                      "not exist");
    lint_shebang("#! /usr/bin/env python3\n", 24, &s);
    ASSERT_STREQ(s.interp, "/usr/bin/env");
    ASSERT_FALSE(s.cr);
    lint_interp_message(&s, msg, sizeof(msg));
    ASSERT_STREQ(msg, "the interpreter named on line 1 (`/usr/bin/env`) does not exist");
    lint_shebang("echo\n", 5, &s);
    ASSERT_FALSE(s.present);
}

TEST(lint_crlf_line_and_quote)
{
    const char *t = "#!/bin/sh\necho a\r\necho b\n";
    ASSERT_EQ(lint_crlf_line(t, strlen(t)), 2);
    ASSERT_EQ(lint_crlf_line("a\nb\n", 4), 0);
    char *q = lint_quote_line(t, strlen(t), 2);
    ASSERT_STREQ(q, "echo a\\r");
    free(q);
    ASSERT_NULL(lint_quote_line(t, strlen(t), 9));
}

TEST(lint_key_line_inside_an_item)
{
    const char *t = "p:\n  - object: /a\n    owner: x\n  - object: /b\n    group: y\n";
    ASSERT_EQ(lint_key_line(t, strlen(t), 2, "owner"), 3);
    ASSERT_EQ(lint_key_line(t, strlen(t), 2, "object"), 2);
    ASSERT_EQ(lint_key_line(t, strlen(t), 2, "group"), 2); /* not in this item */
    ASSERT_EQ(lint_key_line(t, strlen(t), 4, "group"), 5);
}

TEST(lint_report_sorted_by_file_then_line)
{
    struct lint_report r = {0};
    lint_add(&r, LINT_ERROR, "scripts/a.sh", 1, NULL, NULL, "s");
    lint_add(&r, LINT_ERROR, "appspec.yml", 9, NULL, NULL, "late");
    lint_add(&r, LINT_WARNING, "appspec.yml", 2, NULL, NULL, "early");
    lint_report_sort(&r, "appspec.yml");
    ASSERT_STREQ(r.v[0].message, "early");
    ASSERT_STREQ(r.v[1].message, "late");
    ASSERT_STREQ(r.v[2].message, "s");
    ASSERT_EQ(lint_count(&r, LINT_ERROR), 2);
    lint_report_done(&r);
}
