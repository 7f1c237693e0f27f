/* The evaluation output of `hamdeq train`, `eval` and `bench` (eval_report.c). */
#ifndef HAMDEQ_TOOLS_EVAL_REPORT_H
#define HAMDEQ_TOOLS_EVAL_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <hamdeq/hamdeq.h>

#include "evaluate.h"
#include "variants.h"

/* `{"variant": .., "epochs": .., "test_acc": .., "iters_mean": .., "not_converged": ..,
 * "sec_per_epoch": ..}` on stdout. */
void cli_print_train_json(const char *variant, int64_t epochs, const cli_eval_result_t *r,
                          double sec_per_epoch);

/* The authors' count of a result as a table cell: "4.55", or "-" when not computed. */
void cli_format_authors(char *buf, size_t len, const cli_eval_result_t *r);

/* The evaluation table: header, one row per evaluated pair, and the footnotes. */
void cli_print_eval_header(void);
void cli_print_eval_row(const char *variant, int32_t op, int32_t kind, const cli_eval_result_t *r,
                        int mark);
void cli_print_eval_notes(double tol, int32_t cap, int64_t authors_missed, int marked);

/* Writes the residual plot of n evaluated pairs (results with traces). */
int cli_plot_results(const char *path, const char *title, const char *const *labels,
                     const cli_eval_result_t *results, int n, double tol);

/* What cli_eval_report() evaluates and shows. */
typedef struct cli_eval_report {
    cli_eval_opts_t opts;   /* the model's own pair, tolerance, cap and batch (authors and
                               trace follow from json and plot) */
    int compare;            /* also every variant, after the model's own pair */
    int mark_own;           /* mark the model's own row ("the variant it was trained with") */
    int json;               /* no table: only the own pair is evaluated, unless plot */
    const char *plot;       /* the residual plot's SVG file, or NULL */
    const char *title_note; /* appended to the plot's title, or NULL */
} cli_eval_report_t;

/* Evaluates `model` on `test` with each pair, prints the table rows and notes (unless
 * json; the header is the caller's), writes the plot, and hands back the own pair's
 * result in *first (cli_eval_result_free() it). Returns 0, or an exit code after one
 * error line (*first is then untouched). */
int cli_eval_report(cli_eval_result_t *first, const ham_model_t *model,
                    const ham_dataset_t *test, const cli_eval_report_t *r);

#endif /* HAMDEQ_TOOLS_EVAL_REPORT_H */
