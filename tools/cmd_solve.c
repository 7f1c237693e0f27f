/* hamdeq solve: every operator x solver combination on one model and one input batch,
 * reported as an aligned table or as one JSON object per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inputs.h"
#include "model_spec.h"
#include "variants.h"

#define MAX_BATCH (1 << 20)

typedef struct solve_args {
    const char *layers, *lagrangian, *input;
    uint64_t seed;
    double beta, tol;
    int64_t batch, max_iter, threads, blas_threads, repeat, attractor, stability;
    int json;
} solve_args_t;

/* One combination's outcome. */
typedef struct solve_row {
    int32_t op, kind, dim;
    int status;           /* HAM_OK, or why the combination did not run */
    char why[300];        /* the library's message when status != HAM_OK */
    ham_solve_stats_t st; /* when status == HAM_OK */
    double ms;            /* best wall time of one ham_solver_solve */
} solve_row_t;

static const cli_command_spec_t help = {
    .usage = "hamdeq solve [options]",
    .description =
        "Builds a HAM model with a clamped input layer, drives it with a batch of inputs,\n"
        "and solves its fixed point with every operator x solver combination: the\n"
        "synchronous F on the full state and the even-odd G on the output's parity class,\n"
        "each with Picard, Anderson, Broyden and Newton. Prints one row per combination;\n"
        "a combination the library refuses is shown with its reason.\n"
        "Lagrangians: shifted-sigmoid (the paper's), sigmoid, tanh, identity, softmax.\n"
        "Timings are wall time around ham_solver_solve only, after one warm-up solve.\n",
    .notes = "JSON lines (--json) have exactly these keys, in this order:\n"
             "  {\"operator\": \"sync\"|\"even-odd\", \"solver\": \"picard\"|\"anderson\"|"
             "\"broyden\"|\"newton\",\n"
             "   \"samples\": int, \"iters_mean\": float, \"not_converged\": int, \"ms\": float}\n"
             "Combinations the library refuses are left out of the JSON, with a note on "
             "stderr.\n"
             "The table's 'unstable' column counts samples that converged to an unstable\n"
             "fixed point (a saddle), as found by --stability-check; the JSON keys stay as\n"
             "above. For retrieval use the even-odd operator: its Picard iteration descends\n"
             "the energy and its accelerated solvers are attractor-safe by default; the\n"
             "synchronous F has no descent guarantee (it can settle in 2-cycles).\n",
    .runtime_errors = "file, library",
    .examples = "hamdeq solve --layers 784,512,10 --batch 256 --seed 1\n"
                "hamdeq solve --input /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\n"
                "hamdeq solve --layers 784,64,10 --batch 32 --solvers picard,anderson --json\n",
};

