/* ham_dataset_t: IDX (raw and gzip) and .npy files written by the test into a temporary
 * directory, batches copied out, the MNIST-style directory loader, and bad files: each
 * must give HAM_ERR_FORMAT (or HAM_ERR_IO) with a one-line message naming the file, and a
 * forged header must never cause a large allocation. Also the real MNIST-10k conversion
 * in ../shared/data/mnist10k when it exists. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define TD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TD_ASAN 1
#endif
#endif
#ifndef TD_ASAN
#define TD_ASAN 0
#endif

/* ------------------------------------------------------------------ files */

typedef struct td_dir {
    char path[64];
} td_dir_t;

static void td_mkdir(td_dir_t *d)
{
    strcpy(d->path, "/tmp/hamdeq-data-XXXXXX");
    ck_assert_msg(mkdtemp(d->path) != NULL, "mkdtemp: %s", strerror(errno));
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

/* dir/name into a static-per-call buffer owned by the caller. */
static const char *td_path(char *buf, const td_dir_t *d, const char *name)
{
    snprintf(buf, 512, "%s/%s", d->path, name);
    return buf;
}

static void td_write(const td_dir_t *d, const char *name, const void *data, size_t len)
{
    char p[512];
    FILE *f = fopen(td_path(p, d, name), "wb");
    ck_assert_msg(f != NULL, "%s: %s", p, strerror(errno));
    ck_assert(len == 0 || fwrite(data, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
}

static void td_write_gz(const td_dir_t *d, const char *name, const void *data, size_t len)
{
    char p[512];
    gzFile f = gzopen(td_path(p, d, name), "wb9");
    ck_assert(f != NULL);
    ck_assert(len == 0 || gzwrite(f, data, (unsigned)len) == (int)len);
    ck_assert(gzclose(f) == Z_OK);
}

static unsigned char *td_read(const td_dir_t *d, const char *name, size_t *len)
{
    char p[512];
    FILE *f = fopen(td_path(p, d, name), "rb");
    ck_assert(f != NULL);
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

/* ------------------------------------------------------------------ IDX builders */

typedef struct td_buf {
    unsigned char *p;
    size_t n;
} td_buf_t;

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX file: type, dims, then `body` bytes of elements (pattern-filled). */
static td_buf_t idx_file(unsigned type, int ndims, const uint32_t *dims, size_t body)
{
    td_buf_t b;
    b.n = 4 + 4 * (size_t)ndims + body;
    b.p = malloc(b.n);
    ck_assert(b.p != NULL);
    b.p[0] = 0;
    b.p[1] = 0;
    b.p[2] = (unsigned char)type;
    b.p[3] = (unsigned char)ndims;
    for (int i = 0; i < ndims; i++)
        be32(b.p + 4 + 4 * i, dims[i]);
    for (size_t i = 0; i < body; i++)
        b.p[4 + 4 * (size_t)ndims + i] = (unsigned char)((i * 37 + i / 7) & 0xFF);
    return b;
}

#define N_IMG 5
#define ROWS 3
#define COLS 4
#define N_CLASSES 3

static td_buf_t test_images(void)
{
    const uint32_t dims[3] = {N_IMG, ROWS, COLS};
    td_buf_t b = idx_file(0x08, 3, dims, N_IMG * ROWS * COLS);
    b.p[16] = 255; /* the first pixel: 255 must give exactly 1 */
    b.p[17] = 0;
    return b;
}

static td_buf_t test_labels(void)
{
    const uint32_t dims[1] = {N_IMG};
    td_buf_t b = idx_file(0x08, 1, dims, N_IMG);
    for (int i = 0; i < N_IMG; i++)
        b.p[8 + i] = (unsigned char)((i * 2) % N_CLASSES);
    return b;
}

/* Checks a dataset against the test images and labels. */
static void check_test_dataset(const ham_dataset_t *d, const td_buf_t *img, const td_buf_t *lab)
{
    const int dim = ROWS * COLS;
    ck_assert_int_eq(ham_dataset_count(d), N_IMG);
    ck_assert_int_eq(ham_dataset_dim(d), dim);
    ck_assert_int_eq(ham_dataset_has_labels(d), lab != NULL);
    ck_assert_int_eq(ham_dataset_n_classes(d), lab ? N_CLASSES : 0);
    float x[N_IMG * ROWS * COLS];
    int32_t y[N_IMG];
    TU_OK(ham_dataset_get(x, lab ? y : NULL, d, 0, N_IMG));
    for (int i = 0; i < N_IMG * dim; i++)
        ck_assert_msg(x[i] == (float)img->p[16 + i] / 255.0f, "value %d: %g", i, x[i]);
    ck_assert(x[0] == 1.0f && x[1] == 0.0f);
    if (lab)
        for (int i = 0; i < N_IMG; i++)
            ck_assert_int_eq(y[i], lab->p[8 + i]);

    /* a range in the middle, and a gather in any order with repeats */
    float x2[2 * ROWS * COLS];
    int32_t y2[3];
    TU_OK(ham_dataset_get(x2, lab ? y2 : NULL, d, 3, 2));
    ck_assert(memcmp(x2, x + 3 * dim, sizeof x2) == 0);
    const int64_t idx[3] = {4, 0, 4};
    float x3[3 * ROWS * COLS];
    TU_OK(ham_dataset_gather(x3, lab ? y2 : NULL, d, idx, 3));
    for (int k = 0; k < 3; k++) {
        ck_assert(memcmp(x3 + k * dim, x + idx[k] * dim, (size_t)dim * sizeof(float)) == 0);
        if (lab)
            ck_assert_int_eq(y2[k], y[idx[k]]);
    }
}

START_TEST(test_idx_raw_and_gzip)
{
    td_dir_t d;
    td_mkdir(&d);
    td_buf_t img = test_images(), lab = test_labels();
    td_write(&d, "img", img.p, img.n);
    td_write(&d, "lab", lab.p, lab.n);
    td_write_gz(&d, "img.gz", img.p, img.n);
    td_write_gz(&d, "lab.gz", lab.p, lab.n);
    char pi[512], pl[512];
    const char *names[4][2] = {{"img", "lab"}, {"img.gz", "lab.gz"}, {"img", "lab.gz"},
                               {"img.gz", "lab"}};
    for (int k = 0; k < 4; k++) {
        ham_dataset_t *ds = NULL;
        TU_OK(ham_dataset_load_idx(&ds, td_path(pi, &d, names[k][0]),
                                   td_path(pl, &d, names[k][1]), NULL));
        check_test_dataset(ds, &img, &lab);
        ham_dataset_free(ds);
    }
    /* images only */
    ham_dataset_t *ds = NULL;
    TU_OK(ham_dataset_load_idx(&ds, td_path(pi, &d, "img.gz"), NULL, NULL));
    check_test_dataset(ds, &img, NULL);
    float x[ROWS * COLS];
    int32_t y;
    TU_RC(HAM_ERR_INVALID, ham_dataset_get(x, &y, ds, 0, 1));
    const int64_t one = 0;
    TU_RC(HAM_ERR_INVALID, ham_dataset_gather(x, &y, ds, &one, 1));
    ham_dataset_free(ds);
    ham_dataset_free(NULL);
    free(img.p);
    free(lab.p);
    td_rmdir(&d);
}
END_TEST

/* DIR/{split}-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz]. */
START_TEST(test_load_dir)
{
    td_dir_t d;
    td_mkdir(&d);
    td_buf_t img = test_images(), lab = test_labels();
    td_write_gz(&d, "train-images-idx3-ubyte.gz", img.p, img.n);
    td_write(&d, "train-labels-idx1-ubyte", lab.p, lab.n);
    td_write(&d, "t10k-images-idx3-ubyte", img.p, img.n);
    td_write_gz(&d, "t10k-labels-idx1-ubyte.gz", lab.p, lab.n);
    ham_dataset_t *ds = NULL;
    TU_OK(ham_dataset_load_dir(&ds, d.path, "train", NULL));
    check_test_dataset(ds, &img, &lab);
    ham_dataset_free(ds);
    TU_OK(ham_dataset_load_dir(&ds, d.path, "t10k", NULL));
    check_test_dataset(ds, &img, &lab);
    ham_dataset_free(ds);
    /* a missing split names what it looked for */
    ds = (ham_dataset_t *)&d;
    TU_RC(HAM_ERR_IO, ham_dataset_load_dir(&ds, d.path, "valid", NULL));
    ck_assert(ds == NULL);
    ck_assert_msg(strstr(ham_last_error(), "valid-images-idx3-ubyte") != NULL, "message: %s", ham_last_error());
    /* images present, labels missing */
    td_write(&d, "lonely-images-idx3-ubyte", img.p, img.n);
    TU_RC(HAM_ERR_IO, ham_dataset_load_dir(&ds, d.path, "lonely", NULL));
    ck_assert_msg(strstr(ham_last_error(), "lonely-labels-idx1-ubyte") != NULL, "message: %s", ham_last_error());
    TU_RC(HAM_ERR_NULL, ham_dataset_load_dir(NULL, d.path, "train", NULL));
    TU_RC(HAM_ERR_NULL, ham_dataset_load_dir(&ds, NULL, "train", NULL));
    TU_RC(HAM_ERR_NULL, ham_dataset_load_dir(&ds, d.path, NULL, NULL));
    free(img.p);
    free(lab.p);
    td_rmdir(&d);
}
END_TEST

START_TEST(test_get_errors)
{
    td_dir_t d;
    td_mkdir(&d);
    td_buf_t img = test_images(), lab = test_labels();
    td_write(&d, "img", img.p, img.n);
    td_write(&d, "lab", lab.p, lab.n);
    char pi[512], pl[512];
    ham_dataset_t *ds = NULL;
    TU_OK(ham_dataset_load_idx(&ds, td_path(pi, &d, "img"), td_path(pl, &d, "lab"), NULL));
    float x[N_IMG * ROWS * COLS];
    int32_t y[N_IMG];
    TU_RC(HAM_ERR_NULL, ham_dataset_get(NULL, y, ds, 0, 1));
    TU_RC(HAM_ERR_NULL, ham_dataset_get(x, y, NULL, 0, 1));
    TU_RC(HAM_ERR_INVALID, ham_dataset_get(x, y, ds, 0, 0));
    TU_RC(HAM_ERR_INVALID, ham_dataset_get(x, y, ds, -1, 1));
    TU_RC(HAM_ERR_INVALID, ham_dataset_get(x, y, ds, 4, 2));
    TU_RC(HAM_ERR_INVALID, ham_dataset_get(x, y, ds, INT64_MAX, 1));
    TU_OK(ham_dataset_get(x, NULL, ds, 4, 1));
    const int64_t bad[3] = {0, 5, 1}, neg[1] = {-1};
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = -7.0f;
    TU_RC(HAM_ERR_INVALID, ham_dataset_gather(x, y, ds, bad, 3));
    ck_assert_msg(x[0] == -7.0f, "a failed gather wrote into x");
    TU_RC(HAM_ERR_INVALID, ham_dataset_gather(x, y, ds, neg, 1));
    TU_RC(HAM_ERR_INVALID, ham_dataset_gather(x, y, ds, bad, 0));
    TU_RC(HAM_ERR_NULL, ham_dataset_gather(x, y, ds, NULL, 1));
    TU_RC(HAM_ERR_NULL, ham_dataset_gather(NULL, y, ds, bad, 1));
    TU_RC(HAM_ERR_NULL, ham_dataset_gather(x, y, NULL, bad, 1));
    ck_assert_int_eq(ham_dataset_count(NULL), 0);
    ck_assert_int_eq(ham_dataset_dim(NULL), 0);
    ck_assert_int_eq(ham_dataset_has_labels(NULL), 0);
    ck_assert_int_eq(ham_dataset_n_classes(NULL), 0);
    ham_dataset_free(ds);
    TU_RC(HAM_ERR_NULL, ham_dataset_load_idx(NULL, pi, pl, NULL));
    TU_RC(HAM_ERR_NULL, ham_dataset_load_idx(&ds, NULL, pl, NULL));
    TU_RC(HAM_ERR_NULL, ham_dataset_load_npy(NULL, pi, pl, NULL));
    TU_RC(HAM_ERR_NULL, ham_dataset_load_npy(&ds, NULL, pl, NULL));
    free(img.p);
    free(lab.p);
    td_rmdir(&d);
}
END_TEST

/* ------------------------------------------------------------------ bad files */

/* The options expect_idx and expect_npy load with (NULL: the defaults). */
static const ham_load_options_t *td_options;
/* No cap on what a load may allocate: what bounds it then is the format alone. */
static const ham_load_options_t td_unlimited = {sizeof(ham_load_options_t), 0, UINT64_MAX};

/* Loads images (+ labels) from d and expects status `want`, a one-line message naming
 * `culprit`, and no dataset. */
static void expect_idx(int want, const td_dir_t *d, const char *images, const char *labels,
                       const char *culprit, const char *what)
{
    char pi[512], pl[512];
    ham_dataset_t *ds = (ham_dataset_t *)d;
    int rc = ham_dataset_load_idx(&ds, td_path(pi, d, images),
                                  labels ? td_path(pl, d, labels) : NULL, td_options);
    ck_assert_msg(rc == want, "%s: got %s (%s), want %s", what, ham_status_name(rc), ham_last_error(),
                  ham_status_name(want));
    ck_assert_msg(ds == NULL, "%s: dataset not NULL on failure", what);
    ck_assert_msg(ham_last_error()[0] != '\0', "%s: empty message", what);
    ck_assert_msg(strchr(ham_last_error(), '\n') == NULL, "%s: message is not one line: %s", what, ham_last_error());
    ck_assert_msg(strstr(ham_last_error(), culprit) != NULL, "%s: message does not name %s: %s", what,
                  culprit, ham_last_error());
    /* zlib knows a descriptor as "<fd:N>": the message names the path instead */
    ck_assert_msg(strstr(ham_last_error(), "<fd:") == NULL, "%s: message names a descriptor: %s",
                  what, ham_last_error());
}

/* Writes buf raw and gzipped as NAME and NAME.gz. */
static void write_both(const td_dir_t *d, const char *name, const td_buf_t *b)
{
    char gz[256];
    snprintf(gz, sizeof gz, "%s.gz", name);
    td_write(d, name, b->p, b->n);
    td_write_gz(d, gz, b->p, b->n);
}

static void expect_both(int want, const td_dir_t *d, const char *name, const char *labels,
                        const char *what)
{
    char gz[256];
    snprintf(gz, sizeof gz, "%s.gz", name);
    expect_idx(want, d, name, labels, name, what);
    expect_idx(want, d, gz, labels, gz, what);
}

START_TEST(test_idx_bad_files)
{
    td_dir_t d;
    td_mkdir(&d);
    td_buf_t img = test_images(), lab = test_labels();
    td_write(&d, "img", img.p, img.n);
    td_write(&d, "lab", lab.p, lab.n);

    td_buf_t b = test_images();
    b.p[1] = 0x08; /* magic 00 08 08 03 */
    write_both(&d, "magic", &b);
    expect_both(HAM_ERR_FORMAT, &d, "magic", NULL, "wrong magic");
    free(b.p);

    b = test_images();
    b.p[2] = 0x0D; /* float32 elements */
    write_both(&d, "float", &b);
    expect_both(HAM_ERR_FORMAT, &d, "float", NULL, "float32 elements");
    free(b.p);

    b = test_images();
    b.n = 6; /* magic and half a dimension */
    write_both(&d, "short-header", &b);
    expect_both(HAM_ERR_FORMAT, &d, "short-header", NULL, "truncated header");
    b.n = 0;
    write_both(&d, "empty", &b);
    expect_both(HAM_ERR_FORMAT, &d, "empty", NULL, "empty file");
    free(b.p);

    b = test_images();
    b.n -= 1; /* one pixel missing */
    write_both(&d, "short-body", &b);
    expect_both(HAM_ERR_FORMAT, &d, "short-body", NULL, "truncated body");
    free(b.p);

    b = test_images();
    b.n += 1; /* one byte more than declared: header and body disagree */
    unsigned char *grown = realloc(b.p, b.n);
    ck_assert(grown != NULL);
    b.p = grown;
    b.p[b.n - 1] = 0;
    write_both(&d, "trailing", &b);
    expect_both(HAM_ERR_FORMAT, &d, "trailing", NULL, "trailing data");
    free(b.p);

    const uint32_t one_dim[1] = {N_IMG};
    b = idx_file(0x08, 1, one_dim, N_IMG);
    write_both(&d, "one-dim", &b);
    expect_both(HAM_ERR_FORMAT, &d, "one-dim", NULL, "images with one dimension");
    free(b.p);

    const uint32_t zero[3] = {0, ROWS, COLS};
    b = idx_file(0x08, 3, zero, 0);
    write_both(&d, "zero", &b);
    expect_both(HAM_ERR_FORMAT, &d, "zero", NULL, "no samples");
    free(b.p);

    /* labels: two dimensions, wrong count, wrong type */
    const uint32_t two_dim[2] = {N_IMG, 1};
    b = idx_file(0x08, 2, two_dim, N_IMG);
    write_both(&d, "lab2", &b);
    expect_idx(HAM_ERR_FORMAT, &d, "img", "lab2", "lab2", "labels with 2 dimensions");
    expect_idx(HAM_ERR_FORMAT, &d, "img", "lab2.gz", "lab2.gz", "labels with 2 dimensions");
    free(b.p);
    const uint32_t fewer[1] = {N_IMG - 1};
    b = idx_file(0x08, 1, fewer, N_IMG - 1);
    write_both(&d, "lab-few", &b);
    expect_idx(HAM_ERR_FORMAT, &d, "img", "lab-few", "lab-few", "count mismatch");
    expect_idx(HAM_ERR_FORMAT, &d, "img", "lab-few.gz", "lab-few.gz", "count mismatch");
    free(b.p);
    b = idx_file(0x0C, 1, one_dim, 4 * N_IMG);
    write_both(&d, "lab-int", &b);
    expect_idx(HAM_ERR_FORMAT, &d, "img", "lab-int", "lab-int", "int32 labels");
    free(b.p);

    /* corrupt gzip: damaged deflate data, damaged CRC trailer, cut stream */
    td_write_gz(&d, "good.gz", img.p, img.n);
    size_t n;
    unsigned char *gz = td_read(&d, "good.gz", &n);
    ck_assert(n > 30);
    for (size_t i = 12; i < n - 8; i++)
        gz[i] ^= 0x55;
    td_write(&d, "garbled.gz", gz, n);
    expect_idx(HAM_ERR_FORMAT, &d, "garbled.gz", NULL, "garbled.gz: corrupt gzip data",
               "garbled deflate data");
    for (size_t i = 12; i < n - 8; i++)
        gz[i] ^= 0x55;
    gz[n - 6] ^= 0x01; /* CRC-32 in the trailer */
    td_write(&d, "badcrc.gz", gz, n);
    expect_idx(HAM_ERR_FORMAT, &d, "badcrc.gz", NULL, "badcrc.gz", "gzip CRC");
    gz[n - 6] ^= 0x01;
    td_write(&d, "cut.gz", gz, n - 10);
    expect_idx(HAM_ERR_FORMAT, &d, "cut.gz", NULL, "cut.gz", "cut gzip stream");
    free(gz);

    /* not there, not a file */
    expect_idx(HAM_ERR_IO, &d, "missing", NULL, "missing", "missing file");
    expect_idx(HAM_ERR_IO, &d, "img", "missing-labels", "missing-labels", "missing labels");
    ham_dataset_t *ds = NULL;
    TU_RC(HAM_ERR_IO, ham_dataset_load_idx(&ds, d.path, NULL, NULL));
    ck_assert(ham_last_error()[0] != '\0');
    /* a NULL or tiny error buffer is fine */
    TU_RC(HAM_ERR_IO, ham_dataset_load_idx(&ds, d.path, NULL, NULL));
    TU_RC(HAM_ERR_IO, ham_dataset_load_idx(&ds, d.path, NULL, NULL));
    free(img.p);
    free(lab.p);
    td_rmdir(&d);
}
END_TEST

/* Caps the address space (not under ASan, which reserves terabytes of shadow memory, and
 * only in a forked test) so that a large allocation fails rather than succeeds. */
static int cap_address_space(void)
{
    if (TD_ASAN)
        return 0;
    const char *fork_env = getenv("CK_FORK");
    if (fork_env && strcmp(fork_env, "no") == 0)
        return 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long pages = 0;
    int ok = fscanf(f, "%lu", &pages) == 1;
    fclose(f);
    if (!ok)
        return 0;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)512 << 20);
    return setrlimit(RLIMIT_AS, &rl) == 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Forged headers: HAM_ERR_FORMAT at once, whatever they claim, and no allocation larger
 * than the file can fill, even with no cap on the load (with the address space capped
 * at 512 MiB above the current use, a 4 GB allocation would fail with HAM_ERR_NOMEM
 * instead). Under the default cap of 2 GiB, a gzip file that declares more is refused
 * from its header with HAM_ERR_NOMEM naming the limit (a raw file is still truncated). */
START_TEST(test_absurd_dimensions)
{
    td_dir_t d;
    td_mkdir(&d);
    td_buf_t img = test_images();
    td_write(&d, "img", img.p, img.n);
    int capped = cap_address_space();
    double t0 = now();
    td_options = &td_unlimited;
    struct {
        const char *name;
        uint32_t dims[3];
    } cases[] = {
        {"overflow", {0x80000000u, 0x80000000u, 1}}, /* 2^31 x 2^31 values per sample */
        {"product", {2, 65536, 65536}},              /* 2^32 values per sample */
        {"count", {0xFFFFFFFFu, 28, 28}},            /* 3.4e12 values */
        {"big", {5000000, 28, 28}},                  /* 3.9 GB: within the limit */
        {"bigrows", {4, 0x7FFFFFFFu, 1}},            /* 8 GB in 4 samples */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        td_buf_t b = idx_file(0x08, 3, cases[k].dims, 4096);
        write_both(&d, cases[k].name, &b);
        expect_both(HAM_ERR_FORMAT, &d, cases[k].name, NULL, cases[k].name);
        free(b.p);
    }
    /* labels claiming 2^32 - 1 samples, next to 5 images and next to 5 million */
    const uint32_t many[1] = {0xFFFFFFFFu};
    td_buf_t b = idx_file(0x08, 1, many, 100);
    write_both(&d, "many-labels", &b);
    expect_idx(HAM_ERR_FORMAT, &d, "img", "many-labels.gz", "many-labels.gz", "label count");
    expect_idx(HAM_ERR_FORMAT, &d, "big.gz", "many-labels.gz", "many-labels.gz",
               "huge label count");
    free(b.p);
    td_options = NULL;
    expect_idx(HAM_ERR_FORMAT, &d, "big", NULL, "big", "big raw file, default cap");
    expect_idx(HAM_ERR_NOMEM, &d, "big.gz", NULL, "load limit of 2147483648 bytes",
               "big gzip file, default cap");
    double dt = now() - t0;
    ck_assert_msg(dt < 20.0, "forged headers took %.1f s", dt);
    if (!capped)
        printf("absurd dimensions: address space not capped (sanitizer or no fork)\n");
    free(img.p);
    td_rmdir(&d);
}
END_TEST

/* ------------------------------------------------------------------ .npy */

/* A .npy file of format `major`: magic, header dict padded to a multiple of 64, body. */
static td_buf_t npy_file(int major, const char *dict, const void *body, size_t body_len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = dl + 1;
    while ((pre + hl) % 64 != 0)
        hl++;
    td_buf_t b;
    b.n = pre + hl + body_len;
    b.p = malloc(b.n);
    ck_assert(b.p != NULL);
    memcpy(b.p, "\x93NUMPY", 6);
    b.p[6] = (unsigned char)major;
    b.p[7] = 0;
    if (major == 1) {
        b.p[8] = (unsigned char)hl;
        b.p[9] = (unsigned char)(hl >> 8);
    } else {
        for (int i = 0; i < 4; i++)
            b.p[8 + i] = (unsigned char)(hl >> (8 * i));
    }
    memcpy(b.p + pre, dict, dl);
    memset(b.p + pre + dl, ' ', hl - dl - 1);
    b.p[pre + hl - 1] = '\n';
    if (body_len)
        memcpy(b.p + pre + hl, body, body_len);
    return b;
}

static void write_npy(const td_dir_t *d, const char *name, int major, const char *dict,
                      const void *body, size_t body_len)
{
    td_buf_t b = npy_file(major, dict, body, body_len);
    td_write(d, name, b.p, b.n);
    free(b.p);
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* Little-endian bytes of n 4- or 8-byte values. */
static void to_le(unsigned char *out, const void *in, size_t n, size_t item)
{
    memcpy(out, in, n * item);
    if (host_little_endian())
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < item / 2; j++) {
            unsigned char t = out[i * item + j];
            out[i * item + j] = out[i * item + item - 1 - j];
            out[i * item + item - 1 - j] = t;
        }
}

START_TEST(test_npy)
{
    td_dir_t d;
    td_mkdir(&d);
    enum { N = 4, R = 2, C = 3 };
    float xf[N * R * C];
    unsigned char xb[N * R * C];
    for (int i = 0; i < N * R * C; i++) {
        xf[i] = (float)(i - 7) * 0.3f;
        xb[i] = (unsigned char)(i * 11);
    }
    xf[5] = -0.0f;
    xf[6] = 1e-40f; /* subnormal: kept bit for bit */
    unsigned char lef[sizeof xf];
    to_le(lef, xf, N * R * C, 4);
    const int32_t y4[N] = {3, 0, 9, 1};
    const int64_t y8[N] = {3, 0, 9, 1};
    unsigned char le4[sizeof y4], le8[sizeof y8];
    to_le(le4, y4, N, 4);
    to_le(le8, y8, N, 8);
    const unsigned char y1[N] = {3, 0, 9, 1};

    const char *fdict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2, 3), }";
    write_npy(&d, "f1.npy", 1, fdict, lef, sizeof lef);
    write_npy(&d, "f2.npy", 2, fdict, lef, sizeof lef);
    write_npy(&d, "f3.npy", 3,
              "{\"shape\": (4, 6), \"fortran_order\": False, \"descr\": \"<f4\"}", lef,
              sizeof lef);
    write_npy(&d, "u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 6)}",
              xb, sizeof xb);
    write_npy(&d, "u1b.npy", 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,6,)}",
              xb, sizeof xb);
    write_npy(&d, "y1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", y1,
              sizeof y1);
    write_npy(&d, "y4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }",
              le4, sizeof le4);
    write_npy(&d, "y8.npy", 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (4L,), }",
              le8, sizeof le8);
    td_buf_t gzb = npy_file(1, fdict, lef, sizeof lef);
    td_write_gz(&d, "f1.npy.gz", gzb.p, gzb.n);
    free(gzb.p);

    char ps[512], pl[512];
    const char *fnames[] = {"f1.npy", "f2.npy", "f3.npy", "f1.npy.gz"};
    const char *lnames[] = {"y1.npy", "y4.npy", "y8.npy", NULL};
    for (int k = 0; k < 4; k++) {
        ham_dataset_t *ds = NULL;
        TU_OK(ham_dataset_load_npy(&ds, td_path(ps, &d, fnames[k]),
                                   lnames[k] ? td_path(pl, &d, lnames[k]) : NULL, NULL));
        ck_assert_int_eq(ham_dataset_count(ds), N);
        ck_assert_int_eq(ham_dataset_dim(ds), R * C);
        ck_assert_int_eq(ham_dataset_has_labels(ds), lnames[k] != NULL);
        ck_assert_int_eq(ham_dataset_n_classes(ds), lnames[k] ? 10 : 0);
        float x[N * R * C];
        int32_t y[N];
        TU_OK(ham_dataset_get(x, lnames[k] ? y : NULL, ds, 0, N));
        ck_assert_msg(memcmp(x, xf, sizeof x) == 0, "%s: floats differ", fnames[k]);
        if (lnames[k])
            for (int i = 0; i < N; i++)
                ck_assert_int_eq(y[i], y4[i]);
        ham_dataset_free(ds);
    }
    for (int k = 0; k < 2; k++) {
        ham_dataset_t *ds = NULL;
        TU_OK(ham_dataset_load_npy(&ds, td_path(ps, &d, k ? "u1b.npy" : "u1.npy"),
                                   td_path(pl, &d, "y1.npy"), NULL));
        ck_assert_int_eq(ham_dataset_dim(ds), R * C);
        float x[N * R * C];
        TU_OK(ham_dataset_get(x, NULL, ds, 0, N));
        for (int i = 0; i < N * R * C; i++)
            ck_assert(x[i] == (float)xb[i] / 255.0f);
        ham_dataset_free(ds);
    }
    td_rmdir(&d);
}
END_TEST

