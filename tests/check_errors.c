/* Bad input through the public API: every call returns its documented status (the exact
 * code), never crashes, leaks nothing (ASan builds check), and leaves its outputs and
 * the handles in a defined state. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* A clamped [4, 3, 2] model and its input, and a free [3, 2] model. */
static const int32_t csizes[3] = {4, 3, 2};
static const int32_t fsizes[2] = {3, 2};

static ham_model_t *clamped_model(void)
{
    return tu_model_new(3, csizes, HAM_MODEL_CLAMPED_INPUT, 9, 1.0);
}

static ham_model_t *free_model(void)
{
    return tu_model_new(2, fsizes, HAM_MODEL_FREE_INPUT, 9, 1.0);
}

/* ------------------------------------------------------- status strings */

START_TEST(test_status_strings)
{
    static const struct {
        int code;
        const char *name;
    } table[] = {
        {HAM_OK, "HAM_OK"},
        {HAM_ERR_NULL, "HAM_ERR_NULL"},
        {HAM_ERR_INVALID, "HAM_ERR_INVALID"},
        {HAM_ERR_DIMENSION, "HAM_ERR_DIMENSION"},
        {HAM_ERR_NOMEM, "HAM_ERR_NOMEM"},
        {HAM_ERR_NONFINITE, "HAM_ERR_NONFINITE"},
        {HAM_ERR_UNKNOWN_LAGRANGIAN, "HAM_ERR_UNKNOWN_LAGRANGIAN"},
        {HAM_ERR_UNKNOWN_SOLVER, "HAM_ERR_UNKNOWN_SOLVER"},
        {HAM_ERR_UNKNOWN_OPERATOR, "HAM_ERR_UNKNOWN_OPERATOR"},
        {HAM_ERR_UNKNOWN_OPTION, "HAM_ERR_UNKNOWN_OPTION"},
        {HAM_ERR_UNSUPPORTED, "HAM_ERR_UNSUPPORTED"},
        {HAM_ERR_STRUCT_SIZE, "HAM_ERR_STRUCT_SIZE"},
        {HAM_ERR_CANCELLED, "HAM_ERR_CANCELLED"},
        {HAM_ERR_NUMERIC, "HAM_ERR_NUMERIC"},
        {HAM_ERR_CALLBACK, "HAM_ERR_CALLBACK"},
        {HAM_ERR_IO, "HAM_ERR_IO"},
        {HAM_ERR_FORMAT, "HAM_ERR_FORMAT"},
    };
    int n = (int)(sizeof table / sizeof table[0]);
    ck_assert_int_eq(n, 17);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(table[i].code, -i); /* 0, -1, ..., -16: pinned, no gaps */
        const char *text = ham_strerror(table[i].code), *name = ham_status_name(table[i].code);
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_eq(name, table[i].name);
        ck_assert_str_ne(text, "unknown status");
        ck_assert_int_gt((int)strlen(text), 3);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(text, ham_strerror(table[j].code));
    }
    const int unknown[] = {1, 2, -17, -100, 1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_str_eq(ham_strerror(unknown[i]), "unknown status");
        ck_assert_str_eq(ham_status_name(unknown[i]), "HAM_UNKNOWN");
    }
    ck_assert_str_eq(ham_status_name(HAM_ERR_NONFINITE), "HAM_ERR_NONFINITE");
    ck_assert_int_eq(ham_version(), 10000u * HAM_VERSION_MAJOR + 100u * HAM_VERSION_MINOR +
                                        HAM_VERSION_PATCH);
    ck_assert_int_eq(ham_version(), HAM_VERSION_NUMBER);
    ck_assert_str_eq(ham_version_string(), HAM_VERSION_STRING);
}
END_TEST

START_TEST(test_free_null)
{
    ham_model_free(NULL);
    ham_solver_free(NULL);
    ck_assert_int_eq(ham_model_n_layers(NULL), 0);
    ck_assert_int_eq(ham_model_layer_size(NULL, 0), 0);
    ck_assert_int_eq(ham_model_has_clamped_input(NULL), 0);
    ck_assert_int_eq(ham_step_rows(NULL), 0);
    ck_assert_int_eq(ham_step_dim(NULL), 0);
}
END_TEST

/* ------------------------------------------------------- model construction */

