/* Newton's method on the state, with a backtracking residual line search.
 *
 * Direction: solve (I - J) d = G(s) - s, J the operator's Jacobian at s.
 * - Short states (dim <= HAM_OPT_NEWTON_MAX_DIM): J is formed column by column from
 *   `dim` batched JVPs (tangent e_j per column and sample) and the system is solved by
 *   LAPACK's LU in double precision. For the even-odd operator on 784-512-10 the state
 *   is the 10 output units, so J is 10 x 10 (docs/math.md section 4).
 * - Longer states: matrix-free GMRES (krylov_gmres.c), one batched JVP per Krylov step,
 *   to the relative tolerance HAM_OPT_NEWTON_FORCING (an inexact Newton method).
 *
 * Line search: accept s + a d at the first a in 1, 1/2, 1/4, 1/8 whose residual
 * ||G - s|| is below (1 - 1e-4 a) times both the current one and the smallest one a
 * Newton step has reached (a residual can have local minima that are no roots: without
 * the second bound Newton steps fall back into them after Picard has left them).
 * Otherwise take the Picard step, and only Picard steps for a while (see below).
 * A trial evaluation counts as an operator evaluation of the rows still searching;
 * JVPs are counted apart (ham_solve_stats_t.jacobian_products). All of it goes through
 * the driver (hamp_solver_apply_counted, hamp_solver_jvp), which keeps the counts.
 *
 * Attractor-safe (docs/math.md section 7), a direction d is tried only inside a cone
 * around the plain step g = G(s) - s: d . g > c |d| |g|, with c = 0 (the half-space)
 * except
 * - c = CONE_START for the step from the initial state, which is arbitrary (zeros lie
 *   outside a sigmoid layer's range): the Jacobian there says little about where the
 *   dynamics go (784-512-10 trained, ss,identity,ss: that first step alone sent 22% of
 *   the samples to another minimum);
 * - c = CONE_KRYLOV at every step on a long state (GMRES), where no Jacobian is at hand
 *   for the contractivity test below: d = (I - J)^{-1} g turns away from g as J nears an
 *   eigenvalue 1, so the cone keeps Newton where J is well contractive (5-layer model:
 *   agreement with energy descent 86.9% -> 99%, and no saddle).
 * With a dense Jacobian, its spectral radius must also be below 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver_private.h"

#define LINESEARCH_TRIALS 4
#define CONE_START 0.95
#define CONE_KRYLOV 0.9

typedef struct newton {
    int32_t dim, cap;
    int krylov;       /* use GMRES instead of the dense Jacobian */
    hamp_gmres_t gmres;
    float *rhs;       /* cap x dim: G(s) - s, for GMRES */
    float *tangent;   /* cap x dim x dim: identity tangents */
    float *jcols;     /* cap x dim x dim: J e_j, i.e. the columns of J */
    float *dir;       /* cap x dim: Newton direction */
    float *trial;     /* cap x dim: trial iterate */
    float *gtrial;    /* cap x dim: G(trial) */
    double *res0;     /* cap: ||G(s) - s|| at the start of the step */
    double *alpha;    /* cap: current step length; 0 once accepted, -1 for Picard */
    int32_t *fails;   /* cap: consecutive failed line searches */
    double *best;     /* cap: smallest residual a Newton step has reached */
    int32_t *cooldown;/* cap: Picard steps to take before trying Newton again */
    unsigned char *count; /* cap: 1 for the rows an evaluation counts for */
    double *e0;       /* cap: attractor-safe: energy after G at s (the plain step's) */
    double *a, *b;    /* dim x dim and dim scratch for one solve */
    int32_t *ipiv;
} newton_t;

static void newton_fini(ham_solver_t *sv, void *state)
{
    (void)sv;
    newton_t *st = state;
    if (!st)
        return;
    hamp_gmres_free(&st->gmres);
    free(st->rhs);
    free(st->tangent);
    free(st->jcols);
    free(st->dir);
    free(st->trial);
    free(st->gtrial);
    free(st->res0);
    free(st->fails);
    free(st->best);
    free(st->cooldown);
    free(st->count);
    free(st->e0);
    free(st->alpha);
    free(st->a);
    free(st->b);
    free(st->ipiv);
    free(st);
}

