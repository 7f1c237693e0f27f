/* The operators F (synchronous) and G (even-odd) through the public API: their formulas,
 * Jacobian-vector and vector-Jacobian products, the state layouts and conversions, and
 * G = F_S o F_I. Runs on every problem of the shared table (3-, 5-, 7-layer clamped
 * models, mixed Lagrangians, free-input models). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define N_OPS 2

static const char *op_name(int32_t op)
{
    return ham_operator_name(op);
}

/* Loop index -> problem and operator. */
static void pick(int i, const tu_problem_t **p, int32_t *op)
{
    *p = &tu_problems[i / N_OPS];
    *op = i % N_OPS;
}

/* A random state for op, in a range where every Lagrangian is far from saturation. */
static float *random_state(const ham_model_t *m, int32_t op, int32_t batch, uint64_t seed)
{
    size_t n = (size_t)batch * (size_t)tu_dim(m, op);
    float *s = tu_floats(n);
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    tu_fill(s, n, &r, -1.5, 1.5);
    return s;
}

START_TEST(test_jvp_matches_fd)
{
    const tu_problem_t *p;
    int32_t op;
    pick(_i, &p, &op);
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, op);
    size_t n = (size_t)B * (size_t)d;
    float *s = random_state(m, op, B, 500 + (uint64_t)_i);
    float *v = random_state(m, op, B, 600 + (uint64_t)_i);
    float *jv = tu_floats(n);
    double *fd = tu_doubles(n);
    TU_OK(ham_model_jvp(jv, m, op, B, x, s, v));
    tu_fd_apply(fd, m, op, B, x, s, v, 1e-3);
    for (int32_t r = 0; r < B; r++) {
        double err = tu_diff_df(fd + (size_t)r * d, jv + (size_t)r * d, (size_t)d);
        double ref = tu_norm_d(fd + (size_t)r * d, (size_t)d);
        ck_assert_msg(ref > 1e-3, "%s/%s: degenerate tangent", p->name, op_name(op));
        ck_assert_msg(err <= 2e-3 * ref, "%s/%s sample %d: |Jv - FD| = %g, |FD| = %g", p->name,
                      op_name(op), (int)r, err, ref);
    }
    free(x);
    free(s);
    free(v);
    free(jv);
    free(fd);
    ham_model_free(m);
}
END_TEST

START_TEST(test_vjp_is_adjoint)
{
    const tu_problem_t *p;
    int32_t op;
    pick(_i, &p, &op);
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, op);
    size_t n = (size_t)B * (size_t)d;
    float *s = random_state(m, op, B, 700 + (uint64_t)_i);
    float *u = random_state(m, op, B, 701 + (uint64_t)_i);
    float *v = random_state(m, op, B, 702 + (uint64_t)_i);
    float *jv = tu_floats(n), *jtu = tu_floats(n);
    TU_OK(ham_model_jvp(jv, m, op, B, x, s, v));
    TU_OK(ham_model_vjp(jtu, m, op, B, x, s, u));
    for (int32_t r = 0; r < B; r++) {
        size_t o = (size_t)r * d;
        double a = tu_dot(u + o, jv + o, (size_t)d), b = tu_dot(jtu + o, v + o, (size_t)d);
        double scale = tu_norm(u + o, (size_t)d) * tu_norm(jv + o, (size_t)d) +
                       tu_norm(jtu + o, (size_t)d) * tu_norm(v + o, (size_t)d);
        ck_assert_msg(fabs(a - b) <= 1e-5 * scale, "%s/%s sample %d: <u,Jv> = %.9g, <J^T u,v> = %.9g",
                      p->name, op_name(op), (int)r, a, b);
    }
    /* J^T is not J (the Hessians sit on different sides) unless by accident: make sure
     * the VJP is not just the JVP */
    float *ju = tu_floats(n);
    TU_OK(ham_model_jvp(ju, m, op, B, x, s, u));
    ck_assert_msg(tu_rel_diff(ju, jtu, n) > 1e-3, "%s/%s: VJP equals JVP", p->name, op_name(op));
    free(ju);
    free(x);
    free(s);
    free(u);
    free(v);
    free(jv);
    free(jtu);
    ham_model_free(m);
}
END_TEST

/* Layouts: the full state holds every free layer, the even-odd state the free layers of
 * the output's parity, both in increasing order without gaps. */
