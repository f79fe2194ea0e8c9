/* lexpath: see lexpath.h. */
#include "deploy/lexpath.h"

#include <string.h>

#include "base/util.h"
#include "base/path.h"

/* The one lexical normaliser lives in base/path. */
char *lexpath_norm(const char *p)
{
    return path_normalise(p);
}

char *lexpath_join(const char *a, const char *b)
{
    return path_join_normalise(a, b);
}

const char *lexpath_base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

char *lexpath_dir(const char *p)
{
    const char *s = strrchr(p, '/');
    if (!s || s == p)
        return xstrdup("/");
    return xstrndup(p, (size_t)(s - p));
}

bool lexpath_within(const char *path, const char *root)
{
    return path_within(path, root);
}
