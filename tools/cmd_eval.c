/* hamdeq eval: evaluates a saved model on the t10k split of an MNIST-style directory, or
 * on .npy files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data_dir.h"
#include "train.h"

static const cli_command_spec_t help = {
    .usage = "hamdeq eval --model FILE (--data DIR | --test-x FILE.npy --test-y FILE.npy) "
             "[options]",
    .description =
        "Loads a model saved by 'hamdeq train --save' (or ham_model_save) and solves its fixed\n"
        "point for every sample of DIR's t10k split (or of --test-x with labels --test-y:\n"
        "samples float32 as they are or uint8 divided by 255, labels uint8, int32 or int64),\n"
        "with the operator, solver, tolerance and iteration cap saved in the model unless\n"
        "overridden. Prints the test accuracy, the mean iteration count (the library's, and\n"
        "the authors' count) and the samples that did not converge.\n",
    .notes = "With --json, stdout holds exactly one line:\n"
             "  {\"test_acc\": float, \"iters_mean\": float, \"not_converged\": int}\n"
             "test_acc is a fraction (0..1); --compare rows are not part of it.\n",
    .runtime_errors = "data, model file, library",
    .examples = "hamdeq eval --model fmnist.model --data /usr/share/datasets/fashion-mnist\n"
                "hamdeq eval --model fmnist.model --data DIR --compare --plot residuals.svg\n"
                "hamdeq eval --model m.model --test-x test_x.npy --test-y test_y.npy --json\n",
};

/* "shifted-sigmoid", or the per-layer list, of a loaded model. */
static void describe(char *sizes, char *lags, size_t len, const ham_model_t *m)
{
    cli_model_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.n_layers = ham_model_n_layers(m);
    spec.beta = 1.0;
    for (int32_t l = 0; l < spec.n_layers; l++) {
        double p = 0.0;
        spec.sizes[l] = ham_model_layer_size(m, l);
        ham_model_get_lagrangian(&spec.lagrangian[l], &p, m, l);
        if (spec.lagrangian[l] == HAM_LAGRANGIAN_SOFTMAX)
            spec.beta = p;
    }
    cli_model_sizes_string(sizes, len, &spec);
    cli_model_lagrangians_string(lags, len, &spec);
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *plot = NULL, *test_x = NULL, *test_y = NULL;
    const cli_variant_t *v = NULL;
    int32_t op_over = -1, kind_over = -1;
    double tol = NAN;
    int64_t max_iter = 0, batch = 500, threads = 0, stability = 0;
    int json = 0, compare = 0;
    const cli_opt_t opts[] = {
        {.name = "model", .type = CLI_OPT_STRING, .dest = &model_path, .metavar = "FILE",
         .help = "model file to evaluate (required)", .required = ""},
        cli_opt_data(&data,
                     "MNIST-style directory; its t10k-{images-idx3,labels-idx1}-ubyte[.gz] are "
                     "used (required, unless --test-x and --test-y are given)",
                     NULL),
        cli_opt_npy(&test_x, "test-x", "test samples: float32 (as they are) or uint8 (divided "
                                       "by 255), N x D or N x H x W"),
        cli_opt_npy(&test_y, "test-y", "test labels: 1-D uint8, int32 or int64"),
        cli_opt_variant(&v, "operator and solver of a variant: ham, ham-deq, ham-eo, ham-eo-deq, "
                            "ham-eo-newton (default: the model's saved defaults)"),
        cli_opt_operator(&op_over, "operator (default: the model's, or the variant's)"),
        cli_opt_solver(&kind_over, "solver: picard, anderson, broyden, newton (default: the "
                                   "model's, or the variant's)"),
        cli_opt_tol(&tol, "tolerance (default: the model's, 1e-4 from train)"),
        cli_opt_max_iter(&max_iter, "iteration cap, and the authors' count's fixed iterations "
                                    "(default: the model's)"),
        cli_opt_batch(&batch, "samples solved together (default: 500)"),
        {.name = "compare", .type = CLI_OPT_FLAG, .dest = &compare,
         .help = "also evaluate with every variant (table and plot)"},
        cli_opt_plot(&plot, "write the residual against iteration (median, 10-90% band) as SVG"),
        cli_opt_threads(&threads),
        {.name = "stability-check", .type = CLI_OPT_INT, .dest = &stability, .metavar = "N",
         .help = "N power iterations per converged sample; prints how many converged to an "
                 "unstable fixed point (default: 0, off)",
         .min = 0, .max = 1000},
        cli_opt_json(&json, "print one JSON object instead of the table"),
    };
    int rc = cli_parse_command(&help, opts, CLI_N_OPTS(opts), argc, argv);
    if (rc != CLI_PARSED)
        return rc;

    /* The data first: a missing --data or .npy file is a usage error, whatever the model. */
    cli_data_t d;
    const cli_data_src_t src = {data, NULL, NULL, test_x, test_y};
    if ((rc = cli_data_open(&d, &src, 0, 1)) != 0)
        return rc;
    ham_model_t *model = NULL;
    rc = ham_model_load(&model, model_path);
    if (rc != HAM_OK) {
        cli_error("%s", ham_last_error());
        cli_data_free(&d);
        return CLI_EXIT_RUNTIME;
    }
    int32_t op = HAM_OPERATOR_EVEN_ODD, kind = HAM_SOLVER_ANDERSON, cap = 100;
    double dtol = CLI_EVAL_TOL;
    ham_model_get_defaults(&op, &kind, &dtol, &cap, model);
    if (v) {
        op = v->op;
        kind = v->kind;
    }
    if (op_over >= 0)
        op = op_over;
    if (kind_over >= 0)
        kind = kind_over;
    if (!isnan(tol))
        dtol = tol;
    if (max_iter > 0)
        cap = (int32_t)max_iter;
    const int32_t L = ham_model_n_layers(model);
    if (!ham_model_has_clamped_input(model)) {
        cli_error("%s: the model has no clamped input layer: there is nothing to classify",
                  model_path);
        cli_data_free(&d);
        ham_model_free(model);
        return CLI_EXIT_USAGE;
    }
    rc = cli_data_fits(d.test, d.test_from, d.test_split, ham_model_layer_size(model, 0),
                       ham_model_layer_size(model, L - 1));
    if (rc) {
        cli_data_free(&d);
        ham_model_free(model);
        return rc;
    }
    cli_set_threads(threads);
    const int64_t n_test = ham_dataset_count(d.test);
    if (!json) {
        char sizes[512], lags[512];
        describe(sizes, lags, sizeof sizes, model);
        printf("hamdeq %s: evaluate %s: model %s (%s)\n", ham_version_string(), model_path, sizes,
               lags);
        printf("test split of %s: %lld samples; tolerance %g, at most %d iterations\n",
               d.test_from,
               (long long)n_test, dtol, (int)cap);
        cli_print_eval_header();
        fflush(stdout);
    }

    const cli_eval_report_t report = {
        .opts = {.op = op,
                 .kind = kind,
                 .tol = dtol,
                 .max_iter = cap,
                 .batch = (int32_t)batch,
                 .stability = (int32_t)stability},
        .compare = compare,
        .json = json,
        .plot = plot,
    };
    cli_eval_result_t res;
    if ((rc = cli_eval_report(&res, model, d.test, &report)) == 0) {
        if (json)
            printf("{\"test_acc\": %.6f, \"iters_mean\": %.4f, \"not_converged\": %lld}\n",
                   (double)res.correct / (double)res.samples, res.iters_mean,
                   (long long)res.not_converged);
        else if (stability > 0)
            printf("unstable: %lld of %lld samples converged to an unstable fixed point "
                   "(stability check, %lld power iterations)\n",
                   (long long)res.unstable, (long long)res.samples, (long long)stability);
        cli_eval_result_free(&res);
    }
    cli_data_free(&d);
    ham_model_free(model);
    return rc;
}
