/*
 * progress: how a long download is shown (issue 16 item 3), as pure text builders.
 *   progress_status()  the daemon's STATUS= / state-file text:
 *                        "d-X: DownloadBundle 120/200 MB, 45 MB/s"
 *   progress_bar()     codedeploy-local on a terminal, redrawn in place:
 *                        "[##########----------]  120.0/200.0 MB  45.0 MB/s  0:02 left"
 *   progress_line()    codedeploy-local when stdout is not a terminal (a plain line at most
 *                      every PROGRESS_PLAIN_INTERVAL_MS):
 *                        "    downloaded 120.0 of 200.0 MB (60%), 45.0 MB/s"
 *   progress_unpack()  codedeploy-local while unpacking (redrawn on a terminal, else a line every
 *                      PROGRESS_PLAIN_INTERVAL_MS):  "    unpacking: 56.0 MB written, 40.0 MB/s"
 * Sizes are decimal megabytes; an unknown total (0) leaves out the total, percentage and ETA.
 */
#ifndef CDAGENT_PROGRESS_H
#define CDAGENT_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define PROGRESS_STATUS_INTERVAL_MS 1000
#define PROGRESS_PLAIN_INTERVAL_MS 5000
#define PROGRESS_BAR_WIDTH 24

void progress_status(char *out, size_t n, const char *deployment_id, const char *command,
                     uint64_t done, uint64_t total, double rate_bps);
void progress_bar(char *out, size_t n, uint64_t done, uint64_t total, double rate_bps);
void progress_line(char *out, size_t n, uint64_t done, uint64_t total, double rate_bps);
void progress_unpack(char *out, size_t n, uint64_t written, double rate_bps);

#endif
