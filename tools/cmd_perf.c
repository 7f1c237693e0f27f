/* hamdeq bench --perf: the performance suite (docs/performance.md).
 *
 * For each model of --layers-list and each variant: the forward solve of a batch of 1
 * (latency) and of 64 test images, and one training epoch, each run twice: with exactly
 * 40 forward / 8 backward iterations (HAM_OPT_FIXED_ITERS, HAM_TRAIN_BACKWARD_TOL = 0),
 * and with the library's early stop at tolerance 1e-4 (at most 40 iterations). A case's
 * time is the median of repeated runs after a warm-up. Its GFLOP/s count the flops of the
 * model's matrix products the library did (the formula is in docs/performance.md and in
 * case_flops below), and are compared with the machine's sgemm rate, measured first with
 * a large square product through the same BLAS. Each case also gets a floor: the least
 * time its work can take on this machine, all its cores counted (case_floor_ms). The
 * mhn_retrieve case (perf_mhn.c) runs once, after the models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>

#include "cli.h"
#include "data_dir.h"
#include "model_spec.h"
#include "perf.h"
#include "train.h"
#include "variants.h"

#define PERF_BATCH 64
#define PERF_ITERS_FWD 40
#define PERF_ITERS_BWD 8
#define PERF_TOL 1e-4
#define PERF_MAX_MODELS 8
#define PERF_SGEMM_N 2048
/* The default epoch: MNIST-10k's 8,000 training images; for models whose operator
 * evaluation costs more than PERF_BIG_FLOPS per sample, 640 (10 steps of 64). */
#define PERF_EPOCH_SAMPLES 8000
#define PERF_EPOCH_SAMPLES_BIG 640
#define PERF_BIG_FLOPS 1e6

/* The per-model cases, then mhn_retrieve (perf_mhn.c), which runs once, on its own data. */
enum { CASE_FWD_B1, CASE_FWD_B64, CASE_TRAIN, N_MODEL_CASES, CASE_MHN = N_MODEL_CASES, N_CASES };
static const char *const case_names[N_CASES] = {"fwd_b1", "fwd_b64", "train_epoch",
                                                "mhn_retrieve"};
#define MHN_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
#define MHN_DEFAULT_BATCH 1024

/* Per-sample costs of one model, from its layer sizes (docs/performance.md). */
typedef struct cost {
    double P;           /* sum of N_l N_{l+1} over adjacent free layers (l >= 1) */
    double D;           /* N_0 N_1: the input block */
    double act;         /* activations per operator evaluation: the free layers' units */
    double n0;          /* input units (g_0 = rho(x) once per sample and solve) */
    double weights;     /* weights of all blocks */
    double params;      /* weights and biases */
    double pass_bytes;  /* bytes of the free blocks one batched evaluation reads (each twice) */
    double input_bytes; /* bytes of the input block */
} cost_t;

/* What one run of a case did, summed over its samples (and steps). */
typedef struct counts {
    double rows;                  /* samples solved (training: samples trained on) */
    double steps;                 /* training steps; 0 for a forward case */
    double evals, jvps;           /* forward operator evaluations and JVP rows */
    double passes;                /* forward batched evaluations (the slowest sample's count) */
    double bwd_evals, bwd_jvps;   /* adjoint evaluations and JVP rows */
    double bwd_passes;            /* adjoint batched evaluations */
    double grad_w0;               /* flops of the input block's gradient, all steps */
} counts_t;

typedef struct machine {
    double sgemm_gflops; /* best of 5 square products of PERF_SGEMM_N */
    double sigmoid_ns;   /* one shifted sigmoid with the library's vectorised exp */
} machine_t;

typedef struct perf_args {
    const char *data, *layers_list, *cases, *modes;
    int64_t reps, epoch_reps, epoch_samples, threads, blas_threads;
    int64_t mhn_patterns, mhn_queries, mhn_batch;
    int32_t mhn_solver;
    double budget;
    int json, perf;
} perf_args_t;

