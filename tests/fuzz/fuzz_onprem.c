/* libFuzzer target: onprem_parse() (codedeploy.onpremises.yml) on arbitrary bytes. */
#include "fuzz.h"
#include "aws/onprem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct onprem o;
    onprem_init(&o);
    struct err err = ERR_INIT;
    int rc = onprem_parse((const char *)data, size, "codedeploy.onpremises.yml", &o, &err);
    fuzz_check_result("onprem_parse", rc, &err);
    if (rc == 0)
        (void)onprem_host_identifier(&o);
    onprem_done(&o);
    return 0;
}
