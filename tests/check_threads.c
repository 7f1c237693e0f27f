/* Threads over samples (HAM_OPT_THREADS, HAM_TRAIN_THREADS): a solve split over threads
 * is bit for bit the same from run to run at one thread count, and the same up to float
 * rounding across thread counts (uneven chunks included); the training step likewise;
 * the option's bounds, 0 (the machine's cores), more threads than samples, and the rules
 * that keep a solve on one thread. Built with -Db_sanitize=thread (clang) it is also a
 * ThreadSanitizer test of .ci/run. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_private.h"
#include "test_util.h"

/* 50 samples: 3 chunks of 17, 17 and 16 samples, or 2 of 25. The 40 x 24 block is not
 * thin (a BLAS product per chunk and iteration, far below the serial threshold); the
 * 24 x 6 one is (thin.c). */
enum { BATCH = 50 };
static const int32_t sizes[4] = {20, 40, 24, 6};

static const int32_t kinds[4] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN,
                                  HAM_SOLVER_NEWTON};

static ham_model_t *model(void)
{
    ham_model_t *m = tu_model_new(4, sizes, HAM_MODEL_CLAMPED_INPUT, 7, 0.6);
    tu_model_random_biases(m, 7, 0.3);
    return m;
}

static float *inputs(int32_t batch)
{
    float *x = tu_floats((size_t)batch * sizes[0]);
    tu_rng_t r;
    tu_rng_seed(&r, 99);
    tu_fill(x, (size_t)batch * sizes[0], &r, 0.0, 1.0);
    return x;
}

typedef struct result {
    float *state;
    int32_t iters[BATCH], status[BATCH];
    double resid[BATCH];
    ham_solve_stats_t stats;
} result_t;

/* One solve of `batch` samples with `threads` threads on a fresh solver, or on `sv`. */
static void run(result_t *res, ham_solver_t *sv, int32_t batch, const float *x, double threads)
{
    int32_t dim;
    TU_OK(ham_model_state_dim(&dim, ham_solver_model(sv), ham_solver_operator(sv)));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, threads));
    res->state = tu_floats((size_t)batch * dim);
    TU_OK(ham_solver_solve(sv, res->state, batch, x));
    TU_OK(ham_solver_get_samples(res->iters, res->resid, res->status, sv, batch));
    memset(&res->stats, 0, sizeof res->stats);
    res->stats.size = sizeof res->stats;
    TU_OK(ham_solver_get_stats(&res->stats, sv));
}

static ham_solver_t *solver(const ham_model_t *m, int32_t op, int32_t kind)
{
    ham_solver_t *sv;
    TU_OK(ham_solver_new(&sv, m, op, kind));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 300));
    if (kind == HAM_SOLVER_NEWTON) /* GMRES: one tangent per sample */
        TU_OK(ham_solver_set_option(sv, HAM_OPT_NEWTON_MAX_DIM, 8));
    return sv;
}

/* _i: operator x solver kind. Threads 1, 2, 3 (uneven chunks): the same statuses, states
 * within float rounding; 2 and 3 again on the same solver: bit for bit. */
START_TEST(test_thread_counts_agree)
{
    int32_t op = _i / 4, kind = kinds[_i % 4];
    ham_model_t *m = model();
    float *x = inputs(BATCH);
    int32_t dim;
    TU_OK(ham_model_state_dim(&dim, m, op));
    ham_solver_t *sv = solver(m, op, kind);
    result_t one, r[2][2];
    run(&one, sv, BATCH, x, 1);
    for (int t = 0; t < 2; t++) {
        TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, t + 2));
        ck_assert_int_eq(hamp_split_threads(sv, BATCH), t + 2);
        for (int again = 0; again < 2; again++)
            run(&r[t][again], sv, BATCH, x, t + 2);
        ck_assert_msg(memcmp(r[t][0].state, r[t][1].state, (size_t)BATCH * dim * sizeof(float)) ==
                          0,
                      "%d threads: two runs differ", t + 2);
        ck_assert(memcmp(&r[t][0].stats, &r[t][1].stats, sizeof r[t][0].stats) == 0);
        ck_assert(memcmp(r[t][0].iters, r[t][1].iters, sizeof r[t][0].iters) == 0);
        ck_assert(memcmp(r[t][0].status, r[t][1].status, sizeof r[t][0].status) == 0);
        ck_assert(memcmp(r[t][0].resid, r[t][1].resid, sizeof r[t][0].resid) == 0);
        ck_assert_int_eq(r[t][0].stats.samples, BATCH);
        ck_assert_int_eq(r[t][0].stats.converged, one.stats.converged);
        ck_assert_int_eq(r[t][0].stats.diverged, one.stats.diverged);
        for (int32_t k = 0; k < BATCH; k++) {
            ck_assert_int_eq(r[t][0].status[k], one.status[k]);
            double d = tu_rel_diff(r[t][0].state + (size_t)k * dim, one.state + (size_t)k * dim,
                                   (size_t)dim);
            ck_assert_msg(d < 1e-5, "%s %s, %d threads, sample %d: relative difference %g",
                          ham_operator_name(op), ham_solver_kind_name(kind), t + 2, (int)k, d);
        }
        free(r[t][0].state);
        free(r[t][1].state);
    }
    ck_assert_int_eq(one.stats.converged, BATCH); /* the comparison is of fixed points */
    free(one.state);
    ham_solver_free(sv);
    ham_model_free(m);
    free(x);
}
END_TEST

