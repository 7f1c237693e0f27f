/* hamdeq-mpi: `hamdeq train`, data-parallel over MPI (docs/distributed.md).
 *
 * Every rank loads the data set and builds the same model from the same seed. Each step
 * takes the same global batch as `hamdeq train --batch B` would; rank r of P takes its
 * contiguous slice [B r / P, B (r + 1) / P). The trainer's reduction hook
 * (ham_trainer_set_reduce) sums gradients and counters with MPI_Allreduce in place, so
 * every rank applies the same update and reports global figures. After every epoch the
 * ranks compare a checksum of the weights; the test split is evaluated sharded and
 * summed. Rank 0 alone prints and saves. A failure on any rank makes every rank exit
 * non-zero: trainer failures travel through the hook's failure counter, everything else
 * through agree() before the next collective step, so no rank waits forever.
 *
 * The library (libhamdeq.so) has no MPI in it: MPI lives only in this executable. */
#include <mpi.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "data_dir.h"
#include "eval_report.h"
#include "train.h"

static int g_rank = 0, g_size = 1;

/* Test-only failure injection (tests/mpi/run.sh; docs/distributed.md, "Tests"), so that
 * the tests can make one rank fail in the middle of a run:
 *   HAMDEQ_MPI_TEST_FAIL=WHAT:RANK[:N]
 * read:R:S    rank R cannot read its shard at step S (1-based, counted over all epochs):
 *             a real ham_dataset_get past the end of the set;
 * label:R:S   rank R's first label at step S is out of range (the trainer's own check);
 * nan:R:S     rank R's inputs at step S are NaN (the forward solve refuses them);
 * exit:R:S    rank R dies at step S without a word to MPI (_exit), as a crash would;
 * checksum:R:E  rank R runs out of memory for the weight checksum after epoch E (0, or
 *             no E: the final check before saving);
 * eval:R      rank R runs out of memory for the test evaluation.
 * Unset (always, outside the tests) it costs one comparison per step. */
enum { INJ_NONE, INJ_READ, INJ_LABEL, INJ_NAN, INJ_EXIT, INJ_CHECKSUM, INJ_EVAL };
static int g_inject = INJ_NONE;
static long long g_inject_at = 0;

static int inject_parse(void)
{
    static const char *const what[] = {"", "read", "label", "nan", "exit", "checksum", "eval"};
    const char *e = getenv("HAMDEQ_MPI_TEST_FAIL");
    if (!e || !*e)
        return 0;
    char name[16];
    int rank = -1;
    long long at = 0;
    if (sscanf(e, "%15[a-z]:%d:%lld", name, &rank, &at) < 2)
        goto bad;
    for (int k = 1; k < (int)(sizeof what / sizeof what[0]); k++) {
        if (strcmp(name, what[k]) == 0) {
            if (rank == g_rank) {
                g_inject = k;
                g_inject_at = at;
            }
            return 0;
        }
    }
bad:
    cli_error("HAMDEQ_MPI_TEST_FAIL=%s: expected WHAT:RANK[:N], WHAT one of read, label, nan, "
              "exit, checksum, eval (a test-only setting)", e);
    return CLI_EXIT_USAGE;
}

static int injected(int what, long long at)
{
    return g_inject == what && (what == INJ_EVAL || at == g_inject_at);
}

