/* Fuzzes the .npy loader (versions 1-3, every accepted dtype, gzip) through
 * ham_dataset_load_npy on in-memory regular files, framed as fuzz_idx.c's input:
 * samples, then labels when flag bit 0 is set. For what loads, every sample is read back
 * (finite values), every label checked against the class count. */
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#include "fuzz_util.h"

static fz_file_t samples_file, labels_file;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_frame_t fr;
    if (!fz_split(&fr, data, size))
        return 0;
    const char *samples = fz_file_set(&samples_file, fr.first, fr.first_len);
    const char *labels = NULL;
    if (fr.flags & 1)
        labels = fz_file_set(&labels_file, fr.second, fr.second_len);
    ham_dataset_t *ds = (ham_dataset_t *)&ds;
    int rc = ham_dataset_load_npy(&ds, samples, labels, fz_load_options((fr.flags >> 1) & 3));
    fz_check_status(rc, "ham_dataset_load_npy");
    if (rc != HAM_OK) {
        if (ds != NULL)
            fz_fail("failed load left the dataset pointer set");
        if (rc != HAM_ERR_FORMAT && rc != HAM_ERR_NOMEM)
            fz_fail("load: %s (%s)", ham_status_name(rc), ham_last_error());
        return 0;
    }
    fz_loaded++;
    fz_check_dataset(ds, labels != NULL);
    ham_dataset_free(ds);
    return 0;
}
