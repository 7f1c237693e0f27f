/* ham_model_t through the public API: defaults of a new model, Xavier initialisation,
 * parameter round trips, and clones that are deep copies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

START_TEST(test_new_model_defaults)
{
    const int32_t sizes[4] = {5, 4, 3, 2};
    ham_model_t *m = NULL;
    TU_OK(ham_model_new(&m, 4, sizes, HAM_MODEL_CLAMPED_INPUT));
    ck_assert_int_eq(ham_model_n_layers(m), 4);
    ck_assert_int_eq(ham_model_has_clamped_input(m), 1);
    ck_assert_str_eq(ham_last_error(), "");
    for (int32_t l = 0; l < 4; l++) {
        ck_assert_int_eq(ham_model_layer_size(m, l), sizes[l]);
        int32_t kind = -1;
        double beta = -1;
        TU_OK(ham_model_get_lagrangian(&kind, &beta, m, l));
        ck_assert_int_eq(kind, HAM_LAGRANGIAN_SHIFTED_SIGMOID);
        ck_assert(beta == 0.0);
        float b[5] = {1, 1, 1, 1, 1};
        if (l > 0) {
            TU_OK(ham_model_get_bias(b, m, l, (size_t)sizes[l]));
            for (int32_t i = 0; i < sizes[l]; i++)
                ck_assert(b[i] == 0.0f);
        }
        if (l < 3) {
            size_t n = (size_t)sizes[l] * sizes[l + 1];
            float w[20];
            memset(w, 0xFF, sizeof w);
            TU_OK(ham_model_get_weights(w, m, l, n));
            for (size_t i = 0; i < n; i++)
                ck_assert(w[i] == 0.0f);
        }
    }
    ham_model_free(m);
}
END_TEST

/* U(-a, a), a = sqrt(6 / (N_l + N_{l+1})), from a seed: reproducible, seed-dependent,
 * with the mean and variance (a^2 / 3) of the uniform law; biases reset to zero. */
START_TEST(test_xavier)
{
    const int32_t sizes[3] = {200, 150, 10};
    ham_model_t *m = NULL, *m2 = NULL, *m3 = NULL;
    TU_OK(ham_model_new(&m, 3, sizes, HAM_MODEL_CLAMPED_INPUT));
    TU_OK(ham_model_new(&m2, 3, sizes, HAM_MODEL_CLAMPED_INPUT));
    TU_OK(ham_model_new(&m3, 3, sizes, HAM_MODEL_CLAMPED_INPUT));
    float ones[150];
    for (int i = 0; i < 150; i++)
        ones[i] = 1.0f;
    TU_OK(ham_model_set_bias(m, 1, ones, 150));
    TU_OK(ham_model_init_xavier(m, 42));
    TU_OK(ham_model_init_xavier(m2, 42));
    TU_OK(ham_model_init_xavier(m3, 43));
    float b[150];
    TU_OK(ham_model_get_bias(b, m, 1, 150));
    for (int i = 0; i < 150; i++)
        ck_assert_msg(b[i] == 0.0f, "Xavier did not zero bias %d", i);
    for (int32_t l = 0; l < 2; l++) {
        size_t n = (size_t)sizes[l] * sizes[l + 1];
        float *w = tu_floats(n), *w2 = tu_floats(n), *w3 = tu_floats(n);
        TU_OK(ham_model_get_weights(w, m, l, n));
        TU_OK(ham_model_get_weights(w2, m2, l, n));
        TU_OK(ham_model_get_weights(w3, m3, l, n));
        ck_assert_msg(memcmp(w, w2, n * sizeof *w) == 0, "same seed, different weights");
        ck_assert_msg(memcmp(w, w3, n * sizeof *w) != 0, "different seeds, same weights");
        double a = sqrt(6.0 / (sizes[l] + sizes[l + 1])), mean = 0, var = 0, mx = 0;
        for (size_t i = 0; i < n; i++) {
            mean += w[i];
            var += (double)w[i] * w[i];
            mx = fmax(mx, fabs(w[i]));
        }
        mean /= (double)n;
        var = var / (double)n - mean * mean;
        ck_assert_msg(mx <= a, "block %d: |w| = %g beyond a = %g", (int)l, mx, a);
        ck_assert_msg(mx > 0.98 * a, "block %d: max |w| = %g, a = %g", (int)l, mx, a);
        /* n >= 1500: 5 standard errors of the mean and of the variance */
        ck_assert_msg(fabs(mean) <= 5 * a / sqrt(3.0 * n), "block %d: mean %g", (int)l, mean);
        ck_assert_msg(fabs(var - a * a / 3) <= 5 * a * a * sqrt(4.0 / 45.0 / n),
                      "block %d: variance %g, expected %g", (int)l, var, a * a / 3);
        free(w);
        free(w2);
        free(w3);
    }
    ham_model_free(m);
    ham_model_free(m2);
    ham_model_free(m3);
}
END_TEST

