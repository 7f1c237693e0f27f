/* Newton's method on the (small) state, with a backtracking residual line search.
 *
 * The Jacobian J of the operator at s is formed column by column from `dim` batched
 * JVPs (one tangent e_j per column and sample), then (I - J) d = G(s) - s is solved with
 * LAPACK's LU in double precision. For the even-odd operator on 784-512-10 the state is
 * the 10 output units, so J is 10 x 10 (docs/math.md section 4). Longer states than
 * HAM_OPT_NEWTON_MAX_DIM are refused: the dense Jacobian would cost dim JVPs per step.
 *
 * Line search: accept s + a d at the first a in 1, 1/2, 1/4, 1/8 whose residual
 * ||G - s|| is below (1 - 1e-4 a) times the current one; otherwise take the Picard step.
 * A trial evaluation counts as an operator evaluation of the rows still searching. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hamdeq_private.h"

#define LINESEARCH_TRIALS 4

typedef struct newton {
    int32_t dim, cap;
    float *tangent;   /* cap x dim x dim: identity tangents */
    float *jcols;     /* cap x dim x dim: J e_j, i.e. the columns of J */
    float *dir;       /* cap x dim: Newton direction */
    float *trial;     /* cap x dim: trial iterate */
    float *gtrial;    /* cap x dim: G(trial) */
    double *res0;     /* cap: ||G(s) - s|| at the start of the step */
    double *alpha;    /* cap: current step length; 0 once accepted, -1 for Picard */
    double *a, *b;    /* dim x dim and dim scratch for one solve */
    lapack_int *ipiv;
} newton_t;

static void newton_fini(ham_solver_t *sv, void *state)
{
    (void)sv;
    newton_t *st = state;
    if (!st)
        return;
    free(st->tangent);
    free(st->jcols);
    free(st->dir);
    free(st->trial);
    free(st->gtrial);
    free(st->res0);
    free(st->alpha);
    free(st->a);
    free(st->b);
    free(st->ipiv);
    free(st);
}

static int newton_init(ham_solver_t *sv, void **state, int32_t dim, int32_t cap)
{
    int32_t max_dim = (int32_t)sv->opt[HAM_OPT_NEWTON_MAX_DIM];
    if (dim > max_dim)
        return hamp_fail(sv->msg, HAM_ERR_UNSUPPORTED,
                         "newton: the %s state has %d units, more than HAM_OPT_NEWTON_MAX_DIM "
                         "= %d (the dense Jacobian would cost %d JVPs per step)",
                         sv->op->name, (int)dim, (int)max_dim, (int)dim);
    newton_t *st = calloc(1, sizeof *st);
    if (!st)
        return HAM_ERR_NOMEM;
    st->dim = dim;
    st->cap = cap;
    size_t d = (size_t)dim, rows = (size_t)cap;
    st->tangent = malloc(rows * d * d * sizeof(float));
    st->jcols = malloc(rows * d * d * sizeof(float));
    st->dir = malloc(rows * d * sizeof(float));
    st->trial = malloc(rows * d * sizeof(float));
    st->gtrial = malloc(rows * d * sizeof(float));
    st->res0 = malloc(rows * sizeof(double));
    st->alpha = malloc(rows * sizeof(double));
    st->a = malloc(d * d * sizeof(double));
    st->b = malloc(d * sizeof(double));
    st->ipiv = malloc(d * sizeof(lapack_int));
    if (!st->tangent || !st->jcols || !st->dir || !st->trial || !st->gtrial || !st->res0 ||
        !st->alpha || !st->a || !st->b || !st->ipiv) {
        newton_fini(sv, st);
        return HAM_ERR_NOMEM;
    }
    /* the identity tangents never change: fill them once */
    memset(st->tangent, 0, rows * d * d * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++)
            st->tangent[(r * d + j) * d + j] = 1.0f;
    *state = st;
    return HAM_OK;
}

static int32_t newton_tangents(const ham_solver_t *sv)
{
    return sv->dim;
}

static double residual(const float *g, const float *x, size_t d)
{
    double acc = 0.0;
    for (size_t i = 0; i < d; i++) {
        double diff = (double)g[i] - x[i];
        acc += diff * diff;
    }
    return sqrt(acc);
}