START_TEST(test_model_new)
{
    ham_model_t *m = (ham_model_t *)&m; /* must be reset to NULL on failure */
    const int32_t ok[3] = {4, 3, 2};
    TU_RC(HAM_ERR_NULL, ham_model_new(NULL, 3, ok, 0));
    TU_RC(HAM_ERR_NULL, ham_model_new(&m, 3, NULL, 0));
    ck_assert_ptr_null(m);
    m = (ham_model_t *)&m;
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 1, ok, 0));
    ck_assert_ptr_null(m);
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 0, ok, 0));
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, -3, ok, 0));
    int32_t many[HAM_MAX_LAYERS + 1];
    for (int i = 0; i <= HAM_MAX_LAYERS; i++)
        many[i] = 2;
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, HAM_MAX_LAYERS + 1, many, 0));
    TU_OK(ham_model_new(&m, HAM_MAX_LAYERS, many, 0)); /* the limit itself is fine */
    ck_assert_int_eq(ham_model_n_layers(m), HAM_MAX_LAYERS);
    ham_model_free(m);
    const int32_t zero[3] = {4, 0, 2}, neg[3] = {4, 3, -2};
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 3, zero, 0));
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 3, neg, 0));
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 3, ok, 2)); /* unknown flag */
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 3, ok, 0x100));
    const int32_t huge[2] = {65536, 65536}; /* 2^32 weights in one block */
    TU_RC(HAM_ERR_INVALID, ham_model_new(&m, 2, huge, 0));
    ck_assert_ptr_null(m);

    TU_OK(ham_model_new(&m, 3, ok, HAM_MODEL_CLAMPED_INPUT));
    ck_assert_int_eq(ham_model_layer_size(m, 1), 3);
    ck_assert_int_eq(ham_model_layer_size(m, 3), 0);
    ck_assert_int_eq(ham_model_layer_size(m, -1), 0);
    ck_assert_int_eq(ham_model_has_clamped_input(m), 1);
    ham_model_t *c = (ham_model_t *)&c;
    TU_RC(HAM_ERR_NULL, ham_model_clone(&c, NULL));
    ck_assert_ptr_null(c);
    TU_RC(HAM_ERR_NULL, ham_model_clone(NULL, m));
    TU_RC(HAM_ERR_NULL, ham_model_init_xavier(NULL, 1));
    ham_model_free(m);
}
END_TEST

START_TEST(test_model_lagrangians)
{
    ham_model_t *m = clamped_model();
    TU_RC(HAM_ERR_NULL, ham_model_set_lagrangian(NULL, 1, HAM_LAGRANGIAN_TANH, 0));
    TU_RC(HAM_ERR_INVALID, ham_model_set_lagrangian(m, 3, HAM_LAGRANGIAN_TANH, 0));
    TU_RC(HAM_ERR_INVALID, ham_model_set_lagrangian(m, -1, HAM_LAGRANGIAN_TANH, 0));
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_model_set_lagrangian(m, 1, 5, 0));
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_model_set_lagrangian(m, 1, -1, 0));
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN, ham_model_set_lagrangian(m, 1, 99, 0));
    TU_RC(HAM_ERR_UNKNOWN_LAGRANGIAN,
          ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_CUSTOM, 0));
    ck_assert_str_ne(ham_last_error(), "");
    const double bad_beta[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_beta / sizeof bad_beta[0]; i++)
        TU_RC(HAM_ERR_INVALID, ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_SOFTMAX, bad_beta[i]));
    /* nothing changed */
    int32_t kind;
    double beta = -1;
    TU_OK(ham_model_get_lagrangian(&kind, &beta, m, 1));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_SHIFTED_SIGMOID);
    ck_assert(beta == 0.0);
    /* other kinds ignore the parameter, even a NaN one */
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_TANH, NAN));
    TU_OK(ham_model_get_lagrangian(&kind, &beta, m, 1));
    ck_assert_int_eq(kind, HAM_LAGRANGIAN_TANH);
    ck_assert(beta == 0.0);
    TU_RC(HAM_ERR_NULL, ham_model_get_lagrangian(NULL, NULL, m, 1));
    TU_RC(HAM_ERR_NULL, ham_model_get_lagrangian(&kind, NULL, NULL, 1));
    TU_RC(HAM_ERR_INVALID, ham_model_get_lagrangian(&kind, NULL, m, 3));
    ham_model_free(m);
}
END_TEST

