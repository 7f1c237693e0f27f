/* Model files (docs/model-format.md): a fixed little-endian header, a layer table, the
 * weight blocks and biases as float32, and a CRC-32 of everything before it.
 *
 * Saving writes a temporary file next to the target, fsyncs it, renames it over the
 * target and fsyncs the directory, so readers see the old file or the new one, never a
 * mixture. Loading checks every field, and every size against the file's length before
 * allocating; values are converted byte by byte, so the format is the same on every host.
 * The checksum is accumulated while reading (one pass); when a field is invalid, the rest
 * of the file is still checksummed, so that damage is reported as such. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "io/io_private.h"

static const unsigned char MAGIC[8] = {0x89, 'H', 'A', 'M', '\r', '\n', 0x1A, '\n'};
#define FORMAT_VERSION 1u
#define FIXED_HEADER 48u
#define LAYER_ENTRY 16u
#define FLAG_CLAMPED 1u
#define CHUNK 65536

static uint64_t f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double bits_f64(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ------------------------------------------------------------------------ saving */

typedef struct writer {
    FILE *fp;
    uLong crc;
    int failed;
    int error; /* errno of the first failure */
} writer_t;

static void put(writer_t *w, const void *buf, size_t n)
{
    if (w->failed || n == 0)
        return;
    w->crc = crc32(w->crc, buf, (uInt)n);
    errno = 0;
    if (fwrite(buf, 1, n, w->fp) != n) {
        w->failed = 1;
        w->error = errno ? errno : EIO;
    }
}

/* n floats as little-endian bytes, through a bounded buffer. */
static void put_floats(writer_t *w, const float *x, uint64_t n)
{
    unsigned char buf[CHUNK];
    while (n > 0 && !w->failed) {
        size_t k = n < CHUNK / 4 ? (size_t)n : CHUNK / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            hamp_put_le32(buf + 4 * i, u);
        }
        put(w, buf, 4 * k);
        x += k;
        n -= k;
    }
}

static uint64_t file_size(const ham_model_t *m)
{
    uint64_t n = FIXED_HEADER + LAYER_ENTRY * (uint64_t)m->n_layers + 4;
    for (int32_t l = 0; l < m->n_layers; l++) {
        if (l + 1 < m->n_layers)
            n += 4 * (uint64_t)hamp_block_len(m, l);
        if (m->b[l])
            n += 4 * (uint64_t)m->size[l];
    }
    return n;
}

static void write_model(writer_t *w, const ham_model_t *m)
{
    unsigned char h[FIXED_HEADER + LAYER_ENTRY * HAM_MAX_LAYERS];
    memcpy(h, MAGIC, 8);
    hamp_put_le32(h + 8, FORMAT_VERSION);
    hamp_put_le32(h + 12, m->clamped ? FLAG_CLAMPED : 0);
    hamp_put_le64(h + 16, file_size(m));
    hamp_put_le32(h + 24, (uint32_t)m->n_layers);
    hamp_put_le32(h + 28, (uint32_t)m->default_op);
    hamp_put_le32(h + 32, (uint32_t)m->default_solver);
    hamp_put_le32(h + 36, (uint32_t)m->default_max_iter);
    hamp_put_le64(h + 40, f64_bits(m->default_tol));
    for (int32_t l = 0; l < m->n_layers; l++) {
        unsigned char *e = h + FIXED_HEADER + LAYER_ENTRY * (size_t)l;
        hamp_put_le32(e, (uint32_t)m->size[l]);
        hamp_put_le32(e + 4, (uint32_t)m->lag[l].kind);
        hamp_put_le64(e + 8, f64_bits(m->lag[l].kind == HAM_LAGRANGIAN_SOFTMAX ? m->lag[l].beta
                                                                               : 0.0));
    }
    put(w, h, FIXED_HEADER + LAYER_ENTRY * (size_t)m->n_layers);
    for (int32_t l = 0; l + 1 < m->n_layers; l++)
        put_floats(w, m->W[l], hamp_block_len(m, l));
    for (int32_t l = 0; l < m->n_layers; l++)
        if (m->b[l])
            put_floats(w, m->b[l], (uint64_t)m->size[l]);
    unsigned char c[4];
    hamp_put_le32(c, (uint32_t)w->crc);
    put(w, c, 4);
}

