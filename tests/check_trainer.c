/* Training through the fixed point: the implicit gradient of every weight block and bias
 * against central finite differences of the loss, the parameter VJP against finite
 * differences of <lambda, Op(s; theta)>, the adjoint's fixed-point equation, even-odd vs
 * synchronous gradients, learning a separable task, reproducibility, optimiser rules,
 * bad input, and the data-parallel reduction hook (one process bit for bit; threads as
 * processes against one batch; failures reach every process). Links the private copy: the parameter VJP is internal. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_private.h"
#include "test_util.h"

#define B 5

static const int32_t lag_kinds[] = {HAM_LAGRANGIAN_SHIFTED_SIGMOID, HAM_LAGRANGIAN_SIGMOID,
                                    HAM_LAGRANGIAN_TANH, HAM_LAGRANGIAN_SOFTMAX};

/* A small clamped model: hidden layers of kind `lag` (softmax only in layer 1, beta 1.5,
 * the others shifted sigmoid), random biases. tanh weights are scaled down to stay in
 * the one-attractor regime: with several fixed points, F and G may pick different ones
 * and the loss jumps between them under finite differences. */
static ham_model_t *small_model(int32_t n_layers, int32_t lag, uint64_t seed)
{
    static const int32_t sizes[] = {6, 5, 4, 4, 3};
    int32_t sz[5];
    memcpy(sz, sizes, sizeof sz);
    sz[n_layers - 1] = 3;
    ham_model_t *m = tu_model_new(n_layers, sz, HAM_MODEL_CLAMPED_INPUT, seed,
                                  lag == HAM_LAGRANGIAN_TANH ? 0.3 : 1.0);
    for (int32_t l = 1; l < n_layers; l++) {
        if (lag == HAM_LAGRANGIAN_SOFTMAX)
            TU_OK(ham_model_set_lagrangian(m, l, l == 1 ? lag : HAM_LAGRANGIAN_SHIFTED_SIGMOID,
                                           1.5));
        else
            TU_OK(ham_model_set_lagrangian(m, l, lag, 0.0));
    }
    tu_model_random_biases(m, seed, 0.3);
    return m;
}

static void inputs(float *x, int32_t *labels, int32_t n_in, int32_t n_out, uint64_t seed)
{
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    tu_fill(x, (size_t)B * n_in, &r, 0.0, 1.0);
    for (int32_t k = 0; k < B; k++)
        labels[k] = k % n_out;
}

/* A trainer whose forward and adjoint solves are converged far below FD noise. */
static ham_trainer_t *exact_trainer(ham_model_t *m, int32_t op, int32_t loss)
{
    ham_trainer_t *t;
    TU_OK(ham_trainer_new(&t, m, op, HAM_SOLVER_ANDERSON));
    ham_solver_t *sv = ham_trainer_solver(t);
    TU_OK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6)); /* float32 floors near 1e-7 */
    TU_OK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 5000));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_BACKWARD_TOL, 1e-8));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_BACKWARD_ITERS, 5000));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_LOSS, loss));
    return t;
}

static double loss_of(ham_trainer_t *t, const float *x, const int32_t *labels)
{
    double L;
    TU_OK(ham_trainer_gradient(t, &L, NULL, B, x, labels));
    ham_solve_stats_t st;
    tu_stats(&st, ham_trainer_solver(t));
    ck_assert_msg(st.converged == B, "forward: %d of %d converged (%.0f iterations)",
                  (int)st.converged, B, st.iters_mean);
    return L;
}

static void set_param(ham_model_t *m, int bias, int32_t idx, const float *w, size_t n)
{
    if (bias)
        TU_OK(ham_model_set_bias(m, idx, w, n));
    else
        TU_OK(ham_model_set_weights(m, idx, w, n));
}

/* Every parameter array: analytic gradient vs central differences of the loss, over the
 * arrays whose gradient is above the finite-difference noise (deep blocks of a 5-layer
 * sigmoid model have gradients ~1e-6, which float32 fixed points cannot resolve; the
 * parameter-VJP and even-odd/sync tests below cover them). */
