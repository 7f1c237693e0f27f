/* Which layers form the state of each operator.
 * Sync F: every free layer. Even-odd G: the free layers with the parity of the output
 * layer L-1 (the DEQ state); the free layers of the other parity are recomputed inside
 * G, which is exact because F_l never depends on s_l itself (docs/math.md section 2). */
#include "core/core_private.h"

int hamp_layer_free(const ham_model_t *m, int32_t l)
{
    return !(m->clamped && l == 0);
}

int64_t hamp_state_len(const int32_t *sizes, int32_t n_layers, int clamped)
{
    int64_t n = 0;
    for (int32_t l = clamped ? 1 : 0; l < n_layers; l++)
        n += sizes[l];
    return n;
}

/* ham_model_new bounds the full state (hamp_state_len) by INT32_MAX, and the even-odd
 * state is part of it, so dim and every offset fit an int32_t. */
static void build(const ham_model_t *m, hamp_layout_t *lay, int even_odd)
{
    int32_t out_parity = (m->n_layers - 1) % 2;
    lay->dim = lay->n_state = lay->n_inner = 0;
    for (int32_t l = 0; l < m->n_layers; l++) {
        lay->offset[l] = -1;
        if (!hamp_layer_free(m, l))
            continue;
        if (!even_odd || l % 2 == out_parity) {
            lay->state[lay->n_state++] = l;
            lay->offset[l] = lay->dim;
            lay->dim += m->size[l];
        } else {
            lay->inner[lay->n_inner++] = l;
        }
    }
}

void hamp_layout_build(ham_model_t *m)
{
    build(m, &m->layout[HAM_OPERATOR_SYNC], 0);
    build(m, &m->layout[HAM_OPERATOR_EVEN_ODD], 1);
}
