/* Helpers of the Modern Hopfield subcommands (see mhn_util.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mhn_util.h"

void mhn_rng_seed(mhn_rng_t *r, uint64_t seed)
{
    r->s = seed;
}

static uint64_t next(mhn_rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double mhn_uniform(mhn_rng_t *r)
{
    return (double)(next(r) >> 11) * 0x1.0p-53;
}

double mhn_gaussian(mhn_rng_t *r)
{
    double u = 1.0 - mhn_uniform(r); /* (0, 1]: log is finite */
    double v = mhn_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

void mhn_xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

int mhn_file_open(mhn_file_t *f, const char *path)
{
    memset(f, 0, sizeof *f);
    size_t len = strlen(path);
    f->tmp = malloc(len + 16);
    if (!f->tmp) {
        cli_error("cannot write %s: out of memory", path);
        return CLI_EXIT_RUNTIME;
    }
    snprintf(f->tmp, len + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        free(f->tmp);
        f->tmp = NULL;
        return CLI_EXIT_RUNTIME;
    }
    f->out = fdopen(fd, "w");
    if (!f->out) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(f->tmp);
        free(f->tmp);
        f->tmp = NULL;
        return CLI_EXIT_RUNTIME;
    }
    f->path = path;
    return 0;
}

void mhn_file_abort(mhn_file_t *f)
{
    if (f->out)
        fclose(f->out);
    if (f->tmp) {
        unlink(f->tmp);
        free(f->tmp);
    }
    memset(f, 0, sizeof *f);
}

int mhn_file_commit(mhn_file_t *f)
{
    int err = 0;
    errno = 0;
    if (fflush(f->out) != 0 || ferror(f->out) || fsync(fileno(f->out)) != 0)
        err = errno ? errno : EIO;
    if (fclose(f->out) != 0 && !err)
        err = errno ? errno : EIO;
    f->out = NULL;
    if (!err) { /* mkstemp makes the file 0600; a plot is an ordinary file */
        mode_t mask = umask(0);
        umask(mask);
        if (chmod(f->tmp, 0666 & ~mask) != 0)
            err = errno;
    }
    if (!err && rename(f->tmp, f->path) != 0)
        err = errno;
    if (err) {
        cli_error("cannot write %s: %s", f->path, strerror(err));
        mhn_file_abort(f);
        return CLI_EXIT_RUNTIME;
    }
    free(f->tmp);
    memset(f, 0, sizeof *f);
    return 0;
}
