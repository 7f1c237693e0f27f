/* Test-set evaluation (docs/cli.md, "Iteration counts").
 *
 * Two solves per batch, both with one operator x solver pair:
 * - the counted solve: tolerance `tol` (1e-4), at most `max_iter` evaluations; gives the
 *   accuracy (argmax of the output layer), the library's iteration count (operator
 *   evaluations until r < tol) and the samples that did not converge;
 * - with --plot or the authors' count, one solve of exactly K iterations
 *   (HAM_OPT_FIXED_ITERS) whose iteration callback records each sample's relative
 *   residual (the traces) and the authors' count (docs/math.md section 4): the first t
 *   with ||o_{t+1} - o_t|| / ||o_{t+1}|| < tol over successive operator outputs o of the
 *   explicit state (the even-odd state, or the full state for the synchronous F), read
 *   from ham_iter_info_t.output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evaluate.h"

/* A trace keeps K floats per sample: K is capped. */
#define TRACE_MAX_K 1000

/* What the fixed-iteration solve's callback fills in, per sample of the batch. */
typedef struct iter_ctx {
    double tol;
    int32_t k_auth;  /* the authors' count looks at outputs 0 .. k_auth-1 */
    int32_t k;       /* trace length */
    float *rows;     /* batch x k residuals to record, or NULL */
    float *prev;     /* batch x dim: each sample's previous operator output */
    int32_t *t_auth; /* batch: the authors' count, k_auth while not yet found */
} iter_ctx_t;

/* Called after every driver iteration j of a fixed-count solve: records the relative
 * residual, and the first t with ||o_{t+1} - o_t|| / ||o_{t+1}|| < tol over successive
 * operator outputs (info->output holds o_j of the rows still active). */
static int on_iteration(const ham_iter_info_t *info, void *user)
{
    iter_ctx_t *c = user;
    const int32_t j = info->iteration;
    const size_t d = (size_t)info->dim;
    for (int32_t i = 0; i < info->active; i++) {
        const int32_t s = info->sample[i];
        if (c->rows && j < c->k) {
            double r = info->residual[i];
            c->rows[(size_t)s * (size_t)c->k + (size_t)j] = isfinite(r) ? (float)r : INFINITY;
        }
        if (!c->t_auth || j >= c->k_auth || c->t_auth[s] < c->k_auth)
            continue;
        const float *o = info->output + (size_t)i * d;
        float *pr = c->prev + (size_t)s * d;
        if (j >= 1) {
            double num = 0.0, den = 0.0;
            for (size_t q = 0; q < d; q++) {
                double diff = (double)o[q] - (double)pr[q];
                num += diff * diff;
                den += (double)o[q] * (double)o[q];
            }
            double r = den > 0.0 ? sqrt(num) / sqrt(den) : (num == 0.0 ? 0.0 : INFINITY);
            if (r < c->tol)
                c->t_auth[s] = j - 1;
        }
        memcpy(pr, o, d * sizeof(float));
    }
    return 0;
}

