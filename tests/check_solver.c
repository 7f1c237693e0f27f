/* Fixed-point solvers through the public API: every built-in backend on every problem of
 * the shared table, on F and on G; the driver's per-sample bookkeeping (statistics,
 * retirement of converged samples, warm start, iteration limit, divergence, callback);
 * user-defined backends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const int32_t kinds[] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN,
                                HAM_SOLVER_NEWTON};
#define N_KINDS 4

static const char *kname(int32_t kind)
{
    const char *n = ham_solver_kind_name(kind);
    return n ? n : "custom";
}

/* ------------------------------------------------------- shared checks */

/* The statistics and per-sample results of the last solve agree with each other. */
static void check_bookkeeping(const ham_solver_t *sv, int32_t B, const char *what)
{
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    int32_t *it = calloc((size_t)B, sizeof *it), *status = calloc((size_t)B, sizeof *status);
    double *res = tu_doubles((size_t)B), tol, max_iter;
    ck_assert_ptr_nonnull(it);
    ck_assert_ptr_nonnull(status);
    TU_OK(ham_solver_get_samples(it, res, status, sv, B));
    TU_OK(ham_solver_get_option(&tol, sv, HAM_OPT_TOL));
    TU_OK(ham_solver_get_option(&max_iter, sv, HAM_OPT_MAX_ITER));
    int64_t sum = 0;
    int32_t mx = 0, count[3] = {0, 0, 0};
    for (int32_t k = 0; k < B; k++) {
        ck_assert_msg(it[k] > 0, "%s: sample %d took %d evaluations", what, (int)k, (int)it[k]);
        ck_assert_msg(status[k] >= 0 && status[k] <= 2, "%s: sample %d status %d", what, (int)k,
                      (int)status[k]);
        count[status[k]]++;
        sum += it[k];
        if (it[k] > mx)
            mx = it[k];
        if (status[k] == HAM_SAMPLE_CONVERGED)
            ck_assert_msg(res[k] >= 0 && res[k] < tol, "%s: converged sample %d has residual %g",
                          what, (int)k, res[k]);
        if (status[k] == HAM_SAMPLE_MAX_ITER)
            ck_assert_msg(it[k] >= (int32_t)max_iter && res[k] >= tol,
                          "%s: sample %d at MAX_ITER after %d evaluations, residual %g", what,
                          (int)k, (int)it[k], res[k]);
        if (status[k] == HAM_SAMPLE_DIVERGED)
            ck_assert_msg(!isfinite(res[k]), "%s: diverged sample %d has finite residual %g",
                          what, (int)k, res[k]);
    }
    ck_assert_int_eq(st.size, sizeof st);
    ck_assert_int_eq(st.samples, B);
    ck_assert_int_eq(st.converged, count[HAM_SAMPLE_CONVERGED]);
    ck_assert_int_eq(st.not_converged, count[HAM_SAMPLE_MAX_ITER]);
    ck_assert_int_eq(st.diverged, count[HAM_SAMPLE_DIVERGED]);
    ck_assert_int_eq(st.converged + st.not_converged + st.diverged, B);
    ck_assert_msg(st.evaluations == sum, "%s: stats say %lld evaluations, samples sum to %lld",
                  what, (long long)st.evaluations, (long long)sum);
    ck_assert_int_eq(st.iters_max, mx);
    ck_assert_msg(fabs(st.iters_mean - (double)sum / B) <= 1e-12 * st.iters_mean,
                  "%s: iters_mean %g, expected %g", what, st.iters_mean, (double)sum / B);
    free(it);
    free(status);
    free(res);
}

/* Each row of state (B x dim of op) is a fixed point: |G(s) - s| / |G(s)| <= bound. */
static void check_is_fixed_point(const ham_model_t *m, int32_t op, int32_t B, const float *x,
                                 const float *state, double bound, const char *what)
{
    int32_t d = tu_dim(m, op);
    float *g = tu_floats((size_t)B * d);
    TU_OK(ham_model_apply(g, m, op, B, x, state));
    for (int32_t k = 0; k < B; k++) {
        double r = tu_rel_diff(g + (size_t)k * d, state + (size_t)k * d, (size_t)d);
        ck_assert_msg(r <= bound, "%s: sample %d is not a fixed point (%g)", what, (int)k, r);
    }
    free(g);
}

static ham_solver_t *new_solver(const ham_model_t *m, int32_t op, int32_t kind, double tol,
                                int32_t max_iter)
{
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new(&sv, m, op, kind));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, tol));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, max_iter));
    return sv;
}

/* ------------------------------------------------------- every solver, every problem */

/* F and G share their fixed points: solve both from zero, compare as full states. */
START_TEST(test_F_and_G_same_fixed_point)
{
    const int32_t kind = kinds[_i / tu_n_problems];
    const tu_problem_t *p = &tu_problems[_i % tu_n_problems];
    const double tol = 1e-6;
    char what[128];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, df = tu_dim(m, HAM_OPERATOR_SYNC), de = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *sf = tu_floats((size_t)B * df), *se = tu_floats((size_t)B * de);
    float *fe = tu_floats((size_t)B * df);

    for (int32_t op = HAM_OPERATOR_SYNC; op <= HAM_OPERATOR_EVEN_ODD; op++) {
        snprintf(what, sizeof what, "%s/%s/%s", kname(kind), ham_operator_name(op), p->name);
        ham_solver_t *sv = new_solver(m, op, kind, tol, 3000);
        float *s = op == HAM_OPERATOR_SYNC ? sf : se;
        int rc = ham_solver_solve(sv, s, B, x);
        ck_assert_msg(rc == HAM_OK, "%s: solve returned %s (%s)", what, ham_status_name(rc),
                      ham_last_error());
        check_bookkeeping(sv, B, what);
        ham_solve_stats_t st;
        tu_stats(&st, sv);
        ck_assert_msg(st.converged == B, "%s: %d of %d samples converged", what,
                      (int)st.converged, (int)B);
        check_is_fixed_point(m, op, B, x, s, 10 * tol + 1e-6, what);
        ham_solver_free(sv);
    }
    TU_OK(ham_model_eo_to_full(fe, m, B, x, se));
    for (int32_t k = 0; k < B; k++) {
        double d = tu_rel_diff(sf + (size_t)k * df, fe + (size_t)k * df, (size_t)df);
        ck_assert_msg(d <= 1e-4, "%s/%s sample %d: F and G fixed points differ by %g",
                      kname(kind), p->name, (int)k, d);
    }
    free(sf);
    free(se);
    free(fe);
    free(x);
    ham_model_free(m);
}
END_TEST

