/* train_npy: train a HAM on your own data in NumPy .npy files, evaluate it, predict,
 * save it, load it back, and check the loaded model predicts exactly the same.
 *
 *     train_npy TRAIN_X.npy TRAIN_Y.npy TEST_X.npy TEST_Y.npy
 *
 * Samples: float32 (taken as they are) or uint8 (divided by 255), N x D or N x H x W...;
 * labels: 1-D int64, int32 or uint8 class indices. In NumPy:
 *     np.save("train_x.npy", x.astype(np.float32)); np.save("train_y.npy", y.astype(np.int64))
 * The model is saved to train_npy.model. Without arguments it writes a small synthetic
 * data set (8 x 8 "images" of 4 classes) to a temporary directory first, so that it runs
 * anywhere, and removes it afterwards.
 *
 *     cc train_npy.c $(pkg-config --cflags --libs hamdeq) -o train_npy
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hamdeq/hamdeq.h>

#define HIDDEN 32
#define EPOCHS 3
#define BATCH 16

/* Reports a failed call with the library's message; returns non-zero on failure. */
static int failed(int status, const char *what)
{
    if (status != HAM_OK)
        fprintf(stderr, "train_npy: %s: %s (%s)\n", what, ham_last_error(),
                ham_status_name(status));
    return status != HAM_OK;
}

/* ---- demo data: a minimal .npy writer (format 1.0: magic, header dict, raw data) ---- */

