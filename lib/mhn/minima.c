/* ham_mhn_find_minima: retrieval from many starts, clustering of the fixed points reached,
 * and their classification into minima and saddles (the phase analysis of docs/mhn.md).
 * The model and the solver are used through the public API only; the starts are solved
 * on a solver of our own, so the caller's is never modified, and whether a start
 * converged is that solver's verdict (its built-in test, with HAM_OPT_ATOL on the
 * patterns' scale), not a test of our own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mhn/mhn_private.h"

typedef struct minima_work {
    float *state;     /* n x dim(op) */
    float *v;         /* n x d: final visible states */
    float *reps;      /* n x d: one representative per distinct fixed point */
    float *mean;      /* d: the pattern mean */
    int32_t *iters;   /* n */
    int32_t *status;  /* n: the solver's verdict per start */
    int32_t *cluster; /* n: fixed point of each start, -1 if it did not converge */
    double *lmin;     /* n: Hessian's smallest eigenvalue per fixed point */
    int32_t *index;   /* n: fixed point -> minimum index, or -2 for a saddle */
} minima_work_t;

static void work_free(minima_work_t *w)
{
    free(w->state);
    free(w->v);
    free(w->reps);
    free(w->mean);
    free(w->iters);
    free(w->status);
    free(w->cluster);
    free(w->lmin);
    free(w->index);
}