/* Creates path.XXXXXX with O_EXCL and mode 0666 (less the umask, as for any new file;
 * mkstemp would force 0600). The suffix mixes the clock, the pid and a stack address,
 * so no state is kept between calls. Returns the descriptor, or -1 with errno set. */
static int create_temp(char *tmp, size_t base)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40 ^
                 (uint64_t)(uintptr_t)&ts;
    for (int attempt = 0; attempt < 100; attempt++) {
        for (int i = 0; i < 6; i++) {
            /* splitmix64 steps */
            x += 0x9E3779B97F4A7C15ull;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            tmp[base + 1 + (size_t)i] = alphabet[z % (sizeof alphabet - 1)];
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* fsync of the directory holding path, so that the rename itself is durable. Opening the
 * directory may be refused (no read permission) or fsync unsupported (EINVAL): then the
 * rename stands without it; a failing fsync (EIO) is an error. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else {
        dir = malloc((size_t)(slash - path) + 1);
        if (dir) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash - path] = '\0';
        }
    }
    if (!dir)
        return 0;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return 0;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL && e != EROFS) {
        errno = e;
        return -1;
    }
    return 0;
}

HAM_API int ham_model_save(const ham_model_t *model, const char *path)
{
    if (!model || !path)
        return hamp_fail(HAM_ERR_NULL, "model or path is NULL");
    for (int32_t l = 0; l < model->n_layers; l++)
        if (model->lag[l].kind == HAM_LAGRANGIAN_CUSTOM)
            return hamp_fail(HAM_ERR_UNSUPPORTED,
                               "%s: layer %d has a custom Lagrangian, whose callbacks cannot be "
                               "saved",
                               path, (int)l);
    size_t base = strlen(path);
    if (base == 0)
        return hamp_fail(HAM_ERR_IO, "empty model file path");
    char *tmp = malloc(base + 8);
    if (!tmp)
        return hamp_fail(HAM_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, base);
    memcpy(tmp + base, ".XXXXXX", 8);
    int fd = create_temp(tmp, base);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return hamp_fail(HAM_ERR_IO, "%s: cannot create a temporary file: %s",
                           path, strerror(e));
    }
    /* A replaced file keeps its permissions. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        (void)fchmod(fd, st.st_mode & 07777);

    const char *step = "write";
    int e = 0;
    writer_t w = {0};
    w.crc = crc32(0L, Z_NULL, 0);
    w.fp = fdopen(fd, "wb");
    if (!w.fp) {
        e = errno;
        close(fd);
        step = "open";
        goto fail;
    }
    write_model(&w, model);
    if (w.failed) {
        e = w.error;
        fclose(w.fp);
        goto fail;
    }
    if (fflush(w.fp) != 0) {
        e = errno;
        fclose(w.fp);
        goto fail;
    }
    if (fsync(fileno(w.fp)) != 0) {
        e = errno;
        step = "fsync";
        fclose(w.fp);
        goto fail;
    }
    if (fclose(w.fp) != 0) {
        e = errno;
        step = "close";
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        step = "rename";
        goto fail;
    }
    free(tmp);
    if (sync_dir(path) != 0)
        return hamp_fail(HAM_ERR_IO,
                           "%s: saved, but syncing its directory failed: %s", path,
                           strerror(errno));
    return HAM_OK;
fail:
    unlink(tmp);
    free(tmp);
    return hamp_fail(HAM_ERR_IO, "%s: %s failed: %s", path, step,
                       strerror(e ? e : EIO));
}

/* ------------------------------------------------------------------------ loading */