static int newton_init(ham_solver_t *sv, void **state, int32_t dim, int32_t cap)
{
    newton_t *st = calloc(1, sizeof *st);
    if (!st)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    st->dim = dim;
    st->cap = cap;
    st->krylov = dim > (int32_t)sv->opt[HAM_OPT_NEWTON_MAX_DIM];
    size_t d = (size_t)dim, rows = (size_t)cap;
    size_t dense = st->krylov ? 1 : d; /* Jacobian columns kept per row */
    st->tangent = malloc(rows * dense * d * sizeof(float));
    st->jcols = malloc(rows * dense * d * sizeof(float));
    st->rhs = malloc(rows * d * sizeof(float));
    st->dir = malloc(rows * d * sizeof(float));
    st->trial = malloc(rows * d * sizeof(float));
    st->gtrial = malloc(rows * d * sizeof(float));
    st->res0 = malloc(rows * sizeof(double));
    st->alpha = malloc(rows * sizeof(double));
    st->fails = malloc(rows * sizeof(int32_t));
    st->best = malloc(rows * sizeof(double));
    st->cooldown = malloc(rows * sizeof(int32_t));
    st->count = malloc(rows);
    st->e0 = malloc(rows * sizeof(double));
    st->a = malloc(dense * dense * sizeof(double));
    st->b = malloc(d * sizeof(double));
    st->ipiv = malloc(d * sizeof(int32_t));
    int rc = !st->tangent || !st->jcols || !st->rhs || !st->dir || !st->trial || !st->gtrial ||
                     !st->res0 || !st->alpha || !st->fails || !st->best || !st->cooldown ||
                     !st->count || !st->e0 || !st->a || !st->b || !st->ipiv
                 ? HAMP_FAIL(HAM_ERR_NOMEM)
                 : HAM_OK;
    if (rc == HAM_OK && st->krylov)
        rc = hamp_gmres_init(&st->gmres, dim, cap, (int32_t)sv->opt[HAM_OPT_NEWTON_KRYLOV_DIM]);
    if (rc != HAM_OK) {
        newton_fini(sv, st);
        return rc;
    }
    if (!st->krylov) { /* the identity tangents never change: fill them once */
        memset(st->tangent, 0, rows * d * d * sizeof(float));
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < d; j++)
                st->tangent[(r * d + j) * d + j] = 1.0f;
    }
    *state = st;
    return HAM_OK;
}

static int32_t newton_tangents(const ham_solver_t *sv)
{
    return sv->dim > (int32_t)sv->opt[HAM_OPT_NEWTON_MAX_DIM] ? 1 : sv->dim;
}

static double residual(const float *g, const float *x, size_t d)
{
    double acc;
    hamp_diff_norms2(&acc, NULL, g, x, (int32_t)d);
    return sqrt(acc);
}

/* Attractor-safe, dense Jacobian only: 1 when the spectral radius of J (dim x dim,
 * columns jc) is below 1, estimated by power iteration in double (no JVP: J is at hand).
 * Where it is not, the fixed point Newton heads for may be a saddle (the Jacobian of G
 * there has an eigenvalue >= 1) and a Picard step, which leaves saddles, is taken. */