static void check_fd(ham_model_t *m, int32_t op, int32_t loss, double tol, const char *what)
{
    int32_t L = ham_model_n_layers(m), n_in = ham_model_layer_size(m, 0);
    float x[B * 8];
    int32_t labels[B];
    inputs(x, labels, n_in, ham_model_layer_size(m, L - 1), 99);
    ham_trainer_t *t = exact_trainer(m, op, loss);
    loss_of(t, x, labels);
    const double h = 3e-3; /* balances truncation (h^2) against float32 noise (1/h) */
    int checked = 0;
    for (int32_t p = 0; p < 2 * (L - 1); p++) {
        int bias = p >= L - 1;
        int32_t idx = bias ? p - (L - 1) + 1 : p;
        size_t n = bias ? (size_t)ham_model_layer_size(m, idx)
                        : (size_t)ham_model_layer_size(m, idx) * ham_model_layer_size(m, idx + 1);
        float *g = tu_floats(n), *w = tu_floats(n);
        if (bias) {
            TU_OK(ham_trainer_get_bias_grad(g, t, idx, n));
            TU_OK(ham_model_get_bias(w, m, idx, n));
        } else {
            TU_OK(ham_trainer_get_weight_grad(g, t, idx, n));
            TU_OK(ham_model_get_weights(w, m, idx, n));
        }
        if (tu_norm(g, n) < 1e-3) { /* below what float32 differences can resolve */
            free(g);
            free(w);
            continue;
        }
        double err = 0.0, ref = 0.0;
        for (size_t i = 0; i < n; i++) {
            float keep = w[i];
            double lp, lm;
            w[i] = keep + (float)h;
            set_param(m, bias, idx, w, n);
            lp = loss_of(t, x, labels);
            w[i] = keep - (float)h;
            set_param(m, bias, idx, w, n);
            lm = loss_of(t, x, labels);
            w[i] = keep;
            set_param(m, bias, idx, w, n);
            double fd = (lp - lm) / (2.0 * h);
            err += (fd - g[i]) * (fd - g[i]);
            ref += (double)g[i] * g[i];
        }
        double rel = sqrt(err / ref);
        ck_assert_msg(rel < tol, "%s %s %d: gradient vs finite differences, relative error %.3g",
                      what, bias ? "bias" : "W", (int)idx, rel);
        checked++;
        loss_of(t, x, labels); /* the parameters are back: refresh for the next array */
        free(g);
        free(w);
    }
    ck_assert_msg(checked >= L, "%s: only %d arrays had resolvable gradients", what, checked);
    ham_trainer_free(t);
}

/* _i: Lagrangian x operator x loss, 3 layers (every array resolvable). */
START_TEST(test_gradient_fd_3layer)
{
    int32_t lag = lag_kinds[_i / 4], op = (_i / 2) % 2, loss = _i % 2;
    ham_model_t *m = small_model(3, lag, 21 + _i);
    char what[64];
    snprintf(what, sizeof what, "3-layer %s %s loss %d", ham_lagrangian_name(lag),
             ham_operator_name(op), (int)loss);
    check_fd(m, op, loss, 5e-3, what);
    ham_model_free(m);
}
END_TEST

START_TEST(test_gradient_fd_5layer)
{
    int32_t lag = lag_kinds[_i / 2], op = _i % 2;
    ham_model_t *m = small_model(5, lag, 41 + _i);
    char what[64];
    snprintf(what, sizeof what, "5-layer %s %s", ham_lagrangian_name(lag), ham_operator_name(op));
    check_fd(m, op, HAM_LOSS_MSE, 2e-2, what); /* small deep gradients: noisier */
    ham_model_free(m);
}
END_TEST

/* (dOp/dtheta)^T lambda against finite differences of <lambda, Op(s; theta)> at a fixed
 * state: a single evaluation, so every block of a deep model is resolved. */
