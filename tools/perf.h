/* `hamdeq bench --perf` (cmd_perf.c) and its machine measurements (perf_kernels.c). */
#ifndef HAMDEQ_TOOLS_PERF_H
#define HAMDEQ_TOOLS_PERF_H

#include <stddef.h>

/* The performance suite; argv[0] is "bench" and argv holds --perf. Returns an exit code. */
int cmd_bench_perf(int argc, char **argv);

/* Nanoseconds per value of the paper's shifted sigmoid as the library computes it (its
 * vectorised exp), timed through a solver on a cache-resident layer (best of 5); 0 when
 * it could not be measured. */
double perf_sigmoid_ns(void);

/* Single-thread read bandwidth in GB/s for a working set of `bytes` (best of 5). */
double perf_read_gbs(size_t bytes);

#endif /* HAMDEQ_TOOLS_PERF_H */
