/* An MNIST-style directory: DIR/{split}-images-idx3-ubyte and -labels-idx1-ubyte, each
 * raw or .gz, as the MNIST and Fashion-MNIST distributions (and Debian's packages) lay
 * them out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io_private.h"

/* DIR/NAME if it exists, else DIR/NAME.gz if that does; a malloc'd path, or NULL with
 * *rc and the message set. */
static char *find_file(const char *dir, const char *split, const char *stem, int *rc)
{
    size_t n = strlen(dir) + strlen(split) + strlen(stem) + 8;
    char *path = malloc(n);
    if (!path) {
        *rc = hamp_fail(HAM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    struct stat st;
    snprintf(path, n, "%s/%s-%s", dir, split, stem);
    if (stat(path, &st) == 0)
        return path;
    int e = errno;
    snprintf(path, n, "%s/%s-%s.gz", dir, split, stem);
    if (stat(path, &st) == 0)
        return path;
    if (e == ENOENT)
        e = errno;
    *rc = hamp_fail(HAM_ERR_IO, "%s/%s-%s[.gz]: cannot open: %s", dir, split,
                      stem, strerror(e));
    free(path);
    return NULL;
}

HAM_API int ham_dataset_load_dir(ham_dataset_t **dataset, const char *dir, const char *split,
                                 const ham_load_options_t *options)
{
    if (!dataset)
        return hamp_fail(HAM_ERR_NULL, "dataset output pointer is NULL");
    *dataset = NULL;
    if (!dir || !split)
        return hamp_fail(HAM_ERR_NULL, "directory or split name is NULL");
    hamp_budget_t check; /* options are checked before the files are looked for */
    int rc = hamp_load_options_read(&check, options);
    if (rc != HAM_OK)
        return rc;
    char *images = find_file(dir, split, "images-idx3-ubyte", &rc);
    if (!images)
        return rc;
    char *labels = find_file(dir, split, "labels-idx1-ubyte", &rc);
    if (!labels) {
        free(images);
        return rc;
    }
    rc = ham_dataset_load_idx(dataset, images, labels, options);
    free(images);
    free(labels);
    return rc;
}
