/* The HAM energy (docs/math.md sections 1-2) through the public API: the formula, its
 * gradient H (s - F(s)), monotone decrease along Picard on G (every half-step) and along
 * forward Euler on F, and stationarity at the fixed point. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ------------------------------------------------------- closed forms, in double */

static double softplus(double z)
{
    return fmax(z, 0.0) + log1p(exp(-fabs(z)));
}

static double sigma(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

typedef struct layer_lag {
    int32_t kind;
    double beta;
} layer_lag_t;

static layer_lag_t lag_of(const ham_model_t *m, int32_t l)
{
    layer_lag_t k;
    TU_OK(ham_model_get_lagrangian(&k.kind, &k.beta, m, l));
    return k;
}

/* L(s), g(s) and H(s) v of one row, in double. */
static double ref_lag(layer_lag_t k, const float *s, double *g, const double *v, double *hv,
                      int n)
{
    double L = 0.0;
    if (k.kind == HAM_LAGRANGIAN_SOFTMAX) {
        double mx = -INFINITY, sum = 0.0, gv = 0.0;
        for (int i = 0; i < n; i++)
            mx = fmax(mx, k.beta * s[i]);
        for (int i = 0; i < n; i++)
            sum += (g[i] = exp(k.beta * s[i] - mx));
        for (int i = 0; i < n; i++)
            g[i] /= sum;
        if (v) {
            for (int i = 0; i < n; i++)
                gv += g[i] * v[i];
            for (int i = 0; i < n; i++)
                hv[i] = k.beta * g[i] * (v[i] - gv);
        }
        return (mx + log(sum)) / k.beta;
    }
    for (int i = 0; i < n; i++) {
        double x = s[i], h;
        switch (k.kind) {
        case HAM_LAGRANGIAN_SHIFTED_SIGMOID:
            L += 0.25 * softplus(4.0 * (x - 0.5));
            g[i] = sigma(4.0 * (x - 0.5));
            h = 4.0 * g[i] * (1.0 - g[i]);
            break;
        case HAM_LAGRANGIAN_SIGMOID:
            L += softplus(x);
            g[i] = sigma(x);
            h = g[i] * (1.0 - g[i]);
            break;
        case HAM_LAGRANGIAN_TANH:
            L += log(cosh(x));
            g[i] = tanh(x);
            h = 1.0 - g[i] * g[i];
            break;
        case HAM_LAGRANGIAN_IDENTITY:
            L += 0.5 * x * x;
            g[i] = x;
            h = 1.0;
            break;
        default:
            ck_abort_msg("test does not know Lagrangian kind %d", (int)k.kind);
            return 0;
        }
        if (v)
            hv[i] = h * v[i];
    }
    return L;
}

/* E(s; x) of one sample straight from docs/math.md section 1, in double. */
static double ref_energy(const ham_model_t *m, const float *x, const float *full)
{
    int32_t L = ham_model_n_layers(m), clamped = ham_model_has_clamped_input(m);
    double *g[TU_MAX_LAYERS] = {0};
    double E = 0.0;
    for (int32_t l = 0; l < L; l++) {
        int32_t n = ham_model_layer_size(m, l);
        g[l] = tu_doubles((size_t)n);
        if (clamped && l == 0) {
            ref_lag(lag_of(m, 0), x, g[0], NULL, NULL, n);
            continue;
        }
        int32_t off;
        TU_OK(ham_model_state_offset(&off, m, HAM_OPERATOR_SYNC, l));
        const float *s = full + off;
        double Ll = ref_lag(lag_of(m, l), s, g[l], NULL, NULL, n);
        float *b = tu_floats((size_t)n);
        TU_OK(ham_model_get_bias(b, m, l, (size_t)n));
        E -= Ll;
        for (int i = 0; i < n; i++)
            E += (s[i] - b[i]) * g[l][i];
        free(b);
    }
    for (int32_t l = 0; l + 1 < L; l++) {
        int32_t n = ham_model_layer_size(m, l), k = ham_model_layer_size(m, l + 1);
        float *W = tu_floats((size_t)n * k);
        TU_OK(ham_model_get_weights(W, m, l, (size_t)n * k));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++)
                E -= g[l][i] * W[(size_t)i * k + j] * g[l + 1][j];
        free(W);
    }
    for (int32_t l = 0; l < L; l++)
        free(g[l]);
    return E;
}

START_TEST(test_energy_formula)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_SYNC);
    float *full = tu_floats((size_t)B * d);
    tu_rng_t r;
    tu_rng_seed(&r, 1100 + (uint64_t)_i);
    tu_fill(full, (size_t)B * d, &r, -2.0, 2.0);
    double *E = tu_doubles((size_t)B);
    TU_OK(ham_model_energy(E, m, B, x, full));
    for (int32_t k = 0; k < B; k++) {
        double want = ref_energy(m, x ? x + (size_t)k * p->sizes[0] : NULL, full + (size_t)k * d);
        ck_assert_msg(fabs(E[k] - want) <= 1e-5 * (1.0 + fabs(want)),
                      "%s sample %d: energy %.9g, formula %.9g", p->name, (int)k, E[k], want);
    }
    free(E);
    free(full);
    free(x);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- gradient of the energy */

