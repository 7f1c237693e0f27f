/* Modern Hopfield networks (include/hamdeq/mhn.h, docs/math.md section 6): the even-odd
 * operator is the MHN update, the energy and its descent, beta_s against direct
 * computations, the phase transition of a 5-pattern simplex, every solver reaching the
 * same fixed points, and the documented errors on bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* n regular-simplex patterns of norm r in d >= n-1 dimensions (Helmert coordinates of the
 * centred one-hot vectors), turned by a fixed rotation in the (0, d-1) plane so that no
 * coordinate axis is special. */
static float *simplex(int32_t n, int32_t d, double r)
{
    double *y = tu_doubles((size_t)n * d);
    double scale = r / sqrt((double)(n - 1) / n);
    for (int32_t k = 1; k < n; k++) {
        double h = 1.0 / sqrt((double)k * (k + 1));
        for (int32_t mu = 0; mu <= k; mu++)
            y[(size_t)mu * d + (k - 1)] = scale * (mu < k ? h : -k * h);
    }
    float *X = tu_floats((size_t)n * d);
    double c = cos(0.7), s = sin(0.7);
    for (int32_t mu = 0; mu < n; mu++) {
        double *row = y + (size_t)mu * d;
        double a = row[0], b = row[d - 1];
        if (d > 1) {
            row[0] = c * a - s * b;
            row[d - 1] = s * a + c * b;
        }
        for (int32_t i = 0; i < d; i++)
            X[(size_t)mu * d + i] = (float)row[i];
    }
    free(y);
    return X;
}

/* Direct MHN update in double: out = sum_mu softmax(beta X v)_mu x_mu. */
static void mhn_update(double *out, const float *X, int32_t n, int32_t d, double beta,
                       const float *v)
{
    double *a = tu_doubles((size_t)n), mx = -INFINITY, sum = 0.0;
    for (int32_t mu = 0; mu < n; mu++) {
        a[mu] = beta * tu_dot(X + (size_t)mu * d, v, (size_t)d);
        mx = fmax(mx, a[mu]);
    }
    for (int32_t mu = 0; mu < n; mu++)
        sum += (a[mu] = exp(a[mu] - mx));
    for (int32_t i = 0; i < d; i++)
        out[i] = 0.0;
    for (int32_t mu = 0; mu < n; mu++)
        for (int32_t i = 0; i < d; i++)
            out[i] += a[mu] / sum * X[(size_t)mu * d + i];
    free(a);
}

/* Direct energy in double with a naive (but here safe) log-sum-exp. */
static double mhn_energy(const float *X, int32_t n, int32_t d, double beta, const float *v)
{
    double sum = 0.0;
    for (int32_t mu = 0; mu < n; mu++)
        sum += exp(beta * tu_dot(X + (size_t)mu * d, v, (size_t)d));
    return -log(sum) / beta + 0.5 * tu_dot(v, v, (size_t)d);
}

/* lambda_max of the uniform-weight covariance (d x d) by power iteration, in double. */
static double cov_lambda_max(const float *X, int32_t n, int32_t d)
{
    double *m = tu_doubles((size_t)d), *C = tu_doubles((size_t)d * d);
    double *x = tu_doubles((size_t)d), *y = tu_doubles((size_t)d);
    for (int32_t mu = 0; mu < n; mu++)
        for (int32_t i = 0; i < d; i++)
            m[i] += X[(size_t)mu * d + i] / (double)n;
    for (int32_t mu = 0; mu < n; mu++)
        for (int32_t i = 0; i < d; i++)
            for (int32_t j = 0; j < d; j++)
                C[(size_t)i * d + j] += (X[(size_t)mu * d + i] - m[i]) *
                                        (X[(size_t)mu * d + j] - m[j]) / (double)n;
    for (int32_t i = 0; i < d; i++)
        x[i] = 1.0 + 0.1 * i;
    double lam = 0.0;
    for (int it = 0; it < 5000; it++) {
        double nrm = 0.0;
        for (int32_t i = 0; i < d; i++) {
            y[i] = 0.0;
            for (int32_t j = 0; j < d; j++)
                y[i] += C[(size_t)i * d + j] * x[j];
            nrm += y[i] * y[i];
        }
        nrm = sqrt(nrm);
        lam = nrm;
        for (int32_t i = 0; i < d; i++)
            x[i] = y[i] / nrm;
    }
    free(m);
    free(C);
    free(x);
    free(y);
    return lam;
}

static float *random_patterns(int32_t n, int32_t d, uint64_t seed, double lo, double hi)
{
    float *X = tu_floats((size_t)n * d);
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    tu_fill(X, (size_t)n * d, &r, lo, hi);
    return X;
}

/* ------------------------------------------------------------------ the model */

