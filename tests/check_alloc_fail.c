/* Out of memory at every allocation: for each operation below, the Nth allocation the
 * library makes is failed, for N = 1, 2, ... until the operation makes fewer than N.
 * Each failure must return HAM_ERR_NOMEM with a fresh one-line message, a failed
 * constructor or load must leave its output NULL and hold no allocation afterwards, and
 * the same call must succeed when retried with memory available. Under ASan, LSan then
 * checks that nothing leaked (each Check test runs in its own process).
 *
 * The library's objects are linked statically with --wrap=malloc/calloc/realloc/free,
 * so every allocation the library makes passes through the wrappers below (zlib's and
 * OpenBLAS's own, inside their shared libraries, do not). Also here: a load under a
 * limit (ham_load_options_t.max_bytes) never asks for a block larger than the limit. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "test_util.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t k);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/* While armed: count allocations, fail the fail_at-th, track blocks held and the largest
 * request. Nothing else (no ck_assert: Check allocates too) runs while armed. */
static int armed;
static long fail_at, count, live;
static int injected;
static size_t largest;

static int take(size_t n)
{
    if (!armed)
        return 1;
    count++;
    if (n > largest)
        largest = n;
    if (count == fail_at) {
        injected = 1;
        return 0;
    }
    return 1;
}

void *__wrap_malloc(size_t n)
{
    if (!take(n))
        return NULL;
    void *p = __real_malloc(n);
    if (p && armed)
        live++;
    return p;
}

void *__wrap_calloc(size_t n, size_t k)
{
    if (!take(n * k))
        return NULL;
    void *p = __real_calloc(n, k);
    if (p && armed)
        live++;
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (!take(n))
        return NULL;
    void *q = __real_realloc(p, n);
    if (q && !p && armed)
        live++;
    return q;
}

void __wrap_free(void *p)
{
    if (p && armed)
        live--;
    __real_free(p);
}

static void arm(long n)
{
    count = 0;
    injected = 0;
    largest = 0;
    fail_at = n;
    armed = 1;
}

static void disarm(void)
{
    armed = 0;
}

/* ------------------------------------------------------------------ scenarios */

typedef struct ctx {
    int32_t op, kind, variant;
    int32_t dim; /* the model's state length for op */
    ham_model_t *model, *out;
    ham_solver_t *solver;
    ham_trainer_t *trainer;
    ham_dataset_t *ds;
    const tu_problem_t *problem;
    float *x, *state;
    int32_t labels[8];
    unsigned char *buf;
    size_t len;
    char dir[64];
} ctx_t;

typedef struct scenario {
    const char *name;
    void (*setup)(ctx_t *c);
    int (*run)(ctx_t *c);
    /* 1: a constructor or load: on failure *out is NULL and nothing is held */
    int constructor;
    void **(*output)(ctx_t *c);
} scenario_t;

static void write_file(const ctx_t *c, const char *name, const void *p, size_t n, int gzip)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    if (gzip) {
        gzFile g = gzopen(path, "wb");
        ck_assert(g != NULL);
        ck_assert(gzwrite(g, p, (unsigned)n) == (int)n);
        ck_assert(gzclose(g) == Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert(f != NULL);
        ck_assert(fwrite(p, 1, n, f) == n);
        ck_assert(fclose(f) == 0);
    }
}

static const char *in_dir(char *buf, const ctx_t *c, const char *name)
{
    snprintf(buf, 600, "%s/%s", c->dir, name);
    return buf;
}