/* Warm start, the stability check and attractor-safe mode through the split. */
START_TEST(test_split_with_warm_start_and_stability)
{
    ham_model_t *m = model();
    float *x = inputs(BATCH);
    int32_t dim;
    TU_OK(ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD));
    result_t r[2];
    for (int t = 0; t < 2; t++) {
        ham_solver_t *sv = solver(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON);
        TU_OK(ham_solver_set_option(sv, HAM_OPT_STABILITY_CHECK, 5));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_ATTRACTOR_SAFE, 1));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
        r[t].state = tu_floats((size_t)BATCH * dim);
        for (size_t i = 0; i < (size_t)BATCH * dim; i++)
            r[t].state[i] = (float)(0.01 * (double)(i % 7));
        TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, t + 1));
        TU_OK(ham_solver_solve(sv, r[t].state, BATCH, x));
        TU_OK(ham_solver_get_samples(r[t].iters, r[t].resid, r[t].status, sv, BATCH));
        r[t].stats.size = sizeof r[t].stats;
        TU_OK(ham_solver_get_stats(&r[t].stats, sv));
        ham_solver_free(sv);
    }
    ck_assert_int_eq(r[1].stats.converged + r[1].stats.unstable, r[0].stats.converged + r[0].stats.unstable);
    ck_assert_int_eq(r[1].stats.jacobian_products > 0, r[0].stats.jacobian_products > 0);
    for (int32_t k = 0; k < BATCH; k++)
        ck_assert_int_eq(r[1].status[k], r[0].status[k]);
    ck_assert(tu_rel_diff(r[1].state, r[0].state, (size_t)BATCH * dim) < 1e-5);
    free(r[0].state);
    free(r[1].state);
    ham_model_free(m);
    free(x);
}
END_TEST

/* A free-input model (no drive): 2 threads as 1, within rounding. */
START_TEST(test_free_input_split)
{
    const int32_t fsizes[3] = {30, 24, 6};
    ham_model_t *m = tu_model_new(3, fsizes, HAM_MODEL_FREE_INPUT, 4, 0.6);
    tu_model_random_biases(m, 4, 0.5);
    int32_t dim;
    TU_OK(ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD));
    ham_solver_t *sv = solver(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON);
    result_t a, b;
    run(&a, sv, BATCH, NULL, 1);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 2));
    ck_assert_int_eq(hamp_split_threads(sv, BATCH), 2);
    run(&b, sv, BATCH, NULL, 2);
    ck_assert_int_eq(b.stats.converged, a.stats.converged);
    ck_assert(tu_rel_diff(a.state, b.state, (size_t)BATCH * dim) < 1e-5);
    free(a.state);
    free(b.state);
    ham_solver_free(sv);
    ham_model_free(m);
}
END_TEST

/* Bounds: -1, 257, 1.5 and NaN refused with a message, the value kept; 0 and 256 taken;
 * the same for the trainer, whose option reaches its forward solver. */