static const cli_command_spec_t help = {
    .usage = "mpirun -np P hamdeq-mpi --data DIR [options]",
    .description =
        "Trains a HAM like `hamdeq train`, data-parallel over P MPI ranks: every global\n"
        "batch of --batch samples is split into P contiguous slices, one per rank, and the\n"
        "gradients are summed with MPI_Allreduce, so the run takes the same steps as\n"
        "`hamdeq train` with the same --batch (to float reassociation; bit for bit with\n"
        "P = 1). The weights are checked identical on every rank after each epoch; the test\n"
        "split is evaluated sharded. Rank 0 alone prints and saves. With --batch below P\n"
        "some ranks hold no sample of a step: they contribute zeros.\n"
        "The last partial batch of an epoch is dropped, as in `hamdeq train`.\n",
    .notes = "With --json, rank 0 prints exactly one line, with the keys of `hamdeq train "
             "--json`:\n"
             "  {\"variant\": str, \"epochs\": int, \"test_acc\": float, \"iters_mean\": float,\n"
             "   \"not_converged\": int, \"sec_per_epoch\": float}\n"
             "epochs counts the epochs begun (--steps may end one early); sec_per_epoch is\n"
             "their training time over their number.\n"
             "Set the BLAS threads per rank with --blas-threads (or OPENBLAS_NUM_THREADS), and\n"
             "the solves' threads per rank with --threads (default 0: every core).\n",
    .runtime_errors = "data, file, library, MPI",
    .examples = "mpirun -np 2 hamdeq-mpi --data /usr/share/datasets/fashion-mnist --epochs 1 "
                "--threads 1 --blas-threads 1\n"
                "mpirun --hostfile hosts -np 8 hamdeq-mpi --data DIR --batch 512 --save m.model "
                "--json\n",
};

/* Every rank's exit code: the worst (collective). The failing rank printed its own
 * error line, with its rank in the program name; rank 0 says that the run stops. */
static int agree(int code)
{
    int worst = 0, failed = 0, mine = code != 0;
    MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (worst && g_rank == 0 && !code)
        cli_note("stopping all %d ranks: %d rank%s failed", g_size, failed,
                 failed == 1 ? "" : "s");
    return worst;
}

/* ham_reduce_fn over MPI_COMM_WORLD: sums in place (MPI_SUM), in chunks below INT_MAX. */
static int mpi_reduce(float *grad, size_t len, double *counts, int32_t n_counts, void *user)
{
    MPI_Comm comm = *(MPI_Comm *)user;
    for (size_t at = 0; at < len;) {
        int n = (int)(len - at < (size_t)(1 << 30) ? len - at : (size_t)(1 << 30));
        if (MPI_Allreduce(MPI_IN_PLACE, grad + at, n, MPI_FLOAT, MPI_SUM, comm) != MPI_SUCCESS)
            return 1;
        at += (size_t)n;
    }
    return MPI_Allreduce(MPI_IN_PLACE, counts, n_counts, MPI_DOUBLE, MPI_SUM, comm) !=
           MPI_SUCCESS;
}

/* FNV-1a over the bytes of every weight block and bias. */
static int weights_checksum(uint64_t *h, const ham_model_t *m)
{
    int32_t L = ham_model_n_layers(m);
    size_t cap = 0;
    for (int32_t l = 0; l < L; l++) {
        size_t k = (size_t)ham_model_layer_size(m, l) *
                   (size_t)(l + 1 < L ? ham_model_layer_size(m, l + 1) : 1);
        cap = k > cap ? k : cap;
    }
    float *buf = malloc(cap * sizeof(float));
    if (!buf)
        return -1;
    *h = 1469598103934665603ULL;
    for (int32_t part = 0; part < 2 * L; part++) {
        int32_t l = part % L;
        size_t k;
        int rc;
        if (part < L) { /* weight blocks */
            if (l + 1 >= L)
                continue;
            k = (size_t)ham_model_layer_size(m, l) * (size_t)ham_model_layer_size(m, l + 1);
            rc = ham_model_get_weights(buf, m, l, k);
        } else {        /* biases (the clamped input has none) */
            k = (size_t)ham_model_layer_size(m, l);
            rc = ham_model_get_bias(buf, m, l, k);
            if (rc != HAM_OK)
                continue;
        }
        if (rc != HAM_OK) {
            free(buf);
            return -1;
        }
        const unsigned char *b = (const unsigned char *)buf;
        for (size_t i = 0; i < k * sizeof(float); i++)
            *h = (*h ^ b[i]) * 1099511628211ULL;
    }
    free(buf);
    return 0;
}

/* Collective: fails on every rank unless every rank holds the same weights. `epoch`: the
 * epoch just ended, or 0 at the end. */