/* IDX: 5 images of 3 x 4, 5 labels; .npy: the same as float32 and int64 */
static void write_datasets(ctx_t *c)
{
    unsigned char img[16 + 60], lab[8 + 5];
    memcpy(img, "\0\0\x08\x03\0\0\0\x05\0\0\0\x03\0\0\0\x04", 16);
    for (int i = 0; i < 60; i++)
        img[16 + i] = (unsigned char)(i * 7);
    memcpy(lab, "\0\0\x08\x01\0\0\0\x05", 8);
    for (int i = 0; i < 5; i++)
        lab[8 + i] = (unsigned char)(i % 3);
    write_file(c, "img", img, sizeof img, 0);
    write_file(c, "lab", lab, sizeof lab, 0);
    write_file(c, "img.gz", img, sizeof img, 1);
    write_file(c, "lab.gz", lab, sizeof lab, 1);
    write_file(c, "s-images-idx3-ubyte.gz", img, sizeof img, 1);
    write_file(c, "s-labels-idx1-ubyte", lab, sizeof lab, 0);
    static const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 12), }";
    static const char ldict[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }";
    unsigned char npy[128 + 240], nl[128 + 40];
    const char *d[2] = {dict, ldict};
    unsigned char *bufs[2] = {npy, nl};
    for (int k = 0; k < 2; k++) {
        unsigned char *b = bufs[k];
        memcpy(b, "\x93NUMPY\x01\x00\x76\x00", 10); /* header of 118 bytes: 128 in all */
        memset(b + 10, ' ', 118);
        memcpy(b + 10, d[k], strlen(d[k]));
        b[127] = '\n';
    }
    memset(npy + 128, 0, 240); /* zeros are finite floats */
    memset(nl + 128, 0, 40);
    for (int i = 0; i < 5; i++)
        nl[128 + 8 * i] = (unsigned char)(i % 2);
    write_file(c, "x.npy", npy, sizeof npy, 0);
    write_file(c, "y.npy.gz", nl, sizeof nl, 1);
}

static void base_setup(ctx_t *c)
{
    strcpy(c->dir, "/tmp/hamdeq-allocfail-XXXXXX");
    ck_assert(mkdtemp(c->dir) != NULL);
    c->problem = &tu_problems[c->variant];
    c->model = tu_problem_model(c->problem);
    c->x = tu_problem_inputs(c->problem, c->model);
    c->dim = tu_dim(c->model, c->op);
    int32_t n_out = ham_model_layer_size(c->model, ham_model_n_layers(c->model) - 1);
    for (int i = 0; i < 8; i++)
        c->labels[i] = i % n_out;
    c->state = tu_floats((size_t)c->problem->batch * 64);
}

static void teardown(ctx_t *c)
{
    ham_trainer_free(c->trainer);
    ham_solver_free(c->solver);
    ham_model_free(c->out);
    ham_model_free(c->model);
    ham_dataset_free(c->ds);
    free(c->x);
    free(c->state);
    free(c->buf);
    DIR *dir = opendir(c->dir);
    ck_assert(dir != NULL);
    struct dirent *e;
    char p[600];
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            ck_assert(unlink(in_dir(p, c, e->d_name)) == 0);
    closedir(dir);
    ck_assert(rmdir(c->dir) == 0);
    memset(c, 0, sizeof *c);
}

static void **out_model(ctx_t *c)
{
    return (void **)&c->out;
}
static void **out_solver(ctx_t *c)
{
    return (void **)&c->solver;
}
static void **out_trainer(ctx_t *c)
{
    return (void **)&c->trainer;
}
static void **out_dataset(ctx_t *c)
{
    return (void **)&c->ds;
}

/* Each run frees what a previous successful run made, so that a retry starts clean. */
static int run_model_new(ctx_t *c)
{
    ham_model_free(c->out);
    return ham_model_new(&c->out, c->problem->n_layers, c->problem->sizes, c->problem->flags);
}

static int run_model_clone(ctx_t *c)
{
    ham_model_free(c->out);
    return ham_model_clone(&c->out, c->model);
}

static void setup_saved(ctx_t *c)
{
    base_setup(c);
    char p[600];
    TU_OK(ham_model_save(c->model, in_dir(p, c, "m.ham")));
    TU_OK(ham_model_save_buffer(NULL, &c->len, c->model));
    c->buf = malloc(c->len);
    ck_assert(c->buf != NULL);
    TU_OK(ham_model_save_buffer(c->buf, &c->len, c->model));
}

static int run_model_load(ctx_t *c)
{
    char p[600];
    ham_model_free(c->out);
    return ham_model_load(&c->out, in_dir(p, c, "m.ham"));
}