/* Creates a solver and applies the options; a refused option value is a usage error. */
static int make_solver(ham_solver_t **sv, solve_row_t *row, const ham_model_t *model,
                       const solve_args_t *a)
{
    *sv = NULL;
    int rc = ham_solver_new(sv, model, row->op, row->kind);
    if (rc != HAM_OK) {
        row->status = rc;
        snprintf(row->why, sizeof row->why, "%s", ham_strerror(rc));
        return rc == HAM_ERR_NOMEM ? CLI_EXIT_RUNTIME : 0;
    }
    static const struct {
        int32_t option;
        const char *flag;
    } opt[] = {{HAM_OPT_TOL, "tol"},
               {HAM_OPT_MAX_ITER, "max-iter"},
               {HAM_OPT_ATTRACTOR_SAFE, "attractor-safe"},
               {HAM_OPT_STABILITY_CHECK, "stability-check"},
               {HAM_OPT_THREADS, "threads"}};
    const double val[] = {a->tol, (double)a->max_iter, (double)a->attractor,
                          (double)a->stability, (double)a->threads};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        rc = ham_solver_set_option(*sv, opt[i].option, val[i]);
        if (rc != HAM_OK) {
            /* The library says "option N: <why>"; the flag name says more than N. */
            const char *msg = ham_last_error();
            const char *why = strstr(msg, ": ");
            cli_error("--%s: %s", opt[i].flag, why ? why + 2 : msg);
            ham_solver_free(*sv);
            *sv = NULL;
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

/* Runs one combination: one warm-up solve, then `repeat` timed ones (best kept).
 * Returns 0 (row->status tells whether it ran) or an exit code for a fatal error. */
static int run_one(solve_row_t *row, const ham_model_t *model, const solve_args_t *a,
                   float *state, const float *x)
{
    ham_solver_t *sv;
    int rc = make_solver(&sv, row, model, a);
    if (rc || !sv)
        return rc;
    int32_t batch = (int32_t)a->batch;
    row->status = ham_solver_solve(sv, state, batch, x);
    for (int64_t r = 0; r < a->repeat && row->status == HAM_OK; r++) {
        double t0 = cli_now_ms();
        row->status = ham_solver_solve(sv, state, batch, x);
        double ms = cli_now_ms() - t0;
        if (r == 0 || ms < row->ms)
            row->ms = ms;
    }
    if (row->status == HAM_OK) {
        row->st.size = sizeof row->st;
        row->status = ham_solver_get_stats(&row->st, sv);
    }
    if (row->status != HAM_OK) {
        const char *msg = ham_last_error();
        snprintf(row->why, sizeof row->why, "%s", msg && *msg ? msg : ham_strerror(row->status));
    }
    ham_solver_free(sv);
    return 0;
}

static const char *row_label(const solve_row_t *row)
{
    return row->status == HAM_ERR_UNSUPPORTED ? "n/a" : "error";
}

static void print_header(void)
{
    printf("%-8s  %-8s  %9s  %7s  %10s  %9s  %13s  %8s  %8s  %9s  %10s\n", "operator",
           "solver", "state dim", "samples", "mean iters", "max iters", "not converged",
           "diverged", "unstable", "mean JVPs", "ms");
    printf("%-8s  %-8s  %9s  %7s  %10s  %9s  %13s  %8s  %8s  %9s  %10s\n", "--------",
           "--------", "---------", "-------", "----------", "---------", "-------------",
           "--------", "--------", "---------", "----------");
}

static void print_row(const solve_row_t *row, int json)
{
    const char *op = ham_operator_name(row->op), *kind = ham_solver_kind_name(row->kind);
    if (row->status != HAM_OK) {
        if (json)
            cli_note("%s %s skipped: %s: %s", op, kind, row_label(row), row->why);
        else
            printf("%-8s  %-8s  %9d  %s: %s\n", op, kind, (int)row->dim, row_label(row),
                   row->why);
        fflush(stdout);
        return;
    }
    int not_conv = row->st.samples - row->st.converged;
    if (json)
        printf("{\"operator\": \"%s\", \"solver\": \"%s\", \"samples\": %d, \"iters_mean\": %.4f, "
               "\"not_converged\": %d, \"ms\": %.3f}\n",
               op, kind, (int)row->st.samples, row->st.iters_mean, not_conv, row->ms);
    else
        printf("%-8s  %-8s  %9d  %7d  %10.2f  %9d  %13d  %8d  %8d  %9.1f  %10.3f\n", op, kind,
               (int)row->dim, (int)row->st.samples, row->st.iters_mean, (int)row->st.iters_max,
               not_conv, (int)row->st.diverged, (int)row->st.unstable,
               (double)row->st.jacobian_products / (double)row->st.samples, row->ms);
    fflush(stdout);
}

int cmd_solve(int argc, char **argv)
{
    double tol_def = 1e-4, iter_def = 100;
    ham_solver_option_info(&tol_def, NULL, NULL, HAM_OPT_TOL);
    ham_solver_option_info(&iter_def, NULL, NULL, HAM_OPT_MAX_ITER);
    solve_args_t a = {
        .layers = "784,512,10",
        .lagrangian = "shifted-sigmoid",
        .input = "random",
        .seed = 1,
        .beta = 1.0,
        .tol = tol_def,
        .batch = 256,
        .max_iter = (int64_t)iter_def,
        .threads = 0,
        .repeat = 1,
        .attractor = -1,
        .stability = 0,
    };
    char tol_help[96], iter_help[96];
    snprintf(tol_help, sizeof tol_help, "relative residual tolerance (default: %g)", tol_def);
    snprintf(iter_help, sizeof iter_help, "operator evaluations per sample at most (default: %g)",
             iter_def);
    cli_list_t ops = {0}, kinds = {0};
    const cli_opt_t opts[] = {
        cli_opt_layers(&a.layers),
        cli_opt_lagrangian(&a.lagrangian),
        cli_opt_beta(&a.beta),
        cli_opt_seed(&a.seed, "seed of the Xavier weights and random inputs (default: 1)"),
        {.name = "input", .type = CLI_OPT_STRING, .dest = &a.input, .metavar = "random|PATH",
         .help = "uniform [0,1) pixels, or an IDX images file (.gz or raw) (default: random)"},
        cli_opt_batch(&a.batch, "samples solved together (default: 256)"),
        /* no bounds here: the library's, checked below, with its message */
        {.name = "tol", .type = CLI_OPT_DOUBLE, .dest = &a.tol, .metavar = "T", .help = tol_help},
        {.name = "max-iter", .type = CLI_OPT_INT, .dest = &a.max_iter, .metavar = "N",
         .help = iter_help},
        {.name = "operators", .type = CLI_OPT_OPERATORS, .dest = &ops, .metavar = "LIST",
         .help = "operators to run: sync,even-odd (default: both)", .def = "sync,even-odd"},
        cli_opt_solvers(&kinds),
        cli_opt_threads(&a.threads),
        cli_opt_blas_threads(&a.blas_threads),
        {.name = "repeat", .type = CLI_OPT_INT, .dest = &a.repeat, .metavar = "N",
         .help = "timed solves per combination, best kept (default: 1)", .min = 1, .max = 1000},
        {.name = "attractor-safe", .type = CLI_OPT_INT, .dest = &a.attractor, .metavar = "M",
         .help = "accelerated steps only along the energy descent: 1 on, 2 on with the "
                 "energy test, 0 off, -1 auto (1 for even-odd, 0 for sync) (default: -1)",
         .min = -1, .max = 2},
        {.name = "stability-check", .type = CLI_OPT_INT, .dest = &a.stability, .metavar = "N",
         .help = "N power iterations per converged sample; spectral radius >= 1 counts it "
                 "unstable (default: 0, off)",
         .min = 0, .max = 1000},
        cli_opt_json(&a.json, "print one JSON object per line instead of the table"),
    };
    int rc = cli_parse_command(&help, opts, CLI_N_OPTS(opts), argc, argv);
    if (rc != CLI_PARSED)
        return rc;
    cli_variant_list_t pairs = {0}; /* operator-major, as the table reads */
    for (int i = 0; i < ops.n; i++)
        for (int j = 0; j < kinds.n; j++)
            cli_variant_list_add(&pairs, ops.item[i], kinds.item[j]);
    cli_model_spec_t spec;
    rc = cli_model_spec_parse(&spec, a.layers, a.lagrangian, a.beta, a.seed);
    if (rc)
        return rc;

    ham_model_t *model;
    rc = cli_model_build(&model, &spec);
    if (rc)
        return rc;
    /* Check --tol and --max-iter against the library's bounds before loading data. */
    {
        solve_row_t probe = {.op = HAM_OPERATOR_SYNC, .kind = HAM_SOLVER_PICARD};
        ham_solver_t *sv;
        rc = make_solver(&sv, &probe, model, &a);
        ham_solver_free(sv);
        if (rc) {
            ham_model_free(model);
            return rc;
        }
    }
    cli_set_threads(a.threads);
    cli_set_blas_threads(a.blas_threads);

    float *x = NULL, *state = NULL;
    char input_desc[512];
    int32_t batch = (int32_t)a.batch;
    rc = cli_inputs_load(&x, a.input, batch, spec.sizes[0], a.seed, input_desc,
                         sizeof input_desc);
    if (rc) {
        ham_model_free(model);
        return rc;
    }
    int32_t max_dim = 0;
    for (int i = 0; i < ops.n; i++) {
        int32_t dim = 0;
        ham_model_state_dim(&dim, model, ops.item[i]);
        if (dim > max_dim)
            max_dim = dim;
    }
    state = malloc((size_t)batch * (size_t)max_dim * sizeof *state);
    if (!state) {
        cli_error("out of memory for %d states of %d floats", (int)batch, (int)max_dim);
        free(x);
        ham_model_free(model);
        return CLI_EXIT_RUNTIME;
    }

    if (!a.json) {
        char sizes[512], lags[512];
        cli_model_sizes_string(sizes, sizeof sizes, &spec);
        cli_model_lagrangians_string(lags, sizeof lags, &spec);
        printf("hamdeq %s: model %s (%s), Xavier seed %llu\n", ham_version_string(), sizes, lags,
               (unsigned long long)a.seed);
        printf("input: %s\n", input_desc);
        printf("batch %d, tol %g, max-iter %lld, zero initial state; ms = best of %lld solve%s "
               "after a warm-up\n\n",
               (int)batch, a.tol, (long long)a.max_iter, (long long)a.repeat,
               a.repeat == 1 ? "" : "s");
        print_header();
    }
    int exit_code = CLI_EXIT_OK, failed = 0;
    for (int i = 0; i < pairs.n; i++) {
        solve_row_t row;
        memset(&row, 0, sizeof row);
        row.op = pairs.pair[i].op;
        row.kind = pairs.pair[i].kind;
        ham_model_state_dim(&row.dim, model, row.op);
        exit_code = run_one(&row, model, &a, state, x);
        if (exit_code)
            break;
        print_row(&row, a.json);
        failed += row.status != HAM_OK && row.status != HAM_ERR_UNSUPPORTED;
    }
    if (exit_code == CLI_EXIT_OK && failed) {
        cli_error("%d combination%s failed (see above)", failed, failed == 1 ? "" : "s");
        exit_code = CLI_EXIT_RUNTIME;
    }
    free(state);
    free(x);
    ham_model_free(model);
    return exit_code;
}
