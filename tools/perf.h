/* `hamdeq bench --perf` (cmd_perf.c), its Modern Hopfield case (perf_mhn.c) and its
 * machine measurements (perf_kernels.c). */
#ifndef HAMDEQ_TOOLS_PERF_H
#define HAMDEQ_TOOLS_PERF_H

#include <stddef.h>
#include <stdint.h>

/* The performance suite; argv[0] is "bench" and argv holds --perf. Returns an exit code. */
int cmd_bench_perf(int argc, char **argv);

/* The mhn_retrieve case (perf_mhn.c): the first `patterns` train images of `data` (0: all)
 * stored, the first `queries` t10k images (0: all) retrieved, `batch` per solve, with
 * `solver`. */
typedef struct perf_mhn_args {
    const char *data;
    int64_t patterns, queries, batch;
    int32_t solver; /* HAM_SOLVER_PICARD: the update itself */
} perf_mhn_args_t;

typedef struct perf_mhn perf_mhn_t;

/* Loads and normalises the data, computes beta_s, builds the network and its solver,
 * printing nothing but one error line on failure. Returns 0 or an exit code. */
int perf_mhn_setup(perf_mhn_t **mhn, const perf_mhn_args_t *args);

/* Times the case (passes until `budget_s`, at least one; the median) and prints its line:
 * JSON on stdout with `json`, the rest on stderr. Returns 0 or an exit code. */
int perf_mhn_run(perf_mhn_t *mhn, double sgemm_gflops, double budget_s, int json);

void perf_mhn_free(perf_mhn_t *mhn);

/* The online cores (at least 1): the measurements below use one thread on each. */
int perf_cores(void);

/* Nanoseconds per value of the paper's shifted sigmoid as the library computes it (its
 * vectorised exp), timed through a solver on a cache-resident layer (best of 25 short
 * windows) on every core at once: the wall time per value of all cores together (one
 * core's time over the number of cores when they do not slow each other down); 0 when
 * it could not be measured. */
double perf_sigmoid_ns(void);

/* Read bandwidth in GB/s for a working set of `bytes` split over every core, each reading
 * its share at the same time: the sum of the cores' rates (best of 25 short windows each);
 * 0 on failure. */
double perf_read_gbs(size_t bytes);

#endif /* HAMDEQ_TOOLS_PERF_H */
