/* httpshare: see httpshare.h. */
#include "net/httpshare.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "base/util.h"

static struct {
    pthread_mutex_t mu;            /* guards idle, n_idle, share creation */
    struct httpshare_handle *idle; /* most recently used first */
    unsigned n_idle;
    CURLSH *share; /* DNS and TLS sessions; NULL if it cannot be made */
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The parsed trust store and the override it was built from ("" for the system store). */
static struct {
    pthread_mutex_t mu;
    X509_STORE *store; /* owned reference; TLS contexts take their own */
    char *key;         /* owned; "<file>\n<dir>" */
    char error[256];   /* why the last load failed, "" when it did not */
} trust = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access access, void *arg)
{
    (void)e, (void)access, (void)arg;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&pool.locks[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *arg)
{
    (void)e, (void)arg;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&pool.locks[data]);
}

/* Under pool.mu. */
static CURLSH *share_get(void)
{
    if (pool.share)
        return pool.share;
    CURLSH *s = curl_share_init();
    if (!s)
        return NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&pool.locks[i], NULL);
    (void)curl_share_setopt(s, CURLSHOPT_LOCKFUNC, share_lock);
    (void)curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, share_unlock);
    (void)curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    (void)curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    pool.share = s;
    return s;
}

static void handle_free(struct httpshare_handle *h)
{
    if (!h)
        return;
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    free(h->origin);
    free(h);
}

static struct httpshare_handle *handle_new(void)
{
    struct httpshare_handle *h = xcalloc(1, sizeof(*h));
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (!h->multi || !h->easy) {
        handle_free(h);
        return NULL;
    }
    return h;
}

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

struct httpshare_handle *httpshare_take(const char *origin)
{
    pthread_mutex_lock(&pool.mu);
    struct httpshare_handle **pick = NULL;
    for (struct httpshare_handle **p = &pool.idle; *p; p = &(*p)->next)
        if (same((*p)->origin, origin)) {
            pick = p;
            break;
        }
    if (!pick && pool.idle)
        pick = &pool.idle;
    struct httpshare_handle *h = NULL;
    if (pick) {
        h = *pick;
        *pick = h->next;
        h->next = NULL;
        pool.n_idle--;
    }
    pthread_mutex_unlock(&pool.mu);
    if (!h)
        h = handle_new();
    return h;
}

void httpshare_give(struct httpshare_handle *h, const char *origin)
{
    if (!h)
        return;
    free(h->origin);
    h->origin = origin ? xstrdup(origin) : NULL;
    struct httpshare_handle *drop = NULL;
    pthread_mutex_lock(&pool.mu);
    h->next = pool.idle;
    pool.idle = h;
    if (++pool.n_idle > HTTPSHARE_MAX_IDLE) {
        /* Free the least recently used one. */
        struct httpshare_handle **p = &pool.idle;
        while ((*p)->next)
            p = &(*p)->next;
        drop = *p;
        *p = NULL;
        pool.n_idle--;
    }
    pthread_mutex_unlock(&pool.mu);
    handle_free(drop);
}

/* ---- the trust store ---- */

/* the override from the environment (AWS_CA_BUNDLE wins, then AWS_SSL_CA_BUNDLE, then
 * SSL_CERT_FILE; AWS_SSL_CA_DIRECTORY for a hashed directory).  NULL when unset. */
static void override_paths(const char **ret_file, const char **ret_dir)
{
    static const char *const file_vars[] = {"AWS_CA_BUNDLE", "AWS_SSL_CA_BUNDLE", "SSL_CERT_FILE",
                                            NULL};
    const char *file = NULL;
    for (size_t i = 0; file_vars[i] && !file; i++) {
        const char *v = getenv(file_vars[i]);
        if (v && *v)
            file = v;
    }
    const char *dir = getenv("AWS_SSL_CA_DIRECTORY");
    *ret_file = file;
    *ret_dir = dir && *dir ? dir : NULL;
}

static bool curl_uses_openssl(void)
{
    static int known = -1;
    if (known < 0) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        known = v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL", 7) == 0;
    }
    return known == 1;
}

