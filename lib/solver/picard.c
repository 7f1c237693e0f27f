/* Picard iteration / forward Euler: s <- (1 - dt) s + dt G(s). With dt = 1 on the
 * even-odd G this is block-coordinate descent on the energy. */
#include "solver/solver_private.h"

static int picard_init(ham_solver_t *sv, void **state, int32_t dim, int32_t cap)
{
    (void)sv;
    (void)dim;
    (void)cap;
    *state = NULL; /* no history */
    return HAM_OK;
}

static void picard_fini(ham_solver_t *sv, void *state)
{
    (void)sv;
    (void)state;
}

static int picard_step(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows)
{
    (void)state;
    const float dt = (float)sv->opt[HAM_OPT_DT];
    const size_t n = (size_t)rows * (size_t)sv->dim;
    if (dt == 1.0f) {
        (void)n;
        return HAMP_STEP_SWAP; /* s <- G(s): the driver swaps the two buffers, no copy */
    } else {
        for (size_t i = 0; i < n; i++)
            s[i] += dt * (gs[i] - s[i]);
    }
    return 0;
}

const hamp_solver_ops_t hamp_solver_picard = {"picard", picard_init, picard_fini, NULL,
                                              picard_step, NULL, NULL};