/* Warm start from a fixed point costs one evaluation, and returns that fixed point. */
START_TEST(test_warm_start_at_fixed_point)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    const tu_problem_t *p = &tu_problems[0];
    char what[96];
    snprintf(what, sizeof what, "%s/%s", kname(kind), ham_operator_name(op));
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, op);
    size_t n = (size_t)B * d;
    float *s = tu_floats(n), *s0 = tu_floats(n);
    ham_solver_t *sv = new_solver(m, op, kind, 1e-6, 3000);
    TU_OK(ham_solver_solve(sv, s, B, x));
    memcpy(s0, s, n * sizeof *s);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-5));
    TU_OK(ham_solver_solve(sv, s, B, x));
    check_bookkeeping(sv, B, what);
    int32_t it[16], status[16];
    TU_OK(ham_solver_get_samples(it, NULL, status, sv, B));
    for (int32_t k = 0; k < B; k++) {
        ck_assert_msg(it[k] == 1 && status[k] == HAM_SAMPLE_CONVERGED,
                      "%s: warm start at the fixed point: sample %d took %d evaluations, "
                      "status %d",
                      what, (int)k, (int)it[k], (int)status[k]);
    }
    ck_assert_msg(tu_rel_diff(s, s0, n) <= 1e-5, "%s: warm start moved the state", what);
    /* without warm start the state passed in is ignored (NaN included) */
    TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 0));
    for (size_t i = 0; i < n; i++)
        s[i] = NAN;
    TU_OK(ham_solver_solve(sv, s, B, x));
    ck_assert_msg(tu_rel_diff(s, s0, n) <= 1e-4, "%s: a cold start did not ignore the state passed in", what);
    ham_solver_free(sv);
    free(s);
    free(s0);
    free(x);
    ham_model_free(m);
}
END_TEST

/* --- converged samples stop costing work: count operator evaluations independently, by
 * the calls the output layer's (custom) Lagrangian receives: each evaluation of F or G
 * computes the output layer's activation once per row, and nothing else does. */

typedef struct counting {
    long rows;
} counting_t;

static double sig4(double s)
{
    return 1.0 / (1.0 + exp(-4.0 * (s - 0.5)));
}

static double cnt_value(const float *s, int32_t n, void *user)
{
    (void)user;
    double acc = 0.0;
    for (int32_t i = 0; i < n; i++) {
        double z = 4.0 * (s[i] - 0.5);
        acc += 0.25 * (fmax(z, 0.0) + log1p(exp(-fabs(z))));
    }
    return acc;
}

static void cnt_activation(float *g, const float *s, int32_t n, void *user)
{
    ((counting_t *)user)->rows++;
    for (int32_t i = 0; i < n; i++)
        g[i] = (float)sig4(s[i]);
}

static void cnt_hvp(float *out, const float *s, const float *g, const float *v, int32_t n,
                    void *user)
{
    (void)user;
    (void)s;
    for (int32_t i = 0; i < n; i++)
        out[i] = 4.0f * g[i] * (1.0f - g[i]) * v[i];
}

START_TEST(test_converged_samples_stop_costing_work)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    char what[96];
    snprintf(what, sizeof what, "%s/%s", kname(kind), ham_operator_name(op));
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    counting_t cnt = {0};
    ham_lagrangian_def_t def;
    memset(&def, 0, sizeof def);
    def.size = sizeof def;
    def.value = cnt_value;
    def.activation = cnt_activation;
    def.hvp = cnt_hvp;
    def.user = &cnt;
    TU_OK(ham_model_set_custom_lagrangian(m, p->n_layers - 1, &def));
    float *x = tu_problem_inputs(p, m);
    const int32_t B = 3;
    int32_t d = tu_dim(m, op);
    float *s = tu_floats((size_t)B * d);
    ham_solver_t *sv = new_solver(m, op, kind, 1e-6, 3000);
    TU_OK(ham_solver_solve(sv, s, B, x));
    /* sample 1 starts at its fixed point, samples 0 and 2 from zero */
    memset(s, 0, (size_t)d * sizeof *s);
    memset(s + 2 * (size_t)d, 0, (size_t)d * sizeof *s);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-5));
    cnt.rows = 0;
    TU_OK(ham_solver_solve(sv, s, B, x));
    check_bookkeeping(sv, B, what);
    int32_t it[3];
    ham_solve_stats_t st;
    TU_OK(ham_solver_get_samples(it, NULL, NULL, sv, B));
    tu_stats(&st, sv);
    ck_assert_msg(it[1] == 1 && it[0] > 1 && it[2] > 1,
                  "%s: easy sample took %d evaluations, hard ones %d and %d", what, (int)it[1],
                  (int)it[0], (int)it[2]);
    ck_assert_int_eq(st.evaluations, it[0] + it[1] + it[2]);
    ck_assert_msg(cnt.rows == st.evaluations,
                  "%s: the operator ran on %ld rows, but %lld evaluations were reported", what,
                  cnt.rows, (long long)st.evaluations);
    ham_solver_free(sv);
    free(s);
    free(x);
    ham_model_free(m);
}
END_TEST

/* The iteration limit is reported per sample, and it bounds the operator evaluations
 * each sample gets (HAM_OPT_MAX_ITER: "operator evaluations per sample").
 */
/* HAM_OPT_FIXED_ITERS: exactly MAX_ITER evaluations per sample, and for Picard the state
 * is G applied that many times to zero (the paper's fixed 40 iterations). */
START_TEST(test_fixed_iters)
{
    const tu_problem_t *p = &tu_problems[0];
    int32_t op = _i;
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t dim = tu_dim(m, op), n = 7;
    size_t len = (size_t)p->batch * dim;
    float *state = tu_floats(len), *ref = tu_floats(len), *tmp = tu_floats(len);
    ham_solver_t *sv;
    TU_OK(ham_solver_new(&sv, m, op, HAM_SOLVER_PICARD));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, 1));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, n));
    TU_OK(ham_solver_solve(sv, state, p->batch, x));
    int32_t *iters = calloc((size_t)p->batch, sizeof *iters);
    TU_OK(ham_solver_get_samples(iters, NULL, NULL, sv, p->batch));
    for (int32_t k = 0; k < p->batch; k++)
        ck_assert_int_eq(iters[k], n);
    for (int32_t j = 0; j < n; j++) {
        TU_OK(ham_model_apply(tmp, m, op, p->batch, x, ref));
        memcpy(ref, tmp, len * sizeof(float));
    }
    ck_assert_msg(tu_rel_diff(state, ref, len) == 0.0, "fixed Picard differs from G^%d(0)", n);
    free(iters);
    free(state);
    free(ref);
    free(tmp);
    free(x);
    ham_solver_free(sv);
    ham_model_free(m);
}
END_TEST

