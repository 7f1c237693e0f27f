/* ham_mhn_find_minima: retrieval from many starts, clustering of the fixed points reached,
 * and their classification into minima and saddles (the phase analysis of docs/mhn.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mhn/mhn_private.h"

typedef struct minima_work {
    float *state;   /* n x dim(op) */
    float *v, *gv;  /* n x d: final visible states and G of them */
    float *reps;    /* n x d: one representative per distinct fixed point */
    int32_t *iters; /* n */
    int32_t *cluster; /* n: fixed point of each start, -1 if it did not converge */
    double *lmin;   /* n: Hessian's smallest eigenvalue per fixed point */
    int32_t *index; /* n: fixed point -> minimum index, or -2 for a saddle */
} minima_work_t;

static void work_free(minima_work_t *w)
{
    free(w->state);
    free(w->v);
    free(w->gv);
    free(w->reps);
    free(w->iters);
    free(w->cluster);
    free(w->lmin);
    free(w->index);
}

static int work_init(minima_work_t *w, size_t n, size_t dim_op, size_t d)
{
    memset(w, 0, sizeof *w);
    w->state = malloc(n * dim_op * sizeof(float));
    w->v = malloc(n * d * sizeof(float));
    w->gv = malloc(n * d * sizeof(float));
    w->reps = malloc(n * d * sizeof(float));
    w->iters = malloc(n * sizeof(int32_t));
    w->cluster = malloc(n * sizeof(int32_t));
    w->lmin = malloc(n * sizeof(double));
    w->index = malloc(n * sizeof(int32_t));
    if (!w->state || !w->v || !w->gv || !w->reps || !w->iters || !w->cluster || !w->lmin ||
        !w->index) {
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

/* Solves every start with the caller's solver, warm-started; leaves the visible states in
 * w->v and the per-start iteration counts in w->iters. */
static int solve_starts(minima_work_t *w, ham_solver_t *sv, int32_t op, const float *starts,
                        int32_t n, int32_t d)
{
    const ham_model_t *m = sv->model;
    int rc;
    if (op == HAM_OPERATOR_EVEN_ODD)
        memcpy(w->state, starts, (size_t)n * d * sizeof(float));
    else if ((rc = ham_model_eo_to_full(w->state, m, n, NULL, starts)) != HAM_OK)
        return rc;
    double warm = 0.0;
    ham_solver_get_option(&warm, sv, HAM_OPT_WARM_START);
    ham_solver_set_option(sv, HAM_OPT_WARM_START, 1.0);
    rc = ham_solver_solve(sv, w->state, n, NULL);
    ham_solver_set_option(sv, HAM_OPT_WARM_START, warm);
    if (rc != HAM_OK)
        return rc;
    if ((rc = ham_solver_get_samples(w->iters, NULL, NULL, sv, n)) != HAM_OK)
        return rc;
    if (op == HAM_OPERATOR_EVEN_ODD) {
        memcpy(w->v, w->state, (size_t)n * d * sizeof(float));
    } else {
        /* the sync state is [h, v]: v is the visible slice */
        int32_t dim = m->layout[HAM_OPERATOR_SYNC].dim, off = m->layout[HAM_OPERATOR_SYNC].offset[1];
        for (int32_t r = 0; r < n; r++)
            memcpy(w->v + (size_t)r * d, w->state + (size_t)r * dim + off, (size_t)d * sizeof(float));
    }
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
    const ham_model_t *m = solver->model;
    int rc = hamp_mhn_check(m);
    if (rc != HAM_OK)
        return rc;
    const int32_t op = solver->op->kind, n = m->size[0], d = m->size[1];
    if (op != HAM_OPERATOR_EVEN_ODD && op != HAM_OPERATOR_SYNC)
        return HAMP_FAIL(HAM_ERR_UNSUPPORTED);
    if (!hamp_check_finite(starts, (size_t)n_starts * (size_t)d))
        return HAMP_FAIL(HAM_ERR_NONFINITE);

    minima_work_t w;
    if ((rc = work_init(&w, (size_t)n_starts, (size_t)m->layout[op].dim, (size_t)d)) != HAM_OK)
        return rc;
    if ((rc = solve_starts(&w, solver, op, starts, n_starts, d)) != HAM_OK)
        goto done;

    /* the patterns' scale: their largest norm */
    const float *X = m->W[0];
    double scale = 0.0;
    for (int32_t mu = 0; mu < n; mu++)
        scale = fmax(scale, hamp_nrm2(X + (size_t)mu * d, d));
    if (!(scale > 0.0))
        scale = 1.0;

    /* a start that diverged has nothing to evaluate: zero it, it is not converged */
    for (int32_t r = 0; r < n_starts; r++)
        if (!hamp_check_finite(w.v + (size_t)r * d, (size_t)d)) {
            memset(w.v + (size_t)r * d, 0, (size_t)d * sizeof(float));
            w.cluster[r] = -2; /* marker, replaced below */
        } else {
            w.cluster[r] = -1;
        }
    if ((rc = ham_model_apply(w.gv, m, HAM_OPERATOR_EVEN_ODD, n_starts, NULL, w.v)) != HAM_OK)
        goto done;
    double tol = 1e-4;
    ham_solver_get_option(&tol, solver, HAM_OPT_TOL);

    /* greedy clustering in start order of the converged states */
    int32_t n_fixed = 0, converged = 0;
    const double radius = cluster_tol * scale;
    for (int32_t r = 0; r < n_starts; r++) {
        int diverged = w.cluster[r] == -2;
        w.cluster[r] = -1;
        if (diverged)
            continue;
        const float *v = w.v + (size_t)r * d, *gv = w.gv + (size_t)r * d;
        double res = dist(gv, v, d) / fmax(hamp_nrm2(gv, d), scale);
        if (!(res < tol))
            continue;
        converged++;
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
    float *mean = w.gv; /* G(v) is no longer needed: reuse its first row */
    for (int32_t i = 0; i < d; i++) {
        double s = 0.0;
        for (int32_t mu = 0; mu < n; mu++)
            s += X[(size_t)mu * d + i];
        mean[i] = (float)(s / n);
    }
    for (int32_t j = 0; j < n_fixed; j++) {
        double dj = dist(w.reps + (size_t)j * d, mean, d);
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
    work_free(&w);
    return rc;
}
