/* model_diff A B: compares two model files of the same shape, for tests/mpi/run.sh.
 * Prints one line "max_rel_diff R identical I differing D of N": R is the largest, over
 * weight blocks and biases, of max|a - b| / max|a| (0 for an all-zero block of A that B
 * matches); I is 1 when every parameter is bit-for-bit the same; D of the N parameters
 * differ at all (docs/distributed.md, "Equivalence": how many a sign-like update moved). Exit 0, or 1 on a load error or shape mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hamdeq/hamdeq.h>

static size_t g_differing, g_total;

static int compare(double *rel, int *same, const float *a, const float *b, size_t n)
{
    double amax = 0.0, dmax = 0.0;
    g_total += n;
    for (size_t i = 0; i < n; i++) {
        g_differing += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        amax = fmax(amax, fabs((double)a[i]));
        dmax = fmax(dmax, fabs((double)a[i] - (double)b[i]));
    }
    double r = amax > 0.0 ? dmax / amax : (dmax > 0.0 ? INFINITY : 0.0);
    *rel = fmax(*rel, r);
    if (memcmp(a, b, n * sizeof(float)) != 0)
        *same = 0;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: model_diff A.model B.model\n");
        return 2;
    }
    ham_model_t *m[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++)
        if (ham_model_load(&m[k], argv[1 + k]) != HAM_OK) {
            fprintf(stderr, "model_diff: %s: %s\n", argv[1 + k], ham_last_error());
            return 1;
        }
    int32_t L = ham_model_n_layers(m[0]);
    if (L != ham_model_n_layers(m[1])) {
        fprintf(stderr, "model_diff: different layer counts\n");
        return 1;
    }
    double rel = 0.0;
    int same = 1;
    for (int32_t l = 0; l < L; l++) {
        int32_t n0 = ham_model_layer_size(m[0], l), n1 = ham_model_layer_size(m[1], l);
        if (n0 != n1) {
            fprintf(stderr, "model_diff: layer %d: %d vs %d units\n", (int)l, (int)n0, (int)n1);
            return 1;
        }
        size_t k = l + 1 < L ? (size_t)n0 * (size_t)ham_model_layer_size(m[0], l + 1) : 0;
        size_t cap = k > (size_t)n0 ? k : (size_t)n0;
        float *a = malloc(cap * sizeof(float)), *b = malloc(cap * sizeof(float));
        if (!a || !b)
            return 1;
        if (k && ham_model_get_weights(a, m[0], l, k) == HAM_OK &&
            ham_model_get_weights(b, m[1], l, k) == HAM_OK)
            compare(&rel, &same, a, b, k);
        if (ham_model_get_bias(a, m[0], l, (size_t)n0) == HAM_OK &&
            ham_model_get_bias(b, m[1], l, (size_t)n0) == HAM_OK)
            compare(&rel, &same, a, b, (size_t)n0);
        free(a);
        free(b);
    }
    printf("max_rel_diff %.6e identical %d differing %zu of %zu\n", rel, same, g_differing,
           g_total);
    ham_model_free(m[0]);
    ham_model_free(m[1]);
    return 0;
}
