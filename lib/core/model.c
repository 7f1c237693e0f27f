/* ham_model_t: construction, Lagrangians, parameters and their initialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_private.h"

static const hamp_lagrangian_ops_t *builtin_ops(int32_t kind)
{
    switch (kind) {
    case HAM_LAGRANGIAN_SHIFTED_SIGMOID:
        return &hamp_lagrangian_shifted_sigmoid;
    case HAM_LAGRANGIAN_SIGMOID:
        return &hamp_lagrangian_sigmoid;
    case HAM_LAGRANGIAN_TANH:
        return &hamp_lagrangian_tanh;
    case HAM_LAGRANGIAN_IDENTITY:
        return &hamp_lagrangian_identity;
    case HAM_LAGRANGIAN_SOFTMAX:
        return &hamp_lagrangian_softmax;
    default:
        return NULL;
    }
}

size_t hamp_block_len(const ham_model_t *m, int32_t l)
{
    return (size_t)m->size[l] * (size_t)m->size[l + 1];
}

HAM_API int ham_model_new(ham_model_t **model, int32_t n_layers, const int32_t *sizes,
                          uint32_t flags)
{
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    *model = NULL;
    if (!sizes)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (n_layers < 2 || n_layers > HAM_MAX_LAYERS)
        return hamp_fail(HAM_ERR_INVALID, "ham_model_new: %d layers (2 to %d are possible)",
                         (int)n_layers, HAM_MAX_LAYERS);
    if (flags > HAM_MODEL_CLAMPED_INPUT)
        return hamp_fail(HAM_ERR_INVALID, "ham_model_new: unknown flags 0x%x", (unsigned)flags);
    for (int32_t l = 0; l < n_layers; l++)
        if (sizes[l] <= 0)
            return hamp_fail(HAM_ERR_INVALID, "ham_model_new: layer %d has size %d", (int)l,
                             (int)sizes[l]);
    /* Every size derived from the layers is checked before anything is allocated: the
     * code indexes states, blocks and offsets with int32_t, and BLAS takes 32-bit sizes.
     * Weight blocks: */
    for (int32_t l = 0; l + 1 < n_layers; l++)
        if ((int64_t)sizes[l] * sizes[l + 1] > INT32_MAX)
            return hamp_fail(HAM_ERR_INVALID,
                             "ham_model_new: weight block %d (%d x %d) has more than 2^31 - 1 "
                             "entries",
                             (int)l, (int)sizes[l], (int)sizes[l + 1]);
    /* The full state (the even-odd one is part of it; offsets lie inside it): */
    int64_t state = hamp_state_len(sizes, n_layers, (flags & HAM_MODEL_CLAMPED_INPUT) != 0);
    if (state > INT32_MAX)
        return hamp_fail(HAM_ERR_INVALID,
                         "ham_model_new: the state (the free layers' sizes added up) would "
                         "have %lld values, more than 2^31 - 1",
                         (long long)state);

    ham_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    atomic_init(&m->refs, 1);
    m->n_layers = n_layers;
    m->clamped = (flags & HAM_MODEL_CLAMPED_INPUT) != 0;
    for (int32_t l = 0; l < n_layers; l++) {
        m->size[l] = sizes[l];
        m->lag[l].ops = &hamp_lagrangian_shifted_sigmoid;
        m->lag[l].kind = HAM_LAGRANGIAN_SHIFTED_SIGMOID;
    }
    for (int32_t l = 0; l < n_layers; l++) {
        if (l + 1 < n_layers && !(m->W[l] = calloc(hamp_block_len(m, l), sizeof(float))))
            goto nomem;
        if (hamp_layer_free(m, l) && !(m->b[l] = calloc((size_t)sizes[l], sizeof(float))))
            goto nomem;
    }
    hamp_layout_build(m);
    m->default_op = HAM_OPERATOR_EVEN_ODD;
    m->default_solver = HAM_SOLVER_ANDERSON;
    m->default_tol = 1e-4;
    m->default_max_iter = 100;
    *model = m;
    return HAM_OK;
nomem:
    ham_model_free(m);
    return HAMP_FAIL(HAM_ERR_NOMEM);
}

HAM_API ham_model_t *ham_model_ref(ham_model_t *model)
{
    /* the caller holds a reference, so the count cannot be racing to 0: relaxed suffices */
    if (model)
        atomic_fetch_add_explicit(&model->refs, 1, memory_order_relaxed);
    return model;
}

