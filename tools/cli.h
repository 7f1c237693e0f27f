/* Shared declarations of the hamdeq command-line tool: exit codes, diagnostics, the
 * subcommand table entry, and the option parser every subcommand uses. */
#ifndef HAMDEQ_TOOLS_CLI_H
#define HAMDEQ_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <hamdeq/hamdeq.h>

#include "variants.h"

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
    CLI_OPT_INT,    /* *(int64_t *)dest */
    CLI_OPT_UINT64, /* *(uint64_t *)dest, any 64-bit unsigned value */
    CLI_OPT_DOUBLE, /* *(double *)dest, finite */
    /* Names (names.c), converted once the whole command line is read, so that --help
     * always wins; `def` is converted when the option is not given. */
    CLI_OPT_OPERATOR,  /* *(int32_t *)dest: "sync" or "even-odd" */
    CLI_OPT_SOLVER,    /* *(int32_t *)dest: "picard", "anderson", "broyden", "newton" */
    CLI_OPT_VARIANT,   /* *(const cli_variant_t **)dest: one of cli_variants */
    CLI_OPT_OPERATORS, /* *(cli_list_t *)dest: a comma list of operators */
    CLI_OPT_SOLVERS,   /* *(cli_list_t *)dest: a comma list of solvers */
    CLI_OPT_VARIANTS   /* *(cli_variant_list_t *)dest: a comma list of variants, or "all" */
} cli_opt_type_t;

/* cli_opt_t.flags */
enum {
    CLI_OPEN_MIN = 1u << 0, /* INT, DOUBLE: min itself is out of range */
    CLI_OPEN_MAX = 1u << 1, /* INT, DOUBLE: max itself is out of range */
    CLI_NONEMPTY = 1u << 2, /* STRING: a file name, "" is refused */
    CLI_SAY_NAME = 1u << 3  /* a name type: an unknown value is an "unknown name" */
};

/* One long option. A subcommand describes its options as a table of these; the parser,
 * the checks and the help text all come from the table, so they cannot disagree.
 * Fields left out of a designated initialiser mean "none". */
typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    cli_opt_type_t type;
    void *dest;
    const char *metavar;  /* shown in help, e.g. "N" (NULL for flags) */
    const char *help;     /* one line; "(default: ...)" is the caller's to write */
    double min, max;      /* INT, DOUBLE: bounds, checked when min < max */
    unsigned flags;       /* CLI_OPEN_MIN, ... */
    const char *required; /* non-NULL: the option must be given; a non-empty text says
                             what it is in the error ("an MNIST-style directory") */
    const char *def;      /* name types: the text converted when the option is not given
                             (NULL: *dest keeps its value) */
} cli_opt_t;

/* A comma list of operators or solvers (CLI_OPT_OPERATORS, CLI_OPT_SOLVERS): distinct
 * values, in the order given. */
typedef struct cli_list {
    int n;
    int32_t item[8];
} cli_list_t;

/* A subcommand's help, the other half of its description: the options table comes
 * apart, as it points at the command's local variables. */
typedef struct cli_command_spec {
    const char *usage;          /* after "Usage: ", e.g. "hamdeq eval --model FILE [options]" */
    const char *description;    /* lines, each ending in '\n' */
    const char *notes;          /* after the options: output formats, remarks (may be NULL) */
    const char *runtime_errors; /* causes of exit status 1, e.g. "data, library" (may be NULL) */
    const char *examples;       /* command lines, one per line (printed indented) */
} cli_command_spec_t;

/* cli_parse_command()'s "go on": the options are parsed and checked. */
#define CLI_PARSED (-1)

#define CLI_N_OPTS(table) (sizeof(table) / sizeof((table)[0]))

/* Most options a command's table may hold. */
#define CLI_MAX_OPTS 64

/* A numeric macro as a string literal, for help texts that quote a constant. */
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x

/* Parses argv[1..argc) against opts ("--name value" or "--name=value"; "--" ends the
 * options; positional arguments are refused; values are range-checked as they are read),
 * then checks, in table order, that the required options were given and converts the
 * name types. "-h"/"--help" prints the help instead. Returns CLI_PARSED, CLI_EXIT_OK
 * after the help, or CLI_EXIT_USAGE after one error line: anything but CLI_PARSED is the
 * command's exit code. */
int cli_parse_command(const cli_command_spec_t *spec, const cli_opt_t *opts, size_t n_opts,
                      int argc, char **argv);

/* The help: usage, description, options, notes, exit status and examples. */
void cli_print_help(const cli_command_spec_t *spec, const cli_opt_t *opts, size_t n_opts);

/* Converts a name type's text into opt->dest (names.c). Returns 0, or CLI_EXIT_USAGE
 * after one error line. */
int cli_convert_names(const cli_opt_t *opt, const char *text);

/* ------------------------------------- options several subcommands share (options.c) */

/* Each returns the option's one definition (name, type, metavar, bounds); the help line,
 * which says the command's default, is the caller's. A single name's default is what
 * *dest holds before parsing. */
cli_opt_t cli_opt_threads(int64_t *dest);                   /* --threads N, BLAS threads */
cli_opt_t cli_opt_json(int *dest, const char *help);         /* --json */
cli_opt_t cli_opt_seed(uint64_t *dest, const char *help);    /* --seed S */
cli_opt_t cli_opt_tol(double *dest, const char *help);       /* --tol T, in (0, 1) */
cli_opt_t cli_opt_max_iter(int64_t *dest, const char *help); /* --max-iter N, 1 .. 1e6 */
cli_opt_t cli_opt_batch(int64_t *dest, const char *help);    /* --batch N, 1 .. 2^20 */
cli_opt_t cli_opt_plot(const char **dest, const char *help); /* --plot FILE.svg */
/* --data DIR; `required`: as cli_opt_t.required */
cli_opt_t cli_opt_data(const char **dest, const char *help, const char *required);
/* --NAME FILE.npy: one of the .npy files of train and eval (--train-x, --test-y, ...) */
cli_opt_t cli_opt_npy(const char **dest, const char *name, const char *help);
cli_opt_t cli_opt_operator(int32_t *dest, const char *help);               /* --operator */
cli_opt_t cli_opt_solver(int32_t *dest, const char *help);                 /* --solver NAME */
cli_opt_t cli_opt_variant(const cli_variant_t **dest, const char *help);   /* --variant NAME */
cli_opt_t cli_opt_solvers(cli_list_t *dest); /* --solvers LIST, default all four */
cli_opt_t cli_opt_variants(cli_variant_list_t *dest, const char *help); /* default all */

/* opt with `flags` added: for a shared option that one command asks more of. */
cli_opt_t cli_opt_flagged(cli_opt_t opt, unsigned flags);

/* -------------------------------------------------------------- helpers (args.c) */

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

/* A JSON number for a field documented as float: "%.6g", with ".0" added when that
 * reads as an integer ("4" -> "4.0"), and null when v is not finite. Returns buf. */
const char *cli_json_float(char *buf, size_t len, double v);

/* --------------------------------------------------------------- monotonic time */

double cli_now_ms(void);

#endif /* HAMDEQ_TOOLS_CLI_H */
