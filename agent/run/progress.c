/* progress: see progress.h. */
#include "run/progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MB 1e6

void progress_status(char *out, size_t n, const char *deployment_id, const char *command,
                     uint64_t done, uint64_t total, double rate_bps)
{
    if (total)
        (void)snprintf(out, n, "%s: %s %" PRIu64 "/%" PRIu64 " MB, %.0f MB/s", deployment_id,
                       command, done / 1000000, total / 1000000, rate_bps / MB);
    else
        (void)snprintf(out, n, "%s: %s %" PRIu64 " MB, %.0f MB/s", deployment_id, command,
                       done / 1000000, rate_bps / MB);
}

void progress_bar(char *out, size_t n, uint64_t done, uint64_t total, double rate_bps)
{
    char bar[PROGRESS_BAR_WIDTH + 1];
    size_t fill = total ? (size_t)((double)done / (double)total * PROGRESS_BAR_WIDTH) : 0;
    if (fill > PROGRESS_BAR_WIDTH)
        fill = PROGRESS_BAR_WIDTH;
    memset(bar, '#', fill);
    memset(bar + fill, '-', PROGRESS_BAR_WIDTH - fill);
    bar[PROGRESS_BAR_WIDTH] = '\0';
    if (!total) {
        (void)snprintf(out, n, "[%s]  %.1f MB  %.1f MB/s", bar, (double)done / MB, rate_bps / MB);
        return;
    }
    char eta[32] = "";
    if (rate_bps > 0 && done <= total) {
        uint64_t s = (uint64_t)((double)(total - done) / rate_bps + 0.5);
        (void)snprintf(eta, sizeof(eta), "  %" PRIu64 ":%02" PRIu64 " left", s / 60, s % 60);
    }
    (void)snprintf(out, n, "[%s]  %.1f/%.1f MB  %.1f MB/s%s", bar, (double)done / MB,
                   (double)total / MB, rate_bps / MB, eta);
}

void progress_line(char *out, size_t n, uint64_t done, uint64_t total, double rate_bps)
{
    if (total)
        (void)snprintf(out, n, "    downloaded %.1f of %.1f MB (%d%%), %.1f MB/s",
                       (double)done / MB, (double)total / MB,
                       (int)((double)done * 100.0 / (double)total), rate_bps / MB);
    else
        (void)snprintf(out, n, "    downloaded %.1f MB, %.1f MB/s", (double)done / MB,
                       rate_bps / MB);
}

void progress_unpack(char *out, size_t n, uint64_t written, double rate_bps)
{
    (void)snprintf(out, n, "    unpacking: %.1f MB written, %.1f MB/s", (double)written / MB,
                   rate_bps / MB);
}
