/* Model files: the encoding of model_format.c (docs/model-format.md) in a file.
 *
 * Saving writes a temporary file next to the target, fsyncs it, renames it over the
 * target and fsyncs the directory, so readers see the old file or the new one, never a
 * mixture; the encoding streams to the file in bounded chunks, without a second copy of
 * the weights in memory. Loading opens without blocking (a FIFO cannot hang it), refuses
 * anything but a regular file, checks the first bytes (magic, version, length) against
 * the file's size before it reads the rest, then decodes the whole file from memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/io_private.h"

/* Largest single read or write (Linux transfers at most about 2^31 bytes per call). */
#define MAX_IO ((size_t)1 << 30)

/* ------------------------------------------------------------------------ saving */

typedef struct file_sink {
    int fd;
    int error; /* errno of the failed write */
} file_sink_t;

static int to_file(void *ctx, const void *bytes, size_t n)
{
    file_sink_t *f = ctx;
    const unsigned char *p = bytes;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n < MAX_IO ? n : MAX_IO);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            f->error = w < 0 ? errno : EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
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

/* fsync of the directory holding the file whose name is in buf, so that the rename
 * itself is durable. buf is overwritten with the directory's name: it is the
 * temporary name's buffer, free once the rename is done, and always long enough, so this
 * step allocates nothing and cannot fail for want of memory. Opening the directory may
 * be refused (no read permission) or fsync unsupported (EINVAL, EROFS): then the rename
 * stands without it; a failing fsync (EIO) is an error. */
static int sync_dir(char *buf)
{
    char *slash = strrchr(buf, '/');
    if (!slash)
        strcpy(buf, ".");
    else if (slash == buf)
        strcpy(buf, "/");
    else
        *slash = '\0';
    int fd = open(buf, O_RDONLY | O_CLOEXEC);
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

static const char *node_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

HAM_API int ham_model_save(const ham_model_t *model, const char *path)
{
    if (!model || !path)
        return hamp_fail(HAM_ERR_NULL, "model or path is NULL");
    int rc = hamp_model_check_saveable(model, path);
    if (rc != HAM_OK)
        return rc;
    size_t base = strlen(path);
    if (base == 0)
        return hamp_fail(HAM_ERR_IO, "empty model file path");
    /* rename() would replace a FIFO or a device node (as root, /dev/null itself) with a
     * regular file: only a regular file, or a symbolic link (replaced by the file, its
     * target untouched), may be replaced. */
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return hamp_fail(HAM_ERR_IO,
                         "%s: is %s, not a regular file: a model is saved only to a new path, "
                         "a regular file or a symbolic link",
                         path, node_kind(st.st_mode));
    char *tmp = malloc(base + 8);
    if (!tmp)
        return hamp_fail(HAM_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, base);
    memcpy(tmp + base, ".XXXXXX", 8);
    int fd = create_temp(tmp, base);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return hamp_fail(HAM_ERR_IO, "%s: cannot create a temporary file: %s", path,
                         strerror(e));
    }
    /* A replaced file keeps its permissions. */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        (void)fchmod(fd, st.st_mode & 07777);

    const char *step = "write";
    int e = 0;
    file_sink_t sink = {fd, 0};
    if (hamp_model_encode(model, to_file, &sink) != 0) {
        e = sink.error;
        close(fd);
        goto fail;
    }
    if (fsync(fd) != 0) {
        e = errno;
        step = "fsync";
        close(fd);
        goto fail;
    }
    if (close(fd) != 0) {
        e = errno;
        step = "close";
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        step = "rename";
        goto fail;
    }
    rc = sync_dir(tmp) != 0 ? errno : 0;
    free(tmp);
    if (rc != 0)
        return hamp_fail(HAM_ERR_IO, "%s: saved, but syncing its directory failed: %s", path,
                         strerror(rc));
    return HAM_OK;
fail:
    unlink(tmp);
    free(tmp);
    return hamp_fail(HAM_ERR_IO, "%s: %s failed: %s", path, step, strerror(e ? e : EIO));
}

/* ------------------------------------------------------------------------ loading */

/* Reads up to n bytes; returns how many (fewer only at the end of the file), or -1 with
 * errno set. */
static int64_t read_up_to(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < MAX_IO ? n - got : MAX_IO;
        ssize_t r = read(fd, p + got, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

static int read_model(ham_model_t **model, int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return hamp_fail(HAM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hamp_fail(HAM_ERR_IO, "%s: not a regular file", path);
    uint64_t total = (uint64_t)st.st_size;

    /* The first bytes decide whether the rest is worth reading (and allocating). */
    unsigned char pre[HAMP_MODEL_PREAMBLE];
    size_t n_pre = total < sizeof pre ? (size_t)total : sizeof pre;
    int64_t got = read_up_to(fd, pre, n_pre);
    if (got < 0)
        return hamp_fail(HAM_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if ((uint64_t)got < n_pre) /* the file shrank since fstat */
        total = (uint64_t)got;
    int rc = hamp_model_check_preamble(pre, total, path, "file");
    if (rc != HAM_OK)
        return rc;
    /* total >= the smallest model now, which is longer than pre. */
    if (total > SIZE_MAX)
        return hamp_fail(HAM_ERR_NOMEM, "%s: %llu bytes do not fit in memory", path,
                         (unsigned long long)total);
    unsigned char *buf = malloc((size_t)total);
    if (!buf)
        return hamp_fail(HAM_ERR_NOMEM, "%s: out of memory for %llu bytes", path,
                         (unsigned long long)total);
    memcpy(buf, pre, sizeof pre);
    got = read_up_to(fd, buf + sizeof pre, (size_t)total - sizeof pre);
    if (got < 0) {
        rc = hamp_fail(HAM_ERR_IO, "%s: read error: %s", path, strerror(errno));
        free(buf);
        return rc;
    }
    /* A file cut short since fstat decodes as truncated. */
    rc = hamp_model_decode(model, buf, sizeof pre + (size_t)got, path, "file");
    free(buf);
    return rc;
}

HAM_API int ham_model_load(ham_model_t **model, const char *path)
{
    if (!model)
        return hamp_fail(HAM_ERR_NULL, "model output pointer is NULL");
    *model = NULL;
    if (!path)
        return hamp_fail(HAM_ERR_NULL, "path is NULL");
    /* O_NONBLOCK: opening a FIFO or a device must not wait; read_model refuses them. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return hamp_fail(HAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int rc = read_model(model, fd, path);
    close(fd);
    return rc;
}
