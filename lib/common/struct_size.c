/* Size-prefixed public structs (docs/api.md): each starts with `uint32_t size`, set by
 * the caller to the sizeof it was compiled with. The library reads and writes at most
 * the bytes it knows, so a struct from older or newer headers is never overrun. */
#include <string.h>

#include "common/common_private.h"

int hamp_struct_out(void *dst, const void *src, size_t first, size_t known, const char *type)
{
    uint32_t size;
    memcpy(&size, dst, sizeof size);
    if (size < first)
        return hamp_fail(HAM_ERR_STRUCT_SIZE, "%s.size is %u, at least %zu expected", type,
                         (unsigned)size, first);
    size_t n = size < known ? size : known;
    memcpy(dst, src, n);
    size = (uint32_t)n; /* what was filled: a newer caller's fields past it are untouched */
    memcpy(dst, &size, sizeof size);
    return HAM_OK;
}

int hamp_struct_in(void *copy, const void *src, size_t first, size_t known, const char *type)
{
    uint32_t size;
    memcpy(&size, src, sizeof size);
    if (size < first)
        return hamp_fail(HAM_ERR_STRUCT_SIZE, "%s.size is %u, at least %zu expected", type,
                         (unsigned)size, first);
    /* fields of a newer header that this library does not know must be unset (zero) */
    const unsigned char *tail = (const unsigned char *)src;
    for (size_t i = known; i < size; i++)
        if (tail[i])
            return hamp_fail(HAM_ERR_STRUCT_SIZE,
                             "%s has a non-zero field at byte %zu, unknown to this library "
                             "(it knows %zu bytes)",
                             type, i, known);
    size_t n = size < known ? size : known;
    memset(copy, 0, known);
    memcpy(copy, src, n);
    size = (uint32_t)known;
    memcpy(copy, &size, sizeof size);
    return HAM_OK;
}
