/* The host's BLAS settings are the host's (docs/api.md, "Threads"): while other threads
 * solve and train, through every product path of lib/common/linalg.c (solves of batch 1,
 * 2, 4, 8 and 64; training steps of batch 1 and 8 with their gradients; the shapes of
 * 784-512-10 and of a small model), a host thread that set OpenBLAS to 3 threads once must read 3
 * from openblas_get_num_threads() in every poll, during and after. The former library
 * lowered the count to 1 around small products and failed this (in 9% to 13% of polls).
 * Links the shared library, as a host program does. */
#include <cblas.h>
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

enum { HOST_THREADS = 3, MAX_BATCH = 64 };

static atomic_int stop;

typedef struct worker {
    const ham_model_t *model;
    const float *x;           /* MAX_BATCH x N_0 inputs */
    const int32_t *labels;    /* MAX_BATCH labels */
    int train;                /* 0: solves of every batch size, 1: training steps */
    atomic_long rounds;
    int rc;                   /* the first failing status, HAM_OK if none */
} worker_t;

static void *solve_thread(void *arg)
{
    worker_t *w = arg;
    static const int32_t batches[] = {1, 2, 4, 8, MAX_BATCH};
    ham_solver_t *sv = NULL;
    float *s = NULL;
    int rc = ham_solver_new(&sv, w->model, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_ANDERSON);
    if (rc == HAM_OK) {
        rc = ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 12);
        s = calloc((size_t)MAX_BATCH * (size_t)tu_dim(w->model, HAM_OPERATOR_EVEN_ODD),
                   sizeof *s);
        if (!s)
            rc = HAM_ERR_NOMEM;
    }
    for (size_t i = 0; rc == HAM_OK && !atomic_load(&stop); i++) {
        rc = ham_solver_solve(sv, s, batches[i % 5], w->x);
        atomic_fetch_add(&w->rounds, 1);
    }
    w->rc = rc;
    free(s);
    ham_solver_free(sv);
    return NULL;
}

static void *train_thread(void *arg)
{
    worker_t *w = arg;
    ham_model_t *own = NULL;
    ham_trainer_t *t = NULL;
    int rc = ham_model_clone(&own, w->model);
    if (rc == HAM_OK)
        rc = ham_trainer_new(&t, own, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD);
    ham_model_free(own);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(ham_trainer_solver(t), HAM_OPT_MAX_ITER, 8);
    for (int32_t b = 1; rc == HAM_OK && !atomic_load(&stop); b = b == 8 ? 1 : 8) {
        double loss;
        rc = ham_trainer_step(t, &loss, NULL, b, w->x, w->labels);
        atomic_fetch_add(&w->rounds, 1);
    }
    w->rc = rc;
    ham_trainer_free(t);
    return NULL;
}

START_TEST(test_host_thread_count_untouched)
{
    openblas_set_num_threads(HOST_THREADS); /* the host's choice, made once */
    ck_assert_int_eq(openblas_get_num_threads(), HOST_THREADS);

    static const int32_t big[] = {784, 512, 10}, small[] = {20, 12, 5};
    ham_model_t *models[2] = {tu_model_new(3, big, HAM_MODEL_CLAMPED_INPUT, 11, 1.0),
                              tu_model_new(3, small, HAM_MODEL_CLAMPED_INPUT, 12, 1.0)};
    tu_rng_t r;
    tu_rng_seed(&r, 13);
    float *x = tu_floats((size_t)MAX_BATCH * 784);
    tu_fill(x, (size_t)MAX_BATCH * 784, &r, 0, 1);
    int32_t labels[MAX_BATCH];
    for (int i = 0; i < MAX_BATCH; i++)
        labels[i] = i % 5;

    enum { N_WORKERS = 4 };
    worker_t w[N_WORKERS];
    pthread_t th[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) {
        w[i] = (worker_t){.model = models[i % 2], .x = x, .labels = labels, .train = i >= 2};
        atomic_init(&w[i].rounds, 0);
        ck_assert_int_eq(pthread_create(&th[i], NULL, w[i].train ? train_thread : solve_thread,
                                        &w[i]),
                         0);
    }
    /* poll until every worker did a few rounds (every batch size at least once) */
    long polls = 0, wrong = 0;
    int last_wrong = HOST_THREADS;
    for (;;) {
        int n = openblas_get_num_threads();
        polls++;
        if (n != HOST_THREADS) {
            wrong++;
            last_wrong = n;
        }
        int done = 1;
        for (int i = 0; i < N_WORKERS; i++)
            if (atomic_load(&w[i].rounds) < 5 && w[i].rc == HAM_OK)
                done = 0;
        if (done)
            break;
        sched_yield(); /* a poller, not a spinner: the workers need the cores */
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < N_WORKERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_WORKERS; i++)
        ck_assert_msg(w[i].rc == HAM_OK, "worker %d: %s", i, ham_status_name(w[i].rc));
    ck_assert_msg(wrong == 0, "the host's OpenBLAS thread count read %d in %ld of %ld polls",
                  last_wrong, wrong, polls);
    ck_assert_int_eq(openblas_get_num_threads(), HOST_THREADS); /* and after */
    free(x);
    ham_model_free(models[0]);
    ham_model_free(models[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blas_threads");
    TCase *tc = tu_tcase("blas_threads");
    tcase_add_test(tc, test_host_thread_count_untouched);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
