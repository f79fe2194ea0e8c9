/*
 * bench_unpack: extract one archive with cdagent's unpacker, for bench/unpack.
 *   bench_unpack tar|tgz|zip ARCHIVE DEST
 * Prints "seconds=<s> entries=<n> bytes=<n> maxrss_kb=<n>" on success; exit 1 with the error.
 */
#include <stdio.h>
#include <sys/resource.h>

#include "deploy/unpack.h"
#include "base/util.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_unpack tar|tgz|zip ARCHIVE DEST\n");
        return 2;
    }
    struct unpack_stats st;
    struct err e = ERR_INIT;
    uint64_t t0 = now_usec();
    if (unpack_archive(argv[2], unpack_format_from_type(argv[1]), argv[3], NULL, &st, &e) < 0) {
        fprintf(stderr, "bench_unpack: %s\n", e.msg);
        return 1;
    }
    uint64_t t1 = now_usec();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("seconds=%.3f entries=%llu bytes=%llu maxrss_kb=%ld\n", (double)(t1 - t0) / 1e6,
           (unsigned long long)st.entries, (unsigned long long)st.bytes, ru.ru_maxrss);
    return 0;
}