START_TEST(test_layouts)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    int clamped = ham_model_has_clamped_input(m);
    for (int32_t op = 0; op < N_OPS; op++) {
        int32_t expect = 0;
        for (int32_t l = 0; l < p->n_layers; l++) {
            int in_state = !(clamped && l == 0) &&
                           (op == HAM_OPERATOR_SYNC || l % 2 == (p->n_layers - 1) % 2);
            int32_t off = -1;
            int rc = ham_model_state_offset(&off, m, op, l);
            if (in_state) {
                ck_assert_msg(rc == HAM_OK && off == expect, "%s/%s layer %d: offset %d, rc %d",
                              p->name, op_name(op), (int)l, (int)off, rc);
                expect += p->sizes[l];
            } else {
                TU_RC(HAM_ERR_INVALID, ham_model_state_offset(&off, m, op, l));
            }
        }
        ck_assert_int_eq(tu_dim(m, op), expect);
    }
    ham_model_free(m);
}
END_TEST

START_TEST(test_eo_full_round_trip)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, de = tu_dim(m, HAM_OPERATOR_EVEN_ODD), df = tu_dim(m, HAM_OPERATOR_SYNC);
    size_t ne = (size_t)B * de, nf = (size_t)B * df;
    float *eo = random_state(m, HAM_OPERATOR_EVEN_ODD, B, 800 + (uint64_t)_i);
    float *full = tu_floats(nf), *back = tu_floats(ne);
    TU_OK(ham_model_eo_to_full(full, m, B, x, eo));
    TU_OK(ham_model_full_to_eo(back, m, B, full));
    ck_assert_msg(memcmp(eo, back, ne * sizeof *eo) == 0, "%s: full_to_eo(eo_to_full(s)) != s",
                  p->name);
    /* the state class is copied into its place in the full state */
    for (int32_t l = 0; l < p->n_layers; l++) {
        int32_t oe, of;
        if (ham_model_state_offset(&oe, m, HAM_OPERATOR_EVEN_ODD, l) != HAM_OK)
            continue;
        TU_OK(ham_model_state_offset(&of, m, HAM_OPERATOR_SYNC, l));
        for (int32_t r = 0; r < B; r++)
            ck_assert_msg(memcmp(full + (size_t)r * df + of, eo + (size_t)r * de + oe,
                                 (size_t)p->sizes[l] * sizeof(float)) == 0,
                          "%s: layer %d of sample %d not copied", p->name, (int)l, (int)r);
    }
    /* full -> eo -> full keeps the state class and recomputes the rest: idempotent */
    float *full2 = tu_floats(nf);
    TU_OK(ham_model_full_to_eo(back, m, B, full));
    TU_OK(ham_model_eo_to_full(full2, m, B, x, back));
    ck_assert_msg(memcmp(full, full2, nf * sizeof *full) == 0, "%s: eo_to_full not idempotent",
                  p->name);
    free(full2);
    free(x);
    free(eo);
    free(full);
    free(back);
    ham_model_free(m);
}
END_TEST

/* G(s) = F_S(F_I(s)): with full = eo_to_full(s), the state layers of F(full) are G(s),
 * and the inner layers of F(full) are those of full (they sit at F_I already). */
START_TEST(test_G_is_FS_of_FI)
{
    const tu_problem_t *p = &tu_problems[_i];
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, de = tu_dim(m, HAM_OPERATOR_EVEN_ODD), df = tu_dim(m, HAM_OPERATOR_SYNC);
    size_t ne = (size_t)B * de, nf = (size_t)B * df;
    float *s = random_state(m, HAM_OPERATOR_EVEN_ODD, B, 900 + (uint64_t)_i);
    float *gs = tu_floats(ne), *full = tu_floats(nf), *ff = tu_floats(nf), *ffe = tu_floats(ne);
    TU_OK(ham_model_apply(gs, m, HAM_OPERATOR_EVEN_ODD, B, x, s));
    TU_OK(ham_model_eo_to_full(full, m, B, x, s));
    TU_OK(ham_model_apply(ff, m, HAM_OPERATOR_SYNC, B, x, full));
    TU_OK(ham_model_full_to_eo(ffe, m, B, ff));
    double e = tu_rel_diff(gs, ffe, ne);
    ck_assert_msg(e <= 1e-6, "%s: |G(s) - F_S(eo_to_full(s))| rel = %g", p->name, e);
    ck_assert_msg(tu_rel_diff(gs, s, ne) > 1e-3, "%s: G(s) == s at a random state", p->name);
    for (int32_t l = 0; l < p->n_layers; l++) {
        int32_t oe, of;
        if (ham_model_state_offset(&of, m, HAM_OPERATOR_SYNC, l) != HAM_OK ||
            ham_model_state_offset(&oe, m, HAM_OPERATOR_EVEN_ODD, l) == HAM_OK)
            continue; /* inner layers only */
        for (int32_t r = 0; r < B; r++) {
            const float *a = full + (size_t)r * df + of, *b = ff + (size_t)r * df + of;
            double d = tu_rel_diff(a, b, (size_t)p->sizes[l]);
            ck_assert_msg(d <= 1e-6, "%s: inner layer %d of sample %d is not at F_I (%g)",
                          p->name, (int)l, (int)r, d);
        }
    }
    free(x);
    free(s);
    free(gs);
    free(full);
    free(ff);
    free(ffe);
    ham_model_free(m);
}
END_TEST