static double now_ms(void)
{
    return cli_now_ms();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Index of the median of n times (the lower one for even n). */
static int median_index(const double *t, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return 0;
    memcpy(s, t, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = s[(n - 1) / 2];
    free(s);
    for (int i = 0; i < n; i++)
        if (t[i] == m)
            return i;
    return 0;
}

static void model_cost(cost_t *c, const cli_model_spec_t *spec)
{
    memset(c, 0, sizeof *c);
    const int32_t *N = spec->sizes;
    int32_t L = spec->n_layers;
    c->n0 = N[0];
    c->D = (double)N[0] * N[1];
    for (int32_t l = 1; l + 1 < L; l++)
        c->P += (double)N[l] * N[l + 1];
    for (int32_t l = 1; l < L; l++) {
        c->act += N[l];
        c->params += N[l];
    }
    c->weights = c->D + c->P;
    c->params += c->weights;
    c->pass_bytes = 2.0 * 4.0 * c->P;
    c->input_bytes = 4.0 * c->D;
}

/* Flops of the model's matrix products (2 per multiply-add) that the library does:
 *   forward solve:  2 D per sample (the input drive g_0 W_0, once per solve)
 *                   + 4 P per operator evaluation and per JVP row
 *   training step:  the forward solve, + 4 P per sample (the linearisation at s*),
 *                   + 4 P per adjoint evaluation (one VJP) and JVP row,
 *                   + 4 P per sample for the other parameter gradients (synchronous F),
 *                     6 P with even-odd G (the inner layers' adjoints C_IS lambda),
 *                   + the input block's gradient g_0' A: 2 D per sample, or on a batch
 *                     with at most 35% non-zero pixels (lib/train/input_sparse.c) 2 N_1 per
 *                     non-zero pixel + N_1 per sample;
 *                   the drive is computed once per step and shared by both solves. */
static double case_flops(const cost_t *c, const counts_t *n, int eo)
{
    double f = 2.0 * c->D * n->rows + 4.0 * c->P * (n->evals + n->jvps);
    if (n->steps > 0)
        f += 4.0 * c->P * (n->rows + n->bwd_evals + n->bwd_jvps) +
             n->rows * (eo ? 6.0 : 4.0) * c->P + n->grad_w0;
    return f;
}

/* The input block's gradient on one batch, as lib/train/input_sparse.c chooses its path (the
 * shifted sigmoid is additive; 0.35 and 8 rows are HAMP_SPARSE_MAX, HAMP_SPARSE_MIN_ROWS). */
static double grad_w0_flops(const float *x, int32_t rows, int32_t n0, int32_t n1)
{
    size_t nnz = 0;
    for (size_t i = 0; i < (size_t)rows * n0; i++)
        nnz += x[i] != 0.0f;
    if (rows >= 8 && (double)nnz <= 0.35 * rows * n0)
        return 2.0 * (double)nnz * n1 + (double)rows * n1;
    return 2.0 * (double)rows * n0 * n1;
}

/* The floor: max(flops at the sgemm rate, weight bytes at the read bandwidth of their
 * working set) + activations (and Madam's exps) at the vectorised cost, each rate that of
 * all the machine's cores together (perf_kernels.c), as if every part of the work were
 * split over them without loss. Weights are read
 * once per batched product: the free blocks twice per evaluation pass, the input block once
 * per solve (training: twice, drive and gradient); training also streams the optimiser
 * (parameter, gradient, second moment read, parameter and moment written: 20 bytes per
 * parameter and step). */
static double case_floor_ms(const machine_t *mc, const cost_t *c, const counts_t *n, double flops,
                            double bw_pass, double bw_input, double bw_params)
{
    double t_flop = flops / (mc->sgemm_gflops * 1e9);
    double t_mem, exps;
    if (n->steps > 0) {
        double passes = n->passes + n->steps + n->bwd_passes + n->steps;
        t_mem = passes * c->pass_bytes / (bw_pass * 1e9) +
                2.0 * n->steps * c->input_bytes / (bw_input * 1e9) +
                20.0 * c->params * n->steps / (bw_params * 1e9);
        exps = n->rows * c->n0 + (n->evals + n->rows) * c->act + n->steps * c->weights;
    } else {
        t_mem = n->passes * c->pass_bytes / (bw_pass * 1e9) + c->input_bytes / (bw_input * 1e9);
        exps = n->rows * c->n0 + n->evals * c->act;
    }
    double t_exp = exps * mc->sigmoid_ns * 1e-9;
    return 1e3 * (fmax(t_flop, t_mem) + t_exp);
}

/* ---------------------------------------------------------------------- cases */

static int set_solver_mode(ham_solver_t *sv, int fixed)
{
    int rc = ham_solver_set_option(sv, HAM_OPT_MAX_ITER, PERF_ITERS_FWD);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(sv, HAM_OPT_FIXED_ITERS, fixed ? 1.0 : 0.0);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(sv, HAM_OPT_TOL, PERF_TOL);
    if (rc == HAM_OK)
        rc = ham_solver_set_option(sv, HAM_OPT_THREADS, cli_threads());
    return rc;
}

/* Forward solves of `batch` rows of x: warm-up, then up to `reps` timed solves (at least
 * 3; no more once `budget_ms` is spent). Returns 0 or an exit code. */
static int run_forward(double *ms, counts_t *cnt, ham_model_t *model, const cli_variant_t *v,
                       int fixed, int32_t batch, const float *x, int64_t reps, double budget_ms)
{
    ham_solver_t *sv = NULL;
    int32_t dim = 0;
    int rc = ham_solver_new(&sv, model, v->op, v->kind);
    if (rc == HAM_OK)
        rc = set_solver_mode(sv, fixed);
    if (rc == HAM_OK)
        rc = ham_model_state_dim(&dim, model, v->op);
    float *state = rc == HAM_OK ? malloc((size_t)batch * (size_t)dim * sizeof(float)) : NULL;
    double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t);
    counts_t *c = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *c);
    if (rc != HAM_OK || !state || !t || !c) {
        cli_error("%s: cannot set up the solver: %s", v->name,
                  rc != HAM_OK ? ham_strerror(rc) : "out of memory");
        rc = CLI_EXIT_RUNTIME;
        goto done;
    }
    /* warm-up: sizes the workspace, wakes the BLAS threads, faults the pages in */
    double t0 = now_ms();
    for (int w = 0; w < 3 && (w == 0 || now_ms() - t0 < budget_ms / 4); w++)
        if ((rc = ham_solver_solve(sv, state, batch, x)) != HAM_OK)
            break;
    int n = 0;
    double spent = 0.0;
    while (rc == HAM_OK && n < reps && (n < 3 || spent < budget_ms)) {
        double a = now_ms();
        rc = ham_solver_solve(sv, state, batch, x);
        t[n] = now_ms() - a;
        spent += t[n];
        ham_solve_stats_t st = {.size = sizeof st};
        ham_solver_get_stats(&st, sv);
        memset(&c[n], 0, sizeof c[n]);
        c[n].rows = batch;
        c[n].evals = (double)st.evaluations;
        c[n].jvps = (double)st.jacobian_products;
        c[n].passes = st.iters_max;
        n++;
    }
    if (rc != HAM_OK) {
        cli_error("%s: solve failed: %s", v->name, ham_last_error());
        rc = CLI_EXIT_RUNTIME;
        goto done;
    }
    int i = median_index(t, n);
    *ms = t[i];
    *cnt = c[i];
done:
    free(c);
    free(t);
    free(state);
    ham_solver_free(sv);
    return rc;
}

