/* Test-set evaluation (docs/cli.md, "Iteration counts").
 *
 * Three solves of different kinds, all with one operator x solver pair:
 * - the counted solve: tolerance `tol` (1e-4), at most `max_iter` evaluations; gives the
 *   accuracy (argmax of the output layer), the library's iteration count (operator
 *   evaluations until r < tol) and the samples that did not converge;
 * - the authors' count (docs/math.md section 4): over K = max_iter fixed iterations, the
 *   first t with ||o_{t+1} - o_t|| / ||o_{t+1}|| < tol over successive operator outputs o
 *   of the explicit state (the even-odd state, or the full state for the synchronous F).
 *   The library hands back the last operator output of a solve, so o_j is the state
 *   returned by a solve stopped (through the iteration callback) after driver iteration j;
 *   samples leave as soon as their criterion holds, so this costs about (t+2)(t+3)/2
 *   iterations per sample;
 * - traces (--plot): one solve of exactly K iterations whose callback records each
 *   sample's relative residual after every iteration.
 * The last two run with a vanishing tolerance, so that no sample stops early. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evaluate.h"

/* Tolerance of the fixed-iteration solves: nothing but an exact fixed point stops there. */
#define FIXED_TOL 1e-30
/* The authors' count costs about K^2/2 iterations for a sample whose criterion never
 * holds, and a trace K floats per sample: both K are capped. */
#define TRACE_MAX_K 1000
/* Recorded-residual placeholder for iterations after a sample left the solve. */
#define NOT_RECORDED (-1.0f)

typedef struct iter_ctx {
    int32_t stop_at; /* cancel the solve after this driver iteration */
    int32_t k;       /* trace length */
    float *rows;     /* batch x k residuals to record, or NULL */
} iter_ctx_t;

static int on_iteration(const ham_iter_info_t *info, void *user)
{
    iter_ctx_t *c = user;
    if (c->rows && info->iteration < c->k) {
        for (int32_t i = 0; i < info->active; i++) {
            double r = info->residual[i];
            c->rows[(size_t)info->sample[i] * (size_t)c->k + (size_t)info->iteration] =
                isfinite(r) ? (float)r : INFINITY;
        }
    }
    return info->iteration >= c->stop_at;
}