/* Rows are independent: a batch gives the rows of one-sample calls. */
START_TEST(test_batch_rows_independent)
{
    const tu_problem_t *p;
    int32_t op;
    pick(_i, &p, &op);
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t B = p->batch, d = tu_dim(m, op), n0 = p->sizes[0];
    size_t n = (size_t)B * d;
    float *s = random_state(m, op, B, 1000 + (uint64_t)_i);
    float *v = random_state(m, op, B, 1001 + (uint64_t)_i);
    float *o = tu_floats(n), *jv = tu_floats(n), *jtv = tu_floats(n);
    float *o1 = tu_floats(d), *jv1 = tu_floats(d), *jtv1 = tu_floats(d);
    TU_OK(ham_model_apply(o, m, op, B, x, s));
    TU_OK(ham_model_jvp(jv, m, op, B, x, s, v));
    TU_OK(ham_model_vjp(jtv, m, op, B, x, s, v));
    for (int32_t r = 0; r < B; r++) {
        const float *xr = x ? x + (size_t)r * n0 : NULL;
        size_t off = (size_t)r * d;
        TU_OK(ham_model_apply(o1, m, op, 1, xr, s + off));
        TU_OK(ham_model_jvp(jv1, m, op, 1, xr, s + off, v + off));
        TU_OK(ham_model_vjp(jtv1, m, op, 1, xr, s + off, v + off));
        ck_assert_msg(tu_rel_diff(o + off, o1, d) <= 1e-6, "%s/%s: apply row %d", p->name,
                      op_name(op), (int)r);
        ck_assert_msg(tu_rel_diff(jv + off, jv1, d) <= 1e-6, "%s/%s: jvp row %d", p->name,
                      op_name(op), (int)r);
        ck_assert_msg(tu_rel_diff(jtv + off, jtv1, d) <= 1e-6, "%s/%s: vjp row %d", p->name,
                      op_name(op), (int)r);
    }
    free(x);
    free(s);
    free(v);
    free(o);
    free(jv);
    free(jtv);
    free(o1);
    free(jv1);
    free(jtv1);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------ the formulas of docs/math.md, by hand */

static double sig4(double s)
{
    return 1.0 / (1.0 + exp(-4.0 * (s - 0.5)));
}

/* F and G of a clamped [N0, N1, N2] shifted-sigmoid model, in double:
 * F_1 = W_0^T g_0 + W_1 g_2 + b_1,  F_2 = W_1^T g_1 + b_2,
 * G(s_2) = W_1^T g_1(h) + b_2, h = W_0^T g_0(x) + W_1 g_2(s_2) + b_1. */
START_TEST(test_formulas_three_layers)
{
    enum { N0 = 6, N1 = 5, N2 = 4 };
    const int32_t sizes[3] = {N0, N1, N2};
    ham_model_t *m = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 31, 1.0);
    tu_model_random_biases(m, 31, 0.5);
    float W0[N0 * N1], W1[N1 * N2], b1[N1], b2[N2];
    TU_OK(ham_model_get_weights(W0, m, 0, N0 * N1));
    TU_OK(ham_model_get_weights(W1, m, 1, N1 * N2));
    TU_OK(ham_model_get_bias(b1, m, 1, N1));
    TU_OK(ham_model_get_bias(b2, m, 2, N2));
    tu_rng_t r;
    tu_rng_seed(&r, 32);
    float x[N0], full[N1 + N2], F[N1 + N2], G[N2];
    tu_fill(x, N0, &r, 0.0, 1.0);
    tu_fill(full, N1 + N2, &r, -1.0, 1.5);
    const float *s1 = full, *s2 = full + N1;
    TU_OK(ham_model_apply(F, m, HAM_OPERATOR_SYNC, 1, x, full));
    TU_OK(ham_model_apply(G, m, HAM_OPERATOR_EVEN_ODD, 1, x, s2));

    double g0[N0], g1[N1], g2[N2], h[N1], gh[N1];
    for (int i = 0; i < N0; i++)
        g0[i] = sig4(x[i]);
    for (int i = 0; i < N1; i++)
        g1[i] = sig4(s1[i]);
    for (int i = 0; i < N2; i++)
        g2[i] = sig4(s2[i]);
    double F1[N1], F2[N2], G2[N2];
    for (int j = 0; j < N1; j++) {
        double a = b1[j];
        for (int i = 0; i < N0; i++)
            a += W0[i * N1 + j] * g0[i]; /* (W_0^T g_0)_j */
        for (int k = 0; k < N2; k++)
            a += W1[j * N2 + k] * g2[k]; /* (W_1 g_2)_j */
        F1[j] = a;
        h[j] = a;
        gh[j] = sig4(h[j]);
    }
    for (int k = 0; k < N2; k++) {
        double a = b2[k], c = b2[k];
        for (int j = 0; j < N1; j++) {
            a += W1[j * N2 + k] * g1[j];
            c += W1[j * N2 + k] * gh[j];
        }
        F2[k] = a;
        G2[k] = c;
    }
    for (int j = 0; j < N1; j++)
        ck_assert_msg(fabs(F[j] - F1[j]) <= 1e-5 * (1 + fabs(F1[j])), "F_1[%d]: %.7g vs %.7g",
                      j, F[j], F1[j]);
    for (int k = 0; k < N2; k++) {
        ck_assert_msg(fabs(F[N1 + k] - F2[k]) <= 1e-5 * (1 + fabs(F2[k])),
                      "F_2[%d]: %.7g vs %.7g", k, F[N1 + k], F2[k]);
        ck_assert_msg(fabs(G[k] - G2[k]) <= 1e-5 * (1 + fabs(G2[k])), "G[%d]: %.7g vs %.7g", k,
                      G[k], G2[k]);
    }
    ham_model_free(m);
}
END_TEST

