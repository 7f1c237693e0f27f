/* Model files and buffers (docs/model-format.md): exact round trips, damaged files and
 * buffers (every truncation, every flipped byte, other versions, invalid fields behind a
 * valid checksum), buffers that are the files' bytes, and atomic saves (a failed save
 * leaves the previous file and no temporary file behind). */
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

/* Loads a private, exactly sized copy of buf[0..len) (so that AddressSanitizer sees any
 * read past it) and expects HAM_ERR_FORMAT, no model and a fresh one-line message that
 * names the buffer. */
static void expect_format_buffer(const void *buf, size_t len, const char *what,
                                 const char *needle)
{
    unsigned char *copy = malloc(len ? len : 1);
    ck_assert(copy != NULL);
    if (len)
        memcpy(copy, buf, len);
    ham_model_t *m = (ham_model_t *)&not_a_model;
    tu_plant_stale_error();
    int rc = ham_model_load_buffer(&m, copy, len);
    ck_assert_msg(rc == HAM_ERR_FORMAT, "buffer, %s: got %s (%s)", what, ham_status_name(rc),
                  ham_last_error());
    tu_check_fresh_error(what);
    ck_assert_msg(m == NULL, "buffer, %s: model not NULL on failure", what);
    ck_assert_msg(strncmp(ham_last_error(), "model buffer: ", 14) == 0,
                  "buffer, %s: message does not name the buffer: %s", what, ham_last_error());
    if (needle)
        ck_assert_msg(strstr(ham_last_error(), needle) != NULL,
                      "buffer, %s: message lacks '%s': %s", what, needle, ham_last_error());
    free(copy);
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
        expect_format_buffer(buf, n, what, n >= 12 ? "truncated" : NULL);
    }
    /* one byte more */
    unsigned char *longer = malloc(len + 1);
    ck_assert(longer != NULL);
    memcpy(longer, buf, len);
    longer[len] = 0;
    write_all(p, longer, len + 1);
    expect_format(p, "one byte appended", NULL);
    expect_format_buffer(longer, len + 1, "one byte appended", "padded");
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
            expect_format_buffer(buf, len, what, NULL);
            buf[i] ^= masks[k];
        }
    /* the weights and the trailer are covered by the checksum, and the message says so */
    buf[200] ^= 0x10;
    write_all(p, buf, len);
    expect_format(p, "weight byte", "checksum");
    expect_format_buffer(buf, len, "weight byte", "checksum");
    buf[200] ^= 0x10;
    buf[30] ^= 0x10; /* the default operator: invalid, but reported as damage */
    write_all(p, buf, len);
    expect_format(p, "operator byte", "checksum");
    expect_format_buffer(buf, len, "operator byte", "checksum");
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
        {"tanh param -0", "parameter", layer + 16 + 8, 8, 0x8000000000000000ull},
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
        expect_format_buffer(bad, len, cases[k].what, cases[k].needle);
    }
    /* a different magic is "not a model file", whatever follows */
    memcpy(bad, buf, len);
    bad[1] = 'h';
    write_all(p, bad, len);
    expect_format(p, "magic", "not a libhamdeq model file");
    expect_format_buffer(bad, len, "magic", "not a libhamdeq model file");
    write_all(p, "HAMDEQ", 6);
    expect_format(p, "short text", "not a libhamdeq model file");
    expect_format_buffer("HAMDEQ", 6, "short text", "not a libhamdeq model file");
    free(bad);
    free(buf);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

/* A huge file whose first bytes already disqualify it is refused from them, before the
 * rest is read or memory allocated for it (a sparse file of 64 GiB: reading it whole
 * would fail with HAM_ERR_NOMEM or take minutes). */
