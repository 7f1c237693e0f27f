/* hamdeq: the command-line front end of libhamdeq. main() only dispatches: each
 * subcommand lives in its own cmd_<name>.c and parses its own options (args.c). New
 * subcommands (train, eval, bench, phase, retrieve) are one line in the table below. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef HAMDEQ_TOOL_VERSION
#define HAMDEQ_TOOL_VERSION "unknown"
#endif

static const cli_command_t commands[] = {
    {"solve", "solve a model's fixed point with every operator x solver; print a table",
     cmd_solve},
    {"train", "train a HAM through its fixed point on MNIST-style data; evaluate it", cmd_train},
    {"eval", "evaluate a saved model on the test split: accuracy and iterations", cmd_eval},
    {"bench", "the paper's Table 1: train and evaluate every variant", cmd_bench},
    {"phase", "Modern Hopfield network: minima against the inverse temperature beta",
     cmd_phase},
    {"retrieve", "Modern Hopfield network: retrieve corrupted images, accuracy against beta",
     cmd_retrieve},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hamdeq <command> [options]\n"
            "       hamdeq --help | --version\n"
            "\n"
            "Hierarchical Associative Memories solved as Deep Equilibrium Models.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s %s\n", "help", "show this help, or a command's ('hamdeq help solve')");
    fprintf(out, "\nRun 'hamdeq <command> --help' for a command's options.\n"
                 "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static const cli_command_t *find_command(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int run_command(const cli_command_t *cmd, int argc, char **argv)
{
    static char name[64];
    snprintf(name, sizeof name, "hamdeq %s", cmd->name);
    cli_set_progname(name);
    return cmd->run(argc, argv);
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    /* A closed or full stdout is a runtime error, not a silent success. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_EXIT_OK) {
        cli_error("cannot write the output");
        rc = CLI_EXIT_RUNTIME;
    }
    return rc;
}

static int dispatch(int argc, char **argv)
{
    cli_set_progname("hamdeq");
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
        printf("hamdeq %s (libhamdeq %s)\n", HAMDEQ_TOOL_VERSION, ham_version_string());
        return CLI_EXIT_OK;
    }
    if (strcmp(arg, "help") == 0) {
        if (argc == 2) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        const cli_command_t *cmd = find_command(argv[2]);
        if (!cmd || argc > 3) {
            cli_error("'help' takes one command name; commands: see 'hamdeq --help'");
            return CLI_EXIT_USAGE;
        }
        static char help_flag[] = "--help";
        char *help_argv[] = {argv[2], help_flag, NULL};
        return run_command(cmd, 2, help_argv);
    }
    const cli_command_t *cmd = find_command(arg);
    if (!cmd) {
        if (arg[0] == '-')
            cli_error("unknown option '%s' (a command comes first; see 'hamdeq --help')", arg);
        else
            cli_error("unknown command '%s' (see 'hamdeq --help')", arg);
        return CLI_EXIT_USAGE;
    }
    return run_command(cmd, argc - 1, argv + 1);
}
