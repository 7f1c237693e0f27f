/* What `hamdeq train` and `hamdeq bench` share: the training flags, and the training loop
 * with its progress display. */
#ifndef HAMDEQ_TOOLS_TRAIN_H
#define HAMDEQ_TOOLS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <hamdeq/hamdeq.h>

#include "cli.h"
#include "data_dir.h"
#include "eval_report.h"
#include "evaluate.h"
#include "model_spec.h"
#include "variants.h"

/* Tolerance of every test-set evaluation (the paper's). */
#define CLI_EVAL_TOL 1e-4

/* Raw values of the training flags. */
typedef struct cli_train_args {
    const char *data, *layers, *lagrangian, *loss, *optimizer, *backward, *gradient;
    const char *train_x, *train_y, *test_x, *test_y; /* .npy files (CLI_TRAIN_NPY) */
    double beta, lr, tol;
    int64_t batch, epochs, iters_fwd, iters_bwd, threads, blas_threads, eval_batch;
    uint64_t seed;
    int fixed_iters, shuffle, madam_biases, quiet;
} cli_train_args_t;

/* Sets the defaults (bench: the paper's fixed iterations unless --tol is given). */
void cli_train_args_init(cli_train_args_t *a, int bench);

/* cli_train_parse()'s flags. */
#define CLI_TRAIN_BENCH 1 /* bench's help texts */
#define CLI_TRAIN_NPY 2   /* --train-x, --train-y, --test-x, --test-y; --data not required */

/* Parses a train or bench command line, as cli_parse_command(): the command's own
 * options `head`, then the training options (into *a), then its own `tail`. */
int cli_train_parse(const cli_command_spec_t *help, cli_train_args_t *a, int flags,
                    const cli_opt_t *head, size_t n_head, const cli_opt_t *tail, size_t n_tail,
                    int argc, char **argv);

/* The resolved training configuration. */
typedef struct cli_train_cfg {
    cli_model_spec_t spec;
    int32_t loss, optimizer, gradient;
    int32_t backward;   /* ham_solver_kind_t of the adjoint solve, or -1: the library's */
    double lr;          /* NAN: the library's default */
    double tol;         /* forward tolerance during training */
    int fixed;          /* forward runs exactly iters_fwd iterations */
    int32_t batch, iters_fwd, iters_bwd, eval_batch;
    int64_t epochs;
    int shuffle, madam_biases, quiet;
    uint64_t seed;
} cli_train_cfg_t;

/* Checks and converts the flags the parser left as text. Returns 0, or CLI_EXIT_USAGE
 * after one error line. */
int cli_train_cfg_resolve(cli_train_cfg_t *cfg, const cli_train_args_t *a);

/* Checks a data split against the model the configuration builds. */
int cli_train_check_data(const cli_train_cfg_t *cfg, const ham_dataset_t *ds, const char *dir,
                         const char *split);

typedef struct cli_train_stats {
    double seconds;        /* training steps only, all epochs */
    double sec_per_epoch;  /* seconds / epochs (0 for 0 epochs) */
    double loss, acc;      /* last epoch's mean loss and training accuracy (0..1) */
    double fwd_iters;      /* last epoch's mean forward iterations */
    double lr;             /* the learning rate used */
} cli_train_stats_t;

/* Sets a trainer's and its forward solver's options from the configuration (also
 * hamdeq-mpi's). Returns 0, or an exit code after one error line. */
int cli_train_configure(ham_trainer_t *tr, const cli_train_cfg_t *cfg);

/* Trains `model` on `train` with operator op and solver kind, showing progress on stderr
 * (a redrawn bar on a terminal, else one line per epoch) prefixed by `tag`.
 * Returns 0, or an exit code after one error line. */
int cli_train_run(cli_train_stats_t *st, ham_model_t *model, const ham_dataset_t *train,
                  const cli_train_cfg_t *cfg, int32_t op, int32_t kind, const char *tag);

/* The permutation of --shuffle, the same in `hamdeq train` and hamdeq-mpi: the state
 * from --seed, then one Fisher-Yates shuffle of perm[0 .. n) per epoch. */
uint64_t cli_train_shuffle_state(uint64_t seed);
void cli_train_shuffle(int64_t *perm, int64_t n, uint64_t *rng);

/* --save FILE: 0 when FILE's directory is writable, else an exit code after one error
 * line (checked before training, not after it). */
int cli_check_save_path(const char *path);

/* Loads the train and test splits of --data DIR or the .npy files and checks them
 * against the model and --batch (`hamdeq train` and hamdeq-mpi). Returns 0, or an exit
 * code after one error line (nothing kept). */
int cli_train_open_data(cli_data_t *data, const cli_train_cfg_t *cfg,
                        const cli_train_args_t *a);

/* The --variant, --operator and --solver options of `hamdeq train` and hamdeq-mpi
 * (default ham-eo-deq; op and kind -1: the variant's), and their resolution. */
void cli_train_variant_opts(cli_opt_t out[3], const cli_variant_t **v, int32_t *op,
                            int32_t *kind);
void cli_train_variant_resolve(int32_t *op, int32_t *kind, const cli_variant_t *v);

/* The test-set evaluation options of a trained model. */
cli_eval_opts_t cli_train_eval_opts(const cli_train_cfg_t *cfg, int32_t op, int32_t kind,
                                    int authors, int trace);

#endif /* HAMDEQ_TOOLS_TRAIN_H */