START_TEST(test_huge_file_refused_early)
{
    td_dir_t d;
    td_mkdir(&d);
    ham_model_t *m = model3();
    size_t len;
    unsigned char *buf = round_trip(m, &d, "m.ham", &len);
    char p[512];
    td_path(p, &d, "huge.ham");
    const off_t huge = (off_t)1 << 36;
    for (int bad_magic = 0; bad_magic < 2; bad_magic++) {
        buf[0] ^= (unsigned char)bad_magic;
        write_all(p, buf, 24);
        buf[0] ^= (unsigned char)bad_magic;
        if (truncate(p, huge) != 0) {
            fprintf(stderr, "skipped: no sparse file of 64 GiB here: %s\n", strerror(errno));
            break;
        }
        expect_format(p, bad_magic ? "huge, bad magic" : "huge, declares less",
                      bad_magic ? "bad magic" : "corrupted or padded");
    }
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
    /* a FIFO without a writer: opening it must not block, and it is refused */
    char fifo[512];
    ck_assert(mkfifo(td_path(fifo, &d, "fifo"), 0600) == 0);
    m = (ham_model_t *)&not_a_model;
    TU_RC(HAM_ERR_IO, ham_model_load(&m, fifo));
    ck_assert(m == NULL);
    ck_assert_msg(strstr(ham_last_error(), "not a regular file") != NULL, "message: %s",
                  ham_last_error());
    ck_assert(unlink(fifo) == 0);
    TU_RC(HAM_ERR_IO, ham_model_load(&m, "/dev/zero"));
    ck_assert(strstr(ham_last_error(), "not a regular file") != NULL);
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

/* ------------------------------------------------------------------ buffers */

/* The documented length: 48 + 16 L + 4 (weights + free biases) + 4. */
static size_t format_len(const ham_model_t *m)
{
    int32_t L = ham_model_n_layers(m);
    size_t floats = 0;
    for (int32_t l = 0; l < L; l++) {
        if (l + 1 < L)
            floats += (size_t)ham_model_layer_size(m, l) * (size_t)ham_model_layer_size(m, l + 1);
        if (l > 0 || !ham_model_has_clamped_input(m))
            floats += (size_t)ham_model_layer_size(m, l);
    }
    return 48 + 16 * (size_t)L + 4 * floats + 4;
}

/* Encodes m with the size query and a buffer with guard bytes after it; returns the
 * malloc'd encoding (exactly *len bytes). */
static unsigned char *encode(const ham_model_t *m, size_t *len)
{
    size_t n = 12345; /* ignored by the query */
    TU_OK(ham_model_save_buffer(NULL, &n, m));
    ck_assert_uint_eq(n, format_len(m));
    const size_t guard = 64;
    unsigned char *buf = malloc(n + guard);
    ck_assert(buf != NULL);
    memset(buf, 0xA5, n + guard);
    size_t cap = n + guard;
    TU_OK(ham_model_save_buffer(buf, &cap, m));
    ck_assert_uint_eq(cap, n); /* the bytes written */
    for (size_t i = n; i < n + guard; i++)
        ck_assert_msg(buf[i] == 0xA5, "byte %zu past the encoding was written", i);
    *len = n;
    return buf;
}

/* Buffer and file agree: the same bytes, and the same model loaded from either. */
static void check_buffer_round_trip(const ham_model_t *m, const td_dir_t *d, const char *name)
{
    size_t len, flen;
    unsigned char *buf = encode(m, &len);
    unsigned char *file = round_trip(m, d, name, &flen);
    ck_assert_uint_eq(flen, len);
    ck_assert_msg(memcmp(file, buf, len) == 0, "%s: buffer and file bytes differ", name);

    ham_model_t *from_buf = (ham_model_t *)&not_a_model, *from_file = NULL;
    int rc = ham_model_load_buffer(&from_buf, buf, len);
    ck_assert_msg(rc == HAM_OK, "%s: load_buffer: %s", name, ham_last_error());
    assert_same_model(m, from_buf);
    char p[512];
    TU_OK(ham_model_load(&from_file, td_path(p, d, name)));
    assert_same_model(from_file, from_buf);

    /* no alignment needed: the same bytes one past an aligned address */
    unsigned char *odd = malloc(len + 1);
    ck_assert(odd != NULL);
    memcpy(odd + 1, buf, len);
    ham_model_t *from_odd = NULL;
    TU_OK(ham_model_load_buffer(&from_odd, odd + 1, len));
    assert_same_model(m, from_odd);

    /* and a loaded model encodes to the same bytes again */
    size_t len2;
    unsigned char *again = encode(from_buf, &len2);
    ck_assert(len2 == len && memcmp(again, buf, len) == 0);

    free(again);
    free(odd);
    ham_model_free(from_odd);
    ham_model_free(from_file);
    ham_model_free(from_buf);
    free(file);
    free(buf);
}

START_TEST(test_buffer_round_trips)
{
    td_dir_t d;
    td_mkdir(&d);
    /* clamped, tanh and softmax, awkward floats, odd defaults */
    ham_model_t *m = model3();
    check_buffer_round_trip(m, &d, "m3.ham");
    ham_model_free(m);

    /* clamped, 5 layers, every kind */
    const int32_t s5[5] = {7, 6, 5, 4, 3};
    m = tu_model_new(5, s5, HAM_MODEL_CLAMPED_INPUT, 21, 0.7);
    tu_model_random_biases(m, 22, 1.0);
    TU_OK(ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_IDENTITY, 0));
    TU_OK(ham_model_set_lagrangian(m, 1, HAM_LAGRANGIAN_SIGMOID, 0));
    TU_OK(ham_model_set_lagrangian(m, 3, HAM_LAGRANGIAN_TANH, 0));
    TU_OK(ham_model_set_lagrangian(m, 4, HAM_LAGRANGIAN_SOFTMAX, 0.37));
    TU_OK(ham_model_set_defaults(m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_BROYDEN, 0.5, 1000000));
    check_buffer_round_trip(m, &d, "m5.ham");
    ham_model_free(m);

    /* free input, 4 layers, softmax with a tiny and a large beta */
    const int32_t s4[4] = {5, 8, 3, 2};
    m = tu_model_new(4, s4, HAM_MODEL_FREE_INPUT, 31, 1.3);
    tu_model_random_biases(m, 32, 2.0);
    TU_OK(ham_model_set_lagrangian(m, 0, HAM_LAGRANGIAN_SOFTMAX, 1e-300));
    TU_OK(ham_model_set_lagrangian(m, 2, HAM_LAGRANGIAN_SOFTMAX, 1e300));
    TU_OK(ham_model_set_defaults(m, HAM_OPERATOR_SYNC, HAM_SOLVER_PICARD, 1e-12, 1));
    check_buffer_round_trip(m, &d, "free4.ham");
    ham_model_free(m);

    /* a Modern Hopfield network (free input, softmax hidden layer) */
    const float patterns[6] = {1, -1, 0.5f, -0.25f, 2, 0};
    TU_OK(ham_mhn_new(&m, patterns, 2, 3, 4.0));
    check_buffer_round_trip(m, &d, "mhn.ham");
    ham_model_free(m);

    /* the smallest model */
    const int32_t s2[2] = {1, 1};
    TU_OK(ham_model_new(&m, 2, s2, HAM_MODEL_CLAMPED_INPUT));
    check_buffer_round_trip(m, &d, "tiny.ham");
    size_t n = 0;
    TU_OK(ham_model_save_buffer(NULL, &n, m));
    ck_assert_uint_eq(n, 48 + 32 + 4 * 2 + 4);
    ham_model_free(m);
    td_rmdir(&d);
}
END_TEST

