/*
 * result: the outcome of one lifecycle command as the service wants it reported (spec §13), filled
 * by the executor and by the hook runner of one event (run/hookrun) without either including the
 * other.
 */
#ifndef CDAGENT_RESULT_H
#define CDAGENT_RESULT_H

#include <stdbool.h>

struct exec_result {
    bool succeeded;
    int error_code;    /* 0-7 */
    char *script_name; /* owned; "" when not script-related */
    char *message;     /* owned */
    char *log;         /* owned; output tail ("" when none) */
    bool noop;         /* no script ran (hook events) */
    char *note;        /* owned; DownloadBundle's "BundleSource=..." (V-009), else NULL */
};

/* Free the owned strings and zero *r. */
void exec_result_done(struct exec_result *r);

#endif
