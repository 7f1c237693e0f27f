/* Adapter from a user's row callbacks (ham_lagrangian_def_t) to the private ops, and the
 * shared holder of the user data that a destructor comes with. */
#include <stdlib.h>
#include <string.h>

#include "core/core_private.h"

static double custom_value(const hamp_lagrangian_t *self, const float *s, int32_t n)
{
    return self->custom.value(s, n, self->custom.user);
}

static void custom_activation(const hamp_lagrangian_t *self, float *g, const float *s,
                              int32_t rows, int32_t n)
{
    for (int32_t r = 0; r < rows; r++)
        self->custom.activation(g + (size_t)r * n, s + (size_t)r * n, n, self->custom.user);
}

static void custom_hvp(const hamp_lagrangian_t *self, float *out, const float *s, const float *g,
                       const float *v, int32_t rows, int32_t mult, int32_t n)
{
    for (int32_t r = 0; r < rows; r++)
        for (int32_t t = 0; t < mult; t++) {
            size_t off = ((size_t)r * mult + t) * n;
            self->custom.hvp(out + off, s + (size_t)r * n, g + (size_t)r * n, v + off, n,
                             self->custom.user);
        }
}

const hamp_lagrangian_ops_t hamp_lagrangian_custom = {"custom", 0, custom_value,
                                                      custom_activation, custom_hvp};

int hamp_lagrangian_custom_init(hamp_lagrangian_t *lag, const ham_lagrangian_def_t *def)
{
    hamp_user_ref_t *owner = NULL;
    if (def->destroy) {
        if (!(owner = malloc(sizeof *owner)))
            return hamp_fail(HAM_ERR_NOMEM, "cannot allocate the holder of a custom "
                                            "Lagrangian's user data");
        atomic_init(&owner->refs, 1);
        owner->user = def->user;
        owner->destroy = def->destroy;
    }
    memset(lag, 0, sizeof *lag);
    lag->ops = &hamp_lagrangian_custom;
    lag->kind = HAM_LAGRANGIAN_CUSTOM;
    memcpy(&lag->custom, def, sizeof lag->custom);
    lag->custom.size = sizeof lag->custom;
    lag->owner = owner;
    return HAM_OK;
}

void hamp_lagrangian_retain(const hamp_lagrangian_t *lag)
{
    /* a new holder is made from an existing one, so the count cannot be racing to 0 */
    if (lag->owner)
        atomic_fetch_add_explicit(&lag->owner->refs, 1, memory_order_relaxed);
}

void hamp_lagrangian_release(hamp_lagrangian_t *lag)
{
    hamp_user_ref_t *owner = lag->owner;
    memset(lag, 0, sizeof *lag);
    /* acq_rel: every use of the user data by other holders happens before destroy */
    if (owner && atomic_fetch_sub_explicit(&owner->refs, 1, memory_order_acq_rel) == 1) {
        owner->destroy(owner->user);
        free(owner);
    }
}
