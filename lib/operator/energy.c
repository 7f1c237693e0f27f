/* The HAM energy E(s; x) (docs/math.md section 1), per sample, in double precision:
 * it is a diagnostic (monotonicity tests, phase diagrams), not a hot path. */
#include <stdlib.h>

#include "operator/operator_private.h"

HAM_API int ham_model_energy(double *energy, const ham_model_t *model, int32_t batch,
                             const float *x, const float *full)
{
    if (!energy || !model || !full)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (batch <= 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (model->clamped != (x != NULL))
        return HAMP_FAIL(model->clamped ? HAM_ERR_NULL : HAM_ERR_INVALID);
    const hamp_layout_t *lay = &model->layout[HAM_OPERATOR_SYNC];
    if ((x && !hamp_check_finite(x, (size_t)batch * model->size[0])) ||
        !hamp_check_finite(full, (size_t)batch * lay->dim))
        return HAMP_FAIL(HAM_ERR_NONFINITE);

    hamp_eval_t e;
    int rc = hamp_eval_init(&e, model, batch, 1);
    if (rc != HAM_OK)
        return rc;
    hamp_eval_set_input(&e, model, x, batch);
    hamp_eval_pack(&e, model);
    hamp_layered_inner(model, lay, &e, full, batch); /* g of every free layer */
    if (model->clamped)
        e.g[0] = e.g0;

    for (int32_t r = 0; r < batch; r++) {
        double E = 0.0;
        for (int32_t i = 0; i < lay->n_state; i++) {
            int32_t l = lay->state[i], n = model->size[l];
            const float *s = e.s[l] + (size_t)r * n, *g = e.g[l] + (size_t)r * n;
            E += hamp_dot(s, g, n) - model->lag[l].ops->value(&model->lag[l], s, n) -
                 hamp_dot(model->b[l], g, n);
        }
        for (int32_t l = 0; l + 1 < model->n_layers; l++) {
            int32_t n = model->size[l], k = model->size[l + 1];
            const float *ga = e.g[l] + (size_t)r * n, *gb = e.g[l + 1] + (size_t)r * k;
            const float *W = model->W[l];
            double c = 0.0;
            for (int32_t i = 0; i < n; i++) {
                if (ga[i] == 0.0f)
                    continue;
                double row = 0.0;
                for (int32_t j = 0; j < k; j++)
                    row += (double)W[(size_t)i * k + j] * gb[j];
                c += ga[i] * row;
            }
            E -= c;
        }
        energy[r] = E;
    }
    if (model->clamped)
        e.g[0] = NULL;
    hamp_eval_free(&e);
    return HAM_OK;
}

/* The energy a solver sees after one operator application at s, from what the apply left
 * in the workspace (docs/math.md section 7), without another product:
 * - even-odd: the energy of the full state (G(s), s_I) that G's two half-steps reach.
 *   Every coupling block joins one inner and one state layer (or the clamped input), and
 *   both classes hold their exact conditional optimum in one of the two products, so
 *     E = -sum_S L_l(G_l) + sum_I [g_l . (s_l - b_l) - L_l(s_l)]   (- g_1 . W_0' g_0
 *   when layer 1 is inner and clamped-driven), with no matrix product at all;
 * - synchronous: the energy E(s) of the iterate itself, the couplings taken from F(s):
 *   sum_l g_l . (F_l - b_l) counts every free-free block twice and the input block once.
 * The cost is one Lagrangian value per free unit and a few dot products per row. */
void hamp_operator_energy(const ham_model_t *m, int32_t op, const hamp_eval_t *e,
                          const float *out, int32_t rows, double *energy)
{
    const hamp_layout_t *lay = &m->layout[op];
    const int32_t dim = lay->dim;
    for (int32_t r = 0; r < rows; r++) {
        double E = 0.0;
        if (op == HAM_OPERATOR_EVEN_ODD) {
            for (int32_t i = 0; i < lay->n_state; i++) {
                int32_t l = lay->state[i], n = m->size[l];
                const float *o = out + (size_t)r * dim + lay->offset[l];
                E -= m->lag[l].ops->value(&m->lag[l], o, n);
            }
            for (int32_t i = 0; i < lay->n_inner; i++) {
                int32_t l = lay->inner[i], n = m->size[l];
                const float *s = e->s[l] + (size_t)r * n, *g = e->g[l] + (size_t)r * n;
                const float *c = (l == 1 && m->clamped) ? e->drive + (size_t)r * n : m->b[l];
                E += hamp_dot(g, s, n) - hamp_dot(g, c, n) -
                     m->lag[l].ops->value(&m->lag[l], s, n);
            }
        } else {
            for (int32_t i = 0; i < lay->n_state; i++) {
                int32_t l = lay->state[i], n = m->size[l];
                const float *s = e->s[l] + (size_t)r * n, *g = e->g[l] + (size_t)r * n;
                const float *f = out + (size_t)r * dim + lay->offset[l];
                double gb = hamp_dot(g, m->b[l], n), gf = hamp_dot(g, f, n);
                E += hamp_dot(g, s, n) - m->lag[l].ops->value(&m->lag[l], s, n) - gb;
                if (l == 1 && m->clamped) /* the input block (drive - b_1) once, W_1 half */
                    E -= 0.5 * (gf + hamp_dot(g, e->drive + (size_t)r * n, n)) - gb;
                else
                    E -= 0.5 * (gf - gb);
            }
        }
        energy[r] = E;
    }
}