START_TEST(test_max_iter)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    const int32_t limits[4] = {1, 2, 3, 6};
    char what[96];
    tu_problem_t p = tu_problems[1];
    p.batch = 16;
    ham_model_t *m = tu_problem_model(&p);
    float *x = tu_problem_inputs(&p, m);
    int32_t B = p.batch, d = tu_dim(m, op);
    float *s = tu_floats((size_t)B * d);
    for (int li = 0; li < 4; li++) {
        const int32_t max_iter = limits[li];
        snprintf(what, sizeof what, "%s/%s max_iter %d", kname(kind), ham_operator_name(op),
                 (int)max_iter);
        ham_solver_t *sv = new_solver(m, op, kind, 1e-12, max_iter); /* tol unreachable */
        TU_OK(ham_solver_solve(sv, s, B, x));
        check_bookkeeping(sv, B, what);
        int32_t it[16], status[16];
        TU_OK(ham_solver_get_samples(it, NULL, status, sv, B));
        ham_solve_stats_t st;
        tu_stats(&st, sv);
        ck_assert_int_eq(st.not_converged + st.converged, B);
        for (int32_t k = 0; k < B; k++) {
            ck_assert_msg(it[k] <= max_iter, "%s: sample %d got %d evaluations", what, (int)k,
                          (int)it[k]);
            if (kind == HAM_SOLVER_PICARD)
                ck_assert_msg(it[k] == max_iter && status[k] == HAM_SAMPLE_MAX_ITER,
                              "%s: sample %d: %d evaluations, status %d", what, (int)k,
                              (int)it[k], (int)status[k]);
        }
        ham_solver_free(sv);
    }
    free(s);
    free(x);
    ham_model_free(m);
}
END_TEST

/* One solver reused on batches of different sizes (the workspace grows) gives what fresh
 * solvers give: same states, iteration counts and statuses. */
START_TEST(test_solver_reuse)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    char what[96];
    snprintf(what, sizeof what, "%s/%s", kname(kind), ham_operator_name(op));
    tu_problem_t p = tu_problems[1];
    p.batch = 9; /* inputs for the batches below, at offsets 0, 1, 2 */
    ham_model_t *m = tu_problem_model(&p);
    float *x = tu_problem_inputs(&p, m);
    int32_t d = tu_dim(m, op);
    const int32_t batches[3] = {2, 6, 3};
    ham_solver_t *sv = new_solver(m, op, kind, 1e-6, 300);
    for (int b = 0; b < 3; b++) {
        int32_t B = batches[b];
        float *a = tu_floats((size_t)B * d), *f = tu_floats((size_t)B * d);
        const float *xb = x ? x + (size_t)b * p.sizes[0] : NULL;
        TU_OK(ham_solver_solve(sv, a, B, xb));
        check_bookkeeping(sv, B, what);
        int32_t ia[8], sa[8], ifr[8], sf[8];
        TU_OK(ham_solver_get_samples(ia, NULL, sa, sv, B));
        ham_solver_t *fresh = new_solver(m, op, kind, 1e-6, 300);
        TU_OK(ham_solver_solve(fresh, f, B, xb));
        TU_OK(ham_solver_get_samples(ifr, NULL, sf, fresh, B));
        ham_solver_free(fresh);
        ck_assert_msg(tu_rel_diff(a, f, (size_t)B * d) <= 1e-5,
                      "%s: batch %d: reused solver's states differ from a fresh one's", what,
                      (int)B);
        for (int32_t k = 0; k < B; k++)
            ck_assert_msg(ia[k] == ifr[k] && sa[k] == sf[k],
                          "%s: batch %d sample %d: reused %d evaluations/status %d, fresh %d/%d",
                          what, (int)B, (int)k, (int)ia[k], (int)sa[k], (int)ifr[k], (int)sf[k]);
        free(a);
        free(f);
    }
    int32_t it[2];
    TU_RC(HAM_ERR_DIMENSION, ham_solver_get_samples(it, NULL, NULL, sv, 2)); /* last was 3 */
    ham_solver_free(sv);
    free(x);
    ham_model_free(m);
}
END_TEST

/* Samples are independent: a batch gives, per sample, the iterations and state of a solve
 * of that sample alone. Converged samples leave the batch at different iterations, so this
 * checks that every backend moves its per-row history with its rows (compact). Exact with
 * OpenBLAS; one evaluation of slack for BLAS builds whose rounding depends on the batch. */
START_TEST(test_batch_equals_single)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    char what[128];
    for (int i = 0; i < tu_n_problems; i++) {
        tu_problem_t p = tu_problems[i];
        p.batch = 12;
        snprintf(what, sizeof what, "%s/%s/%s", kname(kind), ham_operator_name(op), p.name);
        ham_model_t *m = tu_problem_model(&p);
        float *x = tu_problem_inputs(&p, m);
        int32_t B = p.batch, d = tu_dim(m, op);
        float *all = tu_floats((size_t)B * d), *one = tu_floats((size_t)d);
        int32_t it[12], st[12], it1, st1;
        ham_solver_t *sv = new_solver(m, op, kind, 1e-6, 1000);
        TU_OK(ham_solver_solve(sv, all, B, x));
        TU_OK(ham_solver_get_samples(it, NULL, st, sv, B));
        for (int32_t k = 0; k < B; k++) {
            TU_OK(ham_solver_solve(sv, one, 1, x ? x + (size_t)k * p.sizes[0] : NULL));
            TU_OK(ham_solver_get_samples(&it1, NULL, &st1, sv, 1));
            ck_assert_msg(abs(it1 - it[k]) <= 1 && st1 == st[k],
                          "%s sample %d: %d evaluations (status %d) in the batch, %d (status %d) "
                          "alone",
                          what, (int)k, (int)it[k], (int)st[k], (int)it1, (int)st1);
            double diff = tu_rel_diff(one, all + (size_t)k * d, (size_t)d);
            ck_assert_msg(diff <= 1e-5, "%s sample %d: batch and single solves differ by %g",
                          what, (int)k, diff);
        }
        ham_solver_free(sv);
        free(all);
        free(one);
        free(x);
        ham_model_free(m);
    }
}
END_TEST