static int check_same_weights(const ham_model_t *m, const char *when, int64_t epoch)
{
    uint64_t h = 0, v[2], mx[2];
    int code = !injected(INJ_CHECKSUM, epoch) && weights_checksum(&h, m) == 0
                   ? 0
                   : CLI_EXIT_RUNTIME;
    if (code)
        cli_error("cannot read the weights for their checksum");
    if ((code = agree(code)) != 0)
        return code;
    v[0] = h;
    v[1] = ~h;
    MPI_Allreduce(v, mx, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (mx[0] != h || mx[1] != ~h) { /* max(h) == min(h) <=> all equal */
        if (g_rank == 0)
            cli_error("the weights differ across ranks %s (checksums max %016llx, min %016llx)",
                      when, (unsigned long long)mx[0], (unsigned long long)~mx[1]);
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

typedef struct run {
    double seconds, loss, acc;
    int64_t epochs_done, steps_done;
} run_t;

/* The training loop: every rank runs it in lockstep. */
static int train(run_t *st, ham_model_t *model, const ham_dataset_t *ds,
                 const cli_train_cfg_t *cfg, int32_t op, int32_t kind, int64_t max_steps)
{
    memset(st, 0, sizeof *st);
    MPI_Comm comm = MPI_COMM_WORLD;
    ham_trainer_t *tr = NULL;
    int code = 0, rc = ham_trainer_new(&tr, model, op, kind);
    if (rc != HAM_OK) {
        cli_error("cannot train with %s + %s: %s", ham_operator_name(op),
                  ham_solver_kind_name(kind), ham_last_error());
        code = CLI_EXIT_RUNTIME;
    }
    if (!code)
        code = cli_train_configure(tr, cfg);
    if (!code && (rc = ham_trainer_set_reduce(tr, mpi_reduce, &comm)) != HAM_OK) {
        cli_error("ham_trainer_set_reduce: %s", ham_last_error());
        code = CLI_EXIT_RUNTIME;
    }
    const int64_t n = ham_dataset_count(ds), steps = n / cfg->batch;
    const int32_t B = cfg->batch, n0 = ham_model_layer_size(model, 0);
    const int32_t lo = (int32_t)((int64_t)B * g_rank / g_size);
    const int32_t rows = (int32_t)((int64_t)B * (g_rank + 1) / g_size) - lo;
    float *x = malloc((size_t)rows * (size_t)n0 * sizeof(float) + 1);
    int32_t *labels = malloc((size_t)rows * sizeof(int32_t) + 1);
    int64_t *perm = cfg->shuffle ? malloc((size_t)n * sizeof(int64_t)) : NULL;
    if (!code && (!x || !labels || (cfg->shuffle && !perm))) {
        cli_error("out of memory for a shard of %d samples", (int)rows);
        code = CLI_EXIT_RUNTIME;
    }
    if ((code = agree(code)) != 0)
        goto done;
    if (perm)
        for (int64_t i = 0; i < n; i++)
            perm[i] = i;
    uint64_t rng = cli_train_shuffle_state(cfg->seed);
    for (int64_t epoch = 1; epoch <= cfg->epochs && !code; epoch++) {
        if (perm)
            cli_train_shuffle(perm, n, &rng);
        MPI_Barrier(comm);
        double t0 = MPI_Wtime(), loss_sum = 0.0;
        int64_t correct_sum = 0, done = 0;
        for (int64_t b = 0; b < steps && (max_steps <= 0 || st->steps_done < max_steps); b++) {
            const long long step = (long long)st->steps_done + 1;
            if (injected(INJ_EXIT, step)) {
                cli_error("step %lld: exiting at once (HAMDEQ_MPI_TEST_FAIL, test only)", step);
                fflush(stderr);
                _exit(CLI_EXIT_RUNTIME);
            }
            rc = HAM_OK; /* an empty shard (B < P) reads nothing and contributes zeros */
            if (rows > 0 && injected(INJ_READ, step))
                rc = ham_dataset_get(x, labels, ds, n, rows);
            else if (rows > 0)
                rc = perm ? ham_dataset_gather(x, labels, ds, perm + b * B + lo, rows)
                          : ham_dataset_get(x, labels, ds, b * B + lo, rows);
            int read_failed = rc != HAM_OK;
            if (read_failed) /* batch -1 fails this step on every rank through the hook */
                cli_error("reading training batch %lld: %s", (long long)b, ham_last_error());
            if (rows > 0 && injected(INJ_LABEL, step))
                labels[0] = 1000;
            if (rows > 0 && injected(INJ_NAN, step))
                for (size_t i = 0; i < (size_t)rows * (size_t)n0; i++)
                    x[i] = NAN;
            double loss = 0.0;
            int32_t correct = 0;
            rc = ham_trainer_step(tr, &loss, &correct, read_failed ? -1 : rows, x, labels);
            if (rc != HAM_OK) {
                if (!read_failed && rc != HAM_ERR_CALLBACK)
                    cli_error("epoch %lld, step %lld: %s", (long long)epoch, (long long)b + 1,
                              ham_last_error());
                else if (!read_failed && g_rank == 0)
                    cli_note("epoch %lld, step %lld: %s", (long long)epoch, (long long)b + 1,
                             ham_last_error());
                code = CLI_EXIT_RUNTIME;
                break;
            }
            if (!isfinite(loss)) { /* the same global loss on every rank */
                if (g_rank == 0)
                    cli_error("epoch %lld, step %lld: the loss is %g; try a smaller --lr",
                              (long long)epoch, (long long)b + 1, loss);
                code = CLI_EXIT_RUNTIME;
                break;
            }
            loss_sum += loss * B;
            correct_sum += correct;
            done += B;
            st->steps_done++;
        }
        if (code)
            break;
        double sec = MPI_Wtime() - t0;
        st->seconds += sec;
        st->epochs_done++;
        st->loss = done ? loss_sum / (double)done : 0.0;
        st->acc = done ? (double)correct_sum / (double)done : 0.0;
        char when[64];
        snprintf(when, sizeof when, "after epoch %lld", (long long)epoch);
        if ((code = check_same_weights(model, when, epoch)) != 0)
            break;
        if (g_rank == 0 && !cfg->quiet)
            fprintf(stderr,
                    "epoch %lld/%lld: loss %.5f, train acc %.2f%%, %.1f s, %.0f samples/s "
                    "(%d ranks, weights identical)\n",
                    (long long)epoch, (long long)cfg->epochs, st->loss, 100.0 * st->acc, sec,
                    sec > 0 ? (double)done / sec : 0.0, g_size);
        if (max_steps > 0 && st->steps_done >= max_steps)
            break;
    }
done:
    free(x);
    free(labels);
    free(perm);
    ham_trainer_free(tr);
    return code;
}

/* The test split, sharded: rank r solves samples [n r / P, n (r + 1) / P); the counts are
 * summed. Collective, also on failure. */
static int evaluate(cli_eval_result_t *res, const ham_model_t *model, const ham_dataset_t *ds,
                    const cli_eval_opts_t *o)
{
    memset(res, 0, sizeof *res);
    const int64_t n = ham_dataset_count(ds);
    const int64_t first = n * g_rank / g_size, last = n * (g_rank + 1) / g_size;
    const int32_t L = ham_model_n_layers(model), n0 = ham_model_layer_size(model, 0);
    const int32_t ny = ham_model_layer_size(model, L - 1);
    int32_t dim = 0, off = 0, batch = o->batch;
    int code = 0;
    ham_solver_t *sv = NULL;
    float *x = NULL, *state = NULL;
    int32_t *labels = NULL, *iters = NULL, *status = NULL;
    double sums[4] = {0}; /* correct, iterations, not converged, samples */
    if (ham_model_state_dim(&dim, model, o->op) != HAM_OK ||
        ham_model_state_offset(&off, model, o->op, L - 1) != HAM_OK ||
        ham_solver_new(&sv, model, o->op, o->kind) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_TOL, o->tol) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_MAX_ITER, o->max_iter) != HAM_OK ||
        ham_solver_set_option(sv, HAM_OPT_THREADS, cli_threads()) != HAM_OK) {
        cli_error("cannot set up the test evaluation: %s", ham_last_error());
        code = CLI_EXIT_RUNTIME;
    }
    x = injected(INJ_EVAL, 0) ? NULL : malloc((size_t)batch * (size_t)n0 * sizeof(float));
    state = malloc((size_t)batch * (size_t)dim * sizeof(float) + 1);
    labels = malloc((size_t)batch * sizeof(int32_t));
    iters = malloc((size_t)batch * sizeof(int32_t));
    status = malloc((size_t)batch * sizeof(int32_t));
    if (!code && (!x || !state || !labels || !iters || !status)) {
        cli_error("out of memory for the test evaluation");
        code = CLI_EXIT_RUNTIME;
    }
    for (int64_t at = first; at < last && !code; at += batch) {
        int32_t cnt = (int32_t)(last - at < batch ? last - at : batch);
        int rc = ham_dataset_get(x, labels, ds, at, cnt);
        if (rc == HAM_OK)
            rc = ham_solver_solve(sv, state, cnt, x);
        if (rc == HAM_OK)
            rc = ham_solver_get_samples(iters, NULL, status, sv, cnt);
        if (rc != HAM_OK) {
            cli_error("test samples %lld..%lld: %s", (long long)at, (long long)(at + cnt - 1),
                      ham_last_error());
            code = CLI_EXIT_RUNTIME;
            break;
        }
        for (int32_t s = 0; s < cnt; s++) {
            const float *y = state + (size_t)s * dim + off;
            int32_t best = 0;
            for (int32_t i = 1; i < ny; i++)
                if (y[i] > y[best])
                    best = i;
            sums[0] += best == labels[s];
            sums[1] += iters[s];
            sums[2] += status[s] != HAM_SAMPLE_CONVERGED;
        }
        sums[3] += cnt;
    }
    free(x);
    free(state);
    free(labels);
    free(iters);
    free(status);
    ham_solver_free(sv);
    if ((code = agree(code)) != 0)
        return code;
    MPI_Allreduce(MPI_IN_PLACE, sums, 4, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    res->samples = (int64_t)sums[3];
    res->correct = (int64_t)sums[0];
    res->not_converged = (int64_t)sums[2];
    res->iters_mean = sums[3] > 0 ? sums[1] / sums[3] : 0.0;
    res->authors_mean = NAN;
    return 0;
}

static int run(int argc, char **argv)
{
    cli_train_args_t a;
    cli_train_args_init(&a, 0);
    const cli_variant_t *v;
    int32_t op, kind;
    const char *save = NULL;
    int json = 0;
    int64_t max_steps = 0;
    cli_opt_t own[3];
    cli_train_variant_opts(own, &v, &op, &kind);
    const cli_opt_t tail[] = {
        {.name = "steps", .type = CLI_OPT_INT, .dest = &max_steps, .metavar = "N",
         .help = "stop after N steps in all (default: 0, every step of every epoch)", .min = 0,
         .max = 1e12},
        {.name = "save", .type = CLI_OPT_STRING, .dest = &save, .metavar = "FILE",
         .help = "rank 0 saves the trained model (with the variant as its solver defaults)"},
        cli_opt_json(&json, "rank 0 prints one JSON object instead of the summary"),
    };
    /* the same command line on every rank: rank 0 alone reports its errors and help */
    int saved_err = -1;
    if (g_rank != 0) {
        fflush(stderr);
        saved_err = dup(STDERR_FILENO);
        if (!freopen("/dev/null", "w", stderr))
            saved_err = -1;
    }
    int rc = cli_train_parse(&help, &a, CLI_TRAIN_NPY, own, CLI_N_OPTS(own), tail,
                             CLI_N_OPTS(tail), argc, argv);
    int parsed = rc == CLI_PARSED; /* the same on every rank: the same command line */
    cli_train_cfg_t cfg;
    if (parsed) {
        cli_train_variant_resolve(&op, &kind, v);
        rc = cli_train_cfg_resolve(&cfg, &a);
        if (!rc && save && g_rank == 0)
            rc = cli_check_save_path(save);
    }
    if (saved_err >= 0) {
        fflush(stderr);
        dup2(saved_err, STDERR_FILENO);
        close(saved_err);
    }
    if (!parsed)
        return rc; /* --help (0) or a usage error, on every rank */
    if (!rc)
        rc = inject_parse();
    if ((rc = agree(rc)) != 0)
        return rc;

    char vname[64];
    cli_variant_name(vname, sizeof vname, op, kind);
    cli_data_t data = {0};
    rc = cli_train_open_data(&data, &cfg, &a);
    ham_model_t *model = NULL;
    if (!rc)
        rc = cli_model_build(&model, &cfg.spec);
    if ((rc = agree(rc)) != 0)
        goto out;
    cli_set_threads(a.threads);
    cli_set_blas_threads(a.blas_threads);
    if (!json && g_rank == 0) {
        printf("hamdeq-mpi %s: train %s (%s + %s) on %s, %d rank%s\n", ham_version_string(),
               vname, ham_operator_name(op), ham_solver_kind_name(kind),
               a.data ? a.data : data.train_from, g_size,
               g_size == 1 ? "" : "s");
        printf("global batch %d (%d to %d samples per rank), %lld steps per epoch, %lld "
               "epoch%s\n\n",
               (int)cfg.batch, (int)(cfg.batch / g_size),
               (int)((cfg.batch + g_size - 1) / g_size),
               (long long)(ham_dataset_count(data.train) / cfg.batch), (long long)cfg.epochs,
               cfg.epochs == 1 ? "" : "s");
        fflush(stdout);
    }
    run_t st = {0};
    if (cfg.epochs > 0 && (rc = train(&st, model, data.train, &cfg, op, kind, max_steps)) != 0)
        goto out;
    double sec_per_epoch = st.epochs_done ? st.seconds / (double)st.epochs_done : 0.0;
    if (!json && g_rank == 0 && st.epochs_done)
        printf("trained %lld step%s in %.1f s (%.2f s/epoch); last epoch: loss %.5f, train acc "
               "%.2f%%\n",
               (long long)st.steps_done, st.steps_done == 1 ? "" : "s", st.seconds,
               sec_per_epoch, st.loss, 100.0 * st.acc);
    if ((rc = check_same_weights(model, "at the end", 0)) != 0)
        goto out;
    if (save) {
        int code = 0;
        if (g_rank == 0) { /* ham_model_save writes a temporary file and renames it */
            int src = ham_model_set_defaults(model, op, kind, CLI_EVAL_TOL, cfg.iters_fwd);
            if (src == HAM_OK)
                src = ham_model_save(model, save);
            if (src != HAM_OK) {
                cli_error("--save %s: %s", save, ham_last_error());
                code = CLI_EXIT_RUNTIME;
            } else if (!json) {
                printf("saved the model to %s\n", save);
            }
        }
        if ((rc = agree(code)) != 0)
            goto out;
    }
    cli_eval_result_t res;
    cli_eval_opts_t eo = cli_train_eval_opts(&cfg, op, kind, 0, 0);
    if ((rc = evaluate(&res, model, data.test, &eo)) != 0)
        goto out;
    if (g_rank == 0) {
        if (json)
            cli_print_train_json(vname, st.epochs_done, &res, sec_per_epoch);
        else
            printf("test split: %lld samples, accuracy %.2f%%, forward iterations %.2f, not "
                   "converged %lld (tolerance %g, at most %d iterations)\n",
                   (long long)res.samples,
                   res.samples ? 100.0 * (double)res.correct / (double)res.samples : 0.0,
                   res.iters_mean, (long long)res.not_converged, CLI_EVAL_TOL,
                   (int)cfg.iters_fwd);
        fflush(stdout);
    }
out:
    ham_model_free(model);
    cli_data_free(&data);
    return rc;
}

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fprintf(stderr, "hamdeq-mpi: error: MPI_Init failed\n");
        return CLI_EXIT_RUNTIME;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    static char name[64];
    if (g_size > 1)
        snprintf(name, sizeof name, "hamdeq-mpi[rank %d/%d]", g_rank, g_size);
    else
        snprintf(name, sizeof name, "hamdeq-mpi");
    cli_set_progname(name);
    if (g_rank != 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 alone prints */
        MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_RUNTIME);
    int rc = run(argc, argv);
    fflush(stdout);
    fflush(stderr);
    MPI_Finalize();
    return rc;
}
