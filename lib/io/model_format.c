/* The model format (docs/model-format.md) in memory: a fixed little-endian header, a
 * layer table, the weight blocks and biases as float32, and a CRC-32 of everything before
 * it. ham_model_save_buffer and ham_model_load_buffer are this file's public face;
 * model_file.c puts the same bytes in files.
 *
 * Encoding streams through a sink in bounded chunks, so that saving a file never holds a
 * second copy of the weights. Decoding takes the whole encoding: it checks the length
 * fields, then the checksum, then every field, and adds up the layer sizes against the
 * length before it allocates, so a forged header cannot ask for more memory than its
 * bytes could fill. Values are converted byte by byte: the format is the same on every
 * host, and the input needs no alignment. Nothing is read outside [p, p + size). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io_private.h"

static const unsigned char MAGIC[8] = {0x89, 'H', 'A', 'M', '\r', '\n', 0x1A, '\n'};
#define FORMAT_VERSION 1u
#define FIXED_HEADER 48u
#define LAYER_ENTRY 16u
#define FLAG_CLAMPED 1u
/* The smallest model: two layers of one unit, the first clamped (one weight, one bias). */
#define MIN_LENGTH (FIXED_HEADER + 2 * LAYER_ENTRY + 4 * 2 + 4)
_Static_assert(MIN_LENGTH > HAMP_MODEL_PREAMBLE, "a model is longer than its preamble");
/* Bytes of float data converted at a time while encoding. */
#define CHUNK 65536
/* Largest length handed to zlib's crc32 at once (its length is an unsigned int). */
#define CRC_STEP ((size_t)1 << 30)

/* What a message names: a path and "file", or "model buffer" and "buffer". */
typedef struct source {
    const char *name;
    const char *noun;
} source_t;

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

static uLong crc_update(uLong crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t k = n < CRC_STEP ? n : CRC_STEP;
        crc = crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return crc;
}

/* ------------------------------------------------------------------------ encoding */

int hamp_model_check_saveable(const ham_model_t *m, const char *name)
{
    for (int32_t l = 0; l < m->n_layers; l++)
        if (m->lag[l].kind == HAM_LAGRANGIAN_CUSTOM)
            return hamp_fail(HAM_ERR_UNSUPPORTED,
                             "%s: layer %d has a custom Lagrangian, whose callbacks cannot be "
                             "saved",
                             name, (int)l);
    return HAM_OK;
}

uint64_t hamp_model_encoded_size(const ham_model_t *m)
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

typedef struct encoder {
    hamp_model_sink_fn sink;
    void *ctx;
    uLong crc;
    int rc; /* the sink's first non-zero return */
} encoder_t;

static void emit(encoder_t *e, const unsigned char *p, size_t n)
{
    if (e->rc != 0 || n == 0)
        return;
    e->crc = crc_update(e->crc, p, n);
    e->rc = e->sink(e->ctx, p, n);
}

/* n floats as little-endian bytes, through a bounded buffer. */
static void emit_floats(encoder_t *e, const float *x, uint64_t n)
{
    unsigned char buf[CHUNK];
    while (n > 0 && e->rc == 0) {
        size_t k = n < CHUNK / 4 ? (size_t)n : CHUNK / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            hamp_put_le32(buf + 4 * i, u);
        }
        emit(e, buf, 4 * k);
        x += k;
        n -= k;
    }
}

