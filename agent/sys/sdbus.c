/* sdbus: see sdbus.h. */
#include "sys/sdbus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "base/util.h"

/* systemd's own socket: a peer-to-peer connection, no Hello, root only. */
static int open_private(sd_bus **ret)
{
    sd_bus *bus = NULL;
    int r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_address(bus, "unix:path=" SDBUS_PRIVATE_SOCKET);
    if (r >= 0)
        r = sd_bus_start(bus);
    if (r < 0) {
        sd_bus_unref(bus);
        return r;
    }
    *ret = bus;
    return 0;
}

int sdbus_open(sd_bus **ret, struct err *err)
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
                   strerror(-r), SDBUS_PRIVATE_SOCKET, strerror(-r2));
}

char *sdbus_own_syslog_identifier(void)
{
    char *unit = NULL, *path = NULL, *val = NULL;
    sd_bus *bus = NULL;
    struct err e = ERR_INIT;
    if (sd_pid_get_unit(0, &unit) < 0 || !unit || !strstr(unit, ".service"))
        goto out;
    if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path) < 0)
        goto out;
    if (sdbus_open(&bus, &e) < 0)
        goto out;
    sd_bus_error be = SD_BUS_ERROR_NULL;
    if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                   "org.freedesktop.systemd1.Service", "SyslogIdentifier", &be,
                                   &val) < 0)
        val = NULL;
    sd_bus_error_free(&be);
    if (val && !*val) {
        free(val);
        val = NULL;
    }
out:
    sd_bus_flush_close_unref(bus);
    free(path);
    free(unit);
    return val;
}