START_TEST(test_model_parameters)
{
    ham_model_t *m = clamped_model();
    float w[12], b[3];
    /* weights: block 0 is 4 x 3, block 1 is 3 x 2 */
    TU_OK(ham_model_get_weights(w, m, 0, 12));
    TU_RC(HAM_ERR_NULL, ham_model_get_weights(NULL, m, 0, 12));
    TU_RC(HAM_ERR_NULL, ham_model_get_weights(w, NULL, 0, 12));
    TU_RC(HAM_ERR_INVALID, ham_model_get_weights(w, m, 2, 12));
    TU_RC(HAM_ERR_INVALID, ham_model_get_weights(w, m, -1, 12));
    TU_RC(HAM_ERR_DIMENSION, ham_model_get_weights(w, m, 0, 11));
    TU_RC(HAM_ERR_DIMENSION, ham_model_get_weights(w, m, 1, 12));
    TU_RC(HAM_ERR_DIMENSION, ham_model_get_weights(w, m, 0, 0));
    TU_RC(HAM_ERR_NULL, ham_model_set_weights(NULL, 0, w, 12));
    TU_RC(HAM_ERR_NULL, ham_model_set_weights(m, 0, NULL, 12));
    TU_RC(HAM_ERR_INVALID, ham_model_set_weights(m, 2, w, 6));
    TU_RC(HAM_ERR_DIMENSION, ham_model_set_weights(m, 0, w, 13));
    TU_RC(HAM_ERR_DIMENSION, ham_model_set_weights(m, 1, w, 12));
    float keep[12];
    memcpy(keep, w, sizeof w);
    w[5] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_model_set_weights(m, 0, w, 12));
    w[5] = INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_model_set_weights(m, 0, w, 12));
    w[5] = -INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_model_set_weights(m, 0, w, 12));
    ck_assert_str_ne(ham_last_error(), "");
    TU_OK(ham_model_get_weights(w, m, 0, 12)); /* the failed sets changed nothing */
    ck_assert(memcmp(w, keep, sizeof w) == 0);

    /* biases: layer 0 is clamped and has none */
    TU_OK(ham_model_get_bias(b, m, 1, 3));
    TU_RC(HAM_ERR_INVALID, ham_model_get_bias(b, m, 0, 4));
    TU_RC(HAM_ERR_INVALID, ham_model_get_bias(b, m, 3, 3));
    TU_RC(HAM_ERR_DIMENSION, ham_model_get_bias(b, m, 1, 2));
    TU_RC(HAM_ERR_DIMENSION, ham_model_get_bias(b, m, 2, 3));
    TU_RC(HAM_ERR_NULL, ham_model_get_bias(NULL, m, 1, 3));
    TU_RC(HAM_ERR_NULL, ham_model_get_bias(b, NULL, 1, 3));
    TU_RC(HAM_ERR_INVALID, ham_model_set_bias(m, 0, b, 4));
    TU_RC(HAM_ERR_INVALID, ham_model_set_bias(m, -1, b, 3));
    TU_RC(HAM_ERR_DIMENSION, ham_model_set_bias(m, 1, b, 4));
    TU_RC(HAM_ERR_NULL, ham_model_set_bias(m, 1, NULL, 3));
    TU_RC(HAM_ERR_NULL, ham_model_set_bias(NULL, 1, b, 3));
    b[1] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_model_set_bias(m, 1, b, 3));
    ham_model_free(m);

    m = free_model(); /* a free layer 0 has a bias */
    TU_OK(ham_model_get_bias(b, m, 0, 3));
    TU_OK(ham_model_set_bias(m, 0, b, 3));
    ham_model_free(m);
}
END_TEST

START_TEST(test_model_layout_queries)
{
    ham_model_t *m = clamped_model();
    int32_t d = -1, off = -1;
    TU_RC(HAM_ERR_NULL, ham_model_state_dim(NULL, m, HAM_OPERATOR_SYNC));
    TU_RC(HAM_ERR_NULL, ham_model_state_dim(&d, NULL, HAM_OPERATOR_SYNC));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_model_state_dim(&d, m, 2));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_model_state_dim(&d, m, -1));
    TU_OK(ham_model_state_dim(&d, m, HAM_OPERATOR_SYNC));
    ck_assert_int_eq(d, 5);
    TU_OK(ham_model_state_dim(&d, m, HAM_OPERATOR_EVEN_ODD));
    ck_assert_int_eq(d, 2);
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_model_state_offset(&off, m, 7, 1));
    TU_RC(HAM_ERR_INVALID, ham_model_state_offset(&off, m, HAM_OPERATOR_SYNC, 0)); /* clamped */
    TU_RC(HAM_ERR_INVALID, ham_model_state_offset(&off, m, HAM_OPERATOR_EVEN_ODD, 1)); /* inner */
    TU_RC(HAM_ERR_INVALID, ham_model_state_offset(&off, m, HAM_OPERATOR_SYNC, 3));
    TU_RC(HAM_ERR_NULL, ham_model_state_offset(NULL, m, HAM_OPERATOR_SYNC, 1));
    TU_OK(ham_model_state_offset(&off, m, HAM_OPERATOR_SYNC, 2));
    ck_assert_int_eq(off, 3);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------- operators */