typedef struct energy_ctx {
    const ham_model_t *m;
    const float *x; /* one row */
} energy_ctx_t;

static double energy_fn(const float *full, void *ctx)
{
    energy_ctx_t *c = ctx;
    double E;
    TU_OK(ham_model_energy(&E, c->m, 1, c->x, full));
    return E;
}

/* dE/ds_l = H_l(s_l) (s_l - F_l(s)) of one sample, in double. */
static void ref_gradient(double *grad, const ham_model_t *m, const float *x, const float *full)
{
    int32_t d = tu_dim(m, HAM_OPERATOR_SYNC);
    float *F = tu_floats((size_t)d);
    TU_OK(ham_model_apply(F, m, HAM_OPERATOR_SYNC, 1, x, full));
    for (int32_t l = 0; l < ham_model_n_layers(m); l++) {
        int32_t off, n = ham_model_layer_size(m, l);
        if (ham_model_state_offset(&off, m, HAM_OPERATOR_SYNC, l) != HAM_OK)
            continue;
        double *g = tu_doubles((size_t)n), *v = tu_doubles((size_t)n);
        for (int i = 0; i < n; i++)
            v[i] = (double)full[off + i] - (double)F[off + i];
        ref_lag(lag_of(m, l), full + off, g, v, grad + off, n);
        free(g);
        free(v);
    }
    free(F);
}

/* The energy's gradient is H (s - F(s)): the flow and the fixed point belong to E. */
START_TEST(test_energy_gradient)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t d = tu_dim(m, HAM_OPERATOR_SYNC);
    float *full = tu_floats((size_t)d);
    tu_rng_t r;
    tu_rng_seed(&r, 1200 + (uint64_t)_i);
    tu_fill(full, (size_t)d, &r, -1.5, 1.5);
    double *fd = tu_doubles((size_t)d), *want = tu_doubles((size_t)d);
    energy_ctx_t c = {m, x};
    tu_fd_gradient(fd, full, (size_t)d, 1e-3, energy_fn, &c);
    ref_gradient(want, m, x, full);
    double err = 0.0;
    for (int32_t i = 0; i < d; i++)
        err += (fd[i] - want[i]) * (fd[i] - want[i]);
    err = sqrt(err);
    double ref = tu_norm_d(want, (size_t)d);
    ck_assert_msg(ref > 1e-2, "%s: degenerate state", p->name);
    ck_assert_msg(err <= 1e-3 * ref, "%s: |FD grad E - H (s - F)| = %g, |H (s - F)| = %g",
                  p->name, err, ref);
    free(fd);
    free(want);
    free(full);
    free(x);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- monotone descent */

static int non_increasing(double prev, double next)
{
    return next <= prev + 1e-9 * fabs(prev) + 1e-9;
}

/* Copies the layers of the state class (as laid out in a full state) from src to dst. */
static void copy_state_class(float *dst, const float *src, const ham_model_t *m, int32_t B)
{
    int32_t df = tu_dim(m, HAM_OPERATOR_SYNC);
    for (int32_t l = 0; l < ham_model_n_layers(m); l++) {
        int32_t oe, of;
        if (ham_model_state_offset(&oe, m, HAM_OPERATOR_EVEN_ODD, l) != HAM_OK)
            continue;
        TU_OK(ham_model_state_offset(&of, m, HAM_OPERATOR_SYNC, l));
        for (int32_t r = 0; r < B; r++)
            memcpy(dst + (size_t)r * df + of, src + (size_t)r * df + of,
                   (size_t)ham_model_layer_size(m, l) * sizeof(float));
    }
}

/* Picard on G is block-coordinate descent: from a random full state, set the inner class
 * to F_I (eo_to_full), then the state class to F_S (the state part of F), and so on. */