static void expect_npy(int want, const td_dir_t *d, const char *samples, const char *labels,
                       const char *culprit, const char *what)
{
    char ps[512], pl[512];
    ham_dataset_t *ds = (ham_dataset_t *)d;
    int rc = ham_dataset_load_npy(&ds, td_path(ps, d, samples),
                                  labels ? td_path(pl, d, labels) : NULL, td_options);
    ck_assert_msg(rc == want, "%s: got %s (%s), want %s", what, ham_status_name(rc), ham_last_error(),
                  ham_status_name(want));
    ck_assert_msg(ds == NULL, "%s: dataset not NULL on failure", what);
    ck_assert_msg(ham_last_error()[0] != '\0' && strchr(ham_last_error(), '\n') == NULL, "%s: message '%s'", what, ham_last_error());
    ck_assert_msg(strstr(ham_last_error(), culprit) != NULL, "%s: message does not name %s: %s", what,
                  culprit, ham_last_error());
    ck_assert_msg(strstr(ham_last_error(), "<fd:") == NULL, "%s: message names a descriptor: %s",
                  what, ham_last_error());
}

START_TEST(test_npy_bad_files)
{
    td_dir_t d;
    td_mkdir(&d);
    float body[24] = {0};
    unsigned char lab[4] = {0, 1, 2, 3};
    write_npy(&d, "ok.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }",
              body, sizeof body);
    write_npy(&d, "lab.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }",
              lab, sizeof lab);
    struct {
        const char *name, *dict;
        size_t body;
    } bad[] = {
        {"fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (4, 6), }", 96},
        {"f8", "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 6), }", 192},
        {"bigendian", "{'descr': '>f4', 'fortran_order': False, 'shape': (4, 6), }", 96},
        {"i4samples", "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 6), }", 96},
        {"structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4, 6), }",
         96},
        {"onedim", "{'descr': '<f4', 'fortran_order': False, 'shape': (24,), }", 96},
        {"scalar", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4},
        {"zero", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 6), }", 0},
        {"short", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }", 95},
        {"long", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }", 97},
        {"nokey", "{'descr': '<f4', 'shape': (4, 6), }", 96},
        {"extrakey", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), 'x': 1}", 96},
        {"dupkey", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4, 6)}",
         96},
        {"notdict", "descr <f4", 96},
        {"unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6", 96},
        {"negative", "{'descr': '<f4', 'fortran_order': False, 'shape': (-4, 6), }", 96},
        {"overflow",
         "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 6), }", 96},
        {"absurd",
         "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 96},
        {"huge", "{'descr': '|u1', 'fortran_order': False, 'shape': (3000000000, 1000), }", 96},
        {"big", "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000), }", 96},
        /* control characters in a key or dtype: the message stays one line (fuzz_npy) */
        {"newline-key", "{'descr': '<f4', 'fortran_order': False, 'a\nb': 1, }", 96},
        {"newline-dtype", "{'descr': '<f\n4', 'fortran_order': False, 'shape': (4, 6), }", 96},
    };
    td_options = &td_unlimited; /* the format's own bounds, not the default cap */
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        unsigned char *zeros = calloc(1, bad[k].body + 1);
        ck_assert(zeros != NULL);
        td_buf_t b = npy_file(1, bad[k].dict, zeros, bad[k].body);
        char gz[128];
        snprintf(gz, sizeof gz, "%s.npy.gz", bad[k].name);
        td_write_gz(&d, gz, b.p, b.n);
        snprintf(gz, sizeof gz, "%s.npy", bad[k].name);
        td_write(&d, gz, b.p, b.n);
        expect_npy(HAM_ERR_FORMAT, &d, gz, NULL, gz, bad[k].name);
        strcat(gz, ".gz");
        expect_npy(HAM_ERR_FORMAT, &d, gz, NULL, gz, bad[k].name);
        free(b.p);
        free(zeros);
    }
    td_options = NULL;
    expect_npy(HAM_ERR_NOMEM, &d, "big.npy.gz", NULL, "ham_load_options_t.max_bytes",
               "4 GB in a gzip file, default cap");

    /* magic, version, header length */
    td_buf_t b = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }",
                          body, sizeof body);
    b.p[1] = 'n';
    td_write(&d, "magic.npy", b.p, b.n);
    expect_npy(HAM_ERR_FORMAT, &d, "magic.npy", NULL, "magic.npy", "magic");
    b.p[1] = 'N';
    b.p[6] = 4;
    td_write(&d, "v4.npy", b.p, b.n);
    expect_npy(HAM_ERR_FORMAT, &d, "v4.npy", NULL, "v4.npy", "version 4");
    b.p[6] = 1;
    b.p[8] = 0xFF; /* header length 0xFF40 > file */
    b.p[9] = 0xFF;
    td_write(&d, "hlen.npy", b.p, b.n);
    expect_npy(HAM_ERR_FORMAT, &d, "hlen.npy", NULL, "hlen.npy", "header length");
    td_write(&d, "cut.npy", b.p, 9);
    expect_npy(HAM_ERR_FORMAT, &d, "cut.npy", NULL, "cut.npy", "cut in the preamble");
    free(b.p);
    b = npy_file(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }", body,
                 sizeof body);
    b.p[11] = 0x7F; /* 2 GB header */
    td_write_gz(&d, "hlen2.npy.gz", b.p, b.n);
    expect_npy(HAM_ERR_FORMAT, &d, "hlen2.npy.gz", NULL, "hlen2.npy.gz", "2 GB header");
    free(b.p);

    /* corrupt gzip: the message names the file, not zlib's "<fd:N>" */
    b = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }", body,
                 sizeof body);
    td_write_gz(&d, "good.npy.gz", b.p, b.n);
    free(b.p);
    size_t gn;
    unsigned char *gzp = td_read(&d, "good.npy.gz", &gn);
    ck_assert(gn > 30);
    for (size_t i = 12; i < gn - 8; i++)
        gzp[i] ^= 0x55;
    td_write(&d, "garbled.npy.gz", gzp, gn);
    expect_npy(HAM_ERR_FORMAT, &d, "garbled.npy.gz", NULL, "garbled.npy.gz: corrupt gzip data",
               "garbled deflate data");
    free(gzp);

    /* NaN in the samples */
    float nan_body[24] = {0};
    nan_body[13] = NAN;
    unsigned char le[sizeof nan_body];
    to_le(le, nan_body, 24, 4);
    write_npy(&d, "nan.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }",
              le, sizeof le);
    expect_npy(HAM_ERR_FORMAT, &d, "nan.npy", NULL, "nan.npy", "NaN");

    /* labels: out of range, wrong shape, wrong count, wrong dtype */
    const int64_t neg[4] = {0, 1, -1, 3}, big8[4] = {0, 1, 2, 2147483647LL};
    unsigned char l8[32];
    to_le(l8, neg, 4, 8);
    write_npy(&d, "neg.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", l8,
              32);
    expect_npy(HAM_ERR_FORMAT, &d, "ok.npy", "neg.npy", "neg.npy", "negative label");
    to_le(l8, big8, 4, 8);
    write_npy(&d, "big8.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }",
              l8, 32);
    expect_npy(HAM_ERR_FORMAT, &d, "ok.npy", "big8.npy", "big8.npy", "label 2^31 - 1");
    const int32_t neg4[4] = {0, -5, 1, 1};
    unsigned char l4[16];
    to_le(l4, neg4, 4, 4);
    write_npy(&d, "neg4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", l4,
              16);
    expect_npy(HAM_ERR_FORMAT, &d, "ok.npy", "neg4.npy", "neg4.npy", "negative int32 label");
    write_npy(&d, "lab2d.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 1), }",
              lab, 4);
    expect_npy(HAM_ERR_FORMAT, &d, "ok.npy", "lab2d.npy", "lab2d.npy", "2-D labels");
    write_npy(&d, "lab3.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
              lab, 3);
    expect_npy(HAM_ERR_FORMAT, &d, "ok.npy", "lab3.npy", "lab3.npy", "count mismatch");
    write_npy(&d, "labf.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
              body, 16);
    expect_npy(HAM_ERR_FORMAT, &d, "ok.npy", "labf.npy", "labf.npy", "float labels");
    expect_npy(HAM_ERR_IO, &d, "ok.npy", "nothere.npy", "nothere.npy", "missing labels");
    expect_npy(HAM_ERR_IO, &d, "nothere.npy", "lab.npy", "nothere.npy", "missing samples");

    /* and the good pair still loads */
    char ps[512], pl[512];
    ham_dataset_t *ds = NULL;
    TU_OK(ham_dataset_load_npy(&ds, td_path(ps, &d, "ok.npy"), td_path(pl, &d, "lab.npy"), NULL));
    ck_assert_int_eq(ham_dataset_n_classes(ds), 4);
    ham_dataset_free(ds);
    td_rmdir(&d);
}
END_TEST