/* Robustness: every solver converges from zero on 16 inputs of every problem of the table,
 * where Picard converges on both operators (each problem has a single attractor).
 * Regression: before 573975f, Newton on F with its residual line search stalled on the
 * 5-layer problem, inputs 6 and 7, at a relative residual ~0.035 (a non-zero local
 * minimum of ||F(s) - s|| where J_F has eigenvalues +-1.08) until max_iter. */
START_TEST(test_every_input_converges)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    char what[128];
    for (int i = 0; i < tu_n_problems; i++) {
        tu_problem_t p = tu_problems[i];
        p.batch = 16;
        snprintf(what, sizeof what, "%s/%s/%s", kname(kind), ham_operator_name(op), p.name);
        ham_model_t *m = tu_problem_model(&p);
        float *x = tu_problem_inputs(&p, m);
        int32_t d = tu_dim(m, op);
        float *s = tu_floats((size_t)p.batch * d);
        ham_solver_t *sv = new_solver(m, op, kind, 1e-6, 1000);
        TU_OK(ham_solver_solve(sv, s, p.batch, x));
        check_bookkeeping(sv, p.batch, what);
        int32_t status[16], it[16];
        TU_OK(ham_solver_get_samples(it, NULL, status, sv, p.batch));
        for (int32_t k = 0; k < p.batch; k++)
            ck_assert_msg(status[k] == HAM_SAMPLE_CONVERGED,
                          "%s: input %d did not converge (status %d after %d evaluations)", what,
                          (int)k, (int)status[k], (int)it[k]);
        ham_solver_free(sv);
        free(s);
        free(x);
        ham_model_free(m);
    }
}
END_TEST

/* A problem whose iteration blows up (identity Lagrangians, weights x10): the solve
 * ends, every sample gets a consistent status. Picard must report divergence; a solver
 * that jumps to the (unstable) fixed point of the affine map may report convergence. (The
 * state returned is G(s), which an expanding map moves away from s: not checked.) */
START_TEST(test_blow_up_ends)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    char what[96];
    snprintf(what, sizeof what, "%s/%s", kname(kind), ham_operator_name(op));
    const int32_t sizes[3] = {6, 5, 4};
    ham_model_t *m = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 51, 10.0);
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_IDENTITY, 0));
    TU_OK(ham_model_set_lagrangian(m, 2, HAM_LAGRANGIAN_IDENTITY, 0));
    tu_model_random_biases(m, 51, 1.0);
    const int32_t B = 3;
    float x[3 * 6];
    tu_rng_t r;
    tu_rng_seed(&r, 52);
    tu_fill(x, 18, &r, 0.0, 1.0);
    int32_t d = tu_dim(m, op);
    float *s = tu_floats((size_t)B * d);
    ham_solver_t *sv = new_solver(m, op, kind, 1e-4, 100000);
    TU_OK(ham_solver_solve(sv, s, B, x));
    check_bookkeeping(sv, B, what);
    int32_t status[3];
    TU_OK(ham_solver_get_samples(NULL, NULL, status, sv, B));
    for (int32_t k = 0; k < B; k++) {
        if (kind == HAM_SOLVER_PICARD)
            ck_assert_msg(status[k] == HAM_SAMPLE_DIVERGED, "%s: sample %d status %d", what,
                          (int)k, (int)status[k]);
    }
    ham_solver_free(sv);
    free(s);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- callback */

typedef struct cb_log {
    int calls;
    int cancel_at; /* -1: never */
    int bad;       /* first inconsistency seen, as a code */
    int32_t last_active;
} cb_log_t;

static int record(const ham_iter_info_t *info, void *user)
{
    cb_log_t *log = user;
    if (info->size < sizeof(ham_iter_info_t))
        log->bad = log->bad ? log->bad : 1;
    if (info->iteration != log->calls)
        log->bad = log->bad ? log->bad : 2;
    if (info->active <= 0 || (log->calls > 0 && info->active > log->last_active))
        log->bad = log->bad ? log->bad : 3;
    for (int32_t i = 0; i < info->active; i++) {
        if (i > 0 && info->sample[i] <= info->sample[i - 1])
            log->bad = log->bad ? log->bad : 4; /* increasing original indices */
        if (!(info->residual[i] >= 0))
            log->bad = log->bad ? log->bad : 5;
        if (info->iterations[i] != info->iteration + 1) /* Picard: one evaluation each */
            log->bad = log->bad ? log->bad : 6;
    }
    log->last_active = info->active;
    return log->calls++ == log->cancel_at;
}

