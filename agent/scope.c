/* scope: see scope.h.  (stub; implementation in progress) */
#include "scope.h"

#include "util.h"

bool scope_available(void)
{
    return false;
}

char *scope_unit_name(const char *deployment_id, const char *event, unsigned n)
{
    return xasprintf("cdagent-hook-%s-%s-%u.scope", deployment_id, event, n);
}

int scope_start(const char *unit, pid_t pid, const char *description, struct err *err)
{
    (void)unit, (void)pid, (void)description;
    return err_set(err, ERR_UNSUPPORTED, "start scope: not implemented yet");
}
