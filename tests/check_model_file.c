/* Model files (docs/model-format.md): exact round trips, damaged files (every truncation,
 * every flipped byte, other versions, invalid fields behind a valid checksum) and atomic
 * saves (a failed save leaves the previous file and no temporary file behind). */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test_util.h"

/* A non-NULL pointer a failing load must reset to NULL. */
static char not_a_model;

/* ------------------------------------------------------------------ files */

typedef struct td_dir {
    char path[64];
} td_dir_t;

static void td_mkdir(td_dir_t *d)
{
    strcpy(d->path, "/tmp/hamdeq-model-XXXXXX");
    ck_assert_msg(mkdtemp(d->path) != NULL, "mkdtemp: %s", strerror(errno));
}

/* Names in the directory, sorted by nothing: how many, and the first into `first`. */
static int td_count(const td_dir_t *d, char *first, size_t len)
{
    DIR *dir = opendir(d->path);
    ck_assert(dir != NULL);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n++ == 0 && first)
            snprintf(first, len, "%s", e->d_name);
    }
    closedir(dir);
    return n;
}

static void td_rmdir(td_dir_t *d)
{
    DIR *dir = opendir(d->path);
    ck_assert(dir != NULL);
    struct dirent *e;
    char p[512];
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", d->path, e->d_name);
        ck_assert_msg(unlink(p) == 0, "unlink %s: %s", p, strerror(errno));
    }
    closedir(dir);
    ck_assert(rmdir(d->path) == 0);
}

static const char *td_path(char *buf, const td_dir_t *d, const char *name)
{
    snprintf(buf, 512, "%s/%s", d->path, name);
    return buf;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    ck_assert(n >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert(buf != NULL);
    ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert(len == 0 || fwrite(buf, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes the trailing CRC-32 after an edit. */
static void fix_crc(unsigned char *buf, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, buf, (uInt)(len - 4));
    put_le32(buf + len - 4, (uint32_t)c);
}

/* ------------------------------------------------------------------ models */

/* Everything a model file holds is equal, bit for bit. */
static void assert_same_model(const ham_model_t *a, const ham_model_t *b)
{
    int32_t L = ham_model_n_layers(a);
    ck_assert_int_eq(ham_model_n_layers(b), L);
    ck_assert_int_eq(ham_model_has_clamped_input(b), ham_model_has_clamped_input(a));
    for (int32_t l = 0; l < L; l++) {
        ck_assert_int_eq(ham_model_layer_size(b, l), ham_model_layer_size(a, l));
        int32_t ka, kb;
        double pa, pb;
        TU_OK(ham_model_get_lagrangian(&ka, &pa, a, l));
        TU_OK(ham_model_get_lagrangian(&kb, &pb, b, l));
        ck_assert_int_eq(kb, ka);
        ck_assert_msg(memcmp(&pa, &pb, sizeof pa) == 0, "layer %d: beta %.17g vs %.17g",
                      (int)l, pa, pb);
    }
    int32_t opa, opb, sa, sb, ia, ib;
    double ta, tb;
    TU_OK(ham_model_get_defaults(&opa, &sa, &ta, &ia, a));
    TU_OK(ham_model_get_defaults(&opb, &sb, &tb, &ib, b));
    ck_assert_int_eq(opb, opa);
    ck_assert_int_eq(sb, sa);
    ck_assert_int_eq(ib, ia);
    ck_assert(memcmp(&ta, &tb, sizeof ta) == 0);
    for (int32_t l = 0; l + 1 < L; l++) {
        size_t n = (size_t)ham_model_layer_size(a, l) * (size_t)ham_model_layer_size(a, l + 1);
        float *wa = tu_floats(n), *wb = tu_floats(n);
        TU_OK(ham_model_get_weights(wa, a, l, n));
        TU_OK(ham_model_get_weights(wb, b, l, n));
        ck_assert_msg(memcmp(wa, wb, n * sizeof *wa) == 0, "weight block %d differs", (int)l);
        free(wa);
        free(wb);
    }
    for (int32_t l = 0; l < L; l++) {
        if (l == 0 && ham_model_has_clamped_input(a))
            continue;
        size_t n = (size_t)ham_model_layer_size(a, l);
        float *ba = tu_floats(n), *bb = tu_floats(n);
        TU_OK(ham_model_get_bias(ba, a, l, n));
        TU_OK(ham_model_get_bias(bb, b, l, n));
        ck_assert_msg(memcmp(ba, bb, n * sizeof *ba) == 0, "bias %d differs", (int)l);
        free(ba);
        free(bb);
    }
}

/* Saves m under name in d, loads it back, compares, and returns the file's bytes. */
static unsigned char *round_trip(const ham_model_t *m, const td_dir_t *d, const char *name,
                                 size_t *len)
{
    char p[512];
    TU_OK(ham_model_save(m, td_path(p, d, name)));
    ham_model_t *back = (ham_model_t *)d;
    int rc = ham_model_load(&back, p);
    ck_assert_msg(rc == HAM_OK, "load: %s", ham_last_error());
    assert_same_model(m, back);
    ham_model_free(back);
    return len ? read_all(p, len) : NULL;
}

/* A clamped 3-layer model with tanh and softmax layers, odd defaults and awkward floats. */
static ham_model_t *model3(void)
{
    const int32_t sizes[3] = {6, 5, 4};
    ham_model_t *m = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 11, 1.0);
    tu_model_random_biases(m, 12, 0.5);
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_TANH, 0));
    TU_OK(ham_model_set_lagrangian(m, 2, HAM_LAGRANGIAN_SOFTMAX, 2.5000000000000004));
    TU_OK(ham_model_set_defaults(m, HAM_OPERATOR_SYNC, HAM_SOLVER_NEWTON, 3.0000000000000001e-6,
                                 77));
    float w[30];
    TU_OK(ham_model_get_weights(w, m, 0, 30));
    w[0] = -0.0f;
    w[1] = 1e-45f; /* the smallest subnormal */
    w[2] = FLT_MAX;
    w[3] = -FLT_MAX;
    w[4] = FLT_MIN;
    TU_OK(ham_model_set_weights(m, 0, w, 30));
    return m;
}

