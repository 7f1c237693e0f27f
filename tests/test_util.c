/* Shared helpers of the Check suites (see test_util.h). */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ random numbers */

void tu_rng_seed(tu_rng_t *r, uint64_t seed)
{
    r->s = seed ^ 0x5DEECE66DULL;
}

static uint64_t next(tu_rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double tu_uniform(tu_rng_t *r)
{
    return (double)(next(r) >> 11) * 0x1.0p-53;
}

void tu_fill(float *a, size_t n, tu_rng_t *r, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(lo + (hi - lo) * tu_uniform(r));
}

/* ------------------------------------------------------------------ allocation */

float *tu_floats(size_t n)
{
    float *p = calloc(n + 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

double *tu_doubles(size_t n)
{
    double *p = calloc(n + 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ------------------------------------------------------------------ models */

#define SS HAM_LAGRANGIAN_SHIFTED_SIGMOID
#define SG HAM_LAGRANGIAN_SIGMOID
#define TH HAM_LAGRANGIAN_TANH
#define ID HAM_LAGRANGIAN_IDENTITY
#define SM HAM_LAGRANGIAN_SOFTMAX

/* The first three rows are the clamped 3-, 5-, 7-layer models of the issue. Weight
 * scales put every problem in the one-attractor regime (Picard on G from 200 random
 * starts in [-6, 6]^n reached the same fixed point), so that every solver, on F and on
 * G, must find the same fixed point; Picard needs at most ~100 iterations on each. */
const tu_problem_t tu_problems[] = {
    {"3-layer", 3, {12, 9, 7}, HAM_MODEL_CLAMPED_INPUT, {0}, {0}, 1.0, 0.3, 11, 4},
    {"5-layer", 5, {12, 9, 7, 5, 4}, HAM_MODEL_CLAMPED_INPUT, {0}, {0}, 0.7, 0.3, 12, 4},
    {"7-layer", 7, {12, 9, 7, 5, 6, 4, 3}, HAM_MODEL_CLAMPED_INPUT, {0}, {0}, 0.5, 0.3, 13, 4},
    {"mixed-5", 5, {10, 8, 6, 5, 4}, HAM_MODEL_CLAMPED_INPUT, {SS, TH, SM, SG, TH},
     {0, 0, 2.0, 0, 0}, 0.7, 0.3, 14, 3},
    {"free-hopfield", 2, {8, 5}, HAM_MODEL_FREE_INPUT, {ID, SM}, {0, 0.5}, 1.0, 0.0, 15, 3},
    {"free-4", 4, {6, 7, 5, 4}, HAM_MODEL_FREE_INPUT, {TH, SG, SS, TH}, {0}, 0.7, 0.3, 16, 3},
};
const int tu_n_problems = (int)(sizeof tu_problems / sizeof tu_problems[0]);

void tu_model_scale_weights(ham_model_t *m, double factor)
{
    int32_t L = ham_model_n_layers(m);
    for (int32_t l = 0; l + 1 < L; l++) {
        size_t n = (size_t)ham_model_layer_size(m, l) * (size_t)ham_model_layer_size(m, l + 1);
        float *w = tu_floats(n);
        TU_OK(ham_model_get_weights(w, m, l, n));
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(w[i] * factor);
        TU_OK(ham_model_set_weights(m, l, w, n));
        free(w);
    }
}

void tu_model_random_biases(ham_model_t *m, uint64_t seed, double scale)
{
    tu_rng_t r;
    tu_rng_seed(&r, seed * 7919u + 1u);
    int32_t L = ham_model_n_layers(m);
    for (int32_t l = ham_model_has_clamped_input(m) ? 1 : 0; l < L; l++) {
        size_t n = (size_t)ham_model_layer_size(m, l);
        float *b = tu_floats(n);
        tu_fill(b, n, &r, -scale, scale);
        TU_OK(ham_model_set_bias(m, l, b, n));
        free(b);
    }
}

ham_model_t *tu_model_new(int32_t n_layers, const int32_t *sizes, uint32_t flags,
                          uint64_t seed, double wscale)
{
    ham_model_t *m = NULL;
    TU_OK(ham_model_new(&m, n_layers, sizes, flags));
    TU_OK(ham_model_init_xavier(m, seed));
    if (wscale != 1.0)
        tu_model_scale_weights(m, wscale);
    return m;
}

ham_model_t *tu_problem_model(const tu_problem_t *p)
{
    ham_model_t *m = tu_model_new(p->n_layers, p->sizes, p->flags, p->seed, p->wscale);
    if (p->bscale > 0)
        tu_model_random_biases(m, p->seed, p->bscale);
    for (int32_t l = 0; l < p->n_layers; l++)
        if (p->lag[l] > 0)
            TU_OK(ham_model_set_lagrangian(m, l, p->lag[l], p->beta[l]));
    return m;
}

float *tu_problem_inputs(const tu_problem_t *p, const ham_model_t *m)
{
    if (!ham_model_has_clamped_input(m))
        return NULL;
    size_t n = (size_t)p->batch * (size_t)p->sizes[0];
    float *x = tu_floats(n);
    tu_rng_t r;
    tu_rng_seed(&r, p->seed + 1000u);
    tu_fill(x, n, &r, 0.0, 1.0);
    return x;
}

int32_t tu_dim(const ham_model_t *m, int32_t op)
{
    int32_t d = 0;
    TU_OK(ham_model_state_dim(&d, m, op));
    return d;
}

/* ------------------------------------------------------------------ vectors */

double tu_dot(const float *a, const float *b, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)a[i] * (double)b[i];
    return acc;
}

double tu_norm(const float *a, size_t n)
{
    return sqrt(tu_dot(a, a, n));
}

double tu_norm_d(const double *a, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += a[i] * a[i];
    return sqrt(acc);
}

double tu_rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)a[i] - (double)b[i];
        d += t * t;
    }
    double den = fmax(fmax(tu_norm(a, n), tu_norm(b, n)), 1e-30);
    return sqrt(d) / den;
}

double tu_diff_df(const double *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = a[i] - (double)b[i];
        d += t * t;
    }
    return sqrt(d);
}