START_TEST(test_callback)
{
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *s = tu_floats((size_t)B * d);
    ham_solver_t *sv = new_solver(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, 1e-6, 500);

    cb_log_t log = {0, -1, 0, 0};
    TU_OK(ham_solver_set_callback(sv, record, &log));
    TU_OK(ham_solver_solve(sv, s, B, x));
    ck_assert_msg(log.bad == 0, "callback saw inconsistent info (code %d)", log.bad);
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_int_eq(st.converged, B);
    ck_assert_int_eq(log.calls, st.iters_max); /* one driver iteration per evaluation */

    /* cancel at the third call */
    cb_log_t stop = {0, 2, 0, 0};
    TU_OK(ham_solver_set_callback(sv, record, &stop));
    TU_RC(HAM_ERR_CANCELLED, ham_solver_solve(sv, s, B, x));
    ck_assert_int_eq(stop.calls, 3);
    ck_assert_str_ne(ham_last_error(), "");
    int32_t it[16], status[16];
    TU_OK(ham_solver_get_samples(it, NULL, status, sv, B));
    for (int32_t k = 0; k < B; k++)
        ck_assert_msg(it[k] == 3 && status[k] == HAM_SAMPLE_MAX_ITER,
                      "cancelled sample %d: %d evaluations, status %d", (int)k, (int)it[k],
                      (int)status[k]);

    /* removing the callback */
    TU_OK(ham_solver_set_callback(sv, NULL, NULL));
    int before = stop.calls;
    TU_OK(ham_solver_solve(sv, s, B, x));
    ck_assert_int_eq(stop.calls, before);
    ham_solver_free(sv);
    free(s);
    free(x);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- convergence tests */

/* A user convergence test demanding ||G(s) - s|| < limit, absolute; it records what it was
 * shown and can abort the solve for one sample. */
typedef struct conv_log {
    int32_t B, dim, calls, bad;
    double tol, atol, limit;
    int32_t iters[8];             /* per sample: evaluations at the last call */
    double fnorm[8], gnorm[8];    /* per sample: the norms of the last call */
    int32_t accepted[8];          /* per sample: calls that returned 1 */
    float *in, *out;              /* B x dim: s and G(s) of each sample's accepted call */
    int32_t abort_sample, abort_iters, abort_rc;
} conv_log_t;

static int abs_test(const ham_conv_info_t *info, void *user)
{
    conv_log_t *log = user;
    log->calls++;
    int32_t k = info->sample;
    if (info->size < sizeof *info || info->dim != log->dim || k < 0 || k >= log->B)
        return log->bad = 1, 0;
    if (info->tol != log->tol || info->atol != log->atol || !(info->residual_norm >= 0) ||
        !(info->output_norm >= 0) || info->iterations <= log->iters[k] ||
        !isfinite(tu_norm(info->state, (size_t)info->dim)))
        log->bad = log->bad ? log->bad : 2;
    log->iters[k] = info->iterations;
    log->fnorm[k] = info->residual_norm;
    log->gnorm[k] = info->output_norm;
    if (log->abort_rc != 0 && k == log->abort_sample && info->iterations >= log->abort_iters)
        return log->abort_rc;
    int ok = info->residual_norm < log->limit;
    if (ok) {
        log->accepted[k]++;
        memcpy(log->in + (size_t)k * log->dim, info->state, (size_t)log->dim * sizeof(float));
        memcpy(log->out + (size_t)k * log->dim, info->output, (size_t)log->dim * sizeof(float));
    }
    return ok;
}

static void conv_log_reset(conv_log_t *log)
{
    log->calls = log->bad = 0;
    for (int32_t k = 0; k < 8; k++) {
        log->iters[k] = log->accepted[k] = 0;
        log->fnorm[k] = log->gnorm[k] = NAN;
    }
}

/* ham_solver_set_conv_test: a user test that demands ||G(s) - s|| < 1e-3 replaces the
 * built-in relative one (other counts, and every sample satisfies it); FIXED_ITERS
 * overrides it; a negative return aborts the solve with a message; NULL restores the
 * built-in test exactly. */
START_TEST(test_conv_test_hook)
{
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    const int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    ck_assert_int_le(B, 8);
    float *s = tu_floats((size_t)B * d), *s_def = tu_floats((size_t)B * d);
    float *g = tu_floats((size_t)B * d);
    ham_solver_t *sv = new_solver(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, 1e-4, 500);
    int32_t it_def[8], st_def[8], it[8], st[8];
    double res_def[8], res[8];

    TU_OK(ham_solver_solve(sv, s_def, B, x));
    TU_OK(ham_solver_get_samples(it_def, res_def, st_def, sv, B));

    conv_log_t log = {.B = B, .dim = d, .tol = 1e-4, .atol = 0.0, .limit = 1e-3};
    log.in = tu_floats((size_t)B * d);
    log.out = tu_floats((size_t)B * d);
    conv_log_reset(&log);
    TU_OK(ham_solver_set_conv_test(sv, abs_test, &log));
    TU_OK(ham_solver_solve(sv, s, B, x));
    TU_OK(ham_solver_get_samples(it, res, st, sv, B));
    ck_assert_msg(log.bad == 0, "the convergence test saw inconsistent info (code %d)", log.bad);
    ck_assert_msg(memcmp(it, it_def, (size_t)B * sizeof it[0]) != 0,
                  "the absolute test gave the default's iteration counts");
    TU_OK(ham_model_apply(g, m, HAM_OPERATOR_EVEN_ODD, B, x, log.in));
    for (int32_t k = 0; k < B; k++) {
        const float *sk = log.in + (size_t)k * d, *gk = log.out + (size_t)k * d;
        ck_assert_int_eq(st[k], HAM_SAMPLE_CONVERGED);
        ck_assert_int_eq(log.accepted[k], 1); /* accepted once, then retired */
        ck_assert_int_eq(log.iters[k], it[k]);
        ck_assert_msg(log.fnorm[k] < 1e-3, "sample %d accepted at %g", (int)k, log.fnorm[k]);
        /* the returned state is the accepted call's G(s), whose norms the test was shown */
        ck_assert_msg(memcmp(s + (size_t)k * d, gk, (size_t)d * sizeof(float)) == 0,
                      "sample %d: the state returned is not the accepted output", (int)k);
        double fn = 0.0;
        for (int32_t i = 0; i < d; i++) {
            double t = (double)g[(size_t)k * d + i] - sk[i];
            fn += t * t;
        }
        fn = sqrt(fn);
        ck_assert_msg(fabs(fn - log.fnorm[k]) <= 1e-6 + 1e-4 * log.fnorm[k] && fn < 1.01e-3,
                      "sample %d: ||G(s) - s|| is %g, the test was shown %g", (int)k, fn,
                      log.fnorm[k]);
        ck_assert(fabs(tu_norm(gk, (size_t)d) - log.gnorm[k]) <= 1e-6 * log.gnorm[k]);
        /* the residual reported stays the relative one */
        ck_assert_msg(fabs(res[k] - log.fnorm[k] / log.gnorm[k]) <= 1e-12 * res[k],
                      "sample %d: residual %g, relative %g", (int)k, res[k],
                      log.fnorm[k] / log.gnorm[k]);
    }

    /* a fixed count ignores the test: it is not even asked */
    conv_log_reset(&log);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, 1));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 7));
    TU_OK(ham_solver_solve(sv, s, B, x));
    TU_OK(ham_solver_get_samples(it, NULL, st, sv, B));
    ck_assert_int_eq(log.calls, 0);
    for (int32_t k = 0; k < B; k++)
        ck_assert(it[k] == 7 && st[k] == HAM_SAMPLE_MAX_ITER);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, 0));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 500));

    /* aborting: a status of ours passes through, anything else is HAM_ERR_CALLBACK; the
     * samples not finished are reported at MAX_ITER with the evaluations they used */
    const int codes[2] = {-1000, HAM_ERR_NUMERIC}, expect[2] = {HAM_ERR_CALLBACK,
                                                                  HAM_ERR_NUMERIC};
    for (int c = 0; c < 2; c++) {
        conv_log_reset(&log);
        log.abort_sample = 2;
        log.abort_iters = 3;
        log.abort_rc = codes[c];
        TU_RC(expect[c], ham_solver_solve(sv, s, B, x));
        ck_assert_msg(strstr(ham_last_error(), "convergence test") != NULL, "message: %s",
                      ham_last_error());
        ham_solve_stats_t stt;
        tu_stats(&stt, sv);
        ck_assert_int_eq(stt.samples, B);
        ck_assert_int_eq(stt.converged + stt.not_converged + stt.diverged, B);
        TU_OK(ham_solver_get_samples(it, NULL, st, sv, B));
        ck_assert(it[2] == 3 && st[2] == HAM_SAMPLE_MAX_ITER);
        for (int32_t k = 0; k < B; k++)
            ck_assert(st[k] == (log.accepted[k] ? HAM_SAMPLE_CONVERGED : HAM_SAMPLE_MAX_ITER));
    }
    log.abort_rc = 0;

    /* removing the test restores the built-in one, bit for bit */
    TU_OK(ham_solver_set_conv_test(sv, NULL, NULL));
    int32_t calls = log.calls;
    TU_OK(ham_solver_solve(sv, s, B, x));
    TU_OK(ham_solver_get_samples(it, res, st, sv, B));
    ck_assert_int_eq(log.calls, calls);
    ck_assert(memcmp(it, it_def, (size_t)B * sizeof it[0]) == 0);
    ck_assert(memcmp(st, st_def, (size_t)B * sizeof st[0]) == 0);
    ck_assert(memcmp(res, res_def, (size_t)B * sizeof res[0]) == 0);
    ck_assert(memcmp(s, s_def, (size_t)B * d * sizeof(float)) == 0);

    ham_solver_free(sv);
    free(log.in);
    free(log.out);
    free(s);
    free(s_def);
    free(g);
    free(x);
    ham_model_free(m);
}
END_TEST