typedef struct reader {
    FILE *fp;
    const char *path;
    uint64_t size; /* the file's length */
    uint64_t pos;
    uLong crc;
} reader_t;

/* Reads n bytes into buf and adds them to the checksum; 0 on success. */
static int get(reader_t *r, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    if (fread(buf, 1, n, r->fp) != n)
        return -1;
    r->crc = crc32(r->crc, buf, (uInt)n);
    r->pos += n;
    return 0;
}

static int io_error(reader_t *r)
{
    if (ferror(r->fp))
        return hamp_fail(HAM_ERR_IO, "%s: read error: %s", r->path,
                           strerror(errno));
    return hamp_fail(HAM_ERR_FORMAT, "%s: truncated", r->path);
}

/* 1 if the file's checksum holds: reads the rest up to the stored CRC. */
static int checksum_ok(reader_t *r)
{
    unsigned char buf[CHUNK];
    while (r->pos < r->size - 4) {
        uint64_t left = r->size - 4 - r->pos;
        size_t k = left < CHUNK ? (size_t)left : CHUNK;
        if (get(r, buf, k) != 0)
            return 0;
    }
    unsigned char c[4];
    if (fread(c, 1, 4, r->fp) != 4)
        return 0;
    return hamp_le32(c) == (uint32_t)r->crc;
}

/* An invalid field: reported as such if the checksum holds (a file written wrongly),
 * as damage otherwise. */