static int newton_step(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows)
{
    newton_t *st = state;
    const size_t d = (size_t)st->dim;
    const int linesearch = sv->opt[HAM_OPT_NEWTON_LINESEARCH] != 0.0;

    /* the driver has just evaluated G at s, so the workspace is linearised there */
    hamp_solver_jvp(sv, st->jcols, st->tangent, rows, st->dim);

    for (int32_t r = 0; r < rows; r++) {
        const float *x = s + (size_t)r * d, *g = gs + (size_t)r * d;
        const float *jc = st->jcols + (size_t)r * d * d;
        float *dir = st->dir + (size_t)r * d;
        /* column-major I - J: column j is e_j - J e_j */
        for (size_t j = 0; j < d; j++)
            for (size_t i = 0; i < d; i++)
                st->a[j * d + i] = (i == j ? 1.0 : 0.0) - (double)jc[j * d + i];
        for (size_t i = 0; i < d; i++)
            st->b[i] = (double)g[i] - x[i];
        lapack_int info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, (lapack_int)d, 1, st->a,
                                             (lapack_int)d, st->ipiv, st->b, (lapack_int)d);
        int ok = info == 0;
        for (size_t i = 0; ok && i < d; i++) {
            dir[i] = (float)st->b[i];
            ok = isfinite(dir[i]);
        }
        st->res0[r] = residual(g, x, d);
        st->alpha[r] = ok ? 1.0 : -1.0;
        float *xt = st->trial + (size_t)r * d;
        for (size_t i = 0; i < d; i++)
            xt[i] = ok ? x[i] + dir[i] : g[i];
    }
    if (!linesearch) {
        memcpy(s, st->trial, (size_t)rows * d * sizeof(float));
        return 0;
    }

    /* Backtracking, all rows in one batched evaluation per trial; a row that has
     * accepted keeps its point, so the last evaluation holds G at every final point. */
    int all_evaluated = 0;
    for (int trial = 0; trial < LINESEARCH_TRIALS; trial++) {
        int pending = 0;
        for (int32_t r = 0; r < rows; r++)
            pending |= st->alpha[r] > 0.0;
        if (!pending)
            break;
        /* Evaluate every row (accepted ones too, so that the workspace ends linearised at
         * each row's final point) but count the evaluation only for rows still searching. */
        sv->op->apply(sv->model, &sv->eval, st->gtrial, st->trial, rows);
        for (int32_t r = 0; r < rows; r++)
            sv->row_iters[r] += st->alpha[r] > 0.0;
        all_evaluated = 1;
        for (int32_t r = 0; r < rows; r++) {
            if (!(st->alpha[r] > 0.0))
                continue;
            const float *xt = st->trial + (size_t)r * d, *gt = st->gtrial + (size_t)r * d;
            double a = st->alpha[r], res = residual(gt, xt, d);
            if (res <= (1.0 - 1e-4 * a) * st->res0[r]) {
                st->alpha[r] = 0.0; /* accepted */
                continue;
            }
            float *xn = st->trial + (size_t)r * d;
            const float *x = s + (size_t)r * d, *dir = st->dir + (size_t)r * d;
            if (trial + 1 < LINESEARCH_TRIALS) {
                a *= 0.5;
                for (size_t i = 0; i < d; i++)
                    xn[i] = x[i] + (float)a * dir[i];
                st->alpha[r] = a;
            } else { /* no decrease along the Newton direction: take the Picard step */
                memcpy(xn, gs + (size_t)r * d, d * sizeof(float));
                st->alpha[r] = -1.0;
                all_evaluated = 0;
            }
        }
    }
    /* a row that fell back to Picard (now or after a failed solve) was not evaluated */
    for (int32_t r = 0; r < rows; r++)
        if (st->alpha[r] != 0.0)
            all_evaluated = 0;
    memcpy(s, st->trial, (size_t)rows * d * sizeof(float));
    if (all_evaluated) {
        memcpy(gs, st->gtrial, (size_t)rows * d * sizeof(float));
        return HAMP_STEP_G_READY;
    }
    return 0;
}

/* No compact: Newton keeps no per-row history across steps. */
const hamp_solver_ops_t hamp_solver_newton = {"newton",    newton_init, newton_fini,    NULL,
                                              newton_step, NULL,        newton_tangents};
