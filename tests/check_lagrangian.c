/* Lagrangians: every built-in kind and a user-defined one. The activation is the
 * gradient of the value, the Hessian-vector product is the derivative of the activation,
 * and both agree with the closed forms of docs/math.md section 3. Tested on the ops the
 * model actually holds (internal), and through the public API (apply, jvp, energy). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fastmath.h"
#include "core/core_private.h"
#include "test_util.h"

#define N 7    /* units per row */
#define ROWS 3 /* rows per call */

typedef struct lag_case {
    int32_t kind;
    double beta;
} lag_case_t;

static const lag_case_t cases[] = {
    {HAM_LAGRANGIAN_SHIFTED_SIGMOID, 0}, {HAM_LAGRANGIAN_SIGMOID, 0},
    {HAM_LAGRANGIAN_TANH, 0},            {HAM_LAGRANGIAN_IDENTITY, 0},
    {HAM_LAGRANGIAN_SOFTMAX, 0.5},       {HAM_LAGRANGIAN_SOFTMAX, 3.0},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* ------------------------------------------------------- closed forms (double) */

static double softplus(double z)
{
    return fmax(z, 0.0) + log1p(exp(-fabs(z)));
}

static double sigma(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static double ref_value(const lag_case_t *c, const float *s, int n)
{
    double acc = 0.0;
    switch (c->kind) {
    case HAM_LAGRANGIAN_SHIFTED_SIGMOID:
        for (int i = 0; i < n; i++)
            acc += 0.25 * softplus(4.0 * (s[i] - 0.5));
        return acc;
    case HAM_LAGRANGIAN_SIGMOID:
        for (int i = 0; i < n; i++)
            acc += softplus(s[i]);
        return acc;
    case HAM_LAGRANGIAN_TANH:
        for (int i = 0; i < n; i++)
            acc += log(cosh((double)s[i]));
        return acc;
    case HAM_LAGRANGIAN_IDENTITY:
        for (int i = 0; i < n; i++)
            acc += 0.5 * (double)s[i] * s[i];
        return acc;
    default: { /* softmax */
        double mx = -INFINITY;
        for (int i = 0; i < n; i++)
            mx = fmax(mx, c->beta * s[i]);
        for (int i = 0; i < n; i++)
            acc += exp(c->beta * s[i] - mx);
        return (mx + log(acc)) / c->beta;
    }
    }
}

static void ref_activation(const lag_case_t *c, double *g, const float *s, int n)
{
    switch (c->kind) {
    case HAM_LAGRANGIAN_SHIFTED_SIGMOID:
        for (int i = 0; i < n; i++)
            g[i] = sigma(4.0 * (s[i] - 0.5));
        return;
    case HAM_LAGRANGIAN_SIGMOID:
        for (int i = 0; i < n; i++)
            g[i] = sigma(s[i]);
        return;
    case HAM_LAGRANGIAN_TANH:
        for (int i = 0; i < n; i++)
            g[i] = tanh(s[i]);
        return;
    case HAM_LAGRANGIAN_IDENTITY:
        for (int i = 0; i < n; i++)
            g[i] = s[i];
        return;
    default: {
        double mx = -INFINITY, sum = 0.0;
        for (int i = 0; i < n; i++)
            mx = fmax(mx, c->beta * s[i]);
        for (int i = 0; i < n; i++)
            sum += (g[i] = exp(c->beta * s[i] - mx));
        for (int i = 0; i < n; i++)
            g[i] /= sum;
    }
    }
}

/* |a - b| <= rtol * max(|a|, |b|) + atol, elementwise; reports the first failure. */
static void assert_close(const double *ref, const float *got, int n, double rtol, double atol,
                         const char *what, const char *name)
{
    for (int i = 0; i < n; i++) {
        double a = ref[i], b = got[i];
        ck_assert_msg(fabs(a - b) <= rtol * fmax(fabs(a), fabs(b)) + atol,
                      "%s of %s, unit %d: expected %.9g, got %.9g", what, name, i, a, b);
    }
}

/* A model whose layer 1 holds the Lagrangian under test (2 free layers of N units). */
static ham_model_t *model_with(const lag_case_t *c)
{
    ham_model_t *m = NULL;
    int32_t sizes[2] = {N, N};
    TU_OK(ham_model_new(&m, 2, sizes, HAM_MODEL_FREE_INPUT));
    TU_OK(ham_model_set_lagrangian(m, 1, c->kind, c->beta));
    int32_t kind = -1;
    double beta = -1;
    TU_OK(ham_model_get_lagrangian(&kind, &beta, m, 1));
    ck_assert_int_eq(kind, c->kind);
    ck_assert(beta == (c->kind == HAM_LAGRANGIAN_SOFTMAX ? c->beta : 0.0));
    return m;
}

typedef struct value_ctx {
    const hamp_lagrangian_t *lag;
} value_ctx_t;

static double value_fn(const float *s, void *ctx)
{
    const hamp_lagrangian_t *lag = ((value_ctx_t *)ctx)->lag;
    return lag->ops->value(lag, s, N);
}

static void activation_fn(float *g, const float *s, void *ctx)
{
    const hamp_lagrangian_t *lag = ((value_ctx_t *)ctx)->lag;
    lag->ops->activation(lag, g, s, 1, N);
}

/* The FD checks on one Lagrangian (the ops of layer 1 of m), for ROWS random rows. */
static void check_ops(const hamp_lagrangian_t *lag, const char *name, uint64_t seed)
{
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    float s[ROWS * N], g[ROWS * N], v[ROWS * N], hv[ROWS * N];
    tu_fill(s, ROWS * N, &r, -2.0, 2.0);
    tu_fill(v, ROWS * N, &r, -1.0, 1.0);
    lag->ops->activation(lag, g, s, ROWS, N);
    lag->ops->hvp(lag, hv, s, g, v, ROWS, 1, N);
    value_ctx_t ctx = {lag};

    for (int row = 0; row < ROWS; row++) {
        float *sr = s + row * N, *gr = g + row * N, *vr = v + row * N, *hr = hv + row * N;
        /* activation = gradient of the value */
        double fd[N];
        tu_fd_gradient(fd, sr, N, 1e-3, value_fn, &ctx);
        assert_close(fd, gr, N, 1e-3, 1e-5, "activation vs FD gradient of value", name);

        /* Hessian-vector product = derivative of the activation along v */
        tu_fd_directional(fd, N, sr, vr, N, 1e-3, activation_fn, &ctx);
        assert_close(fd, hr, N, 1e-3, 2e-4, "hvp vs FD of activation", name);

        /* symmetric and positive semi-definite */
        float u[N], hu[N];
        tu_fill(u, N, &r, -1.0, 1.0);
        lag->ops->hvp(lag, hu, sr, gr, u, 1, 1, N);
        double uhv = tu_dot(u, hr, N), vhu = tu_dot(vr, hu, N);
        ck_assert_msg(fabs(uhv - vhu) <= 1e-5 * (fabs(uhv) + fabs(vhu)) + 1e-6,
                      "%s: Hessian not symmetric: %g vs %g", name, uhv, vhu);
        ck_assert_msg(tu_dot(vr, hr, N) >= -1e-6, "%s: Hessian not PSD", name);
    }

    /* mult tangents per state row: tangent row t of state row r uses row r */
    enum { MULT = 2 };
    float vm[ROWS * MULT * N], outm[ROWS * MULT * N];
    tu_fill(vm, ROWS * MULT * N, &r, -1.0, 1.0);
    lag->ops->hvp(lag, outm, s, g, vm, ROWS, MULT, N);
    for (int row = 0; row < ROWS; row++)
        for (int t = 0; t < MULT; t++) {
            float one[N];
            const float *vt = vm + (row * MULT + t) * N;
            lag->ops->hvp(lag, one, s + row * N, g + row * N, vt, 1, 1, N);
            ck_assert_msg(memcmp(one, outm + (row * MULT + t) * N, sizeof one) == 0,
                          "%s: hvp with mult=%d differs from one tangent at a time (row %d, "
                          "tangent %d)",
                          name, MULT, row, t);
        }
}

START_TEST(test_builtin_derivatives)
{
    const lag_case_t *c = &cases[_i];
    ham_model_t *m = model_with(c);
    const hamp_lagrangian_t *lag = &m->lag[1];
    const char *name = ham_lagrangian_name(c->kind);
    ck_assert_str_eq(lag->ops->name, name);
    check_ops(lag, name, 100 + (uint64_t)_i);
    ham_model_free(m);
}
END_TEST

START_TEST(test_builtin_closed_form)
{
    const lag_case_t *c = &cases[_i];
    ham_model_t *m = model_with(c);
    const hamp_lagrangian_t *lag = &m->lag[1];
    const char *name = ham_lagrangian_name(c->kind);
    tu_rng_t r;
    tu_rng_seed(&r, 200 + (uint64_t)_i);
    float s[ROWS * N], g[ROWS * N];
    tu_fill(s, ROWS * N, &r, -3.0, 3.0);
    s[0] = 0.5f; /* the shifted sigmoid's centre */
    lag->ops->activation(lag, g, s, ROWS, N);
    for (int row = 0; row < ROWS; row++) {
        double ref[N];
        ref_activation(c, ref, s + row * N, N);
        assert_close(ref, g + row * N, N, 1e-5, 1e-7, "activation vs closed form", name);
        double v = lag->ops->value(lag, s + row * N, N), rv = ref_value(c, s + row * N, N);
        ck_assert_msg(fabs(v - rv) <= 1e-9 * fmax(1.0, fabs(rv)),
                      "%s: value %.12g, closed form %.12g", name, v, rv);
    }
    /* large arguments must not overflow */
    float big[N] = {80.f, -80.f, 300.f, -300.f, 40.f, 0.f, 1.f};
    double vb = lag->ops->value(lag, big, N);
    lag->ops->activation(lag, g, big, 1, N);
    ck_assert_msg(isfinite(vb), "%s: value not finite at large arguments", name);
    for (int i = 0; i < N; i++)
        ck_assert_msg(isfinite(g[i]), "%s: activation not finite at %g", name, big[i]);
    ham_model_free(m);
}
END_TEST

/* Through the public API: a 2-layer free model with W_0 = I and zero biases has
 * F_0(s) = g_1(s_1), (J v)_0 = H_1(s_1) v_1, and with an identity layer 0 at s_0 = 0,
 * E = s_1 . g_1 - L_1(s_1). */
static void check_public(ham_model_t *m, const lag_case_t *ref, const char *name, uint64_t seed)
{
    TU_OK(ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_IDENTITY, 0));
    float eye[N * N] = {0};
    for (int i = 0; i < N; i++)
        eye[i * N + i] = 1.0f;
    TU_OK(ham_model_set_weights(m, 0, eye, N * N));
    ck_assert_int_eq(tu_dim(m, HAM_OPERATOR_SYNC), 2 * N);

    tu_rng_t r;
    tu_rng_seed(&r, seed);
    float s[2 * N] = {0}, v[2 * N] = {0}, out[2 * N], jv[2 * N];
    tu_fill(s + N, N, &r, -2.0, 2.0);
    tu_fill(v + N, N, &r, -1.0, 1.0);
    TU_OK(ham_model_apply(out, m, HAM_OPERATOR_SYNC, 1, NULL, s));
    TU_OK(ham_model_jvp(jv, m, HAM_OPERATOR_SYNC, 1, NULL, s, v));

    const hamp_lagrangian_t *lag = &m->lag[1];
    float g[N], hv[N];
    lag->ops->activation(lag, g, s + N, 1, N);
    lag->ops->hvp(lag, hv, s + N, g, v + N, 1, 1, N);
    ck_assert_msg(memcmp(out, g, sizeof g) == 0, "%s: F_0 != g_1 through ham_model_apply",
                  name);
    double d[N];
    for (int i = 0; i < N; i++)
        d[i] = hv[i];
    assert_close(d, jv, N, 1e-5, 1e-6, "ham_model_jvp vs hvp", name);
    /* F_1 = W_0^T g_0 = s_0 = 0 */
    for (int i = 0; i < N; i++)
        ck_assert_msg(out[N + i] == 0.0f && jv[N + i] == 0.0f, "%s: F_1 not zero", name);

    double E;
    TU_OK(ham_model_energy(&E, m, 1, NULL, s));
    double L = tu_dot(s + N, g, N) - E;
    double want = ref ? ref_value(ref, s + N, N) : lag->ops->value(lag, s + N, N);
    ck_assert_msg(fabs(L - want) <= 1e-6 * fmax(1.0, fabs(want)),
                  "%s: Lagrangian through ham_model_energy %.9g, expected %.9g", name, L, want);
}

START_TEST(test_builtin_public_api)
{
    const lag_case_t *c = &cases[_i];
    ham_model_t *m = model_with(c);
    check_public(m, c, ham_lagrangian_name(c->kind), 300 + (uint64_t)_i);
    ham_model_free(m);
}
END_TEST

START_TEST(test_names)
{
    for (int i = 0; i < N_CASES; i++) {
        const char *name = ham_lagrangian_name(cases[i].kind);
        ck_assert_ptr_nonnull(name);
        int32_t k = -1;
        TU_OK(ham_lagrangian_from_name(&k, name));
        ck_assert_int_eq(k, cases[i].kind);
    }
    ck_assert_str_eq(ham_lagrangian_name(HAM_LAGRANGIAN_SHIFTED_SIGMOID), "shifted-sigmoid");
    ck_assert_str_eq(ham_lagrangian_name(HAM_LAGRANGIAN_CUSTOM), "custom");
    ck_assert_ptr_null(ham_lagrangian_name(5));
    ck_assert_ptr_null(ham_lagrangian_name(-1));
    int32_t k = 42;
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_lagrangian_from_name(&k, "custom"));
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_lagrangian_from_name(&k, "relu"));
    TU_RC(HAM_ERR_NULL, ham_lagrangian_from_name(NULL, "tanh"));
    TU_RC(HAM_ERR_NULL, ham_lagrangian_from_name(&k, NULL));
    ck_assert_int_eq(k, 42);
}
END_TEST