START_TEST(test_param_vjp_fd)
{
    const tu_problem_t *p = &tu_problems[_i / 2];
    int32_t op = _i % 2;
    ham_model_t *m = tu_problem_model(p);
    float *x = tu_problem_inputs(p, m);
    int32_t L = m->n_layers, dim = m->layout[op].dim, rows = p->batch;
    tu_rng_t r;
    tu_rng_seed(&r, 5 + _i);
    float *s = tu_floats((size_t)rows * dim), *lam = tu_floats((size_t)rows * dim);
    float *out = tu_floats((size_t)rows * dim);
    tu_fill(s, (size_t)rows * dim, &r, -1.0, 1.0);
    tu_fill(lam, (size_t)rows * dim, &r, -1.0, 1.0);
    float *gW[HAM_MAX_LAYERS] = {0}, *gb[HAM_MAX_LAYERS] = {0};
    for (int32_t l = 0; l < L; l++) {
        if (l + 1 < L)
            gW[l] = tu_floats((size_t)m->size[l] * m->size[l + 1]);
        if (m->b[l])
            gb[l] = tu_floats((size_t)m->size[l]);
    }
    hamp_eval_t e;
    TU_OK(hamp_eval_init(&e, m, rows, 1));
    hamp_eval_set_input(&e, m, x, rows);
    hamp_operator_get(op)->apply(m, &e, out, s, rows);
    const hamp_param_grad_t grad_out = {gW, gb, NULL, NULL};
    hamp_operator_get(op)->param_vjp(m, &e, lam, rows, &grad_out);

    const double h = 1e-2;
    for (int32_t l = 0; l < 2 * L; l++) {
        float *param = l < L ? m->W[l] : m->b[l - L];
        float *grad = l < L ? gW[l] : gb[l - L];
        if (!param || !grad)
            continue;
        size_t n = l < L ? (size_t)m->size[l] * m->size[l + 1] : (size_t)m->size[l - L];
        double err = 0.0, ref = 0.0;
        for (size_t i = 0; i < n; i++) {
            float keep = param[i];
            double f[2];
            for (int side = 0; side < 2; side++) {
                param[i] = keep + (float)(side ? -h : h);
                hamp_eval_set_input(&e, m, x, rows); /* the drive holds W_0 and b_1 */
                hamp_operator_get(op)->apply(m, &e, out, s, rows);
                f[side] = tu_dot(lam, out, (size_t)rows * dim);
            }
            param[i] = keep;
            double fd = (f[0] - f[1]) / (2.0 * h);
            err += (fd - grad[i]) * (fd - grad[i]);
            ref += (double)grad[i] * grad[i];
        }
        ck_assert_msg(sqrt(err) <= 1e-3 * sqrt(ref) + 1e-4,
                      "%s %s: %s %d, |error| %.3g vs |grad| %.3g", p->name, ham_operator_name(op),
                      l < L ? "W" : "b", (int)(l < L ? l : l - L), sqrt(err), sqrt(ref));
    }
    hamp_eval_free(&e);
    for (int32_t l = 0; l < L; l++) {
        free(gW[l]);
        free(gb[l]);
    }
    free(s);
    free(lam);
    free(out);
    free(x);
    ham_model_free(m);
}
END_TEST

/* F and G share their fixed point, so their exact gradients agree (every block, deep ones
 * included), and the adjoint solves lambda = J^T lambda + c. */
START_TEST(test_even_odd_matches_sync)
{
    ham_model_t *m = small_model(_i == 0 ? 3 : 5, _i == 2 ? HAM_LAGRANGIAN_TANH
                                                          : HAM_LAGRANGIAN_SHIFTED_SIGMOID,
                                 61 + _i);
    int32_t L = m->n_layers;
    float x[B * 8];
    int32_t labels[B];
    inputs(x, labels, m->size[0], m->size[L - 1], 7);
    ham_trainer_t *ts = exact_trainer(m, HAM_OPERATOR_SYNC, HAM_LOSS_MSE);
    ham_trainer_t *te = exact_trainer(m, HAM_OPERATOR_EVEN_ODD, HAM_LOSS_MSE);
    double ls = loss_of(ts, x, labels), le = loss_of(te, x, labels);
    ck_assert_msg(fabs(ls - le) <= 1e-5 * fabs(ls), "losses %.9g vs %.9g", ls, le);
    for (int32_t l = 0; l + 1 < L; l++) {
        size_t n = (size_t)m->size[l] * m->size[l + 1];
        float *a = tu_floats(n), *b = tu_floats(n);
        TU_OK(ham_trainer_get_weight_grad(a, ts, l, n));
        TU_OK(ham_trainer_get_weight_grad(b, te, l, n));
        double d = tu_rel_diff(a, b, n);
        ck_assert_msg(d < 1e-3, "W%d: sync vs even-odd gradients differ by %.3g (|g| %.3g)",
                      (int)l, d, tu_norm(a, n));
        free(a);
        free(b);
    }
    for (int32_t l = 1; l < L; l++) {
        size_t n = (size_t)m->size[l];
        float *a = tu_floats(n), *b = tu_floats(n);
        TU_OK(ham_trainer_get_bias_grad(a, ts, l, n));
        TU_OK(ham_trainer_get_bias_grad(b, te, l, n));
        ck_assert_msg(tu_rel_diff(a, b, n) < 1e-3, "b%d differs", (int)l);
        free(a);
        free(b);
    }
    /* the adjoint is a fixed point of u -> J^T u + c (checked through the public VJP) */
    for (int32_t k = 0; k < 2; k++) {
        ham_trainer_t *t = k ? te : ts;
        int32_t dim = t->layout->dim;
        float *ju = tu_floats((size_t)B * dim);
        TU_OK(ham_model_vjp(ju, m, t->op, B, x, t->s_star, t->lambda));
        for (size_t i = 0; i < (size_t)B * dim; i++)
            ju[i] += t->rhs[i];
        ck_assert_msg(tu_rel_diff(ju, t->lambda, (size_t)B * dim) < 1e-5,
                      "lambda is not the adjoint fixed point");
        free(ju);
    }
    ham_trainer_free(ts);
    ham_trainer_free(te);
    ham_model_free(m);
}
END_TEST

