/* install: the Install step (stub until the implementation lands). */
#include "install.h"
#include "util.h"

int install_run(const struct appspec *as, const struct install_opts *opts, struct err *err)
{
    (void)as, (void)opts;
    return err_set(err, ERR_UNSUPPORTED, "install: not implemented yet");
}

int install_remove_previous(const char *root_dir, const char *group_id, struct err *err)
{
    (void)root_dir, (void)group_id;
    return err_set(err, ERR_UNSUPPORTED, "install: not implemented yet");
}