START_TEST(test_option_bounds)
{
    ham_model_t *m = model();
    ham_solver_t *sv = solver(m, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD);
    double v, def, lo, hi;
    TU_OK(ham_solver_option_info(&def, &lo, &hi, HAM_OPT_THREADS));
    ck_assert(def == 1 && lo == 0 && hi == 256);
    TU_OK(ham_solver_get_option(&v, sv, HAM_OPT_THREADS));
    ck_assert(v == 1);
    const double bad[] = {-1, 257, 1.5, NAN};
    for (size_t i = 0; i < 4; i++) {
        TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_THREADS, bad[i]));
        TU_OK(ham_solver_get_option(&v, sv, HAM_OPT_THREADS));
        ck_assert(v == 1);
    }
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 256));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 0));
    ham_trainer_t *t;
    TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_trainer_option_info(&def, &lo, &hi, HAM_TRAIN_THREADS));
    ck_assert(def == 1 && lo == 0 && hi == 256);
    for (size_t i = 0; i < 4; i++)
        TU_RC(HAM_ERR_INVALID, ham_trainer_set_option(t, HAM_TRAIN_THREADS, bad[i]));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_THREADS, 3));
    TU_OK(ham_trainer_get_option(&v, t, HAM_TRAIN_THREADS));
    ck_assert(v == 3);
    TU_OK(ham_solver_get_option(&v, ham_trainer_solver(t), HAM_OPT_THREADS));
    ck_assert(v == 3);
    ham_trainer_free(t);
    ham_solver_free(sv);
    ham_model_free(m);
}
END_TEST

/* 0 (the machine's cores) solves; more threads than samples solves a batch of 5 exactly as
 * one thread does (too few samples to split), and so does a batch of 50 with a callback. */
static int no_op(const ham_iter_info_t *info, void *user)
{
    (void)info;
    (void)user;
    return 0;
}

START_TEST(test_zero_and_more_threads_than_samples)
{
    ham_model_t *m = model();
    float *x = inputs(BATCH);
    int32_t dim;
    TU_OK(ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD));
    ham_solver_t *sv = solver(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_BROYDEN);
    result_t a, b;
    run(&a, sv, BATCH, x, 1);
    run(&b, sv, BATCH, x, 0);
    ck_assert_int_eq(b.stats.converged, a.stats.converged);
    ck_assert(tu_rel_diff(a.state, b.state, (size_t)BATCH * dim) < 1e-5);
    free(a.state);
    free(b.state);
    run(&a, sv, 5, x, 1);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 64));
    ck_assert_int_eq(hamp_split_threads(sv, 5), 1);
    run(&b, sv, 5, x, 64);
    ck_assert(memcmp(a.state, b.state, (size_t)5 * dim * sizeof(float)) == 0);
    free(a.state);
    free(b.state);
    TU_OK(ham_solver_set_callback(sv, no_op, NULL));
    ck_assert_int_eq(hamp_split_threads(sv, BATCH), 1); /* user code stays on the caller */
    TU_OK(ham_solver_set_callback(sv, NULL, NULL));
    ck_assert_int_eq(hamp_split_threads(sv, BATCH), 3);
    ham_solver_free(sv);
    ham_model_free(m);
    free(x);
}
END_TEST

/* A block whose chunk product would wake BLAS's threads (16 x 600 x 500 multiply-adds):
 * the batch stays whole, left to BLAS. */
START_TEST(test_large_blocks_stay_with_blas)
{
    const int32_t big[4] = {8, 600, 500, 4};
    ham_model_t *m = tu_model_new(4, big, HAM_MODEL_CLAMPED_INPUT, 3, 1.0);
    ham_solver_t *sv;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 4));
    ck_assert_int_eq(hamp_split_threads(sv, 64), 1);
    ham_solver_free(sv);
    ham_model_free(m);
    ham_model_t *small = model();
    TU_OK(ham_solver_new(&sv, small, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 4));
    ck_assert_int_eq(hamp_split_threads(sv, 64), 4);
    ck_assert_int_eq(hamp_split_threads(sv, 63), 3); /* chunks of at least 16 */
    ham_solver_free(sv);
    ham_model_free(small);
}
END_TEST

/* Three training steps with 1 and with 2 threads from the same model: the weights stay
 * within float rounding of each other; twice with 2 threads: bit for bit. The model has
 * 67,344 weights, so that the optimiser's update is split too (two parts of at least
 * 32768). */
static const int32_t tsizes[4] = {200, 300, 24, 6};

