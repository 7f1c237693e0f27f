/* Fuzzes the IDX loader (raw and gzip, images and labels) through
 * ham_dataset_load_idx on in-memory regular files. The input is framed (fuzz_util.h):
 * flags, the images file's length, the images file, then the labels file when flag bit 0
 * is set; bits 1-2 pick the load limit. For what loads, every sample and label is read
 * back and checked: values in [0, 1], labels in [0, n_classes). Every failure must be a
 * known status with a one-line message. */
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#include "fuzz_util.h"

static fz_file_t images_file, labels_file;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_frame_t fr;
    if (!fz_split(&fr, data, size))
        return 0;
    const char *images = fz_file_set(&images_file, fr.first, fr.first_len);
    const char *labels = NULL;
    if (fr.flags & 1)
        labels = fz_file_set(&labels_file, fr.second, fr.second_len);
    ham_dataset_t *ds = (ham_dataset_t *)&ds;
    int rc = ham_dataset_load_idx(&ds, images, labels, fz_load_options((fr.flags >> 1) & 3));
    fz_check_status(rc, "ham_dataset_load_idx");
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
