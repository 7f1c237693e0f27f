/* hamdeq bench --perf --perf-cases mhn_retrieve (docs/performance.md): retrieval with a
 * Modern Hopfield network storing a whole training split.
 *
 * The patterns are the first K images of DIR's train split, the queries the first Q of its
 * t10k split, both centred on the stored images' mean image and scaled to unit norm
 * (docs/mhn.md); beta = 2 beta_s (ham_mhn_beta_s). Each query is solved from itself
 * (warm start) on the even-odd operator, by default with Picard, which is the update
 * v <- X softmax(beta X^T v) itself (--mhn-solver picks another solver), to the
 * relative tolerance 1e-4 (at most 200 evaluations), `batch` queries per solve so that
 * the hidden layer's workspace (4 x batch x K floats) stays bounded. A pass over all
 * queries is timed after a warm-up solve of one batch; passes repeat until `budget_s` is
 * spent (at least one) and the median is kept. Flops: the two products per evaluation,
 * 4 K d per query and evaluation (and per Jacobian product, Newton's); the softmax is not
 * counted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mhn_util.h"
#include "perf.h"

#define MHN_TOL 1e-4
#define MHN_MAX_ITER 200
#define MHN_BETA_FACTOR 2.0
#define MHN_MAX_PASSES 100

typedef struct pass {
    double ms, evals, jvps;
    int64_t not_converged;
} pass_t;

static int cmp_ms(const void *a, const void *b)
{
    double x = ((const pass_t *)a)->ms, y = ((const pass_t *)b)->ms;
    return x < y ? -1 : x > y;
}

/* One pass over the Q queries q, `batch` at a time, into v. Returns 0 or an exit code. */
static int retrieve_pass(pass_t *p, ham_solver_t *sv, float *v, const float *q, int32_t Q,
                         int32_t d, int32_t batch)
{
    memset(p, 0, sizeof *p);
    double t0 = cli_now_ms();
    for (int32_t first = 0; first < Q; first += batch) {
        int32_t n = Q - first < batch ? Q - first : batch;
        float *vb = v + (size_t)first * d;
        memcpy(vb, q + (size_t)first * d, (size_t)n * d * sizeof(float));
        ham_solve_stats_t st = {.size = sizeof st};
        if (ham_solver_solve(sv, vb, n, NULL) != HAM_OK ||
            ham_solver_get_stats(&st, sv) != HAM_OK) {
            cli_error("mhn_retrieve: solve failed: %s", ham_last_error());
            return CLI_EXIT_RUNTIME;
        }
        p->evals += (double)st.evaluations;
        p->jvps += (double)st.jacobian_products;
        p->not_converged += st.samples - st.converged;
    }
    p->ms = cli_now_ms() - t0;
    return 0;
}

/* The images of one split: the first *count (0: all) as floats; *count is set. */
static int load_split(float **pix, int32_t *count, int32_t *d, const char *dir,
                      const char *split)
{
    ham_dataset_t *ds = NULL;
    *pix = NULL;
    if (ham_dataset_load_dir(&ds, dir, split, NULL) != HAM_OK) {
        cli_error("mhn_retrieve: %s", ham_last_error());
        return CLI_EXIT_RUNTIME;
    }
    int64_t have = ham_dataset_count(ds);
    if (*count > have) {
        cli_error("mhn_retrieve: the %s split of %s holds %lld images, fewer than asked (%d)",
                  split, dir, (long long)have, (int)*count);
        ham_dataset_free(ds);
        return CLI_EXIT_USAGE;
    }
    if (*count == 0)
        *count = have > INT32_MAX ? INT32_MAX : (int32_t)have;
    if (*d != 0 && ham_dataset_dim(ds) != *d) {
        cli_error("mhn_retrieve: the %s split of %s has %d values per image, the train split %d",
                  split, dir, (int)ham_dataset_dim(ds), (int)*d);
        ham_dataset_free(ds);
        return CLI_EXIT_USAGE;
    }
    *d = ham_dataset_dim(ds);
    *pix = malloc((size_t)*count * (size_t)*d * sizeof(float));
    int rc = 0;
    if (!*pix) {
        cli_error("mhn_retrieve: out of memory for %d images", (int)*count);
        rc = CLI_EXIT_RUNTIME;
    } else if (ham_dataset_get(*pix, NULL, ds, 0, *count) != HAM_OK) {
        cli_error("mhn_retrieve: reading %s: %s", dir, ham_last_error());
        rc = CLI_EXIT_RUNTIME;
    }
    ham_dataset_free(ds);
    if (rc) {
        free(*pix);
        *pix = NULL;
    }
    return rc;
}

struct perf_mhn {
    float *X, *q, *v;
    int32_t K, Q, d, batch;
    double beta_s, beta, beta_s_ms;
    const char *data;
    ham_model_t *model;
    ham_solver_t *sv;
};

void perf_mhn_free(perf_mhn_t *m)
{
    if (!m)
        return;
    ham_solver_free(m->sv);
    ham_model_free(m->model);
    free(m->v);
    free(m->q);
    free(m->X);
    free(m);
}

