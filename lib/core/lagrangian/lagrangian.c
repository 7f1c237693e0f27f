/* Lagrangian kinds: names, parsing, and the table from kind to ops. */
#include <string.h>

#include "core/core_private.h"

static const struct {
    int32_t kind;
    const char *name;
} kinds[] = {
    {HAM_LAGRANGIAN_SHIFTED_SIGMOID, "shifted-sigmoid"},
    {HAM_LAGRANGIAN_SIGMOID, "sigmoid"},
    {HAM_LAGRANGIAN_TANH, "tanh"},
    {HAM_LAGRANGIAN_IDENTITY, "identity"},
    {HAM_LAGRANGIAN_SOFTMAX, "softmax"},
    {HAM_LAGRANGIAN_CUSTOM, "custom"},
};

HAM_API const char *ham_lagrangian_name(int32_t kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return NULL;
}

HAM_API int ham_lagrangian_from_name(int32_t *kind, const char *name)
{
    if (!kind || !name)
        return HAMP_FAIL(HAM_ERR_NULL);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind != HAM_LAGRANGIAN_CUSTOM && strcmp(kinds[i].name, name) == 0) {
            *kind = kinds[i].kind;
            return HAM_OK;
        }
    return hamp_fail(HAM_ERR_UNKNOWN_LAGRANGIAN, "unknown Lagrangian name '%.64s'", name);
}