typedef int (*product_fn)(float *, const ham_model_t *, int32_t, int32_t, const float *,
                          const float *, const float *);

static int apply_as_product(float *out, const ham_model_t *m, int32_t op, int32_t batch,
                            const float *x, const float *s, const float *v)
{
    (void)v;
    return ham_model_apply(out, m, op, batch, x, s);
}

/* The checks shared by apply, jvp and vjp. */
START_TEST(test_operator_calls)
{
    const product_fn fns[3] = {apply_as_product, ham_model_jvp, ham_model_vjp};
    product_fn f = fns[_i];
    ham_model_t *m = clamped_model(), *fm = free_model();
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    float s[10] = {0}, v[10] = {0}, out[10];
    const int32_t S = HAM_OPERATOR_SYNC;
    TU_OK(f(out, m, S, 2, x, s, v));
    TU_RC(HAM_ERR_NULL, f(NULL, m, S, 2, x, s, v));
    TU_RC(HAM_ERR_NULL, f(out, NULL, S, 2, x, s, v));
    TU_RC(HAM_ERR_NULL, f(out, m, S, 2, x, NULL, v));
    TU_RC(HAM_ERR_NULL, f(out, m, S, 2, NULL, s, v)); /* missing input of a clamped model */
    TU_RC(HAM_ERR_INVALID, f(out, fm, S, 1, x, s, v)); /* input given to a free model */
    TU_OK(f(out, fm, S, 1, NULL, s, v));
    TU_RC(HAM_ERR_INVALID, f(out, m, S, 0, x, s, v));
    TU_RC(HAM_ERR_INVALID, f(out, m, S, -1, x, s, v));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, f(out, m, 2, 2, x, s, v));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, f(out, m, -1, 2, x, s, v));
    x[7] = NAN; /* in the second row */
    TU_RC(HAM_ERR_NONFINITE, f(out, m, S, 2, x, s, v));
    x[7] = 0.8f;
    s[9] = INFINITY;
    TU_RC(HAM_ERR_NONFINITE, f(out, m, S, 2, x, s, v));
    s[9] = 0;
    if (f != apply_as_product) {
        TU_RC(HAM_ERR_NULL, f(out, m, S, 2, x, s, NULL));
        v[3] = NAN;
        TU_RC(HAM_ERR_NONFINITE, f(out, m, S, 2, x, s, v));
    }
    ham_model_free(m);
    ham_model_free(fm);
}
END_TEST

START_TEST(test_conversions_and_energy)
{
    ham_model_t *m = clamped_model(), *fm = free_model();
    float x[4] = {0.1f, 0.2f, 0.3f, 0.4f}, eo[2] = {0}, full[5] = {0};
    double E;
    TU_RC(HAM_ERR_NULL, ham_model_eo_to_full(NULL, m, 1, x, eo));
    TU_RC(HAM_ERR_NULL, ham_model_eo_to_full(full, NULL, 1, x, eo));
    TU_RC(HAM_ERR_NULL, ham_model_eo_to_full(full, m, 1, x, NULL));
    TU_RC(HAM_ERR_NULL, ham_model_eo_to_full(full, m, 1, NULL, eo));
    TU_RC(HAM_ERR_INVALID, ham_model_eo_to_full(full, fm, 1, x, eo));
    TU_RC(HAM_ERR_INVALID, ham_model_eo_to_full(full, m, 0, x, eo));
    eo[1] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_model_eo_to_full(full, m, 1, x, eo));
    eo[1] = 0;
    TU_RC(HAM_ERR_NULL, ham_model_full_to_eo(NULL, m, 1, full));
    TU_RC(HAM_ERR_NULL, ham_model_full_to_eo(eo, NULL, 1, full));
    TU_RC(HAM_ERR_NULL, ham_model_full_to_eo(eo, m, 1, NULL));
    TU_RC(HAM_ERR_INVALID, ham_model_full_to_eo(eo, m, 0, full));
    TU_RC(HAM_ERR_INVALID, ham_model_full_to_eo(eo, m, -5, full));

    TU_OK(ham_model_energy(&E, m, 1, x, full));
    ck_assert(isfinite(E));
    TU_RC(HAM_ERR_NULL, ham_model_energy(NULL, m, 1, x, full));
    TU_RC(HAM_ERR_NULL, ham_model_energy(&E, NULL, 1, x, full));
    TU_RC(HAM_ERR_NULL, ham_model_energy(&E, m, 1, x, NULL));
    TU_RC(HAM_ERR_NULL, ham_model_energy(&E, m, 1, NULL, full));
    TU_RC(HAM_ERR_INVALID, ham_model_energy(&E, fm, 1, x, full));
    TU_RC(HAM_ERR_INVALID, ham_model_energy(&E, m, 0, x, full));
    full[4] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_model_energy(&E, m, 1, x, full));
    full[4] = 0;
    x[0] = INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_model_energy(&E, m, 1, x, full));
    ham_model_free(m);
    ham_model_free(fm);
}
END_TEST

