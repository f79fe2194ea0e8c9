/* scope: see scope.h. */
#include "sys/scope.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "sys/sd.h"

#define SCOPE_APPEAR_WAIT_MS 2000

bool scope_available(void)
{
    return sd_is_booted();
}

static bool unit_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '.' || c == '-';
}

char *scope_unit_name(const char *deployment_id, const char *event, unsigned n)
{
    char tail[32];
    snprintf(tail, sizeof(tail), "-%u.scope", n);
    char *body =
        xasprintf("cdagent-hook-%s-%s", deployment_id ? deployment_id : "", event ? event : "");
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
    if (sd_start_transient_scope(unit, description, pid, SCOPE_BUS_TIMEOUT_MS, err) < 0)
        return -1;
    /* the job runs asynchronously; the scope exists once the process shows up in its cgroup */
    uint64_t until = now_ms() + SCOPE_APPEAR_WAIT_MS;
    while (!in_unit(pid, unit)) {
        if (now_ms() >= until)
            return err_set(err, ERR_TIMEOUT, "start scope '%s': process %d did not appear in it",
                           unit, (int)pid);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}
