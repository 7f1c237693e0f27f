/* Diagnostics and the table-driven option parser shared by every subcommand: a command
 * describes itself once (cli_command_spec_t) and cli_parse_command() reads the command
 * line, prints the help, checks required options and converts names from it. */
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

static int is_name_type(cli_opt_type_t t)
{
    return t >= CLI_OPT_OPERATOR;
}

/* "[1, 4096]", "(0, 1)", "(0, 1e+06]": integers without decimals. */
static int out_of_range(const cli_opt_t *o, double v, const char *value)
{
    if (!(o->min < o->max))
        return 0;
    int open_min = (o->flags & CLI_OPEN_MIN) != 0, open_max = (o->flags & CLI_OPEN_MAX) != 0;
    if (!(open_min ? v <= o->min : v < o->min) && !(open_max ? v >= o->max : v > o->max))
        return 0;
    const char *fmt = o->type == CLI_OPT_INT ? "%.0f" : "%g";
    char lo[48], hi[48];
    snprintf(lo, sizeof lo, fmt, o->min);
    snprintf(hi, sizeof hi, fmt, o->max);
    cli_error("--%s must be in %c%s, %s%c, got %s", o->name, open_min ? '(' : '[', lo, hi,
              open_max ? ')' : ']', value);
    return 1;
}

/* Stores a value as it is read; name types only keep their text (*text). */
static int set_value(const cli_opt_t *o, const char *value, const char **text)
{
    if (is_name_type(o->type)) {
        *text = value;
        return 0;
    }
    switch (o->type) {
    case CLI_OPT_STRING:
        if ((o->flags & CLI_NONEMPTY) && !*value) {
            cli_error("--%s needs a file name", o->name);
            return CLI_EXIT_USAGE;
        }
        *(const char **)o->dest = value;
        return 0;
    case CLI_OPT_INT: {
        int64_t v;
        if (cli_parse_int64(&v, value)) {
            cli_error("--%s expects an integer, got '%s'", o->name, value);
            return CLI_EXIT_USAGE;
        }
        if (out_of_range(o, (double)v, value))
            return CLI_EXIT_USAGE;
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
        if (out_of_range(o, v, value))
            return CLI_EXIT_USAGE;
        *(double *)o->dest = v;
        return 0;
    }
    default:
        break;
    }
    return CLI_EXIT_USAGE;
}

/* Reads argv: values are stored and range-checked as they come; given[i] and text[i]
 * record, per option, whether it was given and a name type's text. */
static int scan(int argc, char **argv, const cli_opt_t *opts, size_t n_opts, int *help,
                unsigned char *given, const char **text)
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
        size_t k = (size_t)(o - opts);
        given[k] = 1;
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
        int rc = set_value(o, value, &text[k]);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_parse_command(const cli_command_spec_t *spec, const cli_opt_t *opts, size_t n_opts,
                      int argc, char **argv)
{
    unsigned char given[CLI_MAX_OPTS] = {0};
    const char *text[CLI_MAX_OPTS] = {0};
    if (n_opts > CLI_MAX_OPTS) { /* a table this long is a bug of the command, not of its user */
        cli_error("internal error: %zu options, at most %d", n_opts, CLI_MAX_OPTS);
        return CLI_EXIT_RUNTIME;
    }
    int help;
    int rc = scan(argc, argv, opts, n_opts, &help, given, text);
    if (rc)
        return rc;
    if (help) {
        cli_print_help(spec, opts, n_opts);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n_opts; i++) {
        const cli_opt_t *o = &opts[i];
        if (o->required && !given[i]) {
            if (*o->required)
                cli_error("--%s %s is required (%s)", o->name, o->metavar, o->required);
            else
                cli_error("--%s %s is required", o->name, o->metavar);
            return CLI_EXIT_USAGE;
        }
        const char *t = given[i] ? text[i] : o->def;
        if (is_name_type(o->type) && t && (rc = cli_convert_names(o, t)) != 0)
            return rc;
    }
    return CLI_PARSED;
}

/* ------------------------------------------------------------------------- help */

static void option_left(char *buf, size_t len, const cli_opt_t *o)
{
    snprintf(buf, len, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

static void print_options(const cli_opt_t *opts, size_t n_opts)
{
    size_t width = strlen("-h, --help");
    char left[128];
    for (size_t i = 0; i < n_opts; i++) {
        option_left(left, sizeof left, &opts[i]);
        if (strlen(left) > width)
            width = strlen(left);
    }
    printf("Options:\n");
    for (size_t i = 0; i < n_opts; i++) {
        option_left(left, sizeof left, &opts[i]);
        printf("  %-*s  %s\n", (int)width, left, opts[i].help);
    }
    printf("  %-*s  %s\n", (int)width, "-h, --help", "show this help and exit");
}

void cli_print_help(const cli_command_spec_t *spec, const cli_opt_t *opts, size_t n_opts)
{
    printf("Usage: %s\n\n%s\n", spec->usage, spec->description);
    print_options(opts, n_opts);
    if (spec->notes)
        printf("\n%s", spec->notes);
    printf("\nExit status: 0 success, 1 runtime error%s%s%s, 2 usage error.\n",
           spec->runtime_errors ? " (" : "", spec->runtime_errors ? spec->runtime_errors : "",
           spec->runtime_errors ? ")" : "");
    if (!spec->examples)
        return;
    printf("\nExamples:\n");
    for (const char *p = spec->examples; *p;) {
        size_t len = strcspn(p, "\n");
        printf("  %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

static int64_t sample_threads;

void cli_set_threads(int64_t threads)
{
    sample_threads = threads;
}

double cli_threads(void)
{
    return (double)sample_threads;
}

void cli_set_blas_threads(int64_t threads)
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
    cli_note("this BLAS has no openblas_set_num_threads(); --blas-threads only sets "
             "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS, which a BLAS may read only at start-up");
#endif
}

const char *cli_json_float(char *buf, size_t len, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "null");
        return buf;
    }
    int n = snprintf(buf, len, "%.6g", v);
    if (n > 0 && (size_t)n + 2 < len && !strpbrk(buf, ".e"))
        memcpy(buf + n, ".0", 3);
    return buf;
}