/* Creates a solver with the given tolerance and cap; prints the error. */
static int make_solver(ham_solver_t **sv, const ham_model_t *model, const cli_eval_opts_t *o,
                       double tol, double max_iter)
{
    int rc = ham_solver_new(sv, model, o->op, o->kind);
    if (rc != HAM_OK) {
        cli_error("cannot create a %s %s solver: %s", ham_operator_name(o->op),
                  ham_solver_kind_name(o->kind), ham_strerror(rc));
        *sv = NULL;
        return rc == HAM_ERR_NOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_USAGE;
    }
    if ((rc = ham_solver_set_option(*sv, HAM_OPT_TOL, tol)) != HAM_OK ||
        (rc = ham_solver_set_option(*sv, HAM_OPT_MAX_ITER, max_iter)) != HAM_OK) {
        cli_error("solver options (tolerance %g, %g iterations): %s", tol, max_iter,
                  ham_solver_message(*sv));
        ham_solver_free(*sv);
        *sv = NULL;
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int solve_failed(ham_solver_t *sv, int rc)
{
    const char *msg = ham_solver_message(sv);
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

typedef struct work {
    int32_t n0, dim, k;
    int32_t *act;
    float *xa, *cur, *prev;
} work_t;

/* The authors' count of `cnt` samples (inputs x) into t_out. */
static int authors_batch(ham_solver_t *sv, iter_ctx_t *ctx, const work_t *w, const float *x,
                         int32_t cnt, double tol, int32_t *t_out)
{
    const size_t n0 = (size_t)w->n0, d = (size_t)w->dim;
    int32_t n_act = cnt;
    for (int32_t p = 0; p < cnt; p++) {
        w->act[p] = p;
        t_out[p] = w->k;
    }
    for (int32_t j = 0; j < w->k && n_act > 0; j++) {
        const float *xs = x;
        if (n_act < cnt) {
            for (int32_t p = 0; p < n_act; p++)
                memcpy(w->xa + (size_t)p * n0, x + (size_t)w->act[p] * n0, n0 * sizeof(float));
            xs = w->xa;
        }
        ctx->stop_at = j;
        ctx->rows = NULL;
        int rc = ham_solver_solve(sv, w->cur, n_act, xs);
        if (rc != HAM_OK && rc != HAM_ERR_CANCELLED)
            return solve_failed(sv, rc);
        int32_t keep = 0;
        for (int32_t p = 0; p < n_act; p++) {
            const float *o = w->cur + (size_t)p * d;
            float *pr = w->prev + (size_t)w->act[p] * d;
            if (j >= 1) {
                double num = 0.0, den = 0.0;
                for (size_t i = 0; i < d; i++) {
                    double diff = (double)o[i] - (double)pr[i];
                    num += diff * diff;
                    den += (double)o[i] * (double)o[i];
                }
                double r = den > 0.0 ? sqrt(num) / sqrt(den) : (num == 0.0 ? 0.0 : INFINITY);
                if (r < tol) {
                    t_out[w->act[p]] = j - 1;
                    continue;
                }
            }
            memcpy(pr, o, d * sizeof(float));
            w->act[keep++] = w->act[p];
        }
        n_act = keep;
    }
    return 0;
}

/* Traces of `cnt` samples into rows (cnt x K). */
static int trace_batch(ham_solver_t *sv, iter_ctx_t *ctx, const work_t *w, const float *x,
                       int32_t cnt, int32_t k_trace, float *rows)
{
    const size_t k = (size_t)k_trace;
    for (size_t i = 0; i < (size_t)cnt * k; i++)
        rows[i] = NOT_RECORDED;
    ctx->stop_at = k_trace - 1;
    ctx->k = k_trace;
    ctx->rows = rows;
    int rc = ham_solver_solve(sv, w->cur, cnt, x);
    ctx->rows = NULL;
    if (rc != HAM_OK && rc != HAM_ERR_CANCELLED)
        return solve_failed(sv, rc);
    /* a sample that left early (an exact fixed point, or diverged) keeps its last value */
    for (int32_t s = 0; s < cnt; s++) {
        float *r = rows + (size_t)s * k;
        for (size_t i = 0; i < k; i++)
            if (r[i] == NOT_RECORDED)
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
    ham_solver_t *sv = NULL, *fixed = NULL;
    int exit_code = make_solver(&sv, model, o, o->tol, (double)o->max_iter);
    if (!exit_code && (o->authors || o->trace)) {
        exit_code = make_solver(&fixed, model, o, FIXED_TOL, 1e6);
    }
    if (exit_code) {
        ham_solver_free(sv);
        return exit_code;
    }
    iter_ctx_t ctx = {0, k, NULL};
    if (fixed)
        ham_solver_set_callback(fixed, on_iteration, &ctx);

    work_t w = {n0, dim, k_auth, NULL, NULL, NULL, NULL};
    float *x = malloc((size_t)batch * (size_t)n0 * sizeof(float));
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));
    int32_t *iters = malloc((size_t)batch * sizeof(int32_t));
    int32_t *status = malloc((size_t)batch * sizeof(int32_t));
    int32_t *t_auth = malloc((size_t)batch * sizeof(int32_t));
    float *state = malloc((size_t)batch * (size_t)dim * sizeof(float));
    w.act = malloc((size_t)batch * sizeof(int32_t));
    w.xa = malloc((size_t)batch * (size_t)n0 * sizeof(float));
    w.cur = malloc((size_t)batch * (size_t)dim * sizeof(float));
    w.prev = malloc((size_t)batch * (size_t)dim * sizeof(float));
    if (o->trace)
        res->trace = malloc((size_t)n * (size_t)k * sizeof(float));
    if (!x || !labels || !iters || !status || !t_auth || !state || !w.act || !w.xa || !w.cur ||
        !w.prev || (o->trace && !res->trace)) {
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
            exit_code = solve_failed(sv, rc);
            break;
        }
        ham_solver_get_samples(iters, NULL, status, sv, cnt);
        for (int32_t s = 0; s < cnt; s++) {
            iter_sum += iters[s];
            if (iters[s] > res->iters_max)
                res->iters_max = iters[s];
            res->not_converged += status[s] != HAM_SAMPLE_CONVERGED;
            res->diverged += status[s] == HAM_SAMPLE_DIVERGED;
            res->correct += argmax(state + (size_t)s * dim + out_off, ny) == labels[s];
        }
        if (o->authors) {
            exit_code = authors_batch(fixed, &ctx, &w, x, cnt, o->tol, t_auth);
            for (int32_t s = 0; s < cnt && !exit_code; s++) {
                auth_sum += t_auth[s];
                res->authors_missed += t_auth[s] >= k_auth;
            }
        }
        if (o->trace && !exit_code)
            exit_code = trace_batch(fixed, &ctx, &w, x, cnt, k, res->trace + (size_t)first * k);
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
    free(w.act);
    free(w.xa);
    free(w.cur);
    free(w.prev);
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