static int invalid(reader_t *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int invalid(reader_t *r, const char *fmt, ...)
{
    if (!checksum_ok(r))
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: checksum mismatch: the file is corrupted", r->path);
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return hamp_fail(HAM_ERR_FORMAT, "%s: invalid model file: %s",
                       r->path, what);
}

/* Reads n floats (little-endian) into x. */
static int get_floats(reader_t *r, float *x, uint64_t n)
{
    if (get(r, x, (size_t)n * 4) != 0)
        return -1;
    hamp_le_floats(x, (size_t)n);
    return 0;
}

typedef struct file_header {
    uint32_t flags, n_layers;
    int32_t op, solver, max_iter;
    double tol;
    int32_t size[HAM_MAX_LAYERS], kind[HAM_MAX_LAYERS];
    double param[HAM_MAX_LAYERS];
} file_header_t;

/* Checks the header and layer table against each other and the file's length. */
static int check_header(reader_t *r, const file_header_t *h, uint64_t *max_block)
{
    if (h->flags & ~FLAG_CLAMPED)
        return invalid(r, "unknown flags 0x%x", (unsigned)h->flags);
    if (!ham_operator_name(h->op))
        return invalid(r, "unknown default operator %d", (int)h->op);
    if (!hamp_solver_kind_valid(h->solver))
        return invalid(r, "unknown default solver %d", (int)h->solver);
    if (!(h->tol > 0.0 && h->tol < 1.0) || h->max_iter < 1)
        return invalid(r, "default tolerance %g or iteration count %d out of range", h->tol,
                       (int)h->max_iter);
    uint64_t total = FIXED_HEADER + LAYER_ENTRY * (uint64_t)h->n_layers + 4;
    *max_block = 0;
    for (uint32_t l = 0; l < h->n_layers; l++) {
        if (h->size[l] <= 0)
            return invalid(r, "layer %u has size %d", (unsigned)l, (int)h->size[l]);
        if (!ham_lagrangian_name(h->kind[l]) || h->kind[l] == HAM_LAGRANGIAN_CUSTOM)
            return invalid(r, "layer %u has unknown Lagrangian kind %d", (unsigned)l,
                           (int)h->kind[l]);
        if (h->kind[l] == HAM_LAGRANGIAN_SOFTMAX
                ? !(isfinite(h->param[l]) && h->param[l] > 0.0)
                : h->param[l] != 0.0)
            return invalid(r, "layer %u has Lagrangian parameter %g", (unsigned)l, h->param[l]);
        uint64_t nb = (h->flags & FLAG_CLAMPED) && l == 0 ? 0 : (uint64_t)h->size[l];
        uint64_t nw = 0;
        if (l + 1 < h->n_layers) {
            if (h->size[l + 1] <= 0)
                return invalid(r, "layer %u has size %d", (unsigned)l + 1,
                               (int)h->size[l + 1]);
            nw = (uint64_t)h->size[l] * (uint64_t)h->size[l + 1];
            if (nw > INT32_MAX)
                return invalid(r, "weight block %u has more than 2^31 - 1 entries",
                               (unsigned)l);
        }
        total += 4 * (nw + nb); /* < 64 * 2^35: no overflow */
        if (nw > *max_block)
            *max_block = nw;
        if (nb > *max_block)
            *max_block = nb;
    }
    if (total != r->size)
        return invalid(r, "the layer sizes make %llu bytes, the file has %llu",
                       (unsigned long long)total, (unsigned long long)r->size);
    return HAM_OK;
}

static int read_model(ham_model_t **out, reader_t *r)
{
    unsigned char b[FIXED_HEADER + LAYER_ENTRY * HAM_MAX_LAYERS];
    if (r->size < 12) {
        size_t n = fread(b, 1, (size_t)r->size, r->fp);
        if (memcmp(b, MAGIC, n < 8 ? n : 8) != 0)
            return hamp_fail(HAM_ERR_FORMAT,
                               "%s: not a libhamdeq model file (bad magic)", r->path);
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: truncated: %llu bytes, a model file has at least %u", r->path,
                           (unsigned long long)r->size, FIXED_HEADER + 2 * LAYER_ENTRY + 4);
    }
    if (get(r, b, 12) != 0)
        return io_error(r);
    if (memcmp(b, MAGIC, 8) != 0)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: not a libhamdeq model file (bad magic)", r->path);
    uint32_t version = hamp_le32(b + 8);
    if (version != FORMAT_VERSION)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: model file format version %u is not supported (this library "
                           "reads version %u)",
                           r->path, (unsigned)version, FORMAT_VERSION);
    if (r->size < FIXED_HEADER + 4)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: truncated: %llu bytes, a model file has at least %u", r->path,
                           (unsigned long long)r->size, FIXED_HEADER + 2 * LAYER_ENTRY + 4);
    if (get(r, b + 12, FIXED_HEADER - 12) != 0)
        return io_error(r);
    uint64_t declared = hamp_le64(b + 16);
    if (declared != r->size)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: %s: the header declares %llu bytes, the file has %llu", r->path,
                           declared > r->size ? "truncated" : "corrupted or padded",
                           (unsigned long long)declared, (unsigned long long)r->size);
    file_header_t h;
    memset(&h, 0, sizeof h);
    h.flags = hamp_le32(b + 12);
    h.n_layers = hamp_le32(b + 24);
    h.op = (int32_t)hamp_le32(b + 28);
    h.solver = (int32_t)hamp_le32(b + 32);
    h.max_iter = (int32_t)hamp_le32(b + 36);
    h.tol = bits_f64(hamp_le64(b + 40));
    if (h.n_layers < 2 || h.n_layers > HAM_MAX_LAYERS)
        return invalid(r, "%u layers (2 to %d are possible)", (unsigned)h.n_layers,
                       HAM_MAX_LAYERS);
    size_t table = LAYER_ENTRY * (size_t)h.n_layers;
    if (FIXED_HEADER + table + 4 > r->size)
        return invalid(r, "the layer table of %u layers does not fit in %llu bytes",
                       (unsigned)h.n_layers, (unsigned long long)r->size);
    if (get(r, b + FIXED_HEADER, table) != 0)
        return io_error(r);
    for (uint32_t l = 0; l < h.n_layers; l++) {
        const unsigned char *e = b + FIXED_HEADER + LAYER_ENTRY * l;
        uint32_t size = hamp_le32(e);
        h.size[l] = size > INT32_MAX ? -1 : (int32_t)size;
        h.kind[l] = (int32_t)hamp_le32(e + 4);
        h.param[l] = bits_f64(hamp_le64(e + 8));
    }
    uint64_t max_block = 0;
    int rc = check_header(r, &h, &max_block);
    if (rc != HAM_OK)
        return rc;

    /* Every size is now known to fit in the file: allocations are bounded by its length. */
    ham_model_t *m = NULL;
    float *buf = NULL;
    if (max_block > SIZE_MAX / sizeof *buf)
        return hamp_fail(HAM_ERR_NOMEM,
                           "%s: a weight block of %llu floats is too large for this platform",
                           r->path, (unsigned long long)max_block);
    rc = ham_model_new(&m, (int32_t)h.n_layers, h.size,
                       h.flags & FLAG_CLAMPED ? HAM_MODEL_CLAMPED_INPUT : HAM_MODEL_FREE_INPUT);
    if (rc == HAM_OK && !(buf = malloc((size_t)max_block * sizeof *buf)))
        rc = HAMP_FAIL(HAM_ERR_NOMEM);
    if (rc != HAM_OK) {
        ham_model_free(m);
        return hamp_fail(rc, "%s: cannot create the model: %s", r->path,
                           ham_strerror(rc));
    }
    for (uint32_t l = 0; l < h.n_layers && rc == HAM_OK; l++)
        rc = ham_model_set_lagrangian(m, (int32_t)l, h.kind[l], h.param[l]);
    if (rc == HAM_OK)
        rc = ham_model_set_defaults(m, h.op, h.solver, h.tol, h.max_iter);
    if (rc != HAM_OK) { /* the checks above make this unreachable */
        rc = invalid(r, "%s", ham_last_error());
        goto fail;
    }
    for (int32_t l = 0; l + 1 < m->n_layers; l++) {
        uint64_t n = hamp_block_len(m, l);
        if (get_floats(r, buf, n) != 0) {
            rc = io_error(r);
            goto fail;
        }
        if (ham_model_set_weights(m, l, buf, (size_t)n) != HAM_OK) {
            rc = invalid(r, "weight block %d contains NaN or infinity", (int)l);
            goto fail;
        }
    }
    for (int32_t l = 0; l < m->n_layers; l++) {
        if (!hamp_layer_free(m, l))
            continue;
        if (get_floats(r, buf, (uint64_t)m->size[l]) != 0) {
            rc = io_error(r);
            goto fail;
        }
        if (ham_model_set_bias(m, l, buf, (size_t)m->size[l]) != HAM_OK) {
            rc = invalid(r, "the bias of layer %d contains NaN or infinity", (int)l);
            goto fail;
        }
    }
    if (!checksum_ok(r)) {
        rc = ferror(r->fp) ? io_error(r)
                           : hamp_fail(HAM_ERR_FORMAT,
                                         "%s: checksum mismatch: the file is corrupted",
                                         r->path);
        goto fail;
    }
    free(buf);
    *out = m;
    return HAM_OK;
fail:
    free(buf);
    ham_model_free(m);
    return rc;
}

HAM_API int ham_model_load(ham_model_t **model, const char *path)
{
    if (!model)
        return hamp_fail(HAM_ERR_NULL, "model output pointer is NULL");
    *model = NULL;
    if (!path)
        return hamp_fail(HAM_ERR_NULL, "path is NULL");
    reader_t r = {0};
    r.path = path;
    r.crc = crc32(0L, Z_NULL, 0);
    r.fp = fopen(path, "rb");
    if (!r.fp)
        return hamp_fail(HAM_ERR_IO, "%s: cannot open: %s", path,
                           strerror(errno));
    struct stat st;
    int rc;
    if (fstat(fileno(r.fp), &st) != 0)
        rc = hamp_fail(HAM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = hamp_fail(HAM_ERR_IO, "%s: not a regular file", path);
    else {
        r.size = (uint64_t)st.st_size;
        rc = read_model(model, &r);
    }
    fclose(r.fp);
    return rc;
}