/* Creates a solver with the given tolerance and cap; prints the error. */
static int make_solver(ham_solver_t **sv, const ham_model_t *model, const cli_eval_opts_t *o,
                       double tol, double max_iter, int fixed)
{
    int rc = ham_solver_new(sv, model, o->op, o->kind);
    if (rc != HAM_OK) {
        cli_error("cannot create a %s %s solver: %s", ham_operator_name(o->op),
                  ham_solver_kind_name(o->kind), ham_strerror(rc));
        *sv = NULL;
        return rc == HAM_ERR_NOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_USAGE;
    }
    if ((rc = ham_solver_set_option(*sv, HAM_OPT_TOL, tol)) != HAM_OK ||
        (rc = ham_solver_set_option(*sv, HAM_OPT_MAX_ITER, max_iter)) != HAM_OK ||
        (rc = ham_solver_set_option(*sv, HAM_OPT_FIXED_ITERS, fixed)) != HAM_OK ||
        (rc = ham_solver_set_option(*sv, HAM_OPT_THREADS, cli_threads())) != HAM_OK ||
        (rc = ham_solver_set_option(*sv, HAM_OPT_STABILITY_CHECK,
                                    fixed ? 0 : o->stability)) != HAM_OK) {
        cli_error("solver options (tolerance %g, %g iterations): %s", tol, max_iter,
                  ham_last_error());
        ham_solver_free(*sv);
        *sv = NULL;
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int solve_failed(int rc)
{
    const char *msg = ham_last_error();
    cli_error("solve failed: %s", msg && *msg ? msg : ham_strerror(rc));
    return CLI_EXIT_RUNTIME;
}

static int32_t argmax(const float *v, int32_t n)
{
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++)
        if (!isnan(v[i]) && (best < 0 || v[i] > v[best]))
            best = i;
    return best;
}

/* One fixed-count solve of `cnt` samples feeding the callback; a sample that left early
 * (diverged) keeps its last residual in the trace. */
static int fixed_batch(ham_solver_t *sv, iter_ctx_t *ctx, float *out, const float *x,
                       int32_t cnt)
{
    const size_t k = (size_t)ctx->k;
    if (ctx->rows)
        for (size_t i = 0; i < (size_t)cnt * k; i++)
            ctx->rows[i] = NAN;
    if (ctx->t_auth)
        for (int32_t p = 0; p < cnt; p++)
            ctx->t_auth[p] = ctx->k_auth;
    int rc = ham_solver_solve(sv, out, cnt, x);
    if (rc != HAM_OK)
        return solve_failed(rc);
    if (ctx->rows)
        for (int32_t p = 0; p < cnt; p++) {
            float *r = ctx->rows + (size_t)p * k;
            for (size_t i = 0; i < k; i++)
                if (isnan(r[i]))
                    r[i] = i ? r[i - 1] : 1.0f;
        }
    return 0;
}

int cli_evaluate(cli_eval_result_t *res, const ham_model_t *model, const ham_dataset_t *ds,
                 const cli_eval_opts_t *o)
{
    memset(res, 0, sizeof *res);
    res->authors_mean = NAN;
    const int64_t n = ham_dataset_count(ds);
    const int32_t L = ham_model_n_layers(model);
    const int32_t n0 = ham_model_layer_size(model, 0), ny = ham_model_layer_size(model, L - 1);
    int32_t dim = 0, out_off = 0;
    if (ham_model_state_dim(&dim, model, o->op) != HAM_OK ||
        ham_model_state_offset(&out_off, model, o->op, L - 1) != HAM_OK || n <= 0 ||
        o->max_iter < 1) {
        cli_error("cannot evaluate: the model has no %s state holding its output layer",
                  ham_operator_name(o->op));
        return CLI_EXIT_USAGE;
    }
    const int32_t batch = (int32_t)(n < o->batch ? n : o->batch);
    const int32_t k_auth = o->max_iter < CLI_AUTHORS_MAX_K ? o->max_iter : CLI_AUTHORS_MAX_K;
    const int32_t k = o->max_iter < TRACE_MAX_K ? o->max_iter : TRACE_MAX_K;
    const int32_t k_fixed = o->trace && k > k_auth ? k : k_auth;
    ham_solver_t *sv = NULL, *fixed = NULL;
    int exit_code = make_solver(&sv, model, o, o->tol, (double)o->max_iter, 0);
    if (!exit_code && (o->authors || o->trace))
        exit_code = make_solver(&fixed, model, o, o->tol, (double)k_fixed, 1);
    if (exit_code) {
        ham_solver_free(sv);
        return exit_code;
    }
    iter_ctx_t ctx = {o->tol, k_auth, k, NULL, NULL, NULL};
    if (fixed)
        ham_solver_set_callback(fixed, on_iteration, &ctx);

    float *x = malloc((size_t)batch * (size_t)n0 * sizeof(float));
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));
    int32_t *iters = malloc((size_t)batch * sizeof(int32_t));
    int32_t *status = malloc((size_t)batch * sizeof(int32_t));
    int32_t *t_auth = malloc((size_t)batch * sizeof(int32_t));
    float *state = malloc((size_t)batch * (size_t)dim * sizeof(float));
    float *cur = malloc((size_t)batch * (size_t)dim * sizeof(float));
    float *prev = malloc((size_t)batch * (size_t)dim * sizeof(float));
    if (o->trace)
        res->trace = malloc((size_t)n * (size_t)k * sizeof(float));
    if (!x || !labels || !iters || !status || !t_auth || !state || !cur || !prev ||
        (o->trace && !res->trace)) {
        cli_error("out of memory evaluating %lld samples", (long long)n);
        exit_code = CLI_EXIT_RUNTIME;
        goto done;
    }
    if (o->trace)
        res->trace_iters = k;

    double iter_sum = 0.0, auth_sum = 0.0;
    for (int64_t first = 0; first < n && !exit_code; first += batch) {
        int32_t cnt = (int32_t)(n - first < batch ? n - first : batch);
        int rc = ham_dataset_get(x, labels, ds, first, cnt);
        if (rc != HAM_OK) {
            cli_error("reading samples %lld..%lld: %s", (long long)first,
                      (long long)(first + cnt - 1), ham_strerror(rc));
            exit_code = CLI_EXIT_RUNTIME;
            break;
        }
        double t0 = cli_now_ms();
        rc = ham_solver_solve(sv, state, cnt, x);
        res->seconds += (cli_now_ms() - t0) / 1e3;
        if (rc != HAM_OK) {
            exit_code = solve_failed(rc);
            break;
        }
        ham_solver_get_samples(iters, NULL, status, sv, cnt);
        for (int32_t s = 0; s < cnt; s++) {
            iter_sum += iters[s];
            if (iters[s] > res->iters_max)
                res->iters_max = iters[s];
            res->not_converged += status[s] != HAM_SAMPLE_CONVERGED;
            res->diverged += status[s] == HAM_SAMPLE_DIVERGED;
            res->unstable += status[s] == HAM_SAMPLE_UNSTABLE;
            res->correct += argmax(state + (size_t)s * dim + out_off, ny) == labels[s];
        }
        if (fixed) {
            ctx.prev = prev;
            ctx.t_auth = o->authors ? t_auth : NULL;
            ctx.rows = o->trace ? res->trace + (size_t)first * k : NULL;
            exit_code = fixed_batch(fixed, &ctx, cur, x, cnt);
            for (int32_t s = 0; o->authors && s < cnt && !exit_code; s++) {
                auth_sum += t_auth[s];
                res->authors_missed += t_auth[s] >= k_auth;
            }
        }
    }
    if (!exit_code) {
        res->samples = n;
        res->iters_mean = iter_sum / (double)n;
        if (o->authors)
            res->authors_mean = auth_sum / (double)n;
    }

