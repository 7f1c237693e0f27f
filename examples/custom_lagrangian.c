/* custom_lagrangian: give a layer your own Lagrangian, check it, and train with it.
 *
 * A layer's Lagrangian L(s) decides its activation g = grad L(s) and, through its
 * Hessian H(s), how gradients flow back through the fixed point (docs/math.md section 3).
 * A custom one is three callbacks on one row of n units: the value L(s), the activation,
 * and the Hessian-vector product H(s) v. Here it is the paper's shifted sigmoid,
 * L(s) = sum (1/4) softplus(4 (s_i - 1/2)), the built-in
 * HAM_LAGRANGIAN_SHIFTED_SIGMOID written by hand, so the program can check it against
 * the built-in: the same fixed point, the same energy, the same loss gradient; then it
 * trains the custom model for an epoch. Replace the three callbacks by your function.
 *
 *     custom_lagrangian [MNIST_DIR]
 *
 * With an MNIST-style directory (train-images-idx3-ubyte[.gz] and so on, e.g. Fashion-
 * MNIST) it trains on its first 2000 training images and tests on 500 test images;
 * without one, on generated 8 x 8 images of 4 classes.
 *
 *     cc custom_lagrangian.c $(pkg-config --cflags --libs hamdeq) -lm -o custom_lagrangian
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hamdeq/hamdeq.h>

#define HIDDEN 32
#define BATCH 16

/* ---- the Lagrangian: three callbacks on one row of n units ---- */

/* L(s) = sum (1/4) softplus(4 (s_i - 1/2)), with softplus(z) = log(1 + e^z) written so
 * that it neither overflows for large z nor loses precision for very negative z. In
 * double: energies of nearby states are compared. */
static double shifted_value(const float *s, int32_t n, void *user)
{
    (void)user;
    double acc = 0;
    for (int32_t i = 0; i < n; i++) {
        double z = 4 * ((double)s[i] - 0.5);
        acc += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) / 4;
    }
    return acc;
}

/* g = grad L(s) = sigmoid(4 (s - 1/2)): the units' firing rates, in (0, 1). */
static void shifted_activation(float *g, const float *s, int32_t n, void *user)
{
    (void)user;
    for (int32_t i = 0; i < n; i++)
        g[i] = 1.0f / (1.0f + expf(-4.0f * (s[i] - 0.5f)));
}

/* H(s) v: the Hessian is diagonal, 4 g (1 - g), and the library hands us g already
 * computed. Training needs it (the adjoint solve goes through the Jacobian). */
static void shifted_hvp(float *out, const float *s, const float *g, const float *v, int32_t n,
                        void *user)
{
    (void)s, (void)user;
    for (int32_t i = 0; i < n; i++)
        out[i] = 4.0f * g[i] * (1.0f - g[i]) * v[i];
}

/* ---- data: the first images of an MNIST-style directory, or generated ones ---- */

typedef struct data {
    int32_t dim, classes, n_train, n_test;
    float *x_train, *x_test;
    int32_t *y_train, *y_test;
} data_t;

static int from_dir(data_t *d, const char *dir)
{
    ham_dataset_t *train = NULL, *test = NULL;
    int rc = ham_dataset_load_dir(&train, dir, "train", NULL);
    if (rc == HAM_OK)
        rc = ham_dataset_load_dir(&test, dir, "t10k", NULL);
    if (rc == HAM_OK) {
        d->dim = ham_dataset_dim(train);
        d->classes = ham_dataset_n_classes(train);
        d->n_train = ham_dataset_count(train) < 2000 ? (int32_t)ham_dataset_count(train) : 2000;
        d->n_test = ham_dataset_count(test) < 500 ? (int32_t)ham_dataset_count(test) : 500;
        d->x_train = malloc(sizeof(float) * (size_t)d->n_train * (size_t)d->dim);
        d->x_test = malloc(sizeof(float) * (size_t)d->n_test * (size_t)d->dim);
        d->y_train = malloc(sizeof(int32_t) * (size_t)d->n_train);
        d->y_test = malloc(sizeof(int32_t) * (size_t)d->n_test);
        rc = d->x_train && d->x_test && d->y_train && d->y_test ? HAM_OK : HAM_ERR_NOMEM;
    }
    if (rc == HAM_OK)
        rc = ham_dataset_get(d->x_train, d->y_train, train, 0, d->n_train);
    if (rc == HAM_OK)
        rc = ham_dataset_get(d->x_test, d->y_test, test, 0, d->n_test);
    if (rc == HAM_OK && ham_dataset_dim(test) != d->dim)
        rc = HAM_ERR_DIMENSION;
    ham_dataset_free(train);
    ham_dataset_free(test);
    return rc;
}

