/* Hot loops never allocate: once a solver's workspace is sized, a solve of the same or a
 * smaller batch makes no heap allocation at all, whatever the solver and operator.
 * The library's objects are linked statically here with --wrap=malloc/calloc/realloc,
 * so every allocation they make passes through the counters below (BLAS's own, inside
 * libopenblas, does not: that is BLAS's business). */
#include <check.h>
#include <stdlib.h>

#include "test_util.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t k);
void *__wrap_realloc(void *p, size_t n);

static long allocations;

void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t k)
{
    allocations++;
    return __real_calloc(n, k);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

static const int32_t kinds[4] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN,
                                  HAM_SOLVER_NEWTON};

/* A user convergence test (the built-in relative one, restated). */
static int relative_test(const ham_conv_info_t *info, void *user)
{
    (void)user;
    return info->residual_norm < info->tol * info->output_norm;
}

/* _i: problem (the three layered ones) x operator x solver; Newton runs its GMRES path on
 * the 5- and 7-layer problems (HAM_OPT_NEWTON_MAX_DIM lowered below their state length). */
START_TEST(test_second_solve_allocates_nothing)
{
    const tu_problem_t *p = &tu_problems[_i / 8];
    int32_t op = (_i / 4) % 2, kind = kinds[_i % 4];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t dim = tu_dim(m, op);
    float *state = tu_floats((size_t)p->batch * dim);
    ham_solver_t *sv;
    TU_OK(ham_solver_new(&sv, m, op, kind));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-7));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 60));
    if (p->n_layers > 3)
        TU_OK(ham_solver_set_option(sv, HAM_OPT_NEWTON_MAX_DIM, 4));
    TU_OK(ham_solver_solve(sv, state, p->batch, x)); /* sizes the workspace */

    /* no ck_assert in between: Check itself is linked statically and allocates */
    long before = allocations;
    int rc1 = ham_solver_solve(sv, state, p->batch, x);
    int rc2 = ham_solver_solve(sv, state, p->batch > 1 ? p->batch - 1 : 1, x);
    int rc3 = ham_solver_set_conv_test(sv, relative_test, NULL);
    int rc4 = ham_solver_solve(sv, state, p->batch, x); /* through the user's test */
    long after = allocations;
    ck_assert_int_eq(rc1, HAM_OK);
    ck_assert_int_eq(rc2, HAM_OK);
    ck_assert_int_eq(rc3, HAM_OK);
    ck_assert_int_eq(rc4, HAM_OK);
    ham_solve_stats_t st;
    tu_stats(&st, sv);
    ck_assert_msg(after == before, "%s %s/%s: %ld allocations in three solves (%.1f iters)",
                  p->name, ham_operator_name(op), ham_solver_kind_name(kind), after - before,
                  st.iters_mean);
    ck_assert_msg(st.iters_mean > 2.0, "the solve ran only %.1f iterations", st.iters_mean);

    ham_solver_free(sv);
    free(state);
    free(x);
    ham_model_free(m);
}
END_TEST

/* _i: solver kind. Split over 3 threads (HAM_OPT_THREADS): once the pool and the chunks'
 * workspaces exist, solves of the same or smaller batches allocate nothing on any
 * thread. The counter is not atomic: allocations only happen in the first solve here. */
START_TEST(test_split_solve_allocates_nothing)
{
    const int32_t sizes[4] = {20, 40, 24, 6};
    enum { B = 50 };
    int32_t kind = kinds[_i];
    ham_model_t *m = tu_model_new(4, sizes, HAM_MODEL_CLAMPED_INPUT, 7, 0.6);
    float *x = tu_floats((size_t)B * sizes[0]);
    for (size_t i = 0; i < (size_t)B * sizes[0]; i++)
        x[i] = (float)((i * 7919) % 101) / 101.0f;
    int32_t dim = tu_dim(m, HAM_OPERATOR_EVEN_ODD);
    float *state = tu_floats((size_t)B * dim);
    ham_solver_t *sv;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, kind));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_THREADS, 3));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_NEWTON_MAX_DIM, 4));
    TU_OK(ham_solver_solve(sv, state, B, x)); /* starts the workers, sizes the chunks */

    long before = allocations;
    int rc1 = ham_solver_solve(sv, state, B, x);
    int rc2 = ham_solver_solve(sv, state, B - 2, x);
    long after = allocations;
    ck_assert_int_eq(rc1, HAM_OK);
    ck_assert_int_eq(rc2, HAM_OK);
    ck_assert_msg(after == before, "%s: %ld allocations in two split solves",
                  ham_solver_kind_name(kind), after - before);
    ham_solver_free(sv);
    free(state);
    free(x);
    ham_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tu_tcase("alloc");
    tcase_add_loop_test(tc, test_second_solve_allocates_nothing, 0, TU_N_LAYERED * 8);
    tcase_add_loop_test(tc, test_split_solve_allocates_nothing, 0, 4);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
