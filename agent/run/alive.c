/* alive: see alive.h. */
#include "run/alive.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"

struct slot {
    bool used;
    char who[96];
    uint64_t until_ms; /* monotonic; UINT64_MAX: not watched for now */
};

struct alive {
    pthread_mutex_t mu;
    struct slot s[ALIVE_SLOTS];
};

struct alive *alive_new(void)
{
    struct alive *a = xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void alive_free(struct alive *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static uint64_t deadline(uint64_t budget_ms)
{
    uint64_t now = now_ms();
    return budget_ms >= UINT64_MAX - now ? UINT64_MAX : now + budget_ms;
}

int alive_join(struct alive *a, const char *who, uint64_t budget_ms)
{
    pthread_mutex_lock(&a->mu);
    int slot = -1;
    for (int i = 0; i < ALIVE_SLOTS && slot < 0; i++) {
        if (a->s[i].used)
            continue;
        slot = i;
        a->s[i].used = true;
        snprintf(a->s[i].who, sizeof(a->s[i].who), "%s", who);
        a->s[i].until_ms = deadline(budget_ms);
    }
    pthread_mutex_unlock(&a->mu);
    return slot;
}

void alive_leave(struct alive *a, int slot)
{
    if (slot < 0 || slot >= ALIVE_SLOTS)
        return;
    pthread_mutex_lock(&a->mu);
    a->s[slot].used = false;
    pthread_mutex_unlock(&a->mu);
}

void alive_checkin(struct alive *a, int slot, uint64_t budget_ms)
{
    if (slot < 0 || slot >= ALIVE_SLOTS)
        return;
    uint64_t until = deadline(budget_ms);
    pthread_mutex_lock(&a->mu);
    a->s[slot].until_ms = until;
    pthread_mutex_unlock(&a->mu);
}

bool alive_ok(struct alive *a, char *who, size_t n)
{
    uint64_t now = now_ms();
    bool ok = true;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < ALIVE_SLOTS && ok; i++) {
        if (!a->s[i].used || a->s[i].until_ms > now)
            continue;
        ok = false;
        if (who && n)
            snprintf(who, n, "%s", a->s[i].who);
    }
    pthread_mutex_unlock(&a->mu);
    return ok;
}