/* 8 x 8 images, class c lights rows 2c and 2c+1 (values in [0, 1]). */
static void generate(float *x, int32_t *y, int32_t n, uint32_t seed)
{
    for (int32_t k = 0; k < n; k++) {
        y[k] = k % 4;
        for (int i = 0; i < 64; i++) {
            seed = seed * 1664525u + 1013904223u;
            x[k * 64 + i] = (i / 16 == y[k] ? 0.7f : 0.0f) + (float)(seed >> 26) / 255.0f;
        }
    }
}

static int generated(data_t *d)
{
    d->dim = 64, d->classes = 4, d->n_train = 256, d->n_test = 64;
    d->x_train = malloc(sizeof(float) * 256 * 64);
    d->x_test = malloc(sizeof(float) * 64 * 64);
    d->y_train = malloc(sizeof(int32_t) * 256);
    d->y_test = malloc(sizeof(int32_t) * 64);
    if (!d->x_train || !d->x_test || !d->y_train || !d->y_test)
        return HAM_ERR_NOMEM;
    generate(d->x_train, d->y_train, 256, 1u);
    generate(d->x_test, d->y_test, 64, 2u);
    return HAM_OK;
}

/* ---- the checks ---- */

/* Solves the test inputs: even-odd + Anderson to tolerance 1e-5 (up to 500 iterations:
 * an untrained model can be slow); eo gets the states. */
static int solve(float *eo, const ham_model_t *m, const data_t *d)
{
    ham_solver_t *sv = NULL;
    int rc = ham_solver_new(&sv, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(sv, HAM_OPT_TOL, 1e-5);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 500);
    if (rc == HAM_OK)
        rc = ham_solver_solve(sv, eo, d->n_test, d->x_test);
    ham_solver_free(sv);
    return rc;
}

/* The loss gradient of weight block `block` on the first batch, written to g. Fixed
 * forward iterations: both models then do exactly the same work. */