START_TEST(test_picard_G_half_steps_descend)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, df = tu_dim(m, HAM_OPERATOR_SYNC), de = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *full = tu_floats((size_t)B * df), *F = tu_floats((size_t)B * df);
    float *eo = tu_floats((size_t)B * de);
    double *E = tu_doubles((size_t)B), *En = tu_doubles((size_t)B);
    tu_rng_t r;
    tu_rng_seed(&r, 1300 + (uint64_t)_i);
    tu_fill(full, (size_t)B * df, &r, -2.0, 2.0);
    TU_OK(ham_model_energy(E, m, B, x, full));
    double first = E[0];
    for (int half = 0; half < 60; half++) {
        if (half % 2 == 0) { /* inner class <- F_I(state class) */
            TU_OK(ham_model_full_to_eo(eo, m, B, full));
            TU_OK(ham_model_eo_to_full(full, m, B, x, eo));
        } else { /* state class <- F_S(inner class) */
            TU_OK(ham_model_apply(F, m, HAM_OPERATOR_SYNC, B, x, full));
            copy_state_class(full, F, m, B);
        }
        TU_OK(ham_model_energy(En, m, B, x, full));
        for (int32_t k = 0; k < B; k++) {
            ck_assert_msg(non_increasing(E[k], En[k]),
                          "%s sample %d: energy rose at half-step %d: %.12g -> %.12g", p->name,
                          (int)k, half, E[k], En[k]);
            E[k] = En[k];
        }
    }
    ck_assert_msg(E[0] < first - 1e-3 * fabs(first), "%s: energy did not go down (%g -> %g)",
                  p->name, first, E[0]);
    free(full);
    free(F);
    free(eo);
    free(E);
    free(En);
    free(x);
    ham_model_free(m);
}
END_TEST

/* Forward Euler s <- s + dt (F(s) - s) with a small dt follows the gradient flow. */
START_TEST(test_euler_F_descends)
{
    const tu_problem_t *p = &tu_problems[_i];
    const double dt = 0.05;
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_SYNC);
    size_t n = (size_t)B * d;
    float *s = tu_floats(n), *F = tu_floats(n);
    double *E = tu_doubles((size_t)B), *En = tu_doubles((size_t)B);
    tu_rng_t r;
    tu_rng_seed(&r, 1400 + (uint64_t)_i);
    tu_fill(s, n, &r, -2.0, 2.0);
    TU_OK(ham_model_energy(E, m, B, x, s));
    double first = E[0];
    for (int step = 0; step < 40; step++) {
        TU_OK(ham_model_apply(F, m, HAM_OPERATOR_SYNC, B, x, s));
        for (size_t i = 0; i < n; i++)
            s[i] = (float)(s[i] + dt * ((double)F[i] - s[i]));
        TU_OK(ham_model_energy(En, m, B, x, s));
        for (int32_t k = 0; k < B; k++) {
            ck_assert_msg(non_increasing(E[k], En[k]),
                          "%s sample %d: energy rose at Euler step %d: %.12g -> %.12g", p->name,
                          (int)k, step, E[k], En[k]);
            E[k] = En[k];
        }
    }
    ck_assert_msg(E[0] < first - 1e-3 * fabs(first), "%s: energy did not go down", p->name);
    free(s);
    free(F);
    free(E);
    free(En);
    free(x);
    ham_model_free(m);
}
END_TEST

/* At the fixed point of G (as a full state) the energy is stationary. */
START_TEST(test_fixed_point_is_stationary)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, df = tu_dim(m, HAM_OPERATOR_SYNC), de = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *eo = tu_floats((size_t)B * de), *full = tu_floats((size_t)B * df);
    ham_solve_stats_t st;
    TU_OK(tu_solve(eo, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, B, x, 1e-6, 2000, &st));
    ck_assert_int_eq(st.converged, B);
    TU_OK(ham_model_eo_to_full(full, m, B, x, eo));

    float *rnd = tu_floats((size_t)df);
    double *gfix = tu_doubles((size_t)df), *grnd = tu_doubles((size_t)df);
    tu_rng_t r;
    tu_rng_seed(&r, 1500 + (uint64_t)_i);
    for (int32_t k = 0; k < B; k++) {
        energy_ctx_t c = {m, x ? x + (size_t)k * p->sizes[0] : NULL};
        tu_fill(rnd, (size_t)df, &r, -1.5, 1.5);
        tu_fd_gradient(grnd, rnd, (size_t)df, 1e-3, energy_fn, &c);
        tu_fd_gradient(gfix, full + (size_t)k * df, (size_t)df, 1e-3, energy_fn, &c);
        double a = tu_norm_d(gfix, (size_t)df), b = tu_norm_d(grnd, (size_t)df);
        ck_assert_msg(a <= 1e-3 * b, "%s sample %d: |grad E| = %g at the fixed point, %g at a random state",
                      p->name, (int)k, a, b);
    }
    free(rnd);
    free(gfix);
    free(grnd);
    free(eo);
    free(full);
    free(x);
    ham_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("energy");
    TCase *tc = tu_tcase("formula");
    tcase_add_loop_test(tc, test_energy_formula, 0, tu_n_problems);
    tcase_add_loop_test(tc, test_energy_gradient, 0, tu_n_problems);
    suite_add_tcase(s, tc);
    tc = tu_tcase("descent");
    tcase_add_loop_test(tc, test_picard_G_half_steps_descend, 0, tu_n_problems);
    tcase_add_loop_test(tc, test_euler_F_descends, 0, tu_n_problems);
    tcase_add_loop_test(tc, test_fixed_point_is_stationary, 0, tu_n_problems);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