static int run_model_load_buffer(ctx_t *c)
{
    ham_model_free(c->out);
    return ham_model_load_buffer(&c->out, c->buf, c->len);
}

static int run_model_save(ctx_t *c)
{
    char p[600];
    return ham_model_save(c->model, in_dir(p, c, "saved.ham"));
}

static int run_model_save_buffer(ctx_t *c)
{
    size_t n = c->len;
    return ham_model_save_buffer(c->buf, &n, c->model);
}

static int run_model_apply(ctx_t *c)
{
    /* no ck_assert here or in any run_*: Check allocates, and runs while armed */
    float *s = c->state, *out = c->state + (size_t)c->problem->batch * (size_t)c->dim;
    return ham_model_apply(out, c->model, c->op, c->problem->batch, c->x, s);
}

static int run_solver_new(ctx_t *c)
{
    ham_solver_free(c->solver);
    return ham_solver_new(&c->solver, c->model, c->op, c->kind);
}

static void setup_solver(ctx_t *c)
{
    base_setup(c);
    TU_OK(ham_solver_new(&c->solver, c->model, c->op, c->kind));
    TU_OK(ham_solver_set_option(c->solver, HAM_OPT_MAX_ITER, 30));
    if (c->problem->n_layers > 3)
        TU_OK(ham_solver_set_option(c->solver, HAM_OPT_NEWTON_MAX_DIM, 4)); /* GMRES */
}

static int run_solve(ctx_t *c)
{
    return ham_solver_solve(c->solver, c->state, c->problem->batch, c->x);
}

static int run_trainer_new(ctx_t *c)
{
    ham_trainer_free(c->trainer);
    return ham_trainer_new(&c->trainer, c->model, c->op, c->kind);
}

static void setup_trainer(ctx_t *c)
{
    base_setup(c);
    TU_OK(ham_trainer_new(&c->trainer, c->model, c->op, c->kind));
    TU_OK(ham_solver_set_option(ham_trainer_solver(c->trainer), HAM_OPT_MAX_ITER, 30));
}

static int run_trainer_step(ctx_t *c)
{
    double loss;
    return ham_trainer_step(c->trainer, &loss, NULL, c->problem->batch, c->x, c->labels);
}

static void setup_data(ctx_t *c)
{
    base_setup(c);
    write_datasets(c);
}

static int run_load_idx(ctx_t *c)
{
    char pi[600], pl[600];
    ham_dataset_free(c->ds);
    const char *names[3][2] = {{"img", "lab"}, {"img.gz", "lab.gz"}, {"img.gz", NULL}};
    const char *li = names[c->variant % 3][1];
    return ham_dataset_load_idx(&c->ds, in_dir(pi, c, names[c->variant % 3][0]),
                                li ? in_dir(pl, c, li) : NULL, NULL);
}

static int run_load_npy(ctx_t *c)
{
    char ps[600], pl[600];
    ham_dataset_free(c->ds);
    return ham_dataset_load_npy(&c->ds, in_dir(ps, c, "x.npy"), in_dir(pl, c, "y.npy.gz"),
                                NULL);
}

static int run_load_dir(ctx_t *c)
{
    ham_dataset_free(c->ds);
    return ham_dataset_load_dir(&c->ds, c->dir, "s", NULL);
}

static int run_mhn_new(ctx_t *c)
{
    float patterns[4 * 6];
    for (int i = 0; i < 24; i++)
        patterns[i] = (float)((i * 5) % 7) / 7.0f - 0.5f;
    ham_model_free(c->out);
    return ham_mhn_new(&c->out, patterns, 4, 6, 4.0);
}

