/* ham_dataset_t: samples kept as loaded (uint8 pixels or float32), handed out as float
 * batches. The loaders (idx.c, npy.c) hand it their buffers through hamp_dataset_wrap. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_private.h"

/* The first published size of ham_load_options_t: smaller sizes are refused. */
#define LOAD_OPTIONS_V1 (offsetof(ham_load_options_t, max_bytes) + sizeof(uint64_t))

int hamp_load_options_read(hamp_budget_t *b, const ham_load_options_t *options)
{
    b->max = HAM_LOAD_DEFAULT_MAX_BYTES;
    b->used = 0;
    if (!options)
        return HAM_OK;
    ham_load_options_t o;
    int rc = hamp_struct_in(&o, options, LOAD_OPTIONS_V1, sizeof o, "ham_load_options_t");
    if (rc != HAM_OK)
        return rc;
    if (o.flags != 0)
        return hamp_fail(HAM_ERR_INVALID, "ham_load_options_t.flags is 0x%x, must be 0",
                         (unsigned)o.flags);
    if (o.max_bytes != 0)
        b->max = o.max_bytes;
    return HAM_OK;
}

int hamp_budget_take(hamp_budget_t *b, uint64_t n, const char *path, const char *what)
{
    if (n > b->max - b->used) {
        if (b->used == 0)
            return hamp_fail(HAM_ERR_NOMEM,
                             "%s: %s needs %llu bytes, more than the load limit of %llu bytes "
                             "(ham_load_options_t.max_bytes)",
                             path, what, (unsigned long long)n, (unsigned long long)b->max);
        return hamp_fail(HAM_ERR_NOMEM,
                         "%s: %s needs %llu bytes, which with the %llu already allocated "
                         "exceeds the load limit of %llu bytes (ham_load_options_t.max_bytes)",
                         path, what, (unsigned long long)n, (unsigned long long)b->used,
                         (unsigned long long)b->max);
    }
    b->used += n;
    return HAM_OK;
}

int hamp_dataset_wrap(ham_dataset_t **out, int64_t count, int32_t dim, uint8_t *u8, float *f32,
                      int32_t *labels)
{
    ham_dataset_t *d = calloc(1, sizeof *d);
    if (!d) {
        free(u8);
        free(f32);
        free(labels);
        return HAMP_FAIL(HAM_ERR_NOMEM);
    }
    d->count = count;
    d->dim = dim;
    d->u8 = u8;
    d->f32 = f32;
    d->labels = labels;
    if (labels) {
        int32_t mx = -1;
        for (int64_t i = 0; i < count; i++)
            if (labels[i] > mx)
                mx = labels[i];
        d->n_classes = mx + 1; /* labels < INT32_MAX, checked by the readers */
    }
    *out = d;
    return HAM_OK;
}

HAM_API void ham_dataset_free(ham_dataset_t *dataset)
{
    if (!dataset)
        return;
    free(dataset->u8);
    free(dataset->f32);
    free(dataset->labels);
    free(dataset);
}

HAM_API int64_t ham_dataset_count(const ham_dataset_t *dataset)
{
    return dataset ? dataset->count : 0;
}

HAM_API int32_t ham_dataset_dim(const ham_dataset_t *dataset)
{
    return dataset ? dataset->dim : 0;
}

HAM_API int32_t ham_dataset_has_labels(const ham_dataset_t *dataset)
{
    return dataset && dataset->labels ? 1 : 0;
}

HAM_API int32_t ham_dataset_n_classes(const ham_dataset_t *dataset)
{
    return dataset ? dataset->n_classes : 0;
}

/* One sample into x: pixels divided by 255 (a division, not a multiplication by 1/255,
 * so that 255 gives exactly 1 and every value is the correctly rounded quotient). */
static void copy_sample(float *x, int32_t *label, const ham_dataset_t *d, int64_t i)
{
    size_t dim = (size_t)d->dim;
    if (d->u8) {
        const uint8_t *p = d->u8 + (size_t)i * dim;
        for (size_t j = 0; j < dim; j++)
            x[j] = (float)p[j] / 255.0f;
    } else {
        memcpy(x, d->f32 + (size_t)i * dim, dim * sizeof *x);
    }
    if (label)
        *label = d->labels[i];
}

HAM_API int ham_dataset_get(float *x, int32_t *labels, const ham_dataset_t *dataset,
                            int64_t first, int32_t count)
{
    if (!x || !dataset)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (count <= 0 || first < 0 || first > dataset->count - count)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (labels && !dataset->labels)
        return HAMP_FAIL(HAM_ERR_INVALID);
    for (int32_t k = 0; k < count; k++)
        copy_sample(x + (size_t)k * (size_t)dataset->dim, labels ? labels + k : NULL, dataset,
                    first + k);
    return HAM_OK;
}

HAM_API int ham_dataset_gather(float *x, int32_t *labels, const ham_dataset_t *dataset,
                               const int64_t *indices, int32_t count)
{
    if (!x || !dataset || !indices)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (count <= 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (labels && !dataset->labels)
        return HAMP_FAIL(HAM_ERR_INVALID);
    /* Every index is checked before anything is written. */
    for (int32_t k = 0; k < count; k++)
        if (indices[k] < 0 || indices[k] >= dataset->count)
            return HAMP_FAIL(HAM_ERR_INVALID);
    for (int32_t k = 0; k < count; k++)
        copy_sample(x + (size_t)k * (size_t)dataset->dim, labels ? labels + k : NULL, dataset,
                    indices[k]);
    return HAM_OK;
}