/* ------------------------------------------------------------------ special files */

/* A FIFO without a writer, in every position a loader opens a file: each load fails at
 * once with HAM_ERR_IO "not a regular file" instead of waiting for a writer forever
 * (the alarm turns a hang into a failure of this test). A character device likewise. */
START_TEST(test_special_files)
{
    td_dir_t d;
    td_mkdir(&d);
    alarm(60);
    td_buf_t img = test_images(), lab = test_labels();
    td_write(&d, "img", img.p, img.n);
    td_write(&d, "lab", lab.p, lab.n);
    write_npy(&d, "ok.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 12), }",
              img.p + 16, N_IMG * ROWS * COLS);
    char p[512];
    ck_assert(mkfifo(td_path(p, &d, "fifo"), 0600) == 0);
    ck_assert(mkfifo(td_path(p, &d, "split-images-idx3-ubyte"), 0600) == 0);
    td_write(&d, "split-labels-idx1-ubyte", lab.p, lab.n);
    ck_assert(mkfifo(td_path(p, &d, "other-labels-idx1-ubyte.gz"), 0600) == 0);
    td_write(&d, "other-images-idx3-ubyte", img.p, img.n);

    expect_idx(HAM_ERR_IO, &d, "fifo", NULL, "not a regular file", "FIFO images");
    expect_idx(HAM_ERR_IO, &d, "img", "fifo", "fifo: not a regular file", "FIFO labels");
    expect_npy(HAM_ERR_IO, &d, "fifo", NULL, "not a regular file", "FIFO samples");
    expect_npy(HAM_ERR_IO, &d, "ok.npy", "fifo", "fifo: not a regular file", "FIFO labels");
    ham_dataset_t *ds = (ham_dataset_t *)&d;
    TU_RC(HAM_ERR_IO, ham_dataset_load_dir(&ds, d.path, "split", NULL));
    ck_assert(ds == NULL);
    ck_assert_msg(strstr(ham_last_error(), "split-images-idx3-ubyte: not a regular file"),
                  "message: %s", ham_last_error());
    TU_RC(HAM_ERR_IO, ham_dataset_load_dir(&ds, d.path, "other", NULL));
    ck_assert_msg(strstr(ham_last_error(), "other-labels-idx1-ubyte.gz: not a regular file"),
                  "message: %s", ham_last_error());
    TU_RC(HAM_ERR_IO, ham_dataset_load_idx(&ds, "/dev/zero", NULL, NULL));
    ck_assert(strstr(ham_last_error(), "not a regular file") != NULL);
    TU_RC(HAM_ERR_IO, ham_dataset_load_npy(&ds, "/dev/zero", NULL, NULL));
    /* the regular files next to them still load */
    char pi[512], pl[512];
    TU_OK(ham_dataset_load_idx(&ds, td_path(pi, &d, "img"), td_path(pl, &d, "lab"), NULL));
    check_test_dataset(ds, &img, &lab);
    ham_dataset_free(ds);
    alarm(0);
    free(img.p);
    free(lab.p);
    td_rmdir(&d);
}
END_TEST

