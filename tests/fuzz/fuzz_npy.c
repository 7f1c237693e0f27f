/* Fuzzes the .npy loader (versions 1-3, every accepted dtype, gzip) through
 * ham_dataset_load_npy on in-memory regular files, framed as fuzz_idx.c's input:
 * samples, then labels when flag bit 0 is set. For what loads, every sample is read back
 * (finite values), every label checked against the class count. */
#include <hamdeq/hamdeq.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_dataset_one(data, size, ham_dataset_load_npy, "ham_dataset_load_npy");
}