/* A linearly separable 3-class task in 8 dimensions is learnt to 100% (every optimiser). */
START_TEST(test_learns_separable_task)
{
    enum { N = 60, D = 8, C = 3 };
    int32_t sizes[3] = {D, 16, C};
    ham_model_t *m = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 3, 1.0);
    float x[N * D];
    int32_t y[N];
    tu_rng_t r;
    tu_rng_seed(&r, 17);
    for (int32_t k = 0; k < N; k++) { /* class c lights up pixels 2c..2c+1 */
        y[k] = k % C;
        tu_fill(x + k * D, D, &r, 0.0, 0.3);
        x[k * D + 2 * y[k]] += 0.7f;
        x[k * D + 2 * y[k] + 1] += 0.7f;
    }
    int32_t optimizer = _i;
    ham_trainer_t *t;
    TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_OPTIMIZER, optimizer));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_LR, optimizer == HAM_OPTIMIZER_SGD ? 0.5 : 0.05));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_MADAM_BIASES, 1));
    double first = 0, last = 0;
    int32_t correct = 0;
    for (int32_t epoch = 0; epoch < 150; epoch++) {
        double loss;
        for (int32_t k = 0; k < N; k += 10)
            TU_OK(ham_trainer_step(t, &loss, NULL, 10, x + k * D, y + k));
        TU_OK(ham_trainer_gradient(t, &last, &correct, N, x, y));
        if (epoch == 0)
            first = last;
        if (correct == N && epoch > 10)
            break;
    }
    ck_assert_msg(correct == N, "%s: %d of %d right, loss %.4g -> %.4g",
                  optimizer == 0 ? "sgd" : optimizer == 1 ? "adam" : "madam", (int)correct, N,
                  first, last);
    ck_assert_msg(last < first, "loss did not decrease: %.4g -> %.4g", first, last);
    ham_trainer_free(t);
    ham_model_free(m);
}
END_TEST

/* Same seed, same data, one BLAS thread: bit-for-bit the same weights. */
START_TEST(test_reproducible)
{
    float *w[2];
    size_t n = 6 * 5;
    for (int run = 0; run < 2; run++) {
        ham_model_t *m = small_model(3, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 5);
        float x[B * 8];
        int32_t labels[B];
        inputs(x, labels, 6, 3, 3);
        ham_trainer_t *t;
        TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
        for (int k = 0; k < 5; k++)
            TU_OK(ham_trainer_step(t, NULL, NULL, B, x, labels));
        w[run] = tu_floats(n);
        TU_OK(ham_model_get_weights(w[run], m, 0, n));
        ham_trainer_free(t);
        ham_model_free(m);
    }
    ck_assert_msg(memcmp(w[0], w[1], n * sizeof(float)) == 0, "two runs differ");
    free(w[0]);
    free(w[1]);
}
END_TEST

/* Madam: zero biases stay zero unless asked to move; weights stay within their bound. */
START_TEST(test_madam_rules)
{
    ham_model_t *m = small_model(3, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 8);
    float zeros[5] = {0};
    TU_OK(ham_model_set_bias(m, 1, zeros, 5));
    float x[B * 8];
    int32_t labels[B];
    inputs(x, labels, 6, 3, 4);
    ham_trainer_t *t;
    TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_MADAM_SCALE, 1.5));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_LR, 0.5));
    float w0[30], w[30], b[5];
    TU_OK(ham_model_get_weights(w0, m, 0, 30));
    double rms = tu_norm(w0, 30) / sqrt(30.0);
    for (int k = 0; k < 20; k++)
        TU_OK(ham_trainer_step(t, NULL, NULL, B, x, labels));
    TU_OK(ham_model_get_bias(b, m, 1, 5));
    ck_assert_msg(tu_norm(b, 5) == 0.0, "a zero bias moved under multiplicative Madam");
    TU_OK(ham_model_get_weights(w, m, 0, 30));
    ck_assert_msg(tu_rel_diff(w, w0, 30) > 1e-3, "weights did not move");
    for (int i = 0; i < 30; i++) {
        ck_assert_msg(fabs(w[i]) <= 1.5 * rms * (1 + 1e-6), "weight %d beyond Madam's bound", i);
        ck_assert_msg(w[i] * w0[i] >= 0.0f, "a multiplicative update flipped a sign");
    }
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_MADAM_BIASES, 1));
    TU_OK(ham_trainer_step(t, NULL, NULL, B, x, labels));
    TU_OK(ham_model_get_bias(b, m, 1, 5));
    ck_assert_msg(tu_norm(b, 5) > 0.0, "the additive bias update did not move the bias");
    ham_trainer_free(t);
    ham_model_free(m);
}
END_TEST