int hamp_model_encode(const ham_model_t *m, hamp_model_sink_fn sink, void *ctx)
{
    encoder_t e = {sink, ctx, crc32(0L, Z_NULL, 0), 0};
    unsigned char h[FIXED_HEADER + LAYER_ENTRY * HAM_MAX_LAYERS];
    memcpy(h, MAGIC, 8);
    hamp_put_le32(h + 8, FORMAT_VERSION);
    hamp_put_le32(h + 12, m->clamped ? FLAG_CLAMPED : 0);
    hamp_put_le64(h + 16, hamp_model_encoded_size(m));
    hamp_put_le32(h + 24, (uint32_t)m->n_layers);
    hamp_put_le32(h + 28, (uint32_t)m->default_op);
    hamp_put_le32(h + 32, (uint32_t)m->default_solver);
    hamp_put_le32(h + 36, (uint32_t)m->default_max_iter);
    hamp_put_le64(h + 40, f64_bits(m->default_tol));
    for (int32_t l = 0; l < m->n_layers; l++) {
        unsigned char *t = h + FIXED_HEADER + LAYER_ENTRY * (size_t)l;
        hamp_put_le32(t, (uint32_t)m->size[l]);
        hamp_put_le32(t + 4, (uint32_t)m->lag[l].kind);
        hamp_put_le64(t + 8, f64_bits(m->lag[l].kind == HAM_LAGRANGIAN_SOFTMAX ? m->lag[l].beta
                                                                               : 0.0));
    }
    emit(&e, h, FIXED_HEADER + LAYER_ENTRY * (size_t)m->n_layers);
    for (int32_t l = 0; l + 1 < m->n_layers; l++)
        emit_floats(&e, m->W[l], hamp_block_len(m, l));
    for (int32_t l = 0; l < m->n_layers; l++)
        if (m->b[l])
            emit_floats(&e, m->b[l], (uint64_t)m->size[l]);
    unsigned char c[4];
    hamp_put_le32(c, (uint32_t)e.crc);
    emit(&e, c, 4);
    return e.rc;
}

/* A caller's buffer, already known to be large enough. */
typedef struct memory_sink {
    unsigned char *p;
} memory_sink_t;

static int to_memory(void *ctx, const void *bytes, size_t n)
{
    memory_sink_t *s = ctx;
    memcpy(s->p, bytes, n);
    s->p += n;
    return 0;
}

HAM_API int ham_model_save_buffer(void *buf, size_t *size, const ham_model_t *model)
{
    if (!size || !model)
        return hamp_fail(HAM_ERR_NULL, "model buffer: %s is NULL", !size ? "size" : "model");
    int rc = hamp_model_check_saveable(model, "model buffer");
    if (rc != HAM_OK)
        return rc;
    uint64_t need = hamp_model_encoded_size(model);
    if (need > SIZE_MAX) /* only where size_t is narrower than the model's weights */
        return hamp_fail(HAM_ERR_NOMEM,
                         "model buffer: the model needs %llu bytes, more than size_t holds",
                         (unsigned long long)need);
    if (!buf) {
        *size = (size_t)need;
        return HAM_OK;
    }
    if (*size < need) {
        size_t cap = *size;
        *size = (size_t)need;
        return hamp_fail(HAM_ERR_DIMENSION,
                         "model buffer: %zu bytes are too few, the model needs %zu", cap,
                         (size_t)need);
    }
    memory_sink_t s = {buf};
    (void)hamp_model_encode(model, to_memory, &s); /* to_memory never fails */
    *size = (size_t)need;
    return HAM_OK;
}

/* ------------------------------------------------------------------------ decoding */

static int truncated_below_minimum(const source_t *src, uint64_t total)
{
    return hamp_fail(HAM_ERR_FORMAT, "%s: truncated: %llu bytes, a model %s has at least %u",
                     src->name, (unsigned long long)total, src->noun, MIN_LENGTH);
}

static int check_preamble(const unsigned char *p, uint64_t total, const source_t *src)
{
    size_t have = total < HAMP_MODEL_PREAMBLE ? (size_t)total : HAMP_MODEL_PREAMBLE;
    if (have > 0 && memcmp(p, MAGIC, have < 8 ? have : 8) != 0)
        return hamp_fail(HAM_ERR_FORMAT, "%s: not a libhamdeq model file (bad magic)",
                         src->name);
    if (have < 12)
        return truncated_below_minimum(src, total);
    uint32_t version = hamp_le32(p + 8);
    if (version != FORMAT_VERSION)
        return hamp_fail(HAM_ERR_FORMAT,
                         "%s: model format version %u is not supported (this library reads "
                         "version %u)",
                         src->name, (unsigned)version, FORMAT_VERSION);
    if (total < MIN_LENGTH)
        return truncated_below_minimum(src, total);
    uint64_t declared = hamp_le64(p + 16);
    if (declared != total)
        return hamp_fail(HAM_ERR_FORMAT, "%s: %s: the header declares %llu bytes, the %s has %llu",
                         src->name, declared > total ? "truncated" : "corrupted or padded",
                         (unsigned long long)declared, src->noun, (unsigned long long)total);
    return HAM_OK;
}