START_TEST(test_layout)
{
    float *X = random_patterns(7, 11, 1, -1, 1);
    ham_model_t *m = NULL;
    TU_OK(ham_mhn_new(&m, X, 7, 11, 1.3));
    ck_assert_int_eq(ham_model_n_layers(m), 2);
    ck_assert_int_eq(ham_model_layer_size(m, 0), 7);
    ck_assert_int_eq(ham_model_layer_size(m, 1), 11);
    ck_assert_int_eq(ham_model_has_clamped_input(m), 0);
    int32_t kind, dim, off;
    double beta;
    TU_OK(ham_model_get_lagrangian(&kind, &beta, m, 0));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_SOFTMAX);
    ck_assert(beta == 1.3);
    TU_OK(ham_model_get_lagrangian(&kind, &beta, m, 1));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_IDENTITY);
    /* the even-odd state is the visible layer */
    TU_OK(ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD));
    ck_assert_int_eq(dim, 11);
    TU_OK(ham_model_state_offset(&off, m, HAM_OPERATOR_EVEN_ODD, 1));
    ck_assert_int_eq(off, 0);
    float W[77];
    TU_OK(ham_model_get_weights(W, m, 0, 77));
    ck_assert(memcmp(W, X, sizeof W) == 0);
    ham_model_free(m);
    free(X);
}
END_TEST

/* G(v) = X softmax(beta X^T v), exactly the Modern Hopfield update. */
START_TEST(test_update_identity)
{
    static const double betas[] = {0.05, 1.0, 7.5, 40.0};
    const int32_t n = 9, d = 13, B = 6;
    float *X = random_patterns(n, d, 2, -1, 1);
    float *v = random_patterns(B, d, 3, -2, 2);
    float *g = tu_floats((size_t)B * d);
    double *ref = tu_doubles((size_t)d);
    for (size_t k = 0; k < sizeof betas / sizeof betas[0]; k++) {
        ham_model_t *m;
        TU_OK(ham_mhn_new(&m, X, n, d, betas[k]));
        TU_OK(ham_model_apply(g, m, HAM_OPERATOR_EVEN_ODD, B, NULL, v));
        for (int32_t r = 0; r < B; r++) {
            mhn_update(ref, X, n, d, betas[k], v + (size_t)r * d);
            double err = tu_diff_df(ref, g + (size_t)r * d, (size_t)d);
            ck_assert_msg(err <= 2e-6 * fmax(1.0, tu_norm_d(ref, (size_t)d)),
                          "beta %g sample %d: |G(v) - X softmax(beta X^T v)| = %g", betas[k],
                          (int)r, err);
        }
        ham_model_free(m);
    }
    free(X);
    free(v);
    free(g);
    free(ref);
}
END_TEST

/* ham_mhn_energy: the closed form, stable at large beta, and equal to the HAM energy of
 * the full state built from v. */
START_TEST(test_energy)
{
    const int32_t n = 6, d = 5, B = 4;
    float *X = random_patterns(n, d, 4, -1, 1);
    float *v = random_patterns(B, d, 5, -1, 1);
    float *full = tu_floats((size_t)B * (n + d));
    double E[4], H[4];
    ham_model_t *m;
    TU_OK(ham_mhn_new(&m, X, n, d, 2.0));
    TU_OK(ham_mhn_energy(E, m, B, v));
    TU_OK(ham_model_eo_to_full(full, m, B, NULL, v));
    TU_OK(ham_model_energy(H, m, B, NULL, full));
    for (int32_t r = 0; r < B; r++) {
        double ref = mhn_energy(X, n, d, 2.0, v + (size_t)r * d);
        ck_assert_msg(fabs(E[r] - ref) <= 1e-9 * fmax(1.0, fabs(ref)), "E %g, direct %g", E[r],
                      ref);
        ck_assert_msg(fabs(H[r] - ref) <= 1e-5 * fmax(1.0, fabs(ref)), "HAM energy %g, MHN %g",
                      H[r], ref);
    }
    ham_model_free(m);
    /* beta 1e4 with overlaps ~1: exp(beta a) overflows a naive sum; the result is
     * -max_mu x_mu.v + v.v/2 up to (log N) / beta */
    TU_OK(ham_mhn_new(&m, X, n, d, 1e4));
    TU_OK(ham_mhn_energy(E, m, 1, v));
    double mx = -INFINITY;
    for (int32_t mu = 0; mu < n; mu++)
        mx = fmax(mx, tu_dot(X + (size_t)mu * d, v, (size_t)d));
    double ref = -mx + 0.5 * tu_dot(v, v, (size_t)d);
    ck_assert(isfinite(E[0]));
    ck_assert_msg(fabs(E[0] - ref) <= log((double)n) / 1e4 + 1e-9, "E %g, limit %g", E[0], ref);
    ham_model_free(m);
    free(X);
    free(v);
    free(full);
}
END_TEST

