#define _GNU_SOURCE
#include "fuzz_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hamdeq/hamdeq.h>

long fz_loaded;

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz property violated: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static int open_file(fz_file_t *f)
{
#if defined(__linux__) && defined(MFD_CLOEXEC)
    f->fd = memfd_create("hamdeq-fuzz", MFD_CLOEXEC);
    if (f->fd >= 0) {
        snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
        if (access(f->path, R_OK) == 0)
            return 0;
        close(f->fd);
    }
#endif
    const char *dir = getenv("TMPDIR");
    snprintf(f->path, sizeof f->path, "%s/hamdeq-fuzz-XXXXXX",
             dir && strlen(dir) < 32 ? dir : "/tmp");
    f->fd = mkstemp(f->path);
    if (f->fd < 0)
        fz_fail("cannot create a file for the input: %s", strerror(errno));
    unlink(f->path); /* gone when the process ends; recreated under the same name below */
    close(f->fd);
    f->fd = -2;
    return 0;
}

const char *fz_file_set(fz_file_t *f, const uint8_t *data, size_t size)
{
    if (f->path[0] == '\0')
        open_file(f);
    if (f->fd == -2) { /* a temporary file, rewritten whole */
        FILE *out = fopen(f->path, "wb");
        if (!out || (size && fwrite(data, 1, size, out) != size) || fclose(out) != 0)
            fz_fail("cannot write %s", f->path);
        return f->path;
    }
    if (ftruncate(f->fd, 0) != 0)
        fz_fail("ftruncate: %s", strerror(errno));
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(f->fd, data + done, size - done, (off_t)done);
        if (w <= 0)
            fz_fail("pwrite: %s", strerror(errno));
        done += (size_t)w;
    }
    return f->path;
}

void fz_check_status(int rc, const char *what)
{
    if (rc == HAM_OK)
        return;
    if (strcmp(ham_status_name(rc), "HAM_UNKNOWN") == 0 || rc > 0)
        fz_fail("%s returned %d, not a status", what, rc);
    const char *msg = ham_last_error();
    if (!msg[0] || strchr(msg, '\n'))
        fz_fail("%s failed with %s and message '%s' (empty or several lines)", what,
                ham_status_name(rc), msg);
}

const struct ham_load_options *fz_load_options(unsigned selector)
{
    static const ham_load_options_t opts[4] = {
        {sizeof(ham_load_options_t), 0, 0},
        {sizeof(ham_load_options_t), 0, 64},
        {sizeof(ham_load_options_t), 0, 4096},
        {sizeof(ham_load_options_t), 0, UINT64_MAX},
    };
    return selector == 0 ? NULL : &opts[selector & 3];
}

int fz_split(fz_frame_t *fr, const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    fr->flags = data[0];
    size_t n = (size_t)data[1] | (size_t)data[2] << 8;
    size_t rest = size - 3;
    fr->first = data + 3;
    fr->first_len = n < rest ? n : rest;
    if (!(fr->flags & 1))
        fr->first_len = rest; /* one file: all of it */
    fr->second = fr->first + fr->first_len;
    fr->second_len = rest - fr->first_len;
    return 1;
}

void fz_check_dataset(const ham_dataset_t *ds, int labelled)
{
    int64_t n = ham_dataset_count(ds);
    int32_t dim = ham_dataset_dim(ds);
    if (n <= 0 || dim <= 0 || ham_dataset_has_labels(ds) != labelled)
        fz_fail("dataset of %lld x %d, labels %d", (long long)n, (int)dim,
                (int)ham_dataset_has_labels(ds));
    int32_t classes = ham_dataset_n_classes(ds);
    if (labelled ? classes <= 0 : classes != 0)
        fz_fail("%d classes", (int)classes);
    float *x = malloc((size_t)dim * sizeof *x);
    if (!x)
        return;
    int64_t step = n > 1024 ? n / 1024 : 1;
    for (int64_t i = 0;; i += step) {
        if (i > n - 1)
            i = n - 1; /* the last sample is always checked */
        int32_t y = -1;
        if (ham_dataset_get(x, labelled ? &y : NULL, ds, i, 1) != HAM_OK)
            fz_fail("get of sample %lld: %s", (long long)i, ham_last_error());
        for (int32_t j = 0; j < dim; j++)
            if (!isfinite(x[j]))
                fz_fail("sample %lld value %d is not finite", (long long)i, (int)j);
        if (labelled && (y < 0 || y >= classes))
            fz_fail("label %d outside [0, %d)", (int)y, (int)classes);
        if (i == n - 1)
            break;
    }
    /* one past the end is refused */
    if (ham_dataset_get(x, NULL, ds, n, 1) != HAM_ERR_INVALID)
        fz_fail("get past the end did not fail");
    free(x);
}

int fz_dataset_one(const uint8_t *data, size_t size, fz_dataset_loader_t load,
                   const char *name)
{
    static fz_file_t data_file, labels_file;
    fz_frame_t fr;
    if (!fz_split(&fr, data, size))
        return 0;
    const char *path = fz_file_set(&data_file, fr.first, fr.first_len);
    const char *labels = NULL;
    if (fr.flags & 1)
        labels = fz_file_set(&labels_file, fr.second, fr.second_len);
    ham_dataset_t *ds = (ham_dataset_t *)&ds;
    int rc = load(&ds, path, labels, fz_load_options((fr.flags >> 1) & 3));
    fz_check_status(rc, name);
    if (rc != HAM_OK) {
        if (ds != NULL)
            fz_fail("failed load left the dataset pointer set");
        if (rc != HAM_ERR_FORMAT && rc != HAM_ERR_NOMEM)
            fz_fail("load: %s (%s)", ham_status_name(rc), ham_last_error());
        return 0;
    }
    fz_loaded++;
    fz_check_dataset(ds, labels != NULL);
    ham_dataset_free(ds);
    return 0;
}
