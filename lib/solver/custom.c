/* Adapter from a user's backend (ham_solver_def_t) to the private backend ops. */
#include "solver/solver_private.h"

/* A user's negative status is kept when libhamdeq defines it, else HAM_ERR_CALLBACK; either
 * way the message says which callback failed. */
static int callback_failed(const ham_solver_t *sv, const char *what, int rc)
{
    return hamp_fail(rc < 0 && hamp_status_known(rc) ? rc : HAM_ERR_CALLBACK,
                     "custom solver backend '%s': %s returned %d",
                     sv->custom.name ? sv->custom.name : "(unnamed)", what, rc);
}

static int custom_init(ham_solver_t *sv, void **state, int32_t dim, int32_t cap)
{
    *state = NULL;
    int rc = sv->custom.init(state, dim, cap, sv->custom.user);
    if (rc != 0)
        return callback_failed(sv, "init", rc);
    return HAM_OK;
}

static void custom_fini(ham_solver_t *sv, void *state)
{
    sv->custom.fini(state, sv->custom.user);
}

static int custom_reset(ham_solver_t *sv, void *state, int32_t rows)
{
    if (!sv->custom.reset)
        return HAM_OK;
    int rc = sv->custom.reset(state, rows, sv->custom.user);
    if (rc != 0)
        return callback_failed(sv, "reset", rc);
    return HAM_OK;
}

static int custom_step(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows)
{
    sv->step.rows = rows;
    int rc = sv->custom.step(state, &sv->step, s, gs, rows, sv->custom.user);
    if (rc == 0 || rc == HAMP_STEP_G_READY)
        return rc;
    return callback_failed(sv, "step", rc);
}

static void custom_compact(ham_solver_t *sv, void *state, const int32_t *keep, int32_t n_keep)
{
    if (sv->custom.compact)
        sv->custom.compact(state, keep, n_keep, sv->custom.user);
}

const hamp_solver_ops_t hamp_solver_custom = {"custom", custom_init, custom_fini, custom_reset,
                                              custom_step, custom_compact, NULL};