static int work_init(minima_work_t *w, size_t n, size_t dim_op, size_t d)
{
    memset(w, 0, sizeof *w);
    w->state = malloc(n * dim_op * sizeof(float));
    w->v = malloc(n * d * sizeof(float));
    w->reps = malloc(n * d * sizeof(float));
    w->mean = malloc(d * sizeof(float));
    w->iters = malloc(n * sizeof(int32_t));
    w->status = malloc(n * sizeof(int32_t));
    w->cluster = malloc(n * sizeof(int32_t));
    w->lmin = malloc(n * sizeof(double));
    w->index = malloc(n * sizeof(int32_t));
    if (!w->state || !w->v || !w->reps || !w->mean || !w->iters || !w->status ||
        !w->cluster || !w->lmin || !w->index) {
        work_free(w);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    return HAM_OK;
}

static double dist(const float *a, const float *b, int32_t d)
{
    double acc = 0.0;
    for (int32_t i = 0; i < d; i++) {
        double t = (double)a[i] - (double)b[i];
        acc += t * t;
    }
    return sqrt(acc);
}

/* The solver the starts are solved with: the caller's kind, operator and options, except
 * warm-started (the starts are the initial states), never a fixed count (a start needs a
 * verdict), and HAM_OPT_ATOL raised to tol * scale, so that a fixed point at the origin
 * (the mean of centred patterns) is judged on the patterns' scale. */
static int own_solver(ham_solver_t **own, const ham_solver_t *caller, const ham_model_t *m,
                      int32_t op, int32_t kind, double scale)
{
    int rc = ham_solver_new(own, m, op, kind);
    if (rc != HAM_OK)
        return rc;
    /* every option; HAM_OPT_THREADS is the last (HAMP_OPT_LAST_ in
     * solver_private.h) */
    double value, tol = 0.0, atol = 0.0;
    for (int32_t o = 0; o <= HAM_OPT_THREADS && rc == HAM_OK; o++)
        if ((rc = ham_solver_get_option(&value, caller, o)) == HAM_OK)
            rc = ham_solver_set_option(*own, o, value);
    if (rc == HAM_OK)
        rc = ham_solver_get_option(&tol, caller, HAM_OPT_TOL);
    if (rc == HAM_OK)
        rc = ham_solver_get_option(&atol, caller, HAM_OPT_ATOL);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(*own, HAM_OPT_WARM_START, 1.0);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(*own, HAM_OPT_FIXED_ITERS, 0.0);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(*own, HAM_OPT_ATOL, fmin(fmax(atol, tol * scale), 3e38));
    if (rc != HAM_OK) {
        ham_solver_free(*own);
        *own = NULL;
    }
    return rc;
}

/* Solves every start; leaves the visible states in w->v, the per-start iteration counts
 * in w->iters and the solver's verdicts in w->status. */
static int solve_starts(minima_work_t *w, ham_solver_t *sv, const ham_model_t *m, int32_t op,
                        const float *starts, int32_t n, int32_t d)
{
    int rc;
    if (op == HAM_OPERATOR_EVEN_ODD)
        memcpy(w->state, starts, (size_t)n * d * sizeof(float));
    else if ((rc = ham_model_eo_to_full(w->state, m, n, NULL, starts)) != HAM_OK)
        return rc;
    if ((rc = ham_solver_solve(sv, w->state, n, NULL)) != HAM_OK)
        return rc;
    if ((rc = ham_solver_get_samples(w->iters, NULL, w->status, sv, n)) != HAM_OK)
        return rc;
    if (op == HAM_OPERATOR_EVEN_ODD) {
        memcpy(w->v, w->state, (size_t)n * d * sizeof(float));
        return HAM_OK;
    }
    /* the sync state is [h, v]: v is the visible slice */
    int32_t dim = 0, off = 0;
    if ((rc = ham_model_state_dim(&dim, m, HAM_OPERATOR_SYNC)) != HAM_OK ||
        (rc = ham_model_state_offset(&off, m, HAM_OPERATOR_SYNC, 1)) != HAM_OK)
        return rc;
    for (int32_t r = 0; r < n; r++)
        memcpy(w->v + (size_t)r * d, w->state + (size_t)r * dim + off, (size_t)d * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_mhn_find_minima(ham_mhn_minima_t *result, float *minima, int32_t capacity,
                                int32_t *assign, ham_solver_t *solver, const float *starts,
                                int32_t n_starts, double cluster_tol)
{
    if (!result || !solver || !starts)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (result->size < HAMP_MHN_MINIMA_V1) /* checked before any work; filled at the end */
        return hamp_fail(HAM_ERR_STRUCT_SIZE, "ham_mhn_minima_t.size is %u, at least %zu expected",
                         (unsigned)result->size, (size_t)HAMP_MHN_MINIMA_V1);
    if (n_starts < 1 || capacity < 0 || (capacity > 0 && !minima) ||
        !(cluster_tol > 0.0 && cluster_tol <= 1.0))
        return HAMP_FAIL(HAM_ERR_INVALID);
    const ham_model_t *m = ham_solver_model(solver);
    int rc = hamp_mhn_check(m);
    if (rc != HAM_OK)
        return rc;
    const int32_t op = ham_solver_operator(solver), kind = ham_solver_kind(solver);
    if (op != HAM_OPERATOR_EVEN_ODD && op != HAM_OPERATOR_SYNC)
        return HAMP_FAIL(HAM_ERR_UNSUPPORTED);
    if (!ham_solver_kind_name(kind))
        return hamp_fail(HAM_ERR_UNSUPPORTED, "ham_mhn_find_minima needs a built-in solver "
                                              "kind (a custom backend cannot be copied)");
    const int32_t d = ham_model_layer_size(m, 1);
    if (!hamp_check_finite(starts, (size_t)n_starts * (size_t)d))
        return HAMP_FAIL(HAM_ERR_NONFINITE);

    hamp_mhn_t mh;
    if ((rc = hamp_mhn_load(&mh, m)) != HAM_OK)
        return rc;
    const int32_t n = mh.n;
    const float *X = mh.X;
    int32_t dim_op = 0;
    ham_solver_t *sv = NULL;
    minima_work_t w;
    if ((rc = ham_model_state_dim(&dim_op, m, op)) != HAM_OK ||
        (rc = work_init(&w, (size_t)n_starts, (size_t)dim_op, (size_t)d)) != HAM_OK) {
        hamp_mhn_free(&mh);
        return rc;
    }

    /* the patterns' scale: their largest norm */
    double scale = 0.0;
    for (int32_t mu = 0; mu < n; mu++)
        scale = fmax(scale, hamp_nrm2(X + (size_t)mu * d, d));
    if (!(scale > 0.0))
        scale = 1.0;

    if ((rc = own_solver(&sv, solver, m, op, kind, scale)) != HAM_OK ||
        (rc = solve_starts(&w, sv, m, op, starts, n_starts, d)) != HAM_OK)
        goto done;

    /* greedy clustering in start order of the converged states */
    int32_t n_fixed = 0, converged = 0;
    const double radius = cluster_tol * scale;
    for (int32_t r = 0; r < n_starts; r++) {
        w.cluster[r] = -1;
        if (w.status[r] != HAM_SAMPLE_CONVERGED)
            continue;
        converged++;
        const float *v = w.v + (size_t)r * d;
        int32_t c = -1;
        for (int32_t j = 0; j < n_fixed && c < 0; j++)
            if (dist(v, w.reps + (size_t)j * d, d) <= radius)
                c = j;
        if (c < 0) {
            c = n_fixed++;
            memcpy(w.reps + (size_t)c * d, v, (size_t)d * sizeof(float));
        }
        w.cluster[r] = c;
    }

    /* minimum or saddle, from the Hessian at each fixed point */
    if (n_fixed > 0 && (rc = ham_mhn_hessian_min(w.lmin, m, n_fixed, w.reps)) != HAM_OK)
        goto done;
    int32_t n_min = 0, n_saddle = 0;
    for (int32_t j = 0; j < n_fixed; j++) {
        if (w.lmin[j] > 0.0) {
            if (n_min < capacity)
                memcpy(minima + (size_t)n_min * d, w.reps + (size_t)j * d,
                       (size_t)d * sizeof(float));
            w.index[j] = n_min++;
        } else {
            w.index[j] = -2;
            n_saddle++;
        }
    }

    /* the mean attractor: the minimum closest to the pattern mean, within the radius */
    int32_t mean_idx = -1;
    double best = INFINITY;
    for (int32_t i = 0; i < d; i++) {
        double s = 0.0;
        for (int32_t mu = 0; mu < n; mu++)
            s += X[(size_t)mu * d + i];
        w.mean[i] = (float)(s / n);
    }
    for (int32_t j = 0; j < n_fixed; j++) {
        double dj = dist(w.reps + (size_t)j * d, w.mean, d);
        if (w.index[j] >= 0 && dj <= radius && dj < best) {
            best = dj;
            mean_idx = w.index[j];
        }
    }

    ham_mhn_minima_t out = {0};
    out.starts = n_starts;
    out.converged = converged;
    out.minima = n_min;
    out.saddles = n_saddle;
    out.mean_attractor = mean_idx;
    int64_t iters_sum = 0;
    for (int32_t r = 0; r < n_starts; r++) {
        int32_t a = w.cluster[r] < 0 ? -1 : w.index[w.cluster[r]];
        if (assign)
            assign[r] = a;
        if (a >= 0 && a == mean_idx)
            out.mean_basin++;
        iters_sum += w.iters[r];
        if (w.iters[r] > out.iters_max)
            out.iters_max = w.iters[r];
    }
    out.iters_mean = (double)iters_sum / n_starts;
    rc = hamp_struct_out(result, &out, HAMP_MHN_MINIMA_V1, sizeof out, "ham_mhn_minima_t");
done:
    ham_solver_free(sv);
    work_free(&w);
    hamp_mhn_free(&mh);
    return rc;
}
