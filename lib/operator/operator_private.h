/* Layer operator: F, G, their adjoints and the layered engine they share, behind
 * one ops table. Builds on core. Nothing here is ABI. */
#ifndef HAMDEQ_OPERATOR_PRIVATE_H
#define HAMDEQ_OPERATOR_PRIVATE_H

#include "core/core_private.h"

/* --------------------------------------------- operators (operator*.c, vtables) */

typedef struct hamp_operator_ops hamp_operator_ops_t;

/* Where a parameter VJP writes: gW[l] (N_l x N_{l+1}) and gb[l] (NULL for the clamped
 * layer). input_grad, when set, may take the input block's gradient gW0 = g0' adj itself
 * (adj: rows x N_1) and return 1; 0 leaves it to the dense product. */
typedef struct hamp_param_grad {
    float **gW, **gb;
    int (*input_grad)(void *ctx, const ham_model_t *m, const float *adj, int32_t rows,
                      float *gW0);
    void *ctx;
} hamp_param_grad_t;

struct hamp_operator_ops {
    const char *name;
    int32_t kind;
    /* For an adjoint operator u -> J(s*)^T u + rhs: the operator it is the adjoint of. */
    const hamp_operator_ops_t *base;
    /* out = Op(s) on rows; leaves the linearisation point in e. */
    void (*apply)(const ham_model_t *m, hamp_eval_t *e, float *out, const float *s,
                  int32_t rows);
    /* out = J v and out = J^T v at the last applied point; v holds rows*mult rows. */
    void (*jvp)(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                int32_t rows, int32_t mult);
    void (*vjp)(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                int32_t rows, int32_t mult);
    /* Parameter gradients at the last applied point: with adjoint lambda (rows x dim) on
     * the output, dL/dW_l and dL/db_l of L = <lambda, Op(s)>. NULL for adjoint operators. */
    void (*param_vjp)(const ham_model_t *m, hamp_eval_t *e, const float *lambda, int32_t rows,
                      const hamp_param_grad_t *grad);
};

extern const hamp_operator_ops_t hamp_operator_sync;
extern const hamp_operator_ops_t hamp_operator_even_odd;
extern const hamp_operator_ops_t hamp_operator_sync_adjoint;
extern const hamp_operator_ops_t hamp_operator_even_odd_adjoint;
const hamp_operator_ops_t *hamp_operator_get(int32_t op);

/* The engine both operators share (operator_layered.c): a state class `state` whose
 * layers are read from s, an inner class recomputed exactly from it, and the output
 * `F_l` of every state layer from its neighbours' activations. */
void hamp_layered_inner(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                        const float *s, int32_t rows);
void hamp_layered_apply(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                        float *out, const float *s, int32_t rows);
void hamp_layered_jvp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                      float *out, const float *v, int32_t rows, int32_t mult);
void hamp_layered_vjp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                      float *out, const float *v, int32_t rows, int32_t mult);
/* Parameter gradients at the last applied point: with adjoint `lambda` (rows x dim) on the
 * operator's output, sets gW[l] = dL/dW_l and gb[l] = dL/db_l, L = <lambda, Op(s)>. */
void hamp_layered_param_vjp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                            const float *lambda, int32_t rows, const hamp_param_grad_t *grad);

/* Per row, the energy after the last apply of operator `op` (which left `out` and the
 * workspace `e`): for even-odd, of the full state (G(s), inner class at s) the two
 * half-steps reach; for sync, E(s). No product, no allocation (energy.c). */
void hamp_operator_energy(const ham_model_t *m, int32_t op, const hamp_eval_t *e,
                          const float *out, int32_t rows, double *energy);

#endif /* HAMDEQ_OPERATOR_PRIVATE_H */
