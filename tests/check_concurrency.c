/* Threads sharing read-only objects (docs/reliability.md): four solver threads (every
 * solver kind, both operators, a clamped and a free-input model), each with its own
 * solver on a model nobody modifies; a trainer training its own clone of one of them; a
 * saver writing that model to a file and to buffers and loading it back; a thread taking
 * and dropping references and clones; two readers of one dataset. Every result must be
 * bit for bit what the same call gave before the threads started. Bounded to about two
 * seconds. Built with -Db_sanitize=thread (clang) it is the ThreadSanitizer test of
 * .ci/run; in the other builds it checks the same results without the race detector. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "test_util.h"

enum { N_SOLVERS = 4, N_READERS = 2, BATCH = 8 };

static atomic_int stop;

typedef struct shared {
    ham_model_t *clamped, *free_input;
    ham_dataset_t *data;
    const float *x;            /* BATCH x N_0 inputs of the clamped model */
    const int32_t *labels;     /* BATCH labels */
    const unsigned char *enc;  /* the clamped model's encoding */
    size_t enc_len;
    char path[600];
} shared_t;

typedef struct worker {
    const shared_t *sh;
    int32_t op, kind;
    const ham_model_t *model;
    const float *want; /* reference result */
    size_t want_len;
    atomic_long rounds;
    char failure[256]; /* the first failure, empty if none */
} worker_t;

static void note_failure(worker_t *w, const char *what, int rc)
{
    if (!w->failure[0])
        snprintf(w->failure, sizeof w->failure, "%s: %s (%s)", what, ham_status_name(rc),
                 rc == HAM_OK ? "wrong result" : ham_last_error());
}

/* Solves with a fresh solver: what every thread must reproduce. */
static float *solve(const ham_model_t *m, int32_t op, int32_t kind, const float *x,
                    size_t *len, int *rc)
{
    int32_t dim = 0;
    ham_model_state_dim(&dim, m, op);
    *len = (size_t)BATCH * (size_t)dim;
    float *s = calloc(*len, sizeof *s);
    ham_solver_t *sv = NULL;
    if (!s || (*rc = ham_solver_new(&sv, m, op, kind)) != HAM_OK ||
        (*rc = ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 40)) != HAM_OK ||
        (*rc = ham_solver_solve(sv, s, BATCH, ham_model_has_clamped_input(m) ? x : NULL)) !=
            HAM_OK) {
        ham_solver_free(sv);
        free(s);
        return NULL;
    }
    ham_solver_free(sv);
    return s;
}

static void *solver_thread(void *arg)
{
    worker_t *w = arg;
    ham_solver_t *sv = NULL;
    int rc = ham_solver_new(&sv, w->model, w->op, w->kind);
    if (rc != HAM_OK || (rc = ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 40)) != HAM_OK) {
        note_failure(w, "ham_solver_new", rc);
        ham_solver_free(sv);
        return NULL;
    }
    float *s = calloc(w->want_len, sizeof *s);
    const float *x = ham_model_has_clamped_input(w->model) ? w->sh->x : NULL;
    while (s && !atomic_load(&stop)) {
        memset(s, 0, w->want_len * sizeof *s);
        rc = ham_solver_solve(sv, s, BATCH, x);
        if (rc != HAM_OK || memcmp(s, w->want, w->want_len * sizeof *s) != 0)
            note_failure(w, "ham_solver_solve", rc);
        atomic_fetch_add(&w->rounds, 1);
    }
    free(s);
    ham_solver_free(sv);
    return NULL;
}

static void *trainer_thread(void *arg)
{
    worker_t *w = arg;
    ham_model_t *own = NULL;
    ham_trainer_t *t = NULL;
    int rc = ham_model_clone(&own, w->model); /* a read of the shared model */
    if (rc == HAM_OK)
        rc = ham_trainer_new(&t, own, w->op, w->kind);
    ham_model_free(own); /* the trainer holds its own reference */
    if (rc != HAM_OK) {
        note_failure(w, "ham_trainer_new", rc);
        return NULL;
    }
    ham_solver_set_option(ham_trainer_solver(t), HAM_OPT_MAX_ITER, 40);
    while (!atomic_load(&stop)) {
        double loss;
        rc = ham_trainer_step(t, &loss, NULL, BATCH, w->sh->x, w->sh->labels);
        if (rc != HAM_OK)
            note_failure(w, "ham_trainer_step", rc);
        atomic_fetch_add(&w->rounds, 1);
    }
    ham_trainer_free(t);
    return NULL;
}

