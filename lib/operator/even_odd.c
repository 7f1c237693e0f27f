/* The even-odd operator G = F_S o F_I on the parity class S holding the output layer:
 * the inner class I is first set to its exact conditional optimum, then S from it.
 * One G costs about one F but makes two asynchronous half-steps (paper, Section 3). */
#include "operator/operator_private.h"

static void eo_apply(const ham_model_t *m, hamp_eval_t *e, float *out, const float *s,
                     int32_t rows)
{
    hamp_layered_apply(m, &m->layout[HAM_OPERATOR_EVEN_ODD], e, out, s, rows);
}

static void eo_jvp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                   int32_t rows, int32_t mult)
{
    hamp_layered_jvp(m, &m->layout[HAM_OPERATOR_EVEN_ODD], e, out, v, rows, mult);
}

static void eo_vjp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                   int32_t rows, int32_t mult)
{
    hamp_layered_vjp(m, &m->layout[HAM_OPERATOR_EVEN_ODD], e, out, v, rows, mult);
}

static void eo_param_vjp(const ham_model_t *m, hamp_eval_t *e, const float *lambda,
                          int32_t rows, const hamp_param_grad_t *grad)
{
    hamp_layered_param_vjp(m, &m->layout[HAM_OPERATOR_EVEN_ODD], e, lambda, rows, grad);
}

const hamp_operator_ops_t hamp_operator_even_odd = {
    .name = "even-odd",
    .kind = HAM_OPERATOR_EVEN_ODD,
    .apply = eo_apply,
    .jvp = eo_jvp,
    .vjp = eo_vjp,
    .param_vjp = eo_param_vjp,
};
