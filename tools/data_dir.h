/* The labelled data a subcommand trains or evaluates on: an MNIST-style directory, or
 * NumPy .npy files (train and eval). */
#ifndef HAMDEQ_TOOLS_DATA_DIR_H
#define HAMDEQ_TOOLS_DATA_DIR_H

#include <stdint.h>

#include <hamdeq/hamdeq.h>

typedef struct cli_data {
    ham_dataset_t *train; /* DIR/train-* or --train-x/-y, or NULL when not asked for */
    ham_dataset_t *test;  /* DIR/t10k-* or --test-x/-y, or NULL when not asked for */
    /* For messages: where each split came from (the directory, or the samples file) and
     * its name there ("train" and "t10k" in a directory, "train" and "test" otherwise). */
    const char *train_from, *test_from, *train_split, *test_split;
} cli_data_t;

/* Where train and eval read their data: --data DIR, or the .npy files. */
typedef struct cli_data_src {
    const char *dir;
    const char *train_x, *train_y, *test_x, *test_y;
} cli_data_src_t;

/* Loads the asked-for splits of DIR ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
 * Returns 0, or CLI_EXIT_RUNTIME after printing one error line (nothing is kept). */
int cli_data_load(cli_data_t *data, const char *dir, int want_train, int want_test);

/* Loads the asked-for splits from src: its directory, or its .npy files (samples float32
 * or uint8, labels uint8, int32 or int64), exactly one of the two. Returns 0,
 * CLI_EXIT_USAGE (no source, both, a samples file without its labels), or
 * CLI_EXIT_RUNTIME (a file cannot be used), after printing one error line. */
int cli_data_open(cli_data_t *data, const cli_data_src_t *src, int want_train, int want_test);

void cli_data_free(cli_data_t *data);

/* Checks that a split fits a model whose input layer has n_in units and output layer
 * n_out: same sample size, labels present, every label < n_out. `from` and `split`
 * name it in messages (cli_data_t's train_from and train_split, ...).
 * Returns 0, or CLI_EXIT_USAGE after printing one error line. */
int cli_data_fits(const ham_dataset_t *ds, const char *from, const char *split, int32_t n_in,
                  int32_t n_out);

#endif /* HAMDEQ_TOOLS_DATA_DIR_H */