done:
    free(x);
    free(labels);
    free(iters);
    free(status);
    free(t_auth);
    free(state);
    free(cur);
    free(prev);
    ham_solver_free(sv);
    ham_solver_free(fixed);
    if (exit_code)
        cli_eval_result_free(res);
    return exit_code;
}

void cli_eval_result_free(cli_eval_result_t *res)
{
    free(res->trace);
    res->trace = NULL;
    res->trace_iters = 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int cli_trace_quantiles(double *out, const cli_eval_result_t *res, double q)
{
    const int32_t k = res->trace_iters;
    const int64_t n = res->samples;
    if (!res->trace || k <= 0 || n <= 0)
        return -1;
    float *col = malloc((size_t)n * sizeof(float));
    if (!col)
        return -1;
    for (int32_t i = 0; i < k; i++) {
        for (int64_t s = 0; s < n; s++) {
            float v = res->trace[(size_t)s * (size_t)k + (size_t)i];
            col[s] = isnan(v) ? INFINITY : v;
        }
        qsort(col, (size_t)n, sizeof(float), cmp_float);
        double pos = q * (double)(n - 1);
        int64_t lo = (int64_t)floor(pos);
        int64_t hi = lo + 1 < n ? lo + 1 : lo;
        double f = pos - (double)lo;
        double a = col[lo], b = col[hi];
        out[i] = (isinf(a) || isinf(b)) ? (f < 0.5 ? a : b) : a + f * (b - a);
    }
    free(col);
    return 0;
}
