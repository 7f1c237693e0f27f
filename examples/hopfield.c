/* hopfield: a Modern Hopfield network as a 2-layer HAM with no clamped input.
 *
 * The visible layer (identity Lagrangian, D units) and the hidden layer (softmax with
 * inverse temperature beta, one unit per stored pattern) are coupled by the patterns
 * X (D x P). Even-odd on this HAM is the Modern Hopfield update v <- X softmax(beta X^T v)
 * (docs/math.md section 6). The even-odd state is the hidden layer; we start it from a
 * corrupted query q (s_h = X^T q, a warm start), solve, and read the visible layer back.
 *
 *     cc hopfield.c $(pkg-config --cflags --libs hamdeq) -o hopfield
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#define D 64      /* visible units */
#define P 5       /* stored patterns */
#define FLIPS 12  /* corrupted entries of the query */
#define BETA 0.2  /* well above the transition: one minimum per pattern */

static int fail(int status, const char *what)
{
    fprintf(stderr, "hopfield: %s: %s\n", what, ham_strerror(status));
    return 1;
}

int main(void)
{
    static float X[D * P], q[D], s_h[P], full[D + P];
    uint32_t rng = 2024u;
    for (int i = 0; i < D * P; i++) { /* random +-1 patterns, X[i][mu] = x_mu[i] */
        rng = rng * 1664525u + 1013904223u;
        X[i] = (rng >> 31) ? 1.0f : -1.0f;
    }
    const int target = 2;
    for (int i = 0; i < D; i++)
        q[i] = X[i * P + target] * (i < FLIPS ? -1.0f : 1.0f);

    const int32_t sizes[] = {D, P};
    ham_model_t *model = NULL;
    ham_solver_t *solver = NULL;
    int rc, ret = 1;
    if ((rc = ham_model_new(&model, 2, sizes, HAM_MODEL_FREE_INPUT)) != HAM_OK) {
        fail(rc, "ham_model_new");
        goto done;
    }
    if ((rc = ham_model_set_lagrangian(model, 0, HAM_LAGRANGIAN_IDENTITY, 0)) != HAM_OK ||
        (rc = ham_model_set_lagrangian(model, 1, HAM_LAGRANGIAN_SOFTMAX, BETA)) != HAM_OK ||
        (rc = ham_model_set_weights(model, 0, X, D * P)) != HAM_OK) {
        fprintf(stderr, "hopfield: %s\n", ham_last_error());
        goto done;
    }

    /* Warm start: the hidden state the query drives, s_h = X^T q. */
    for (int mu = 0; mu < P; mu++) {
        s_h[mu] = 0;
        for (int i = 0; i < D; i++)
            s_h[mu] += X[i * P + mu] * q[i];
    }
    if ((rc = ham_solver_new(&solver, model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD)) != HAM_OK) {
        fail(rc, "ham_solver_new");
        goto done;
    }
    if ((rc = ham_solver_set_option(solver, HAM_OPT_WARM_START, 1)) != HAM_OK ||
        (rc = ham_solver_solve(solver, s_h, 1, NULL)) != HAM_OK) {
        fprintf(stderr, "hopfield: %s: %s\n", ham_strerror(rc), ham_last_error());
        goto done;
    }
    /* The visible layer is the other parity class: recompute it from the hidden state. */
    if ((rc = ham_model_eo_to_full(full, model, 1, NULL, s_h)) != HAM_OK) {
        fail(rc, "ham_model_eo_to_full");
        goto done;
    }
    int32_t iters = 0, status = 0;
    ham_solver_get_samples(&iters, NULL, &status, solver, 1);

    int32_t off = 0;
    ham_model_state_offset(&off, model, HAM_OPERATOR_SYNC, 0);
    printf("query: pattern %d with %d of %d entries flipped; beta %.2f\n", target, FLIPS, D, BETA);
    printf("solved in %d iterations (%s)\n", (int)iters,
           status == HAM_SAMPLE_CONVERGED ? "converged" : "not converged");
    printf("pattern  overlap(query)  overlap(retrieved)\n");
    int best = 0;
    float best_overlap = -1e30f;
    for (int mu = 0; mu < P; mu++) {
        float oq = 0, ov = 0;
        for (int i = 0; i < D; i++) {
            oq += X[i * P + mu] * q[i] / D;
            ov += X[i * P + mu] * full[off + i] / D;
        }
        if (ov > best_overlap) {
            best_overlap = ov;
            best = mu;
        }
        printf("%7d  %14.3f  %18.3f\n", mu, oq, ov);
    }
    printf("retrieved pattern %d\n", best);
    ret = best == target && status == HAM_SAMPLE_CONVERGED ? 0 : 1;

done:
    ham_solver_free(solver);
    ham_model_free(model);
    return ret;
}
