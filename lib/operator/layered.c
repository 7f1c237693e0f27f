/* The engine shared by the synchronous and the even-odd operator.
 *
 * A layout splits the free layers into the state class (read from s) and an inner class
 * (recomputed exactly from the state class; empty for the synchronous F). Because the
 * couplings are block tridiagonal, F_l depends only on layers l-1 and l+1, so:
 *   apply:  g_S = g(s_S);  s_I = F_I(g_S), g_I = g(s_I);  out_S = F_S(g of neighbours)
 * and with C the coupling between neighbours and H the Lagrangians' Hessians,
 *   J = C H (sync),  J = C_SI H_I C_IS H_S (even-odd),  J^T = the same read backwards
 * since C is symmetric. Tangent rows come in groups of `mult` per state row. */
#include <string.h>

#include "operator/operator_private.h"

/* dst (R x n, ldd) = init for BLAS's beta = 1 (init: as for thin.c). */
static float set_init(float *dst, int32_t ldd, const float *init, int32_t ldi, int32_t R,
                      int32_t n)
{
    if (!init)
        return 0.0f;
    if (init != dst)
        for (int32_t r = 0; r < R; r++)
            memcpy(dst + (size_t)r * ldd, init + (size_t)r * ldi, (size_t)n * sizeof(float));
    return 1.0f;
}

/* dst (R x N_{k+1}, ldd) = init + src (R x N_k, lds) W_k (init: NULL, dst, a matrix or a
 * broadcast row, as for thin.c): thin.c for a thin block of a packed workspace, else BLAS. */
static void couple_nn(const ham_model_t *m, const hamp_eval_t *e, int32_t k, int32_t R,
                      const float *src, int32_t lds, const float *init, int32_t ldi,
                      float *dst, int32_t ldd)
{
    const int32_t a = m->size[k], b = m->size[k + 1];
    if (e->packed && e->pad[k]) {
        if (b <= HAMP_THIN)
            hamp_thin_narrow(R, b, a, src, lds, e->pad[k], init, ldi, dst, ldd);
        else
            hamp_thin_axpy(R, b, a, src, lds, m->W[k], b, init, ldi, dst, ldd);
        return;
    }
    float beta = set_init(dst, ldd, init, ldi, R, b);
    hamp_sgemm(0, 0, R, b, a, 1.0f, src, lds, m->W[k], b, beta, dst, ldd);
}

/* dst (R x N_k, ldd) = init + src (R x N_{k+1}, lds) W_k'. */
static void couple_nt(const ham_model_t *m, const hamp_eval_t *e, int32_t k, int32_t R,
                      const float *src, int32_t lds, const float *init, int32_t ldi,
                      float *dst, int32_t ldd)
{
    const int32_t a = m->size[k], b = m->size[k + 1];
    if (e->packed && e->pad[k]) {
        if (b <= HAMP_THIN)
            hamp_thin_axpy(R, a, b, src, lds, e->wt[k], a, init, ldi, dst, ldd);
        else
            hamp_thin_narrow(R, a, b, src, lds, e->pad[k], init, ldi, dst, ldd);
        return;
    }
    float beta = set_init(dst, ldd, init, ldi, R, a);
    hamp_sgemm(0, 1, R, a, b, 1.0f, src, lds, m->W[k], b, beta, dst, ldd);
}

/* dst (rows x N_l, leading dimension ld) = F_l from the activations of l's neighbours:
 * the constant part (the input drive for layer 1 of a clamped model, else the bias) is
 * the first product's init, not a separate copy. */
static void layer_input(const ham_model_t *m, const hamp_eval_t *e, int32_t l, float *dst,
                        int32_t ld, int32_t rows)
{
    const int32_t n = m->size[l];
    const int driven = l == 1 && m->clamped;
    const float *init = driven ? e->drive : m->b[l];
    int32_t ldi = driven ? n : 0;
    if (!driven && l > 0) {
        couple_nn(m, e, l - 1, rows, e->g[l - 1], m->size[l - 1], init, ldi, dst, ld);
        init = dst;
        ldi = ld;
    }
    if (l + 1 < m->n_layers) {
        couple_nt(m, e, l, rows, e->g[l + 1], m->size[l + 1], init, ldi, dst, ld);
        init = dst;
    }
    if (init != dst) /* no neighbour: the constant part alone */
        set_init(dst, ld, init, ldi, rows, n);
}

