/* The adjoint operators u -> J(s*)^T u + rhs of F and G. Implicit differentiation
 * solves their fixed point lambda = J^T lambda + dLoss/ds* with the same solver driver
 * and backends as the forward problem; the linearisation point s* and the constant rhs
 * sit in the evaluation workspace (and move with their rows when samples retire). Their
 * Jacobian is J^T, so their JVP is the base operator's VJP and vice versa. */
#include "operator/operator_private.h"

static void adjoint_apply(const hamp_operator_ops_t *base, const ham_model_t *m,
                          hamp_eval_t *e, float *out, const float *u, int32_t rows)
{
    base->vjp(m, e, out, u, rows, 1);
    size_t n = (size_t)rows * (size_t)e->rhs_width;
    for (size_t i = 0; i < n; i++)
        out[i] += e->rhs[i];
}

static void sync_adj_apply(const ham_model_t *m, hamp_eval_t *e, float *out, const float *u,
                           int32_t rows)
{
    adjoint_apply(&hamp_operator_sync, m, e, out, u, rows);
}

static void eo_adj_apply(const ham_model_t *m, hamp_eval_t *e, float *out, const float *u,
                         int32_t rows)
{
    adjoint_apply(&hamp_operator_even_odd, m, e, out, u, rows);
}

static void sync_adj_jvp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                         int32_t rows, int32_t mult)
{
    hamp_layered_vjp(m, &m->layout[HAM_OPERATOR_SYNC], e, out, v, rows, mult);
}

static void sync_adj_vjp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                         int32_t rows, int32_t mult)
{
    hamp_layered_jvp(m, &m->layout[HAM_OPERATOR_SYNC], e, out, v, rows, mult);
}

static void eo_adj_jvp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                       int32_t rows, int32_t mult)
{
    hamp_layered_vjp(m, &m->layout[HAM_OPERATOR_EVEN_ODD], e, out, v, rows, mult);
}

static void eo_adj_vjp(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                       int32_t rows, int32_t mult)
{
    hamp_layered_jvp(m, &m->layout[HAM_OPERATOR_EVEN_ODD], e, out, v, rows, mult);
}

/* No param_vjp: training differentiates the forward operators, never their adjoints. */
const hamp_operator_ops_t hamp_operator_sync_adjoint = {
    .name = "sync-adjoint",
    .kind = HAM_OPERATOR_SYNC,
    .base = &hamp_operator_sync,
    .apply = sync_adj_apply,
    .jvp = sync_adj_jvp,
    .vjp = sync_adj_vjp,
};
const hamp_operator_ops_t hamp_operator_even_odd_adjoint = {
    .name = "even-odd-adjoint",
    .kind = HAM_OPERATOR_EVEN_ODD,
    .base = &hamp_operator_even_odd,
    .apply = eo_adj_apply,
    .jvp = eo_adj_jvp,
    .vjp = eo_adj_vjp,
};
