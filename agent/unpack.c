/* unpack: safe bundle extraction (stub until the implementation lands). */
#include "unpack.h"
#include "util.h"

enum unpack_format unpack_format_from_type(const char *bundle_type)
{
    if (str_eq(bundle_type, "zip"))
        return UNPACK_ZIP;
    if (str_eq(bundle_type, "tgz"))
        return UNPACK_TGZ;
    return UNPACK_TAR;
}

int unpack_archive(const char *archive_path, enum unpack_format fmt, const char *dest_dir,
                   const struct unpack_opts *opts, struct unpack_stats *ret_stats,
                   struct err *err)
{
    (void)archive_path, (void)fmt, (void)dest_dir, (void)opts, (void)ret_stats;
    return err_set(err, ERR_UNSUPPORTED, "unpack: not implemented yet");
}

int unpack_strip_top_dir(const char *archive_dir, bool *ret_stripped, struct err *err)
{
    (void)archive_dir, (void)ret_stripped;
    return err_set(err, ERR_UNSUPPORTED, "unpack: not implemented yet");
}