START_TEST(test_buffer_too_small)
{
    ham_model_t *m = model3();
    size_t need = 0;
    TU_OK(ham_model_save_buffer(NULL, &need, m));
    unsigned char *buf = malloc(need);
    ck_assert(buf != NULL);
    const size_t caps[4] = {0, 1, 48, need - 1};
    for (int k = 0; k < 4; k++) {
        memset(buf, 0x5A, need);
        size_t cap = caps[k];
        TU_RC(HAM_ERR_DIMENSION, ham_model_save_buffer(buf, &cap, m));
        ck_assert_uint_eq(cap, need);
        ck_assert_msg(strncmp(ham_last_error(), "model buffer: ", 14) == 0, "message: %s",
                      ham_last_error());
        for (size_t i = 0; i < need; i++)
            ck_assert_msg(buf[i] == 0x5A, "capacity %zu: byte %zu written", caps[k], i);
    }
    /* exactly the size needed is enough */
    size_t cap = need;
    TU_OK(ham_model_save_buffer(buf, &cap, m));
    ck_assert_uint_eq(cap, need);
    ham_model_t *back = NULL;
    TU_OK(ham_model_load_buffer(&back, buf, cap));
    assert_same_model(m, back);
    ham_model_free(back);
    free(buf);
    ham_model_free(m);
}
END_TEST

