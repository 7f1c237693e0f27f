/* Loading and checking labelled data: an MNIST-style directory with
 * ham_dataset_load_dir(), or .npy files with ham_dataset_load_npy(). */
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
    data->train_from = data->test_from = dir;
    data->train_split = "train";
    data->test_split = "t10k";
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

/* One .npy split; a dtype the library refuses gets the NumPy line that converts it. */
static int load_npy(ham_dataset_t **ds, const char *x, const char *y)
{
    int rc = ham_dataset_load_npy(ds, x, y, NULL);
    if (rc != HAM_OK) {
        *ds = NULL;
        const char *msg = ham_last_error();
        if (rc == HAM_ERR_FORMAT && strstr(msg, "dtype") && strstr(msg, "for samples"))
            cli_error("%s; convert it with numpy: numpy.save(\"%s\", "
                      "numpy.load(\"%s\").astype(numpy.float32))",
                      msg, x, x);
        else if (rc == HAM_ERR_FORMAT && strstr(msg, "dtype") && strstr(msg, "for labels"))
            cli_error("%s; convert it with numpy: numpy.save(\"%s\", "
                      "numpy.load(\"%s\").astype(numpy.int64))",
                      msg, y, y);
        else
            cli_error("%s", msg);
        return CLI_EXIT_RUNTIME;
    }
    return 0; /* the loader refuses a shape with 0 samples */
}

/* Both files of a split, or neither (then *given is 0). */
static int npy_pair(int *given, const char *x, const char *y, const char *xflag,
                    const char *yflag)
{
    *given = x || y;
    if (x && !y) {
        cli_error("--%s FILE is required with --%s (the labels, a 1-D integer .npy)", yflag,
                  xflag);
        return CLI_EXIT_USAGE;
    }
    if (y && !x) {
        cli_error("--%s FILE is required with --%s (the samples .npy)", xflag, yflag);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_data_open(cli_data_t *data, const cli_data_src_t *src, int want_train, int want_test)
{
    data->train = data->test = NULL;
    int has_train = 0, has_test = 0, rc;
    if ((rc = npy_pair(&has_train, src->train_x, src->train_y, "train-x", "train-y")) ||
        (rc = npy_pair(&has_test, src->test_x, src->test_y, "test-x", "test-y")))
        return rc;
    const char *want = want_train ? "--train-x, --train-y, --test-x and --test-y"
                                  : "--test-x and --test-y";
    if (src->dir && (has_train || has_test)) {
        cli_error("--data and the .npy files (%s) contradict each other: give one", want);
        return CLI_EXIT_USAGE;
    }
    if (src->dir)
        return cli_data_load(data, src->dir, want_train, want_test);
    if (!has_train && !has_test) {
        cli_error("--data DIR is required (an MNIST-style directory), or the .npy files %s",
                  want);
        return CLI_EXIT_USAGE;
    }
    if ((want_train && !has_train) || (want_test && !has_test)) {
        cli_error("%s are required together (or --data DIR)", want);
        return CLI_EXIT_USAGE;
    }
    data->train_from = src->train_x;
    data->test_from = src->test_x;
    data->train_split = "train";
    data->test_split = "test";
    if (want_train && (rc = load_npy(&data->train, src->train_x, src->train_y)))
        return rc;
    if (want_test && (rc = load_npy(&data->test, src->test_x, src->test_y))) {
        cli_data_free(data);
        return rc;
    }
    return 0;
}

void cli_data_free(cli_data_t *data)
{
    ham_dataset_free(data->train);
    ham_dataset_free(data->test);
    data->train = data->test = NULL;
}

int cli_data_fits(const ham_dataset_t *ds, const char *from, const char *split, int32_t n_in,
                  int32_t n_out)
{
    int32_t dim = ham_dataset_dim(ds);
    if (dim != n_in) {
        cli_error("%s: %s samples have %d values but the model's input layer has %d", from, split,
                  (int)dim, (int)n_in);
        return CLI_EXIT_USAGE;
    }
    if (!ham_dataset_has_labels(ds)) {
        cli_error("%s: the %s split has no labels", from, split);
        return CLI_EXIT_USAGE;
    }
    int32_t classes = ham_dataset_n_classes(ds);
    if (classes > n_out) {
        cli_error("%s: %s labels go up to %d but the model's output layer has only %d units", from,
                  split, (int)classes - 1, (int)n_out);
        return CLI_EXIT_USAGE;
    }
    return 0;
}
