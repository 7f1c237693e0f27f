/* Helpers of the Modern Hopfield subcommands (phase, retrieve): a seeded random source,
 * and SVG files written atomically. */
#ifndef HAMDEQ_TOOLS_MHN_UTIL_H
#define HAMDEQ_TOOLS_MHN_UTIL_H

#include <stdint.h>
#include <stdio.h>

/* splitmix64: a small portable stream, the same on every platform for a seed. */
typedef struct mhn_rng {
    uint64_t s;
} mhn_rng_t;

void mhn_rng_seed(mhn_rng_t *r, uint64_t seed);
double mhn_uniform(mhn_rng_t *r);  /* [0, 1) with 53 random bits */
double mhn_gaussian(mhn_rng_t *r); /* standard normal (Box-Muller) */

/* A file written atomically: into a temporary file in the same directory, which commit
 * flushes, fsyncs and renames over path. Opened before any output is printed, so that a
 * path that cannot be written fails before the command prints anything. */
typedef struct mhn_file {
    FILE *out;
    char *tmp;
    const char *path;
} mhn_file_t;

/* Returns 0, or CLI_EXIT_RUNTIME after printing one error line. */
int mhn_file_open(mhn_file_t *f, const char *path);
/* Returns 0, or CLI_EXIT_RUNTIME after printing one error line (nothing is left behind). */
int mhn_file_commit(mhn_file_t *f);
/* Removes the temporary file; a no-op on a zeroed or committed struct. */
void mhn_file_abort(mhn_file_t *f);

/* Writes s with the XML special characters escaped. */
void mhn_xml_text(FILE *out, const char *s);

#endif /* HAMDEQ_TOOLS_MHN_UTIL_H */