START_TEST(test_buffer_arguments)
{
    ham_model_t *m = model3();
    size_t n = 0;
    TU_OK(ham_model_save_buffer(NULL, &n, m));
    unsigned char *buf = malloc(n);
    ck_assert(buf != NULL);
    size_t cap = n;
    TU_OK(ham_model_save_buffer(buf, &cap, m));

    TU_RC(HAM_ERR_NULL, ham_model_save_buffer(NULL, NULL, m));
    TU_RC(HAM_ERR_NULL, ham_model_save_buffer(buf, NULL, m));
    cap = n;
    TU_RC(HAM_ERR_NULL, ham_model_save_buffer(buf, &cap, NULL));
    ck_assert_uint_eq(cap, n);
    TU_RC(HAM_ERR_NULL, ham_model_save_buffer(NULL, &cap, NULL));

    TU_RC(HAM_ERR_NULL, ham_model_load_buffer(NULL, buf, n));
    ham_model_t *out = (ham_model_t *)&not_a_model;
    TU_RC(HAM_ERR_NULL, ham_model_load_buffer(&out, NULL, n));
    ck_assert(out == NULL);
    out = (ham_model_t *)&not_a_model;
    TU_RC(HAM_ERR_NULL, ham_model_load_buffer(&out, NULL, 1));
    ck_assert(out == NULL);
    /* nothing at all is an empty, hence truncated, model */
    out = (ham_model_t *)&not_a_model;
    TU_RC(HAM_ERR_FORMAT, ham_model_load_buffer(&out, NULL, 0));
    ck_assert(out == NULL);
    ck_assert_msg(strstr(ham_last_error(), "truncated") != NULL, "message: %s", ham_last_error());
    TU_RC(HAM_ERR_FORMAT, ham_model_load_buffer(&out, buf, 0));

    /* a custom Lagrangian cannot be encoded: not even sized, and nothing is written */
    ham_lagrangian_def_t def = {0};
    def.size = sizeof def;
    def.value = custom_value;
    def.activation = custom_activation;
    def.hvp = custom_hvp;
    TU_OK(ham_model_set_custom_lagrangian(m, 1, &def));
    size_t q = 7;
    TU_RC(HAM_ERR_UNSUPPORTED, ham_model_save_buffer(NULL, &q, m));
    ck_assert_uint_eq(q, 7);
    ck_assert_msg(strstr(ham_last_error(), "custom") != NULL, "message: %s", ham_last_error());
    unsigned char *copy = malloc(n);
    ck_assert(copy != NULL);
    memcpy(copy, buf, n);
    cap = n;
    TU_RC(HAM_ERR_UNSUPPORTED, ham_model_save_buffer(buf, &cap, m));
    ck_assert_uint_eq(cap, n);
    ck_assert(memcmp(copy, buf, n) == 0);
    free(copy);
    free(buf);
    ham_model_free(m);
}
END_TEST

