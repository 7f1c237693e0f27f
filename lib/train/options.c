/* The trainer's option table: defaults and bounds in one place. */
#include <math.h>

#include "train/train_private.h"

typedef struct train_option {
    double def, min, max;
    int integral, open_min, open_max;
} train_option_t;

static const train_option_t options[HAMP_N_TRAIN_OPTIONS] = {
    [HAM_TRAIN_LOSS] = {HAM_LOSS_MSE, 0, 1, 1, 0, 0},
    [HAM_TRAIN_OPTIMIZER] = {HAM_OPTIMIZER_MADAM, 0, 2, 1, 0, 0},
    [HAM_TRAIN_LR] = {0.01, 0, 10, 0, 1, 0},
    [HAM_TRAIN_MOMENTUM] = {0.9, 0, 1, 0, 0, 1},
    [HAM_TRAIN_ADAM_BETA1] = {0.9, 0, 1, 0, 0, 1},
    [HAM_TRAIN_ADAM_BETA2] = {0.999, 0, 1, 0, 0, 1},
    [HAM_TRAIN_ADAM_EPS] = {1e-8, 0, 1, 0, 0, 0},
    [HAM_TRAIN_MADAM_SCALE] = {1024, 0, 1e9, 0, 1, 0},
    [HAM_TRAIN_MADAM_GBOUND] = {10, 0, 1e9, 0, 1, 0},
    [HAM_TRAIN_MADAM_BIASES] = {0, 0, 1, 1, 0, 0},
    [HAM_TRAIN_GRADIENT] = {HAM_GRADIENT_IMPLICIT, 0, 1, 1, 0, 0},
    [HAM_TRAIN_BACKWARD_SOLVER] = {-1, -1, HAM_SOLVER_BROYDEN, 1, 0, 0},
    [HAM_TRAIN_BACKWARD_ITERS] = {8, 1, 1e6, 1, 0, 0},
    [HAM_TRAIN_BACKWARD_TOL] = {0, 0, 1, 0, 0, 1},
    [HAM_TRAIN_THREADS] = {1, 0, HAMP_POOL_MAX, 1, 0, 0},
};

/* One entry per ham_train_option_t value: HAM_TRAIN_THREADS is the last one. */
_Static_assert(HAMP_N_TRAIN_OPTIONS == HAM_TRAIN_THREADS + 1,
               "HAMP_N_TRAIN_OPTIONS does not match ham_train_option_t");

void hamp_trainer_default_options(double *opt)
{
    for (int i = 0; i < HAMP_N_TRAIN_OPTIONS; i++)
        opt[i] = options[i].def;
}

HAM_API int ham_trainer_option_info(double *def, double *min, double *max, int32_t option)
{
    if (option < 0 || option >= HAMP_N_TRAIN_OPTIONS)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPTION);
    if (def)
        *def = options[option].def;
    if (min)
        *min = options[option].min;
    if (max)
        *max = options[option].max;
    return HAM_OK;
}

HAM_API int ham_trainer_set_option(ham_trainer_t *t, int32_t option, double value)
{
    if (!t)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (option < 0 || option >= HAMP_N_TRAIN_OPTIONS)
        return hamp_fail(HAM_ERR_UNKNOWN_OPTION, "unknown trainer option %d",
                         (int)option);
    const train_option_t *o = &options[option];
    int below = o->open_min ? !(value > o->min) : !(value >= o->min);
    int above = o->open_max ? !(value < o->max) : !(value <= o->max);
    if (isnan(value) || below || above)
        return hamp_fail(HAM_ERR_INVALID, "trainer option %d: %g is outside %s%g, %g%s",
                         (int)option, value, o->open_min ? "(" : "[", o->min, o->max,
                         o->open_max ? ")" : "]");
    if (o->integral && value != floor(value))
        return hamp_fail(HAM_ERR_INVALID, "trainer option %d takes an integer, got %g",
                         (int)option, value);
    if (option == HAM_TRAIN_OPTIMIZER && value != t->opt[option])
        hamp_optimizer_reset(&t->optim); /* another rule: its moments mean nothing */
    if (option == HAM_TRAIN_THREADS) { /* the forward solver's too (trainer.h) */
        int rc = ham_solver_set_option(t->fwd, HAM_OPT_THREADS, value);
        if (rc != HAM_OK)
            return rc;
    }
    t->opt[option] = value;
    return HAM_OK;
}

HAM_API int ham_trainer_get_option(double *value, const ham_trainer_t *t, int32_t option)
{
    if (!value || !t)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (option < 0 || option >= HAMP_N_TRAIN_OPTIONS)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPTION);
    *value = t->opt[option];
    return HAM_OK;
}