/* The energy never increases along Picard on G (the MHN update is a CCCP step). */
START_TEST(test_energy_descends_along_picard)
{
    static const double betas[] = {0.5, 3.0, 4.5, 20.0};
    const int32_t n = 5, d = 8, B = 16, steps = 60;
    float *X = simplex(n, d, 1.0);
    float *Y = random_patterns(12, 10, 6, -1, 1); /* generic patterns too */
    float *v = tu_floats((size_t)B * 10), *g = tu_floats((size_t)B * 10);
    double E0[16], E1[16];
    for (int set = 0; set < 2; set++) {
        const float *P = set ? Y : X;
        int32_t np = set ? 12 : n, dp = set ? 10 : d;
        for (size_t k = 0; k < sizeof betas / sizeof betas[0]; k++) {
            ham_model_t *m;
            TU_OK(ham_mhn_new(&m, P, np, dp, betas[k]));
            tu_rng_t r;
            tu_rng_seed(&r, 70 + k);
            tu_fill(v, (size_t)B * dp, &r, -1, 1);
            TU_OK(ham_mhn_energy(E0, m, B, v));
            for (int32_t t = 0; t < steps; t++) {
                TU_OK(ham_model_apply(g, m, HAM_OPERATOR_EVEN_ODD, B, NULL, v));
                TU_OK(ham_mhn_energy(E1, m, B, g));
                for (int32_t s = 0; s < B; s++)
                    ck_assert_msg(E1[s] <= E0[s] + 1e-6 * fmax(1.0, fabs(E0[s])),
                                  "set %d beta %g sample %d step %d: E rose %.9g -> %.9g", set,
                                  betas[k], (int)s, (int)t, E0[s], E1[s]);
                memcpy(v, g, (size_t)B * dp * sizeof(float));
                memcpy(E0, E1, sizeof E0);
            }
            ham_model_free(m);
        }
    }
    free(X);
    free(Y);
    free(v);
    free(g);
}
END_TEST

/* ------------------------------------------------------------------ beta_s */

START_TEST(test_beta_s_simplex)
{
    static const int32_t cases[][2] = {{2, 1}, {3, 2}, {5, 8}, {5, 4}, {10, 12}, {7, 30}};
    static const double norms[] = {1.0, 0.5, 3.0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t k = 0; k < sizeof norms / sizeof norms[0]; k++) {
            int32_t n = cases[c][0], d = cases[c][1];
            double r = norms[k], bs;
            float *X = simplex(n, d, r);
            TU_OK(ham_mhn_beta_s(&bs, X, n, d));
            double expect = (n - 1) / (r * r);
            ck_assert_msg(fabs(bs - expect) <= 1e-5 * expect, "N %d d %d r %g: beta_s %.9g, "
                          "expected (N-1)/r^2 = %.9g", (int)n, (int)d, r, bs, expect);
            free(X);
        }
}
END_TEST

/* Generic patterns, N < d (Gram form) and N > d (covariance form), against power
 * iteration on the d x d covariance. */
START_TEST(test_beta_s_direct)
{
    static const int32_t cases[][2] = {{3, 9}, {9, 3}, {6, 6}, {40, 5}, {1 + 1, 17}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int32_t n = cases[c][0], d = cases[c][1];
        float *X = random_patterns(n, d, 100 + c, -2, 1);
        double bs;
        TU_OK(ham_mhn_beta_s(&bs, X, n, d));
        double expect = 1.0 / cov_lambda_max(X, n, d);
        ck_assert_msg(fabs(bs - expect) <= 1e-6 * expect, "N %d d %d: beta_s %.9g, direct %.9g",
                      (int)n, (int)d, bs, expect);
        free(X);
    }
}
END_TEST

/* Identical patterns (and a single one): zero covariance, beta_s = +inf. */
START_TEST(test_beta_s_degenerate)
{
    float X[4 * 3];
    for (int mu = 0; mu < 4; mu++) {
        X[mu * 3 + 0] = 0.3f;
        X[mu * 3 + 1] = -1.7f;
        X[mu * 3 + 2] = 1e-3f;
    }
    double bs = 0.0;
    TU_OK(ham_mhn_beta_s(&bs, X, 4, 3));
    ck_assert(isinf(bs) && bs > 0);
    bs = 0.0;
    TU_OK(ham_mhn_beta_s(&bs, X, 1, 3));
    ck_assert(isinf(bs) && bs > 0);
    /* the mean of identical patterns is then a minimum at every beta */
    ham_model_t *m;
    double lmin;
    TU_OK(ham_mhn_new(&m, X, 4, 3, 1e3));
    TU_OK(ham_mhn_hessian_min(&lmin, m, 1, X));
    ck_assert_msg(fabs(lmin - 1.0) < 1e-9, "lambda_min %g", lmin);
    ham_model_free(m);
}
END_TEST

/* At the origin (the simplex mean) the Hessian is I - beta Cov: lambda_min = 1 - beta/beta_s. */
START_TEST(test_hessian_at_mean)
{
    float *X = simplex(5, 8, 1.0);
    float zero[8] = {0};
    static const double betas[] = {1.0, 3.9, 4.1, 10.0};
    for (size_t k = 0; k < 4; k++) {
        ham_model_t *m;
        double lmin;
        TU_OK(ham_mhn_new(&m, X, 5, 8, betas[k]));
        TU_OK(ham_mhn_hessian_min(&lmin, m, 1, zero));
        ck_assert_msg(fabs(lmin - (1.0 - betas[k] / 4.0)) < 1e-6, "beta %g: %g", betas[k], lmin);
        ham_model_free(m);
    }
    free(X);
}
END_TEST

