/* The synchronous operator F on the full state: every free layer is updated from the
 * old activations of its neighbours (one Euler step of the HAM dynamics, dt = 1). */
#include "operator/operator_private.h"

static void sync_apply(const ham_model_t *m, hamp_eval_t *e, float *out, const float *s,
                       int32_t rows)
{
    hamp_layered_apply(m, &m->layout[HAM_OPERATOR_SYNC], e, out, s, rows);
}

static void sync_jvp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                     int32_t rows, int32_t mult)
{
    hamp_layered_jvp(m, &m->layout[HAM_OPERATOR_SYNC], e, out, v, rows, mult);
}

static void sync_vjp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                     int32_t rows, int32_t mult)
{
    hamp_layered_vjp(m, &m->layout[HAM_OPERATOR_SYNC], e, out, v, rows, mult);
}

static void sync_param_vjp(const ham_model_t *m, hamp_eval_t *e, const float *lambda,
                          int32_t rows, const hamp_param_grad_t *grad)
{
    hamp_layered_param_vjp(m, &m->layout[HAM_OPERATOR_SYNC], e, lambda, rows, grad);
}

const hamp_operator_ops_t hamp_operator_sync = {
    .name = "sync",
    .kind = HAM_OPERATOR_SYNC,
    .apply = sync_apply,
    .jvp = sync_jvp,
    .vjp = sync_vjp,
    .param_vjp = sync_param_vjp,
};
