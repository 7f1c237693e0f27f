/* `hamdeq bench --perf` (cmd_perf.c), its Modern Hopfield case (perf_mhn.c) and its
 * machine measurements (perf_kernels.c). */
#ifndef HAMDEQ_TOOLS_PERF_H
#define HAMDEQ_TOOLS_PERF_H

#include <stddef.h>
#include <stdint.h>

/* The performance suite; argv[0] is "bench" and argv holds --perf. Returns an exit code. */
int cmd_bench_perf(int argc, char **argv);

/* The mhn_retrieve case: the first `patterns` train images (0: all) stored, the first
 * `queries` t10k images (0: all) retrieved, `batch` per solve. */
typedef struct perf_mhn_args {
    const char *data;
    int64_t patterns, queries, batch;
    double budget_s;     /* repeat passes until their time exceeds this (at least one) */
    double sgemm_gflops; /* the machine's rate, for the fraction */
    int json;
} perf_mhn_args_t;

/* Runs the case and prints its line (JSON on stdout with `json`, the rest on stderr).
 * Returns 0 or an exit code after one error line. */
int perf_mhn_retrieve(const perf_mhn_args_t *args);

/* Nanoseconds per value of the paper's shifted sigmoid as the library computes it (its
 * vectorised exp), timed through a solver on a cache-resident layer (best of 5); 0 when
 * it could not be measured. */
double perf_sigmoid_ns(void);

/* Single-thread read bandwidth in GB/s for a working set of `bytes` (best of 5). */
double perf_read_gbs(size_t bytes);

#endif /* HAMDEQ_TOOLS_PERF_H */