static int configure_trainer(ham_trainer_t *tr, int fixed)
{
    int rc = set_solver_mode(ham_trainer_solver(tr), fixed);
    if (rc == HAM_OK)
        rc = ham_trainer_set_option(tr, HAM_TRAIN_BACKWARD_ITERS, PERF_ITERS_BWD);
    if (rc == HAM_OK)
        rc = ham_trainer_set_option(tr, HAM_TRAIN_BACKWARD_TOL, 0.0);
    if (rc == HAM_OK)
        rc = ham_trainer_set_option(tr, HAM_TRAIN_THREADS, cli_threads());
    return rc;
}

/* One epoch of `steps` steps of PERF_BATCH on a fresh model (the paper's settings:
 * MSE, Madam lr 0.01, fixed data order). */
static int one_epoch(double *ms, counts_t *cnt, const cli_model_spec_t *spec,
                     const ham_dataset_t *train, int64_t steps, const cli_variant_t *v, int fixed,
                     float *x, int32_t *labels)
{
    ham_model_t *model = NULL;
    ham_trainer_t *tr = NULL;
    int rc = cli_model_build(&model, spec);
    if (rc)
        return rc;
    rc = ham_trainer_new(&tr, model, v->op, v->kind);
    if (rc == HAM_OK)
        rc = configure_trainer(tr, fixed);
    if (rc != HAM_OK) {
        cli_error("%s: cannot set up the trainer: %s", v->name, ham_strerror(rc));
        ham_trainer_free(tr);
        ham_model_free(model);
        return CLI_EXIT_RUNTIME;
    }
    memset(cnt, 0, sizeof *cnt);
    ham_solver_t *fw = ham_trainer_solver(tr);
    double t0 = now_ms();
    for (int64_t b = 0; b < steps && rc == HAM_OK; b++) {
        rc = ham_dataset_get(x, labels, train, b * PERF_BATCH, PERF_BATCH);
        if (rc == HAM_OK)
            rc = ham_trainer_step(tr, NULL, NULL, PERF_BATCH, x, labels);
        if (rc != HAM_OK)
            break;
        ham_solve_stats_t f = {.size = sizeof f}, bw = {.size = sizeof bw};
        ham_solver_get_stats(&f, fw);
        ham_trainer_backward_stats(&bw, tr);
        cnt->evals += (double)f.evaluations;
        cnt->jvps += (double)f.jacobian_products;
        cnt->passes += f.iters_max;
        cnt->bwd_evals += (double)bw.evaluations;
        cnt->bwd_jvps += (double)bw.jacobian_products;
        cnt->bwd_passes += bw.iters_max;
    }
    *ms = now_ms() - t0;
    cnt->steps = (double)steps;
    cnt->rows = (double)steps * PERF_BATCH;
    if (rc != HAM_OK) {
        cli_error("%s: training step failed: %s", v->name, ham_last_error());
        rc = CLI_EXIT_RUNTIME;
    }
    ham_trainer_free(tr);
    ham_model_free(model);
    return rc;
}