/* Fails each allocation of sc->run in turn; returns how many the run makes. */
static long every_failure(const scenario_t *sc, void (*setup)(ctx_t *), int32_t variant,
                          int32_t op, int32_t kind)
{
    for (long n = 1;; n++) {
        ctx_t c;
        memset(&c, 0, sizeof c);
        c.variant = variant;
        c.op = op;
        c.kind = kind;
        setup(&c);
        tu_plant_stale_error();
        long live_before = live;
        arm(n);
        int rc = sc->run(&c);
        disarm();
        long held = live - live_before, made = count;
        if (!injected) {
            ck_assert_msg(rc == HAM_OK, "%s: %s (%s) with memory available", sc->name,
                          ham_status_name(rc), ham_last_error());
            teardown(&c);
            return made;
        }
        ck_assert_msg(rc == HAM_ERR_NOMEM,
                      "%s (variant %d, op %d, kind %d): allocation %ld failed, status %s (%s)",
                      sc->name, (int)variant, (int)op, (int)kind, n, ham_status_name(rc),
                      ham_last_error());
        tu_check_fresh_error(sc->name);
        if (sc->constructor) {
            ck_assert_msg(*sc->output(&c) == NULL, "%s: output set after failing at %ld",
                          sc->name, n);
            ck_assert_msg(held == 0, "%s: %ld blocks held after failing at allocation %ld",
                          sc->name, held, n);
        }
        rc = sc->run(&c);
        ck_assert_msg(rc == HAM_OK, "%s: the retry after allocation %ld failed: %s (%s)",
                      sc->name, n, ham_status_name(rc), ham_last_error());
        teardown(&c);
    }
}

static const int32_t kinds[4] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN,
                                  HAM_SOLVER_NEWTON};

START_TEST(test_model_calls)
{
    const scenario_t sc[] = {
        {"ham_model_new", base_setup, run_model_new, 1, out_model},
        {"ham_model_clone", base_setup, run_model_clone, 1, out_model},
        {"ham_model_load", setup_saved, run_model_load, 1, out_model},
        {"ham_model_load_buffer", setup_saved, run_model_load_buffer, 1, out_model},
        {"ham_model_save", setup_saved, run_model_save, 0, NULL},
        {"ham_model_save_buffer", setup_saved, run_model_save_buffer, 0, NULL},
        {"ham_mhn_new", base_setup, run_mhn_new, 1, out_model},
        {"ham_model_apply", base_setup, run_model_apply, 0, NULL},
    };
    for (size_t k = 0; k < sizeof sc / sizeof *sc; k++)
        for (int32_t v = 0; v < 2; v++) { /* a 3-layer and a 5-layer model */
            long made = every_failure(&sc[k], sc[k].setup, v, HAM_OPERATOR_EVEN_ODD, 0);
            printf("%s (%s): %ld allocations, each failed in turn\n", sc[k].name,
                   tu_problems[v].name, made);
            if (strcmp(sc[k].name, "ham_model_save_buffer") != 0) /* it allocates nothing */
                ck_assert_msg(made > 0, "%s made no allocation", sc[k].name);
        }
}
END_TEST

/* _i: operator x solver kind x problem (3-layer: dense Newton; 5-layer: GMRES) */
START_TEST(test_solver_calls)
{
    int32_t op = _i % 2, kind = kinds[(_i / 2) % 4], v = _i / 8;
    const scenario_t sc[] = {
        {"ham_solver_new", base_setup, run_solver_new, 1, out_solver},
        {"ham_solver_solve", setup_solver, run_solve, 0, NULL},
    };
    for (size_t k = 0; k < 2; k++) {
        long made = every_failure(&sc[k], sc[k].setup, v, op, kind);
        ck_assert(made > 0);
        printf("%s (%s, %s/%s): %ld allocations, each failed in turn\n", sc[k].name,
               tu_problems[v].name, ham_operator_name(op), ham_solver_kind_name(kind), made);
    }
}
END_TEST

START_TEST(test_trainer_calls)
{
    int32_t op = _i % 2, kind = kinds[(_i / 2) % 4];
    const scenario_t sc[] = {
        {"ham_trainer_new", base_setup, run_trainer_new, 1, out_trainer},
        {"ham_trainer_step", setup_trainer, run_trainer_step, 0, NULL},
    };
    for (size_t k = 0; k < 2; k++) {
        long made = every_failure(&sc[k], sc[k].setup, 0, op, kind);
        ck_assert(made > 0);
        printf("%s (%s/%s): %ld allocations, each failed in turn\n", sc[k].name,
               ham_operator_name(op), ham_solver_kind_name(kind), made);
    }
}
END_TEST