/* The built-in test with HAM_OPT_ATOL is exactly "r < tol or ||G(s) - s|| < atol": a user
 * test saying just that gives the same counts, statuses and states, for every backend on
 * either operator; and an ATOL that bites changes the counts. */
typedef struct either_user {
    int32_t calls;
} either_user_t;

static int either_test(const ham_conv_info_t *info, void *user)
{
    ((either_user_t *)user)->calls++;
    double r = info->output_norm > 0.0 ? info->residual_norm / info->output_norm
                                       : (info->residual_norm == 0.0 ? 0.0 : INFINITY);
    return r < info->tol || info->residual_norm < info->atol;
}

START_TEST(test_atol_is_either_criterion)
{
    const int32_t kind = kinds[_i / 2], op = _i % 2;
    const tu_problem_t *p = &tu_problems[1];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    const int32_t B = p->batch, d = tu_dim(m, op);
    float *s1 = tu_floats((size_t)B * d), *s2 = tu_floats((size_t)B * d);
    int32_t it0[8], it1[8], it2[8], st1[8], st2[8];
    double r1[8], r2[8];
    ck_assert_int_le(B, 8);

    ham_solver_t *sv = new_solver(m, op, kind, 1e-6, 3000);
    TU_OK(ham_solver_solve(sv, s1, B, x));
    TU_OK(ham_solver_get_samples(it0, NULL, NULL, sv, B));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_ATOL, 1e-3));
    TU_OK(ham_solver_solve(sv, s1, B, x));
    TU_OK(ham_solver_get_samples(it1, r1, st1, sv, B));
    either_user_t u = {0};
    TU_OK(ham_solver_set_conv_test(sv, either_test, &u));
    TU_OK(ham_solver_solve(sv, s2, B, x));
    TU_OK(ham_solver_get_samples(it2, r2, st2, sv, B));
    ck_assert_int_gt(u.calls, 0);
    ck_assert(memcmp(it1, it2, (size_t)B * sizeof it1[0]) == 0);
    ck_assert(memcmp(st1, st2, (size_t)B * sizeof st1[0]) == 0);
    ck_assert(memcmp(r1, r2, (size_t)B * sizeof r1[0]) == 0);
    ck_assert(memcmp(s1, s2, (size_t)B * d * sizeof(float)) == 0);
    int64_t sum0 = 0, sum1 = 0;
    for (int32_t k = 0; k < B; k++) {
        ck_assert_int_eq(st1[k], HAM_SAMPLE_CONVERGED);
        sum0 += it0[k];
        sum1 += it1[k];
    }
    /* these states have norms ~1, so atol = 1e-3 stops well before tol = 1e-6 does */
    ck_assert_msg(sum1 < sum0, "%s/%s: %lld evaluations with ATOL, %lld without", kname(kind),
                  ham_operator_name(op), (long long)sum1, (long long)sum0);
    ham_solver_free(sv);
    free(s1);
    free(s2);
    free(x);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- Newton on long states */

/* A state longer than HAM_OPT_NEWTON_MAX_DIM takes matrix-free GMRES directions instead
 * of the dense Jacobian: same fixed point, Jacobian products counted apart. (The issue
 * asked for HAM_ERR_UNSUPPORTED here; the library has since replaced that by GMRES and
 * documents it in solver.h.) */
START_TEST(test_newton_long_state)
{
    const tu_problem_t *p = &tu_problems[0]; /* [12, 9, 7]: full state 16 */
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_SYNC);
    size_t n = (size_t)B * d;
    float *dense = tu_floats(n), *krylov = tu_floats(n), *picard = tu_floats(n);
    ham_solve_stats_t sd, sk, sp;
    ham_solver_t *sv = new_solver(m, HAM_OPERATOR_SYNC, HAM_SOLVER_NEWTON, 1e-6, 3000);
    TU_OK(ham_solver_solve(sv, dense, B, x));
    tu_stats(&sd, sv);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_NEWTON_MAX_DIM, 8));
    TU_OK(ham_solver_solve(sv, krylov, B, x));
    check_bookkeeping(sv, B, "newton-gmres");
    tu_stats(&sk, sv);
    ham_solver_free(sv);
    TU_OK(tu_solve(picard, m, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD, B, x, 1e-6, 3000, &sp));
    ck_assert_int_eq(sd.converged, B);
    ck_assert_int_eq(sk.converged, B);
    ck_assert_msg(tu_rel_diff(dense, picard, n) <= 1e-4, "dense Newton vs Picard: %g",
                  tu_rel_diff(dense, picard, n));
    ck_assert_msg(tu_rel_diff(krylov, picard, n) <= 1e-4, "GMRES Newton vs Picard: %g",
                  tu_rel_diff(krylov, picard, n));
    ck_assert_msg(sd.jacobian_products > 0 && sk.jacobian_products > 0,
                  "Newton reported no Jacobian products");
    ck_assert_msg(sp.jacobian_products == 0, "Picard reported Jacobian products");
    ck_assert_msg(sk.iters_mean < sp.iters_mean, "GMRES Newton (%g) not faster than Picard (%g)",
                  sk.iters_mean, sp.iters_mean);

    /* the default limit (256) with a 310-long full state */
    const int32_t sizes[3] = {4, 300, 10};
    ham_model_t *big = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 3, 0.5);
    tu_model_random_biases(big, 3, 0.5);
    float xb[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.9f, 0.7f, 0.5f, 0.0f};
    float *sb = tu_floats(2 * 310), *se = tu_floats(2 * 10), *fe = tu_floats(2 * 310);
    TU_OK(tu_solve(sb, big, HAM_OPERATOR_SYNC, HAM_SOLVER_NEWTON, 2, xb, 1e-6, 3000, &sk));
    ck_assert_int_eq(sk.converged, 2);
    TU_OK(tu_solve(se, big, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, 2, xb, 1e-6, 3000, &sp));
    TU_OK(ham_model_eo_to_full(fe, big, 2, xb, se));
    ck_assert_msg(tu_rel_diff(sb, fe, 2 * 310) <= 1e-4, "310-long state: Newton vs Picard %g",
                  tu_rel_diff(sb, fe, 2 * 310));
    free(sb);
    free(se);
    free(fe);
    ham_model_free(big);
    free(dense);
    free(krylov);
    free(picard);
    free(x);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- user-defined backends */