static int run_epoch(double *ms, counts_t *cnt, const cli_model_spec_t *spec,
                     const ham_dataset_t *train, int64_t samples, const cli_variant_t *v, int fixed,
                     int64_t reps, double budget_ms)
{
    int64_t steps = samples / PERF_BATCH;
    int32_t n0 = spec->sizes[0];
    float *x = malloc((size_t)PERF_BATCH * (size_t)n0 * sizeof(float));
    int32_t *labels = malloc(PERF_BATCH * sizeof(int32_t));
    double *t = malloc((size_t)reps * sizeof *t);
    counts_t *c = malloc((size_t)reps * sizeof *c);
    int rc = 0;
    if (!x || !labels || !t || !c) {
        cli_error("out of memory");
        rc = CLI_EXIT_RUNTIME;
        goto done;
    }
    /* warm-up: two steps on a model of their own */
    double w_ms;
    counts_t w_cnt;
    rc = one_epoch(&w_ms, &w_cnt, spec, train, steps < 2 ? steps : 2, v, fixed, x, labels);
    int n = 0;
    double spent = 0.0;
    while (!rc && n < reps && (n < 1 || spent < budget_ms)) {
        rc = one_epoch(&t[n], &c[n], spec, train, steps, v, fixed, x, labels);
        spent += t[n];
        n++;
    }
    if (!rc) {
        int i = median_index(t, n);
        *ms = t[i];
        *cnt = c[i];
        for (int64_t b = 0; b < steps; b++) /* untimed: the input gradient's flops */
            if (ham_dataset_get(x, labels, train, b * PERF_BATCH, PERF_BATCH) == HAM_OK)
                cnt->grad_w0 += grad_w0_flops(x, PERF_BATCH, n0, spec->sizes[1]);
    }
done:
    free(c);
    free(t);
    free(labels);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- the suite */

static const cli_command_spec_t help = {
    .usage = "hamdeq bench --perf [options]",
    .description =
        "The performance suite (docs/performance.md). For each model and variant: the forward\n"
        "solve of 1 and of 64 test images (latency and batch), and one training epoch (batch\n"
        "64, the paper's settings, fixed data order, a fresh Xavier model each run), each with\n"
        "exactly 40 forward / 8 backward iterations ('fixed') and with the library's early\n"
        "stop at tolerance 1e-4, at most 40 iterations ('early'). A case's time is the median\n"
        "of repeated runs after a warm-up. GFLOP/s count the flops of the model's matrix\n"
        "products the library did; they are compared with the sgemm rate measured first (a\n"
        CLI_STR(PERF_SGEMM_N) "^3 product through the same BLAS), and each time with its floor: "
        "the flops at\n"
        "that rate or the weight bytes at the measured read bandwidth, whichever is longer,\n"
        "plus the activations at the measured cost of a vectorised sigmoid, every rate that of\n"
        "all the machine's cores at once.\n"
        "\n"
        "--perf-cases mhn_retrieve (not in the default list): a Modern Hopfield network storing\n"
        "the train split of --data (default for this case: " MHN_DEFAULT_DATA ")\n"
        "retrieves its t10k split: patterns and queries centred on the patterns' mean and\n"
        "scaled to unit norm, beta = 2 beta_s, Picard (--mhn-solver) on the even-odd operator\n"
        "from each query to tolerance 1e-4 (at most 200 evaluations), --mhn-batch queries per\n"
        "solve;\n"
        "queries per second, GFLOP/s (4 K d per query and evaluation) and their fraction of the\n"
        "sgemm rate, mean evaluations per query. The median of passes over all queries after\n"
        "a warm-up solve of one batch; passes repeat until --budget.\n",
    .notes = "With --json, stdout holds one line per case:\n"
             "  {\"case\": \"fwd_b1\"|\"fwd_b64\"|\"train_epoch\", \"variant\": str,\n"
             "   \"layers\": str, \"fixed_iters\": bool, \"ms\": float, \"gflops\": float}\n"
             "and the machine's measurements and each case's fractions go to stderr.\n"
             "mhn_retrieve's line has exactly these keys, in this order:\n"
             "  {\"case\": \"mhn_retrieve\", \"patterns\": int, \"queries\": int, \"dim\": int,\n"
             "   \"beta\": float, \"batch\": int, \"solver\": str, \"ms\": float, \"gflops\": float,\n"
             "   \"queries_per_sec\": float, \"sgemm_fraction\": float, \"iters_mean\": float,\n"
             "   \"not_converged\": int}\n",
    .runtime_errors = "data, library",
    .examples = "hamdeq bench --perf\n"
                "hamdeq bench --perf --layers-list 784,512,10 --perf-cases fwd_b1,fwd_b64 --json\n"
                "hamdeq bench --perf --variants ham-eo-deq --modes early --epoch-reps 5\n"
                "hamdeq bench --perf --perf-cases mhn_retrieve --json\n",
};

static int parse_mask(unsigned *mask, const char *flag, const char *list,
                      const char *const *names, int count)
{
    char buf[256];
    char *items[16];
    int n = cli_split_list(items, 16, buf, sizeof buf, list);
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int found = -1;
        for (int k = 0; k < count; k++)
            if (strcmp(items[i], names[k]) == 0)
                found = k;
        if (found < 0) {
            n = -1;
            break;
        }
        *mask |= 1u << found;
    }
    if (n <= 0) {
        char known[256] = "";
        for (int k = 0; k < count; k++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                     names[k]);
        cli_error("--%s: '%s' is not a comma-separated list of: %s", flag, list, known);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* "784,512,10:784,1280,510,200,10" */
static int parse_models(cli_model_spec_t *specs, char layers[][256], const char *list)
{
    int n = 0;
    const char *p = list;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0 || len >= 256 || n == PERF_MAX_MODELS) {
            cli_error("--layers-list: '%s' is not a ':'-separated list of at most %d layer lists",
                      list, PERF_MAX_MODELS);
            return -1;
        }
        memcpy(layers[n], p, len);
        layers[n][len] = '\0';
        if (cli_model_spec_parse(&specs[n], layers[n], "shifted-sigmoid", 1.0, 1) != 0)
            return -1;
        n++;
        if (!colon)
            return n;
        p = colon + 1;
    }
}

