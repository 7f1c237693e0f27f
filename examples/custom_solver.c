/* custom_solver: plug your own fixed-point iteration into the solver driver.
 *
 * The backend below is damped Picard, s <- s + dt (G(s) - s). The driver does the rest:
 * it evaluates the operator, tests convergence per sample, retires converged samples and
 * keeps the statistics, exactly as for a built-in solver. The program checks the backend
 * against the built-in Picard with the same damping (HAM_OPT_DT): same iteration count
 * and same fixed point for every sample.
 *
 * Damping matters for the synchronous operator F, which updates every layer from the
 * previous state at once and can oscillate where the even-odd operator would not.
 *
 *     cc custom_solver.c $(pkg-config --cflags --libs hamdeq) -o custom_solver
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#define BATCH 16
#define DT 0.5

/* The backend's parameters travel in `user`; this one keeps no per-sample history, so
 * it needs no state of its own (init leaves it NULL) and no `compact`. A backend with
 * history (Anderson-like) would allocate `max_rows x dim` arrays in init and move rows
 * in compact when the driver retires converged samples. */
typedef struct damping {
    float dt;
} damping_t;

static int damped_init(void **state, int32_t dim, int32_t max_rows, void *user)
{
    (void)dim, (void)max_rows, (void)user;
    *state = NULL;
    return 0;
}

static void damped_fini(void *state, void *user)
{
    (void)state, (void)user;
}

/* s holds `rows` iterates and gs their images G(s); replace s by the next iterate.
 * Returning 0 tells the driver to evaluate G at the new s itself. */
static int damped_step(void *state, ham_step_t *step, float *s, float *gs, int32_t rows,
                       void *user)
{
    (void)state;
    const float dt = ((const damping_t *)user)->dt;
    const size_t n = (size_t)rows * (size_t)ham_step_dim(step);
    for (size_t i = 0; i < n; i++)
        s[i] += dt * (gs[i] - s[i]);
    return 0;
}

/* Solves the batch with `solver` and returns the per-sample iteration counts. */
static int run(ham_solver_t *solver, float *state, int32_t *iters, int32_t *status,
               const float *x, const char *name)
{
    int rc;
    if ((rc = ham_solver_set_option(solver, HAM_OPT_TOL, 1e-5)) != HAM_OK ||
        (rc = ham_solver_set_option(solver, HAM_OPT_MAX_ITER, 500)) != HAM_OK ||
        (rc = ham_solver_solve(solver, state, BATCH, x)) != HAM_OK ||
        (rc = ham_solver_get_samples(iters, NULL, status, solver, BATCH)) != HAM_OK) {
        fprintf(stderr, "custom_solver: %s: %s\n", name, ham_last_error());
        return rc;
    }
    ham_solve_stats_t st = {.size = sizeof st};
    ham_solver_get_stats(&st, solver);
    printf("%-16s mean %6.2f iterations, %d of %d converged\n", name, st.iters_mean,
           (int)st.converged, (int)st.samples);
    return HAM_OK;
}

int main(void)
{
    const int32_t sizes[] = {64, 48, 32, 10};
    ham_model_t *model = NULL;
    ham_solver_t *mine = NULL, *builtin = NULL;
    float *x = malloc(sizeof *x * BATCH * 64), *s1 = NULL, *s2 = NULL;
    int32_t dim = 0, it1[BATCH], it2[BATCH], st1[BATCH], st2[BATCH];
    int ret = 1;

    if (ham_model_new(&model, 4, sizes, HAM_MODEL_CLAMPED_INPUT) != HAM_OK ||
        ham_model_init_xavier(model, 7) != HAM_OK ||
        ham_model_state_dim(&dim, model, HAM_OPERATOR_SYNC) != HAM_OK) {
        fprintf(stderr, "custom_solver: %s\n", ham_last_error());
        goto done;
    }
    s1 = malloc(sizeof *s1 * BATCH * (size_t)dim);
    s2 = malloc(sizeof *s2 * BATCH * (size_t)dim);
    if (!x || !s1 || !s2) {
        fprintf(stderr, "custom_solver: out of memory\n");
        goto done;
    }
    uint32_t rng = 99u;
    for (int i = 0; i < BATCH * 64; i++) { /* inputs in [0, 1) */
        rng = rng * 1664525u + 1013904223u;
        x[i] = (float)(rng >> 8) / 16777216.0f;
    }

    /* The definition is copied by ham_solver_new_custom(); `damping` is borrowed (no
     * destroy), so it must outlive the solver: here it lives until main returns. */
    damping_t damping = {(float)DT};
    ham_solver_def_t def = {0};
    def.size = sizeof def;
    def.name = "damped-picard";
    def.init = damped_init;
    def.fini = damped_fini;
    def.step = damped_step;
    def.user = &damping;
    if (ham_solver_new_custom(&mine, model, HAM_OPERATOR_SYNC, &def) != HAM_OK ||
        ham_solver_new(&builtin, model, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD) != HAM_OK ||
        ham_solver_set_option(builtin, HAM_OPT_DT, DT) != HAM_OK) {
        fprintf(stderr, "custom_solver: %s\n", ham_last_error());
        goto done;
    }
    printf("%d-%d-%d-%d model, synchronous operator, damping dt = %.2f, tol 1e-5\n",
           (int)sizes[0], (int)sizes[1], (int)sizes[2], (int)sizes[3], DT);
    if (run(mine, s1, it1, st1, x, "custom backend") != HAM_OK ||
        run(builtin, s2, it2, st2, x, "built-in picard") != HAM_OK)
        goto done;

    /* Same arithmetic, same driver: every sample must take as many iterations and end at
     * the same state (to rounding, should a compiler contract a*b+c differently). */
    int same_iters = 1, all_converged = 1;
    double diff = 0;
    for (int k = 0; k < BATCH; k++) {
        same_iters &= it1[k] == it2[k];
        all_converged &= st1[k] == HAM_SAMPLE_CONVERGED && st2[k] == HAM_SAMPLE_CONVERGED;
    }
    for (size_t i = 0; i < (size_t)BATCH * (size_t)dim; i++) {
        double d = (double)s1[i] - (double)s2[i];
        if (d < 0 ? -d > diff : d > diff)
            diff = d < 0 ? -d : d;
    }
    printf("iteration counts %s; largest state difference %.2e\n",
           same_iters ? "identical" : "DIFFERENT", diff);
    ret = !(same_iters && all_converged && diff < 1e-6);

done:
    ham_solver_free(mine);
    ham_solver_free(builtin);
    ham_model_free(model);
    free(x);
    free(s1);
    free(s2);
    return ret;
}
