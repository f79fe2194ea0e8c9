/* hook: see hook.h.  (stub; implementation in progress) */
#include "hook.h"

#include <stdio.h>
#include <string.h>

int hook_run(const struct hook_opts *opts, struct hook_result *ret, struct err *err)
{
    (void)opts;
    if (ret)
        memset(ret, 0, sizeof(*ret));
    return err_set(err, ERR_UNSUPPORTED, "run hook: not implemented yet");
}

int hook_run_event(const struct hook_event_opts *opts, struct hook_event_result *ret,
                   struct err *err)
{
    (void)opts;
    if (ret)
        memset(ret, 0, sizeof(*ret));
    return err_set(err, ERR_UNSUPPORTED, "run hook event: not implemented yet");
}

int hook_capture(char *const *argv, char *const *envp, size_t max, uint64_t timeout_ms,
                 char **ret, size_t *ret_len, struct err *err)
{
    (void)argv, (void)envp, (void)max, (void)timeout_ms, (void)ret, (void)ret_len;
    return err_set(err, ERR_UNSUPPORTED, "capture command output: not implemented yet");
}

void hook_drain_shutdown(uint64_t timeout_ms)
{
    (void)timeout_ms;
}

size_t hook_drain_count(void)
{
    return 0;
}

const char *hook_signal_name(int sig)
{
    static char b[32];
    snprintf(b, sizeof(b), "signal %d", sig);
    return b;
}
