/* Unit tests for the hook-log upload's pure parts (run/hooklogs; issue 16 item 1). */
#include "base/log.h"
#include "base/util.h"
#include "run/hooklogs.h"
#include "test.h"

TEST(hooklogs_key_layout)
{
    char *k = hooklogs_key("ci/logs", "d-ABC123", "arn:aws:ec2:us-east-1:1:instance/i-0abc",
                           "ApplicationStart");
    ASSERT_STREQ(k, "ci/logs/d-ABC123/i-0abc/ApplicationStart.log");
    free(k);
    k = hooklogs_key("", "d-1", "my host", "AfterInstall");
    ASSERT_STREQ(k, "d-1/my_host/AfterInstall.log");
    free(k);
}

TEST(hooklogs_read_event_part_bounded_redacted)
{
    struct err e = ERR_INIT;
    const char *p = test_write("scripts.log", "old event\n");
    uint64_t mark = hooklogs_mark(p);
    ASSERT_EQ(mark, 10);
    test_write("scripts.log", "old event\nLifecycleEvent - Start\n[stdout]token=SuperSecret99\n");
    log_add_secret("SuperSecret99");
    char *t = NULL;
    size_t n = 0;
    ASSERT_OK(hooklogs_read(p, mark, 0, &t, &n, &e));
    ASSERT_STREQ(t, "LifecycleEvent - Start\n[stdout]token=REDACTED\n");
    ASSERT_EQ(n, strlen(t));
    free(t);
    /* bounded: the newest bytes, with a note */
    ASSERT_OK(hooklogs_read(p, mark, 9, &t, &n, &e));
    ASSERT_CONTAINS(t, "earlier bytes of this event's output left out");
    ASSERT_CONTAINS(t, "CTED\n");
    ASSERT_NOT_CONTAINS(t, "99");
    free(t);
    /* rotated (file now shorter than the mark): all of it */
    test_write("scripts.log", "x\n");
    ASSERT_OK(hooklogs_read(p, mark, 0, &t, &n, &e));
    ASSERT_STREQ(t, "x\n");
    free(t);
    ASSERT_OK(hooklogs_read("/nonexistent/scripts.log", 0, 0, &t, &n, &e));
    ASSERT_EQ(n, 0);
    free(t);
    /* feature off: nothing to do */
    struct hooklogs_opts o = {0};
    ASSERT_OK(hooklogs_upload(&o, "d-1", "Start", p, 0, &e));
}