/* dst (R x N_l, ld) = sum over free neighbours k of l of the tangents ta[k] through W. */
static void coupled_tangent(const ham_model_t *m, const hamp_eval_t *e, int32_t l, float *dst,
                            int32_t ld, int32_t R)
{
    int32_t n = m->size[l];
    const float *init = NULL;
    if (l > 0 && hamp_layer_free(m, l - 1)) {
        couple_nn(m, e, l - 1, R, e->ta[l - 1], m->size[l - 1], NULL, 0, dst, ld);
        init = dst;
    }
    if (l + 1 < m->n_layers) {
        couple_nt(m, e, l, R, e->ta[l + 1], m->size[l + 1], init, ld, dst, ld);
        init = dst;
    }
    if (!init) /* no free neighbour: the tangent does not reach this layer */
        for (int32_t r = 0; r < R; r++)
            memset(dst + (size_t)r * ld, 0, (size_t)n * sizeof(float));
}

static void gather(float *dst, const float *src, int32_t ld, int32_t off, int32_t n, int32_t R)
{
    for (int32_t r = 0; r < R; r++)
        memcpy(dst + (size_t)r * n, src + (size_t)r * ld + off, (size_t)n * sizeof(float));
}

static void scatter(float *dst, int32_t ld, int32_t off, const float *src, int32_t n, int32_t R)
{
    for (int32_t r = 0; r < R; r++)
        memcpy(dst + (size_t)r * ld + off, src + (size_t)r * n, (size_t)n * sizeof(float));
}

static void hvp(const ham_model_t *m, const hamp_eval_t *e, int32_t l, float *out,
                const float *v, int32_t rows, int32_t mult)
{
    m->lag[l].ops->hvp(&m->lag[l], out, e->s[l], e->g[l], v, rows, mult, m->size[l]);
}

void hamp_layered_inner(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                        const float *s, int32_t rows)
{
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i], n = m->size[l];
        gather(e->s[l], s, lay->dim, lay->offset[l], n, rows);
        m->lag[l].ops->activation(&m->lag[l], e->g[l], e->s[l], rows, n);
    }
    for (int32_t i = 0; i < lay->n_inner; i++) {
        int32_t l = lay->inner[i], n = m->size[l];
        layer_input(m, e, l, e->s[l], n, rows);
        m->lag[l].ops->activation(&m->lag[l], e->g[l], e->s[l], rows, n);
    }
}

void hamp_layered_apply(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                        float *out, const float *s, int32_t rows)
{
    hamp_layered_inner(m, lay, e, s, rows);
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        layer_input(m, e, l, out + lay->offset[l], lay->dim, rows);
    }
}

void hamp_layered_jvp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                      float *out, const float *v, int32_t rows, int32_t mult)
{
    int32_t R = rows * mult;
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        gather(e->tb[l], v, lay->dim, lay->offset[l], m->size[l], R);
        hvp(m, e, l, e->ta[l], e->tb[l], rows, mult);
    }
    for (int32_t i = 0; i < lay->n_inner; i++) {
        int32_t l = lay->inner[i];
        coupled_tangent(m, e, l, e->tb[l], m->size[l], R);
        hvp(m, e, l, e->ta[l], e->tb[l], rows, mult);
    }
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        coupled_tangent(m, e, l, out + lay->offset[l], lay->dim, R);
    }
}