START_TEST(test_dataset_loads)
{
    const scenario_t sc[] = {
        {"ham_dataset_load_idx", setup_data, run_load_idx, 1, out_dataset},
        {"ham_dataset_load_npy", setup_data, run_load_npy, 1, out_dataset},
        {"ham_dataset_load_dir", setup_data, run_load_dir, 1, out_dataset},
    };
    for (size_t k = 0; k < 3; k++)
        for (int32_t v = 0; v < (k == 0 ? 3 : 1); v++) { /* IDX: raw, gzip, images only */
            long made = every_failure(&sc[k], sc[k].setup, v, 0, 0);
            ck_assert(made > 0);
            printf("%s (variant %d): %ld allocations, each failed in turn\n", sc[k].name,
                   (int)v, made);
        }
}
END_TEST

/* An IDX header of unsigned bytes, n x rows x cols. */
static void idx_header(unsigned char *p, uint32_t n, uint32_t rows, uint32_t cols)
{
    const uint32_t v[4] = {0x00000803u, n, rows, cols};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            p[4 * i + j] = (unsigned char)(v[i] >> (24 - 8 * j));
}

/* ham_load_options_t.max_bytes bounds every block a load asks for: a gzip file of a few
 * KB that declares 1 GB asks for none beyond the header under a 1 MiB cap, and a real
 * 4 MiB body loads under a 4 MiB + labels cap without any request above it. */
START_TEST(test_load_limit_bounds_requests)
{
    ctx_t c;
    memset(&c, 0, sizeof c);
    base_setup(&c);
    const size_t body = (size_t)4 << 20;
    unsigned char *img = calloc(1, 16 + body);
    ck_assert(img != NULL);
    idx_header(img, 1024, 1024, 4);
    write_file(&c, "four-mib.gz", img, 16 + body, 1);
    idx_header(img, 1000, 1000, 1000);
    write_file(&c, "declares-1gb.gz", img, 16 + 4096, 1);
    free(img);
    char p[600];
    ham_load_options_t o = {sizeof o, 0, 1 << 20};
    ham_dataset_t *ds = NULL;
    arm(0);
    int rc = ham_dataset_load_idx(&ds, in_dir(p, &c, "declares-1gb.gz"), NULL, &o);
    disarm();
    ck_assert_int_eq(rc, HAM_ERR_NOMEM);
    ck_assert_msg(strstr(ham_last_error(), "load limit of 1048576"), "%s", ham_last_error());
    ck_assert_msg(largest < o.max_bytes, "a refused load asked for %zu bytes", largest);
    o.max_bytes = body;
    arm(0);
    rc = ham_dataset_load_idx(&ds, in_dir(p, &c, "four-mib.gz"), NULL, &o);
    disarm();
    ck_assert_msg(rc == HAM_OK, "%s", ham_last_error());
    ck_assert_msg(largest <= o.max_bytes, "asked for %zu bytes under a limit of %zu", largest,
                  (size_t)o.max_bytes);
    ck_assert_int_eq(ham_dataset_count(ds), 1024);
    ham_dataset_free(ds);
    o.max_bytes = body - 1;
    arm(0);
    rc = ham_dataset_load_idx(&ds, p, NULL, &o);
    disarm();
    ck_assert_int_eq(rc, HAM_ERR_NOMEM);
    ck_assert_msg(largest < (size_t)1 << 20, "a refused load asked for %zu bytes", largest);
    teardown(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc_fail");
    TCase *tc = tu_tcase("alloc_fail");
    tcase_add_test(tc, test_model_calls);
    tcase_add_loop_test(tc, test_solver_calls, 0, 16);
    tcase_add_loop_test(tc, test_trainer_calls, 0, 8);
    tcase_add_test(tc, test_dataset_loads);
    tcase_add_test(tc, test_load_limit_bounds_requests);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
