/* Adapter from a user's row callbacks (ham_lagrangian_def_t) to the private ops. */
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