/* ------------------------------------------------------------------ finite differences */

void tu_fd_gradient(double *grad, float *s, size_t n, double h, tu_scalar_fn f, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        float s0 = s[i];
        float sp = (float)(s0 + h), sm = (float)(s0 - h);
        s[i] = sp;
        double fp = f(s, ctx);
        s[i] = sm;
        double fm = f(s, ctx);
        s[i] = s0;
        grad[i] = (fp - fm) / ((double)sp - (double)sm);
    }
}

void tu_fd_directional(double *out, size_t n_out, const float *s, const float *v, size_t n,
                       double h, tu_vector_fn f, void *ctx)
{
    float *sp = tu_floats(n), *sm = tu_floats(n);
    float *fp = tu_floats(n_out), *fm = tu_floats(n_out);
    /* the rounded points differ from s +- h v; project their difference on v */
    double vv = 0.0, dv = 0.0;
    for (size_t i = 0; i < n; i++) {
        sp[i] = (float)(s[i] + h * v[i]);
        sm[i] = (float)(s[i] - h * v[i]);
        vv += (double)v[i] * v[i];
        dv += ((double)sp[i] - (double)sm[i]) * v[i];
    }
    double step = vv > 0 ? dv / vv : 2 * h; /* sp - sm ~= step * v */
    f(fp, sp, ctx);
    f(fm, sm, ctx);
    for (size_t i = 0; i < n_out; i++)
        out[i] = ((double)fp[i] - (double)fm[i]) / step;
    free(sp);
    free(sm);
    free(fp);
    free(fm);
}

typedef struct apply_ctx {
    const ham_model_t *m;
    int32_t op, batch;
    const float *x;
} apply_ctx_t;

static void apply_fn(float *out, const float *s, void *ctx)
{
    apply_ctx_t *c = ctx;
    TU_OK(ham_model_apply(out, c->m, c->op, c->batch, c->x, s));
}

void tu_fd_apply(double *out, const ham_model_t *m, int32_t op, int32_t batch, const float *x,
                 const float *s, const float *v, double h)
{
    apply_ctx_t c = {m, op, batch, x};
    size_t n = (size_t)batch * (size_t)tu_dim(m, op);
    tu_fd_directional(out, n, s, v, n, h, apply_fn, &c);
}

/* ------------------------------------------------------------------ solving */

int tu_solve(float *state, const ham_model_t *m, int32_t op, int32_t kind, int32_t batch,
             const float *x, double tol, int32_t max_iter, ham_solve_stats_t *st)
{
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new(&sv, m, op, kind));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, tol));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, max_iter));
    int rc = ham_solver_solve(sv, state, batch, x);
    if (st)
        tu_stats(st, sv);
    ham_solver_free(sv);
    return rc;
}

void tu_stats(ham_solve_stats_t *st, const ham_solver_t *sv)
{
    memset(st, 0, sizeof *st);
    st->size = sizeof *st;
    TU_OK(ham_solver_get_stats(st, sv));
}

/* ------------------------------------------------------------------ suites */

TCase *tu_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 600);
    return tc;
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void tu_plant_stale_error(void)
{
    int32_t kind;
    ck_assert_int_eq(ham_lagrangian_from_name(&kind, TU_STALE_MARKER),
                     HAM_ERR_UNKNOWN_LAGRANGIAN);
    ck_assert_msg(strstr(ham_last_error(), TU_STALE_MARKER) != NULL,
                  "the planted message is '%s'", ham_last_error());
}

void tu_check_fresh_error(const char *call)
{
    const char *msg = ham_last_error();
    ck_assert_msg(msg != NULL && msg[0] != '\0', "%s failed without a message", call);
    ck_assert_msg(strstr(msg, TU_STALE_MARKER) == NULL,
                  "%s failed but left an older failure's message: %s", call, msg);
    ck_assert_msg(strchr(msg, '\n') == NULL, "%s: the message is not one line: %s", call, msg);
}
