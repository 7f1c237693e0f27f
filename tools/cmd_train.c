/* hamdeq train: trains a HAM through its fixed point on an MNIST-style directory or .npy
 * files, then evaluates it on the test split (accuracy and iteration counts at tolerance
 * 1e-4). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data_dir.h"
#include "train.h"

static const cli_command_spec_t help = {
    .usage = "hamdeq train (--data DIR | --train-x FILE.npy --train-y FILE.npy --test-x "
             "FILE.npy --test-y FILE.npy) [options]",
    .description =
        "Trains a HAM (Xavier weights from --seed, zero biases, zero initial state) on the\n"
        "train split of DIR (or --train-x/--train-y) with one operator x solver variant,\n"
        "gradients by implicit differentiation through the fixed point, then evaluates it on\n"
        "the t10k split (or --test-x/--test-y) at tolerance 1e-4. .npy samples are float32,\n"
        "taken as they are, or uint8, divided by 255 as IDX pixels are; labels are 1-D\n"
        "uint8, int32 or int64. Other dtypes (float64) are refused with the NumPy line that\n"
        "converts them. Variants (the paper's Table 1, plus Newton):\n"
        "  ham            synchronous F + Picard        ham-eo      even-odd G + Picard\n"
        "  ham-deq        synchronous F + Anderson      ham-eo-deq  even-odd G + Anderson\n"
        "  ham-eo-newton  even-odd G + Newton\n"
        "--operator and --solver override the variant's. Progress goes to stderr: a bar on a\n"
        "terminal, otherwise one line per epoch. The last partial batch of an epoch is "
        "dropped.\n",
    .notes = "With --json, stdout holds exactly one line:\n"
             "  {\"variant\": str, \"epochs\": int, \"test_acc\": float, \"iters_mean\": float,\n"
             "   \"not_converged\": int, \"sec_per_epoch\": float}\n"
             "test_acc is a fraction (0..1); iters_mean and not_converged are measured on the "
             "test\n"
             "split at tolerance 1e-4 with at most --iters-fwd iterations (docs/cli.md).\n",
    .runtime_errors = "data, file, library",
    .examples = "hamdeq train --data /usr/share/datasets/fashion-mnist --variant ham-eo-deq "
                "--epochs 1 --compare\n"
                "hamdeq train --data DIR --variant ham --fixed-iters --save ham.model --json\n"
                "hamdeq train --train-x x.npy --train-y y.npy --test-x tx.npy --test-y ty.npy "
                "--layers 64,32,4\n",
};

int cmd_train(int argc, char **argv)
{
    cli_train_args_t a;
    cli_train_args_init(&a, 0);
    const cli_variant_t *v;
    int32_t op, kind;
    const char *save = NULL, *plot = NULL;
    int json = 0, compare = 0;
    cli_opt_t own[3];
    cli_train_variant_opts(own, &v, &op, &kind);
    const cli_opt_t tail[] = {
        {.name = "save", .type = CLI_OPT_STRING, .dest = &save, .metavar = "FILE",
         .help = "save the trained model (with the variant as its solver defaults)"},
        {.name = "compare", .type = CLI_OPT_FLAG, .dest = &compare,
         .help = "also evaluate the trained model with every variant (table and plot)"},
        cli_opt_plot(&plot, "write the test set's residual against iteration as SVG"),
        cli_opt_json(&json, "print one JSON object instead of the table"),
    };
    int rc = cli_train_parse(&help, &a, CLI_TRAIN_NPY, own, CLI_N_OPTS(own), tail,
                             CLI_N_OPTS(tail), argc, argv);
    if (rc != CLI_PARSED)
        return rc;
    cli_train_variant_resolve(&op, &kind, v);
    cli_train_cfg_t cfg;
    if ((rc = cli_train_cfg_resolve(&cfg, &a)) != 0)
        return rc;
    if (save && (rc = cli_check_save_path(save)) != 0)
        return rc;
    char vname[64];
    cli_variant_name(vname, sizeof vname, op, kind);

    cli_data_t data;
    if ((rc = cli_train_open_data(&data, &cfg, &a)) != 0)
        return rc;
    ham_model_t *model = NULL;
    if ((rc = cli_model_build(&model, &cfg.spec)) != 0) {
        cli_data_free(&data);
        return rc;
    }
    cli_set_threads(a.threads);
    cli_set_blas_threads(a.blas_threads);

    const int64_t n_train = ham_dataset_count(data.train), n_test = ham_dataset_count(data.test);
    if (!json) {
        char sizes[512], lags[512];
        cli_model_sizes_string(sizes, sizeof sizes, &cfg.spec);
        cli_model_lagrangians_string(lags, sizeof lags, &cfg.spec);
        printf("hamdeq %s: train %s (%s + %s) on %s\n", ham_version_string(), vname,
               ham_operator_name(op), ham_solver_kind_name(kind),
               a.data ? a.data : data.train_from);
        printf("model %s (%s), Xavier seed %llu; data: %lld train / %lld test samples\n", sizes,
               lags, (unsigned long long)cfg.seed, (long long)n_train, (long long)n_test);
        printf("loss %s, optimizer %s, batch %d (%lld steps per epoch, %s), %lld epoch%s\n",
               a.loss, a.optimizer, (int)cfg.batch, (long long)(n_train / cfg.batch),
               cfg.shuffle ? "shuffled" : "fixed order", (long long)cfg.epochs,
               cfg.epochs == 1 ? "" : "s");
        if (cfg.fixed)
            printf("forward: exactly %d iterations; ", (int)cfg.iters_fwd);
        else
            printf("forward: tolerance %g, at most %d iterations; ", cfg.tol, (int)cfg.iters_fwd);
        printf("backward: %d iterations (%s)\n\n", (int)cfg.iters_bwd, a.gradient);
        fflush(stdout);
    }

    cli_train_stats_t st;
    rc = cli_train_run(&st, model, data.train, &cfg, op, kind, "");
    if (!rc && !json && cfg.epochs > 0)
        printf("trained %lld epoch%s in %.1f s (%.2f s/epoch, lr %g); last epoch: loss %.5f, "
               "train acc %.2f%%\n\n",
               (long long)cfg.epochs, cfg.epochs == 1 ? "" : "s", st.seconds, st.sec_per_epoch,
               st.lr, st.loss, 100.0 * st.acc);
    if (!rc && save) {
        int src = ham_model_set_defaults(model, op, kind, CLI_EVAL_TOL, cfg.iters_fwd);
        if (src == HAM_OK)
            src = ham_model_save(model, save);
        if (src != HAM_OK) {
            cli_error("--save %s: %s", save, ham_last_error());
            rc = CLI_EXIT_RUNTIME;
        } else if (!json) {
            printf("saved the model to %s (solver defaults: %s + %s, tol %g, %d iterations)\n\n",
                   save, ham_operator_name(op), ham_solver_kind_name(kind), CLI_EVAL_TOL,
                   (int)cfg.iters_fwd);
        }
    }

    if (!rc && !json) {
        printf("test split: %lld samples, tolerance %g, at most %d iterations\n",
               (long long)n_test, CLI_EVAL_TOL, (int)cfg.iters_fwd);
        cli_print_eval_header();
    }
    const cli_eval_report_t report = {
        .opts = cli_train_eval_opts(&cfg, op, kind, 0, 0),
        .compare = compare,
        .mark_own = compare,
        .json = json,
        .plot = plot,
        .title_note = cfg.epochs > 0 ? "" : " (untrained model)",
    };
    cli_eval_result_t res;
    if (!rc && (rc = cli_eval_report(&res, model, data.test, &report)) == 0) {
        if (json)
            cli_print_train_json(vname, cfg.epochs, &res, st.sec_per_epoch);
        cli_eval_result_free(&res);
    }
    ham_model_free(model);
    cli_data_free(&data);
    return rc;
}
