/* Reading data files through zlib: gzip or raw, told apart by the content (gzread passes
 * a file that is not gzip through unchanged). A raw file's size is known, so a header's
 * claim is checked against it before anything is allocated; a gzip stream's decompressed
 * size is not, so bodies grow as data arrives and a forged header runs into the end of
 * the stream long before it can cause a large allocation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/io_private.h"

/* First allocation for a gzip body; doubled as data arrives. */
#define FIRST_CHUNK ((size_t)1 << 20)
/* zlib's input buffer (its output buffer is twice as large): 128 KiB reads whole
 * datasets in few system calls. The fuzzing build (tests/fuzz) uses 32 KiB, so that
 * ASan serves zlib's buffers from its pools instead of mapping and unmapping them on
 * every input, which made the dataset fuzzers 3.5x slower. */
#ifndef HAMP_GZ_BUFFER
#define HAMP_GZ_BUFFER (128 * 1024)
#endif
/* Largest single gzread (its length is an unsigned int, its result an int). */
#define MAX_READ ((size_t)1 << 30)

int hamp_rfile_open(hamp_rfile_t *f, const char *path, hamp_budget_t *budget)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->budget = budget;
    /* O_NONBLOCK: opening a FIFO without a writer (or a device) must not wait; it is
     * refused below. Cleared again before reading a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return hamp_fail(HAM_ERR_IO, "%s: cannot open: %s", path,
                           strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return hamp_fail(HAM_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return hamp_fail(HAM_ERR_IO, "%s: not a regular file", path);
    }
    f->size = (uint64_t)st.st_size;
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return hamp_fail(HAM_ERR_NOMEM, "%s: cannot set up decompression",
                           path);
    }
    gzbuffer(gz, HAMP_GZ_BUFFER);
    f->gz = gz;
    /* Reads the first bytes to decide; a raw file is then read through unchanged. */
    f->direct = gzdirect(gz);
    return HAM_OK;
}

void hamp_rfile_close(hamp_rfile_t *f)
{
    if (f->gz)
        gzclose_r(f->gz); /* closes the descriptor too */
    f->gz = NULL;
}

/* zlib's message for the stream's error state, or errno's. */
static int read_failure(hamp_rfile_t *f, const char *what)
{
    int zerr = Z_OK;
    const char *msg = gzerror(f->gz, &zerr);
    if (zerr == Z_ERRNO)
        return hamp_fail(HAM_ERR_IO, "%s: read error in %s: %s", f->path,
                           what, strerror(errno));
    if (zerr == Z_MEM_ERROR)
        return hamp_fail(HAM_ERR_NOMEM, "%s: out of memory decompressing",
                           f->path);
    /* zlib prefixes its message with the name it knows the stream by: "<fd:N>" for a
     * descriptor handed to gzdopen (or the path, for gzopen). Ours names the file. */
    size_t n = strlen(f->path);
    if (msg && strncmp(msg, f->path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    else if (msg && strncmp(msg, "<fd:", 4) == 0) {
        const char *end = strstr(msg, ">: ");
        if (end)
            msg = end + 3;
    }
    if (zerr == Z_BUF_ERROR)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: truncated: the gzip stream ends inside %s", f->path, what);
    return hamp_fail(HAM_ERR_FORMAT, "%s: corrupt gzip data in %s (%s)",
                       f->path, what, msg && *msg ? msg : "unknown zlib error");
}

/* Reads up to len bytes; returns how many (fewer only at the end of the data), or -1
 * after writing the message. */
static int64_t read_some(hamp_rfile_t *f, void *buf, size_t len, const char *what, int *rc)
{
    size_t got = 0;
    while (got < len) {
        size_t want = len - got < MAX_READ ? len - got : MAX_READ;
        int r = gzread(f->gz, (unsigned char *)buf + got, (unsigned)want);
        if (r < 0) {
            *rc = read_failure(f, what);
            return -1;
        }
        if (r == 0) {
            int zerr = Z_OK;
            gzerror(f->gz, &zerr);
            if (zerr != Z_OK) {
                *rc = read_failure(f, what);
                return -1;
            }
            break;
        }
        got += (size_t)r;
    }
    f->pos += got;
    return (int64_t)got;
}

int hamp_rfile_read(hamp_rfile_t *f, void *buf, size_t len, const char *what)
{
    int rc = HAM_OK;
    int64_t got = read_some(f, buf, len, what, &rc);
    if (got < 0)
        return rc;
    if ((uint64_t)got < len)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: truncated: %s needs %zu bytes, the file ends after %lld", f->path,
                           what, len, (long long)got);
    return HAM_OK;
}

int hamp_rfile_read_body(hamp_rfile_t *f, void **out, uint64_t len, const char *what)
{
    *out = NULL;
    if (len > SIZE_MAX)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: %s of %llu bytes is too large for this platform", f->path, what,
                           (unsigned long long)len);
    if (f->direct && len > f->size - (f->pos < f->size ? f->pos : f->size))
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: truncated: the header declares %llu bytes of %s, the file has "
                           "%llu after the header",
                           f->path, (unsigned long long)len, what,
                           (unsigned long long)(f->size > f->pos ? f->size - f->pos : 0));
    int rc = hamp_budget_take(f->budget, len, f->path, what);
    if (rc != HAM_OK)
        return rc;
    size_t n = (size_t)len;
    /* Raw: the size check above bounds the allocation. Gzip: start small and double. */
    size_t cap = f->direct || n < FIRST_CHUNK ? n : FIRST_CHUNK;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return hamp_fail(HAM_ERR_NOMEM,
                           "%s: out of memory for %zu bytes of %s", f->path, cap, what);
    size_t have = 0;
    for (;;) {
        int64_t got = read_some(f, buf + have, cap - have, what, &rc);
        if (got < 0) {
            free(buf);
            return rc;
        }
        have += (size_t)got;
        if (have < cap) {
            free(buf);
            return hamp_fail(HAM_ERR_FORMAT,
                               "%s: truncated: the header declares %zu bytes of %s, the data "
                               "ends after %zu",
                               f->path, n, what, have);
        }
        if (have == n)
            break;
        size_t next = cap > n / 2 ? n : 2 * cap;
        unsigned char *grown = realloc(buf, next);
        if (!grown) {
            free(buf);
            return hamp_fail(HAM_ERR_NOMEM,
                               "%s: out of memory for %zu bytes of %s", f->path, next, what);
        }
        buf = grown;
        cap = next;
    }
    *out = buf;
    return HAM_OK;
}

int hamp_rfile_expect_end(hamp_rfile_t *f)
{
    /* Reading past the end also makes zlib check the gzip trailer (CRC and length). */
    unsigned char extra[64];
    int rc = HAM_OK;
    int64_t got = read_some(f, extra, sizeof extra, "the end of the data", &rc);
    if (got < 0)
        return rc;
    if (got > 0)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: trailing data after the %llu bytes the header accounts for",
                           f->path, (unsigned long long)(f->pos - (uint64_t)got));
    return HAM_OK;
}
