/* result: see result.h. */
#include "run/result.h"

#include <stdlib.h>
#include <string.h>

void exec_result_done(struct exec_result *r)
{
    free(r->script_name);
    free(r->message);
    free(r->log);
    free(r->note);
    memset(r, 0, sizeof(*r));
}