/* Damped Picard with per-row memory of the iterate it proposed, which lets it check the
 * driver's contract: rows are moved by `compact` exactly as the driver moves them, so the
 * iterate handed back in the next step is the one proposed for that row. */
typedef struct damped_user {
    double dt;
    int use_apply;  /* evaluate G itself via ham_step_apply and return 1 */
    int nan_row0;   /* poison row 0 on the first step */
    int step_error; /* return this from step (0: none) */
    long init_calls, fini_calls, reset_calls, compact_calls, shrinks, steps, mismatches;
    long ctx_errors;
    int32_t init_dim, init_rows;
} damped_user_t;

typedef struct damped_state {
    int32_t dim, max_rows, rows;
    float *last;
    int *has;
} damped_state_t;

static int damped_init(void **state, int32_t dim, int32_t max_rows, void *user)
{
    damped_user_t *u = user;
    u->init_calls++;
    u->init_dim = dim;
    u->init_rows = max_rows;
    damped_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return HAM_ERR_NOMEM;
    st->dim = dim;
    st->max_rows = max_rows;
    st->last = calloc((size_t)dim * max_rows, sizeof *st->last);
    st->has = calloc((size_t)max_rows, sizeof *st->has);
    if (!st->last || !st->has) {
        free(st->last);
        free(st->has);
        free(st);
        return HAM_ERR_NOMEM;
    }
    *state = st;
    return 0;
}

static void damped_fini(void *state, void *user)
{
    damped_state_t *st = state;
    ((damped_user_t *)user)->fini_calls++;
    free(st->last);
    free(st->has);
    free(st);
}

static int damped_reset(void *state, int32_t rows, void *user)
{
    damped_state_t *st = state;
    ((damped_user_t *)user)->reset_calls++;
    if (rows > st->max_rows)
        return HAM_ERR_INVALID;
    st->rows = rows;
    memset(st->has, 0, (size_t)st->max_rows * sizeof *st->has);
    return 0;
}

static int damped_step(void *state, ham_step_t *step, float *s, float *gs, int32_t rows,
                       void *user)
{
    damped_state_t *st = state;
    damped_user_t *u = user;
    size_t d = (size_t)st->dim;
    if (ham_step_rows(step) != rows || ham_step_dim(step) != st->dim || rows > st->rows)
        u->ctx_errors++;
    st->rows = rows;
    if (u->step_error)
        return u->step_error;
    for (int32_t r = 0; r < rows; r++) {
        float *sr = s + r * d;
        if (st->has[r] && memcmp(sr, st->last + r * d, d * sizeof *sr) != 0)
            u->mismatches++;
        for (size_t i = 0; i < d; i++)
            sr[i] = (float)(sr[i] + u->dt * ((double)gs[r * d + i] - sr[i]));
        if (u->nan_row0 && u->steps == 0 && r == 0)
            sr[0] = NAN;
        memcpy(st->last + r * d, sr, d * sizeof *sr);
        st->has[r] = 1;
    }
    u->steps++;
    if (u->use_apply) {
        int rc = ham_step_apply(step, gs, s);
        return rc == HAM_OK ? 1 : rc;
    }
    return 0;
}

static void damped_compact(void *state, const int32_t *keep, int32_t n_keep, void *user)
{
    damped_state_t *st = state;
    damped_user_t *u = user;
    size_t d = (size_t)st->dim;
    u->compact_calls++;
    if (n_keep < st->rows)
        u->shrinks++;
    for (int32_t i = 0; i < n_keep; i++) {
        if (keep[i] < i || keep[i] >= st->rows || (i > 0 && keep[i] <= keep[i - 1]))
            u->ctx_errors++;
        memmove(st->last + i * d, st->last + (size_t)keep[i] * d, d * sizeof *st->last);
        st->has[i] = st->has[keep[i]];
    }
    st->rows = n_keep;
}

static ham_solver_def_t damped_def(damped_user_t *u)
{
    ham_solver_def_t def;
    memset(&def, 0, sizeof def);
    def.size = sizeof def;
    def.name = "damped-picard";
    def.init = damped_init;
    def.fini = damped_fini;
    def.reset = damped_reset;
    def.step = damped_step;
    def.compact = damped_compact;
    def.user = u;
    return def;
}

START_TEST(test_custom_solver_matches_builtin)
{
    const int32_t op = _i % 2, use_apply = _i / 2;
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, op);
    size_t n = (size_t)B * d;
    float *ref = tu_floats(n), *s = tu_floats(n);
    ham_solve_stats_t st;
    TU_OK(tu_solve(ref, m, op, HAM_SOLVER_PICARD, B, x, 1e-6, 3000, &st));
    ck_assert_int_eq(st.converged, B);

    damped_user_t u;
    memset(&u, 0, sizeof u);
    u.dt = 0.7;
    u.use_apply = use_apply;
    ham_solver_def_t def = damped_def(&u);
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new_custom(&sv, m, op, &def));
    def.step = NULL; /* copied on registration */
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 3000));
    TU_OK(ham_solver_solve(sv, s, B, x));
    check_bookkeeping(sv, B, "custom");
    ham_solve_stats_t cs;
    tu_stats(&cs, sv);
    ck_assert_int_eq(cs.converged, B);
    ck_assert_msg(cs.iters_mean > st.iters_mean, "damping by 0.7 should slow Picard down");
    ck_assert_msg(tu_rel_diff(s, ref, n) <= 1e-4, "custom solver's fixed point differs by %g",
                  tu_rel_diff(s, ref, n));
    ck_assert_int_eq(u.init_calls, 1);
    ck_assert_int_eq(u.init_dim, d);
    ck_assert_int_ge(u.init_rows, B);
    ck_assert_int_eq(u.reset_calls, 1);
    ck_assert_int_eq(u.ctx_errors, 0);
    ck_assert_int_eq(u.mismatches, 0);
    ck_assert_msg(u.shrinks > 0, "samples never retired at different iterations");
    /* a second solve reuses the backend state */
    TU_OK(ham_solver_solve(sv, s, B, x));
    ck_assert_int_eq(u.init_calls, 1);
    ck_assert_int_eq(u.reset_calls, 2);
    ck_assert_int_eq(u.mismatches, 0);
    ham_solver_free(sv);
    ck_assert_int_eq(u.fini_calls, 1);
    free(ref);
    free(s);
    free(x);
    ham_model_free(m);
}
END_TEST

