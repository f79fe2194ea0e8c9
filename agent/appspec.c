/* appspec: AppSpec parser and validator (spec section 10).  Stub until the parser lands. */
#include "appspec.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

const char *const appspec_default_events[APPSPEC_N_DEFAULT_EVENTS] = {
    "BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop", "DownloadBundle",
    "BeforeInstall",      "Install",           "AfterInstall",    "ApplicationStart",
    "ValidateService",    "BeforeAllowTraffic", "AfterAllowTraffic",
};

void appspec_free(struct appspec *as)
{
    free(as);
}

int appspec_parse(const char *text, size_t len, const char *filename, struct appspec **ret,
                  struct err *err)
{
    (void)text;
    (void)len;
    (void)filename;
    (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "parse AppSpec: not implemented yet");
}

int appspec_load(const char *path, struct appspec **ret, struct err *err)
{
    (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "load AppSpec '%s': not implemented yet", path);
}

int appspec_find(const char *archive_dir, const char *preferred_name, char **ret_path,
                 struct err *err)
{
    (void)preferred_name;
    (void)ret_path;
    return err_set(err, ERR_UNSUPPORTED, "find AppSpec in '%s': not implemented yet", archive_dir);
}

const struct appspec_script *appspec_hooks_for(const struct appspec *as, const char *event,
                                               size_t *n)
{
    (void)as;
    (void)event;
    *n = 0;
    return NULL;
}

const struct appspec_event *appspec_event_find(const struct appspec *as, const char *event)
{
    (void)as;
    (void)event;
    return NULL;
}

bool appspec_event_is_default(const char *name)
{
    for (size_t i = 0; i < APPSPEC_N_DEFAULT_EVENTS; i++)
        if (str_eq(name, appspec_default_events[i]))
            return true;
    return false;
}

const char *appspec_event_suggest(const char *name, const char *const *candidates, size_t n)
{
    (void)name;
    (void)candidates;
    (void)n;
    return NULL;
}

int appspec_check_events(const struct appspec *as, const char *const *all_events, size_t n_all,
                         const char *const *mapping_events, size_t n_mapping, struct err *err)
{
    (void)as;
    (void)all_events;
    (void)n_all;
    (void)mapping_events;
    (void)n_mapping;
    return err_set(err, ERR_UNSUPPORTED, "check lifecycle events: not implemented yet");
}

int appspec_path_in_archive(const char *archive_dir, const char *rel, char **ret_path,
                            struct err *err)
{
    (void)archive_dir;
    (void)ret_path;
    return err_set(err, ERR_UNSUPPORTED, "check AppSpec path '%s': not implemented yet", rel);
}