/* ------------------------------------------------------- names */

START_TEST(test_names)
{
    int32_t k = 77;
    for (int32_t op = 0; op < 2; op++) {
        ck_assert_ptr_nonnull(ham_operator_name(op));
        TU_OK(ham_operator_from_name(&k, ham_operator_name(op)));
        ck_assert_int_eq(k, op);
    }
    ck_assert_str_eq(ham_operator_name(HAM_OPERATOR_EVEN_ODD), "even-odd");
    ck_assert_ptr_null(ham_operator_name(2));
    ck_assert_ptr_null(ham_operator_name(-1));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_operator_from_name(&k, "odd-even"));
    TU_RC(HAM_ERR_NULL, ham_operator_from_name(NULL, "sync"));
    TU_RC(HAM_ERR_NULL, ham_operator_from_name(&k, NULL));
    const char *names[4] = {"picard", "anderson", "broyden", "newton"};
    for (int32_t s = 0; s < 4; s++) {
        ck_assert_str_eq(ham_solver_kind_name(s), names[s]);
        TU_OK(ham_solver_kind_from_name(&k, names[s]));
        ck_assert_int_eq(k, s);
    }
    ck_assert_ptr_null(ham_solver_kind_name(HAM_SOLVER_CUSTOM));
    ck_assert_ptr_null(ham_solver_kind_name(4));
    ck_assert_ptr_null(ham_solver_kind_name(-1));
    TU_RC(HAM_ERR_UNKNOWN_SOLVER, ham_solver_kind_from_name(&k, "custom"));
    TU_RC(HAM_ERR_UNKNOWN_SOLVER, ham_solver_kind_from_name(&k, "Picard"));
    TU_RC(HAM_ERR_NULL, ham_solver_kind_from_name(&k, NULL));
    TU_RC(HAM_ERR_NULL, ham_solver_kind_from_name(NULL, "picard"));
}
END_TEST

/* ------------------------------------------------------- solvers */

START_TEST(test_solver_new)
{
    ham_model_t *m = clamped_model();
    ham_solver_t *sv = (ham_solver_t *)&sv;
    TU_RC(HAM_ERR_NULL, ham_solver_new(NULL, m, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD));
    TU_RC(HAM_ERR_NULL, ham_solver_new(&sv, NULL, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD));
    ck_assert_ptr_null(sv);
    sv = (ham_solver_t *)&sv;
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_solver_new(&sv, m, 2, HAM_SOLVER_PICARD));
    ck_assert_ptr_null(sv);
    sv = (ham_solver_t *)&sv;
    TU_RC(HAM_ERR_UNKNOWN_SOLVER, ham_solver_new(&sv, m, HAM_OPERATOR_SYNC, 4));
    ck_assert_ptr_null(sv);
    TU_RC(HAM_ERR_UNKNOWN_SOLVER, ham_solver_new(&sv, m, HAM_OPERATOR_SYNC, -1));
    TU_RC(HAM_ERR_UNKNOWN_SOLVER, ham_solver_new(&sv, m, HAM_OPERATOR_SYNC, HAM_SOLVER_CUSTOM));
    ck_assert_ptr_null(sv);
    ham_model_free(m);
}
END_TEST