/* ------------------------------------------------------------------ load limits */

/* ham_load_options_t.max_bytes: a load needs exactly the bytes of its data (images,
 * raw labels, int32 labels; a .npy header too), loads at that limit, and fails one byte
 * below with HAM_ERR_NOMEM naming the limit; a gzip file that declares far more than
 * the limit is refused from its header. */
START_TEST(test_load_limit)
{
    td_dir_t d;
    td_mkdir(&d);
    td_buf_t img = test_images(), lab = test_labels();
    write_both(&d, "img", &img);
    write_both(&d, "lab", &lab);
    const uint64_t need_img = N_IMG * ROWS * COLS, need_lab = N_IMG + 4 * N_IMG;
    char pi[512], pl[512];
    td_path(pi, &d, "img.gz");
    td_path(pl, &d, "lab.gz");
    ham_load_options_t o = {sizeof o, 0, need_img + need_lab};
    ham_dataset_t *ds = NULL;
    TU_OK(ham_dataset_load_idx(&ds, pi, pl, &o));
    check_test_dataset(ds, &img, &lab);
    ham_dataset_free(ds);
    o.max_bytes--;
    TU_RC(HAM_ERR_NOMEM, ham_dataset_load_idx(&ds, pi, pl, &o));
    ck_assert(ds == NULL);
    ck_assert_msg(strstr(ham_last_error(), "lab.gz: the labels needs 20 bytes") &&
                      strstr(ham_last_error(), "load limit of 84 bytes"),
                  "message: %s", ham_last_error());
    o.max_bytes = need_img - 1; /* the raw images alone are too many now */
    TU_RC(HAM_ERR_NOMEM, ham_dataset_load_idx(&ds, td_path(pi, &d, "img"), NULL, &o));
    ck_assert_msg(strstr(ham_last_error(), "img: image data needs 60 bytes, more than the load "
                                           "limit of 59 bytes (ham_load_options_t.max_bytes)"),
                  "message: %s", ham_last_error());
    o.max_bytes = need_img;
    TU_OK(ham_dataset_load_idx(&ds, pi, NULL, &o));
    ham_dataset_free(ds);
    /* through the directory loader */
    td_write_gz(&d, "s-images-idx3-ubyte.gz", img.p, img.n);
    td_write(&d, "s-labels-idx1-ubyte", lab.p, lab.n);
    o.max_bytes = need_img + need_lab;
    TU_OK(ham_dataset_load_dir(&ds, d.path, "s", &o));
    ham_dataset_free(ds);
    o.max_bytes = need_img + need_lab - 1;
    TU_RC(HAM_ERR_NOMEM, ham_dataset_load_dir(&ds, d.path, "s", &o));

    /* .npy: the header text (its length field says how long), samples, raw labels, int32 */
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 12), }";
    td_buf_t nb = npy_file(1, dict, img.p + 16, N_IMG * ROWS * COLS);
    const uint64_t hlen = (uint64_t)nb.p[8] | (uint64_t)nb.p[9] << 8;
    td_write_gz(&d, "s.npy.gz", nb.p, nb.n);
    free(nb.p);
    write_npy(&d, "y.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }",
              "\0\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\2\0\0\0\0\0\0\0"
              "\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 40);
    const uint64_t hlen_y = 128 - 10;
    o.max_bytes = hlen + need_img + hlen_y + 40 + 4 * N_IMG;
    TU_OK(ham_dataset_load_npy(&ds, td_path(pi, &d, "s.npy.gz"), td_path(pl, &d, "y.npy"), &o));
    ck_assert_int_eq(ham_dataset_n_classes(ds), 3);
    ham_dataset_free(ds);
    o.max_bytes--;
    TU_RC(HAM_ERR_NOMEM, ham_dataset_load_npy(&ds, pi, pl, &o));
    ck_assert_msg(strstr(ham_last_error(), "y.npy") && strstr(ham_last_error(), "max_bytes"),
                  "message: %s", ham_last_error());

    /* 1 GB declared in a gzip file of a few KB: refused from the header under a 1 MiB
     * cap (without a cap, the stream ends first: truncated) */
    const uint32_t dims[3] = {1000, 1000, 1000};
    td_buf_t big = idx_file(0x08, 3, dims, 65536);
    td_write_gz(&d, "declares-1gb.gz", big.p, big.n);
    free(big.p);
    o.max_bytes = 1 << 20;
    td_options = &o;
    expect_idx(HAM_ERR_NOMEM, &d, "declares-1gb.gz", NULL,
               "image data needs 1000000000 bytes, more than the load limit of 1048576 bytes",
               "1 GB under a 1 MiB cap");
    td_options = &td_unlimited;
    expect_idx(HAM_ERR_FORMAT, &d, "declares-1gb.gz", NULL, "truncated", "1 GB, no cap");
    td_options = NULL;

    /* the options struct itself */
    ham_load_options_t bad = o;
    bad.flags = 1;
    TU_RC(HAM_ERR_INVALID, ham_dataset_load_idx(&ds, pi, NULL, &bad));
    TU_RC(HAM_ERR_INVALID, ham_dataset_load_npy(&ds, pi, NULL, &bad));
    TU_RC(HAM_ERR_INVALID, ham_dataset_load_dir(&ds, d.path, "s", &bad));
    bad = o;
    bad.size = 8; /* older than the first version */
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_dataset_load_idx(&ds, pi, NULL, &bad));
    bad.size = 0;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_dataset_load_idx(&ds, pi, NULL, &bad));
    struct {
        ham_load_options_t o;
        uint64_t future;
    } newer = {{sizeof newer, 0, 0}, 0};
    td_path(pi, &d, "img.gz");
    TU_OK(ham_dataset_load_idx(&ds, pi, NULL, &newer.o)); /* max_bytes 0: the default */
    ham_dataset_free(ds);
    newer.future = 1;
    TU_RC(HAM_ERR_STRUCT_SIZE, ham_dataset_load_idx(&ds, pi, NULL, &newer.o));
    free(img.p);
    free(lab.p);
    td_rmdir(&d);
}
END_TEST