/* A sample that turns NaN is DIVERGED; the others still converge. */
START_TEST(test_nan_sample_diverges)
{
    const int32_t op = _i;
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, op);
    float *s = tu_floats((size_t)B * d), *ref = tu_floats((size_t)B * d);
    TU_OK(tu_solve(ref, m, op, HAM_SOLVER_PICARD, B, x, 1e-6, 3000, NULL));
    damped_user_t u;
    memset(&u, 0, sizeof u);
    u.dt = 1.0;
    u.nan_row0 = 1;
    ham_solver_def_t def = damped_def(&u);
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new_custom(&sv, m, op, &def));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 3000));
    TU_OK(ham_solver_solve(sv, s, B, x));
    check_bookkeeping(sv, B, "nan");
    int32_t status[16], it[16];
    TU_OK(ham_solver_get_samples(it, NULL, status, sv, B));
    ck_assert_int_eq(status[0], HAM_SAMPLE_DIVERGED);
    ck_assert_int_eq(it[0], 2); /* G(0), then G(NaN) */
    for (int32_t k = 1; k < B; k++)
        ck_assert_int_eq(status[k], HAM_SAMPLE_CONVERGED);
    ck_assert_msg(tu_rel_diff(s + d, ref + d, (size_t)(B - 1) * d) <= 1e-4,
                  "a NaN sample disturbed the others");
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_int_eq(st.diverged, 1);
    ck_assert_int_eq(st.converged, B - 1);
    ham_solver_free(sv);
    free(s);
    free(ref);
    free(x);
    ham_model_free(m);
}
END_TEST

/* A state beyond HAM_OPT_DIVERGENCE counts as diverged. */
START_TEST(test_divergence_limit)
{
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *s = tu_floats((size_t)B * d);
    ham_solver_t *sv = new_solver(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, 1e-6, 100);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_DIVERGENCE, 1.0));
    TU_OK(ham_solver_solve(sv, s, B, x));
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    /* |G(s)| > 1 for these states: check it, then expect every sample diverged */
    float *g = tu_floats((size_t)d);
    float zero[64] = {0};
    TU_OK(ham_model_apply(g, m, HAM_OPERATOR_EVEN_ODD, 1, x, zero));
    ck_assert(tu_norm(g, (size_t)d) > 1.0);
    ck_assert_int_eq(st.diverged, B);
    free(g);
    ham_solver_free(sv);
    free(s);
    free(x);
    ham_model_free(m);
}
END_TEST

START_TEST(test_custom_solver_failures)
{
    const tu_problem_t *p = &tu_problems[0];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *s = tu_floats((size_t)B * d);
    damped_user_t u;
    memset(&u, 0, sizeof u);
    u.dt = 1.0;
    ham_solver_def_t def = damped_def(&u);
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new_custom(&sv, m, HAM_OPERATOR_EVEN_ODD, &def));
    u.step_error = HAM_ERR_NUMERIC; /* a status of ours is passed through */
    TU_RC(HAM_ERR_NUMERIC, ham_solver_solve(sv, s, B, x));
    ck_assert_str_ne(ham_last_error(), "");
    u.step_error = 7; /* anything else becomes HAM_ERR_CALLBACK */
    TU_RC(HAM_ERR_CALLBACK, ham_solver_solve(sv, s, B, x));
    u.step_error = -1000;
    TU_RC(HAM_ERR_CALLBACK, ham_solver_solve(sv, s, B, x));
    u.step_error = 0;
    TU_OK(ham_solver_solve(sv, s, B, x));
    ham_solver_free(sv);
    ck_assert_int_eq(u.init_calls, u.fini_calls);
    free(s);
    free(x);
    ham_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("solver");
    /* one TCase per backend, so the log shows which backend fails */
    for (int k = 0; k < N_KINDS; k++) {
        TCase *tc = tu_tcase(kname(kinds[k]));
        int lo = k * tu_n_problems;
        tcase_add_loop_test(tc, test_F_and_G_same_fixed_point, lo, lo + tu_n_problems);
        tcase_add_loop_test(tc, test_warm_start_at_fixed_point, 2 * k, 2 * k + 2);
        tcase_add_loop_test(tc, test_converged_samples_stop_costing_work, 2 * k, 2 * k + 2);
        tcase_add_loop_test(tc, test_max_iter, 2 * k, 2 * k + 2);
        if (k == 0)
            tcase_add_loop_test(tc, test_fixed_iters, 0, 2);
        tcase_add_loop_test(tc, test_solver_reuse, 2 * k, 2 * k + 2);
        tcase_add_loop_test(tc, test_every_input_converges, 2 * k, 2 * k + 2);
        tcase_add_loop_test(tc, test_batch_equals_single, 2 * k, 2 * k + 2);
        tcase_add_loop_test(tc, test_blow_up_ends, 2 * k, 2 * k + 2);
        if (kinds[k] == HAM_SOLVER_NEWTON)
            tcase_add_test(tc, test_newton_long_state);
        suite_add_tcase(s, tc);
    }
    TCase *tc = tu_tcase("driver");
    tcase_add_test(tc, test_callback);
    tcase_add_test(tc, test_conv_test_hook);
    tcase_add_loop_test(tc, test_atol_is_either_criterion, 0, 2 * N_KINDS);
    tcase_add_test(tc, test_divergence_limit);
    tcase_add_loop_test(tc, test_nan_sample_diverges, 0, 2);
    suite_add_tcase(s, tc);
    tc = tu_tcase("custom");
    tcase_add_loop_test(tc, test_custom_solver_matches_builtin, 0, 4);
    tcase_add_test(tc, test_custom_solver_failures);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
