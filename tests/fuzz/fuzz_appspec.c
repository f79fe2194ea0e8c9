/* libFuzzer target: appspec_parse() on arbitrary bytes, then the lookups install and hooks do. */
#include "fuzz.h"
#include "parse/appspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct appspec *as = NULL;
    struct err err = ERR_INIT;
    int rc = appspec_parse((const char *)data, size, "appspec.yml", &as, &err);
    fuzz_check_result("appspec_parse", rc, &err);
    if (rc < 0)
        return 0;
    for (size_t i = 0; i < as->n_events; i++) {
        size_t n = 0;
        const struct appspec_script *s = appspec_hooks_for(as, as->events[i].name, &n);
        if (n != as->events[i].n_scripts || (n && s != as->events[i].scripts))
            abort();
        (void)appspec_event_suggest(as->events[i].name, NULL, 0);
    }
    struct err e2 = ERR_INIT;
    rc = appspec_check_events(as, appspec_default_events, APPSPEC_N_DEFAULT_EVENTS, NULL, 0, &e2);
    fuzz_check_result("appspec_check_events", rc, &e2);
    appspec_free(as);
    return 0;
}