/* Read and parse the store; under trust.mu.  NULL with trust.error set on failure. */
static X509_STORE *store_load(const char *file, const char *dir)
{
    X509_STORE *s = X509_STORE_new();
    if (!s)
        return NULL;
    bool ok = true;
    if (file && X509_STORE_load_file(s, file) != 1)
        ok = false;
    if (ok && dir && X509_STORE_load_path(s, dir) != 1)
        ok = false;
    if (!ok) {
        unsigned long e = ERR_peek_last_error();
        snprintf(trust.error, sizeof(trust.error), "cannot read the CA certificate store %s: %s",
                 file ? file : dir, e ? ERR_reason_error_string(e) : "unknown error");
        ERR_clear_error();
        X509_STORE_free(s);
        return NULL;
    }
    /* libcurl's defaults for the stores it builds itself. */
    X509_STORE_set_flags(s, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
    trust.error[0] = '\0';
    return s;
}

/* The store for this process's current override, built on first use; a new reference. */
static X509_STORE *store_get(CURL *e)
{
    const char *file, *dir;
    override_paths(&file, &dir);
    char *def_file = NULL, *def_dir = NULL;
    if (!file && !dir) {
        /* The system store libcurl was built to use. */
        (void)curl_easy_getinfo(e, CURLINFO_CAINFO, &def_file);
        (void)curl_easy_getinfo(e, CURLINFO_CAPATH, &def_dir);
        file = def_file;
        dir = file ? NULL : def_dir;
    }
    AUTOFREE char *key = xasprintf("%s\n%s", file ? file : "", dir ? dir : "");
    pthread_mutex_lock(&trust.mu);
    if (!trust.store || !same(trust.key, key)) {
        X509_STORE *s = store_load(file, dir);
        if (s) {
            X509_STORE_free(trust.store);
            trust.store = s;
            free(trust.key);
            trust.key = xstrdup(key);
        }
    }
    X509_STORE *s = trust.store && same(trust.key, key) ? trust.store : NULL;
    if (s)
        X509_STORE_up_ref(s);
    pthread_mutex_unlock(&trust.mu);
    return s;
}

static CURLcode on_ssl_ctx(CURL *e, void *ssl_ctx, void *arg)
{
    (void)arg;
    X509_STORE *s = store_get(e);
    if (!s)
        return CURLE_SSL_CACERT_BADFILE;
    SSL_CTX_set_cert_store(ssl_ctx, s); /* takes our reference */
    return CURLE_OK;
}

void httpshare_setup(CURL *e)
{
    pthread_mutex_lock(&pool.mu);
    CURLSH *share = share_get();
    pthread_mutex_unlock(&pool.mu);
    if (share)
        (void)curl_easy_setopt(e, CURLOPT_SHARE, share);
    (void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    (void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    (void)curl_easy_setopt(e, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
    (void)curl_easy_setopt(e, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
    if (curl_uses_openssl()) {
        (void)curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        (void)curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        (void)curl_easy_setopt(e, CURLOPT_PROXY_CAINFO, NULL);
        (void)curl_easy_setopt(e, CURLOPT_PROXY_CAPATH, NULL);
        (void)curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        return;
    }
    const char *file, *dir;
    override_paths(&file, &dir);
    if (file || dir) {
        /* Replace the system store rather than add to it. */
        (void)curl_easy_setopt(e, CURLOPT_CAINFO, file);
        (void)curl_easy_setopt(e, CURLOPT_CAPATH, dir);
        (void)curl_easy_setopt(e, CURLOPT_PROXY_CAINFO, file);
        (void)curl_easy_setopt(e, CURLOPT_PROXY_CAPATH, dir);
    }
}

const char *httpshare_trust_error(void)
{
    static __thread char copy[sizeof(trust.error)];
    pthread_mutex_lock(&trust.mu);
    memcpy(copy, trust.error, sizeof(copy));
    pthread_mutex_unlock(&trust.mu);
    return copy[0] ? copy : NULL;
}
