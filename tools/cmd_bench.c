/* hamdeq bench: the paper's Table 1. Trains a fresh model with each variant (the paper's
 * settings by default), evaluates it on the test split at tolerance 1e-4, and prints the
 * iteration counts and accuracies next to the paper's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data_dir.h"
#include "perf.h"
#include "train.h"

static const cli_command_spec_t help = {
    .usage = "hamdeq bench --data DIR [options]",
    .description =
        "Table 1 of the paper: for each variant, trains a fresh HAM (same seed) on DIR's train\n"
        "split with the paper's settings (784-512-10, shifted sigmoid, Xavier weights, zero\n"
        "biases, MSE, Madam lr 0.01, batch 64, fixed order, exactly 40 forward and 8 backward\n"
        "iterations, 10 epochs), evaluates it on the t10k split at tolerance 1e-4, and prints\n"
        "the mean iterations (the library's count and the authors' count), the test accuracy\n"
        "and the seconds per epoch next to the paper's numbers (MNIST). --epochs 0 evaluates\n"
        "untrained models: iteration counts only, in seconds.\n"
        "\n"
        "With --perf: the performance suite instead, see 'hamdeq bench --perf --help'.\n",
    .notes = "With --json, stdout holds one line per variant, as 'hamdeq train --json':\n"
             "  {\"variant\": str, \"epochs\": int, \"test_acc\": float, \"iters_mean\": float,\n"
             "   \"not_converged\": int, \"sec_per_epoch\": float}\n",
    .runtime_errors = "data, file, library",
    .examples = "hamdeq bench --data ../shared/data/mnist10k --plot fig3.svg\n"
                "hamdeq bench --data /usr/share/datasets/fashion-mnist --epochs 3 --markdown\n"
                "hamdeq bench --data DIR --epochs 0 --variants ham,ham-eo,ham-eo-newton\n",
};

typedef struct row {
    const cli_variant_t *v;
    cli_eval_result_t res;
    double sec_per_epoch;
} row_t;

/* The cells of a row that may be empty ("-"): the authors' count and the paper's numbers. */
typedef struct cells {
    char authors[32], paper_iters[32], paper_acc[32];
} cells_t;

static void row_cells(cells_t *c, const row_t *r)
{
    cli_format_authors(c->authors, sizeof c->authors, &r->res);
    if (r->v->paper_iters >= 0)
        snprintf(c->paper_iters, sizeof c->paper_iters, "%.1f", r->v->paper_iters);
    else
        snprintf(c->paper_iters, sizeof c->paper_iters, "-");
    if (r->v->paper_acc >= 0)
        snprintf(c->paper_acc, sizeof c->paper_acc, "%.1f%%", r->v->paper_acc);
    else
        snprintf(c->paper_acc, sizeof c->paper_acc, "-");
}

static void print_header(void)
{
    printf("%-14s  %10s  %14s  %9s  %8s  %9s  |  %11s  %9s\n", "variant", "mean iters",
           "authors' count", "not conv.", "test acc", "sec/epoch", "paper iters", "paper acc");
    printf("%-14s  %10s  %14s  %9s  %8s  %9s  |  %11s  %9s\n", "--------------", "----------",
           "--------------", "---------", "--------", "---------", "-----------", "---------");
}

static void print_row(const row_t *r)
{
    cells_t c;
    row_cells(&c, r);
    printf("%-14s  %10.2f  %14s  %9lld  %7.2f%%  %9.2f  |  %11s  %9s\n", r->v->label,
           r->res.iters_mean, c.authors, (long long)r->res.not_converged,
           100.0 * (double)r->res.correct / (double)r->res.samples, r->sec_per_epoch,
           c.paper_iters, c.paper_acc);
    fflush(stdout);
}

static void print_markdown(const row_t *rows, int n, double tol)
{
    printf("| variant | operator + solver | mean iters to %g | authors' count | not converged | "
           "test accuracy | s/epoch | paper iters | paper accuracy |\n",
           tol);
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        cells_t c;
        row_cells(&c, r);
        printf("| %s | %s + %s | %.2f | %s | %lld | %.2f%% | %.2f | %s | %s |\n", r->v->label,
               ham_operator_name(r->v->op), ham_solver_kind_name(r->v->kind), r->res.iters_mean,
               c.authors, (long long)r->res.not_converged,
               100.0 * (double)r->res.correct / (double)r->res.samples, r->sec_per_epoch,
               c.paper_iters, c.paper_acc);
    }
    fflush(stdout);
}