void hamp_layered_vjp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                      float *out, const float *v, int32_t rows, int32_t mult)
{
    int32_t R = rows * mult;
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        gather(e->ta[l], v, lay->dim, lay->offset[l], m->size[l], R);
    }
    for (int32_t i = 0; i < lay->n_inner; i++) {
        int32_t l = lay->inner[i];
        coupled_tangent(m, e, l, e->tb[l], m->size[l], R);
        hvp(m, e, l, e->ta[l], e->tb[l], rows, mult);
    }
    /* all couplings first: with the synchronous F the state layers read each other's ta */
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        coupled_tangent(m, e, l, e->tb[l], m->size[l], R);
    }
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        hvp(m, e, l, e->ta[l], e->tb[l], rows, mult);
        scatter(out, lay->dim, lay->offset[l], e->ta[l], m->size[l], R);
    }
}

/* Accumulates the gradient of <adjoint, F_l> over the parameters of F_l, for layer l
 * with its adjoint adj (rows x N_l): b_l, and the blocks W_{l-1} (F_l = g_{l-1} W_{l-1} +
 * ..., or the input drive g_0 W_0 for l = 1) and W_l (F_l = ... + g_{l+1} W_l^T). A block's
 * first product overwrites it (beta 0; `written` records which): no separate zeroing pass
 * over the weights' size. */
static void layer_param_grad(const ham_model_t *m, hamp_eval_t *e, int32_t l,
                             const float *adj, int32_t rows, const hamp_param_grad_t *grad,
                             int *written)
{
    float **gW = grad->gW, **gb = grad->gb;
    int32_t n = m->size[l];
    for (int32_t r = 0; r < rows; r++)
        for (int32_t i = 0; i < n; i++)
            gb[l][i] += adj[(size_t)r * n + i];
    if (l == 1 && m->clamped && !written[0] && grad->input_grad &&
        grad->input_grad(grad->ctx, m, adj, rows, gW[0])) {
        written[0] = 1; /* the caller's product (a mostly-zero input) */
    } else if (l > 0) {
        const float *gprev = hamp_layer_free(m, l - 1) ? e->g[l - 1] : e->g0;
        hamp_sgemm(1, 0, m->size[l - 1], n, rows, 1.0f, gprev, m->size[l - 1], adj, n,
                   written[l - 1] ? 1.0f : 0.0f, gW[l - 1], n);
        written[l - 1] = 1;
    }
    if (l + 1 < m->n_layers) {
        hamp_sgemm(1, 0, n, m->size[l + 1], rows, 1.0f, adj, n, e->g[l + 1], m->size[l + 1],
                   written[l] ? 1.0f : 0.0f, gW[l], m->size[l + 1]);
        written[l] = 1;
    }
}

void hamp_layered_param_vjp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                            const float *lambda, int32_t rows, const hamp_param_grad_t *grad)
{
    float **gW = grad->gW, **gb = grad->gb;
    int written[HAM_MAX_LAYERS] = {0};
    for (int32_t l = 0; l < m->n_layers; l++)
        if (gb[l])
            memset(gb[l], 0, (size_t)m->size[l] * sizeof(float));
    /* the state layers' own parameters, with their adjoints lambda_l */
    for (int32_t i = 0; i < lay->n_state; i++) {
        int32_t l = lay->state[i];
        gather(e->ta[l], lambda, lay->dim, lay->offset[l], m->size[l], rows);
        layer_param_grad(m, e, l, e->ta[l], rows, grad, written);
    }
    /* the inner layers' (even-odd): their adjoint is mu_k = H_k C_IS lambda */
    for (int32_t i = 0; i < lay->n_inner; i++) {
        int32_t l = lay->inner[i];
        coupled_tangent(m, e, l, e->tb[l], m->size[l], rows);
    }
    for (int32_t i = 0; i < lay->n_inner; i++) {
        int32_t l = lay->inner[i];
        hvp(m, e, l, e->ta[l], e->tb[l], rows, 1);
        layer_param_grad(m, e, l, e->ta[l], rows, grad, written);
    }
    for (int32_t l = 0; l + 1 < m->n_layers; l++) /* a block no layer's product reached */
        if (!written[l])
            memset(gW[l], 0, (size_t)m->size[l] * (size_t)m->size[l + 1] * sizeof(float));
}