static double measure_sgemm(void)
{
    const int N = PERF_SGEMM_N;
    float *a = malloc((size_t)N * N * sizeof(float)), *b = malloc((size_t)N * N * sizeof(float)),
          *c = malloc((size_t)N * N * sizeof(float));
    double best = 0.0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)N * N; i++) {
            a[i] = (float)(i % 97) * 0.01f;
            b[i] = (float)(i % 89) * 0.01f;
        }
        for (int r = 0; r < 6; r++) {
            double t0 = now_ms();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N,
                        0.0f, c, N);
            double dt = now_ms() - t0;
            double g = 2.0 * N * (double)N * N / (dt * 1e6);
            if (r > 0 && g > best) /* the first is the warm-up */
                best = g;
        }
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(buf, len, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

static const char *default_data_dir(void)
{
    struct stat st;
    if (stat("../shared/data/mnist10k", &st) == 0 && S_ISDIR(st.st_mode))
        return "../shared/data/mnist10k";
    return "/usr/share/datasets/fashion-mnist";
}

typedef struct line {
    const char *layers, *variant;
    int c, fixed;
    double ms, gflops, floor_ms, iters;
    int64_t samples;
} line_t;

static void print_header(void)
{
    printf("%-20s  %-11s  %-13s  %-5s  %7s  %10s  %8s  %7s  %9s  %7s\n", "layers", "case",
           "variant", "mode", "iters", "ms", "GFLOP/s", "% sgemm", "floor ms", "% floor");
    printf("%-20s  %-11s  %-13s  %-5s  %7s  %10s  %8s  %7s  %9s  %7s\n", "--------------------",
           "-----------", "-------------", "-----", "-------", "----------", "--------", "-------",
           "---------", "-------");
}

static void print_line(const line_t *l, const machine_t *mc, int json)
{
    double frac = 100.0 * l->gflops / mc->sgemm_gflops, of_floor = 100.0 * l->floor_ms / l->ms;
    if (json) {
        printf("{\"case\": \"%s\", \"variant\": \"%s\", \"layers\": \"%s\", \"fixed_iters\": %s, "
               "\"ms\": %.4f, \"gflops\": %.3f}\n",
               case_names[l->c], l->variant, l->layers, l->fixed ? "true" : "false", l->ms,
               l->gflops);
        fprintf(stderr,
                "%s %s %s %s: %.1f iters, %.2f%% of sgemm, floor %.4f ms (%.1f%% of it)%s\n",
                l->layers, case_names[l->c], l->variant, l->fixed ? "fixed" : "early", l->iters,
                frac, l->floor_ms, of_floor, "");
    } else {
        printf("%-20s  %-11s  %-13s  %-5s  %7.2f  %10.4f  %8.2f  %6.1f%%  %9.4f  %6.1f%%\n",
               l->layers, case_names[l->c], l->variant, l->fixed ? "fixed" : "early", l->iters,
               l->ms, l->gflops, frac, l->floor_ms, of_floor);
    }
    fflush(stdout);
    fflush(stderr);
}

int cmd_bench_perf(int argc, char **argv)
{
    perf_args_t a;
    memset(&a, 0, sizeof a);
    a.data = NULL;
    a.layers_list = "784,512,10:784,1280,510,200,10";
    a.cases = "fwd_b1,fwd_b64,train_epoch";
    a.modes = "fixed,early";
    a.epoch_reps = 3;
    a.budget = 3.0;
    a.mhn_solver = HAM_SOLVER_PICARD;
    cli_variant_list_t vars = {0};
    const cli_opt_t opts[] = {
        {.name = "perf", .type = CLI_OPT_FLAG, .dest = &a.perf,
         .help = "run this suite (instead of Table 1)"},
        cli_opt_data(&a.data,
                     "MNIST-style directory (default: ../shared/data/mnist10k if present, else "
                     "/usr/share/datasets/fashion-mnist)",
                     NULL),
        {.name = "layers-list", .type = CLI_OPT_STRING, .dest = &a.layers_list,
         .metavar = "L1:L2:..",
         .help = "models, ':'-separated layer lists (default: 784,512,10:784,1280,510,200,10)"},
        cli_opt_variants(&vars, "variants, comma-separated, or all (default: all)"),
        {.name = "perf-cases", .type = CLI_OPT_STRING, .dest = &a.cases, .metavar = "LIST",
         .help = "cases: fwd_b1, fwd_b64, train_epoch, mhn_retrieve (default: the first "
                 "three)"},
        {.name = "modes", .type = CLI_OPT_STRING, .dest = &a.modes, .metavar = "LIST",
         .help = "fixed (exactly 40/8 iterations), early (tolerance 1e-4) (default: both)"},
        {.name = "reps", .type = CLI_OPT_INT, .dest = &a.reps, .metavar = "N",
         .help = "timed runs of a forward case (default: 200 at batch 1, 30 at batch 64)",
         .min = 1, .max = 1e6},
        {.name = "epoch-reps", .type = CLI_OPT_INT, .dest = &a.epoch_reps, .metavar = "N",
         .help = "timed epochs per case (default: 3)", .min = 1, .max = 1000},
        {.name = "epoch-samples", .type = CLI_OPT_INT, .dest = &a.epoch_samples, .metavar = "N",
         .help = "training samples per epoch (default: the split, at most 8000; 640 for models "
                 "over 1 MFLOP per sample and evaluation)",
         .min = PERF_BATCH, .max = 1e9},
        {.name = "budget", .type = CLI_OPT_DOUBLE, .dest = &a.budget, .metavar = "SEC",
         .help = "stop repeating a case once its timed runs took this long (default: 3)",
         .min = 0.0, .max = 1e6},
        {.name = "mhn-patterns", .type = CLI_OPT_INT, .dest = &a.mhn_patterns, .metavar = "K",
         .help = "mhn_retrieve: patterns, the first K train images (default: all)", .min = 1,
         .max = INT32_MAX},
        {.name = "mhn-queries", .type = CLI_OPT_INT, .dest = &a.mhn_queries, .metavar = "Q",
         .help = "mhn_retrieve: queries, the first Q t10k images (default: all)", .min = 1,
         .max = INT32_MAX},
        {.name = "mhn-batch", .type = CLI_OPT_INT, .dest = &a.mhn_batch, .metavar = "B",
         .help = "mhn_retrieve: queries per solve (default: " CLI_STR(MHN_DEFAULT_BATCH) ")",
         .min = 1, .max = 1 << 20},
        {.name = "mhn-solver", .type = CLI_OPT_SOLVER, .dest = &a.mhn_solver, .metavar = "NAME",
         .help = "mhn_retrieve: picard (the update itself), anderson, broyden or newton "
                 "(default: picard)"},
        cli_opt_threads(&a.threads),
        cli_opt_blas_threads(&a.blas_threads),
        cli_opt_json(&a.json, "one JSON object per case on stdout"),
    };
    int rc = cli_parse_command(&help, opts, CLI_N_OPTS(opts), argc, argv);
    if (rc != CLI_PARSED)
        return rc;
    unsigned cases, modes;
    static const char *const mode_names[] = {"fixed", "early"};
    if ((rc = parse_mask(&cases, "perf-cases", a.cases, case_names, N_CASES)) ||
        (rc = parse_mask(&modes, "modes", a.modes, mode_names, 2)))
        return rc;
    cli_model_spec_t specs[PERF_MAX_MODELS];
    static char layers[PERF_MAX_MODELS][256];
    int n_models = parse_models(specs, layers, a.layers_list);
    if (n_models < 0)
        return CLI_EXIT_USAGE;
    const int model_cases = (cases & ((1u << N_MODEL_CASES) - 1)) != 0;
    const char *mhn_data = a.data ? a.data : MHN_DEFAULT_DATA;
    if (!a.data)
        a.data = default_data_dir();
    if (!model_cases)
        n_models = 0; /* mhn_retrieve alone: no model, no data of the model cases */

    cli_data_t data;
    memset(&data, 0, sizeof data);
    if (model_cases && (rc = cli_data_load(&data, a.data, (cases >> CASE_TRAIN) & 1, 1)) != 0)
        return rc;
    for (int m = 0; m < n_models && !rc; m++) {
        const cli_model_spec_t *s = &specs[m];
        int32_t n_in = s->sizes[0], n_out = s->sizes[s->n_layers - 1];
        rc = cli_data_fits(data.test, a.data, "t10k", n_in, n_out);
        if (!rc && data.train)
            rc = cli_data_fits(data.train, a.data, "train", n_in, n_out);
    }
    const int64_t n_test = ham_dataset_count(data.test);
    if (!rc && model_cases && ((cases >> CASE_FWD_B64) & 1) && n_test < PERF_BATCH) {
        cli_error("%s: the test split holds fewer than %d samples (fwd_b64)", a.data,
                  PERF_BATCH);
        rc = CLI_EXIT_USAGE;
    }
    if (!rc && data.train && ham_dataset_count(data.train) < PERF_BATCH) {
        cli_error("%s: the train split holds fewer than %d samples", a.data, PERF_BATCH);
        rc = CLI_EXIT_USAGE;
    }
    perf_mhn_t *mhn = NULL; /* set up first: its errors, too, come before any output */
    if (!rc && ((cases >> CASE_MHN) & 1)) {
        perf_mhn_args_t ma = {mhn_data, a.mhn_patterns, a.mhn_queries,
                              a.mhn_batch ? a.mhn_batch : MHN_DEFAULT_BATCH, a.mhn_solver};
        rc = perf_mhn_setup(&mhn, &ma);
    }
    if (rc) {
        cli_data_free(&data);
        return rc;
    }
    /* the machine, all of it: before --blas-threads, which may hold the BLAS to fewer
     * cores */
    machine_t mc;
    mc.sgemm_gflops = measure_sgemm();
    mc.sigmoid_ns = perf_sigmoid_ns();
    cli_set_threads(a.threads);
    cli_set_blas_threads(a.blas_threads);
    char cpu[256], blas[256] = "BLAS";
    cpu_model(cpu, sizeof cpu);
#ifdef HAMDEQ_HAVE_OPENBLAS_SET_NUM_THREADS
    snprintf(blas, sizeof blas, "%s, core %s, %d threads", openblas_get_config(),
             openblas_get_corename(), openblas_get_num_threads());
#endif
    FILE *info = a.json ? stderr : stdout;
    fprintf(info, "hamdeq %s: bench --perf on %s\n", ham_version_string(),
            model_cases ? a.data : mhn_data);
    fprintf(info, "machine: %s, %ld CPUs online; %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), blas);
    fprintf(info,
            "sgemm %d^3: %.1f GFLOP/s (the BLAS's own threads, best of 5 after a warm-up); "
            "shifted sigmoid with the vectorised exp on %d cores at once: %.3f ns per value\n",
            PERF_SGEMM_N, mc.sgemm_gflops, perf_cores(), mc.sigmoid_ns);
    fprintf(info,
            "forward: the first 1 / %d test images, median of up to %s timed solves after a "
            "warm-up; epoch: batch %d, median of up to %lld epochs after a 2-step warm-up; "
            "repeats stop after %.3g s\n",
            PERF_BATCH, a.reps ? "--reps" : "200 (batch 1) / 30 (batch 64)", PERF_BATCH,
            (long long)a.epoch_reps, a.budget);
    fprintf(info,
            "fixed: exactly %d forward / %d backward iterations; early: forward tolerance %g "
            "(at most %d), %d backward\n\n",
            PERF_ITERS_FWD, PERF_ITERS_BWD, PERF_TOL, PERF_ITERS_FWD, PERF_ITERS_BWD);
    fflush(info);

    const double budget_ms = a.budget * 1e3;
    for (int m = 0; m < n_models && !rc; m++) {
        const cli_model_spec_t *s = &specs[m];
        cost_t cost;
        model_cost(&cost, s);
        double bw_pass = perf_read_gbs((size_t)cost.pass_bytes / 2);
        double bw_input = perf_read_gbs((size_t)cost.input_bytes);
        double bw_params = perf_read_gbs((size_t)(12.0 * cost.params));
        int64_t samples = a.epoch_samples;
        if (data.train) {
            int64_t avail = ham_dataset_count(data.train);
            if (samples == 0)
                samples = 4.0 * cost.P > PERF_BIG_FLOPS ? PERF_EPOCH_SAMPLES_BIG
                                                         : PERF_EPOCH_SAMPLES;
            if (samples > avail)
                samples = avail;
            samples -= samples % PERF_BATCH;
        }
        fprintf(info,
                "%s: %.0f flops per sample and operator evaluation (4P), %.0f per input drive "
                "(2D); read bandwidth (all cores) %.1f GB/s (free blocks, %.0f KB), %.1f GB/s (input "
                "block), %.1f GB/s (optimiser state)%s",
                layers[m], 4.0 * cost.P, 2.0 * cost.D, bw_pass, cost.pass_bytes / 2 / 1024,
                bw_input, bw_params, data.train ? "; " : "\n");
        if (data.train)
            fprintf(info, "epoch of %lld samples (%lld steps)\n", (long long)samples,
                    (long long)(samples / PERF_BATCH));
        if (!a.json)
            print_header();
        fflush(info);
        ham_model_t *model = NULL;
        float *x = malloc((size_t)PERF_BATCH * (size_t)s->sizes[0] * sizeof(float));
        int32_t *labels = malloc(PERF_BATCH * sizeof(int32_t));
        if (!x || !labels) {
            cli_error("out of memory");
            rc = CLI_EXIT_RUNTIME;
        }
        if (!rc)
            rc = cli_model_build(&model, s);
        if (!rc && ham_dataset_get(x, labels, data.test, 0,
                                   n_test < PERF_BATCH ? n_test : PERF_BATCH) != HAM_OK) {
            cli_error("%s: cannot read the test images", a.data);
            rc = CLI_EXIT_RUNTIME;
        }
        for (int c = 0; c < N_MODEL_CASES && !rc; c++) {
            if (!((cases >> c) & 1))
                continue;
            for (int vi = 0; vi < vars.n && !rc; vi++) {
                for (int mode = 0; mode < 2 && !rc; mode++) {
                    if (!((modes >> mode) & 1))
                        continue;
                    int fixed = mode == 0;
                    const cli_variant_t *v = cli_variant_of(vars.pair[vi].op, vars.pair[vi].kind);
                    line_t l = {layers[m], v->name, c, fixed, 0, 0, 0, 0, 0};
                    counts_t cnt;
                    if (c == CASE_TRAIN) {
                        rc = run_epoch(&l.ms, &cnt, s, data.train, samples, v, fixed,
                                       a.epoch_reps, budget_ms);
                        l.samples = samples;
                    } else {
                        int32_t batch = c == CASE_FWD_B1 ? 1 : PERF_BATCH;
                        int64_t reps = a.reps ? a.reps : (batch == 1 ? 200 : 30);
                        rc = run_forward(&l.ms, &cnt, model, v, fixed, batch, x, reps, budget_ms);
                        l.samples = batch;
                    }
                    if (rc)
                        break;
                    double flops = case_flops(&cost, &cnt, v->op == HAM_OPERATOR_EVEN_ODD);
                    l.gflops = flops / (l.ms * 1e6);
                    l.iters = cnt.evals / cnt.rows;
                    l.floor_ms =
                        case_floor_ms(&mc, &cost, &cnt, flops, bw_pass, bw_input, bw_params);
                    print_line(&l, &mc, a.json);
                }
            }
        }
        free(x);
        free(labels);
        ham_model_free(model);
        if (!a.json)
            printf("\n");
    }
    if (!rc && mhn)
        rc = perf_mhn_run(mhn, mc.sgemm_gflops, a.budget, a.json);
    perf_mhn_free(mhn);
    if (!rc && !a.json && model_cases)
        printf("iters: mean forward operator evaluations per sample; %% sgemm: GFLOP/s over "
               "the sgemm rate; %% floor: the floor over the time (100%% = as fast as this "
               "machine allows).\n");
    cli_data_free(&data);
    return rc;
}