START_TEST(test_round_trip_3_layers)
{
    td_dir_t d;
    td_mkdir(&d);
    ham_model_t *m = model3();
    size_t len;
    unsigned char *buf = round_trip(m, &d, "m3.ham", &len);
    /* 48 + 3 x 16 + 4 x (30 + 20 + 5 + 4) + 4 bytes, and the documented magic */
    ck_assert_int_eq(len, 48 + 48 + 4 * (30 + 20 + 5 + 4) + 4);
    ck_assert(memcmp(buf, "\x89HAM\r\n\x1a\n", 8) == 0);
    ck_assert_int_eq(get_le32(buf + 8), 1);
    /* saving again gives the same bytes */
    size_t len2;
    unsigned char *buf2 = round_trip(m, &d, "again.ham", &len2);
    ck_assert(len2 == len && memcmp(buf, buf2, len) == 0);
    free(buf);
    free(buf2);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

START_TEST(test_round_trip_5_layers_and_free_input)
{
    td_dir_t d;
    td_mkdir(&d);
    const int32_t sizes[5] = {7, 6, 5, 4, 3};
    ham_model_t *m = tu_model_new(5, sizes, HAM_MODEL_CLAMPED_INPUT, 21, 0.7);
    tu_model_random_biases(m, 22, 1.0);
    TU_OK(ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_IDENTITY, 0));
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_SIGMOID, 0));
    TU_OK(ham_model_set_lagrangian(m, 3, HAM_LAGRANGIAN_TANH, 0));
    TU_OK(ham_model_set_lagrangian(m, 4, HAM_LAGRANGIAN_SOFTMAX, 0.37));
    TU_OK(ham_model_set_defaults(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_BROYDEN, 0.5, 1000000));
    round_trip(m, &d, "m5.ham", NULL);
    ham_model_free(m);

    /* every layer free (biases on layer 0 too), softmax on the first */
    const int32_t fs[3] = {4, 9, 2};
    m = tu_model_new(3, fs, HAM_MODEL_FREE_INPUT, 31, 1.3);
    tu_model_random_biases(m, 32, 2.0);
    TU_OK(ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_SOFTMAX, 1e-300));
    round_trip(m, &d, "free.ham", NULL);
    ham_model_free(m);

    /* a fresh model: zeros and the defaults */
    const int32_t ts[2] = {1, 1};
    TU_OK(ham_model_new(&m, 2, ts, HAM_MODEL_FREE_INPUT));
    round_trip(m, &d, "tiny.ham", NULL);
    ham_model_free(m);

    /* the paper's shape */
    const int32_t ps[3] = {784, 512, 10};
    m = tu_model_new(3, ps, HAM_MODEL_CLAMPED_INPUT, 41, 1.0);
    round_trip(m, &d, "paper.ham", NULL);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

