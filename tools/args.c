/* Diagnostics and the table-driven option parser shared by every subcommand. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef HAMDEQ_HAVE_OPENBLAS_SET_NUM_THREADS
void openblas_set_num_threads(int num_threads);
#endif

static const char *progname = "hamdeq";

void cli_set_progname(const char *name)
{
    progname = name;
}

const char *cli_progname(void)
{
    return progname;
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s: ", progname, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("error", fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("note", fmt, ap);
    va_end(ap);
}

int cli_parse_int64(int64_t *out, const char *s)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int cli_parse_uint64(uint64_t *out, const char *s)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || end == s)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(double *out, const char *s)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_split_list(char **items, int max_items, char *buf, size_t buflen, const char *list)
{
    size_t len = strlen(list);
    if (len == 0 || len >= buflen)
        return -1;
    memcpy(buf, list, len + 1);
    int n = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0' || n == max_items)
            return -1;
        items[n++] = p;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static const cli_opt_t *find_opt(const cli_opt_t *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int bounded(const cli_opt_t *o)
{
    return o->min <= o->max;
}

static int set_value(const cli_opt_t *o, const char *value)
{
    switch (o->type) {
    case CLI_OPT_STRING:
        *(const char **)o->dest = value;
        return 0;
    case CLI_OPT_INT: {
        int64_t v;
        if (cli_parse_int64(&v, value)) {
            cli_error("--%s expects an integer, got '%s'", o->name, value);
            return CLI_EXIT_USAGE;
        }
        if (bounded(o) && ((double)v < o->min || (double)v > o->max)) {
            cli_error("--%s must be in [%.0f, %.0f], got %s", o->name, o->min, o->max, value);
            return CLI_EXIT_USAGE;
        }
        *(int64_t *)o->dest = v;
        return 0;
    }
    case CLI_OPT_UINT64: {
        uint64_t v;
        if (cli_parse_uint64(&v, value)) {
            cli_error("--%s expects a non-negative integer, got '%s'", o->name, value);
            return CLI_EXIT_USAGE;
        }
        *(uint64_t *)o->dest = v;
        return 0;
    }
    case CLI_OPT_DOUBLE: {
        double v;
        if (cli_parse_double(&v, value)) {
            cli_error("--%s expects a finite number, got '%s'", o->name, value);
            return CLI_EXIT_USAGE;
        }
        if (bounded(o) && (v < o->min || v > o->max)) {
            cli_error("--%s must be in [%g, %g], got %s", o->name, o->min, o->max, value);
            return CLI_EXIT_USAGE;
        }
        *(double *)o->dest = v;
        return 0;
    }
    case CLI_OPT_FLAG:
        break;
    }
    return CLI_EXIT_USAGE;
}

int cli_parse(int argc, char **argv, const cli_opt_t *opts, size_t n_opts, int *help)
{
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = 1;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc) {
                cli_error("unexpected argument '%s'", argv[i + 1]);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        if (strncmp(arg, "--", 2) != 0) {
            cli_error("unexpected argument '%s' (options start with --; see --help)", arg);
            return CLI_EXIT_USAGE;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt_t *o = find_opt(opts, n_opts, name, len);
        if (!o) {
            cli_error("unknown option '--%.*s' (see --help)", (int)len, name);
            return CLI_EXIT_USAGE;
        }
        if (o->type == CLI_OPT_FLAG) {
            if (eq) {
                cli_error("option '--%s' takes no value", o->name);
                return CLI_EXIT_USAGE;
            }
            *(int *)o->dest = 1;
            continue;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                cli_error("option '--%s' needs a value", o->name);
                return CLI_EXIT_USAGE;
            }
            value = argv[++i];
        }
        int rc = set_value(o, value);
        if (rc)
            return rc;
    }
    return 0;
}

void cli_print_options(const cli_opt_t *opts, size_t n_opts)
{
    size_t width = strlen("-h, --help");
    char left[128];
    for (size_t i = 0; i < n_opts; i++) {
        int n = snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                         opts[i].metavar ? opts[i].metavar : "");
        if (n > 0 && (size_t)n > width)
            width = (size_t)n;
    }
    printf("Options:\n");
    for (size_t i = 0; i < n_opts; i++) {
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                 opts[i].metavar ? opts[i].metavar : "");
        printf("  %-*s  %s\n", (int)width, left, opts[i].help);
    }
    printf("  %-*s  %s\n", (int)width, "-h, --help", "show this help and exit");
}

void cli_set_threads(int64_t threads)
{
    if (threads <= 0)
        return;
#ifdef HAMDEQ_HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads((int)threads);
#else
    char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)threads);
    setenv("OPENBLAS_NUM_THREADS", buf, 1);
    setenv("OMP_NUM_THREADS", buf, 1);
    cli_note("this BLAS has no openblas_set_num_threads(); --threads only sets "
             "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS, which a BLAS may read only at start-up");
#endif
}
