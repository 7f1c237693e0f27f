/* Evaluation workspace: per-layer buffers sized once for a number of rows, so that
 * operator evaluations inside solver iterations never allocate. */
#include <stdlib.h>
#include <string.h>

#include "core/core_private.h"

void hamp_eval_free(hamp_eval_t *e)
{
    for (int32_t l = 0; l < HAM_MAX_LAYERS; l++) {
        free(e->s[l]);
        free(e->g[l]);
        free(e->ta[l]);
        free(e->tb[l]);
        free(e->pad[l]);
        free(e->wt[l]);
    }
    free(e->drive);
    free(e->g0);
    free(e->rhs);
    memset(e, 0, sizeof *e);
}

static float *alloc_rows(size_t rows, int32_t width)
{
    return malloc(rows * (size_t)width * sizeof(float) + 1); /* +1: never malloc(0) */
}

int hamp_eval_init(hamp_eval_t *e, const ham_model_t *m, int32_t cap, int32_t mult_cap)
{
    memset(e, 0, sizeof *e);
    e->cap = cap;
    e->mult_cap = mult_cap;
    size_t tangent_rows = (size_t)cap * (size_t)mult_cap;
    for (int32_t l = 0; l < m->n_layers; l++) {
        if (!hamp_layer_free(m, l))
            continue;
        if (!(e->s[l] = alloc_rows((size_t)cap, m->size[l])) ||
            !(e->g[l] = alloc_rows((size_t)cap, m->size[l])) ||
            !(e->ta[l] = alloc_rows(tangent_rows, m->size[l])) ||
            !(e->tb[l] = alloc_rows(tangent_rows, m->size[l])))
            goto nomem;
    }
    for (int32_t l = 0; l + 1 < m->n_layers; l++) {
        if (!hamp_block_thin(m, l))
            continue;
        int32_t a = m->size[l], b = m->size[l + 1];
        if (!(e->pad[l] = alloc_rows((size_t)(a > b ? a : b), 16)) ||
            (b <= HAMP_THIN && !(e->wt[l] = alloc_rows((size_t)b, a))))
            goto nomem;
    }
    if (m->clamped) {
        if (!(e->g0 = alloc_rows((size_t)cap, m->size[0])) ||
            !(e->drive = alloc_rows((size_t)cap, m->size[1])))
            goto nomem;
        e->g[0] = NULL; /* the clamped layer's activation lives in g0 */
    }
    return HAM_OK;
nomem:
    hamp_eval_free(e);
    return HAMP_FAIL(HAM_ERR_NOMEM);
}

int hamp_block_thin(const ham_model_t *m, int32_t l)
{
    return hamp_layer_free(m, l) && hamp_layer_free(m, l + 1) &&
           (m->size[l] <= HAMP_THIN || m->size[l + 1] <= HAMP_THIN);
}

void hamp_eval_pack(hamp_eval_t *e, const ham_model_t *m)
{
    for (int32_t l = 0; l + 1 < m->n_layers; l++) {
        if (!e->pad[l])
            continue;
        const int32_t a = m->size[l], b = m->size[l + 1];
        const float *W = m->W[l];
        float *pad = e->pad[l];
        if (b <= HAMP_THIN) { /* narrow: B = W (a x b); short sum: B = W' (b x a) */
            memset(pad, 0, (size_t)a * 16 * sizeof(float));
            for (int32_t i = 0; i < a; i++)
                for (int32_t j = 0; j < b; j++) {
                    pad[(size_t)i * 16 + j] = W[(size_t)i * b + j];
                    e->wt[l][(size_t)j * a + i] = W[(size_t)i * b + j];
                }
        } else { /* a thin: narrow B = W' (b x a); the short sum reads W itself */
            memset(pad, 0, (size_t)b * 16 * sizeof(float));
            for (int32_t i = 0; i < a; i++)
                for (int32_t j = 0; j < b; j++)
                    pad[(size_t)j * 16 + i] = W[(size_t)i * b + j];
        }
    }
    e->packed = 1;
}

static void set_input(hamp_eval_t *e, const ham_model_t *m, const float *x, int32_t rows,
                      int serial)
{
    if (!m->clamped)
        return;
    int32_t n0 = m->size[0], n1 = m->size[1];
    m->lag[0].ops->activation(&m->lag[0], e->g0, x, rows, n0);
    /* drive = g_0 W_0 + b_1: constant during a solve, so computed once */
    for (int32_t r = 0; r < rows; r++)
        memcpy(e->drive + (size_t)r * n1, m->b[1], (size_t)n1 * sizeof(float));
    if (serial)
        hamp_sgemm_serial(rows, n1, n0, e->g0, n0, m->W[0], n1, 1.0f, e->drive, n1);
    else
        hamp_sgemm(0, 0, rows, n1, n0, 1.0f, e->g0, n0, m->W[0], n1, 1.0f, e->drive, n1);
    e->have_drive = e->have_g0 = 1;
}

void hamp_eval_set_input(hamp_eval_t *e, const ham_model_t *m, const float *x, int32_t rows)
{
    set_input(e, m, x, rows, 0);
}

void hamp_eval_set_input_serial(hamp_eval_t *e, const ham_model_t *m, const float *x,
                                int32_t rows)
{
    set_input(e, m, x, rows, 1);
}

void hamp_eval_copy_drive(hamp_eval_t *e, const ham_model_t *m, const hamp_eval_t *src,
                          int32_t rows)
{
    e->have_drive = e->have_g0 = 0;
    if (!m->clamped)
        return;
    memcpy(e->drive, src->drive, (size_t)rows * (size_t)m->size[1] * sizeof(float));
    e->have_drive = 1;
}

void hamp_eval_copy_point(hamp_eval_t *e, const ham_model_t *m, const hamp_eval_t *src,
                          int32_t rows)
{
    for (int32_t l = 0; l < m->n_layers; l++) {
        if (!hamp_layer_free(m, l))
            continue;
        size_t n = (size_t)rows * (size_t)m->size[l] * sizeof(float);
        memcpy(e->s[l], src->s[l], n);
        memcpy(e->g[l], src->g[l], n);
    }
    e->have_drive = e->have_g0 = 0;
}

void hamp_eval_compact(hamp_eval_t *e, const ham_model_t *m, const int32_t *keep, int32_t n)
{
    /* the linearisation point moves with its rows: backends take JVPs after compaction */
    for (int32_t l = 0; l < m->n_layers; l++) {
        if (!hamp_layer_free(m, l))
            continue;
        hamp_compact_rows(e->s[l], (size_t)m->size[l], keep, n);
        hamp_compact_rows(e->g[l], (size_t)m->size[l], keep, n);
    }
    if (e->rhs)
        hamp_compact_rows(e->rhs, (size_t)e->rhs_width, keep, n);
    if (!m->clamped)
        return;
    if (e->have_drive)
        hamp_compact_rows(e->drive, (size_t)m->size[1], keep, n);
    if (e->have_g0)
        hamp_compact_rows(e->g0, (size_t)m->size[0], keep, n);
}