static float *train(int threads, int32_t *n_out)
{
    ham_model_t *m = tu_model_new(4, tsizes, HAM_MODEL_CLAMPED_INPUT, 5, 0.6);
    float *x = tu_floats((size_t)BATCH * tsizes[0]);
    tu_rng_t r;
    tu_rng_seed(&r, 5);
    tu_fill(x, (size_t)BATCH * tsizes[0], &r, 0.0, 1.0);
    int32_t labels[BATCH];
    for (int32_t k = 0; k < BATCH; k++)
        labels[k] = k % tsizes[3];
    ham_trainer_t *t;
    TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_THREADS, threads));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_BACKWARD_TOL, 1e-6));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_BACKWARD_ITERS, 100));
    TU_OK(ham_solver_set_option(ham_trainer_solver(t), HAM_OPT_TOL, 1e-6));
    if (threads > 1)
        ck_assert_int_eq(hamp_split_threads(ham_trainer_solver(t), BATCH), threads);
    for (int s = 0; s < 3; s++)
        TU_OK(ham_trainer_step(t, NULL, NULL, BATCH, x, labels));
    size_t n = 0;
    for (int32_t l = 0; l < 3; l++)
        n += (size_t)tsizes[l] * tsizes[l + 1];
    float *w = tu_floats(n);
    size_t at = 0;
    for (int32_t l = 0; l < 3; l++) {
        size_t len = (size_t)tsizes[l] * tsizes[l + 1];
        TU_OK(ham_model_get_weights(w + at, m, l, len));
        at += len;
    }
    *n_out = (int32_t)n;
    ham_trainer_free(t);
    ham_model_free(m);
    free(x);
    return w;
}

START_TEST(test_training_threads_agree)
{
    int32_t n;
    float *w1 = train(1, &n), *w2 = train(2, &n), *w2b = train(2, &n);
    ck_assert(memcmp(w2, w2b, (size_t)n * sizeof(float)) == 0);
    double d = tu_rel_diff(w1, w2, (size_t)n);
    ck_assert_msg(d < 1e-5, "weights after 3 steps, 1 and 2 threads: relative difference %g", d);
    free(w1);
    free(w2);
    free(w2b);
}
END_TEST

/* The optimiser's update is elementwise: Madam over an array in two uneven parts gives
 * exactly the values of one pass (vector body and scalar tail agree), both exp paths. */
START_TEST(test_madam_parts_equal_one_pass)
{
    enum { N = 1001, CUT = 333 };
    float *p1 = tu_floats(N), *p2 = tu_floats(N), *g = tu_floats(N), *m1 = tu_floats(N),
          *m2 = tu_floats(N);
    tu_rng_t r;
    tu_rng_seed(&r, 3);
    tu_fill(p1, N, &r, -1.0, 1.0);
    tu_fill(g, N, &r, -0.1, 0.1);
    tu_fill(m1, N, &r, 0.0, 0.01);
    memcpy(p2, p1, N * sizeof(float));
    memcpy(m2, m1, N * sizeof(float));
    const double lrs[2] = {0.01, 0.5}; /* within and beyond the small-exponent path */
    for (int k = 0; k < 2; k++)
        for (int64_t t = 1; t <= 3; t++) {
            hamp_madam_update(p1, g, m1, N, lrs[k], 0.999, 10, 100, t, 0);
            hamp_madam_update(p2, g, m2, CUT, lrs[k], 0.999, 10, 100, t, 0);
            hamp_madam_update(p2 + CUT, g + CUT, m2 + CUT, N - CUT, lrs[k], 0.999, 10, 100, t, 0);
        }
    ck_assert(memcmp(p1, p2, N * sizeof(float)) == 0);
    ck_assert(memcmp(m1, m2, N * sizeof(float)) == 0);
    free(p1);
    free(p2);
    free(g);
    free(m1);
    free(m2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tu_tcase("threads");
    tcase_add_loop_test(tc, test_thread_counts_agree, 0, 8);
    tcase_add_test(tc, test_split_with_warm_start_and_stability);
    tcase_add_test(tc, test_option_bounds);
    tcase_add_test(tc, test_free_input_split);
    tcase_add_test(tc, test_zero_and_more_threads_than_samples);
    tcase_add_test(tc, test_large_blocks_stay_with_blas);
    tcase_add_test(tc, test_training_threads_agree);
    tcase_add_test(tc, test_madam_parts_equal_one_pass);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