/* A forged header that claims huge layers, with a valid length field and checksum, is
 * refused by the size check, before anything is allocated: the layer sizes, not the
 * allocator, produce the message. */
START_TEST(test_buffer_forged_sizes)
{
    ham_model_t *m = model3();
    size_t len;
    unsigned char *buf = encode(m, &len);
    /* 46340^2 < 2^31: a legal block of 8.6 GB that these len bytes cannot hold */
    put_le32(buf + 48, 46340);
    put_le32(buf + 64, 46340);
    fix_crc(buf, len);
    expect_format_buffer(buf, len, "forged layer sizes", "the layer sizes make");
    /* a declared length far beyond the buffer is truncation, whatever the sizes say */
    put_le64(buf + 16, (uint64_t)1 << 40);
    fix_crc(buf, len);
    expect_format_buffer(buf, len, "forged length", "truncated");
    /* the same 64 layers of 2^31 - 1 units each, too few bytes */
    unsigned char big[48 + 16 * 64 + 4];
    memset(big, 0, sizeof big);
    memcpy(big, buf, 48);
    put_le64(big + 16, sizeof big);
    put_le32(big + 24, 64);
    for (int l = 0; l < 64; l++)
        put_le32(big + 48 + 16 * l, 0x7FFFFFFF);
    fix_crc(big, sizeof big);
    expect_format_buffer(big, sizeof big, "64 huge layers", "2^31");
    /* two free layers {2^31 - 1, 1}: a legal weight block, but a state of 2^31 values
     * (the sum overflowed an int32_t once): refused from the table, whatever the length */
    unsigned char two[128]; /* at least the smallest model */
    memset(two, 0, sizeof two);
    memcpy(two, buf, 48);
    put_le32(two + 12, 0); /* free input */
    put_le64(two + 16, sizeof two);
    put_le32(two + 24, 2);
    put_le32(two + 48, 0x7FFFFFFF);
    put_le32(two + 64, 1);
    fix_crc(two, sizeof two);
    expect_format_buffer(two, sizeof two, "state of 2^31", "state length");
    free(buf);
    ham_model_free(m);
}
END_TEST

/* Random damage behind a valid checksum (what a fuzzer tries first): every load either
 * fails with HAM_ERR_FORMAT and a message, or succeeds with a model that encodes to
 * exactly the bytes it came from (the encoding is canonical). */
START_TEST(test_buffer_random_damage)
{
    ham_model_t *m = model3();
    size_t len;
    unsigned char *good = encode(m, &len);
    tu_rng_t rng;
    tu_rng_seed(&rng, 2024);
    int loaded = 0;
    for (int it = 0; it < 3000; it++) {
        unsigned char *buf = malloc(len);
        ck_assert(buf != NULL);
        memcpy(buf, good, len);
        /* mostly the header and layer table, where the fields are */
        int edits = 1 + (int)(tu_uniform(&rng) * 3);
        for (int k = 0; k < edits; k++) {
            size_t span = tu_uniform(&rng) < 0.8 ? 48 + 3 * 16 : len - 4;
            size_t at = (size_t)(tu_uniform(&rng) * (double)span);
            buf[at] = (unsigned char)(tu_uniform(&rng) * 256);
        }
        size_t n = len;
        if (tu_uniform(&rng) < 0.2) { /* cut or keep, with the length field to match */
            n = 52 + (size_t)(tu_uniform(&rng) * (double)(len - 52));
            put_le64(buf + 16, n);
        }
        fix_crc(buf, n);
        unsigned char *exact = malloc(n);
        ck_assert(exact != NULL);
        memcpy(exact, buf, n);
        ham_model_t *back = (ham_model_t *)&not_a_model;
        tu_plant_stale_error();
        int rc = ham_model_load_buffer(&back, exact, n);
        if (rc == HAM_OK) {
            loaded++;
            size_t n2;
            unsigned char *again = encode(back, &n2);
            ck_assert_msg(n2 == n && memcmp(again, exact, n) == 0,
                          "iteration %d: a loaded model encodes differently", it);
            free(again);
            ham_model_free(back);
        } else {
            ck_assert_msg(rc == HAM_ERR_FORMAT, "iteration %d: %s (%s)", it,
                          ham_status_name(rc), ham_last_error());
            ck_assert(back == NULL);
            tu_check_fresh_error("ham_model_load_buffer");
        }
        free(exact);
        free(buf);
    }
    /* edits that leave a valid model (a weight, a beta) were among them */
    ck_assert_msg(loaded > 0 && loaded < 3000, "%d of 3000 loaded", loaded);
    free(good);
    ham_model_free(m);
}
END_TEST

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

    /* a path that is a directory: refused before a temporary file is made */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", d.path);
    ck_assert(mkdir(sub, 0755) == 0);
    TU_RC(HAM_ERR_IO, ham_model_save(b, sub));
    ck_assert_msg(strstr(ham_last_error(), "is a directory"), "message: %s", ham_last_error());
    ck_assert_int_eq(td_count(&d, NULL, 0), 2); /* model.ham and sub, no temporary file */
    ck_assert(rmdir(sub) == 0);
    assert_only(&d, p, a);

    ham_model_free(a);
    ham_model_free(b);
    ham_model_free(c);
    td_rmdir(&d);
}
END_TEST

