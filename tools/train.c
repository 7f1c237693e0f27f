/* Training flags, and the training loop with its progress display, shared by
 * `hamdeq train` and `hamdeq bench`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "data_dir.h"
#include "train.h"

void cli_train_args_init(cli_train_args_t *a, int bench)
{
    (void)bench;
    memset(a, 0, sizeof *a);
    a->layers = "784,512,10";
    a->lagrangian = "shifted-sigmoid";
    a->loss = "mse";
    a->optimizer = "madam";
    a->gradient = "implicit";
    a->beta = 1.0;
    a->lr = NAN;  /* the library's default */
    a->tol = NAN; /* train: 1e-4; bench: the paper's fixed iterations */
    a->batch = 64;
    a->epochs = 10;
    a->iters_fwd = 40;
    a->iters_bwd = 8;
    a->eval_batch = 500;
    a->seed = 1;
}

int cli_train_parse(const cli_command_spec_t *help, cli_train_args_t *a, int flags,
                    const cli_opt_t *head, size_t n_head, const cli_opt_t *tail, size_t n_tail,
                    int argc, char **argv)
{
    const int bench = flags & CLI_TRAIN_BENCH, npy = flags & CLI_TRAIN_NPY;
    /* --lr and --iters-bwd: the library's bounds */
    double lr_lo = 0.0, lr_hi = 10.0, bwd_lo = 1, bwd_hi = 1e6;
    ham_trainer_option_info(NULL, &lr_lo, &lr_hi, HAM_TRAIN_LR);
    ham_trainer_option_info(NULL, &bwd_lo, &bwd_hi, HAM_TRAIN_BACKWARD_ITERS);
    const cli_opt_t common[] = {
        cli_opt_data(&a->data,
                     npy ? "MNIST-style directory: {train,t10k}-{images-idx3,labels-idx1}-"
                           "ubyte[.gz] (required, unless the .npy files are given)"
                         : "MNIST-style directory: {train,t10k}-{images-idx3,labels-idx1}-"
                           "ubyte[.gz] (required)",
                     npy ? NULL
                         : "an MNIST-style directory, e.g. /usr/share/datasets/fashion-mnist"),
        /* the .npy files: kept only with CLI_TRAIN_NPY (NPY_FIRST .. NPY_FIRST + 3) */
        cli_opt_npy(&a->train_x, "train-x", "training samples: float32 (as they are) or uint8 "
                                            "(divided by 255), N x D or N x H x W"),
        cli_opt_npy(&a->train_y, "train-y", "training labels: 1-D uint8, int32 or int64"),
        cli_opt_npy(&a->test_x, "test-x", "test samples, as --train-x"),
        cli_opt_npy(&a->test_y, "test-y", "test labels, as --train-y"),
        cli_opt_layers(&a->layers),
        cli_opt_lagrangian(&a->lagrangian),
        cli_opt_beta(&a->beta),
        {.name = "loss", .type = CLI_OPT_STRING, .dest = &a->loss, .metavar = "mse|ce",
         .help = "loss on the output layer: the paper's MSE, or cross-entropy (default: mse)"},
        {.name = "optimizer", .type = CLI_OPT_STRING, .dest = &a->optimizer,
         .metavar = "madam|adam|sgd", .help = "optimiser (default: madam, as the paper)"},
        {.name = "lr", .type = CLI_OPT_DOUBLE, .dest = &a->lr, .metavar = "LR",
         .help = "learning rate (default: the library's, 0.01)", .min = lr_lo, .max = lr_hi,
         .flags = CLI_OPEN_MIN},
        cli_opt_batch(&a->batch, "samples per training step (default: 64)"),
        {.name = "epochs", .type = CLI_OPT_INT, .dest = &a->epochs, .metavar = "N",
         .help = bench ? "training epochs per variant; 0 evaluates untrained models (default: 10)"
                       : "training epochs; 0 evaluates the untrained model (default: 10)",
         .min = 0, .max = 1e6},
        {.name = "iters-fwd", .type = CLI_OPT_INT, .dest = &a->iters_fwd, .metavar = "N",
         .help = "forward iterations at most; also the test evaluation's cap (default: 40)",
         .min = 1, .max = 1e6},
        {.name = "iters-bwd", .type = CLI_OPT_INT, .dest = &a->iters_bwd, .metavar = "N",
         .help = "adjoint (backward) iterations (default: 8)", .min = bwd_lo, .max = bwd_hi},
        cli_opt_tol(&a->tol,
                    bench ? "forward tolerance while training (default: none, the paper's fixed "
                            "iterations)"
                          : "forward tolerance while training (default: 1e-4)"),
        {.name = "fixed-iters", .type = CLI_OPT_FLAG, .dest = &a->fixed_iters,
         .help = bench ? "run exactly --iters-fwd forward iterations, as the paper (the default)"
                       : "run exactly --iters-fwd forward iterations, as the paper (no early "
                         "stop)"},
        {.name = "backward", .type = CLI_OPT_STRING, .dest = &a->backward,
         .metavar = "picard|anderson|broyden",
         .help = "adjoint solver (default: the forward solver's, Anderson for Newton)"},
        {.name = "gradient", .type = CLI_OPT_STRING, .dest = &a->gradient,
         .metavar = "implicit|recurrent",
         .help = "implicit differentiation or recurrent backprop (default: implicit)"},
        {.name = "madam-biases", .type = CLI_OPT_FLAG, .dest = &a->madam_biases,
         .help = "train biases under Madam with an additive step (default: frozen at 0, as the "
                 "paper)"},
        cli_opt_seed(&a->seed, "seed of the weights and the shuffle (default: 1)"),
        {.name = "shuffle", .type = CLI_OPT_FLAG, .dest = &a->shuffle,
         .help = "reshuffle the training set every epoch (default: the paper's fixed order)"},
        cli_opt_threads(&a->threads),
        cli_opt_blas_threads(&a->blas_threads),
        {.name = "eval-batch", .type = CLI_OPT_INT, .dest = &a->eval_batch, .metavar = "N",
         .help = "test samples solved together (default: 500)", .min = 1, .max = 1 << 20},
        {.name = "quiet", .type = CLI_OPT_FLAG, .dest = &a->quiet,
         .help = "no progress display on stderr"},
    };
    const struct {
        const cli_opt_t *part;
        size_t count;
    } parts[] = {{head, n_head}, {common, CLI_N_OPTS(common)}, {tail, n_tail}};
    cli_opt_t opts[CLI_MAX_OPTS + 1]; /* one more: a too long table reaches the parser's check */
    size_t n = 0;
    enum { NPY_FIRST = 1 }; /* the index of --train-x in common[] */
    for (size_t p = 0; p < CLI_N_OPTS(parts); p++)
        for (size_t i = 0; i < parts[p].count && n < CLI_N_OPTS(opts); i++)
            if (npy || parts[p].part != common || i < NPY_FIRST || i >= NPY_FIRST + 4)
                opts[n++] = parts[p].part[i];
    return cli_parse_command(help, opts, n, argc, argv);
}

