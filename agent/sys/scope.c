/* scope: see scope.h. */
#include "sys/scope.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "base/util.h"
#include "sys/sdbus.h"

#define SCOPE_APPEAR_WAIT_MS 2000

bool scope_available(void)
{
    return sd_booted() > 0;
}

static bool unit_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == ':' || c == '_' || c == '.' || c == '-';
}

char *scope_unit_name(const char *deployment_id, const char *event, unsigned n)
{
    char tail[32];
    snprintf(tail, sizeof(tail), "-%u.scope", n);
    char *body = xasprintf("cdagent-hook-%s-%s", deployment_id ? deployment_id : "",
                           event ? event : "");
    for (char *p = body; *p; p++)
        if (!unit_char_ok(*p))
            *p = '_';
    size_t room = SCOPE_NAME_MAX - strlen(tail);
    if (strlen(body) > room)
        body[room] = '\0';
    char *name = xasprintf("%s%s", body, tail);
    free(body);
    return name;
}

/* True once /proc/<pid>/cgroup names the unit. */
static bool in_unit(pid_t pid, const char *unit)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    char *data = NULL;
    size_t n;
    if (read_file(path, 1 << 16, &data, &n, NULL) < 0)
        return false;
    AUTOFREE char *needle = xasprintf("/%s\n", unit);
    AUTOFREE char *needle2 = xasprintf("/%s/", unit);
    bool ok = strstr(data, needle) || strstr(data, needle2);
    free(data);
    return ok;
}

int scope_start(const char *unit, pid_t pid, const char *description, struct err *err)
{
    if (!scope_available())
        return err_set(err, ERR_UNSUPPORTED, "start scope '%s': systemd is not running as PID 1",
                       unit);
    sd_bus *bus = NULL;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int rc = -1;
    if (sdbus_open(&bus, err) < 0) {
        err_prefix(err, "start scope '%s'", unit);
        goto out;
    }
    int r;
    r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
                                       "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "StartTransientUnit");
    if (r >= 0)
        r = sd_bus_message_append(m, "ss", unit, "fail");
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "(sv)");
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)", "Description", "s",
                                  description ? description : unit);
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r >= 0)
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
    if (r < 0) {
        err_errno(err, -r, "start scope '%s': build the D-Bus request", unit);
        goto out;
    }
    r = sd_bus_call(bus, m, (uint64_t)SCOPE_BUS_TIMEOUT_MS * 1000, &e, &reply);
    if (r < 0) {
        err_set(err, ERR_SYSTEM, "start scope '%s': StartTransientUnit failed: %s", unit,
                e.message ? e.message : strerror(-r));
        goto out;
    }
    /* the job runs asynchronously; the scope exists once the process shows up in its cgroup */
    uint64_t until = now_ms() + SCOPE_APPEAR_WAIT_MS;
    while (!in_unit(pid, unit)) {
        if (now_ms() >= until) {
            err_set(err, ERR_TIMEOUT, "start scope '%s': process %d did not appear in it", unit,
                    (int)pid);
            goto out;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rc = 0;
out:
    sd_bus_error_free(&e);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    sd_bus_flush_close_unref(bus);
    return rc;
}
