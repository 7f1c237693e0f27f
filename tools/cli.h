/* Shared declarations of the hamdeq command-line tool: exit codes, diagnostics, the
 * subcommand table entry, and the option parser every subcommand uses. */
#ifndef HAMDEQ_TOOLS_CLI_H
#define HAMDEQ_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <hamdeq/hamdeq.h>

/* Exit codes: 0 success, 1 runtime failure (I/O, library error), 2 usage error. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_RUNTIME = 1, CLI_EXIT_USAGE = 2 };

/* ------------------------------------------------------------- diagnostics (args.c) */

/* Name of the running command for messages ("hamdeq" or "hamdeq solve"). */
void cli_set_progname(const char *name);
const char *cli_progname(void);

/* One line on stderr: "<prog>: error: <message>". */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* One line on stderr: "<prog>: note: <message>". */
void cli_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ------------------------------------------------------------ subcommands (main.c) */

typedef struct cli_command {
    const char *name;
    const char *summary;
    /* argv[0] is the subcommand name; returns an exit code. */
    int (*run)(int argc, char **argv);
} cli_command_t;

int cmd_solve(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_phase(int argc, char **argv);
int cmd_retrieve(int argc, char **argv);

/* ------------------------------------------------------------ option parser (args.c) */

typedef enum cli_opt_type {
    CLI_OPT_FLAG,   /* no value; *(int *)dest = 1 */
    CLI_OPT_STRING, /* *(const char **)dest = the value (borrowed from argv) */
    CLI_OPT_INT,    /* *(int64_t *)dest, within [min, max] */
    CLI_OPT_UINT64, /* *(uint64_t *)dest, any 64-bit unsigned value */
    CLI_OPT_DOUBLE  /* *(double *)dest, finite, within [min, max] */
} cli_opt_type_t;

/* One long option. A subcommand describes its options as a table of these; the parser
 * and the help text both come from the table, so they cannot disagree. */
typedef struct cli_opt {
    const char *name;    /* without the leading "--" */
    cli_opt_type_t type;
    void *dest;
    const char *metavar; /* shown in help, e.g. "N" (NULL for flags) */
    const char *help;    /* one line; "(default: ...)" is the caller's to write */
    double min, max;     /* bounds for INT and DOUBLE (ignored when min > max) */
} cli_opt_t;

/* Parses argv[1..argc) against opts ("--name value" or "--name=value"; "--" ends the
 * options). Positional arguments are rejected. "-h"/"--help" sets *help.
 * Returns 0, or CLI_EXIT_USAGE after printing one error line. */
int cli_parse(int argc, char **argv, const cli_opt_t *opts, size_t n_opts, int *help);

/* Prints "Options:" and one aligned line per option, plus --help. */
void cli_print_options(const cli_opt_t *opts, size_t n_opts);

/* Strict number parsing: the whole string must be a number. 0 on success. */
int cli_parse_int64(int64_t *out, const char *s);
int cli_parse_uint64(uint64_t *out, const char *s);
int cli_parse_double(double *out, const char *s);

/* Splits a comma-separated list into at most max_items non-empty items, copied into
 * buf (buflen bytes); items[i] points into buf. Returns the count, or -1 (empty item,
 * too many items, or too long). */
int cli_split_list(char **items, int max_items, char *buf, size_t buflen, const char *list);

/* Sets the number of BLAS threads (threads <= 0: leave the BLAS's own). */
void cli_set_threads(int64_t threads);

/* --------------------------------------------------------------- monotonic time */

double cli_now_ms(void);

#endif /* HAMDEQ_TOOLS_CLI_H */