static int gradient(float *g, size_t count, ham_model_t *m, const data_t *d, int32_t block)
{
    ham_trainer_t *tr = NULL;
    int rc = ham_trainer_new(&tr, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(ham_trainer_solver(tr), HAM_OPT_FIXED_ITERS, 1);
    if (rc == HAM_OK)
        rc = ham_trainer_gradient(tr, NULL, NULL, BATCH, d->x_train, d->y_train);
    if (rc == HAM_OK)
        rc = ham_trainer_get_weight_grad(g, tr, block, count);
    ham_trainer_free(tr);
    return rc;
}

/* ||a - b|| / ||b||. */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

/* One epoch in fixed order with the trainer's defaults (Madam, even-odd + Anderson). */
static int train_epoch(ham_model_t *m, const data_t *d, double *first_loss, double *last_loss)
{
    ham_trainer_t *tr = NULL;
    int rc = ham_trainer_new(&tr, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON);
    int32_t steps = d->n_train / BATCH;
    for (int32_t i = 0; rc == HAM_OK && i < steps; i++) {
        double l = 0;
        rc = ham_trainer_step(tr, &l, NULL, BATCH, d->x_train + (size_t)i * BATCH * d->dim,
                              d->y_train + (size_t)i * BATCH);
        if (i == 0)
            *first_loss = l;
        *last_loss = l;
    }
    ham_trainer_free(tr);
    return rc;
}

int main(int argc, char **argv)
{
    data_t d = {0};
    ham_model_t *builtin = NULL, *custom = NULL;
    float *s = NULL, *gs = NULL, *full = NULL, *g_b = NULL, *g_c = NULL;
    double *e_b = NULL, *e_c = NULL;
    int ret = 1, rc;
    if (argc > 1 && (rc = from_dir(&d, argv[1])) == HAM_OK) {
        printf("data: %d train, %d test images from %s\n", (int)d.n_train, (int)d.n_test,
               argv[1]);
    } else {
        if (argc > 1)
            printf("cannot use %s (%s): generated data instead\n", argv[1], ham_last_error());
        free(d.x_train), free(d.x_test), free(d.y_train), free(d.y_test);
        if ((rc = generated(&d)) != HAM_OK)
            goto done;
        printf("data: %d train, %d test generated 8 x 8 images\n", (int)d.n_train, (int)d.n_test);
    }

    /* Two models with the same weights: the built-in on the hidden layer, and a clone
     * whose hidden layer gets the hand-written Lagrangian. */
    const int32_t sizes[] = {d.dim, HIDDEN, d.classes};
    ham_lagrangian_def_t def = {0}; /* zeroed: later library versions may add fields */
    def.size = sizeof def;
    def.name = "my-shifted-sigmoid";
    def.value = shifted_value;
    def.activation = shifted_activation;
    def.hvp = shifted_hvp;
    if ((rc = ham_model_new(&builtin, 3, sizes, HAM_MODEL_CLAMPED_INPUT)) != HAM_OK ||
        (rc = ham_model_init_xavier(builtin, 3)) != HAM_OK ||
        (rc = ham_model_set_lagrangian(builtin, 1, HAM_LAGRANGIAN_SHIFTED_SIGMOID, 0)) != HAM_OK ||
        (rc = ham_model_clone(&custom, builtin)) != HAM_OK ||
        (rc = ham_model_set_custom_lagrangian(custom, 1, &def)) != HAM_OK)
        goto done;

    int32_t dim = 0, eo_dim = 0;
    ham_model_state_dim(&dim, builtin, HAM_OPERATOR_SYNC);
    ham_model_state_dim(&eo_dim, builtin, HAM_OPERATOR_EVEN_ODD);
    const size_t n_eo = (size_t)d.n_test * (size_t)eo_dim;
    const size_t n_w = (size_t)HIDDEN * (size_t)d.classes; /* weight block 1 */
    s = malloc(sizeof *s * n_eo);
    gs = malloc(sizeof *gs * n_eo);
    full = malloc(sizeof *full * (size_t)d.n_test * (size_t)dim);
    g_b = malloc(sizeof *g_b * n_w);
    g_c = malloc(sizeof *g_c * n_w);
    e_b = malloc(sizeof *e_b * (size_t)d.n_test);
    e_c = malloc(sizeof *e_c * (size_t)d.n_test);
    if (!s || !gs || !full || !g_b || !g_c || !e_b || !e_c) {
        rc = HAM_ERR_NOMEM;
        goto done;
    }

    /* Check 1, the activation: the custom model's fixed point is one of the built-in's
     * (its residual under the built-in operator is as small as the tolerance). */
    double resid = 0;
    if ((rc = solve(s, custom, &d)) != HAM_OK ||
        (rc = ham_model_apply(gs, builtin, HAM_OPERATOR_EVEN_ODD, d.n_test, d.x_test, s)) !=
            HAM_OK)
        goto done;
    for (int32_t k = 0; k < d.n_test; k++)
        resid = fmax(resid, rel_diff(s + (size_t)k * eo_dim, gs + (size_t)k * eo_dim,
                                     (size_t)eo_dim));
    /* Check 2, the value: both models give that state the same energy. */
    if ((rc = ham_model_eo_to_full(full, builtin, d.n_test, d.x_test, s)) != HAM_OK ||
        (rc = ham_model_energy(e_b, builtin, d.n_test, d.x_test, full)) != HAM_OK ||
        (rc = ham_model_energy(e_c, custom, d.n_test, d.x_test, full)) != HAM_OK)
        goto done;
    double de = 0;
    for (int32_t k = 0; k < d.n_test; k++)
        de = fmax(de, fabs(e_b[k] - e_c[k]) / fmax(1.0, fabs(e_b[k])));
    /* Check 3, the Hessian: the loss gradients agree (the adjoint solve runs on it). */
    if ((rc = gradient(g_b, n_w, builtin, &d, 1)) != HAM_OK ||
        (rc = gradient(g_c, n_w, custom, &d, 1)) != HAM_OK)
        goto done;
    double dg = rel_diff(g_c, g_b, n_w);
    printf("custom vs built-in: residual %.1e at the custom fixed point, energy %.1e apart, "
           "gradients %.1e apart (relative)\n",
           resid, de, dg);
    int ok = resid < 1e-4 && de < 1e-9 && dg < 1e-3;

    /* Then train the custom model for an epoch and test it. */
    double first = 0, last = 0;
    if ((rc = train_epoch(custom, &d, &first, &last)) != HAM_OK || (rc = solve(s, custom, &d)))
        goto done;
    int32_t off = 0, right = 0;
    ham_model_state_offset(&off, custom, HAM_OPERATOR_EVEN_ODD, 2); /* the output layer */
    for (int32_t k = 0; k < d.n_test; k++) {
        const float *y = s + (size_t)k * eo_dim + off;
        int32_t best = 0;
        for (int32_t j = 1; j < d.classes; j++)
            if (y[j] > y[best])
                best = j;
        right += best == d.y_test[k];
    }
    double acc = (double)right / d.n_test;
    printf("one epoch (%d steps): batch loss %.4f -> %.4f, test accuracy %.1f%%\n",
           (int)(d.n_train / BATCH), first, last, 100 * acc);
    ok &= last < first && acc > 2.0 / d.classes; /* well above chance */
    printf("%s\n", ok ? "the custom Lagrangian matches the built-in and trains" : "FAILED");
    ret = !ok;

done:
    if (rc != HAM_OK)
        fprintf(stderr, "custom_lagrangian: %s (%s)\n", ham_last_error(), ham_status_name(rc));
    ham_model_free(builtin);
    ham_model_free(custom);
    free(s), free(gs), free(full), free(g_b), free(g_c), free(e_b), free(e_c);
    free(d.x_train), free(d.x_test), free(d.y_train), free(d.y_test);
    return ret;
}