/* ------------------------------------------------------------------ the phase transition */

/* Starts uniform-ish in the ball of radius 1 (cube rejection). */
static float *ball_starts(int32_t count, int32_t d, uint64_t seed)
{
    float *S = tu_floats((size_t)count * d);
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    for (int32_t k = 0; k < count; k++) {
        float *s = S + (size_t)k * d;
        do
            tu_fill(s, (size_t)d, &r, -1, 1);
        while (tu_norm(s, (size_t)d) > 1.0);
    }
    return S;
}

static int count_calls(const ham_iter_info_t *info, void *user)
{
    (void)info;
    ++*(int *)user;
    return 0;
}

static void minima_at(ham_mhn_minima_t *res, float *minima, int32_t cap, int32_t *assign,
                      const float *X, int32_t n, int32_t d, double beta, int32_t kind,
                      int32_t op, const float *S, int32_t count)
{
    ham_model_t *m;
    ham_solver_t *sv;
    TU_OK(ham_mhn_new(&m, X, n, d, beta));
    TU_OK(ham_solver_new(&sv, m, op, kind));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 3000));
    int calls = 0;
    TU_OK(ham_solver_set_callback(sv, count_calls, &calls));
    double before[HAM_OPT_THREADS + 1], after;
    for (int32_t o = 0; o <= HAM_OPT_THREADS; o++)
        TU_OK(ham_solver_get_option(&before[o], sv, o));
    memset(res, 0, sizeof *res);
    res->size = sizeof *res;
    TU_OK(ham_mhn_find_minima(res, minima, cap, assign, sv, S, count, 1e-2));
    /* the caller's solver is left alone: options, results (none yet), callback */
    for (int32_t o = 0; o <= HAM_OPT_THREADS; o++) {
        TU_OK(ham_solver_get_option(&after, sv, o));
        ck_assert_msg(after == before[o], "option %d changed from %g to %g", (int)o,
                      before[o], after);
    }
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_int_eq(st.samples, 0);
    ck_assert_int_eq(calls, 0);
    ham_solver_free(sv);
    ham_model_free(m);
}

/* 5 simplex patterns (beta_s = 4): one minimum, the mean, well below the transition; one
 * minimum next to each pattern and no mean well above it. */
START_TEST(test_sweep_5_patterns)
{
    const int32_t n = 5, d = 8, count = 120;
    float *X = simplex(n, d, 1.0);
    float *S = ball_starts(count, d, 9);
    float minima[16 * 8];
    int32_t assign[120];
    ham_mhn_minima_t res;

    minima_at(&res, minima, 16, assign, X, n, d, 1.5, HAM_SOLVER_PICARD, HAM_OPERATOR_EVEN_ODD,
              S, count);
    ck_assert_int_eq(res.starts, count);
    ck_assert_int_eq(res.converged, count);
    ck_assert_int_eq(res.minima, 1);
    ck_assert_int_eq(res.mean_attractor, 0);
    ck_assert_int_eq(res.mean_basin, count);
    ck_assert(tu_norm(minima, (size_t)d) < 1e-3); /* the mean of a simplex: the origin */
    for (int32_t k = 0; k < count; k++)
        ck_assert_int_eq(assign[k], 0);

    minima_at(&res, minima, 16, assign, X, n, d, 8.0, HAM_SOLVER_PICARD, HAM_OPERATOR_EVEN_ODD,
              S, count);
    ck_assert_int_eq(res.converged, count);
    ck_assert_int_eq(res.minima, 5);
    ck_assert_int_eq(res.mean_attractor, -1);
    ck_assert_int_eq(res.mean_basin, 0);
    ck_assert_int_eq(res.saddles, 0);
    /* each pattern has its own minimum, pointing its way */
    for (int32_t mu = 0; mu < n; mu++) {
        int found = 0;
        for (int32_t j = 0; j < res.minima; j++) {
            const float *x = X + (size_t)mu * d, *y = minima + (size_t)j * d;
            double cosine = tu_dot(x, y, (size_t)d) / (tu_norm(x, (size_t)d) * tu_norm(y, (size_t)d));
            found += cosine > 0.99;
        }
        ck_assert_msg(found == 1, "pattern %d has %d minima next to it", (int)mu, found);
    }
    for (int32_t k = 0; k < count; k++)
        ck_assert(assign[k] >= 0 && assign[k] < 5);

    /* the coexistence region: above beta_c ~ 2.85 (saddle-node) and below beta_s = 4 */
    minima_at(&res, NULL, 0, NULL, X, n, d, 3.3, HAM_SOLVER_PICARD, HAM_OPERATOR_EVEN_ODD, S,
              count);
    ck_assert_int_eq(res.minima, 6);
    ck_assert_int_ge(res.mean_attractor, 0);
    free(X);
    free(S);
}
END_TEST