#define POWER_STEPS 24
static int contractive(newton_t *st, const float *jc)
{
    const size_t d = (size_t)st->dim;
    double *v = st->b, *w = st->a; /* scratch: the LU is done with them */
    for (size_t i = 0; i < d; i++)
        v[i] = 1.0 + 0.01 * (double)i;
    double prev = 0.0, rho = 0.0;
    for (int t = 0; t < POWER_STEPS; t++) {
        double nv = 0.0, nw = 0.0;
        for (size_t i = 0; i < d; i++)
            w[i] = 0.0;
        for (size_t j = 0; j < d; j++) {
            nv += v[j] * v[j];
            for (size_t i = 0; i < d; i++)
                w[i] += (double)jc[j * d + i] * v[j];
        }
        for (size_t i = 0; i < d; i++)
            nw += w[i] * w[i];
        double ratio = nv > 0.0 ? sqrt(nw / nv) : 0.0;
        rho = t ? sqrt(prev * ratio) : ratio;
        prev = ratio;
        if (!(nw > 0.0) || !isfinite(nw))
            break;
        for (size_t i = 0; i < d; i++)
            v[i] = w[i] / sqrt(nw);
    }
    return rho < 1.0;
}

/* Direction from the dense Jacobian; alpha[r] = 1 on success, -1 when LU failed. */
static void dense_direction(newton_t *st, ham_solver_t *sv, const float *s, const float *gs,
                            int32_t rows)
{
    const size_t d = (size_t)st->dim;
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
        int info = hamp_dgesv_small((int32_t)d, st->a, st->ipiv, st->b);
        for (size_t i = 0; i < d; i++)
            dir[i] = (float)st->b[i];
        st->alpha[r] = info == 0 ? 1.0 : -1.0;
        if (info == 0 && sv->attractor && !contractive(st, jc)) {
            st->alpha[r] = -1.0; /* near a saddle: Newton would converge to it */
            sv->rejections++;
        }
    }
}

/* Direction from matrix-free GMRES; always "succeeds" (a partial solve is a direction). */
static void krylov_direction(newton_t *st, ham_solver_t *sv, const float *s, const float *gs,
                             int32_t rows)
{
    const size_t n = (size_t)rows * (size_t)st->dim;
    for (size_t i = 0; i < n; i++)
        st->rhs[i] = gs[i] - s[i];
    hamp_gmres_solve(&st->gmres, sv, st->dir, st->rhs, rows, sv->opt[HAM_OPT_NEWTON_FORCING]);
    for (int32_t r = 0; r < rows; r++)
        st->alpha[r] = 1.0;
}