int perf_mhn_setup(perf_mhn_t **out, const perf_mhn_args_t *a)
{
    *out = NULL;
    perf_mhn_t *m = calloc(1, sizeof *m);
    double *mean = NULL;
    if (!m) {
        cli_error("mhn_retrieve: out of memory");
        return CLI_EXIT_RUNTIME;
    }
    m->data = a->data;
    m->K = (int32_t)a->patterns;
    m->Q = (int32_t)a->queries;
    int rc = load_split(&m->X, &m->K, &m->d, a->data, "train");
    if (!rc)
        rc = load_split(&m->q, &m->Q, &m->d, a->data, "t10k");
    if (rc)
        goto done;
    const int32_t K = m->K, Q = m->Q, d = m->d;
    m->batch = a->batch < Q ? (int32_t)a->batch : Q;
    mean = malloc((size_t)d * sizeof *mean);
    m->v = malloc((size_t)Q * d * sizeof *m->v);
    if (!mean || !m->v) {
        cli_error("mhn_retrieve: out of memory");
        rc = CLI_EXIT_RUNTIME;
        goto done;
    }
    mhn_mean_image(mean, m->X, K, d);
    mhn_normalise(m->X, m->X, K, d, mean);
    mhn_normalise(m->q, m->q, Q, d, mean);
    double t0 = cli_now_ms();
    if (ham_mhn_beta_s(&m->beta_s, m->X, K, d) != HAM_OK || !isfinite(m->beta_s)) {
        cli_error("mhn_retrieve: beta_s of the %d patterns: %s", (int)K,
                  isfinite(m->beta_s) ? ham_last_error() : "infinite (the images are all equal)");
        rc = CLI_EXIT_RUNTIME;
        goto done;
    }
    m->beta_s_ms = cli_now_ms() - t0;
    m->beta = MHN_BETA_FACTOR * m->beta_s;
    if (ham_mhn_new(&m->model, m->X, K, d, m->beta) != HAM_OK) {
        cli_error("mhn_retrieve: building the network: %s", ham_last_error());
        rc = CLI_EXIT_RUNTIME;
        goto done;
    }
    rc = mhn_solver_new(&m->sv, m->model, a->solver, MHN_TOL, MHN_MAX_ITER, 1);
done:
    free(mean);
    if (rc)
        perf_mhn_free(m);
    else
        *out = m;
    return rc;
}

int perf_mhn_run(perf_mhn_t *m, double sgemm_gflops, double budget_s, int json)
{
    const int32_t K = m->K, Q = m->Q, d = m->d, batch = m->batch;
    pass_t passes[MHN_MAX_PASSES];
    FILE *info = json ? stderr : stdout;
    fprintf(info,
            "\nmhn_retrieve: %d patterns (%s/train), %d queries (t10k), %d values, centred on "
            "the patterns' mean and scaled to unit norm; beta_s %.6g (%.0f ms), beta %.6g "
            "(%g beta_s); %s, even-odd, tolerance %g (at most %d), %d queries per solve\n",
            (int)K, m->data, (int)Q, (int)d, m->beta_s, m->beta_s_ms, m->beta, MHN_BETA_FACTOR,
            ham_solver_kind_name(ham_solver_kind(m->sv)), MHN_TOL, MHN_MAX_ITER, (int)batch);
    fflush(info);

    /* warm-up: sizes the workspace, faults its pages in, wakes the BLAS threads */
    memcpy(m->v, m->q, (size_t)batch * d * sizeof *m->v);
    if (ham_solver_solve(m->sv, m->v, batch, NULL) != HAM_OK) {
        cli_error("mhn_retrieve: solve failed: %s", ham_last_error());
        return CLI_EXIT_RUNTIME;
    }
    int n = 0, rc = 0;
    double spent = 0.0;
    while (!rc && n < MHN_MAX_PASSES && (n < 1 || spent < budget_s * 1e3)) {
        rc = retrieve_pass(&passes[n], m->sv, m->v, m->q, Q, d, batch);
        spent += passes[n].ms;
        n++;
    }
    if (rc)
        return rc;
    qsort(passes, (size_t)n, sizeof *passes, cmp_ms);
    const pass_t *p = &passes[(n - 1) / 2];
    double flops = 4.0 * (double)K * d * (p->evals + p->jvps);
    double gflops = flops / (p->ms * 1e6), frac = gflops / sgemm_gflops;
    double qps = Q / (p->ms * 1e-3), iters = p->evals / Q;
    if (json) {
        char b[40];
        printf("{\"case\": \"mhn_retrieve\", \"patterns\": %d, \"queries\": %d, \"dim\": %d, "
               "\"beta\": %s, \"batch\": %d, \"solver\": \"%s\", \"ms\": %.3f, \"gflops\": %.3f, "
               "\"queries_per_sec\": %.3f, \"sgemm_fraction\": %.4f, \"iters_mean\": %.4f, "
               "\"not_converged\": %lld}\n",
               (int)K, (int)Q, (int)d, cli_json_float(b, sizeof b, m->beta), (int)batch,
               ham_solver_kind_name(ham_solver_kind(m->sv)), p->ms,
               gflops, qps, frac, iters, (long long)p->not_converged);
        fprintf(stderr, "mhn_retrieve: median of %d pass(es)\n", n);
    } else {
        printf("%-12s  %8s  %8s  %10s  %9s  %10s  %12s  %8s  %7s\n", "case", "patterns",
               "queries", "iters", "not conv.", "ms", "queries/s", "GFLOP/s", "% sgemm");
        printf("%-12s  %8s  %8s  %10s  %9s  %10s  %12s  %8s  %7s\n", "------------", "--------",
               "--------", "----------", "---------", "----------", "------------", "--------",
               "-------");
        printf("%-12s  %8d  %8d  %10.3f  %9lld  %10.1f  %12.1f  %8.2f  %6.1f%%\n",
               "mhn_retrieve", (int)K, (int)Q, iters, (long long)p->not_converged, p->ms, qps,
               gflops, 100.0 * frac);
        printf("median of %d pass(es) over the queries after a warm-up solve; iters: mean "
               "evaluations per query; GFLOP/s: 4 K d flops per query and evaluation.\n",
               n);
    }
    fflush(stdout);
    return 0;
}