int cmd_bench(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--perf") == 0)
            return cmd_bench_perf(argc, argv); /* the performance suite: cmd_perf.c */
    cli_train_args_t a;
    cli_train_args_init(&a, 1);
    cli_variant_list_t vars = {0};
    const char *plot = NULL;
    int json = 0, markdown = 0;
    const cli_opt_t own[] = {
        cli_opt_variants(&vars, "variants, comma-separated, or all: ham, ham-deq, ham-eo, "
                                "ham-eo-deq, ham-eo-newton (default: all)"),
    };
    const cli_opt_t tail[] = {
        cli_opt_plot(&plot, "write every variant's test residual against iteration as SVG (the "
                            "paper's Fig. 3)"),
        {.name = "markdown", .type = CLI_OPT_FLAG, .dest = &markdown,
         .help = "print the table as Markdown"},
        cli_opt_json(&json, "print one JSON object per variant instead"),
    };
    int rc = cli_train_parse(&help, &a, CLI_TRAIN_BENCH, own, CLI_N_OPTS(own), tail, CLI_N_OPTS(tail), argc,
                             argv);
    if (rc != CLI_PARSED)
        return rc;
    if (json && markdown) {
        cli_error("--json and --markdown contradict each other: give one");
        return CLI_EXIT_USAGE;
    }
    cli_train_cfg_t cfg;
    if ((rc = cli_train_cfg_resolve(&cfg, &a)) != 0)
        return rc;
    if (isnan(a.tol))
        cfg.fixed = 1; /* the paper's: exactly --iters-fwd forward iterations */

    cli_data_t data;
    if ((rc = cli_data_load(&data, a.data, cfg.epochs > 0, 1)) != 0)
        return rc;
    if ((data.train && (rc = cli_train_check_data(&cfg, data.train, a.data, "train")) != 0) ||
        (rc = cli_train_check_data(&cfg, data.test, a.data, "t10k")) != 0) {
        cli_data_free(&data);
        return rc;
    }
    if (data.train && ham_dataset_count(data.train) < cfg.batch) {
        cli_error("%s: the train split holds %lld samples, fewer than --batch %d", a.data,
                  (long long)ham_dataset_count(data.train), (int)cfg.batch);
        cli_data_free(&data);
        return CLI_EXIT_USAGE;
    }
    cli_set_threads(a.threads);
    const int64_t n_test = ham_dataset_count(data.test);
    const int64_t n_train = data.train ? ham_dataset_count(data.train) : 0;
    if (!json && !markdown) {
        char sizes[512], lags[512];
        cli_model_sizes_string(sizes, sizeof sizes, &cfg.spec);
        cli_model_lagrangians_string(lags, sizeof lags, &cfg.spec);
        printf("hamdeq %s: bench on %s: %lld train / %lld test samples\n", ham_version_string(),
               a.data, (long long)n_train, (long long)n_test);
        printf("model %s (%s), Xavier seed %llu; loss %s, optimizer %s, batch %d, %lld epoch%s, "
               "%s\n",
               sizes, lags, (unsigned long long)cfg.seed, a.loss, a.optimizer, (int)cfg.batch,
               (long long)cfg.epochs, cfg.epochs == 1 ? "" : "s",
               cfg.shuffle ? "shuffled" : "fixed order");
        if (cfg.fixed)
            printf("training: exactly %d forward iterations, ", (int)cfg.iters_fwd);
        else
            printf("training: forward tolerance %g (at most %d iterations), ", cfg.tol,
                   (int)cfg.iters_fwd);
        printf("%d backward; test: tolerance %g, at most %d iterations\n\n", (int)cfg.iters_bwd,
               CLI_EVAL_TOL, (int)cfg.iters_fwd);
        print_header();
    }

    row_t rows[CLI_MAX_PAIRS];
    memset(rows, 0, sizeof rows);
    const char *labels[CLI_MAX_PAIRS];
    int n_done = 0;
    int64_t missed = 0;
    for (int i = 0; i < vars.n && !rc; i++) {
        /* a pair of a parsed --variants list is always a named variant */
        const cli_variant_t *v = cli_variant_of(vars.pair[i].op, vars.pair[i].kind);
        ham_model_t *model = NULL;
        if ((rc = cli_model_build(&model, &cfg.spec)) != 0)
            break;
        char tag[64];
        snprintf(tag, sizeof tag, "[%s]", v->name);
        cli_train_stats_t st;
        rc = cli_train_run(&st, model, data.train, &cfg, v->op, v->kind, tag);
        if (!rc) {
            cli_eval_opts_t eo = cli_train_eval_opts(&cfg, v->op, v->kind, !json, plot != NULL);
            rc = cli_evaluate(&rows[i].res, model, data.test, &eo);
        }
        ham_model_free(model);
        if (rc)
            break;
        rows[i].v = v;
        rows[i].sec_per_epoch = st.sec_per_epoch;
        labels[i] = v->label;
        missed += rows[i].res.authors_missed;
        n_done++;
        if (json)
            cli_print_train_json(v->name, cfg.epochs, &rows[i].res, st.sec_per_epoch);
        else if (!markdown)
            print_row(&rows[i]);
    }
    if (!rc && markdown)
        print_markdown(rows, n_done, CLI_EVAL_TOL);
    if (!rc && !json && !markdown) {
        cli_print_eval_notes(CLI_EVAL_TOL, cfg.iters_fwd, missed, 0);
        printf("paper: Table 1 of arXiv:2311.15673 (MNIST, 10 epochs); Newton is not in it.\n");
    }
    if (!rc && plot) {
        char title[160];
        snprintf(title, sizeof title, "Relative residual vs iteration, %lld test samples%s",
                 (long long)n_test, cfg.epochs > 0 ? "" : " (untrained models)");
        cli_eval_result_t res[CLI_MAX_PAIRS];
        for (int i = 0; i < n_done; i++)
            res[i] = rows[i].res;
        rc = cli_plot_results(plot, title, labels, res, n_done, CLI_EVAL_TOL);
        if (!rc && !json && !markdown)
            printf("wrote %s\n", plot);
    }
    for (int i = 0; i < n_done; i++)
        cli_eval_result_free(&rows[i].res);
    cli_data_free(&data);
    return rc;
}
