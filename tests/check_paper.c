/* The paper's setting (docs/math.md section 5, Appendix C): a fresh 784-512-10 HAM with
 * Xavier-uniform weights, zero biases, shifted sigmoid everywhere, zero initial state,
 * 64 inputs with pixels in [0, 1], tolerance 1e-4. The ordering of mean iteration counts
 * of paper Table 1 must hold (Picard on F slower than on G), and the accelerated solvers
 * must beat it (Anderson on F faster than Picard on F, Newton on G the fastest of all).
 * The table of mean iterations is printed into the test log. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

#define N_KINDS 4

static const int32_t kinds[N_KINDS] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON,
                                       HAM_SOLVER_BROYDEN, HAM_SOLVER_NEWTON};

START_TEST(test_paper_iteration_ordering)
{
    const int32_t sizes[3] = {784, 512, 10};
    const int32_t B = 64;
    const double tol = 1e-4;
    ham_model_t *m = NULL;
    TU_OK(ham_model_new(&m, 3, sizes, HAM_MODEL_CLAMPED_INPUT));
    TU_OK(ham_model_init_xavier(m, 2024));
    for (int32_t l = 0; l < 3; l++) { /* the defaults, but the test states the setting */
        int32_t kind;
        TU_OK(ham_model_get_lagrangian(&kind, NULL, m, l));
        ck_assert_int_eq(kind, HAM_LAGRANGIAN_SHIFTED_SIGMOID);
    }
    float *x = tu_floats((size_t)B * 784);
    tu_rng_t r;
    tu_rng_seed(&r, 2025);
    tu_fill(x, (size_t)B * 784, &r, 0.0, 1.0);

    double mean[2][N_KINDS];
    int32_t worst[2][N_KINDS];
    for (int32_t op = 0; op < 2; op++) {
        int32_t d = tu_dim(m, op);
        ck_assert_int_eq(d, op == HAM_OPERATOR_SYNC ? 522 : 10);
        for (int k = 0; k < N_KINDS; k++) {
            float *s = tu_floats((size_t)B * d);
            ham_solve_stats_t st;
            /* a cap of 200: Broyden on F is chaotic in the last bits of the operator (one of
             * these samples took 43 evaluations with BLAS's products, 101 with thin.c's,
             * both exact to float rounding); the means compared below are not */
            int rc = tu_solve(s, m, op, kinds[k], B, x, tol, 200, &st);
            ck_assert_msg(rc == HAM_OK, "%s on %s: %s", ham_solver_kind_name(kinds[k]),
                          ham_operator_name(op), ham_status_name(rc));
            ck_assert_msg(st.converged == B, "%s on %s: %d of %d converged",
                          ham_solver_kind_name(kinds[k]), ham_operator_name(op),
                          (int)st.converged, (int)B);
            mean[op][k] = st.iters_mean;
            worst[op][k] = st.iters_max;
            free(s);
        }
    }

    printf("\nmean (max) operator evaluations to r < %g, 784-512-10, %d random inputs\n", tol,
           (int)B);
    printf("%-10s", "operator");
    for (int k = 0; k < N_KINDS; k++)
        printf(" %14s", ham_solver_kind_name(kinds[k]));
    printf("\n");
    for (int32_t op = 0; op < 2; op++) {
        printf("%-10s", ham_operator_name(op));
        for (int k = 0; k < N_KINDS; k++)
            printf("     %5.2f (%2d)", mean[op][k], (int)worst[op][k]);
        printf("\n");
    }
    printf("(paper Table 1, trained models: HAM 8.2, HAM-EO 5.1, HAM-EO-DEQ 4.5)\n");
    fflush(stdout);

    const int S = HAM_OPERATOR_SYNC, E = HAM_OPERATOR_EVEN_ODD;
    ck_assert_msg(mean[S][0] > mean[E][0], "Picard: F %.2f not slower than G %.2f", mean[S][0],
                  mean[E][0]);
    ck_assert_msg(mean[S][1] < mean[S][0], "on F: Anderson %.2f not faster than Picard %.2f",
                  mean[S][1], mean[S][0]);
    for (int32_t op = 0; op < 2; op++)
        for (int k = 0; k < N_KINDS; k++)
            if (!(op == E && kinds[k] == HAM_SOLVER_NEWTON))
                ck_assert_msg(mean[E][3] < mean[op][k], "Newton on G (%.2f) not below %s on %s (%.2f)",
                              mean[E][3], ham_solver_kind_name(kinds[k]), ham_operator_name(op),
                              mean[op][k]);
    free(x);
    ham_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("paper");
    TCase *tc = tu_tcase("table1");
    tcase_add_test(tc, test_paper_iteration_ordering);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
