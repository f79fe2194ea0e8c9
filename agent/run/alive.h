/*
 * alive: proof of progress for the systemd watchdog (spec R-013; issue 13).
 *
 * The agent's threads each hold a slot and check in as they make progress, saying how long
 * their next step may take (the budget).  alive_ok() is true while no slot is overdue, and the
 * daemon sends WATCHDOG=1 only then, so a thread that hangs (a deadlock, a write that never
 * returns) stops the pings and systemd restarts the agent as the unit says (WatchdogSec=,
 * Restart=on-failure).  A long step is not a hang when its budget covers it: the poll loop
 * checks in every 200 ms while a long poll is open (the HTTP client's stop callback), and a
 * worker's budget for a hook script covers the longest a script may run (the hook runner ends
 * a script at its own timeout).  Thread-safe; slots are few (DAEMON_MAX_WORKERS + 1).
 */
#ifndef CDAGENT_ALIVE_H
#define CDAGENT_ALIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALIVE_SLOTS 32
#define ALIVE_FOREVER UINT64_MAX /* budget of a thread that waits for others, not working */

struct alive;

struct alive *alive_new(void);
void alive_free(struct alive *a);

/* Take a free slot named `who` (copied), checked in with budget_ms; -1 when all are taken
 * (that thread is then simply not watched). */
int alive_join(struct alive *a, const char *who, uint64_t budget_ms);
void alive_leave(struct alive *a, int slot);

/* "Still making progress; the next check-in comes within budget_ms." slot -1 is ignored. */
void alive_checkin(struct alive *a, int slot, uint64_t budget_ms);

/* True when no slot is overdue; otherwise false and the overdue slot's name in who. */
bool alive_ok(struct alive *a, char *who, size_t n);

#endif