/* A free-input 2-layer HAM with identity visible and softmax hidden layer is the Modern
 * Hopfield update (math.md section 6): G(v) = X softmax(beta X^T v). */
START_TEST(test_formula_modern_hopfield)
{
    enum { D = 6, P = 4 };
    const double beta = 1.7;
    const int32_t sizes[2] = {D, P};
    ham_model_t *m = tu_model_new(2, sizes, HAM_MODEL_FREE_INPUT, 41, 1.0);
    TU_OK(ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_IDENTITY, 0));
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_SOFTMAX, beta));
    float X[D * P];
    TU_OK(ham_model_get_weights(X, m, 0, D * P));
    int32_t off;
    TU_OK(ham_model_state_offset(&off, m, HAM_OPERATOR_EVEN_ODD, 1));
    ck_assert_int_eq(tu_dim(m, HAM_OPERATOR_EVEN_ODD), P); /* the output layer's class */
    /* state = hidden layer h; G(h) = X^T v(h) with v = X softmax(beta h) */
    tu_rng_t r;
    tu_rng_seed(&r, 42);
    float h[P], G[P];
    tu_fill(h, P, &r, -1.0, 1.0);
    TU_OK(ham_model_apply(G, m, HAM_OPERATOR_EVEN_ODD, 1, NULL, h));
    double p[P], mx = -INFINITY, sum = 0, v[D];
    for (int j = 0; j < P; j++)
        mx = fmax(mx, beta * h[j]);
    for (int j = 0; j < P; j++)
        sum += (p[j] = exp(beta * h[j] - mx));
    for (int i = 0; i < D; i++) {
        v[i] = 0;
        for (int j = 0; j < P; j++)
            v[i] += X[i * P + j] * p[j] / sum;
    }
    for (int j = 0; j < P; j++) {
        double a = 0;
        for (int i = 0; i < D; i++)
            a += X[i * P + j] * v[i];
        ck_assert_msg(fabs(G[j] - a) <= 1e-5 * (1 + fabs(a)), "G[%d]: %.7g vs %.7g", j, G[j], a);
    }
    ham_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("operator");
    TCase *tc = tu_tcase("products");
    tcase_add_loop_test(tc, test_jvp_matches_fd, 0, tu_n_problems * N_OPS);
    tcase_add_loop_test(tc, test_vjp_is_adjoint, 0, tu_n_problems * N_OPS);
    tcase_add_loop_test(tc, test_batch_rows_independent, 0, tu_n_problems * N_OPS);
    suite_add_tcase(s, tc);
    tc = tu_tcase("even-odd");
    tcase_add_loop_test(tc, test_layouts, 0, tu_n_problems);
    tcase_add_loop_test(tc, test_eo_full_round_trip, 0, tu_n_problems);
    tcase_add_loop_test(tc, test_G_is_FS_of_FI, 0, tu_n_problems);
    suite_add_tcase(s, tc);
    tc = tu_tcase("formulas");
    tcase_add_test(tc, test_formulas_three_layers);
    tcase_add_test(tc, test_formula_modern_hopfield);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