/* Saving over a FIFO (or a device: the same check, not tried here on a real one) is
 * refused before anything is written: rename() would replace the node with a regular
 * file, and as root `--save /dev/null` would replace the system's /dev/null. A symbolic
 * link is replaced by the file, its target left as it was. */
START_TEST(test_save_refuses_special_files)
{
    td_dir_t d;
    td_mkdir(&d);
    alarm(60); /* nothing may open the FIFO and wait */
    char fifo[512], target[512], link[512], flink[512];
    ck_assert(mkfifo(td_path(fifo, &d, "fifo"), 0600) == 0);
    ham_model_t *a = model3();
    const int32_t sizes[4] = {6, 5, 4, 3};
    ham_model_t *b = tu_model_new(4, sizes, HAM_MODEL_CLAMPED_INPUT, 71, 1.0);
    TU_RC(HAM_ERR_IO, ham_model_save(a, fifo));
    ck_assert_msg(strstr(ham_last_error(), fifo) && strstr(ham_last_error(), "is a FIFO"),
                  "message: %s", ham_last_error());
    struct stat st;
    ck_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    ck_assert_int_eq(td_count(&d, NULL, 0), 1); /* no temporary file either */

    TU_OK(ham_model_save(a, td_path(target, &d, "target.ham")));
    ck_assert(symlink(target, td_path(link, &d, "link.ham")) == 0);
    TU_OK(ham_model_save(b, link));
    ck_assert(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
    ham_model_t *m = NULL;
    TU_OK(ham_model_load(&m, link));
    assert_same_model(b, m);
    ham_model_free(m);
    TU_OK(ham_model_load(&m, target));
    assert_same_model(a, m);
    ham_model_free(m);
    ck_assert(symlink(fifo, td_path(flink, &d, "fifo-link.ham")) == 0);
    TU_OK(ham_model_save(b, flink));
    ck_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    ck_assert(lstat(flink, &st) == 0 && S_ISREG(st.st_mode));
    ck_assert_int_eq(td_count(&d, NULL, 0), 4);
    alarm(0);
    ham_model_free(a);
    ham_model_free(b);
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
    tcase_add_test(tc, test_huge_file_refused_early);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_buffer_round_trips);
    tcase_add_test(tc, test_buffer_too_small);
    tcase_add_test(tc, test_buffer_arguments);
    tcase_add_test(tc, test_buffer_forged_sizes);
    tcase_add_test(tc, test_buffer_random_damage);
    tcase_add_test(tc, test_atomic_save);
    tcase_add_test(tc, test_failed_write_keeps_previous);
    tcase_add_test(tc, test_save_refuses_special_files);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
