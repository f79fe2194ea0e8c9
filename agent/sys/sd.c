/* sd: see sd.h. */
#include "sys/sd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
/* CODE_FILE/CODE_LINE/CODE_FUNC are the logging caller's (struct log_site), not this file's. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>

#include "base/util.h"

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

void sd_journal_line(const struct log_journal_line *l)
{
    /* The caller's CODE_* from l->site, the context fields only when they have a value
     * (sd_journal_sendv adds no location of its own: SD_JOURNAL_SUPPRESS_LOCATION). */
    char *f[8];
    int n = 0;
    f[n++] = xasprintf("MESSAGE=%s", l->message);
    f[n++] = xasprintf("PRIORITY=%d", l->prio);
    f[n++] = xasprintf("SYSLOG_IDENTIFIER=%s", l->identifier);
    if (l->site) {
        f[n++] = xasprintf("CODE_FILE=%s", l->site->file);
        f[n++] = xasprintf("CODE_LINE=%d", l->site->line);
        f[n++] = xasprintf("CODE_FUNC=%s", l->site->func);
    }
    if (l->deployment_id && *l->deployment_id)
        f[n++] = xasprintf("DEPLOYMENT_ID=%s", l->deployment_id);
    if (l->event && *l->event)
        f[n++] = xasprintf("LIFECYCLE_EVENT=%s", l->event);
    struct iovec iov[8];
    for (int i = 0; i < n; i++)
        iov[i] = (struct iovec){.iov_base = f[i], .iov_len = strlen(f[i])};
    (void)sd_journal_sendv(iov, n);
    for (int i = 0; i < n; i++)
        free(f[i]);
}

int sd_journal_stream(const char *identifier, int prio)
{
    return sd_journal_stream_fd(identifier, prio, 0);
}

/* systemd's own socket: a peer-to-peer connection, no Hello, root only. */
static int open_private(sd_bus **ret)
{
    sd_bus *bus = NULL;
    int r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_address(bus, "unix:path=" SD_PRIVATE_SOCKET);
    if (r >= 0)
        r = sd_bus_start(bus);
    if (r < 0) {
        sd_bus_unref(bus);
        return r;
    }
    *ret = bus;
    return 0;
}

/* The system bus or, without a bus daemon and as root, systemd's private socket. */
static int bus_open(sd_bus **ret, struct err *err)
{
    *ret = NULL;
    int r = sd_bus_open_system(ret);
    if (r >= 0)
        return 0;
    *ret = NULL;
    if (geteuid() != 0)
        return err_errno(err, -r, "connect to the system bus");
    int r2 = open_private(ret);
    if (r2 >= 0)
        return 0;
    *ret = NULL;
    return err_set(err, ERR_SYSTEM, "connect to the system bus: %s; to systemd's %s: %s",
                   strerror(-r), SD_PRIVATE_SOCKET, strerror(-r2));
}

char *sd_own_syslog_identifier(void)
{
    char *unit = NULL, *path = NULL, *val = NULL;
    sd_bus *bus = NULL;
    struct err e = ERR_INIT;
    sd_bus_error be = SD_BUS_ERROR_NULL;
    if (sd_pid_get_unit(0, &unit) < 0 || !unit || !strstr(unit, ".service"))
        goto out;
    if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path) < 0)
        goto out;
    if (bus_open(&bus, &e) < 0)
        goto out;
    if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                   "org.freedesktop.systemd1.Service", "SyslogIdentifier", &be,
                                   &val) < 0)
        val = NULL;
    if (val && !*val) {
        free(val);
        val = NULL;
    }
out:
    sd_bus_error_free(&be);
    sd_bus_flush_close_unref(bus);
    free(path);
    free(unit);
    return val;
}

static int build_start_request(sd_bus *bus, const char *unit, const char *description, pid_t pid,
                               sd_bus_message **ret)
{
    sd_bus_message *m = NULL;
    int r = sd_bus_message_new_method_call(
        bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "StartTransientUnit");
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
    if (bus_open(&bus, err) < 0) {
        err_prefix(err, "start scope '%s'", unit);
        goto out;
    }
    int r = build_start_request(bus, unit, description ? description : unit, pid, &m);
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
