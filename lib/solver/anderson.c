/* Anderson acceleration (Walker & Ni 2011), per sample, memory m.
 *
 * With residuals f_j = G(x_j) - x_j of the last k <= m iterates, choose
 *   alpha = argmin || sum_j alpha_j f_j ||  subject to  sum_j alpha_j = 1,
 * i.e. alpha = A^{-1} 1 / (1' A^{-1} 1) with the Gram matrix A_ij = f_i . f_j (plus a
 * Tikhonov term lambda * trace(A)/k), solved in double precision: in float32 nearly
 * collinear residuals make A exactly singular now and then. The next iterate is
 *   x = sum_j alpha_j (G(x_j) - (1 - beta) f_j)           (beta: damping).
 * Safeguards (HAM_OPT_ANDERSON_SAFEGUARD), both measured with `hamdeq solve` on 784-512-10 and 784-1280-510-200-10:
 * - when an Anderson iterate turns out to have more than twice the residual of the
 *   iterate it was extrapolated from, it is dropped from the history and the plain step
 *   from that earlier iterate is taken instead (its G is stored: no extra evaluation);
 * - when the residual is more than 10% above the best one this sample has reached, the
 *   history is cleared (a restart). Far from the fixed point, on the plateaus of deeper
 *   models, old secant information points the wrong way: without restarts Anderson
 *   needed 589 evaluations per sample where Picard needed 157 (even-odd, 5 layers,
 *   32 Fashion-MNIST images, Xavier seed 1); with them, 122. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fastmath.h"
#include "solver/solver_private.h"

#define SAFEGUARD_FACTOR 2.0
#define RESTART_FACTOR 1.1

typedef struct anderson {
    int32_t m, dim, cap;
    float *gx;         /* cap x m x dim: G(x_j) */
    float *fx;         /* cap x m x dim: f_j = G(x_j) - x_j */
    double *gram;      /* cap x m x m: f_i . f_j */
    int32_t *count;    /* pairs pushed so far (ring position = count % m) */
    int32_t *prev;     /* slot of the last accepted iterate's pair */
    int32_t *last_aa;  /* the current iterate came from an Anderson extrapolation */
    double *prev_norm; /* ||f|| of the last accepted iterate */
    double *best;      /* smallest ||f|| seen */
    double *prev_energy; /* attractor-safe: energy after G at the last accepted iterate */
    int32_t *home;     /* working row -> the row of the arrays above that holds its history:
                          a retired sample frees its slot without moving the others' (on a
                          522-long state a row of history is 16 KB) */
    double *a, *y;     /* m x m and m scratch for one solve */
    int32_t *ipiv;
} anderson_t;

static void anderson_fini(ham_solver_t *sv, void *state)
{
    (void)sv;
    anderson_t *st = state;
    if (!st)
        return;
    free(st->gx);
    free(st->fx);
    free(st->gram);
    free(st->count);
    free(st->prev);
    free(st->last_aa);
    free(st->prev_norm);
    free(st->best);
    free(st->prev_energy);
    free(st->home);
    free(st->a);
    free(st->y);
    free(st->ipiv);
    free(st);
}