static int parse_choice(int32_t *out, const char *flag, const char *value, const char *const *names,
                        const int32_t *values, size_t count, const char *known)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = values[i];
            return 0;
        }
    }
    cli_error("--%s: unknown value '%s' (known: %s)", flag, value, known);
    return CLI_EXIT_USAGE;
}

int cli_train_cfg_resolve(cli_train_cfg_t *cfg, const cli_train_args_t *a)
{
    memset(cfg, 0, sizeof *cfg);
    static const char *const losses[] = {"mse", "ce", "cross-entropy"};
    static const int32_t loss_v[] = {HAM_LOSS_MSE, HAM_LOSS_CROSS_ENTROPY, HAM_LOSS_CROSS_ENTROPY};
    static const char *const opts[] = {"madam", "adam", "sgd"};
    static const int32_t opt_v[] = {HAM_OPTIMIZER_MADAM, HAM_OPTIMIZER_ADAM, HAM_OPTIMIZER_SGD};
    static const char *const grads[] = {"implicit", "recurrent"};
    static const int32_t grad_v[] = {HAM_GRADIENT_IMPLICIT, HAM_GRADIENT_RECURRENT};
    static const char *const bwd[] = {"picard", "anderson", "broyden"};
    static const int32_t bwd_v[] = {HAM_SOLVER_PICARD, HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN};
    if (parse_choice(&cfg->loss, "loss", a->loss, losses, loss_v, 3, "mse, ce") ||
        parse_choice(&cfg->optimizer, "optimizer", a->optimizer, opts, opt_v, 3,
                     "madam, adam, sgd") ||
        parse_choice(&cfg->gradient, "gradient", a->gradient, grads, grad_v, 2,
                     "implicit, recurrent"))
        return CLI_EXIT_USAGE;
    cfg->backward = -1;
    if (a->backward &&
        parse_choice(&cfg->backward, "backward", a->backward, bwd, bwd_v, 3,
                     "picard, anderson, broyden"))
        return CLI_EXIT_USAGE;
    if (a->fixed_iters && !isnan(a->tol)) {
        cli_error("--tol and --fixed-iters contradict each other: give one");
        return CLI_EXIT_USAGE;
    }
    cfg->lr = a->lr;
    cfg->fixed = a->fixed_iters;
    cfg->tol = isnan(a->tol) ? CLI_EVAL_TOL : a->tol;
    cfg->batch = (int32_t)a->batch;
    cfg->epochs = a->epochs;
    cfg->iters_fwd = (int32_t)a->iters_fwd;
    cfg->iters_bwd = (int32_t)a->iters_bwd;
    cfg->eval_batch = (int32_t)a->eval_batch;
    cfg->shuffle = a->shuffle;
    cfg->madam_biases = a->madam_biases;
    cfg->quiet = a->quiet;
    cfg->seed = a->seed;
    return cli_model_spec_parse(&cfg->spec, a->layers, a->lagrangian, a->beta, a->seed);
}

