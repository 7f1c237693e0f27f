/* Test-set evaluation of a model with one operator x solver pair: accuracy, the
 * library's iteration count, the authors' count, and per-iteration residual traces. */
#ifndef HAMDEQ_TOOLS_EVALUATE_H
#define HAMDEQ_TOOLS_EVALUATE_H

#include <stdint.h>

#include <hamdeq/hamdeq.h>

/* Most fixed iterations of the authors' count (it costs K^2/2 iterations per sample
 * whose criterion never holds). */
#define CLI_AUTHORS_MAX_K 100

typedef struct cli_eval_opts {
    int32_t op, kind;  /* operator and solver */
    double tol;        /* tolerance of the counted solve (the paper's 1e-4) */
    int32_t max_iter;  /* its iteration cap, and K, the fixed iteration count of the
                          authors' count (at most 100) and of the traces (at most 1000)
                          (the paper's 40) */
    int32_t batch;     /* samples per solve */
    int authors;       /* also compute the authors' count */
    int trace;         /* also record residual traces (--plot) */
    int32_t stability; /* HAM_OPT_STABILITY_CHECK of the counted solve (0: off) */
} cli_eval_opts_t;

typedef struct cli_eval_result {
    int64_t samples, correct;
    int64_t not_converged;  /* did not reach tol within max_iter (including diverged) */
    int64_t diverged;
    int64_t unstable;       /* HAM_SAMPLE_UNSTABLE (only with a stability check) */
    double iters_mean;      /* library count: operator evaluations until r < tol */
    int32_t iters_max;
    double authors_mean;    /* authors' count (NaN when not computed) */
    int64_t authors_missed; /* samples whose authors' criterion never held: counted as K */
    double seconds;         /* wall time of the counted solves */
    int32_t trace_iters;    /* K when traces were recorded, else 0 */
    float *trace;           /* samples x K: relative residual after iteration 1 .. K */
} cli_eval_result_t;

/* Evaluates `model` on every sample of `ds` (labelled, checked with cli_data_fits()).
 * Returns 0, or an exit code after printing one error line. */
int cli_evaluate(cli_eval_result_t *res, const ham_model_t *model, const ham_dataset_t *ds,
                 const cli_eval_opts_t *opts);

void cli_eval_result_free(cli_eval_result_t *res);

/* Quantile q (0..1) over the samples of the residual after each iteration: out[K].
 * Non-finite residuals (diverged samples) count as +infinity. Returns 0, or -1 when no
 * traces were recorded or memory ran out. */
int cli_trace_quantiles(double *out, const cli_eval_result_t *res, double q);

#endif /* HAMDEQ_TOOLS_EVALUATE_H */