static int write_npy(const char *path, const char *descr, int ndim, const int *shape,
                     const void *data, size_t bytes)
{
    char dict[128], dims[64] = "";
    for (int i = 0; i < ndim; i++)
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%d,%s", shape[i],
                 i + 1 < ndim ? " " : "");
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    int pad = 63 - (10 + len) % 64; /* the header ends with '\n' on a 64-byte boundary */
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned short hlen = (unsigned short)(len + pad + 1); /* little-endian below */
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre &&
             fprintf(f, "%s%*s\n", dict, pad, "") == len + pad + 1 &&
             fwrite(data, 1, bytes, f) == bytes;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* n samples of 8 x 8 uint8 pixels in 4 classes: class c lights rows 2c and 2c+1, plus
 * noise; labels as int64 (NumPy's default integer), written in this machine's byte
 * order, which '<i8' assumes is little-endian (x86, ARM). */
static int write_split(const char *dir, const char *split, int n, uint32_t seed)
{
    unsigned char *px = malloc((size_t)n * 64);
    int64_t *lab = malloc((size_t)n * sizeof *lab);
    int rc = -1;
    if (px && lab) {
        for (int k = 0; k < n; k++) {
            lab[k] = k % 4;
            for (int i = 0; i < 64; i++) {
                seed = seed * 1664525u + 1013904223u;
                int lit = i / 16 == lab[k];
                px[k * 64 + i] = (unsigned char)((lit ? 170 : 0) + (seed >> 26));
            }
        }
        char path[512];
        const int xs[] = {n, 8, 8}, ys[] = {n};
        snprintf(path, sizeof path, "%s/%s_x.npy", dir, split);
        rc = write_npy(path, "|u1", 3, xs, px, (size_t)n * 64);
        snprintf(path, sizeof path, "%s/%s_y.npy", dir, split);
        rc |= write_npy(path, "<i8", 1, ys, lab, (size_t)n * sizeof *lab);
    }
    free(px);
    free(lab);
    return rc;
}

/* ---- the API ---- */

/* Predicts the class of every sample of ds (and copies its label out): solve the fixed
 * point, argmax of the output layer. The state's layout depends on the operator:
 * ham_model_state_offset() finds the output layer in it. */
static int predict(int32_t *pred, int32_t *labels, const ham_model_t *model,
                   const ham_dataset_t *ds)
{
    int32_t op, kind, max_iter, dim = 0, off = 0;
    double tol;
    const int32_t out_layer = ham_model_n_layers(model) - 1;
    const int32_t n_out = ham_model_layer_size(model, out_layer);
    const int64_t n = ham_dataset_count(ds);
    /* Run the model the way it was saved to be run (ham_model_set_defaults()). */
    ham_model_get_defaults(&op, &kind, &tol, &max_iter, model);
    ham_solver_t *solver = NULL;
    int rc = ham_solver_new(&solver, model, op, kind);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(solver, HAM_OPT_TOL, tol);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(solver, HAM_OPT_MAX_ITER, max_iter);
    if (rc == HAM_OK)
        rc = ham_model_state_dim(&dim, model, op);
    if (rc == HAM_OK)
        rc = ham_model_state_offset(&off, model, op, out_layer);
    float *x = malloc(sizeof *x * BATCH * (size_t)ham_dataset_dim(ds));
    float *state = malloc(sizeof *state * BATCH * (size_t)(dim > 0 ? dim : 1));
    if (rc == HAM_OK && (!x || !state))
        rc = HAM_ERR_NOMEM;
    for (int64_t first = 0; rc == HAM_OK && first < n; first += BATCH) {
        int32_t b = (int32_t)(n - first < BATCH ? n - first : BATCH);
        if ((rc = ham_dataset_get(x, labels + first, ds, first, b)) != HAM_OK ||
            (rc = ham_solver_solve(solver, state, b, x)) != HAM_OK)
            break;
        for (int32_t k = 0; k < b; k++) {
            const float *y = state + (size_t)k * dim + off;
            int32_t best = 0;
            for (int32_t j = 1; j < n_out; j++)
                if (y[j] > y[best])
                    best = j;
            pred[first + k] = best;
        }
    }
    free(x);
    free(state);
    ham_solver_free(solver);
    return rc;
}

/* One pass over the training set in fixed order (the last partial batch is dropped). */
static int train_epoch(ham_trainer_t *trainer, const ham_dataset_t *train, double *loss,
                       double *acc)
{
    const int64_t steps = ham_dataset_count(train) / BATCH;
    float *x = malloc(sizeof *x * BATCH * (size_t)ham_dataset_dim(train));
    int32_t labels[BATCH];
    int rc = x ? HAM_OK : HAM_ERR_NOMEM;
    double sum = 0;
    int64_t right = 0;
    for (int64_t i = 0; rc == HAM_OK && i < steps; i++) {
        double l = 0;
        int32_t correct = 0;
        rc = ham_dataset_get(x, labels, train, i * BATCH, BATCH);
        if (rc == HAM_OK)
            rc = ham_trainer_step(trainer, &l, &correct, BATCH, x, labels);
        sum += l;
        right += correct;
    }
    free(x);
    *loss = steps ? sum / (double)steps : 0;
    *acc = steps ? (double)right / (double)(steps * BATCH) : 0;
    return rc;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/train_npy-XXXXXX", files[4][600];
    int made_data = 0;
    if (argc == 5) {
        for (int i = 0; i < 4; i++)
            snprintf(files[i], sizeof files[i], "%s", argv[i + 1]);
    } else if (argc == 1) {
        if (!mkdtemp(dir) || write_split(dir, "train", 256, 1u) ||
            write_split(dir, "test", 64, 2u)) {
            fprintf(stderr, "train_npy: cannot write the demo data in %s\n", dir);
            return 1;
        }
        made_data = 1;
        const char *names[] = {"train_x", "train_y", "test_x", "test_y"};
        for (int i = 0; i < 4; i++)
            snprintf(files[i], sizeof files[i], "%s/%s.npy", dir, names[i]);
    } else {
        fprintf(stderr, "usage: %s [TRAIN_X.npy TRAIN_Y.npy TEST_X.npy TEST_Y.npy]\n", argv[0]);
        return 2;
    }
    char saved[640];
    snprintf(saved, sizeof saved, "%s.model", made_data ? dir : "train_npy");

    ham_dataset_t *train = NULL, *test = NULL;
    ham_model_t *model = NULL, *loaded = NULL;
    ham_trainer_t *trainer = NULL;
    int32_t *pred = NULL, *pred2 = NULL, *labels = NULL;
    int ret = 1;

    /* 1. Load: NULL options are the defaults (at most 2 GiB per load). */
    if (failed(ham_dataset_load_npy(&train, files[0], files[1], NULL), "load train") ||
        failed(ham_dataset_load_npy(&test, files[2], files[3], NULL), "load test"))
        goto done;
    const int32_t dim = ham_dataset_dim(train), classes = ham_dataset_n_classes(train);
    const int64_t n_test = ham_dataset_count(test);
    if (ham_dataset_dim(test) != dim || ham_dataset_n_classes(test) > classes) {
        fprintf(stderr, "train_npy: the test samples do not match the training samples\n");
        goto done;
    }
    printf("data: %lld train, %lld test samples of %d values, %d classes\n",
           (long long)ham_dataset_count(train), (long long)n_test, (int)dim, (int)classes);

    /* 2. A model sized by the data: input layer = sample length, one output per class. */
    const int32_t sizes[] = {dim, HIDDEN, classes};
    if (failed(ham_model_new(&model, 3, sizes, HAM_MODEL_CLAMPED_INPUT), "ham_model_new") ||
        failed(ham_model_init_xavier(model, 1), "ham_model_init_xavier"))
        goto done;

    /* 3. Train: even-odd + Anderson forward solves, implicit gradients, Madam (the
     * trainer's defaults, as the paper). The trainer updates `model` in place. */
    if (failed(ham_trainer_new(&trainer, model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON),
               "ham_trainer_new") ||
        failed(ham_solver_set_option(ham_trainer_solver(trainer), HAM_OPT_MAX_ITER, 40),
               "max_iter"))
        goto done;
    for (int e = 1; e <= EPOCHS; e++) {
        double loss, acc;
        if (failed(train_epoch(trainer, train, &loss, &acc), "training"))
            goto done;
        printf("epoch %d: loss %.4f, train accuracy %.1f%%\n", e, loss, 100 * acc);
    }

    /* 4. Evaluate on the test set; record how the model is to be run, then save it. */
    pred = malloc(sizeof *pred * (size_t)n_test);
    pred2 = malloc(sizeof *pred2 * (size_t)n_test);
    labels = malloc(sizeof *labels * (size_t)n_test);
    if (!pred || !pred2 || !labels) {
        fprintf(stderr, "train_npy: out of memory\n");
        goto done;
    }
    if (failed(ham_model_set_defaults(model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON, 1e-4,
                                      100),
               "ham_model_set_defaults") ||
        failed(predict(pred, labels, model, test), "predict"))
        goto done;
    int64_t right = 0;
    for (int64_t k = 0; k < n_test; k++)
        right += pred[k] == labels[k];
    const double acc = (double)right / (double)n_test;
    printf("test accuracy %.1f%% (%lld of %lld); first predictions:", 100 * acc,
           (long long)right, (long long)n_test);
    for (int64_t k = 0; k < n_test && k < 8; k++)
        printf(" %d", (int)pred[k]);
    printf("\n");

    /* 5. Save (written atomically: a crash leaves the old file or the new one), reload,
     * and predict again: a model file holds everything, so the predictions are equal. */
    if (failed(ham_model_save(model, saved), "ham_model_save") ||
        failed(ham_model_load(&loaded, saved), "ham_model_load") ||
        failed(predict(pred2, labels, loaded, test), "predict (reloaded)"))
        goto done;
    int same = memcmp(pred, pred2, sizeof *pred * (size_t)n_test) == 0;
    printf("saved to %s and reloaded: %s predictions\n", saved, same ? "the same" : "DIFFERENT");

    /* The checks that make this a test: the reloaded model agrees, and the model learnt
     * (on the demo data, which is easy, well above chance). */
    ret = !same || (made_data && acc < 0.9);
    if (made_data && acc < 0.9)
        fprintf(stderr, "train_npy: test accuracy %.3f is below 0.9 on the demo data\n", acc);

done:
    ham_trainer_free(trainer);
    ham_model_free(model);
    ham_model_free(loaded);
    ham_dataset_free(train);
    ham_dataset_free(test);
    free(pred);
    free(pred2);
    free(labels);
    if (made_data) { /* leave nothing behind in /tmp */
        for (int i = 0; i < 4; i++)
            remove(files[i]);
        remove(saved);
        rmdir(dir);
    }
    return ret;
}
