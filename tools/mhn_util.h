/* Helpers of the Modern Hopfield subcommands (phase, retrieve): a seeded random source
 * and the retrieval solver. */
#ifndef HAMDEQ_TOOLS_MHN_UTIL_H
#define HAMDEQ_TOOLS_MHN_UTIL_H

#include <stdint.h>

#include <hamdeq/hamdeq.h>

/* splitmix64: a small portable stream, the same on every platform for a seed. */
typedef struct mhn_rng {
    uint64_t s;
} mhn_rng_t;

void mhn_rng_seed(mhn_rng_t *r, uint64_t seed);
double mhn_uniform(mhn_rng_t *r);  /* [0, 1) with 53 random bits */
double mhn_gaussian(mhn_rng_t *r); /* standard normal (Box-Muller) */

/* A retrieval solver of the network: the even-odd operator with solver `kind`, tolerance
 * `tol`, at most `max_iter` evaluations, and (warm_start) the start kept as the
 * retrieval's initial state. Returns 0, or CLI_EXIT_RUNTIME after one error line
 * (*solver is then freed and NULL). */
int mhn_solver_new(ham_solver_t **solver, const ham_model_t *model, int32_t kind, double tol,
                   int64_t max_iter, int warm_start);

/* mean (d doubles) = the mean of `count` images of d pixels. */
void mhn_mean_image(double *mean, const float *pix, int32_t count, int32_t d);

/* Centres `count x d` pixels on `mean` and scales each row to unit norm (docs/mhn.md: the
 * patterns' and queries' normalisation; a row equal to the mean becomes 0). out may be
 * pix. */
void mhn_normalise(float *out, const float *pix, int32_t count, int32_t d, const double *mean);

#endif /* HAMDEQ_TOOLS_MHN_UTIL_H */
