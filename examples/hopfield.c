/* hopfield: a Modern Hopfield network on your own patterns (docs/mhn.md).
 *
 * ham_mhn_new() stores P patterns of D values; its even-odd state is the visible layer
 * v, and one even-odd step is the Modern Hopfield update v <- X softmax(beta X^T v)
 * (docs/math.md section 6). The program
 *   1. retrieves a stored pattern from a corrupted copy (the query is the initial state),
 *   2. shows the energy ham_mhn_energy() fell from the query to the retrieved state,
 *   3. counts the memories with ham_mhn_find_minima(): from many starts, the distinct
 *      minima the update reaches, and which one each start fell into.
 *
 *     cc hopfield.c $(pkg-config --cflags --libs hamdeq) -o hopfield
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#define D 64        /* values per pattern (visible units) */
#define P 5         /* stored patterns (hidden units) */
#define FLIPS 12    /* corrupted entries of the query */
#define BETA 0.2    /* inverse temperature: above beta_s, so one minimum per pattern */
#define STARTS 40   /* starts for find_minima: P corrupted patterns, then random ones */

static int failed(int status, const char *what)
{
    if (status != HAM_OK)
        fprintf(stderr, "hopfield: %s: %s\n", what, ham_last_error());
    return status != HAM_OK;
}

/* Overlap (cosine for +-1 vectors) of v with pattern mu, in [-1, 1]. */
static float overlap(const float *patterns, int mu, const float *v)
{
    float o = 0;
    for (int i = 0; i < D; i++)
        o += patterns[mu * D + i] * v[i];
    return o / D;
}

int main(void)
{
    /* Your patterns, one per row (P x D, row-major): here random +-1 vectors. */
    static float patterns[P * D], starts[STARTS * D], minima[2 * P * D];
    uint32_t rng = 2024u;
    for (int i = 0; i < P * D; i++) {
        rng = rng * 1664525u + 1013904223u;
        patterns[i] = (rng >> 31) ? 1.0f : -1.0f;
    }
    /* Starts: each pattern with FLIPS entries flipped (start mu should find pattern mu),
     * then random +-1 vectors. starts[0..D) is pattern 0's corrupted copy, and so on. */
    for (int k = 0; k < STARTS; k++) {
        for (int i = 0; i < D; i++) {
            rng = rng * 1664525u + 1013904223u;
            float r = (rng >> 31) ? 1.0f : -1.0f;
            starts[k * D + i] = k < P ? patterns[k * D + i] * (i < FLIPS ? -1.0f : 1.0f) : r;
        }
    }

    ham_model_t *model = NULL;
    ham_solver_t *solver = NULL;
    int ret = 1;
    double beta_s = 0;
    if (failed(ham_mhn_beta_s(&beta_s, patterns, P, D), "ham_mhn_beta_s") ||
        failed(ham_mhn_new(&model, patterns, P, D, BETA), "ham_mhn_new"))
        goto done;
    printf("%d patterns of %d values; beta %.2f, beta_s %.3f (the mean attractor is %s)\n", P,
           D, BETA, beta_s, BETA > beta_s ? "unstable: one memory per pattern" : "stable");

    /* 1. Retrieval: even-odd Picard is the plain Hopfield update, an exact energy
     * descent; warm start = begin from the state we pass (the query). */
    const int target = 2;
    float v[D];
    for (int i = 0; i < D; i++)
        v[i] = starts[target * D + i];
    if (failed(ham_solver_new(&solver, model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD),
               "ham_solver_new") ||
        failed(ham_solver_set_option(solver, HAM_OPT_WARM_START, 1), "warm start") ||
        failed(ham_solver_set_option(solver, HAM_OPT_TOL, 1e-5), "tol"))
        goto done;
    double e_query = 0, e_found = 0;
    if (failed(ham_mhn_energy(&e_query, model, 1, v), "ham_mhn_energy") ||
        failed(ham_solver_solve(solver, v, 1, NULL), "ham_solver_solve") ||
        failed(ham_mhn_energy(&e_found, model, 1, v), "ham_mhn_energy"))
        goto done;
    int32_t iters = 0, status = 0;
    ham_solver_get_samples(&iters, NULL, &status, solver, 1);
    printf("query: pattern %d with %d of %d entries flipped, overlap %.3f, energy %.3f\n",
           target, FLIPS, D, overlap(patterns, target, starts + target * D), e_query);
    printf("retrieved in %d iterations (%s): overlap %.3f, energy %.3f\n", (int)iters,
           status == HAM_SAMPLE_CONVERGED ? "converged" : "NOT converged",
           overlap(patterns, target, v), e_found);
    int ok = status == HAM_SAMPLE_CONVERGED && overlap(patterns, target, v) > 0.99f &&
             e_found <= e_query;

    /* 2. The memories: solve from every start (with the same solver's kind and options),
     * cluster the fixed points, keep the minima (positive-definite energy Hessian). */
    ham_mhn_minima_t found = {.size = sizeof found};
    int32_t assign[STARTS];
    if (failed(ham_mhn_find_minima(&found, minima, 2 * P, assign, solver, starts, STARTS, 0.01),
               "ham_mhn_find_minima"))
        goto done;
    printf("%d starts: %d converged, %d distinct minima, %d saddles, mean attractor %s\n",
           (int)found.starts, (int)found.converged, (int)found.minima, (int)found.saddles,
           found.mean_attractor >= 0 ? "present" : "absent");
    printf("minimum  closest pattern  overlap\n");
    for (int m = 0; m < found.minima && m < 2 * P; m++) {
        int best = 0;
        for (int mu = 1; mu < P; mu++)
            if (overlap(patterns, mu, minima + m * D) > overlap(patterns, best, minima + m * D))
                best = mu;
        printf("%7d  %15d  %7.3f\n", m, best, overlap(patterns, best, minima + m * D));
    }
    /* Each corrupted pattern must fall into a minimum that is that pattern. */
    for (int mu = 0; mu < P; mu++) {
        int m = assign[mu];
        int hit = m >= 0 && m < 2 * P && overlap(patterns, mu, minima + m * D) > 0.99f;
        if (!hit)
            printf("start %d (pattern %d corrupted) reached minimum %d, not pattern %d\n", mu,
                   mu, (int)m, mu);
        ok &= hit;
    }
    ok &= found.minima >= P;
    printf("%s\n", ok ? "every pattern is a memory and was retrieved" : "FAILED");
    ret = !ok;

done:
    ham_solver_free(solver);
    ham_model_free(model);
    return ret;
}
