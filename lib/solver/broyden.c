/* Limited-memory Broyden ("good" Broyden, as in DEQ solvers), per sample.
 *
 * Solve g(x) = G(x) - x = 0 with an inverse-Jacobian estimate B = -I + sum_i u_i v_i'
 * (B starts at -I, so the first step is the Picard step). After a step dx with change
 * dg, the rank-one update makes B dg = dx:
 *   u = (dx - B dg) / (dx' B dg),   v = B' dx.
 * The newest M pairs are kept in a ring. Step: x <- x - B g. When the residual grows
 * by more than a factor of 2 over the best one seen, the memory is dropped (restart
 * from -I), which keeps a bad secant model from running away.
 *
 * Attractor-safe (docs/math.md section 7), a step -B g is refused when it points out of
 * the plain step's half-space, and otherwise held to a trust region relative to the plain
 * step: ||B g|| <= kappa ||g||, kappa = TRUST_START on the first accelerated step after a
 * plain one or after a rise of the residual, times TRUST_GROWTH after every step that
 * lowered it. Unlimited secant steps jumped across basins early in the solve (the 5-layer
 * model of bench/attractor.sh: 85.9% agreement with energy descent; with the region
 * 100%, at 33% of Picard's evaluations instead of 25%). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver_private.h"

#define TRUST_START 1.5
#define TRUST_GROWTH 1.25

typedef struct broyden {
    int32_t m, dim, cap;
    float *u, *v;        /* cap x m x dim */
    float *x_prev;       /* cap x dim */
    float *g_prev;       /* cap x dim */
    int32_t *count;      /* pairs pushed since the last restart */
    int32_t *have_prev;  /* x_prev/g_prev hold the previous iterate */
    double *best;        /* smallest ||g|| seen since the last restart */
    double *e_prev;      /* attractor-safe: energy after G at x_prev */
    int32_t *accel;      /* the current iterate came from a step with B != -I */
    double *kappa;       /* attractor-safe: trust radius / ||g|| of the last step, 0 after
                            a plain one */
    double *g_last;      /* ||g|| at the last step */
    float *t, *w;        /* dim scratch */
    double *c;           /* m scratch: projections */
} broyden_t;

static void broyden_fini(ham_solver_t *sv, void *state)
{
    (void)sv;
    broyden_t *st = state;
    if (!st)
        return;
    free(st->u);
    free(st->v);
    free(st->x_prev);
    free(st->g_prev);
    free(st->count);
    free(st->have_prev);
    free(st->best);
    free(st->e_prev);
    free(st->accel);
    free(st->kappa);
    free(st->g_last);
    free(st->t);
    free(st->w);
    free(st->c);
    free(st);
}