HAM_API void ham_model_free(ham_model_t *model)
{
    if (!model)
        return;
    /* acq_rel: whatever other holders did with the model happens before it is freed */
    if (atomic_fetch_sub_explicit(&model->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int32_t l = 0; l < model->n_layers; l++) {
        hamp_lagrangian_release(&model->lag[l]);
        free(model->W[l]);
        free(model->b[l]);
    }
    free(model);
}

/* The count is the one part of a model its holders change; a model is never defined
 * const (it is always allocated here), so the casts are sound. */
const ham_model_t *hamp_model_retain(const ham_model_t *m)
{
    return ham_model_ref((ham_model_t *)m);
}

void hamp_model_release(const ham_model_t *m)
{
    ham_model_free((ham_model_t *)m);
}

HAM_API int ham_model_clone(ham_model_t **out, const ham_model_t *model)
{
    if (!out)
        return HAMP_FAIL(HAM_ERR_NULL);
    *out = NULL;
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    ham_model_t *c;
    int rc = ham_model_new(&c, model->n_layers, model->size,
                           model->clamped ? HAM_MODEL_CLAMPED_INPUT : HAM_MODEL_FREE_INPUT);
    if (rc != HAM_OK)
        return rc;
    c->default_op = model->default_op;
    c->default_solver = model->default_solver;
    c->default_tol = model->default_tol;
    c->default_max_iter = model->default_max_iter;
    for (int32_t l = 0; l < model->n_layers; l++) {
        c->lag[l] = model->lag[l]; /* a custom one's user data is shared, not copied */
        hamp_lagrangian_retain(&c->lag[l]);
        if (model->W[l])
            memcpy(c->W[l], model->W[l], hamp_block_len(model, l) * sizeof(float));
        if (model->b[l])
            memcpy(c->b[l], model->b[l], (size_t)model->size[l] * sizeof(float));
    }
    *out = c;
    return HAM_OK;
}

HAM_API int32_t ham_model_n_layers(const ham_model_t *model)
{
    return model ? model->n_layers : 0;
}

HAM_API int32_t ham_model_layer_size(const ham_model_t *model, int32_t layer)
{
    if (!model || layer < 0 || layer >= model->n_layers)
        return 0;
    return model->size[layer];
}

HAM_API int32_t ham_model_has_clamped_input(const ham_model_t *model)
{
    return model ? model->clamped : 0;
}

static int check_layer(ham_model_t *m, int32_t layer)
{
    if (layer < 0 || layer >= m->n_layers)
        return hamp_fail(HAM_ERR_INVALID, "layer %d is out of range 0..%d", (int)layer,
                         (int)m->n_layers - 1);
    return HAM_OK;
}

HAM_API int ham_model_set_lagrangian(ham_model_t *model, int32_t layer, int32_t kind,
                                     double param)
{
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    int rc = check_layer(model, layer);
    if (rc != HAM_OK)
        return rc;
    const hamp_lagrangian_ops_t *ops = builtin_ops(kind);
    if (!ops)
        return hamp_fail(HAM_ERR_UNKNOWN_LAGRANGIAN,
                         "unknown Lagrangian kind %d (custom ones go through "
                         "ham_model_set_custom_lagrangian)",
                         (int)kind);
    if (kind == HAM_LAGRANGIAN_SOFTMAX && !(isfinite(param) && param > 0))
        return hamp_fail(HAM_ERR_INVALID,
                         "softmax inverse temperature beta must be finite and > 0, got %g",
                         param);
    hamp_lagrangian_t *lag = &model->lag[layer];
    hamp_lagrangian_release(lag); /* a replaced custom one lets go of its user data */
    lag->ops = ops;
    lag->kind = kind;
    lag->beta = kind == HAM_LAGRANGIAN_SOFTMAX ? param : 0.0;
    return HAM_OK;
}

HAM_API int ham_model_set_custom_lagrangian(ham_model_t *model, int32_t layer,
                                            const ham_lagrangian_def_t *def)
{
    if (!model || !def)
        return HAMP_FAIL(HAM_ERR_NULL);
    int rc = check_layer(model, layer);
    if (rc != HAM_OK)
        return rc;
    ham_lagrangian_def_t d;
    rc = hamp_struct_in(&d, def, HAMP_LAGRANGIAN_DEF_V1, sizeof d, "ham_lagrangian_def_t");
    if (rc != HAM_OK)
        return rc;
    def = &d;
    if (def->flags != 0)
        return hamp_fail(HAM_ERR_INVALID, "ham_lagrangian_def_t.flags must be 0");
    if (!def->value || !def->activation || !def->hvp)
        return hamp_fail(HAM_ERR_NULL,
                         "a custom Lagrangian needs value, activation and hvp callbacks");
    /* Ownership of def->user passes only once nothing can fail any more. */
    hamp_lagrangian_t fresh;
    if ((rc = hamp_lagrangian_custom_init(&fresh, def)) != HAM_OK)
        return rc;
    hamp_lagrangian_release(&model->lag[layer]);
    model->lag[layer] = fresh;
    return HAM_OK;
}

HAM_API int ham_model_get_lagrangian(int32_t *kind, double *param, const ham_model_t *model,
                                     int32_t layer)
{
    if (!kind || !model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (layer < 0 || layer >= model->n_layers)
        return HAMP_FAIL(HAM_ERR_INVALID);
    *kind = model->lag[layer].kind;
    if (param)
        *param = model->lag[layer].beta;
    return HAM_OK;
}

HAM_API int ham_model_init_xavier(ham_model_t *model, uint64_t seed)
{
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    hamp_rng_t rng;
    hamp_rng_seed(&rng, seed);
    for (int32_t l = 0; l + 1 < model->n_layers; l++) {
        double a = sqrt(6.0 / (double)(model->size[l] + model->size[l + 1]));
        size_t n = hamp_block_len(model, l);
        for (size_t i = 0; i < n; i++)
            model->W[l][i] = (float)((2.0 * hamp_rng_uniform(&rng) - 1.0) * a);
    }
    for (int32_t l = 0; l < model->n_layers; l++)
        if (model->b[l])
            memset(model->b[l], 0, (size_t)model->size[l] * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_model_get_weights(float *out, const ham_model_t *model, int32_t block,
                                  size_t count)
{
    if (!out || !model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (block < 0 || block + 1 >= model->n_layers)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (count != hamp_block_len(model, block))
        return HAMP_FAIL(HAM_ERR_DIMENSION);
    memcpy(out, model->W[block], count * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_model_set_weights(ham_model_t *model, int32_t block, const float *w,
                                  size_t count)
{
    if (!model || !w)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (block < 0 || block + 1 >= model->n_layers)
        return hamp_fail(HAM_ERR_INVALID, "weight block %d is out of range 0..%d",
                         (int)block, (int)model->n_layers - 2);
    if (count != hamp_block_len(model, block))
        return hamp_fail(HAM_ERR_DIMENSION,
                         "weight block %d has %d x %d = %zu entries, got %zu", (int)block,
                         (int)model->size[block], (int)model->size[block + 1],
                         hamp_block_len(model, block), count);
    if (!hamp_check_finite(w, count))
        return hamp_fail(HAM_ERR_NONFINITE, "weight block %d contains NaN or Inf",
                         (int)block);
    memcpy(model->W[block], w, count * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_model_get_bias(float *out, const ham_model_t *model, int32_t layer,
                               size_t count)
{
    if (!out || !model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (layer < 0 || layer >= model->n_layers || !model->b[layer])
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (count != (size_t)model->size[layer])
        return HAMP_FAIL(HAM_ERR_DIMENSION);
    memcpy(out, model->b[layer], count * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_model_set_bias(ham_model_t *model, int32_t layer, const float *b, size_t count)
{
    if (!model || !b)
        return HAMP_FAIL(HAM_ERR_NULL);
    int rc = check_layer(model, layer);
    if (rc != HAM_OK)
        return rc;
    if (!model->b[layer])
        return hamp_fail(HAM_ERR_INVALID,
                         "layer 0 is clamped to the input and has no bias");
    if (count != (size_t)model->size[layer])
        return hamp_fail(HAM_ERR_DIMENSION, "layer %d has %d units, got %zu biases",
                         (int)layer, (int)model->size[layer], count);
    if (!hamp_check_finite(b, count))
        return hamp_fail(HAM_ERR_NONFINITE, "bias of layer %d contains NaN or Inf",
                         (int)layer);
    memcpy(model->b[layer], b, count * sizeof(float));
    return HAM_OK;
}

HAM_API int ham_model_state_dim(int32_t *dim, const ham_model_t *model, int32_t op)
{
    if (!dim || !model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (!hamp_operator_valid(op))
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPERATOR);
    *dim = model->layout[op].dim;
    return HAM_OK;
}

HAM_API int ham_model_state_offset(int32_t *offset, const ham_model_t *model, int32_t op,
                                   int32_t layer)
{
    if (!offset || !model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (!hamp_operator_valid(op))
        return HAMP_FAIL(HAM_ERR_UNKNOWN_OPERATOR);
    if (layer < 0 || layer >= model->n_layers || model->layout[op].offset[layer] < 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    *offset = model->layout[op].offset[layer];
    return HAM_OK;
}

HAM_API int ham_model_set_defaults(ham_model_t *model, int32_t op, int32_t solver, double tol,
                                   int32_t max_iter)
{
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (!hamp_operator_valid(op))
        return hamp_fail(HAM_ERR_UNKNOWN_OPERATOR, "unknown operator %d", (int)op);
    if (!hamp_solver_kind_valid(solver))
        return hamp_fail(HAM_ERR_UNKNOWN_SOLVER, "unknown solver kind %d",
                         (int)solver);
    if (!(tol > 0.0 && tol < 1.0) || max_iter < 1)
        return hamp_fail(HAM_ERR_INVALID,
                         "defaults need 0 < tol < 1 and max_iter >= 1, got %g and %d", tol,
                         (int)max_iter);
    model->default_op = op;
    model->default_solver = solver;
    model->default_tol = tol;
    model->default_max_iter = max_iter;
    return HAM_OK;
}

HAM_API int ham_model_get_defaults(int32_t *op, int32_t *solver, double *tol, int32_t *max_iter,
                                   const ham_model_t *model)
{
    if (!model)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (op)
        *op = model->default_op;
    if (solver)
        *solver = model->default_solver;
    if (tol)
        *tol = model->default_tol;
    if (max_iter)
        *max_iter = model->default_max_iter;
    return HAM_OK;
}