START_TEST(test_solver_options)
{
    ham_model_t *m = clamped_model();
    ham_solver_t *sv = NULL;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    double v, def, lo, hi;
    /* every option has bounds and a default the solver starts with */
    for (int32_t o = HAM_OPT_TOL; o <= HAM_OPT_THREADS; o++) {
        TU_OK(ham_solver_option_info(&def, &lo, &hi, o));
        TU_OK(ham_solver_get_option(&v, sv, o));
        ck_assert_msg(v == def && lo <= def && def <= hi, "option %d: value %g default %g [%g, %g]",
                      (int)o, v, def, lo, hi);
        TU_OK(ham_solver_set_option(sv, o, def));
        TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, o, NAN));
    }
    TU_OK(ham_solver_option_info(NULL, NULL, NULL, HAM_OPT_TOL));
    const int32_t unknown[] = {-1, HAM_OPT_THREADS + 1, 1000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        TU_RC(HAM_ERR_UNKNOWN_OPTION, ham_solver_set_option(sv, unknown[i], 1.0));
        TU_RC(HAM_ERR_UNKNOWN_OPTION, ham_solver_get_option(&v, sv, unknown[i]));
        TU_RC(HAM_ERR_UNKNOWN_OPTION, ham_solver_option_info(&def, &lo, &hi, unknown[i]));
    }
    TU_RC(HAM_ERR_NULL, ham_solver_set_option(NULL, HAM_OPT_TOL, 1e-3));
    TU_RC(HAM_ERR_NULL, ham_solver_get_option(NULL, sv, HAM_OPT_TOL));
    TU_RC(HAM_ERR_NULL, ham_solver_get_option(&v, NULL, HAM_OPT_TOL));
    /* tolerance in (0, 1) */
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_TOL, 0.0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_TOL, -1e-4));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_TOL, 1.0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_TOL, 2.0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_TOL, INFINITY));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-12));
    /* max_iter >= 1, integral */
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_MAX_ITER, -5));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 2.5));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 2e6));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 1));
    /* dt in (0, 1], warm start 0/1, Anderson memory integral in [1, 32] */
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_DT, 0.0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_DT, 1.5));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_DT, 1.0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_WARM_START, 2));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_WARM_START, 0.5));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_ANDERSON_M, 0));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_ANDERSON_M, 33));
    /* atol in [0, 3e38], 0 by default (the absolute test off) */
    TU_OK(ham_solver_get_option(&v, sv, HAM_OPT_ATOL));
    ck_assert(v == 0.0);
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_ATOL, -1e-9));
    TU_RC(HAM_ERR_INVALID, ham_solver_set_option(sv, HAM_OPT_ATOL, INFINITY));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_ATOL, 1e-6));
    TU_OK(ham_solver_set_option(sv, HAM_OPT_ATOL, 0.0));
    /* failed sets changed nothing */
    TU_OK(ham_solver_get_option(&v, sv, HAM_OPT_TOL));
    ck_assert(v == 1e-12);
    TU_OK(ham_solver_get_option(&v, sv, HAM_OPT_MAX_ITER));
    ck_assert(v == 1);
    ck_assert_str_ne(ham_last_error(), "");
    ham_solver_free(sv);
    ham_model_free(m);
}
END_TEST

