/* An SVG file written atomically, and text escaped for it: shared by the residual plot
 * (plot.c) and the Modern Hopfield plots (phase, retrieve). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "svg_file.h"

void cli_svg_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: /* control characters are not allowed in XML 1.0 */
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, out);
        }
    }
}

void cli_svg_begin(FILE *out, double w, double h, const char *attrs, const char *title)
{
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\"%s>\n",
            w, h, w, h, attrs);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", w, h);
    fprintf(out, "<text x=\"%.1f\" y=\"28\" font-size=\"15\" text-anchor=\"middle\">", w / 2);
    cli_svg_text(out, title);
    fprintf(out, "</text>\n");
}

int cli_svg_file_open(cli_svg_file_t *f, const char *path)
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

void cli_svg_file_abort(cli_svg_file_t *f)
{
    if (f->out)
        fclose(f->out);
    if (f->tmp) {
        unlink(f->tmp);
        free(f->tmp);
    }
    memset(f, 0, sizeof *f);
}

int cli_svg_file_commit(cli_svg_file_t *f)
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
        cli_svg_file_abort(f);
        return CLI_EXIT_RUNTIME;
    }
    free(f->tmp);
    memset(f, 0, sizeof *f);
    return 0;
}