START_TEST(test_bad_input)
{
    ham_model_t *m = small_model(3, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 9), *freem;
    int32_t sizes[2] = {4, 3};
    TU_OK(ham_model_new(&freem, 2, sizes, HAM_MODEL_FREE_INPUT));
    ham_trainer_t *t = NULL;
    TU_RC(HAM_ERR_NULL, ham_trainer_new(NULL, m, 0, 0));
    TU_RC(HAM_ERR_NULL, ham_trainer_new(&t, NULL, 0, 0));
    TU_RC(HAM_ERR_UNKNOWN_OPERATOR, ham_trainer_new(&t, m, 7, 0));
    TU_RC(HAM_ERR_UNKNOWN_SOLVER, ham_trainer_new(&t, m, 0, 9));
    TU_RC(HAM_ERR_UNSUPPORTED, ham_trainer_new(&t, freem, 0, 0));
    ck_assert_ptr_null(t);
    TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    float x[B * 6] = {0}, g[30];
    int32_t labels[B] = {0, 1, 2, 3, 0};
    TU_RC(HAM_ERR_INVALID, ham_trainer_gradient(t, NULL, NULL, B, x, labels));
    ck_assert_str_ne(ham_last_error(), "");
    labels[3] = -1;
    TU_RC(HAM_ERR_INVALID, ham_trainer_step(t, NULL, NULL, B, x, labels));
    labels[3] = 1;
    TU_RC(HAM_ERR_INVALID, ham_trainer_gradient(t, NULL, NULL, 0, x, labels));
    TU_RC(HAM_ERR_NULL, ham_trainer_gradient(t, NULL, NULL, B, NULL, labels));
    TU_RC(HAM_ERR_INVALID, ham_trainer_get_weight_grad(g, t, 0, 30)); /* none yet */
    x[3] = NAN;
    TU_RC(HAM_ERR_NONFINITE, ham_trainer_gradient(t, NULL, NULL, B, x, labels));
    x[3] = 0.0f;
    TU_OK(ham_trainer_gradient(t, NULL, NULL, B, x, labels));
    TU_RC(HAM_ERR_DIMENSION, ham_trainer_get_weight_grad(g, t, 0, 29));
    TU_RC(HAM_ERR_INVALID, ham_trainer_get_weight_grad(g, t, 2, 30));
    TU_RC(HAM_ERR_INVALID, ham_trainer_get_bias_grad(g, t, 0, 6)); /* clamped layer */
    TU_RC(HAM_ERR_UNKNOWN_OPTION, ham_trainer_set_option(t, 99, 1));
    TU_RC(HAM_ERR_INVALID, ham_trainer_set_option(t, HAM_TRAIN_LR, 0));
    TU_RC(HAM_ERR_INVALID, ham_trainer_set_option(t, HAM_TRAIN_LOSS, 0.5));
    TU_RC(HAM_ERR_INVALID, ham_trainer_set_option(t, HAM_TRAIN_BACKWARD_SOLVER, HAM_SOLVER_NEWTON));
    ck_assert_ptr_nonnull(ham_trainer_solver(t));
    ck_assert_ptr_null(ham_trainer_solver(NULL));
    ham_trainer_free(NULL);
    ham_trainer_free(t);
    ham_model_free(freem);
    ham_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- the reduction hook */

/* Every parameter of a model, flat, in ham_reduce_fn's order. */
static float *all_params(const ham_model_t *m, size_t *n_out)
{
    int32_t L = ham_model_n_layers(m);
    size_t n = 0;
    for (int32_t l = 0; l + 1 < L; l++)
        n += (size_t)ham_model_layer_size(m, l) * (size_t)ham_model_layer_size(m, l + 1);
    for (int32_t l = 1; l < L; l++)
        n += (size_t)ham_model_layer_size(m, l);
    float *p = tu_floats(n), *at = p;
    for (int32_t l = 0; l + 1 < L; l++) {
        size_t k = (size_t)ham_model_layer_size(m, l) * (size_t)ham_model_layer_size(m, l + 1);
        TU_OK(ham_model_get_weights(at, m, l, k));
        at += k;
    }
    for (int32_t l = 1; l < L; l++) {
        TU_OK(ham_model_get_bias(at, m, l, (size_t)ham_model_layer_size(m, l)));
        at += ham_model_layer_size(m, l);
    }
    *n_out = n;
    return p;
}

typedef struct noop_log {
    int calls, bad;
    size_t len;
} noop_log_t;

/* A one-process reduction: leaves everything as it is, checks the calling convention. */
static int noop_reduce(float *grad, size_t len, double *counts, int32_t n_counts, void *user)
{
    noop_log_t *log = user;
    int first = log->calls++ % 2 == 0;
    if (n_counts != 4 || (first && (grad || len || counts[0] != 0.0 || counts[1] != 0.0)) ||
        (!first && (!grad || !len)) || counts[2] != B || counts[3] != 0.0)
        log->bad++;
    if (!first)
        log->len = len;
    return 0;
}

/* One process through a reduction that changes nothing: bit for bit the plain trainer,
 * for every optimiser, with the same loss and count; the gradient buffer holds every
 * weight block and every bias. */
START_TEST(test_reduce_one_process)
{
    int32_t optimizer = _i;
    float *p[2];
    size_t n = 0;
    double losses[2][6];
    int32_t right[2][6];
    noop_log_t log = {0, 0, 0};
    for (int run = 0; run < 2; run++) {
        ham_model_t *m = small_model(4, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 21);
        float x[B * 6];
        int32_t labels[B];
        inputs(x, labels, 6, 3, 22);
        ham_trainer_t *t;
        TU_OK(ham_trainer_new(&t, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
        TU_OK(ham_trainer_set_option(t, HAM_TRAIN_OPTIMIZER, optimizer));
        TU_OK(ham_trainer_set_option(t, HAM_TRAIN_MADAM_BIASES, 1));
        if (run == 1)
            TU_OK(ham_trainer_set_reduce(t, noop_reduce, &log));
        for (int k = 0; k < 6; k++)
            TU_OK(ham_trainer_step(t, &losses[run][k], &right[run][k], B, x, labels));
        p[run] = all_params(m, &n);
        ham_trainer_free(t);
        ham_model_free(m);
    }
    ck_assert_msg(memcmp(p[0], p[1], n * sizeof(float)) == 0,
                  "a one-process reduction changed the trained parameters");
    ck_assert_msg(memcmp(losses[0], losses[1], sizeof losses[0]) == 0, "losses differ");
    ck_assert_msg(memcmp(right[0], right[1], sizeof right[0]) == 0, "counts differ");
    ck_assert_int_eq(log.calls, 12);
    ck_assert_int_eq(log.bad, 0);
    ck_assert_uint_eq(log.len, n); /* 6x5 + 5x4 + 4x3 weights, 5 + 4 + 3 biases */
    free(p[0]);
    free(p[1]);
}
END_TEST

/* Threads standing in for processes: a reduction that sums the ranks' buffers in rank
 * order, so every rank gets the same sums. */
#define MAX_RANKS 3
typedef struct group {
    int ranks;
    pthread_barrier_t bar;
    float *grad[MAX_RANKS];
    double *counts[MAX_RANKS];
    size_t len;
} group_t;

typedef struct rank_arg {
    group_t *g;
    int rank;
    ham_trainer_t *t;
    int32_t batch, steps;
    const float *x;
    const int32_t *labels;
    double loss;
    int32_t correct;
    int rc, fail_reduce;
} rank_arg_t;

static int group_reduce(float *grad, size_t len, double *counts, int32_t n_counts, void *user)
{
    rank_arg_t *a = user;
    group_t *g = a->g;
    if (a->fail_reduce)
        return 7;
    g->grad[a->rank] = grad;
    g->counts[a->rank] = counts;
    g->len = len;
    pthread_barrier_wait(&g->bar);
    float *sum = len ? malloc(len * sizeof(float)) : NULL;
    double c[4] = {0};
    for (size_t i = 0; i < len; i++) {
        double acc = 0.0; /* rank order */
        for (int r = 0; r < g->ranks; r++)
            acc += g->grad[r][i];
        sum[i] = (float)acc;
    }
    for (int32_t i = 0; i < n_counts && i < 4; i++)
        for (int r = 0; r < g->ranks; r++)
            c[i] += g->counts[r][i];
    pthread_barrier_wait(&g->bar); /* everyone has read every buffer */
    if (len)
        memcpy(grad, sum, len * sizeof(float));
    memcpy(counts, c, (size_t)n_counts * sizeof(double));
    free(sum);
    return 0;
}

static void *rank_main(void *p)
{
    rank_arg_t *a = p;
    a->rc = HAM_OK;
    for (int32_t k = 0; k < a->steps && a->rc == HAM_OK; k++)
        a->rc = ham_trainer_step(a->t, &a->loss, &a->correct, a->batch, a->x, a->labels);
    return NULL;
}

/* Runs `steps` steps on ranks whose shards of x (rows[r] samples each) are contiguous. */
static void run_group(rank_arg_t *a, int ranks, ham_model_t **models, const int32_t *rows,
                      const float *x, const int32_t *labels, int32_t n_in, int32_t steps)
{
    static group_t g;
    memset(&g, 0, sizeof g);
    g.ranks = ranks;
    ck_assert_int_eq(pthread_barrier_init(&g.bar, NULL, (unsigned)ranks), 0);
    pthread_t th[MAX_RANKS];
    int32_t at = 0;
    for (int r = 0; r < ranks; r++) {
        a[r].g = &g;
        a[r].rank = r;
        a[r].batch = rows[r];
        a[r].steps = steps;
        a[r].x = rows[r] > 0 ? x + (size_t)at * n_in : NULL; /* an empty shard: NULL */
        a[r].labels = rows[r] > 0 ? labels + at : NULL;
        at += rows[r];
        TU_OK(ham_trainer_new(&a[r].t, models[r], HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
        TU_OK(ham_trainer_set_option(a[r].t, HAM_TRAIN_OPTIMIZER, HAM_OPTIMIZER_ADAM));
        TU_OK(ham_trainer_set_reduce(a[r].t, group_reduce, &a[r]));
    }
    for (int r = 0; r < ranks; r++)
        ck_assert_int_eq(pthread_create(&th[r], NULL, rank_main, &a[r]), 0);
    for (int r = 0; r < ranks; r++)
        ck_assert_int_eq(pthread_join(th[r], NULL), 0);
    pthread_barrier_destroy(&g.bar);
}

/* Three ranks on shards of 3 + 1 + 3 samples take the steps one trainer takes on the 7:
 * the same parameters to float reassociation, identical on every rank; the same global
 * loss and count; the same gradient on every rank. Also with an empty shard (0 + 3 + 4,
 * 3 + 0 + 4: batch 0, x and labels NULL), which contributes nothing. */
START_TEST(test_reduce_shards)
{
    enum { N = 7, RANKS = 3, STEPS = 4 };
    static const int32_t shards[3][RANKS] = {{3, 1, 3}, {0, 3, 4}, {3, 0, 4}};
    const int32_t *rows = shards[_i];
    float x[N * 6];
    int32_t labels[N];
    tu_rng_t r;
    tu_rng_seed(&r, 31);
    tu_fill(x, sizeof x / sizeof x[0], &r, 0.0, 1.0);
    for (int32_t k = 0; k < N; k++)
        labels[k] = (k * 2) % 3;
    ham_model_t *ref = small_model(3, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 33), *models[RANKS];
    for (int k = 0; k < RANKS; k++)
        TU_OK(ham_model_clone(&models[k], ref));
    ham_trainer_t *t;
    TU_OK(ham_trainer_new(&t, ref, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON));
    TU_OK(ham_trainer_set_option(t, HAM_TRAIN_OPTIMIZER, HAM_OPTIMIZER_ADAM));
    double loss = 0;
    int32_t correct = 0;
    for (int k = 0; k < STEPS; k++)
        TU_OK(ham_trainer_step(t, &loss, &correct, N, x, labels));
    float gref[30], g[30];
    TU_OK(ham_trainer_get_weight_grad(gref, t, 0, 30));

    rank_arg_t a[RANKS];
    memset(a, 0, sizeof a);
    run_group(a, RANKS, models, rows, x, labels, 6, STEPS);
    size_t n;
    float *pref = all_params(ref, &n), *p0 = all_params(models[0], &n);
    for (int k = 0; k < RANKS; k++) {
        ck_assert_msg(a[k].rc == HAM_OK, "rank %d: %s", k, ham_status_name(a[k].rc));
        ck_assert_msg(fabs(a[k].loss - loss) <= 1e-6 * fabs(loss), "rank %d: loss %.9g vs %.9g",
                      k, a[k].loss, loss);
        ck_assert_int_eq(a[k].correct, correct);
        TU_OK(ham_trainer_get_weight_grad(g, a[k].t, 0, 30));
        ck_assert_msg(tu_rel_diff(g, gref, 30) < 1e-5, "rank %d: gradient off by %.3g", k,
                      tu_rel_diff(g, gref, 30));
        float *p = all_params(models[k], &n);
        ck_assert_msg(tu_rel_diff(p, pref, n) < 1e-5, "rank %d: parameters off by %.3g", k,
                      tu_rel_diff(p, pref, n));
        ck_assert_msg(memcmp(p, p0, n * sizeof(float)) == 0, "ranks 0 and %d differ", k);
        free(p);
    }
    for (int k = 0; k < RANKS; k++) {
        ham_trainer_free(a[k].t);
        ham_model_free(models[k]);
    }
    free(p0);
    free(pref);
    ham_trainer_free(t);
    ham_model_free(ref);
}
END_TEST

/* A rank with a bad label fails with its own error, the others with HAM_ERR_CALLBACK, and
 * nobody waits forever; a reduction that fails fails the step; NULL trainer. */
START_TEST(test_reduce_failures)
{
    enum { N = 4, RANKS = 2 };
    const int32_t rows[RANKS] = {2, 2};
    float x[N * 6];
    int32_t labels[N] = {0, 1, 2, 1};
    tu_rng_t r;
    tu_rng_seed(&r, 41);
    tu_fill(x, sizeof x / sizeof x[0], &r, 0.0, 1.0);
    ham_model_t *models[RANKS];
    for (int k = 0; k < RANKS; k++)
        models[k] = small_model(3, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 43);
    labels[3] = 9; /* rank 1's second sample */
    rank_arg_t a[RANKS];
    memset(a, 0, sizeof a);
    run_group(a, RANKS, models, rows, x, labels, 6, 2);
    ck_assert_msg(a[0].rc == HAM_ERR_CALLBACK, "rank 0: %s", ham_status_name(a[0].rc));
    ck_assert_msg(a[1].rc == HAM_ERR_INVALID, "rank 1: %s", ham_status_name(a[1].rc));
    ham_trainer_t *t = a[0].t;
    float g[30];
    TU_RC(HAM_ERR_INVALID, ham_trainer_get_weight_grad(g, t, 0, 30)); /* no gradient */
    ham_trainer_free(a[1].t);

    /* a rank that cannot produce its batch passes -1: it fails with its own error, the
     * other with HAM_ERR_CALLBACK; two empty shards (a global batch of 0) fail both */
    labels[3] = 1;
    for (int k = 0; k < 2; k++) {
        const int32_t bad[2][RANKS] = {{2, -1}, {0, 0}};
        rank_arg_t b[RANKS];
        memset(b, 0, sizeof b);
        run_group(b, RANKS, models, bad[k], x, labels, 6, 1);
        ck_assert_msg(b[0].rc == HAM_ERR_CALLBACK &&
                          b[1].rc == (k == 0 ? HAM_ERR_INVALID : HAM_ERR_CALLBACK),
                      "case %d: ranks %s, %s", k, ham_status_name(b[0].rc),
                      ham_status_name(b[1].rc));
        for (int q = 0; q < RANKS; q++)
            ham_trainer_free(b[q].t);
    }
    a[0].fail_reduce = 1;
    TU_RC(HAM_ERR_CALLBACK, ham_trainer_step(t, NULL, NULL, 2, x, labels));
    TU_RC(HAM_ERR_NULL, ham_trainer_set_reduce(NULL, group_reduce, NULL));
    TU_OK(ham_trainer_set_reduce(t, NULL, NULL)); /* back to the local batch */
    TU_OK(ham_trainer_step(t, NULL, NULL, 2, x, labels));
    ham_trainer_free(t);
    for (int k = 0; k < RANKS; k++)
        ham_model_free(models[k]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer");
    TCase *tc = tu_tcase("gradients");
    tcase_add_loop_test(tc, test_gradient_fd_3layer, 0, 16);
    tcase_add_loop_test(tc, test_gradient_fd_5layer, 0, 8);
    tcase_add_loop_test(tc, test_param_vjp_fd, 0, 2 * tu_n_problems);
    tcase_add_loop_test(tc, test_even_odd_matches_sync, 0, 3);
    suite_add_tcase(s, tc);
    tc = tu_tcase("training");
    tcase_add_loop_test(tc, test_learns_separable_task, 0, 3);
    tcase_add_test(tc, test_reproducible);
    tcase_add_test(tc, test_madam_rules);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    tc = tu_tcase("reduce");
    tcase_add_loop_test(tc, test_reduce_one_process, 0, 3);
    tcase_add_loop_test(tc, test_reduce_shards, 0, 3);
    tcase_add_test(tc, test_reduce_failures);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
