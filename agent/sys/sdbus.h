/*
 * sdbus: a connection to systemd's manager for the agent's few D-Bus calls (issue 13).
 *
 * sdbus_open() connects to the system bus (dbus-daemon or dbus-broker) and, when there is none
 * (minimal images, containers, early boot), to systemd's private socket /run/systemd/private,
 * which only root may use and which serves org.freedesktop.systemd1 directly (no bus names, no
 * broker).  Callers address "org.freedesktop.systemd1" either way.  Close with
 * sd_bus_flush_close_unref().
 */
#ifndef CDAGENT_SDBUS_H
#define CDAGENT_SDBUS_H

#include <systemd/sd-bus.h>

#include "base/err.h"

#define SDBUS_PRIVATE_SOCKET "/run/systemd/private"

/* Errors: ERR_SYSTEM naming both failures. */
int sdbus_open(sd_bus **ret, struct err *err);

/* The SyslogIdentifier= of the service unit this process runs in; NULL when it is not in a
 * service unit, the unit sets none, or systemd cannot be asked.  Caller frees. */
char *sdbus_own_syslog_identifier(void);

#endif