int cli_train_check_data(const cli_train_cfg_t *cfg, const ham_dataset_t *ds, const char *dir,
                         const char *split)
{
    const cli_model_spec_t *s = &cfg->spec;
    return cli_data_fits(ds, dir, split, s->sizes[0], s->sizes[s->n_layers - 1]);
}

/* ------------------------------------------------------------------ training loop */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t cli_train_shuffle_state(uint64_t seed)
{
    return seed ^ 0x2545f4914f6cdd1dULL;
}

void cli_train_shuffle(int64_t *perm, int64_t n, uint64_t *rng)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix64(rng) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Fails early when `path` could not be written, rather than after hours of training. */
int cli_check_save_path(const char *path)
{
    char *dir = strdup(path);
    if (!dir) {
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        slash[slash == dir ? 1 : 0] = '\0';
        d = dir;
    }
    int rc = 0;
    if (path[0] == '\0' || path[strlen(path) - 1] == '/') {
        cli_error("--save: '%s' is not a file name", path);
        rc = CLI_EXIT_USAGE;
    } else if (access(d, W_OK) != 0) {
        cli_error("--save %s: cannot write in %s: %s", path, d, strerror(errno));
        rc = CLI_EXIT_RUNTIME;
    }
    free(dir);
    return rc;
}