static int broyden_init(ham_solver_t *sv, void **state, int32_t dim, int32_t cap)
{
    broyden_t *st = calloc(1, sizeof *st);
    if (!st)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    st->m = (int32_t)sv->opt[HAM_OPT_BROYDEN_M];
    st->dim = dim;
    st->cap = cap;
    size_t m = (size_t)st->m, d = (size_t)dim, rows = (size_t)cap;
    st->u = malloc(rows * m * d * sizeof(float) + 1);
    st->v = malloc(rows * m * d * sizeof(float) + 1);
    st->x_prev = malloc(rows * d * sizeof(float) + 1);
    st->g_prev = malloc(rows * d * sizeof(float) + 1);
    st->count = malloc(rows * sizeof(int32_t));
    st->have_prev = malloc(rows * sizeof(int32_t));
    st->best = malloc(rows * sizeof(double));
    st->e_prev = malloc(rows * sizeof(double));
    st->accel = malloc(rows * sizeof(int32_t));
    st->kappa = malloc(rows * sizeof(double));
    st->g_last = malloc(rows * sizeof(double));
    st->t = malloc(d * sizeof(float) + 1);
    st->w = malloc(d * sizeof(float) + 1);
    st->c = malloc(m * sizeof(double));
    if (!st->u || !st->v || !st->x_prev || !st->g_prev || !st->count || !st->have_prev ||
        !st->best || !st->e_prev || !st->accel || !st->kappa || !st->g_last || !st->t ||
        !st->w || !st->c) {
        broyden_fini(sv, st);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    *state = st;
    return HAM_OK;
}

static int broyden_reset(ham_solver_t *sv, void *state, int32_t rows)
{
    (void)sv;
    broyden_t *st = state;
    for (int32_t r = 0; r < rows; r++) {
        st->count[r] = 0;
        st->have_prev[r] = 0;
        st->accel[r] = 0;
        st->best[r] = INFINITY;
        st->kappa[r] = 0.0;
        st->g_last[r] = INFINITY;
    }
    return HAM_OK;
}

/* out = B z = -z + sum_i u_i (v_i . z) for row r. */
static void apply_b(broyden_t *st, int32_t r, float *out, const float *z)
{
    size_t m = (size_t)st->m, d = (size_t)st->dim;
    int32_t k = st->count[r] < st->m ? st->count[r] : st->m;
    for (size_t i = 0; i < d; i++)
        out[i] = -z[i];
    for (int32_t j = 0; j < k; j++) {
        const float *u = st->u + ((size_t)r * m + j) * d, *v = st->v + ((size_t)r * m + j) * d;
        float c = (float)hamp_dot(v, z, (int32_t)d);
        for (size_t i = 0; i < d; i++)
            out[i] += c * u[i];
    }
}

/* out = B' z = -z + sum_i v_i (u_i . z) for row r. */
static void apply_bt(broyden_t *st, int32_t r, float *out, const float *z)
{
    size_t m = (size_t)st->m, d = (size_t)st->dim;
    int32_t k = st->count[r] < st->m ? st->count[r] : st->m;
    for (size_t i = 0; i < d; i++)
        out[i] = -z[i];
    for (int32_t j = 0; j < k; j++) {
        const float *u = st->u + ((size_t)r * m + j) * d, *v = st->v + ((size_t)r * m + j) * d;
        float c = (float)hamp_dot(u, z, (int32_t)d);
        for (size_t i = 0; i < d; i++)
            out[i] += c * v[i];
    }
}

/* Attractor-safe: holds the step t of row r (x <- x - t) to the trust region
 * ||t|| <= kappa ||g||, growing kappa while the residual falls (file comment). */
static void trust_region(broyden_t *st, int32_t r, float *t, double gnorm)
{
    const size_t d = (size_t)st->dim;
    if (st->kappa[r] <= 0.0 || gnorm > st->g_last[r])
        st->kappa[r] = TRUST_START;
    else
        st->kappa[r] *= TRUST_GROWTH;
    st->g_last[r] = gnorm;
    double tn = hamp_nrm2(t, (int32_t)d), cap = st->kappa[r] * gnorm;
    if (tn > cap) {
        float scale = (float)(cap / tn);
        for (size_t i = 0; i < d; i++)
            t[i] *= scale;
    }
}

static int broyden_step(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows)
{
    broyden_t *st = state;
    const size_t m = (size_t)st->m, d = (size_t)st->dim;
    float *t = st->t, *w = st->w;
    for (int32_t r = 0; r < rows; r++) {
        float *x = s + (size_t)r * d, *xp = st->x_prev + (size_t)r * d;
        float *gp = st->g_prev + (size_t)r * d;
        const float *fx = gs + (size_t)r * d;
        if (sv->attractor_energy && st->accel[r] &&
            hamp_energy_rises(sv->row_energy[r], st->e_prev[r])) {
            /* attractor-safe: the quasi-Newton step ends higher than the plain step from
             * x_prev would; take that step, G(x_prev) = x_prev + g_prev, and restart */
            for (size_t i = 0; i < d; i++)
                x[i] = xp[i] + gp[i];
            st->count[r] = 0;
            st->have_prev[r] = 0;
            st->accel[r] = 0;
            st->best[r] = INFINITY;
            sv->rejections++;
            continue;
        }
        /* g = G(x) - x, kept in w */
        for (size_t i = 0; i < d; i++)
            w[i] = fx[i] - x[i];
        double gnorm = hamp_nrm2(w, (int32_t)d);
        if (gnorm > 2.0 * st->best[r]) {
            st->count[r] = 0; /* the secant model went wrong: restart from -I */
            st->best[r] = gnorm;
        } else if (st->have_prev[r]) {
            /* dx = x - x_prev (into xp), dg = g - g_prev (into gp) */
            for (size_t i = 0; i < d; i++) {
                xp[i] = x[i] - xp[i];
                gp[i] = w[i] - gp[i];
            }
            apply_b(st, r, t, gp); /* t = B dg */
            double denom = hamp_dot(xp, t, (int32_t)d);
            double scale = hamp_nrm2(xp, (int32_t)d) * hamp_nrm2(t, (int32_t)d);
            if (isfinite(denom) && fabs(denom) > 1e-12 * scale && scale > 0.0) {
                int32_t slot = st->count[r] % st->m;
                float *u = st->u + ((size_t)r * m + slot) * d;
                float *v = st->v + ((size_t)r * m + slot) * d;
                apply_bt(st, r, v, xp); /* v = B' dx, with the old B */
                for (size_t i = 0; i < d; i++)
                    u[i] = (float)((xp[i] - t[i]) / denom);
                st->count[r]++;
            }
        }
        if (gnorm < st->best[r])
            st->best[r] = gnorm;
        memcpy(xp, x, d * sizeof(float));
        memcpy(gp, w, d * sizeof(float));
        st->have_prev[r] = 1;
        st->e_prev[r] = sv->attractor_energy ? sv->row_energy[r] : 0.0;
        st->accel[r] = st->count[r] > 0; /* with no pair B = -I: the step is G(x) */
        if (!st->accel[r])
            st->kappa[r] = 0.0;
        apply_b(st, r, t, w); /* x <- x - B g */
        if (sv->attractor && st->accel[r] && !(-hamp_dot(t, w, (int32_t)d) > 0.0)) {
            /* attractor-safe: a step against the plain step's direction G(x) - x is
             * refused before it costs an evaluation: take the plain step, restart */
            memcpy(x, fx, d * sizeof(float));
            st->count[r] = 0;
            st->accel[r] = 0;
            st->kappa[r] = 0.0;
            sv->rejections++;
            continue;
        }
        if (sv->attractor)
            trust_region(st, r, t, gnorm);
        int finite = 1;
        for (size_t i = 0; i < d; i++) {
            x[i] -= t[i];
            finite &= isfinite(x[i]);
        }
        if (!finite) { /* fall back to the Picard step and forget the model */
            for (size_t i = 0; i < d; i++)
                x[i] = fx[i];
            st->count[r] = 0;
            st->accel[r] = 0;
        }
    }
    return 0;
}

static void broyden_compact(ham_solver_t *sv, void *state, const int32_t *keep, int32_t n)
{
    (void)sv;
    broyden_t *st = state;
    size_t m = (size_t)st->m, d = (size_t)st->dim;
    hamp_compact_rows(st->u, m * d, keep, n);
    hamp_compact_rows(st->v, m * d, keep, n);
    hamp_compact_rows(st->x_prev, d, keep, n);
    hamp_compact_rows(st->g_prev, d, keep, n);
    hamp_compact_rows_i(st->count, 1, keep, n);
    hamp_compact_rows_i(st->have_prev, 1, keep, n);
    hamp_compact_rows_d(st->best, 1, keep, n);
    hamp_compact_rows_d(st->e_prev, 1, keep, n);
    hamp_compact_rows_i(st->accel, 1, keep, n);
    hamp_compact_rows_d(st->kappa, 1, keep, n);
    hamp_compact_rows_d(st->g_last, 1, keep, n);
}

const hamp_solver_ops_t hamp_solver_broyden = {"broyden",     broyden_init, broyden_fini,
                                               broyden_reset, broyden_step, broyden_compact,
                                               NULL};