/* find_minima's verdict is the solver's own test with HAM_OPT_ATOL = max(atol, tol * r):
 * the same starts solved directly with those options give the same counts; a larger
 * caller ATOL is kept; a caller's FIXED_ITERS does not stop starts from converging; a
 * custom solver cannot be copied. 5 simplex patterns of norm 2 (r = 2), Anderson, below
 * beta_s (every start goes to the mean, at the origin) and above it. */
START_TEST(test_minima_solver_test)
{
    const int32_t n = 5, d = 8, count = 40;
    const double tol = 1e-6, r = 2.0;
    float *X = simplex(n, d, r);
    float *S = ball_starts(count, d, 21), *v = tu_floats((size_t)count * d);
    for (size_t i = 0; i < (size_t)count * d; i++)
        S[i] *= (float)r;
    const double betas[2] = {0.3, 2.0}; /* beta_s = (n - 1) / r^2 = 1 */
    for (int b = 0; b < 2; b++) {
        ham_model_t *m;
        ham_solver_t *sv, *direct;
        TU_OK(ham_mhn_new(&m, X, n, d, betas[b]));
        TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, tol));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 500));
        ham_mhn_minima_t res = {.size = sizeof res};
        TU_OK(ham_mhn_find_minima(&res, NULL, 0, NULL, sv, S, count, 1e-2));

        TU_OK(ham_solver_new(&direct, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
        TU_OK(ham_solver_set_option(direct, HAM_OPT_TOL, tol));
        TU_OK(ham_solver_set_option(direct, HAM_OPT_MAX_ITER, 500));
        TU_OK(ham_solver_set_option(direct, HAM_OPT_WARM_START, 1));
        TU_OK(ham_solver_set_option(direct, HAM_OPT_ATOL, tol * r));
        memcpy(v, S, (size_t)count * d * sizeof(float));
        TU_OK(ham_solver_solve(direct, v, count, NULL));
        ham_solve_stats_t st;
        tu_stats(&st, direct);
        ck_assert_int_eq(res.converged, st.converged);
        ck_assert_int_eq(res.converged, count);
        ck_assert_int_eq(res.iters_max, st.iters_max);
        ck_assert(res.iters_mean == st.iters_mean);
        ck_assert_int_eq(res.minima, b == 0 ? 1 : n);
        ck_assert_int_eq(res.mean_attractor, b == 0 ? 0 : -1);

        /* a caller's ATOL above tol * r is kept: 3 r accepts every start at once */
        TU_OK(ham_solver_set_option(sv, HAM_OPT_ATOL, 3 * r));
        TU_OK(ham_mhn_find_minima(&res, NULL, 0, NULL, sv, S, count, 1e-2));
        ck_assert_int_eq(res.converged, count);
        ck_assert_int_eq(res.iters_max, 1);
        TU_OK(ham_solver_set_option(sv, HAM_OPT_ATOL, 0));

        /* a fixed count on the caller's solver: the starts still get a verdict */
        TU_OK(ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, 1));
        TU_OK(ham_mhn_find_minima(&res, NULL, 0, NULL, sv, S, count, 1e-2));
        ck_assert_int_eq(res.converged, count);
        ck_assert_int_eq(res.iters_max, st.iters_max);
        ham_solver_free(direct);
        ham_solver_free(sv);
        ham_model_free(m);
    }
    free(X);
    free(S);
    free(v);
}
END_TEST

/* A user backend (plain Picard) for the custom-solver case of find_minima. */
static int picard_init(void **state, int32_t dim, int32_t rows, void *user)
{
    (void)dim;
    (void)rows;
    (void)user;
    *state = NULL;
    return 0;
}

static void picard_fini(void *state, void *user)
{
    (void)state;
    (void)user;
}

static int picard_step(void *state, ham_step_t *step, float *s, float *gs, int32_t rows,
                       void *user)
{
    (void)state;
    (void)user;
    memcpy(s, gs, (size_t)rows * (size_t)ham_step_dim(step) * sizeof(float));
    return 0;
}

/* The mean of centred patterns is a fixed point at the origin, where the relative residual
 * tends to |1 - beta lambda| / (beta lambda) instead of 0 (G(v) ~ beta Cov v): below
 * beta_s no relative test is ever met there, and HAM_OPT_ATOL is what lets a solve end.
 * 5 simplex patterns of norm 1, beta = 2.5 (beta lambda = 0.625 on the patterns' span,
 * relative residual 0.6, Picard contracts by 0.625 per step). */