static int anderson_init(ham_solver_t *sv, void **state, int32_t dim, int32_t cap)
{
    anderson_t *st = calloc(1, sizeof *st);
    if (!st)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    st->m = (int32_t)sv->opt[HAM_OPT_ANDERSON_M];
    st->dim = dim;
    st->cap = cap;
    size_t m = (size_t)st->m, rows = (size_t)cap;
    st->gx = malloc(rows * m * (size_t)dim * sizeof(float) + 1);
    st->fx = malloc(rows * m * (size_t)dim * sizeof(float) + 1);
    st->gram = malloc(rows * m * m * sizeof(double));
    st->count = malloc(rows * sizeof(int32_t));
    st->prev = malloc(rows * sizeof(int32_t));
    st->last_aa = malloc(rows * sizeof(int32_t));
    st->prev_norm = malloc(rows * sizeof(double));
    st->best = malloc(rows * sizeof(double));
    st->prev_energy = malloc(rows * sizeof(double));
    st->home = malloc(rows * sizeof(int32_t));
    st->a = malloc(m * m * sizeof(double));
    st->y = malloc(m * sizeof(double));
    st->ipiv = malloc(m * sizeof(int32_t));
    if (!st->gx || !st->fx || !st->gram || !st->count || !st->prev || !st->last_aa ||
        !st->prev_norm || !st->best || !st->prev_energy || !st->home || !st->a || !st->y || !st->ipiv) {
        anderson_fini(sv, st);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    *state = st;
    return HAM_OK;
}

static int anderson_reset(ham_solver_t *sv, void *state, int32_t rows)
{
    (void)sv;
    anderson_t *st = state;
    for (int32_t r = 0; r < rows; r++) {
        st->count[r] = 0;
        st->last_aa[r] = 0;
        st->prev[r] = 0;
        st->prev_norm[r] = INFINITY;
        st->best[r] = INFINITY;
        st->home[r] = r;
    }
    return HAM_OK;
}

HAMP_VECTOR_CLONES
static void store_pair(float *restrict g, float *restrict f, const float *gs, const float *s,
                       size_t d)
{
    for (size_t i = 0; i < d; i++) {
        g[i] = gs[i];
        f[i] = gs[i] - s[i];
    }
}

/* x = sum_j alpha_j (G(x_j) - (1 - beta) f_j), accumulated in the order of j. */
HAMP_VECTOR_CLONES
static void extrapolate(float *restrict x, const float *gx, const float *fx, const double *alpha,
                        int32_t k, size_t d, float beta)
{
    const float damp = 1.0f - beta;
    memset(x, 0, d * sizeof(float));
    for (int32_t j = 0; j < k; j++) {
        const float a = (float)alpha[j], *gj = gx + (size_t)j * d, *fj = fx + (size_t)j * d;
        if (damp == 0.0f)
            for (size_t i = 0; i < d; i++)
                x[i] += a * gj[i];
        else
            for (size_t i = 0; i < d; i++)
                x[i] += a * (gj[i] - damp * fj[i]);
    }
}

/* Stores the pair (G(x), f) of row r in the next ring slot and updates its Gram row. */
static int32_t push(anderson_t *st, int32_t r, const float *gs, const float *s)
{
    size_t m = (size_t)st->m, d = (size_t)st->dim;
    int32_t slot = st->count[r] % st->m;
    float *g = st->gx + ((size_t)r * m + slot) * d, *f = st->fx + ((size_t)r * m + slot) * d;
    store_pair(g, f, gs, s, d);
    st->count[r]++;
    int32_t k = st->count[r] < st->m ? st->count[r] : st->m;
    double *A = st->gram + (size_t)r * m * m;
    for (int32_t j = 0; j < k; j++) {
        double v = hamp_dot(f, st->fx + ((size_t)r * m + j) * d, (int32_t)d);
        A[(size_t)slot * m + j] = v;
        A[(size_t)j * m + slot] = v;
    }
    return slot;
}

/* x = G(x_j) - (1 - beta) f_j for the stored pair in `slot`: the (damped) plain step. */
static void plain_step(const anderson_t *st, int32_t r, int32_t slot, float beta, float *x)
{
    size_t m = (size_t)st->m, d = (size_t)st->dim;
    const float *g = st->gx + ((size_t)r * m + slot) * d, *f = st->fx + ((size_t)r * m + slot) * d;
    for (size_t i = 0; i < d; i++)
        x[i] = g[i] - (1.0f - beta) * f[i];
}

/* Solves for alpha (in st->y) over the first k slots of row r; 0 on success. */
static int solve_alpha(anderson_t *st, int32_t r, int32_t k, double lambda)
{
    size_t m = (size_t)st->m;
    const double *A = st->gram + (size_t)r * m * m;
    double trace = 0.0;
    for (int32_t i = 0; i < k; i++)
        trace += A[(size_t)i * m + i];
    if (!(trace > 0.0) || !isfinite(trace))
        return -1;
    double reg = lambda * trace / k;
    /* column-major k x k copy; A is symmetric so the layout only fixes the stride */
    for (int32_t j = 0; j < k; j++) {
        for (int32_t i = 0; i < k; i++)
            st->a[(size_t)j * k + i] = A[(size_t)i * m + j] / trace;
        st->a[(size_t)j * k + j] += reg / trace;
        st->y[j] = 1.0;
    }
    if (hamp_dgesv_small(k, st->a, st->ipiv, st->y) != 0)
        return -1;
    double sum = 0.0, l1 = 0.0;
    for (int32_t j = 0; j < k; j++) {
        sum += st->y[j];
        l1 += fabs(st->y[j]);
    }
    if (!isfinite(sum) || fabs(sum) < 1e-300 || l1 / fabs(sum) > 1e6)
        return -1; /* wildly cancelling coefficients: the extrapolation is not trustworthy */
    for (int32_t j = 0; j < k; j++)
        st->y[j] /= sum;
    return 0;
}

/* Attractor-safe: 1 when the proposal p leaves the iterate x of `slot` in the plain
 * step's half-space, (p - x) . (G(x) - x) > 0, with x = G(x) - f. */
static int downhill(const anderson_t *st, int32_t r, int32_t slot, const float *p)
{
    size_t m = (size_t)st->m, d = (size_t)st->dim;
    const float *g = st->gx + ((size_t)r * m + slot) * d, *f = st->fx + ((size_t)r * m + slot) * d;
    double acc = 0.0;
    for (size_t i = 0; i < d; i++)
        acc += ((double)p[i] - g[i] + f[i]) * f[i];
    return acc > 0.0;
}

static int anderson_step(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows)
{
    anderson_t *st = state;
    const size_t m = (size_t)st->m, d = (size_t)st->dim;
    const float beta = (float)sv->opt[HAM_OPT_ANDERSON_BETA];
    const double lambda = sv->opt[HAM_OPT_ANDERSON_LAMBDA];
    const int safeguard = sv->opt[HAM_OPT_ANDERSON_SAFEGUARD] != 0.0;

    for (int32_t r = 0; r < rows; r++) {
        float *x = s + (size_t)r * d;
        const float *g = gs + (size_t)r * d;
        const double fnorm = sv->row_fnorm[r]; /* ||G(x) - x||, from the driver */
        const int32_t h = st->home[r];
        if (sv->attractor_energy && st->last_aa[h] && hamp_energy_rises(sv->row_energy[r],
                                                                 st->prev_energy[h])) {
            /* attractor-safe: the extrapolation ends higher than the plain step from the
             * iterate it came from would; take that step and forget the history */
            plain_step(st, h, st->prev[h], beta, x);
            st->last_aa[h] = 0;
            st->count[h] = 0;
            sv->rejections++;
            continue;
        }
        if (safeguard && st->last_aa[h] && fnorm > SAFEGUARD_FACTOR * st->prev_norm[h]) {
            /* the extrapolation made things worse: forget it, step plainly from before */
            plain_step(st, h, st->prev[h], beta, x);
            st->last_aa[h] = 0;
            continue;
        }
        if (safeguard && fnorm > RESTART_FACTOR * st->best[h])
            st->count[h] = 0; /* far above the best residual: the history misleads, restart */
        if (fnorm < st->best[h])
            st->best[h] = fnorm;
        int32_t slot = push(st, h, g, x);
        st->prev[h] = slot;
        st->prev_norm[h] = fnorm;
        st->prev_energy[h] = sv->attractor_energy ? sv->row_energy[r] : 0.0;
        int32_t k = st->count[h] < st->m ? st->count[h] : st->m;
        if (k < 2 || solve_alpha(st, h, k, lambda) != 0) {
            plain_step(st, h, slot, beta, x);
            st->last_aa[h] = 0;
            continue;
        }
        extrapolate(x, st->gx + (size_t)h * m * d, st->fx + (size_t)h * m * d, st->y, k, d,
                    beta);
        if (sv->attractor && !downhill(st, h, slot, x)) {
            /* attractor-safe: a step against the descent direction, refused before it
             * costs an evaluation */
            plain_step(st, h, slot, beta, x);
            st->last_aa[h] = 0;
            st->count[h] = 0;
            sv->rejections++;
            continue;
        }
        st->last_aa[h] = 1;
    }
    return 0;
}

static void anderson_compact(ham_solver_t *sv, void *state, const int32_t *keep, int32_t n)
{
    (void)sv;
    anderson_t *st = state;
    hamp_compact_rows_i(st->home, 1, keep, n); /* the histories stay where they are */
}

const hamp_solver_ops_t hamp_solver_anderson = {"anderson",     anderson_init,  anderson_fini,
                                                anderson_reset, anderson_step,  anderson_compact,
                                                NULL};