/* ------------------------------------------------------- user-defined Lagrangians */

/* Pseudo-Huber: L = c * sum sqrt(1 + s^2), g = c s / sqrt(1 + s^2),
 * H = c (1 + s^2)^(-3/2). Not a built-in; the user pointer carries c and a call count. */
typedef struct huber_user {
    double c;
    long calls;
    int bad_user;
} huber_user_t;

static double huber_value(const float *s, int32_t n, void *user)
{
    huber_user_t *u = user;
    u->calls++;
    double acc = 0.0;
    for (int32_t i = 0; i < n; i++)
        acc += sqrt(1.0 + (double)s[i] * s[i]);
    return u->c * acc;
}

static void huber_activation(float *g, const float *s, int32_t n, void *user)
{
    huber_user_t *u = user;
    u->calls++;
    for (int32_t i = 0; i < n; i++)
        g[i] = (float)(u->c * s[i] / sqrt(1.0 + (double)s[i] * s[i]));
}

static void huber_hvp(float *out, const float *s, const float *g, const float *v, int32_t n,
                      void *user)
{
    huber_user_t *u = user;
    (void)g;
    u->calls++;
    for (int32_t i = 0; i < n; i++)
        out[i] = (float)(u->c * pow(1.0 + (double)s[i] * s[i], -1.5) * v[i]);
}