START_TEST(test_atol_at_origin)
{
    const int32_t n = 5, d = 8, count = 20;
    float *X = simplex(n, d, 1.0);
    float *S = ball_starts(count, d, 5), *v = tu_floats((size_t)count * d);
    float *g = tu_floats((size_t)count * d);
    for (size_t i = 0; i < (size_t)count * d; i++)
        S[i] *= 0.5f;
    ham_model_t *m;
    TU_OK(ham_mhn_new(&m, X, n, d, 2.5));
    int32_t it[20], st[20];
    double res[20];

    /* relative test only (ATOL = 0, the default): no start converges in 20 evaluations */
    ham_solver_t *sv;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 20));
    memcpy(v, S, (size_t)count * d * sizeof(float));
    TU_OK(ham_solver_solve(sv, v, count, NULL));
    TU_OK(ham_solver_get_samples(it, res, st, sv, count));
    for (int32_t k = 0; k < count; k++) {
        ck_assert_msg(st[k] == HAM_SAMPLE_MAX_ITER && it[k] == 20,
                      "start %d: status %d after %d evaluations without ATOL", (int)k,
                      (int)st[k], (int)it[k]);
        ck_assert_msg(res[k] > 0.1, "start %d: relative residual %g", (int)k, res[k]);
    }

    /* ATOL = 1e-3: every start converges, at the origin, on every backend */
    for (int32_t kind = HAM_SOLVER_PICARD; kind <= HAM_SOLVER_NEWTON; kind++) {
        ham_solver_free(sv);
        TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, kind));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 20));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_ATOL, 1e-3));
        memcpy(v, S, (size_t)count * d * sizeof(float));
        TU_OK(ham_solver_solve(sv, v, count, NULL));
        TU_OK(ham_solver_get_samples(it, res, st, sv, count));
        TU_OK(ham_model_apply(g, m, HAM_OPERATOR_EVEN_ODD, count, NULL, v));
        for (int32_t k = 0; k < count; k++) {
            const float *vk = v + (size_t)k * d, *gk = g + (size_t)k * d;
            double dist = 0.0;
            for (int32_t i = 0; i < d; i++)
                dist += ((double)gk[i] - vk[i]) * ((double)gk[i] - vk[i]);
            ck_assert_msg(st[k] == HAM_SAMPLE_CONVERGED && it[k] < 20,
                          "%s start %d: status %d after %d evaluations with ATOL",
                          ham_solver_kind_name(kind), (int)k, (int)st[k], (int)it[k]);
            ck_assert_msg(tu_norm(vk, (size_t)d) < 1e-2 && sqrt(dist) < 1e-3,
                          "%s start %d: |v| = %g, |G(v) - v| = %g", ham_solver_kind_name(kind),
                          (int)k, tu_norm(vk, (size_t)d), sqrt(dist));
        }
    }
    ham_solver_free(sv);
    ham_model_free(m);
    free(X);
    free(S);
    free(v);
    free(g);
}
END_TEST

/* Every solver, on either operator, reaches the same fixed points from the same queries;
 * with saddles filtered out they find the same minima. */
START_TEST(test_solvers_agree)
{
    static const int32_t kinds[] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN,
                                    HAM_SOLVER_NEWTON};
    const int32_t n = 5, d = 8, B = 20;
    const double beta = 8.0;
    float *X = simplex(n, d, 1.0);
    /* queries: a pattern plus noise of norm ~0.3, well inside its basin */
    float *Q = tu_floats((size_t)B * d);
    tu_rng_t r;
    tu_rng_seed(&r, 11);
    tu_fill(Q, (size_t)B * d, &r, -0.1, 0.1);
    for (int32_t k = 0; k < B; k++)
        for (int32_t i = 0; i < d; i++)
            Q[(size_t)k * d + i] += X[(size_t)(k % n) * d + i];
    ham_model_t *m;
    TU_OK(ham_mhn_new(&m, X, n, d, beta));
    float *ref = tu_floats((size_t)B * d), *got = tu_floats((size_t)B * d);
    float *full = tu_floats((size_t)B * (n + d));
    for (int op = HAM_OPERATOR_SYNC; op <= HAM_OPERATOR_EVEN_ODD; op++)
        for (size_t k = 0; k < 4; k++) {
            ham_solver_t *sv;
            TU_OK(ham_solver_new(&sv, m, op, kinds[k]));
            TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
            TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6));
            TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 500));
            if (op == HAM_OPERATOR_EVEN_ODD) {
                memcpy(got, Q, (size_t)B * d * sizeof(float));
                TU_OK(ham_solver_solve(sv, got, B, NULL));
            } else {
                TU_OK(ham_model_eo_to_full(full, m, B, NULL, Q));
                TU_OK(ham_solver_solve(sv, full, B, NULL));
                for (int32_t s = 0; s < B; s++)
                    memcpy(got + (size_t)s * d, full + (size_t)s * (n + d) + n,
                           (size_t)d * sizeof(float));
            }
            ham_solve_stats_t st;
            tu_stats(&st, sv);
            ck_assert_msg(st.converged == B, "%s/%s: %d of %d converged",
                          ham_operator_name(op), ham_solver_kind_name(kinds[k]),
                          (int)st.converged, (int)B);
            if (op == HAM_OPERATOR_SYNC && k == 0)
                memcpy(ref, got, (size_t)B * d * sizeof(float));
            for (int32_t s = 0; s < B; s++) {
                double err = tu_rel_diff(ref + (size_t)s * d, got + (size_t)s * d, (size_t)d);
                ck_assert_msg(err < 1e-4, "%s/%s sample %d: %g from the Picard fixed point",
                              ham_operator_name(op), ham_solver_kind_name(kinds[k]), (int)s, err);
                /* and it is the minimum next to the query's pattern */
                const float *x = X + (size_t)(s % n) * d;
                ck_assert(tu_dot(x, got + (size_t)s * d, (size_t)d) > 0.9);
            }
            ham_solver_free(sv);
        }

    /* the phase analysis with each solver in the coexistence region: the 5 pattern minima
     * and the mean. Newton converges to saddles as readily as to minima (they are
     * filtered out), so from the same starts it may miss some minima, but every minimum
     * it reports is one of the others'. */
    float *S = ball_starts(150, d, 12);
    float ref_min[8 * 8], min[8 * 8];
    ham_mhn_minima_t res;
    minima_at(&res, ref_min, 8, NULL, X, n, d, 3.5, HAM_SOLVER_PICARD, HAM_OPERATOR_EVEN_ODD, S,
              150);
    ck_assert_int_eq(res.minima, 6);
    for (int op = HAM_OPERATOR_SYNC; op <= HAM_OPERATOR_EVEN_ODD; op++)
        for (size_t k = 0; k < 4; k++) {
            minima_at(&res, min, 8, NULL, X, n, d, 3.5, kinds[k], op, S, 150);
            const char *name = ham_solver_kind_name(kinds[k]);
            ck_assert_msg(res.mean_attractor >= 0, "%s/%s: no mean attractor",
                          ham_operator_name(op), name);
            if (kinds[k] == HAM_SOLVER_NEWTON)
                ck_assert_msg(res.minima >= 3 && res.minima <= 6, "%s/newton: %d minima",
                              ham_operator_name(op), (int)res.minima);
            else
                ck_assert_msg(res.minima == 6, "%s/%s: %d minima", ham_operator_name(op), name,
                              (int)res.minima);
            for (int32_t j = 0; j < res.minima && j < 8; j++) {
                double best = INFINITY;
                for (int32_t i = 0; i < 6; i++) {
                    float diff[8];
                    for (int32_t t = 0; t < d; t++)
                        diff[t] = min[j * d + t] - ref_min[i * d + t];
                    best = fmin(best, tu_norm(diff, (size_t)d));
                }
                ck_assert_msg(best < 1e-2, "%s/%s: minimum %d is %g from every Picard minimum",
                              ham_operator_name(op), name, (int)j, best);
            }
        }
    ham_model_free(m);
    free(X);
    free(Q);
    free(ref);
    free(got);
    free(full);
    free(S);
}
END_TEST

