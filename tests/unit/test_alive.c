/* Tests for alive: the watchdog's proof of progress (issue 13, R-013). */
#include <string.h>

#include "run/alive.h"
#include "test.h"

/* A slot whose budget ran out is overdue and named; a check-in or leaving clears it. */
TEST(alive_overdue_slot_stops_the_pings_until_it_checks_in)
{
    struct alive *a = alive_new();
    char who[64] = "";
    ASSERT_TRUE(alive_ok(a, who, sizeof(who))); /* nobody watched yet */
    int loop = alive_join(a, "the poll loop", 60000);
    int worker = alive_join(a, "command Install", 0); /* budget 0: overdue at once */
    ASSERT_TRUE(loop >= 0 && worker >= 0 && loop != worker);
    ASSERT_FALSE(alive_ok(a, who, sizeof(who)));
    ASSERT_STREQ(who, "command Install");
    alive_checkin(a, worker, 60000);
    ASSERT_TRUE(alive_ok(a, who, sizeof(who)));
    alive_checkin(a, loop, 0);
    ASSERT_FALSE(alive_ok(a, who, sizeof(who)));
    ASSERT_STREQ(who, "the poll loop");
    alive_leave(a, loop);
    ASSERT_TRUE(alive_ok(a, NULL, 0));
    alive_free(a);
}

/* Waiting for others (ALIVE_FOREVER) is never overdue; slots run out cleanly. */
TEST(alive_forever_and_full)
{
    struct alive *a = alive_new();
    int s = alive_join(a, "waiting", ALIVE_FOREVER);
    ASSERT_TRUE(alive_ok(a, NULL, 0));
    for (int i = 1; i < ALIVE_SLOTS; i++)
        ASSERT_TRUE(alive_join(a, "more", ALIVE_FOREVER) >= 0);
    ASSERT_EQ(alive_join(a, "one too many", 0), -1);
    alive_checkin(a, -1, 0); /* ignored */
    alive_leave(a, s);
    ASSERT_TRUE(alive_join(a, "again", ALIVE_FOREVER) == s);
    ASSERT_TRUE(alive_ok(a, NULL, 0));
    alive_free(a);
}
