/* Little-endian file data on any host. */
#include <string.h>

#include "common/common_private.h"

void hamp_le_floats(float *x, size_t n)
{
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (first == 1)
        return; /* little-endian host */
    for (size_t i = 0; i < n; i++) {
        unsigned char b[4];
        memcpy(b, &x[i], 4);
        uint32_t u = hamp_le32(b);
        memcpy(&x[i], &u, 4);
    }
}