int cli_train_open_data(cli_data_t *data, const cli_train_cfg_t *cfg,
                        const cli_train_args_t *a)
{
    const cli_data_src_t src = {a->data, a->train_x, a->train_y, a->test_x, a->test_y};
    int rc = cli_data_open(data, &src, 1, 1);
    if (rc != 0)
        return rc;
    if ((rc = cli_train_check_data(cfg, data->train, data->train_from, data->train_split)) ==
            0 &&
        (rc = cli_train_check_data(cfg, data->test, data->test_from, data->test_split)) == 0 &&
        cfg->epochs > 0 && ham_dataset_count(data->train) < cfg->batch) {
        cli_error("%s: the train split holds %lld samples, fewer than --batch %d",
                  data->train_from, (long long)ham_dataset_count(data->train), (int)cfg->batch);
        rc = CLI_EXIT_USAGE;
    }
    if (rc != 0)
        cli_data_free(data);
    return rc;
}

void cli_train_variant_opts(cli_opt_t out[3], const cli_variant_t **v, int32_t *op,
                            int32_t *kind)
{
    *v = cli_variant_find("ham-eo-deq");
    *op = *kind = -1; /* -1: the variant's */
    out[0] = cli_opt_variant(v, "ham, ham-deq, ham-eo, ham-eo-deq or ham-eo-newton (default: "
                                "ham-eo-deq)");
    out[1] = cli_opt_operator(op, "override the variant's operator");
    out[2] = cli_opt_solver(kind, "override the variant's solver: picard, anderson, broyden, "
                                  "newton");
}

void cli_train_variant_resolve(int32_t *op, int32_t *kind, const cli_variant_t *v)
{
    if (*op < 0)
        *op = v->op;
    if (*kind < 0)
        *kind = v->kind;
}

typedef struct progress {
    int bar;   /* redraw a bar (stderr is a terminal) */
    int lines; /* one line per epoch */
    double last_ms;
} progress_t;

