/*
 * sd: the only user of libsystemd.  Service notification (READY=1, STATUS=, STOPPING=1,
 * WATCHDOG=1), the structured journal line the logger hands over through its sink, and the
 * StartTransientUnit bus call behind sys/scope.  Every function here is a no-op or a clean
 * error where systemd is absent (no NOTIFY_SOCKET, no bus, not PID 1).
 *
 * The functions start with sd_ but are this module's, not libsystemd's: only sd.c includes
 * <systemd/...>.
 */
#ifndef CDAGENT_SD_H
#define CDAGENT_SD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/log.h"

/* True where systemd runs as PID 1. */
bool sd_is_booted(void);

/* Service notification; ignored without NOTIFY_SOCKET. */
void sd_notify_ready(void);
void sd_notify_stopping(void);
void sd_notify_watchdog(void);
void sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asks for (WATCHDOG_USEC for this pid), 0 when none. */
uint64_t sd_watchdog_interval_usec(void);

/* One log line to the journal with the agent's structured fields (a log sink, see base/log):
 * PRIORITY, SYSLOG_IDENTIFIER, the caller's CODE_FILE/CODE_LINE/CODE_FUNC, DEPLOYMENT_ID and
 * LIFECYCLE_EVENT only when set (issue 13). */
void sd_journal_line(const struct log_journal_line *l);

/* A stream socket to journald whose lines are logged under identifier with priority prio
 * (sd_journal_stream_fd), or -1 without a journal. */
int sd_journal_stream(const char *identifier, int prio);

/* The SyslogIdentifier= of the service unit this process runs in; NULL when it is not in a
 * service unit, the unit sets none, or systemd cannot be asked.  Caller frees. */
char *sd_own_syslog_identifier(void);

#define SD_PRIVATE_SOCKET "/run/systemd/private"

/* StartTransientUnit(unit, "fail") with Description, PIDs=[pid], CollectMode=inactive-or-failed
 * on the system bus or, when no bus daemon runs (minimal images, containers), as root on
 * systemd's private socket SD_PRIVATE_SOCKET (issue 13), waiting up to timeout_ms for the reply.
 * The job itself runs asynchronously.  Errors: ERR_SYSTEM naming the bus step or the D-Bus error
 * message. */
int sd_start_transient_scope(const char *unit, const char *description, pid_t pid,
                             uint64_t timeout_ms, struct err *err);

#endif