static void *saver_thread(void *arg)
{
    worker_t *w = arg;
    const shared_t *sh = w->sh;
    unsigned char *buf = malloc(sh->enc_len);
    while (buf && !atomic_load(&stop)) {
        size_t n = sh->enc_len;
        int rc = ham_model_save_buffer(buf, &n, sh->clamped);
        if (rc != HAM_OK || n != sh->enc_len || memcmp(buf, sh->enc, n) != 0)
            note_failure(w, "ham_model_save_buffer", rc);
        if ((rc = ham_model_save(sh->clamped, sh->path)) != HAM_OK)
            note_failure(w, "ham_model_save", rc);
        ham_model_t *m = NULL;
        rc = ham_model_load(&m, sh->path);
        n = sh->enc_len;
        if (rc != HAM_OK || ham_model_save_buffer(buf, &n, m) != HAM_OK ||
            memcmp(buf, sh->enc, n) != 0)
            note_failure(w, "ham_model_load", rc);
        ham_model_free(m);
        atomic_fetch_add(&w->rounds, 1);
    }
    free(buf);
    return NULL;
}

static void *ref_thread(void *arg)
{
    worker_t *w = arg;
    while (!atomic_load(&stop)) {
        ham_model_t *r = ham_model_ref(w->sh->clamped), *c = NULL;
        int rc = ham_model_clone(&c, r);
        if (rc != HAM_OK)
            note_failure(w, "ham_model_clone", rc);
        ham_model_free(c);
        ham_model_free(r);
        atomic_fetch_add(&w->rounds, 1);
    }
    return NULL;
}

