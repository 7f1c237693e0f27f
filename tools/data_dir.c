/* Loading and checking an MNIST-style data directory with ham_dataset_load_dir(). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "data_dir.h"

static int load_split(ham_dataset_t **ds, const char *dir, const char *split)
{
    int rc = ham_dataset_load_dir(ds, dir, split, NULL);
    if (rc != HAM_OK) {
        *ds = NULL;
        cli_error("%s", ham_last_error());
        return CLI_EXIT_RUNTIME;
    }
    if (ham_dataset_count(*ds) <= 0) {
        cli_error("%s: the %s split holds no samples", dir, split);
        ham_dataset_free(*ds);
        *ds = NULL;
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

int cli_data_load(cli_data_t *data, const char *dir, int want_train, int want_test)
{
    data->train = data->test = NULL;
    struct stat st;
    if (stat(dir, &st) != 0) {
        cli_error("data directory %s: %s", dir, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_error("data directory %s: not a directory (--data takes a directory holding "
                  "train-images-idx3-ubyte[.gz] and the like)",
                  dir);
        return CLI_EXIT_RUNTIME;
    }
    int rc = 0;
    if (want_train)
        rc = load_split(&data->train, dir, "train");
    if (!rc && want_test)
        rc = load_split(&data->test, dir, "t10k");
    if (rc)
        cli_data_free(data);
    return rc;
}

void cli_data_free(cli_data_t *data)
{
    ham_dataset_free(data->train);
    ham_dataset_free(data->test);
    data->train = data->test = NULL;
}

int cli_data_fits(const ham_dataset_t *ds, const char *dir, const char *split, int32_t n_in,
                  int32_t n_out)
{
    int32_t dim = ham_dataset_dim(ds);
    if (dim != n_in) {
        cli_error("%s: %s samples have %d values but the model's input layer has %d", dir, split,
                  (int)dim, (int)n_in);
        return CLI_EXIT_USAGE;
    }
    if (!ham_dataset_has_labels(ds)) {
        cli_error("%s: the %s split has no labels", dir, split);
        return CLI_EXIT_USAGE;
    }
    int32_t classes = ham_dataset_n_classes(ds);
    if (classes > n_out) {
        cli_error("%s: %s labels go up to %d but the model's output layer has only %d units", dir,
                  split, (int)classes - 1, (int)n_out);
        return CLI_EXIT_USAGE;
    }
    return 0;
}
