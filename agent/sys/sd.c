/* sd: see sd.h. */
#include "sys/sd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

bool sd_is_booted(void)
{
    return sd_booted() > 0;
}

void sd_notify_ready(void)
{
    (void)sd_notify(0, "READY=1");
}

void sd_notify_stopping(void)
{
    (void)sd_notify(0, "STOPPING=1");
}

void sd_notify_watchdog(void)
{
    (void)sd_notify(0, "WATCHDOG=1");
}

void sd_notify_status(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    (void)sd_notifyf(0, "STATUS=%s", text);
}

uint64_t sd_watchdog_interval_usec(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

void sd_journal_line(int prio, const char *program, const char *deployment_id, const char *event,
                     const char *line)
{
    (void)sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=%s",
                          program, "DEPLOYMENT_ID=%s", deployment_id, "LIFECYCLE_EVENT=%s", event,
                          NULL);
}

static int build_start_request(sd_bus *bus, const char *unit, const char *description, pid_t pid,
                               sd_bus_message **ret)
{
    sd_bus_message *m = NULL;
    int r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
                                           "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager",
                                           "StartTransientUnit");
    if (r >= 0)
        r = sd_bus_message_append(m, "ss", unit, "fail");
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "(sv)");
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)", "Description", "s", description);
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r >= 0)
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
    if (r < 0) {
        sd_bus_message_unref(m);
        return r;
    }
    *ret = m;
    return 0;
}

int sd_start_transient_scope(const char *unit, const char *description, pid_t pid,
                             uint64_t timeout_ms, struct err *err)
{
    sd_bus *bus = NULL;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int rc = -1;
    int r = sd_bus_open_system(&bus);
    if (r < 0) {
        err_errno(err, -r, "start scope '%s': connect to the system bus", unit);
        goto out;
    }
    r = build_start_request(bus, unit, description ? description : unit, pid, &m);
    if (r < 0) {
        err_errno(err, -r, "start scope '%s': build the D-Bus request", unit);
        goto out;
    }
    r = sd_bus_call(bus, m, timeout_ms * 1000, &e, &reply);
    if (r < 0) {
        err_set(err, ERR_SYSTEM, "start scope '%s': StartTransientUnit failed: %s", unit,
                e.message ? e.message : strerror(-r));
        goto out;
    }
    rc = 0;
out:
    sd_bus_error_free(&e);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    sd_bus_flush_close_unref(bus);
    return rc;
}