static ham_lagrangian_def_t huber_def(huber_user_t *u)
{
    ham_lagrangian_def_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = "pseudo-huber";
    d.value = huber_value;
    d.activation = huber_activation;
    d.hvp = huber_hvp;
    d.user = u;
    return d;
}

START_TEST(test_custom_derivatives)
{
    huber_user_t u = {1.5, 0, 0};
    ham_lagrangian_def_t d = huber_def(&u);
    lag_case_t dummy = {HAM_LAGRANGIAN_IDENTITY, 0};
    ham_model_t *m = model_with(&dummy);
    TU_OK(ham_model_set_custom_lagrangian(m, 1, &d));
    /* the definition is copied: changing the caller's struct changes nothing */
    d.activation = NULL;
    d.hvp = NULL;
    int32_t kind = -1;
    TU_OK(ham_model_get_lagrangian(&kind, NULL, m, 1));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_CUSTOM);
    check_ops(&m->lag[1], "custom pseudo-huber", 400);
    ck_assert_int_gt(u.calls, 0);
    check_public(m, NULL, "custom pseudo-huber", 401);
    ham_model_free(m);
}
END_TEST

/* A user-defined identity: must reproduce the built-in identity bit for bit. */
static double id_value(const float *s, int32_t n, void *user)
{
    (void)user;
    double acc = 0.0;
    for (int32_t i = 0; i < n; i++)
        acc += (double)s[i] * (double)s[i];
    return 0.5 * acc;
}