/* ------------------------------------------------------------------ real data */

/* ../shared/data/mnist10k next to the source tree: 8,000 + 2,000 real digits. */
START_TEST(test_mnist10k)
{
    const char *root = getenv("HAMDEQ_SOURCE_ROOT");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/../shared/data/mnist10k", root ? root : ".");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("mnist10k: skipped (%s not found)\n", dir);
        return;
    }
    const char *splits[2] = {"train", "t10k"};
    const int64_t counts[2] = {8000, 2000};
    for (int k = 0; k < 2; k++) {
        ham_dataset_t *ds = NULL;
        int rc = ham_dataset_load_dir(&ds, dir, splits[k], NULL);
        ck_assert_msg(rc == HAM_OK, "%s: %s", splits[k], ham_last_error());
        ck_assert_int_eq(ham_dataset_count(ds), counts[k]);
        ck_assert_int_eq(ham_dataset_dim(ds), 784);
        ck_assert_int_eq(ham_dataset_n_classes(ds), 10);
        ck_assert_int_eq(ham_dataset_has_labels(ds), 1);
        const int32_t batch = 1000;
        float *x = tu_floats((size_t)batch * 784);
        int32_t y[1000];
        int64_t per_class[10] = {0};
        double lo = 1, hi = 0, sum = 0;
        for (int64_t first = 0; first < counts[k]; first += batch) {
            TU_OK(ham_dataset_get(x, y, ds, first, batch));
            for (size_t i = 0; i < (size_t)batch * 784; i++) {
                lo = fmin(lo, x[i]);
                hi = fmax(hi, x[i]);
                sum += x[i];
            }
            for (int i = 0; i < batch; i++) {
                ck_assert(y[i] >= 0 && y[i] < 10);
                per_class[y[i]]++;
            }
        }
        ck_assert(lo == 0.0 && hi == 1.0);
        double mean = sum / ((double)counts[k] * 784);
        ck_assert_msg(mean > 0.1 && mean < 0.16, "mean pixel %g is not MNIST's ~0.13", mean);
        for (int c = 0; c < 10; c++)
            ck_assert_msg(per_class[c] > counts[k] / 20, "class %d has %lld samples", c,
                          (long long)per_class[c]);
        free(x);
        ham_dataset_free(ds);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tu_tcase("data");
    tcase_add_test(tc, test_idx_raw_and_gzip);
    tcase_add_test(tc, test_load_dir);
    tcase_add_test(tc, test_get_errors);
    tcase_add_test(tc, test_idx_bad_files);
    tcase_add_test(tc, test_absurd_dimensions);
    tcase_add_test(tc, test_npy);
    tcase_add_test(tc, test_npy_bad_files);
    tcase_add_test(tc, test_special_files);
    tcase_add_test(tc, test_load_limit);
    tcase_add_test(tc, test_mnist10k);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
