/* The option table: defaults and bounds in one place, so setters, getters and the
 * public bounds query cannot disagree. */
#include <math.h>

#include "solver/solver_private.h"

typedef struct option_info {
    double def, min, max;
    int integral;
    int open_min, open_max; /* the bound itself is excluded */
} option_info_t;

static const option_info_t options[HAMP_N_OPTIONS] = {
    [HAM_OPT_TOL] = {1e-4, 0.0, 1.0, 0, 1, 1},
    [HAM_OPT_MAX_ITER] = {100, 1, 1e6, 1, 0},
    [HAM_OPT_WARM_START] = {0, 0, 1, 1, 0},
    [HAM_OPT_DT] = {1.0, 0.0, 1.0, 0, 1},
    [HAM_OPT_ANDERSON_M] = {4, 1, 32, 1, 0},
    [HAM_OPT_ANDERSON_BETA] = {1.0, 0.0, 1.0, 0, 1},
    [HAM_OPT_ANDERSON_LAMBDA] = {1e-10, 0.0, 1.0, 0, 0},
    [HAM_OPT_ANDERSON_SAFEGUARD] = {1, 0, 1, 1, 0},
    [HAM_OPT_BROYDEN_M] = {16, 1, 256, 1, 0},
    [HAM_OPT_NEWTON_LINESEARCH] = {1, 0, 1, 1, 0},
    [HAM_OPT_NEWTON_MAX_DIM] = {256, 1, 4096, 1, 0},
    [HAM_OPT_DIVERGENCE] = {1e30, 1.0, 3e38, 0, 0},
    [HAM_OPT_NEWTON_KRYLOV_DIM] = {30, 1, 500, 1, 0},
    [HAM_OPT_NEWTON_FORCING] = {1e-2, 0.0, 1.0, 0, 1, 1},
    [HAM_OPT_FIXED_ITERS] = {0, 0, 1, 1, 0, 0},
    [HAM_OPT_ATOL] = {0.0, 0.0, 3e38, 0, 0, 0},
    [HAM_OPT_ATTRACTOR_SAFE] = {-1, -1, 2, 1, 0, 0},
    [HAM_OPT_STABILITY_CHECK] = {0, 0, 1000, 1, 0, 0},
    [HAM_OPT_THREADS] = {1, 0, HAMP_POOL_MAX, 1, 0, 0},
};

/* One entry per ham_option_t value: a new option moves HAMP_OPT_LAST_ too. */
_Static_assert(HAMP_N_OPTIONS == HAMP_OPT_LAST_ + 1, "HAMP_N_OPTIONS does not match ham_option_t");

void hamp_solver_default_options(double *opt)
{
    for (int i = 0; i < HAMP_N_OPTIONS; i++)
        opt[i] = options[i].def;
}

HAM_API int ham_solver_option_info(double *def, double *min, double *max, int32_t option)
{
    if (option < 0 || option >= HAMP_N_OPTIONS)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPTION);
    if (def)
        *def = options[option].def;
    if (min)
        *min = options[option].min;
    if (max)
        *max = options[option].max;
    return HAM_OK;
}

HAM_API int ham_solver_set_option(ham_solver_t *solver, int32_t option, double value)
{
    if (!solver)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (option < 0 || option >= HAMP_N_OPTIONS)
        return hamp_fail(HAM_ERR_UNKNOWN_OPTION, "unknown option %d", (int)option);
    const option_info_t *o = &options[option];
    int below = o->open_min ? !(value > o->min) : !(value >= o->min);
    int above = o->open_max ? !(value < o->max) : !(value <= o->max);
    if (isnan(value) || below || above)
        return hamp_fail(HAM_ERR_INVALID, "option %d: %g is outside %s%g, %g%s",
                         (int)option, value, o->open_min ? "(" : "[", o->min, o->max,
                         o->open_max ? ")" : "]");
    if (o->integral && value != floor(value))
        return hamp_fail(HAM_ERR_INVALID, "option %d takes an integer, got %g",
                         (int)option, value);
    solver->opt[option] = value;
    return HAM_OK;
}

HAM_API int ham_solver_get_option(double *value, const ham_solver_t *solver, int32_t option)
{
    if (!value || !solver)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (option < 0 || option >= HAMP_N_OPTIONS)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPTION);
    *value = solver->opt[option];
    return HAM_OK;
}