/* ------------------------------------------------------------------ bad input */

START_TEST(test_bad_input)
{
    float X[6] = {1, 0, 0, 1, -1, -1};
    ham_model_t *m = (ham_model_t *)X; /* must be set to NULL on failure */
    static const double bad_beta[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t k = 0; k < sizeof bad_beta / sizeof bad_beta[0]; k++) {
        m = (ham_model_t *)X;
        TU_RC(HAM_ERR_INVALID, ham_mhn_new(&m, X, 3, 2, bad_beta[k]));
        ck_assert_ptr_null(m);
    }
    TU_RC(HAM_ERR_INVALID, ham_mhn_new(&m, X, 0, 2, 1.0)); /* empty pattern set */
    TU_RC(HAM_ERR_INVALID, ham_mhn_new(&m, X, 3, 0, 1.0));
    TU_RC(HAM_ERR_INVALID, ham_mhn_new(&m, X, -2, 2, 1.0));
    TU_RC(HAM_ERR_INVALID, ham_mhn_new(&m, X, 65536, 65536, 1.0));
    TU_RC(HAM_ERR_NULL, ham_mhn_new(&m, NULL, 3, 2, 1.0));
    TU_RC(HAM_ERR_NULL, ham_mhn_new(NULL, X, 3, 2, 1.0));
    X[3] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_mhn_new(&m, X, 3, 2, 1.0));
    ck_assert_ptr_null(m);
    X[3] = INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_mhn_new(&m, X, 3, 2, 1.0));
    X[3] = 1;

    double bs;
    TU_RC(HAM_ERR_NULL, ham_mhn_beta_s(NULL, X, 3, 2));
    TU_RC(HAM_ERR_NULL, ham_mhn_beta_s(&bs, NULL, 3, 2));
    TU_RC(HAM_ERR_INVALID, ham_mhn_beta_s(&bs, X, 0, 2));
    TU_RC(HAM_ERR_INVALID, ham_mhn_beta_s(&bs, X, 3, 0));
    X[0] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_mhn_beta_s(&bs, X, 3, 2));
    X[0] = 1;

    /* per-state functions: not an MHN, bad batch, non-finite states */
    TU_OK(ham_mhn_new(&m, X, 3, 2, 1.0));
    double E[2];
    float v[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    TU_RC(HAM_ERR_NULL, ham_mhn_energy(NULL, m, 1, v));
    TU_RC(HAM_ERR_NULL, ham_mhn_energy(E, NULL, 1, v));
    TU_RC(HAM_ERR_NULL, ham_mhn_energy(E, m, 1, NULL));
    TU_RC(HAM_ERR_INVALID, ham_mhn_energy(E, m, 0, v));
    TU_RC(HAM_ERR_INVALID, ham_mhn_hessian_min(E, m, -1, v));
    v[1] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_mhn_energy(E, m, 1, v));
    TU_RC(HAM_ERR_NONFINITE, ham_mhn_hessian_min(E, m, 1, v));
    v[1] = 0.2f;
    const int32_t sizes[2] = {3, 2};
    ham_model_t *other;
    TU_OK(ham_model_new(&other, 2, sizes, HAM_MODEL_FREE_INPUT));
    TU_RC(HAM_ERR_UNSUPPORTED, ham_mhn_energy(E, other, 1, v));
    TU_RC(HAM_ERR_UNSUPPORTED, ham_mhn_hessian_min(E, other, 1, v));

    /* find_minima */
    ham_solver_t *sv, *sv_other;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    TU_OK(ham_solver_new(&sv_other, other, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    ham_mhn_minima_t res = {0};
    float mins[4];
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, v, 2, 0.01));
    res.size = sizeof res;
    TU_RC(HAM_ERR_NULL, ham_mhn_find_minima(NULL, NULL, 0, NULL, sv, v, 2, 0.01));
    TU_RC(HAM_ERR_NULL, ham_mhn_find_minima(&res, NULL, 0, NULL, NULL, v, 2, 0.01));
    TU_RC(HAM_ERR_NULL, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, NULL, 2, 0.01));
    TU_RC(HAM_ERR_INVALID, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, v, 0, 0.01));
    TU_RC(HAM_ERR_INVALID, ham_mhn_find_minima(&res, NULL, 2, NULL, sv, v, 2, 0.01));
    TU_RC(HAM_ERR_INVALID, ham_mhn_find_minima(&res, mins, -1, NULL, sv, v, 2, 0.01));
    TU_RC(HAM_ERR_INVALID, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, v, 2, 0.0));
    TU_RC(HAM_ERR_INVALID, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, v, 2, NAN));
    TU_RC(HAM_ERR_INVALID, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, v, 2, 2.0));
    TU_RC(HAM_ERR_UNSUPPORTED, ham_mhn_find_minima(&res, NULL, 0, NULL, sv_other, v, 2, 0.01));
    /* a user backend cannot be copied into find_minima's own solver */
    ham_solver_def_t def = {.size = sizeof def, .name = "picard-copy", .init = picard_init,
                            .fini = picard_fini, .step = picard_step};
    ham_solver_t *sv_custom;
    TU_OK(ham_solver_new_custom(&sv_custom, m, HAM_OPERATOR_EVEN_ODD, &def));
    TU_RC(HAM_ERR_UNSUPPORTED, ham_mhn_find_minima(&res, NULL, 0, NULL, sv_custom, v, 2, 0.01));
    ham_solver_free(sv_custom);
    v[3] = INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_mhn_find_minima(&res, NULL, 0, NULL, sv, v, 2, 0.01));
    v[3] = 0.4f;
    TU_OK(ham_mhn_find_minima(&res, mins, 2, NULL, sv, v, 2, 0.01));
    ck_assert_int_eq(res.starts, 2);
    ham_solver_free(sv_other);
    ham_solver_free(sv);
    ham_model_free(other);
    ham_model_free(m);
}
END_TEST