START_TEST(test_parameter_round_trip)
{
    const int32_t sizes[3] = {4, 3, 2};
    ham_model_t *m = NULL;
    TU_OK(ham_model_new(&m, 3, sizes, HAM_MODEL_FREE_INPUT));
    tu_rng_t r;
    tu_rng_seed(&r, 5);
    float w0[12], w1[6], b0[4], b2[2], out[12];
    tu_fill(w0, 12, &r, -1, 1);
    tu_fill(w1, 6, &r, -1, 1);
    tu_fill(b0, 4, &r, -1, 1);
    tu_fill(b2, 2, &r, -1, 1);
    TU_OK(ham_model_set_weights(m, 0, w0, 12));
    TU_OK(ham_model_set_weights(m, 1, w1, 6));
    TU_OK(ham_model_set_bias(m, 0, b0, 4));
    TU_OK(ham_model_set_bias(m, 2, b2, 2));
    TU_OK(ham_model_get_weights(out, m, 0, 12));
    ck_assert(memcmp(out, w0, sizeof w0) == 0);
    TU_OK(ham_model_get_weights(out, m, 1, 6));
    ck_assert(memcmp(out, w1, sizeof w1) == 0);
    TU_OK(ham_model_get_bias(out, m, 0, 4));
    ck_assert(memcmp(out, b0, sizeof b0) == 0);
    TU_OK(ham_model_get_bias(out, m, 2, 2));
    ck_assert(memcmp(out, b2, sizeof b2) == 0);
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_SOFTMAX, 2.5));
    int32_t kind;
    double beta;
    TU_OK(ham_model_get_lagrangian(&kind, &beta, m, 1));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_SOFTMAX);
    ck_assert(beta == 2.5);
    ham_model_free(m);
}
END_TEST

/* A clone is a deep copy: same outputs, and independent of later changes to the source. */
START_TEST(test_clone_is_deep)
{
    const tu_problem_t *p = &tu_problems[3]; /* mixed Lagrangians */
    ham_model_t *m = tu_problem_model(p), *c = NULL;
    TU_OK(ham_model_clone(&c, m));
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, HAM_OPERATOR_SYNC);
    float *s = tu_floats((size_t)B * d), *om = tu_floats((size_t)B * d), *oc = tu_floats((size_t)B * d);
    tu_rng_t r;
    tu_rng_seed(&r, 6);
    tu_fill(s, (size_t)B * d, &r, -1, 1);
    TU_OK(ham_model_apply(om, m, HAM_OPERATOR_SYNC, B, x, s));
    TU_OK(ham_model_apply(oc, c, HAM_OPERATOR_SYNC, B, x, s));
    ck_assert(memcmp(om, oc, (size_t)B * d * sizeof *om) == 0);
    for (int32_t l = 0; l < p->n_layers; l++) {
        int32_t k1, k2;
        double b1, b2;
        TU_OK(ham_model_get_lagrangian(&k1, &b1, m, l));
        TU_OK(ham_model_get_lagrangian(&k2, &b2, c, l));
        ck_assert(k1 == k2 && b1 == b2);
    }
    /* change the source: the clone keeps its outputs */
    tu_model_scale_weights(m, 2.0);
    TU_OK(ham_model_set_lagrangian(m, 2, HAM_LAGRANGIAN_IDENTITY, 0));
    float *oc2 = tu_floats((size_t)B * d);
    TU_OK(ham_model_apply(oc2, c, HAM_OPERATOR_SYNC, B, x, s));
    ck_assert(memcmp(oc, oc2, (size_t)B * d * sizeof *oc) == 0);
    ham_model_free(m); /* and outlives it */
    TU_OK(ham_model_apply(oc2, c, HAM_OPERATOR_SYNC, B, x, s));
    ck_assert(memcmp(oc, oc2, (size_t)B * d * sizeof *oc) == 0);
    ham_model_free(c);
    free(x);
    free(s);
    free(om);
    free(oc);
    free(oc2);
}
END_TEST

/* Every size derived from the layer sizes fits an int32_t, or ham_model_new refuses the
 * model before allocating: two free layers {2^31 - 1, 1} have a legal weight block but a
 * state of 2^31 values (once a signed overflow in the layout, a negative state length,
 * and a solver made for it). */
START_TEST(test_derived_sizes_checked)
{
    ham_model_t *m = (ham_model_t *)&m;
    const int32_t two[2] = {INT32_MAX, 1};
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 2, two, HAM_MODEL_FREE_INPUT));
    ck_assert(m == NULL);
    ck_assert_msg(strstr(ham_last_error(), "state") && strstr(ham_last_error(), "2147483648"),
                  "message: %s", ham_last_error());
    const int32_t three[3] = {1 << 30, 1, 1 << 30}; /* blocks of 2^30, state 2^31 + 1 */
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 3, three, HAM_MODEL_FREE_INPUT));
    ck_assert_msg(strstr(ham_last_error(), "2147483649"), "message: %s", ham_last_error());
    /* the same with a clamped first layer: the state is 2^30 + 1 (not built here: the
     * weights would take 8 GB); a weight block of 2^31 entries is refused as before */
    const int32_t block[2] = {1 << 16, 1 << 15};
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 2, block, HAM_MODEL_CLAMPED_INPUT));
    ck_assert_msg(strstr(ham_last_error(), "weight block 0"), "message: %s", ham_last_error());
    /* what the state length is made of: the free layers only */
    const int32_t small[4] = {7, 5, 3, 2};
    TU_OK(ham_model_new(&m, 4, small, HAM_MODEL_CLAMPED_INPUT));
    int32_t dim = -1;
    TU_OK(ham_model_state_dim(&dim, m, HAM_OPERATOR_SYNC));
    ck_assert_int_eq(dim, 5 + 3 + 2);
    TU_OK(ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD));
    ck_assert_int_eq(dim, 5 + 2);
    ham_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tu_tcase("model");
    tcase_add_test(tc, test_new_model_defaults);
    tcase_add_test(tc, test_xavier);
    tcase_add_test(tc, test_parameter_round_trip);
    tcase_add_test(tc, test_clone_is_deep);
    tcase_add_test(tc, test_derived_sizes_checked);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
