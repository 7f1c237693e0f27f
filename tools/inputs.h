/* The input batch a subcommand drives its model with: random pixels or an IDX file. */
#ifndef HAMDEQ_TOOLS_INPUTS_H
#define HAMDEQ_TOOLS_INPUTS_H

#include <stddef.h>
#include <stdint.h>

/* Loads `batch` rows of `features` floats in [0, 1) into a new array (*x, free()).
 * source "random": uniform pixels from a fixed generator seeded with `seed`;
 * otherwise the path of an unsigned-byte IDX images file, raw or gzipped, whose first
 * `batch` images are scaled by 1/255. `desc` receives a short description.
 * Returns 0, or an exit code after printing one error line. */
int cli_inputs_load(float **x, const char *source, int32_t batch, int32_t features,
                    uint64_t seed, char *desc, size_t desclen);

#endif /* HAMDEQ_TOOLS_INPUTS_H */
