/* The evaluation output of `hamdeq train`, `eval` and `bench`: the table, its notes, the
 * JSON line and the residual plot, and the one loop that evaluates a model with its own
 * operator x solver pair and (--compare) every variant. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval_report.h"
#include "plot.h"

void cli_print_train_json(const char *variant, int64_t epochs, const cli_eval_result_t *r,
                          double sec_per_epoch)
{
    printf("{\"variant\": \"%s\", \"epochs\": %lld, \"test_acc\": %.6f, \"iters_mean\": %.4f, "
           "\"not_converged\": %lld, \"sec_per_epoch\": %.3f}\n",
           variant, (long long)epochs, (double)r->correct / (double)r->samples, r->iters_mean,
           (long long)r->not_converged, sec_per_epoch);
    fflush(stdout);
}

void cli_format_authors(char *buf, size_t len, const cli_eval_result_t *r)
{
    if (isnan(r->authors_mean))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f", r->authors_mean);
}

void cli_print_eval_header(void)
{
    printf("%-15s  %-8s  %-8s  %10s  %14s  %9s  %8s\n", "variant", "operator", "solver",
           "mean iters", "authors' count", "not conv.", "test acc");
    printf("%-15s  %-8s  %-8s  %10s  %14s  %9s  %8s\n", "---------------", "--------", "--------",
           "----------", "--------------", "---------", "--------");
}

void cli_print_eval_row(const char *variant, int32_t op, int32_t kind, const cli_eval_result_t *r,
                        int mark)
{
    char name[64], auth[32];
    snprintf(name, sizeof name, "%s%s", variant, mark ? " *" : "");
    cli_format_authors(auth, sizeof auth, r);
    printf("%-15s  %-8s  %-8s  %10.2f  %14s  %9lld  %7.2f%%\n", name, ham_operator_name(op),
           ham_solver_kind_name(kind), r->iters_mean, auth, (long long)r->not_converged,
           100.0 * (double)r->correct / (double)r->samples);
    fflush(stdout);
}

void cli_print_eval_notes(double tol, int32_t cap, int64_t authors_missed, int marked)
{
    const int32_t k = cap < CLI_AUTHORS_MAX_K ? cap : CLI_AUTHORS_MAX_K;
    printf("\nmean iters: operator evaluations per sample until ||G(s)-s||/||G(s)|| < %g, the\n"
           "  library's count (at most %d; not conv.: samples that did not get there).\n"
           "authors' count: the paper's code's count, the first t with\n"
           "  ||o_{t+1}-o_t||/||o_{t+1}|| < %g over %d fixed iterations (Picard: mean iters - 2).\n",
           tol, (int)cap, tol, (int)k);
    if (authors_missed > 0)
        printf("  %lld sample evaluation%s never met it within %d iterations and count as %d.\n",
               (long long)authors_missed, authors_missed == 1 ? "" : "s", (int)k, (int)k);
    if (marked)
        printf("* the variant the model was trained with.\n");
    fflush(stdout);
}

int cli_plot_results(const char *path, const char *title, const char *const *labels,
                     const cli_eval_result_t *results, int n, double tol)
{
    cli_plot_series_t *series = calloc((size_t)(n > 0 ? n : 1), sizeof *series);
    double **q = calloc((size_t)(n > 0 ? n : 1) * 3, sizeof *q);
    int exit_code = (!series || !q) ? CLI_EXIT_RUNTIME : 0;
    for (int i = 0; i < n && !exit_code; i++) {
        int32_t k = results[i].trace_iters;
        for (int j = 0; j < 3 && !exit_code; j++) {
            q[3 * i + j] = malloc((size_t)(k > 0 ? k : 1) * sizeof(double));
            static const double level[3] = {0.1, 0.5, 0.9};
            if (!q[3 * i + j] || cli_trace_quantiles(q[3 * i + j], &results[i], level[j]) != 0)
                exit_code = CLI_EXIT_RUNTIME;
        }
        series[i].label = labels[i];
        series[i].n = k;
        series[i].q10 = q[3 * i];
        series[i].q50 = q[3 * i + 1];
        series[i].q90 = q[3 * i + 2];
    }
    if (exit_code)
        cli_error("cannot write %s: no residual traces (out of memory?)", path);
    else
        exit_code = cli_plot_residuals(path, title, series, n, tol);
    for (int i = 0; q && i < 3 * n; i++)
        free(q[i]);
    free(q);
    free(series);
    return exit_code;
}

int cli_eval_report(cli_eval_result_t *first, const ham_model_t *model,
                    const ham_dataset_t *test, const cli_eval_report_t *r)
{
    cli_variant_list_t runs = {0};
    cli_variant_list_add(&runs, r->opts.op, r->opts.kind);
    if (r->compare)
        cli_variant_list_add_all(&runs);
    /* the other rows would only be printed in the table */
    const int n_eval = r->json && !r->plot ? 1 : runs.n;
    char names[CLI_MAX_PAIRS][64];
    const char *labels[CLI_MAX_PAIRS];
    cli_eval_result_t res[CLI_MAX_PAIRS];
    memset(res, 0, sizeof res);
    int n_done = 0, rc = 0;
    int64_t missed = 0;
    for (int i = 0; i < n_eval; i++) {
        cli_eval_opts_t eo = r->opts;
        eo.op = runs.pair[i].op;
        eo.kind = runs.pair[i].kind;
        eo.authors = !r->json;
        eo.trace = r->plot != NULL;
        if ((rc = cli_evaluate(&res[i], model, test, &eo)) != 0)
            break;
        n_done++;
        cli_variant_name(names[i], sizeof names[i], eo.op, eo.kind);
        labels[i] = names[i];
        missed += res[i].authors_missed;
        if (!r->json)
            cli_print_eval_row(names[i], eo.op, eo.kind, &res[i], r->mark_own && i == 0);
    }
    if (!rc && !r->json)
        cli_print_eval_notes(r->opts.tol, r->opts.max_iter, missed, r->mark_own);
    if (!rc && r->plot) {
        char title[160];
        snprintf(title, sizeof title, "Relative residual vs iteration, %lld test samples%s",
                 (long long)ham_dataset_count(test), r->title_note ? r->title_note : "");
        rc = cli_plot_results(r->plot, title, labels, res, n_done, r->opts.tol);
        if (!rc && !r->json)
            printf("wrote %s\n", r->plot);
    }
    for (int i = rc ? 0 : 1; i < n_done; i++)
        cli_eval_result_free(&res[i]);
    if (!rc)
        *first = res[0];
    return rc;
}
