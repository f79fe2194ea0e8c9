/*
 * record: what the executor notes after each lifecycle command (issue 16 items 1, 4, 5): the
 * event's hook output to S3 (:hook_logs_s3_uri:, run/hooklogs), the deployment's history record
 * (deploy/history, always) and the metrics (run/metrics, when :metrics_file: is set).  None of
 * these can fail the command: problems are logged.
 */
#ifndef CDAGENT_RECORD_H
#define CDAGENT_RECORD_H

#include <stdint.h>

#include "base/err.h"

struct config;
struct deploy_spec;
struct exec_result;
struct executor_opts;

/* Daemon start-up: refuse unusable :bundle_signing_public_keys: / :hook_logs_s3_uri: settings
 * (ERR_CONFIG, see preflight_check_settings) and open the metrics file (a failure there is
 * logged, not fatal).  record_close() at shutdown. */
int record_open(const struct config *cfg, struct err *err);
void record_close(void);

/* Call when the command starts (after the deployment directory exists): the scripts.log mark. */
uint64_t record_command_start(const char *deployment_dir);

/* Call when the command has ended with ret; mark from record_command_start, duration in ms. */
void record_command_end(const struct executor_opts *o, const char *command,
                        const struct deploy_spec *spec, const char *deployment_dir,
                        const struct exec_result *ret, uint64_t mark, uint64_t duration_ms);

#endif
