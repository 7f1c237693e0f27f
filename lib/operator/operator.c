/* Operator lookup and the model-level entry points (apply, JVP, VJP, conversions).
 * These allocate a workspace per call; solvers keep one instead. */
#include <stdlib.h>
#include <string.h>

#include "operator/operator_private.h"

const hamp_operator_ops_t *hamp_operator_get(int32_t op)
{
    switch (op) {
    case HAM_OPERATOR_SYNC:
        return &hamp_operator_sync;
    case HAM_OPERATOR_EVEN_ODD:
        return &hamp_operator_even_odd;
    default:
        return NULL;
    }
}

HAM_API const char *ham_operator_name(int32_t op)
{
    const hamp_operator_ops_t *ops = hamp_operator_get(op);
    return ops ? ops->name : NULL;
}

HAM_API int ham_operator_from_name(int32_t *op, const char *name)
{
    if (!op || !name)
        return HAMP_FAIL(HAM_ERR_NULL);
    for (int32_t k = HAM_OPERATOR_SYNC; k <= HAM_OPERATOR_EVEN_ODD; k++)
        if (strcmp(hamp_operator_get(k)->name, name) == 0) {
            *op = k;
            return HAM_OK;
        }
    return hamp_fail(HAM_ERR_UNKNOWN_OPERATOR, "unknown operator name '%.64s'", name);
}

/* Common argument checks of the model-level calls: input present iff clamped, finite. */
static int check_call(const ham_model_t *m, int32_t batch, const float *x, const float *s,
                      int32_t dim)
{
    if (batch <= 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (m->clamped != (x != NULL))
        return HAMP_FAIL(m->clamped ? HAM_ERR_NULL : HAM_ERR_INVALID);
    if (x && !hamp_check_finite(x, (size_t)batch * (size_t)m->size[0]))
        return HAMP_FAIL(HAM_ERR_NONFINITE);
    if (s && !hamp_check_finite(s, (size_t)batch * (size_t)dim))
        return HAMP_FAIL(HAM_ERR_NONFINITE);
    return HAM_OK;
}

enum product { APPLY, JVP, VJP };

static int run_op(float *out, const ham_model_t *m, int32_t op, int32_t batch, const float *x,
                  const float *s, const float *v, enum product what)
{
    if (!out || !m || !s || (what != APPLY && !v))
        return HAMP_FAIL(HAM_ERR_NULL);
    const hamp_operator_ops_t *ops = hamp_operator_get(op);
    if (!ops)
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPERATOR);
    int32_t dim = m->layout[op].dim;
    int rc = check_call(m, batch, x, s, dim);
    if (rc != HAM_OK)
        return rc;
    if (v && !hamp_check_finite(v, (size_t)batch * (size_t)dim))
        return HAMP_FAIL(HAM_ERR_NONFINITE);
    hamp_eval_t e;
    if ((rc = hamp_eval_init(&e, m, batch, 1)) != HAM_OK)
        return rc;
    hamp_eval_set_input(&e, m, x, batch);
    hamp_eval_pack(&e, m); /* the same arithmetic as a solver's evaluations */
    if (what == APPLY) {
        ops->apply(m, &e, out, s, batch);
    } else {
        float *scratch = malloc((size_t)batch * (size_t)dim * sizeof(float) + 1);
        if (!scratch) {
            hamp_eval_free(&e);
            return HAMP_FAIL(HAM_ERR_NOMEM);
        }
        ops->apply(m, &e, scratch, s, batch); /* sets the linearisation point */
        (what == JVP ? ops->jvp : ops->vjp)(m, &e, out, v, batch, 1);
        free(scratch);
    }
    hamp_eval_free(&e);
    return HAM_OK;
}

HAM_API int ham_model_apply(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                            const float *x, const float *s)
{
    return run_op(out, model, op, batch, x, s, NULL, APPLY);
}

HAM_API int ham_model_jvp(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                          const float *x, const float *s, const float *v)
{
    return run_op(out, model, op, batch, x, s, v, JVP);
}

HAM_API int ham_model_vjp(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                          const float *x, const float *s, const float *v)
{
    return run_op(out, model, op, batch, x, s, v, VJP);
}

HAM_API int ham_model_eo_to_full(float *full, const ham_model_t *model, int32_t batch,
                                 const float *x, const float *eo)
{
    if (!full || !model || !eo)
        return HAMP_FAIL(HAM_ERR_NULL);
    const hamp_layout_t *eol = &model->layout[HAM_OPERATOR_EVEN_ODD];
    const hamp_layout_t *fl = &model->layout[HAM_OPERATOR_SYNC];
    int rc = check_call(model, batch, x, eo, eol->dim);
    if (rc != HAM_OK)
        return rc;
    hamp_eval_t e;
    if ((rc = hamp_eval_init(&e, model, batch, 1)) != HAM_OK)
        return rc;
    hamp_eval_set_input(&e, model, x, batch);
    hamp_eval_pack(&e, model);
    hamp_layered_inner(model, eol, &e, eo, batch);
    /* every free layer's s now sits in e.s: the state class copied, the inner recomputed */
    for (int32_t i = 0; i < fl->n_state; i++) {
        int32_t l = fl->state[i], n = model->size[l];
        for (int32_t r = 0; r < batch; r++)
            memcpy(full + (size_t)r * fl->dim + fl->offset[l], e.s[l] + (size_t)r * n,
                   (size_t)n * sizeof(float));
    }
    hamp_eval_free(&e);
    return HAM_OK;
}

HAM_API int ham_model_full_to_eo(float *eo, const ham_model_t *model, int32_t batch,
                                 const float *full)
{
    if (!eo || !model || !full)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (batch <= 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    const hamp_layout_t *eol = &model->layout[HAM_OPERATOR_EVEN_ODD];
    const hamp_layout_t *fl = &model->layout[HAM_OPERATOR_SYNC];
    for (int32_t i = 0; i < eol->n_state; i++) {
        int32_t l = eol->state[i], n = model->size[l];
        for (int32_t r = 0; r < batch; r++)
            memcpy(eo + (size_t)r * eol->dim + eol->offset[l],
                   full + (size_t)r * fl->dim + fl->offset[l], (size_t)n * sizeof(float));
    }
    return HAM_OK;
}