int hamp_model_check_preamble(const unsigned char *p, uint64_t total, const char *name,
                              const char *noun)
{
    source_t src = {name, noun};
    return check_preamble(p, total, &src);
}

/* A field out of range behind a valid checksum: a model written wrongly, or forged. */
static int invalid(const source_t *src, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int invalid(const source_t *src, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return hamp_fail(HAM_ERR_FORMAT, "%s: invalid model: %s", src->name, what);
}

typedef struct header {
    uint32_t flags, n_layers;
    int32_t op, solver, max_iter;
    double tol;
    int32_t size[HAM_MAX_LAYERS], kind[HAM_MAX_LAYERS];
    double param[HAM_MAX_LAYERS];
} header_t;

/* Reads the header and layer table of an encoding whose length and checksum hold, and
 * checks every field and that the layer sizes account for exactly `total` bytes. */
static int read_header(header_t *h, const unsigned char *p, uint64_t total, const source_t *src)
{
    memset(h, 0, sizeof *h);
    h->flags = hamp_le32(p + 12);
    h->n_layers = hamp_le32(p + 24);
    h->op = (int32_t)hamp_le32(p + 28);
    h->solver = (int32_t)hamp_le32(p + 32);
    h->max_iter = (int32_t)hamp_le32(p + 36);
    h->tol = bits_f64(hamp_le64(p + 40));
    if (h->n_layers < 2 || h->n_layers > HAM_MAX_LAYERS)
        return invalid(src, "%u layers (2 to %d are possible)", (unsigned)h->n_layers,
                       HAM_MAX_LAYERS);
    if (FIXED_HEADER + LAYER_ENTRY * (uint64_t)h->n_layers + 4 > total)
        return invalid(src, "the layer table of %u layers does not fit in %llu bytes",
                       (unsigned)h->n_layers, (unsigned long long)total);
    for (uint32_t l = 0; l < h->n_layers; l++) {
        const unsigned char *t = p + FIXED_HEADER + LAYER_ENTRY * l;
        uint32_t size = hamp_le32(t);
        h->size[l] = size > INT32_MAX ? -1 : (int32_t)size;
        h->kind[l] = (int32_t)hamp_le32(t + 4);
        h->param[l] = bits_f64(hamp_le64(t + 8));
    }
    if (h->flags & ~FLAG_CLAMPED)
        return invalid(src, "unknown flags 0x%x", (unsigned)h->flags);
    if (!hamp_operator_valid(h->op))
        return invalid(src, "unknown default operator %d", (int)h->op);
    if (!hamp_solver_kind_valid(h->solver))
        return invalid(src, "unknown default solver %d", (int)h->solver);
    if (!(h->tol > 0.0 && h->tol < 1.0) || h->max_iter < 1)
        return invalid(src, "default tolerance %g or iteration count %d out of range", h->tol,
                       (int)h->max_iter);
    uint64_t sum = FIXED_HEADER + LAYER_ENTRY * (uint64_t)h->n_layers + 4;
    for (uint32_t l = 0; l < h->n_layers; l++) {
        if (h->size[l] <= 0)
            return invalid(src, "layer %u has size %d", (unsigned)l, (int)h->size[l]);
        if (!ham_lagrangian_name(h->kind[l]) || h->kind[l] == HAM_LAGRANGIAN_CUSTOM)
            return invalid(src, "layer %u has unknown Lagrangian kind %d", (unsigned)l,
                           (int)h->kind[l]);
        /* +0.0 exactly for the other kinds (not -0.0): one model, one encoding. */
        if (h->kind[l] == HAM_LAGRANGIAN_SOFTMAX
                ? !(isfinite(h->param[l]) && h->param[l] > 0.0)
                : f64_bits(h->param[l]) != 0)
            return invalid(src, "layer %u has Lagrangian parameter %g", (unsigned)l,
                           h->param[l]);
        uint64_t nb = (h->flags & FLAG_CLAMPED) && l == 0 ? 0 : (uint64_t)h->size[l];
        uint64_t nw = 0;
        if (l + 1 < h->n_layers) {
            if (h->size[l + 1] <= 0)
                return invalid(src, "layer %u has size %d", (unsigned)l + 1,
                               (int)h->size[l + 1]);
            nw = (uint64_t)h->size[l] * (uint64_t)h->size[l + 1];
            if (nw > INT32_MAX)
                return invalid(src, "weight block %u has more than 2^31 - 1 entries",
                               (unsigned)l);
        }
        sum += 4 * (nw + nb); /* < 64 x 2^35 in all: no overflow */
    }
    /* Before the length: a forged table is then refused for what ham_model_new refuses. */
    if (hamp_state_len(h->size, (int32_t)h->n_layers, (h->flags & FLAG_CLAMPED) != 0) >
        INT32_MAX)
        return invalid(src, "the free layers' sizes add up to more than 2^31 - 1 (the state "
                            "length)");
    if (sum != total)
        return invalid(src, "the layer sizes make %llu bytes, the %s has %llu",
                       (unsigned long long)sum, src->noun, (unsigned long long)total);
    return HAM_OK;
}

/* Copies n little-endian floats from *q into x and advances *q; 0 if one is not finite. */
static int take_floats(float *x, const unsigned char **q, size_t n)
{
    memcpy(x, *q, n * sizeof *x);
    *q += n * sizeof *x;
    hamp_le_floats(x, n);
    return hamp_check_finite(x, n);
}

int hamp_model_decode(ham_model_t **out, const unsigned char *p, size_t size, const char *name,
                      const char *noun)
{
    source_t src = {name, noun};
    *out = NULL;
    int rc = check_preamble(p, size, &src);
    if (rc != HAM_OK)
        return rc;
    /* size >= MIN_LENGTH and equals the declared length. The checksum comes before the
     * fields: a damaged field is then reported as damage, not as a wrong value. */
    uLong crc = crc_update(crc32(0L, Z_NULL, 0), p, size - 4);
    if (hamp_le32(p + size - 4) != (uint32_t)crc)
        return hamp_fail(HAM_ERR_FORMAT, "%s: checksum mismatch: the %s is corrupted", name,
                         noun);
    header_t h;
    rc = read_header(&h, p, size, &src);
    if (rc != HAM_OK)
        return rc;

    /* The layer sizes account for the bytes at hand: what is allocated now is bounded by
     * size. */
    ham_model_t *m = NULL;
    rc = ham_model_new(&m, (int32_t)h.n_layers, h.size,
                       h.flags & FLAG_CLAMPED ? HAM_MODEL_CLAMPED_INPUT : HAM_MODEL_FREE_INPUT);
    if (rc != HAM_OK)
        return hamp_fail(rc, "%s: cannot create the model: %s", name, ham_last_error());
    for (uint32_t l = 0; l < h.n_layers && rc == HAM_OK; l++)
        rc = ham_model_set_lagrangian(m, (int32_t)l, h.kind[l], h.param[l]);
    if (rc == HAM_OK)
        rc = ham_model_set_defaults(m, h.op, h.solver, h.tol, h.max_iter);
    if (rc != HAM_OK) { /* read_header makes this unreachable */
        rc = invalid(&src, "%s", ham_last_error());
        goto fail;
    }
    const unsigned char *q = p + FIXED_HEADER + LAYER_ENTRY * h.n_layers;
    for (int32_t l = 0; l + 1 < m->n_layers; l++)
        if (!take_floats(m->W[l], &q, hamp_block_len(m, l))) {
            rc = invalid(&src, "weight block %d contains NaN or infinity", (int)l);
            goto fail;
        }
    for (int32_t l = 0; l < m->n_layers; l++)
        if (hamp_layer_free(m, l) && !take_floats(m->b[l], &q, (size_t)m->size[l])) {
            rc = invalid(&src, "the bias of layer %d contains NaN or infinity", (int)l);
            goto fail;
        }
    *out = m;
    return HAM_OK;
fail:
    ham_model_free(m);
    return rc;
}

HAM_API int ham_model_load_buffer(ham_model_t **model, const void *buf, size_t size)
{
    if (!model)
        return hamp_fail(HAM_ERR_NULL, "model buffer: the model output pointer is NULL");
    *model = NULL;
    if (!buf && size > 0)
        return hamp_fail(HAM_ERR_NULL, "model buffer: buf is NULL and size is %zu", size);
    return hamp_model_decode(model, buf, size, "model buffer", "buffer");
}