/* A struct from newer headers (larger size) is filled as far as the library knows; the
 * rest is left alone and size says how far it was filled. */
START_TEST(test_minima_struct_size)
{
    float *X = simplex(3, 2, 1.0);
    float v[2] = {0.5f, 0.1f};
    struct {
        ham_mhn_minima_t base;
        int32_t extra[4];
    } big;
    memset(&big, 0x5a, sizeof big);
    big.base.size = sizeof big;
    ham_model_t *m;
    ham_solver_t *sv;
    TU_OK(ham_mhn_new(&m, X, 3, 2, 10.0));
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_mhn_find_minima(&big.base, NULL, 0, NULL, sv, v, 1, 0.01));
    ck_assert_uint_eq(big.base.size, sizeof big.base);
    ck_assert_int_eq(big.base.starts, 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(big.extra[i], 0x5a5a5a5a);
    ham_solver_free(sv);
    ham_model_free(m);
    free(X);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mhn");
    TCase *tc = tu_tcase("model");
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_update_identity);
    tcase_add_test(tc, test_energy);
    tcase_add_test(tc, test_energy_descends_along_picard);
    suite_add_tcase(s, tc);
    tc = tu_tcase("beta_s");
    tcase_add_test(tc, test_beta_s_simplex);
    tcase_add_test(tc, test_beta_s_direct);
    tcase_add_test(tc, test_beta_s_degenerate);
    tcase_add_test(tc, test_hessian_at_mean);
    suite_add_tcase(s, tc);
    tc = tu_tcase("phase");
    tcase_add_test(tc, test_sweep_5_patterns);
    tcase_add_test(tc, test_solvers_agree);
    tcase_add_test(tc, test_atol_at_origin);
    tcase_add_test(tc, test_minima_solver_test);
    suite_add_tcase(s, tc);
    tc = tu_tcase("errors");
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_minima_struct_size);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