START_TEST(test_solver_solve)
{
    ham_model_t *m = clamped_model(), *fm = free_model();
    ham_solver_t *sv = NULL, *fsv = NULL;
    TU_OK(ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    TU_OK(ham_solver_new(&fsv, fm, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f}, s[4] = {0};
    TU_RC(HAM_ERR_NULL, ham_solver_solve(NULL, s, 2, x));
    TU_RC(HAM_ERR_NULL, ham_solver_solve(sv, NULL, 2, x));
    TU_RC(HAM_ERR_NULL, ham_solver_solve(sv, s, 2, NULL)); /* clamped: x required */
    TU_RC(HAM_ERR_INVALID, ham_solver_solve(fsv, s, 1, x)); /* free: x not allowed */
    TU_OK(ham_solver_solve(fsv, s, 1, NULL));
    TU_RC(HAM_ERR_INVALID, ham_solver_solve(sv, s, 0, x));
    TU_RC(HAM_ERR_INVALID, ham_solver_solve(sv, s, -2, x));
    x[6] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_solver_solve(sv, s, 2, x));
    x[6] = -INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_solver_solve(sv, s, 2, x));
    ck_assert_str_ne(ham_last_error(), "");
    x[6] = 0.7f;
    /* a warm start must be finite; a cold start ignores the state */
    s[3] = NAN;
    TU_OK(ham_solver_solve(sv, s, 2, x));
    s[3] = NAN;
    TU_OK(ham_solver_set_option(sv, HAM_OPT_WARM_START, 1));
    TU_RC(HAM_ERR_NONFINITE, ham_solver_solve(sv, s, 2, x));
    s[3] = INFINITY;
    TU_RC(HAM_ERR_NONFINITE, ham_solver_solve(sv, s, 2, x));
    s[3] = 0;
    TU_OK(ham_solver_solve(sv, s, 2, x));

    /* results of the last solve: the batch must match */
    int32_t it[2], st[2];
    double res[2];
    TU_OK(ham_solver_get_samples(it, res, st, sv, 2));
    TU_OK(ham_solver_get_samples(NULL, NULL, NULL, sv, 2));
    TU_RC(HAM_ERR_DIMENSION, ham_solver_get_samples(it, res, st, sv, 1));
    TU_RC(HAM_ERR_DIMENSION, ham_solver_get_samples(it, res, st, sv, 3));
    TU_RC(HAM_ERR_DIMENSION, ham_solver_get_samples(it, res, st, sv, 0));
    TU_RC(HAM_ERR_NULL, ham_solver_get_samples(it, res, st, NULL, 2));
    TU_RC(HAM_ERR_DIMENSION, ham_solver_get_samples(it, res, st, fsv, 2)); /* its batch was 1 */

    /* stats: size-prefixed */
    ham_solve_stats_t stats;
    memset(&stats, 0, sizeof stats);
    /* the first published size (up to jacobian_products) is the smallest accepted */
    stats.size = offsetof(ham_solve_stats_t, jacobian_products) + sizeof(int64_t) - 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_solver_get_stats(&stats, sv));
    stats.size = 0;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_solver_get_stats(&stats, sv));
    stats.size = sizeof stats;
    TU_RC(HAM_ERR_NULL, ham_solver_get_stats(NULL, sv));
    TU_RC(HAM_ERR_NULL, ham_solver_get_stats(&stats, NULL));
    /* a newer caller's larger struct: the known fields filled, nothing written past them,
     * and size says how many bytes were (the library never writes the caller's size) */
    union {
        ham_solve_stats_t st;
        unsigned char bytes[sizeof(ham_solve_stats_t) + 16];
    } big;
    memset(&big, 0xAB, sizeof big);
    big.st.size = sizeof big.bytes;
    TU_OK(ham_solver_get_stats(&big.st, sv));
    ck_assert_int_eq(big.st.size, sizeof(ham_solve_stats_t));
    ck_assert_int_eq(big.st.samples, 2);
    for (size_t i = sizeof(ham_solve_stats_t); i < sizeof big.bytes; i++)
        ck_assert_msg(big.bytes[i] == 0xAB, "byte %zu past the known struct was written", i);
    /* an uninitialised huge size is clamped, not a wild write */
    big.st.size = UINT32_MAX;
    TU_OK(ham_solver_get_stats(&big.st, sv));
    ck_assert_int_eq(big.st.size, sizeof(ham_solve_stats_t));
    ck_assert_int_eq(big.bytes[sizeof(ham_solve_stats_t)], 0xAB);

    /* a solver without any solve yet */
    ham_solver_t *fresh = NULL;
    TU_OK(ham_solver_new(&fresh, m, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD));
    TU_RC(HAM_ERR_DIMENSION, ham_solver_get_samples(it, res, st, fresh, 1));
    TU_OK(ham_solver_get_stats(&stats, fresh));
    ck_assert_int_eq(stats.samples, 0);
    TU_RC(HAM_ERR_NULL, ham_solver_set_callback(NULL, NULL, NULL));
    TU_RC(HAM_ERR_NULL, ham_solver_set_conv_test(NULL, NULL, NULL));
    /* the accessors: what the solver was made with; NULL / -1 for no solver */
    ck_assert_ptr_eq(ham_solver_model(fresh), m);
    ck_assert_int_eq(ham_solver_kind(fresh), HAM_SOLVER_PICARD);
    ck_assert_int_eq(ham_solver_operator(fresh), HAM_OPERATOR_SYNC);
    ck_assert_int_eq(ham_solver_operator(sv), HAM_OPERATOR_EVEN_ODD);
    ck_assert_ptr_null(ham_solver_model(NULL));
    ck_assert_int_eq(ham_solver_kind(NULL), -1);
    ck_assert_int_eq(ham_solver_operator(NULL), -1);
    ham_solver_free(fresh);

    ham_solver_free(sv);
    ham_solver_free(fsv);
    ham_model_free(m);
    ham_model_free(fm);
}
END_TEST

