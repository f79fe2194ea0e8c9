/* diag: see diag.h. */
#include "run/diag.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

/* Length of the valid UTF-8 sequence at s[0..len) (1-4), or 0 when s starts an invalid one.
 * *ret_bad is set to the length of the maximal invalid subpart to replace by one U+FFFD. */
static size_t utf8_seq(const unsigned char *s, size_t len, size_t *ret_bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;

    *ret_bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* <= U+10FFFF */
    } else {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (i >= len || s[i] < l || s[i] > h) {
            *ret_bad = i;
            return 0;
        }
    }
    return need;
}

char *diag_utf8_sanitize(const char *s, size_t len, size_t *ret_len)
{
    struct buf b;
    buf_init(&b, SIZE_MAX / 2);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t i = 0;
    while (i < len) {
        size_t bad;
        size_t n = utf8_seq(p + i, len - i, &bad);
        if (n) {
            (void)buf_append(&b, p + i, n, NULL);
            i += n;
        } else {
            (void)buf_append(&b, "\xEF\xBF\xBD", 3, NULL);
            i += bad;
        }
    }
    (void)buf_append(&b, "", 0, NULL);
    if (ret_len)
        *ret_len = b.len;
    return buf_steal(&b);
}

/* Escaped length of one valid UTF-8 sequence, in output characters (UTF-16 units). */
static size_t esc_cost(const unsigned char *p, size_t n)
{
    if (n == 1) {
        unsigned char c = p[0];
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            return 2;
        if (c < 0x20)
            return 6;
        return 1;
    }
    return n == 4 ? 2 : 1;
}

static void esc_append(struct buf *b, const unsigned char *p, size_t n)
{
    if (n > 1) {
        (void)buf_append(b, p, n, NULL);
        return;
    }
    char tmp[8];
    unsigned char c = p[0];
    switch (c) {
    case '"':
        (void)buf_append(b, "\\\"", 2, NULL);
        return;
    case '\\':
        (void)buf_append(b, "\\\\", 2, NULL);
        return;
    case '\b':
        (void)buf_append(b, "\\b", 2, NULL);
        return;
    case '\f':
        (void)buf_append(b, "\\f", 2, NULL);
        return;
    case '\n':
        (void)buf_append(b, "\\n", 2, NULL);
        return;
    case '\r':
        (void)buf_append(b, "\\r", 2, NULL);
        return;
    case '\t':
        (void)buf_append(b, "\\t", 2, NULL);
        return;
    default:
        break;
    }
    if (c < 0x20) {
        snprintf(tmp, sizeof(tmp), "\\u%04x", c);
        (void)buf_append(b, tmp, 6, NULL);
        return;
    }
    (void)buf_append(b, p, 1, NULL);
}

/* Byte length of the valid UTF-8 sequence starting at p (input already sanitised). */
static size_t seq_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    if (p[0] < 0xE0)
        return 2;
    if (p[0] < 0xF0)
        return 3;
    return 4;
}

/* Escaped character count of sanitised s[0..len) (without quotes). */
static size_t esc_len(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t total = 0;
    for (size_t i = 0; i < len;) {
        size_t n = seq_len(p + i);
        total += esc_cost(p + i, n);
        i += n;
    }
    return total;
}

static void json_append(struct buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    (void)buf_append(b, "\"", 1, NULL);
    for (size_t i = 0; i < len;) {
        size_t n = seq_len(p + i);
        esc_append(b, p + i, n);
        i += n;
    }
    (void)buf_append(b, "\"", 1, NULL);
}

char *diag_json_string(const char *s, size_t len)
{
    struct buf b;
    buf_init(&b, SIZE_MAX / 2);
    json_append(&b, s, len);
    return buf_steal(&b);
}

size_t diag_char_count(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            n += p[i] >= 0xF0 ? 2 : 1;
    }
    return n;
}

/* Drop whole characters from the front of s until its escaped length is <= budget; returns the
 * byte offset to keep from. */
