/* Fuzzes the IDX loader (raw and gzip, images and labels) through
 * ham_dataset_load_idx on in-memory regular files. The input is framed (fuzz_util.h):
 * flags, the images file's length, the images file, then the labels file when flag bit 0
 * is set; bits 1-2 pick the load limit. For what loads, every sample and label is read
 * back and checked: values in [0, 1], labels in [0, n_classes). Every failure must be a
 * known status with a one-line message. */
#include <hamdeq/hamdeq.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_dataset_one(data, size, ham_dataset_load_idx, "ham_dataset_load_idx");
}