static void id_activation(float *g, const float *s, int32_t n, void *user)
{
    (void)user;
    memcpy(g, s, (size_t)n * sizeof *g);
}

static void id_hvp(float *out, const float *s, const float *g, const float *v, int32_t n,
                   void *user)
{
    (void)user;
    (void)s;
    (void)g;
    memcpy(out, v, (size_t)n * sizeof *out);
}

static ham_lagrangian_def_t id_def(void)
{
    ham_lagrangian_def_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = "my-identity";
    d.value = id_value;
    d.activation = id_activation;
    d.hvp = id_hvp;
    return d;
}

START_TEST(test_custom_identity_matches_builtin)
{
    /* clamped [12, 9, 7, 5]; layers 1 and 2 identity, weights small enough to contract */
    const int32_t sizes[4] = {12, 9, 7, 5};
    const int32_t B = 3;
    ham_model_t *a = tu_model_new(4, sizes, HAM_MODEL_CLAMPED_INPUT, 77, 0.5);
    tu_model_random_biases(a, 77, 0.3);
    ham_model_t *b = NULL;
    TU_OK(ham_model_clone(&b, a));
    ham_lagrangian_def_t d = id_def();
    for (int32_t l = 1; l <= 2; l++) {
        TU_OK(ham_model_set_lagrangian(a, l, HAM_LAGRANGIAN_IDENTITY, 0));
        TU_OK(ham_model_set_custom_lagrangian(b, l, &d));
    }
    tu_rng_t r;
    tu_rng_seed(&r, 78);
    float x[B * 12];
    tu_fill(x, (size_t)B * 12, &r, 0.0, 1.0);

    for (int32_t op = HAM_OPERATOR_SYNC; op <= HAM_OPERATOR_EVEN_ODD; op++) {
        size_t n = (size_t)B * (size_t)tu_dim(a, op);
        float *s = tu_floats(n), *oa = tu_floats(n), *ob = tu_floats(n);
        tu_fill(s, n, &r, -1.0, 1.0);
        TU_OK(ham_model_apply(oa, a, op, B, x, s));
        TU_OK(ham_model_apply(ob, b, op, B, x, s));
        ck_assert_msg(memcmp(oa, ob, n * sizeof *oa) == 0,
                      "custom identity: ham_model_apply(%s) differs from built-in",
                      ham_operator_name(op));
        /* the fixed points, solved with Picard, are the same floats */
        memset(oa, 0, n * sizeof *oa);
        memset(ob, 0, n * sizeof *ob);
        ham_solve_stats_t sa, sb;
        TU_OK(tu_solve(oa, a, op, HAM_SOLVER_PICARD, B, x, 1e-6, 500, &sa));
        TU_OK(tu_solve(ob, b, op, HAM_SOLVER_PICARD, B, x, 1e-6, 500, &sb));
        ck_assert_int_eq(sa.converged, B);
        ck_assert_int_eq(sb.converged, B);
        ck_assert_int_eq(sa.evaluations, sb.evaluations);
        ck_assert_msg(memcmp(oa, ob, n * sizeof *oa) == 0,
                      "custom identity: fixed point (%s) differs from built-in",
                      ham_operator_name(op));
        free(s);
        free(oa);
        free(ob);
    }
    /* and so is the energy */
    size_t nf = (size_t)B * (size_t)tu_dim(a, HAM_OPERATOR_SYNC);
    float *f = tu_floats(nf);
    tu_fill(f, nf, &r, -1.0, 1.0);
    double ea[B], eb[B];
    TU_OK(ham_model_energy(ea, a, B, x, f));
    TU_OK(ham_model_energy(eb, b, B, x, f));
    for (int i = 0; i < B; i++)
        ck_assert_msg(fabs(ea[i] - eb[i]) <= 1e-12 * fabs(ea[i]),
                      "custom identity: energy %.15g vs built-in %.15g", eb[i], ea[i]);
    free(f);
    ham_model_free(a);
    ham_model_free(b);
}
END_TEST

