/* The options several subcommands share, each defined once: its name, type, metavar and
 * bounds. The help line says the command's default, so it stays the caller's. */
#include "cli.h"

cli_opt_t cli_opt_threads(int64_t *dest)
{
    return (cli_opt_t){.name = "threads", .type = CLI_OPT_INT, .dest = dest, .metavar = "N",
                       .help = "BLAS threads (default: the BLAS's own)", .min = 1, .max = 4096};
}

cli_opt_t cli_opt_json(int *dest, const char *help)
{
    return (cli_opt_t){.name = "json", .type = CLI_OPT_FLAG, .dest = dest, .help = help};
}

cli_opt_t cli_opt_seed(uint64_t *dest, const char *help)
{
    return (cli_opt_t){.name = "seed", .type = CLI_OPT_UINT64, .dest = dest, .metavar = "S",
                       .help = help};
}

cli_opt_t cli_opt_tol(double *dest, const char *help)
{
    return (cli_opt_t){.name = "tol", .type = CLI_OPT_DOUBLE, .dest = dest, .metavar = "T",
                       .help = help, .min = 0, .max = 1, .flags = CLI_OPEN_MIN | CLI_OPEN_MAX};
}

cli_opt_t cli_opt_max_iter(int64_t *dest, const char *help)
{
    return (cli_opt_t){.name = "max-iter", .type = CLI_OPT_INT, .dest = dest, .metavar = "N",
                       .help = help, .min = 1, .max = 1e6};
}

cli_opt_t cli_opt_batch(int64_t *dest, const char *help)
{
    return (cli_opt_t){.name = "batch", .type = CLI_OPT_INT, .dest = dest, .metavar = "N",
                       .help = help, .min = 1, .max = 1 << 20};
}

cli_opt_t cli_opt_data(const char **dest, const char *help, const char *required)
{
    return (cli_opt_t){.name = "data", .type = CLI_OPT_STRING, .dest = dest, .metavar = "DIR",
                       .help = help, .required = required};
}

cli_opt_t cli_opt_npy(const char **dest, const char *name, const char *help)
{
    return (cli_opt_t){.name = name, .type = CLI_OPT_STRING, .dest = dest, .metavar = "FILE.npy",
                       .help = help};
}

cli_opt_t cli_opt_plot(const char **dest, const char *help)
{
    return (cli_opt_t){.name = "plot", .type = CLI_OPT_STRING, .dest = dest,
                       .metavar = "FILE.svg", .help = help};
}

cli_opt_t cli_opt_operator(int32_t *dest, const char *help)
{
    return (cli_opt_t){.name = "operator", .type = CLI_OPT_OPERATOR, .dest = dest,
                       .metavar = "sync|even-odd", .help = help};
}

cli_opt_t cli_opt_solver(int32_t *dest, const char *help)
{
    return (cli_opt_t){.name = "solver", .type = CLI_OPT_SOLVER, .dest = dest, .metavar = "NAME",
                       .help = help};
}

cli_opt_t cli_opt_variant(const cli_variant_t **dest, const char *help)
{
    return (cli_opt_t){.name = "variant", .type = CLI_OPT_VARIANT, .dest = dest,
                       .metavar = "NAME", .help = help};
}

cli_opt_t cli_opt_solvers(cli_list_t *dest)
{
    return (cli_opt_t){.name = "solvers", .type = CLI_OPT_SOLVERS, .dest = dest,
                       .metavar = "LIST",
                       .help = "solvers to run: picard,anderson,broyden,newton (default: all)",
                       .def = "picard,anderson,broyden,newton"};
}

cli_opt_t cli_opt_variants(cli_variant_list_t *dest, const char *help)
{
    return (cli_opt_t){.name = "variants", .type = CLI_OPT_VARIANTS, .dest = dest,
                       .metavar = "LIST", .help = help, .def = "all"};
}

cli_opt_t cli_opt_flagged(cli_opt_t opt, unsigned flags)
{
    opt.flags |= flags;
    return opt;
}
