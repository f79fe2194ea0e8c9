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

bool lexpath_stays_below_root(const char *p, size_t n)
{
    int depth = 0;
    const char *s = p, *end = p + n;
    while (s < end) {
        while (s < end && *s == '/')
            s++;
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e)
            e = end;
        size_t k = (size_t)(e - s);
        if (k == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (k > 0 && !(k == 1 && s[0] == '.')) {
            depth++;
        }
        s = e;
    }
    return true;
}