/* Loads path and expects HAM_ERR_FORMAT, no model and a one-line message naming it. */
static void expect_format(const char *path, const char *what, const char *needle)
{
    ham_model_t *m = (ham_model_t *)&not_a_model;
    int rc = ham_model_load(&m, path);
    ck_assert_msg(rc == HAM_ERR_FORMAT, "%s: got %s (%s)", what, ham_status_name(rc), ham_last_error());
    ck_assert_msg(m == NULL, "%s: model not NULL on failure", what);
    ck_assert_msg(ham_last_error()[0] != '\0' && strchr(ham_last_error(), '\n') == NULL, "%s: message '%s'", what, ham_last_error());
    ck_assert_msg(strstr(ham_last_error(), path) != NULL, "%s: message does not name the file: %s", what,
                  ham_last_error());
    if (needle)
        ck_assert_msg(strstr(ham_last_error(), needle) != NULL, "%s: message lacks '%s': %s", what, needle,
                      ham_last_error());
}

START_TEST(test_truncated_at_every_length)
{
    td_dir_t d;
    td_mkdir(&d);
    ham_model_t *m = model3();
    size_t len;
    unsigned char *buf = round_trip(m, &d, "m.ham", &len);
    char p[512], what[64];
    td_path(p, &d, "cut.ham");
    for (size_t n = 0; n < len; n++) {
        write_all(p, buf, n);
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", n, len);
        expect_format(p, what, n >= 12 ? "truncated" : NULL);
    }
    /* one byte more */
    unsigned char *longer = malloc(len + 1);
    ck_assert(longer != NULL);
    memcpy(longer, buf, len);
    longer[len] = 0;
    write_all(p, longer, len + 1);
    expect_format(p, "one byte appended", NULL);
    free(longer);
    free(buf);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

START_TEST(test_every_flipped_byte)
{
    td_dir_t d;
    td_mkdir(&d);
    ham_model_t *m = model3();
    size_t len;
    unsigned char *buf = round_trip(m, &d, "m.ham", &len);
    char p[512], what[64];
    td_path(p, &d, "flip.ham");
    const unsigned char masks[3] = {0x01, 0x80, 0xFF};
    for (size_t i = 0; i < len; i++)
        for (int k = 0; k < 3; k++) {
            buf[i] ^= masks[k];
            write_all(p, buf, len);
            snprintf(what, sizeof what, "byte %zu ^ 0x%02x", i, masks[k]);
            expect_format(p, what, NULL);
            buf[i] ^= masks[k];
        }
    /* the weights and the trailer are covered by the checksum, and the message says so */
    buf[200] ^= 0x10;
    write_all(p, buf, len);
    expect_format(p, "weight byte", "checksum");
    buf[200] ^= 0x10;
    buf[30] ^= 0x10; /* the default operator: invalid, but reported as damage */
    write_all(p, buf, len);
    expect_format(p, "operator byte", "checksum");
    free(buf);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

/* Fields that are wrong behind a valid checksum (a file written by a broken writer), and
 * other format versions. */
START_TEST(test_invalid_fields)
{
    td_dir_t d;
    td_mkdir(&d);
    ham_model_t *m = model3();
    size_t len;
    unsigned char *buf = round_trip(m, &d, "m.ham", &len);
    unsigned char *bad = malloc(len);
    ck_assert(bad != NULL);
    char p[512];
    td_path(p, &d, "bad.ham");
    const size_t layer = 48, weights = 48 + 3 * 16;
    struct {
        const char *what, *needle;
        size_t off;
        int width; /* 4 or 8 */
        uint64_t value;
    } cases[] = {
        {"version 2", "version 2", 8, 4, 2},
        {"version 0", "version 0", 8, 4, 0},
        {"flags", "flags", 12, 4, 2},
        {"1 layer", "layers", 24, 4, 1},
        {"65 layers", "layers", 24, 4, 65},
        {"2^32-1 layers", "layers", 24, 4, 0xFFFFFFFFu},
        {"operator 7", "operator", 28, 4, 7},
        {"solver 100", "solver", 32, 4, 100},
        {"max_iter 0", "iteration", 36, 4, 0},
        {"tol 1", "tolerance", 40, 8, 0x3FF0000000000000ull},
        {"tol NaN", "tolerance", 40, 8, 0x7FF8000000000000ull},
        {"size 0", "size", layer, 4, 0},
        {"size 2^31", "size", layer, 4, 0x80000000u},
        {"size 7", "bytes", layer + 16, 4, 7},
        {"block 2^31", "2^31", layer + 16, 4, 0x7FFFFFFFu},
        {"kind 5", "Lagrangian", layer + 4, 4, 5},
        {"kind custom", "Lagrangian", layer + 4, 4, HAM_LAGRANGIAN_CUSTOM},
        {"beta 0", "parameter", layer + 32 + 8, 8, 0},
        {"beta -1", "parameter", layer + 32 + 8, 8, 0xBFF0000000000000ull},
        {"beta inf", "parameter", layer + 32 + 8, 8, 0x7FF0000000000000ull},
        {"tanh param", "parameter", layer + 16 + 8, 8, 0x3FF0000000000000ull},
        {"NaN weight", "NaN", weights + 40, 4, 0x7FC00000u},
        {"inf bias", "NaN", len - 8, 4, 0x7F800000u},
        {"file size", "declares", 16, 8, 12345},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        memcpy(bad, buf, len);
        if (cases[k].width == 4)
            put_le32(bad + cases[k].off, (uint32_t)cases[k].value);
        else
            put_le64(bad + cases[k].off, cases[k].value);
        fix_crc(bad, len);
        write_all(p, bad, len);
        expect_format(p, cases[k].what, cases[k].needle);
    }
    /* a different magic is "not a model file", whatever follows */
    memcpy(bad, buf, len);
    bad[1] = 'h';
    write_all(p, bad, len);
    expect_format(p, "magic", "not a libhamdeq model file");
    write_all(p, "HAMDEQ", 6);
    expect_format(p, "short text", "not a libhamdeq model file");
    free(bad);
    free(buf);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

START_TEST(test_load_errors)
{
    td_dir_t d;
    td_mkdir(&d);
    char p[512];
    ham_model_t *m = (ham_model_t *)&not_a_model;
    TU_RC(HAM_ERR_IO, ham_model_load(&m, td_path(p, &d, "missing.ham")));
    ck_assert(m == NULL);
    ck_assert(strstr(ham_last_error(), "missing.ham") != NULL);
    TU_RC(HAM_ERR_IO, ham_model_load(&m, d.path)); /* a directory */
    ck_assert(ham_last_error()[0] != '\0');
    TU_RC(HAM_ERR_IO, ham_model_load(&m, d.path));
    TU_RC(HAM_ERR_NULL, ham_model_load(NULL, p));
    TU_RC(HAM_ERR_NULL, ham_model_load(&m, NULL));
    ham_model_t *good = model3();
    TU_RC(HAM_ERR_NULL, ham_model_save(NULL, p));
    TU_RC(HAM_ERR_NULL, ham_model_save(good, NULL));
    TU_RC(HAM_ERR_IO, ham_model_save(good, ""));
    ck_assert_int_eq(td_count(&d, NULL, 0), 0);
    ham_model_free(good);
    td_rmdir(&d);
}
END_TEST

/* ------------------------------------------------------------------ atomic saves */

static double custom_value(const float *s, int32_t n, void *user)
{
    (void)user;
    double v = 0;
    for (int32_t i = 0; i < n; i++)
        v += 0.5 * (double)s[i] * s[i];
    return v;
}

static void custom_activation(float *g, const float *s, int32_t n, void *user)
{
    (void)user;
    memcpy(g, s, (size_t)n * sizeof *g);
}

static void custom_hvp(float *out, const float *s, const float *g, const float *v, int32_t n,
                       void *user)
{
    (void)s;
    (void)g;
    (void)user;
    memcpy(out, v, (size_t)n * sizeof *out);
}

/* The file at path loads as `want`, and it is the only file in d. */
static void assert_only(const td_dir_t *d, const char *path, const ham_model_t *want)
{
    char first[256];
    ck_assert_int_eq(td_count(d, first, sizeof first), 1);
    ck_assert_msg(strstr(path, first) != NULL, "unexpected file %s", first);
    ham_model_t *m = NULL;
    int rc = ham_model_load(&m, path);
    ck_assert_msg(rc == HAM_OK, "%s", ham_last_error());
    assert_same_model(want, m);
    ham_model_free(m);
}

START_TEST(test_atomic_save)
{
    td_dir_t d;
    td_mkdir(&d);
    char p[512];
    td_path(p, &d, "model.ham");
    ham_model_t *a = model3();
    const int32_t sizes[5] = {7, 6, 5, 4, 3};
    ham_model_t *b = tu_model_new(5, sizes, HAM_MODEL_CLAMPED_INPUT, 51, 1.0);

    umask(022);
    TU_OK(ham_model_save(a, p));
    struct stat st;
    ck_assert(stat(p, &st) == 0);
    ck_assert_msg((st.st_mode & 0777) == 0644, "new file mode %o", (unsigned)(st.st_mode & 0777));
    assert_only(&d, p, a);

    /* over an existing file: replaced, its mode kept */
    ck_assert(chmod(p, 0640) == 0);
    TU_OK(ham_model_save(b, p));
    assert_only(&d, p, b);
    ck_assert(stat(p, &st) == 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    TU_OK(ham_model_save(a, p));
    assert_only(&d, p, a);

    /* a custom Lagrangian cannot be saved: nothing is touched */
    ham_lagrangian_def_t def = {0};
    def.size = sizeof def;
    def.value = custom_value;
    def.activation = custom_activation;
    def.hvp = custom_hvp;
    ham_model_t *c = NULL;
    TU_OK(ham_model_clone(&c, b));
    TU_OK(ham_model_set_custom_lagrangian(c, 2, &def));
    TU_RC(HAM_ERR_UNSUPPORTED, ham_model_save(c, p));
    ck_assert_msg(strstr(ham_last_error(), "custom") != NULL, "message: %s", ham_last_error());
    assert_only(&d, p, a);

    /* a directory that does not exist */
    char q[600];
    snprintf(q, sizeof q, "%s/no-such-dir/model.ham", d.path);
    TU_RC(HAM_ERR_IO, ham_model_save(b, q));
    ck_assert_msg(strstr(ham_last_error(), q) != NULL, "message: %s", ham_last_error());
    assert_only(&d, p, a);

    /* a path that is a directory: the rename fails after the temporary file was written */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", d.path);
    ck_assert(mkdir(sub, 0755) == 0);
    TU_RC(HAM_ERR_IO, ham_model_save(b, sub));
    ck_assert(ham_last_error()[0] != '\0');
    ck_assert_int_eq(td_count(&d, NULL, 0), 2); /* model.ham and sub, no temporary file */
    ck_assert(rmdir(sub) == 0);
    assert_only(&d, p, a);

    ham_model_free(a);
    ham_model_free(b);
    ham_model_free(c);
    td_rmdir(&d);
}
END_TEST

/* A write that fails half-way (the file size limit, so EFBIG) leaves the previous file
 * and no temporary file. Runs in its own forked process, where the limit stays. */
START_TEST(test_failed_write_keeps_previous)
{
    const char *fork_env = getenv("CK_FORK");
    if (fork_env && strcmp(fork_env, "no") == 0)
        return;
    td_dir_t d;
    td_mkdir(&d);
    char p[512];
    td_path(p, &d, "model.ham");
    ham_model_t *a = model3();
    const int32_t sizes[3] = {300, 200, 10};
    ham_model_t *big = tu_model_new(3, sizes, HAM_MODEL_CLAMPED_INPUT, 61, 1.0);
    TU_OK(ham_model_save(a, p));
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = 100000; /* the big model needs 248 kB */
    ck_assert(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    TU_RC(HAM_ERR_IO, ham_model_save(big, p));
    ck_assert_msg(strstr(ham_last_error(), p) != NULL && strchr(ham_last_error(), '\n') == NULL, "message: %s", ham_last_error());
    assert_only(&d, p, a);
    ham_model_free(a);
    ham_model_free(big);
    td_rmdir(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_file");
    TCase *tc = tu_tcase("model_file");
    tcase_add_test(tc, test_round_trip_3_layers);
    tcase_add_test(tc, test_round_trip_5_layers_and_free_input);
    tcase_add_test(tc, test_truncated_at_every_length);
    tcase_add_test(tc, test_every_flipped_byte);
    tcase_add_test(tc, test_invalid_fields);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_atomic_save);
    tcase_add_test(tc, test_failed_write_keeps_previous);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
