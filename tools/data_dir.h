/* The labelled data a subcommand trains or evaluates on: an MNIST-style directory. */
#ifndef HAMDEQ_TOOLS_DATA_DIR_H
#define HAMDEQ_TOOLS_DATA_DIR_H

#include <stdint.h>

#include <hamdeq/hamdeq.h>

typedef struct cli_data {
    ham_dataset_t *train; /* DIR/train-*, or NULL when not asked for */
    ham_dataset_t *test;  /* DIR/t10k-*, or NULL when not asked for */
} cli_data_t;

/* Loads the asked-for splits of DIR ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
 * Returns 0, or CLI_EXIT_RUNTIME after printing one error line (nothing is kept). */
int cli_data_load(cli_data_t *data, const char *dir, int want_train, int want_test);

void cli_data_free(cli_data_t *data);

/* Checks that a split fits a model whose input layer has n_in units and output layer
 * n_out: same sample size, labels present, every label < n_out.
 * Returns 0, or CLI_EXIT_USAGE after printing one error line. */
int cli_data_fits(const ham_dataset_t *ds, const char *dir, const char *split, int32_t n_in,
                  int32_t n_out);

#endif /* HAMDEQ_TOOLS_DATA_DIR_H */
