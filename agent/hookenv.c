/* hookenv: see hookenv.h.  (stub; implementation in progress) */
#include "hookenv.h"

#include <stdlib.h>

#include "util.h"

struct hookenv {
    int unused;
};

struct hookenv *hookenv_new(const struct hookenv_opts *opts, struct err *err)
{
    (void)opts;
    err_set(err, ERR_UNSUPPORTED, "capture hook environment: not implemented yet");
    return NULL;
}

void hookenv_free(struct hookenv *env)
{
    free(env);
}

const char *hookenv_base_get(const struct hookenv *env, const char *name)
{
    (void)env, (void)name;
    return NULL;
}

char **hookenv_build(const struct hookenv *env, const struct hookenv_vars *vars)
{
    (void)env, (void)vars;
    return xcalloc(1, sizeof(char *));
}

void hookenv_envp_free(char **envp)
{
    if (!envp)
        return;
    for (char **p = envp; *p; p++)
        free(*p);
    free(envp);
}

char *hookenv_preserve_list(char *const *envp)
{
    (void)envp;
    return xstrdup("");
}

bool hookenv_name_denied(const char *name, size_t len)
{
    (void)name, (void)len;
    return false;
}

char **hookenv_parse_env0(const char *data, size_t len, struct err *err)
{
    (void)data, (void)len;
    err_set(err, ERR_UNSUPPORTED, "parse environment: not implemented yet");
    return NULL;
}