static void fmt_duration(char *buf, size_t len, double sec)
{
    if (!(sec >= 0.0) || sec > 1e7)
        sec = 0.0;
    long s = (long)(sec + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

static void draw_bar(const char *tag, int64_t epoch, int64_t epochs, int64_t done, int64_t steps,
                     double loss, double acc, double iters, double rate, double eta)
{
    char bar[24], eta_s[32];
    const int width = 20;
    int filled = steps > 0 ? (int)((double)done / (double)steps * width) : width;
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fmt_duration(eta_s, sizeof eta_s, eta);
    /* once the epoch is done, the time it took replaces the ETA */
    fprintf(stderr,
            "\r%s%sepoch %lld/%lld [%s] %lld/%lld loss %.4f acc %.1f%% iters %.1f %.0f samples/s "
            "%s %s\033[K",
            tag, *tag ? " " : "", (long long)epoch, (long long)epochs, bar, (long long)done,
            (long long)steps, loss, 100.0 * acc, iters, rate, done == steps ? "took" : "ETA",
            eta_s);
    fflush(stderr);
}

/* A flag's value the library refused: one error line, with the library's message. */
static int option_set(int rc, const char *msg, const char *flag, double value)
{
    if (rc == HAM_OK)
        return 0;
    cli_error("--%s %g: %s", flag, value, msg && *msg ? msg : ham_strerror(rc));
    return CLI_EXIT_USAGE;
}

static int set_topt(ham_trainer_t *tr, int32_t option, double value, const char *flag)
{
    int rc = ham_trainer_set_option(tr, option, value);
    return option_set(rc, ham_last_error(), flag, value);
}

static int set_sopt(ham_solver_t *sv, int32_t option, double value, const char *flag)
{
    int rc = ham_solver_set_option(sv, option, value);
    return option_set(rc, ham_last_error(), flag, value);
}

int cli_train_configure(ham_trainer_t *tr, const cli_train_cfg_t *cfg)
{
    ham_solver_t *fw = ham_trainer_solver(tr);
    if (!fw) {
        cli_error("the trainer has no forward solver");
        return CLI_EXIT_RUNTIME;
    }
    int rc = set_sopt(fw, HAM_OPT_TOL, cfg->tol, "tol");
    if (!rc)
        rc = set_sopt(fw, HAM_OPT_FIXED_ITERS, cfg->fixed ? 1.0 : 0.0, "fixed-iters");
    if (!rc)
        rc = set_sopt(fw, HAM_OPT_MAX_ITER, cfg->iters_fwd, "iters-fwd");
    if (!rc)
        rc = set_topt(tr, HAM_TRAIN_LOSS, cfg->loss, "loss");
    if (!rc)
        rc = set_topt(tr, HAM_TRAIN_OPTIMIZER, cfg->optimizer, "optimizer");
    if (!rc && !isnan(cfg->lr))
        rc = set_topt(tr, HAM_TRAIN_LR, cfg->lr, "lr");
    if (!rc)
        rc = set_topt(tr, HAM_TRAIN_GRADIENT, cfg->gradient, "gradient");
    if (!rc)
        rc = set_topt(tr, HAM_TRAIN_BACKWARD_ITERS, cfg->iters_bwd, "iters-bwd");
    if (!rc && cfg->backward >= 0)
        rc = set_topt(tr, HAM_TRAIN_BACKWARD_SOLVER, cfg->backward, "backward");
    if (!rc && cfg->madam_biases)
        rc = set_topt(tr, HAM_TRAIN_MADAM_BIASES, 1, "madam-biases");
    if (!rc)
        rc = set_topt(tr, HAM_TRAIN_THREADS, cli_threads(), "threads");
    return rc;
}

int cli_train_run(cli_train_stats_t *st, ham_model_t *model, const ham_dataset_t *train,
                  const cli_train_cfg_t *cfg, int32_t op, int32_t kind, const char *tag)
{
    memset(st, 0, sizeof *st);
    st->lr = cfg->lr;
    if (cfg->epochs <= 0)
        return 0; /* an untrained model: no trainer needed */
    ham_trainer_t *tr = NULL;
    int rc = ham_trainer_new(&tr, model, op, kind);
    if (rc != HAM_OK) {
        cli_error("cannot train with %s + %s: %s", ham_operator_name(op), ham_solver_kind_name(kind),
                  ham_strerror(rc));
        return rc == HAM_ERR_NOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_USAGE;
    }
    int exit_code = cli_train_configure(tr, cfg);
    double lr = NAN;
    if (!exit_code && ham_trainer_get_option(&lr, tr, HAM_TRAIN_LR) == HAM_OK)
        st->lr = lr;
    const int64_t n = ham_dataset_count(train);
    const int32_t B = cfg->batch, n0 = ham_model_layer_size(model, 0);
    const int64_t steps = n / B;
    float *x = malloc((size_t)B * (size_t)n0 * sizeof(float));
    int32_t *labels = malloc((size_t)B * sizeof(int32_t));
    int64_t *perm = cfg->shuffle ? malloc((size_t)n * sizeof(int64_t)) : NULL;
    if (!exit_code && (!x || !labels || (cfg->shuffle && !perm))) {
        cli_error("out of memory for a batch of %d samples", (int)B);
        exit_code = CLI_EXIT_RUNTIME;
    }
    if (!exit_code && cfg->epochs > 0 && steps == 0) {
        cli_error("the training set holds %lld samples, fewer than --batch %d", (long long)n,
                  (int)B);
        exit_code = CLI_EXIT_USAGE;
    }
    if (perm)
        for (int64_t i = 0; i < n; i++)
            perm[i] = i;
    uint64_t rng = cli_train_shuffle_state(cfg->seed);
    progress_t pg = {0, 0, 0.0};
    if (!cfg->quiet) {
        pg.bar = isatty(STDERR_FILENO);
        pg.lines = !pg.bar;
    }
    ham_solver_t *fw = tr ? ham_trainer_solver(tr) : NULL;

    for (int64_t epoch = 1; epoch <= cfg->epochs && !exit_code; epoch++) {
        if (perm)
            cli_train_shuffle(perm, n, &rng);
        double t0 = cli_now_ms(), loss_sum = 0.0, iter_sum = 0.0;
        int64_t correct_sum = 0, not_conv = 0, done = 0;
        for (int64_t b = 0; b < steps; b++) {
            rc = perm ? ham_dataset_gather(x, labels, train, perm + b * B, B)
                      : ham_dataset_get(x, labels, train, b * B, B);
            if (rc != HAM_OK) {
                cli_error("reading training batch %lld: %s", (long long)b, ham_strerror(rc));
                exit_code = CLI_EXIT_RUNTIME;
                break;
            }
            double loss = 0.0;
            int32_t correct = 0;
            rc = ham_trainer_step(tr, &loss, &correct, B, x, labels);
            if (rc != HAM_OK) {
                const char *msg = ham_last_error();
                if (pg.bar)
                    fputc('\n', stderr);
                cli_error("epoch %lld, step %lld: %s", (long long)epoch, (long long)b + 1,
                          msg && *msg ? msg : ham_strerror(rc));
                exit_code = CLI_EXIT_RUNTIME;
                break;
            }
            if (!isfinite(loss)) {
                if (pg.bar)
                    fputc('\n', stderr);
                cli_error("epoch %lld, step %lld: the loss is %g; try a smaller --lr",
                          (long long)epoch, (long long)b + 1, loss);
                exit_code = CLI_EXIT_RUNTIME;
                break;
            }
            ham_solve_stats_t fs = {.size = sizeof fs};
            if (ham_solver_get_stats(&fs, fw) == HAM_OK) {
                iter_sum += fs.iters_mean * fs.samples;
                not_conv += fs.samples - fs.converged;
            }
            loss_sum += loss * B;
            correct_sum += correct;
            done += B;
            double now = cli_now_ms();
            if (pg.bar && (now - pg.last_ms > 100.0 || b + 1 == steps)) {
                pg.last_ms = now;
                double el = (now - t0) / 1e3;
                draw_bar(tag, epoch, cfg->epochs, b + 1, steps, loss_sum / (double)done,
                         (double)correct_sum / (double)done, iter_sum / (double)done,
                         el > 0 ? (double)done / el : 0.0,
                         b + 1 == steps ? el : el / (double)(b + 1) * (double)(steps - b - 1));
            }
        }
        if (exit_code)
            break;
        double sec = (cli_now_ms() - t0) / 1e3;
        st->seconds += sec;
        st->loss = loss_sum / (double)done;
        st->acc = (double)correct_sum / (double)done;
        st->fwd_iters = iter_sum / (double)done;
        char nc[64] = "";
        if (!cfg->fixed) /* with fixed iterations, "not converged" means nothing */
            snprintf(nc, sizeof nc, " (not converged %lld)", (long long)not_conv);
        if (pg.bar)
            fputc('\n', stderr);
        if (pg.lines)
            fprintf(stderr,
                    "%s%sepoch %lld/%lld: loss %.5f, train acc %.2f%%, forward iters %.2f%s, "
                    "%.1f s, %.0f samples/s\n",
                    tag, *tag ? " " : "", (long long)epoch, (long long)cfg->epochs, st->loss,
                    100.0 * st->acc, st->fwd_iters, nc, sec, sec > 0 ? (double)done / sec : 0.0);
    }
    if (!exit_code && cfg->epochs > 0)
        st->sec_per_epoch = st->seconds / (double)cfg->epochs;
    free(x);
    free(labels);
    free(perm);
    ham_trainer_free(tr);
    return exit_code;
}

cli_eval_opts_t cli_train_eval_opts(const cli_train_cfg_t *cfg, int32_t op, int32_t kind,
                                    int authors, int trace)
{
    cli_eval_opts_t o = {op, kind, CLI_EVAL_TOL, cfg->iters_fwd, cfg->eval_batch, authors, trace, 0};
    return o;
}