/* ------------------------------------------------------- custom solver definitions */

static int c_init(void **state, int32_t dim, int32_t rows, void *user)
{
    (void)dim;
    (void)rows;
    (void)user;
    *state = malloc(16);
    return *state ? 0 : HAM_ERR_NOMEM;
}

static void c_fini(void *state, void *user)
{
    (void)user;
    free(state);
}

static int c_step(void *state, ham_step_t *step, float *s, float *gs, int32_t rows, void *user)
{
    (void)state;
    (void)user;
    memcpy(s, gs, (size_t)rows * (size_t)ham_step_dim(step) * sizeof *s);
    return 0;
}

static int init_fails(void **state, int32_t dim, int32_t rows, void *user)
{
    (void)dim;
    (void)rows;
    *state = NULL;
    return *(int *)user;
}

static void fini_nothing(void *state, void *user)
{
    (void)state;
    (void)user;
}

START_TEST(test_custom_solver_defs)
{
    ham_model_t *m = clamped_model();
    ham_solver_def_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.init = c_init;
    d.fini = c_fini;
    d.step = c_step;
    ham_solver_t *sv = (ham_solver_t *)&sv;
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, NULL));
    ck_assert_ptr_null(sv);
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, NULL, HAM_OPERATOR_SYNC, &d));
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(NULL, m, HAM_OPERATOR_SYNC, &d));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_solver_new_custom(&sv, m, 3, &d));
    ck_assert_ptr_null(sv);
    ham_solver_def_t e = d;
    e.size = sizeof e - 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e.size = 0;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e = d;
    e.flags = 4;
    TU_RC(HAM_ERR_INVALID, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e = d;
    e.init = NULL;
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e = d;
    e.fini = NULL;
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    e = d;
    e.step = NULL;
    TU_RC(HAM_ERR_NULL, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    ck_assert_ptr_null(sv);
    union {
        ham_solver_def_t def;
        unsigned char bytes[sizeof(ham_solver_def_t) + 8];
    } big;
    memset(&big, 0, sizeof big);
    big.def = d;
    big.def.size = sizeof big.bytes;
    TU_OK(ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &big.def)); /* zero tail: fine */
    ck_assert_int_eq(ham_solver_kind(sv), HAM_SOLVER_CUSTOM);
    ham_solver_free(sv);
    big.bytes[sizeof(ham_solver_def_t) + 3] = 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &big.def));

    /* a failing init: our statuses pass through, others become HAM_ERR_CALLBACK */
    int code = HAM_ERR_NOMEM;
    e = d;
    e.init = init_fails;
    e.fini = fini_nothing;
    e.user = &code;
    TU_OK(ham_solver_new_custom(&sv, m, HAM_OPERATOR_SYNC, &e));
    float x[4] = {0.5f, 0.5f, 0.5f, 0.5f}, s[5];
    TU_RC(HAM_ERR_NOMEM, ham_solver_solve(sv, s, 1, x));
    code = 3;
    TU_RC(HAM_ERR_CALLBACK, ham_solver_solve(sv, s, 1, x));
    code = -500;
    TU_RC(HAM_ERR_CALLBACK, ham_solver_solve(sv, s, 1, x));
    ham_solver_free(sv);
    ham_model_free(m);
}
END_TEST

START_TEST(test_step_apply_null)
{
    TU_RC(HAM_ERR_NULL, ham_step_apply(NULL, NULL, NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tu_tcase("common");
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_free_null);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    tc = tu_tcase("model");
    tcase_add_test(tc, test_model_new);
    tcase_add_test(tc, test_model_lagrangians);
    tcase_add_test(tc, test_model_parameters);
    tcase_add_test(tc, test_model_layout_queries);
    tcase_add_loop_test(tc, test_operator_calls, 0, 3);
    tcase_add_test(tc, test_conversions_and_energy);
    suite_add_tcase(s, tc);
    tc = tu_tcase("solver");
    tcase_add_test(tc, test_solver_new);
    tcase_add_test(tc, test_solver_options);
    tcase_add_test(tc, test_solver_solve);
    tcase_add_test(tc, test_custom_solver_defs);
    tcase_add_test(tc, test_step_apply_null);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