static int newton_step(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows)
{
    newton_t *st = state;
    const size_t d = (size_t)st->dim;
    const int linesearch = sv->opt[HAM_OPT_NEWTON_LINESEARCH] != 0.0;

    /* the driver has just evaluated G at s, so the workspace is linearised there */
    if (st->krylov)
        krylov_direction(st, sv, s, gs, rows);
    else
        dense_direction(st, sv, s, gs, rows);
    for (int32_t r = 0; r < rows; r++) {
        const float *x = s + (size_t)r * d, *g = gs + (size_t)r * d;
        const float *dir = st->dir + (size_t)r * d;
        int ok = st->alpha[r] > 0.0 && st->cooldown[r] == 0;
        for (size_t i = 0; ok && i < d; i++)
            ok = isfinite(dir[i]);
        st->res0[r] = residual(g, x, d);
        if (ok && sv->attractor) {
            /* attractor-safe: a direction outside the plain step's cone is not tried */
            double c = st->krylov ? CONE_KRYLOV : 0.0, acc = 0.0;
            if (sv->row_iters[r] == 1) /* one evaluation so far: the initial state's */
                c = CONE_START;
            for (size_t i = 0; i < d; i++)
                acc += (double)dir[i] * ((double)g[i] - x[i]);
            ok = acc > c * hamp_nrm2(dir, (int32_t)d) * st->res0[r];
            sv->rejections += !ok;
        }
        if (st->cooldown[r] > 0)
            st->cooldown[r]--;
        st->e0[r] = sv->attractor_energy ? sv->row_energy[r] : 0.0;
        st->alpha[r] = ok ? 1.0 : -1.0;
        float *xt = st->trial + (size_t)r * d;
        for (size_t i = 0; i < d; i++)
            xt[i] = ok ? x[i] + dir[i] : g[i];
    }
    if (!linesearch) {
        memcpy(s, st->trial, (size_t)rows * d * sizeof(float));
        return 0;
    }

    /* Backtracking, all rows in one batched evaluation per trial. Every row is evaluated
     * (accepted ones again, so that the workspace ends linearised at each row's final
     * point) but the evaluation counts only for the rows that needed it. */
    for (int trial = 0; trial < LINESEARCH_TRIALS; trial++) {
        int pending = 0;
        for (int32_t r = 0; r < rows; r++)
            pending |= st->alpha[r] > 0.0;
        if (!pending)
            break;
        for (int32_t r = 0; r < rows; r++)
            st->count[r] = st->alpha[r] > 0.0;
        hamp_solver_apply_counted(sv, st->gtrial, st->trial, rows, st->count);
        for (int32_t r = 0; r < rows; r++) {
            if (!(st->alpha[r] > 0.0))
                continue;
            const float *xt = st->trial + (size_t)r * d, *gt = st->gtrial + (size_t)r * d;
            double a = st->alpha[r], res = residual(gt, xt, d);
            /* attractor-safe: also no higher energy after G than the Picard step's */
            int descends = !sv->attractor_energy || !hamp_energy_rises(sv->row_energy[r], st->e0[r]);
            if (descends && res <= (1.0 - 1e-4 * a) * fmin(st->res0[r], st->best[r])) {
                st->alpha[r] = 0.0; /* accepted */
                st->fails[r] = 0;
                st->best[r] = res;
                continue;
            }
            if (hamp_solver_evals_left(sv, r) == 0) {
                st->alpha[r] = 0.0; /* out of evaluations: stop at this evaluated point */
                continue;
            }
            float *xn = st->trial + (size_t)r * d;
            const float *x = s + (size_t)r * d, *dir = st->dir + (size_t)r * d;
            if (trial + 1 < LINESEARCH_TRIALS) {
                a *= 0.5;
                for (size_t i = 0; i < d; i++)
                    xn[i] = x[i] + (float)a * dir[i];
                st->alpha[r] = a;
            } else {
                /* No decrease along the Newton direction (a saddle or a fold nearby): take
                 * the Picard step, and only Picard steps for the next 2, 4, .. 16 steps,
                 * so that a row stuck there costs no more than plain Picard. */
                memcpy(xn, gs + (size_t)r * d, d * sizeof(float));
                st->alpha[r] = -1.0;
                st->fails[r]++;
                sv->rejections += !descends;
                st->cooldown[r] = 1 << (st->fails[r] < 4 ? st->fails[r] : 4);
            }
        }
    }
    /* rows whose final point is a Picard step still need G there */
    int missing = 0;
    for (int32_t r = 0; r < rows; r++)
        missing |= st->alpha[r] != 0.0;
    if (missing) {
        for (int32_t r = 0; r < rows; r++)
            st->count[r] = st->alpha[r] != 0.0;
        hamp_solver_apply_counted(sv, st->gtrial, st->trial, rows, st->count);
    }
    memcpy(s, st->trial, (size_t)rows * d * sizeof(float));
    memcpy(gs, st->gtrial, (size_t)rows * d * sizeof(float));
    return HAMP_STEP_G_READY;
}
static int newton_reset(ham_solver_t *sv, void *state, int32_t rows)
{
    (void)sv;
    newton_t *st = state;
    for (int32_t r = 0; r < rows; r++) {
        st->fails[r] = st->cooldown[r] = 0;
        st->best[r] = INFINITY;
    }
    return HAM_OK;
}

static void newton_compact(ham_solver_t *sv, void *state, const int32_t *keep, int32_t n)
{
    (void)sv;
    newton_t *st = state;
    hamp_compact_rows_i(st->fails, 1, keep, n);
    hamp_compact_rows_d(st->best, 1, keep, n);
    hamp_compact_rows_i(st->cooldown, 1, keep, n);
}

const hamp_solver_ops_t hamp_solver_newton = {"newton",     newton_init, newton_fini,
                                              newton_reset, newton_step, newton_compact,
                                              newton_tangents};