static size_t cut_front(const char *s, size_t len, size_t budget)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t total = esc_len(s, len);
    size_t i = 0;
    while (i < len && total > budget) {
        size_t n = seq_len(p + i);
        total -= esc_cost(p + i, n);
        i += n;
    }
    return i;
}

/* Longest prefix of s whose escaped length is <= budget; returns its byte length. */
static size_t cut_back(const char *s, size_t len, size_t budget)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t total = 0, i = 0;
    while (i < len) {
        size_t n = seq_len(p + i);
        size_t c = esc_cost(p + i, n);
        if (total + c > budget)
            break;
        total += c;
        i += n;
    }
    return i;
}

static char *build(int code, const char *sn, size_t sn_len, const char *msg, size_t msg_len,
                   const char *msg_suffix, const char *log, size_t log_len)
{
    struct buf b;
    buf_init(&b, SIZE_MAX / 2);
    (void)buf_appendf(&b, NULL, "{\"error_code\":%d,\"script_name\":", code);
    json_append(&b, sn, sn_len);
    (void)buf_append(&b, ",\"message\":", 11, NULL);
    if (msg_suffix && *msg_suffix) {
        char *m = xmalloc(msg_len + strlen(msg_suffix) + 1);
        memcpy(m, msg, msg_len);
        memcpy(m + msg_len, msg_suffix, strlen(msg_suffix) + 1);
        json_append(&b, m, msg_len + strlen(msg_suffix));
        free(m);
    } else {
        json_append(&b, msg, msg_len);
    }
    (void)buf_append(&b, ",\"log\":", 7, NULL);
    json_append(&b, log, log_len);
    (void)buf_append(&b, "}", 1, NULL);
    return buf_steal(&b);
}

char *diag_payload(int error_code, const char *script_name, const char *message, const char *log,
                   size_t log_len, size_t max_chars)
{
    size_t sn_len, msg_len, lg_len;
    AUTOFREE char *sn =
        diag_utf8_sanitize(script_name, script_name ? strlen(script_name) : 0, &sn_len);
    AUTOFREE char *msg = diag_utf8_sanitize(message, message ? strlen(message) : 0, &msg_len);
    AUTOFREE char *lg = diag_utf8_sanitize(log, log ? log_len : 0, &lg_len);
    if (max_chars == 0)
        max_chars = DIAG_PAYLOAD_MAX;

    char codebuf[24];
    int clen = snprintf(codebuf, sizeof(codebuf), "%d", error_code);
    /* {"error_code":N,"script_name":"","message":"","log":""} */
    size_t fixed = strlen("{\"error_code\":,\"script_name\":\"\",\"message\":\"\",\"log\":\"\"}") +
                   (size_t)clen;
    size_t sn_c = esc_len(sn, sn_len), msg_c = esc_len(msg, msg_len), lg_c = esc_len(lg, lg_len);
    if (fixed + sn_c + msg_c + lg_c <= max_chars)
        return build(error_code, sn, sn_len, msg, msg_len, NULL, lg, lg_len);

    /* 1. the log, from the front (keeping the newest output) */
    if (fixed + sn_c + msg_c <= max_chars) {
        size_t off = cut_front(lg, lg_len, max_chars - fixed - sn_c - msg_c);
        return build(error_code, sn, sn_len, msg, msg_len, NULL, lg + off, lg_len - off);
    }
    /* 2. the message, at the end, with "..." */
    if (fixed + sn_c + 3 <= max_chars) {
        size_t keep = cut_back(msg, msg_len, max_chars - fixed - sn_c - 3);
        return build(error_code, sn, sn_len, msg, keep, "...", "", 0);
    }
    /* 3. defensively, the script name too */
    size_t budget = max_chars > fixed + 3 ? max_chars - fixed - 3 : 0;
    size_t keep = cut_back(sn, sn_len, budget);
    return build(error_code, sn, keep, "", 0, "...", "", 0);
}

char *diag_success_payload(void)
{
    return diag_payload(0, "", DIAG_SUCCESS_MESSAGE, "", 0, 0);
}

char *diag_ack_payload(bool noop)
{
    return xstrdup(noop ? "{\"IsCommandNoop\":true}" : "{\"IsCommandNoop\":false}");
}
