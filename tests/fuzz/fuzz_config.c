/* libFuzzer target: config_parse() (the agent configuration file) on arbitrary bytes. */
#include "fuzz.h"
#include "parse/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    memset(&c, 0, sizeof c);
    struct err err = ERR_INIT;
    int rc = config_parse((const char *)data, size, "codedeployagent.yml", &c, &err);
    fuzz_check_result("config_parse", rc, &err);
    if (rc == 0 && (!c.log_dir || !c.root_dir || !c.program_name))
        abort(); /* defaults must always be filled */
    config_done(&c);
    return 0;
}