START_TEST(test_custom_bad_defs)
{
    const int32_t sizes[3] = {4, 3, 2};
    ham_model_t *m = NULL;
    TU_OK(ham_model_new(&m, 3, sizes, HAM_MODEL_CLAMPED_INPUT));
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_TANH, 0));
    ham_lagrangian_def_t d = id_def();

    /* size too small */
    d.size = sizeof d - 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_model_set_custom_lagrangian(m, 1, &d));
    d.size = 0;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_model_set_custom_lagrangian(m, 1, &d));
    ck_assert_str_ne(ham_last_error(), "");
    d.size = sizeof d;

    /* a larger struct from a "newer header": zero tail accepted, non-zero tail refused */
    union {
        ham_lagrangian_def_t def;
        unsigned char bytes[sizeof(ham_lagrangian_def_t) + 16];
    } big;
    memset(&big, 0, sizeof big);
    big.def = id_def();
    big.def.size = sizeof big.bytes;
    TU_OK(ham_model_set_custom_lagrangian(m, 2, &big.def));
    big.bytes[sizeof(ham_lagrangian_def_t) + 9] = 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_model_set_custom_lagrangian(m, 1, &big.def));

    /* flags must be 0 */
    d.flags = 1;
    TU_RC(HAM_ERR_INVALID, ham_model_set_custom_lagrangian(m, 1, &d));
    d.flags = 0;

    /* every callback is required */
    ham_lagrangian_def_t e = d;
    e.value = NULL;
    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(m, 1, &e));
    e = d;
    e.activation = NULL;
    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(m, 1, &e));
    e = d;
    e.hvp = NULL;
    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(m, 1, &e));

    /* NULL handles, bad layer */
    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(NULL, 1, &d));
    TU_RC(HAM_ERR_NULL, ham_model_set_custom_lagrangian(m, 1, NULL));
    TU_RC(HAM_ERR_INVALID, ham_model_set_custom_lagrangian(m, 3, &d));
    TU_RC(HAM_ERR_INVALID, ham_model_set_custom_lagrangian(m, -1, &d));

    /* none of the failures touched layer 1 */
    int32_t kind = -1;
    TU_OK(ham_model_get_lagrangian(&kind, NULL, m, 1));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_TANH);
    TU_OK(ham_model_get_lagrangian(&kind, NULL, m, 2));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_CUSTOM);
    /* a custom kind is not accepted by the built-in setter */
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_CUSTOM, 0));
    ham_model_free(m);
}
END_TEST

