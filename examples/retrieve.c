/* retrieve: solve a batch of a 784-512-10 HAM with the even-odd operator and Anderson
 * acceleration, and print what each sample took.
 *
 * Build against an installed libhamdeq:
 *     cc retrieve.c $(pkg-config --cflags --libs hamdeq) -o retrieve
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#define BATCH 8

/* Stops with the library's message when a call fails. */
static int check(int status, const char *what, const char *detail)
{
    if (status != HAM_OK)
        fprintf(stderr, "retrieve: %s: %s%s%s\n", what, ham_strerror(status),
                detail && *detail ? ": " : "", detail ? detail : "");
    return status != HAM_OK;
}

int main(void)
{
    const int32_t sizes[] = {784, 512, 10};
    ham_model_t *model = NULL;
    ham_solver_t *solver = NULL;
    float *x = NULL, *state = NULL;
    int rc = 1;

    /* The paper's model: shifted sigmoid everywhere (the default), Xavier weights. */
    if (check(ham_model_new(&model, 3, sizes, HAM_MODEL_CLAMPED_INPUT), "ham_model_new", NULL) ||
        check(ham_model_init_xavier(model, 1), "ham_model_init_xavier", ham_last_error()))
        goto done;

    /* Inputs: BATCH images of 784 "pixels" in [0, 1) from a small fixed generator. */
    x = malloc(sizeof *x * BATCH * 784);
    uint32_t rng = 12345u;
    for (int i = 0; x && i < BATCH * 784; i++) {
        rng = rng * 1664525u + 1013904223u;
        x[i] = (float)(rng >> 8) / 16777216.0f;
    }

    /* The even-odd state holds only the output layer: 10 floats per sample. */
    int32_t dim = 0;
    if (check(ham_model_state_dim(&dim, model, HAM_OPERATOR_EVEN_ODD), "ham_model_state_dim",
              NULL))
        goto done;
    state = malloc(sizeof *state * BATCH * (size_t)dim);
    if (!x || !state) {
        fprintf(stderr, "retrieve: out of memory\n");
        goto done;
    }

    if (check(ham_solver_new(&solver, model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON),
              "ham_solver_new", NULL) ||
        check(ham_solver_set_option(solver, HAM_OPT_TOL, 1e-4), "tol",
              ham_last_error()) ||
        check(ham_solver_solve(solver, state, BATCH, x), "ham_solver_solve",
              ham_last_error()))
        goto done;

    int32_t iters[BATCH], status[BATCH];
    double resid[BATCH];
    if (check(ham_solver_get_samples(iters, resid, status, solver, BATCH),
              "ham_solver_get_samples", ham_last_error()))
        goto done;

    printf("libhamdeq %s: 784-512-10, even-odd + Anderson, tol 1e-4\n", ham_version_string());
    printf("sample  iterations  residual   status     argmax\n");
    for (int k = 0; k < BATCH; k++) {
        const float *s = state + (size_t)k * dim;
        int best = 0;
        for (int j = 1; j < dim; j++)
            if (s[j] > s[best])
                best = j;
        printf("%6d  %10d  %.2e  %-9s  %6d\n", k, (int)iters[k], resid[k],
               status[k] == HAM_SAMPLE_CONVERGED ? "converged"
               : status[k] == HAM_SAMPLE_MAX_ITER ? "max-iter"
                                                  : "diverged",
               best);
    }
    ham_solve_stats_t st = {.size = sizeof st};
    if (check(ham_solver_get_stats(&st, solver), "ham_solver_get_stats", NULL))
        goto done;
    printf("mean %.2f iterations, %d of %d converged\n", st.iters_mean, (int)st.converged,
           (int)st.samples);
    rc = st.converged == st.samples ? 0 : 1;

done:
    ham_solver_free(solver); /* solvers first: they borrow the model */
    ham_model_free(model);
    free(state);
    free(x);
    return rc;
}
