/* What AWS's agent 2.x leaves on a host reads back in cdagent (V-067, V-032, V-062, V-081). */
#include <unistd.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "deploy/tracking.h"
#include "sys/pidfile.h"
#include "test.h"

TEST(v2_pid_file_without_newline_V081)
{
    AUTOFREE char *dir = path_join(test_tmpdir(), "pid");
    ASSERT_OK(mkdir_p(dir, 0755, NULL));
    AUTOFREE char *p = path_join(dir, "codedeploy-agent.pid");
    test_write(p, "4194303"); /* v2: decimal PID, no newline */
    struct pidfile pf;
    pidfile_init(&pf, dir, "codedeploy-agent");
    pid_t pid = 0;
    ASSERT_EQ(pidfile_check(&pf, &pid), PIDFILE_STALE); /* not alive: replaced at start */
    ASSERT_EQ(pid, 4194303);
    pidfile_done(&pf);
}

TEST(v2_tracking_file_without_newline_V032)
{
    AUTOFREE char *dir = path_join(test_tmpdir(), "ongoing-deployment");
    ASSERT_OK(mkdir_p(dir, 0755, NULL));
    AUTOFREE char *p = path_join(dir, "d-V2TRACK01");
    test_write(p, "eyJiYXRjaElkIjoiYiJ9+/=");
    AUTOFREE char *dep = NULL;
    AUTOFREE char *id = NULL;
    ASSERT_OK(tracking_newest(dir, &dep, &id, NULL));
    ASSERT_STREQ(dep, "d-V2TRACK01");
    ASSERT_STREQ(id, "eyJiYXRjaElkIjoiYiJ9+/=");
}

TEST(v2_instruction_files_V062)
{
    const char *root = test_tmpdir();
    AUTOFREE char *instr = layout_instructions_dir(root);
    ASSERT_OK(mkdir_p(instr, 0755, NULL));
    AUTOFREE char *last = layout_last_successful_path(root, "dg-1");
    test_write(last, "/opt/codedeploy-agent/deployment-root/dg-1/d-V2AGENT01"); /* no newline */
    AUTOFREE char *v = NULL;
    ASSERT_OK(layout_read_last_successful(root, "dg-1", &v, NULL));
    ASSERT_STREQ(v, "/opt/codedeploy-agent/deployment-root/dg-1/d-V2AGENT01");
    /* And cdagent writes it the way v2 writes it: no newline. */
    ASSERT_OK(layout_record_most_recent(root, "dg-1", "/x/dg-1/d-CD0000001", NULL));
    AUTOFREE char *mr = layout_most_recent_path(root, "dg-1");
    AUTOFREE char *text = NULL;
    size_t n = 0;
    ASSERT_OK(read_file(mr, 4096, &text, &n, NULL));
    ASSERT_STREQ(text, "/x/dg-1/d-CD0000001");
}