static void *reader_thread(void *arg)
{
    worker_t *w = arg;
    int32_t dim = ham_dataset_dim(w->sh->data);
    int64_t n = ham_dataset_count(w->sh->data);
    float *x = malloc((size_t)dim * sizeof *x);
    while (x && !atomic_load(&stop)) {
        for (int64_t i = 0; i < n; i++) {
            int32_t y;
            int rc = ham_dataset_get(x, &y, w->sh->data, i, 1);
            if (rc != HAM_OK || memcmp(x, w->want + (size_t)i * (size_t)dim,
                                       (size_t)dim * sizeof *x) != 0 || y != (int32_t)(i % 3))
                note_failure(w, "ham_dataset_get", rc);
        }
        atomic_fetch_add(&w->rounds, 1);
    }
    free(x);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A gzip IDX dataset of 20 images of 8 x 8 with labels i % 3. */
static ham_dataset_t *make_dataset(const char *dir)
{
    unsigned char img[16 + 20 * 64], lab[8 + 20];
    memcpy(img, "\0\0\x08\x03\0\0\0\x14\0\0\0\x08\0\0\0\x08", 16);
    for (int i = 0; i < 20 * 64; i++)
        img[16 + i] = (unsigned char)(i * 13);
    memcpy(lab, "\0\0\x08\x01\0\0\0\x14", 8);
    for (int i = 0; i < 20; i++)
        lab[8 + i] = (unsigned char)(i % 3);
    char pi[600], pl[600];
    snprintf(pi, sizeof pi, "%s/img.gz", dir);
    snprintf(pl, sizeof pl, "%s/lab", dir);
    gzFile g = gzopen(pi, "wb");
    ck_assert(g != NULL && gzwrite(g, img, sizeof img) == (int)sizeof img && gzclose(g) == Z_OK);
    FILE *f = fopen(pl, "wb");
    ck_assert(f != NULL && fwrite(lab, 1, sizeof lab, f) == sizeof lab && fclose(f) == 0);
    ham_dataset_t *ds = NULL;
    TU_OK(ham_dataset_load_idx(&ds, pi, pl, NULL));
    ck_assert(unlink(pi) == 0 && unlink(pl) == 0);
    return ds;
}

START_TEST(test_threads_share_read_only_objects)
{
    char dir[] = "/tmp/hamdeq-threads-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    const int32_t sc[3] = {64, 32, 10}, sf[4] = {6, 7, 5, 4};
    sh.clamped = tu_model_new(3, sc, HAM_MODEL_CLAMPED_INPUT, 91, 1.0);
    sh.free_input = tu_model_new(4, sf, HAM_MODEL_FREE_INPUT, 92, 0.7);
    tu_model_random_biases(sh.free_input, 93, 0.3);
    float *x = tu_floats(BATCH * 64);
    tu_rng_t rng;
    tu_rng_seed(&rng, 94);
    tu_fill(x, BATCH * 64, &rng, 0.0, 1.0);
    int32_t labels[BATCH];
    for (int i = 0; i < BATCH; i++)
        labels[i] = i % 10;
    sh.x = x;
    sh.labels = labels;
    TU_OK(ham_model_save_buffer(NULL, &sh.enc_len, sh.clamped));
    unsigned char *enc = malloc(sh.enc_len);
    ck_assert(enc != NULL);
    TU_OK(ham_model_save_buffer(enc, &sh.enc_len, sh.clamped));
    sh.enc = enc;
    snprintf(sh.path, sizeof sh.path, "%s/shared.ham", dir);
    sh.data = make_dataset(dir);
    float *pixels = tu_floats(20 * 64);
    TU_OK(ham_dataset_get(pixels, NULL, sh.data, 0, 20));

    static const int32_t kinds[N_SOLVERS] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON,
                                             HAM_SOLVER_BROYDEN, HAM_SOLVER_NEWTON};
    enum { N_WORKERS = N_SOLVERS + 3 + N_READERS };
    worker_t w[N_WORKERS];
    memset(w, 0, sizeof w);
    float *refs[N_SOLVERS];
    for (int i = 0; i < N_WORKERS; i++)
        w[i].sh = &sh;
    for (int i = 0; i < N_SOLVERS; i++) {
        w[i].model = i % 2 ? sh.free_input : sh.clamped;
        w[i].op = i % 2 ? HAM_OPERATOR_SYNC : HAM_OPERATOR_EVEN_ODD;
        w[i].kind = kinds[i];
        int rc = HAM_OK;
        refs[i] = solve(w[i].model, w[i].op, w[i].kind, x, &w[i].want_len, &rc);
        ck_assert_msg(refs[i] != NULL, "reference solve: %s", ham_last_error());
        w[i].want = refs[i];
    }
    w[N_SOLVERS].model = sh.clamped; /* the trainer's clone comes from it */
    w[N_SOLVERS].op = HAM_OPERATOR_EVEN_ODD;
    w[N_SOLVERS].kind = HAM_SOLVER_ANDERSON;
    for (int i = N_SOLVERS + 3; i < N_WORKERS; i++)
        w[i].want = pixels;

    atomic_store(&stop, 0);
    pthread_t th[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) {
        void *(*fn)(void *) = i < N_SOLVERS       ? solver_thread
                              : i == N_SOLVERS     ? trainer_thread
                              : i == N_SOLVERS + 1 ? saver_thread
                              : i == N_SOLVERS + 2 ? ref_thread
                                                   : reader_thread;
        ck_assert_int_eq(pthread_create(&th[i], NULL, fn, &w[i]), 0);
    }
    /* about two seconds, and until every thread has done two rounds (ThreadSanitizer
     * slows them down a lot), but never more than a minute */
    const double t0 = now();
    for (;;) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        long least = -1;
        for (int i = 0; i < N_WORKERS; i++) {
            long r = atomic_load(&w[i].rounds);
            if (least < 0 || r < least)
                least = r;
        }
        double t = now() - t0;
        if ((t > 2.0 && least >= 2) || t > 60.0)
            break;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < N_WORKERS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    static const char *names[N_WORKERS] = {"solver 0", "solver 1", "solver 2", "solver 3",
                                           "trainer",  "saver",    "refs",     "reader 0",
                                           "reader 1"};
    for (int i = 0; i < N_WORKERS; i++) {
        printf("%s: %ld rounds\n", names[i], atomic_load(&w[i].rounds));
        ck_assert_msg(w[i].failure[0] == '\0', "%s: %s", names[i], w[i].failure);
        ck_assert_msg(atomic_load(&w[i].rounds) >= 1, "%s made no round", names[i]);
    }
    /* the shared model is as it was */
    size_t n = sh.enc_len;
    unsigned char *after = malloc(n);
    ck_assert(after != NULL);
    TU_OK(ham_model_save_buffer(after, &n, sh.clamped));
    ck_assert(memcmp(after, enc, n) == 0);
    free(after);
    for (int i = 0; i < N_SOLVERS; i++)
        free(refs[i]);
    ck_assert(unlink(sh.path) == 0);
    ck_assert(rmdir(dir) == 0);
    ham_dataset_free(sh.data);
    ham_model_free(sh.clamped);
    ham_model_free(sh.free_input);
    free(enc);
    free(pixels);
    free(x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tu_tcase("concurrency");
    tcase_add_test(tc, test_threads_share_read_only_objects);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