START_TEST(test_custom_survives_clone)
{
    huber_user_t u = {1.0, 0, 0};
    ham_lagrangian_def_t d = huber_def(&u);
    const int32_t sizes[3] = {5, 4, 3};
    ham_model_t *m = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 5, 1.0);
    TU_OK(ham_model_set_custom_lagrangian(m, 2, &d));
    ham_model_t *c = NULL;
    TU_OK(ham_model_clone(&c, m));
    ham_model_free(m); /* the clone must not depend on the original */
    float x[5] = {0.1f, 0.9f, 0.3f, 0.5f, 0.7f}, s[3] = {0.2f, -0.4f, 1.0f}, o[3];
    long before = u.calls;
    TU_OK(ham_model_apply(o, c, HAM_OPERATOR_EVEN_ODD, 1, x, s));
    ck_assert_int_gt(u.calls, before);
    ham_model_free(c);
}
END_TEST

/* The vectorisable exp behind the activations (lib/common/fastmath.h): within 3e-7 relative of
 * libm's over the whole unclamped range, saturating beyond it, NaN through. */
START_TEST(test_fast_exp)
{
    double worst = 0.0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f + 175.5f * (float)i / 200000.0f;
        double ref = exp((double)x), got = hamp_expf(x);
        double rel = fabs(got - ref) / ref;
        if (rel > worst)
            worst = rel;
    }
    ck_assert_msg(worst < 3e-7, "hamp_expf: worst relative error %.3g", worst);
    ck_assert(hamp_expf(-1000.0f) < 1e-37f && hamp_expf(-1000.0f) >= 0.0f);
    ck_assert(isfinite(hamp_expf(1000.0f)) && hamp_expf(1000.0f) > 1e38f);
    ck_assert(isnan(hamp_expf(NAN)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lagrangian");
    TCase *tc = tu_tcase("builtin");
    tcase_add_test(tc, test_fast_exp);
    tcase_add_loop_test(tc, test_builtin_derivatives, 0, N_CASES);
    tcase_add_loop_test(tc, test_builtin_closed_form, 0, N_CASES);
    tcase_add_loop_test(tc, test_builtin_public_api, 0, N_CASES);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    tc = tu_tcase("custom");
    tcase_add_test(tc, test_custom_derivatives);
    tcase_add_test(tc, test_custom_identity_matches_builtin);
    tcase_add_test(tc, test_custom_bad_defs);
    tcase_add_test(tc, test_custom_survives_clone);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
