/* hamdeq retrieve: memory retrieval with a Modern Hopfield network storing K images
 * (docs/mhn.md). Queries are corrupted copies of stored images; retrieval solves
 * v = X softmax(beta X^T v) from the query with each solver; accuracy is how often the
 * stored image nearest to the retrieved state is the one the query came from. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mhn_util.h"
#include "svg_file.h"

#define MAX_LIST 16
#define MAX_QUERIES 20000
#define PLOT_COLUMNS 10

typedef struct retrieve_args {
    const char *data, *split, *patterns, *betas, *plot;
    int64_t queries, max_iter, stability, threads;
    double mask, noise, tol;
    uint64_t seed;
    int json;
} retrieve_args_t;

static const cli_command_spec_t help = {
    .usage = "hamdeq retrieve --data DIR [options]",
    .description =
        "Stores the first K images of DIR/{split}-images-idx3-ubyte[.gz] as the patterns of\n"
        "a Modern Hopfield network and retrieves corrupted copies of them. Patterns and\n"
        "queries are centred (the stored images' mean image is subtracted) and scaled to\n"
        "unit norm, so beta X^T v is beta times a cosine: raw pixel images share a large\n"
        "common component and their norms differ threefold, which favours bright digits\n"
        "and puts beta on a 1/||x||^2 scale.\n"
        "Query q (of Q) is stored image floor(q K / Q), with a random fraction of its pixels\n"
        "set to 0 (--mask) and Gaussian noise added to every pixel (--noise, pixels in\n"
        "[0, 1]). Retrieval solves v = X softmax(beta X^T v) from the query (warm start,\n"
        "even-odd operator) with each solver. Accuracy: the stored image nearest to the\n"
        "retrieved state is the query's own; 'query acc.' is that for the query itself,\n"
        "before retrieval; overlap is the mean cosine between the retrieved state and the\n"
        "query's image. beta_s = 1/lambda_max(Cov(X)) is printed for each K.\n",
    .notes = "JSON lines (--json) have exactly these keys, in this order, one per K x beta x "
             "solver:\n"
             "  {\"patterns\": int, \"beta\": float, \"solver\": \"picard\"|\"anderson\"|"
             "\"broyden\"|\"newton\",\n"
             "   \"accuracy\": float, \"iters_mean\": float, \"not_converged\": int}\n"
             "--plot draws, for the largest K, the largest beta and the first solver, "
             CLI_STR(PLOT_COLUMNS) " queries:\n"
             "query, retrieved state and stored image in three rows (square images only; the\n"
             "retrieved state is mapped back to pixels as mean + state x the images' mean "
             "norm).\n",
    .examples = "hamdeq retrieve --data ../shared/data/mnist10k\n"
                "hamdeq retrieve --data DIR --patterns 100 --beta 10,100 --mask 0.5 --plot r.svg\n",
};

/* Parses a comma list of numbers into out (at most MAX_LIST); -1 after an error line. */
static int parse_numbers(double *out, const char *flag, const char *list, double lo, double hi,
                         int integer)
{
    char buf[512];
    char *items[MAX_LIST];
    int n = cli_split_list(items, MAX_LIST, buf, sizeof buf, list);
    if (n < 0) {
        cli_error("--%s: '%s' is not a comma-separated list of at most %d numbers", flag, list,
                  MAX_LIST);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int64_t iv;
        double v;
        if (integer ? cli_parse_int64(&iv, items[i]) : cli_parse_double(&v, items[i])) {
            cli_error("--%s: '%s' is not %s", flag, items[i],
                      integer ? "an integer" : "a finite number");
            return -1;
        }
        if (integer)
            v = (double)iv;
        if (!(v >= lo && v <= hi) || (!integer && !(v > 0.0))) {
            cli_error("--%s: %s is out of range (%s%g .. %g)", flag, items[i],
                      integer ? "" : "> ", integer ? lo : 0.0, hi);
            return -1;
        }
        out[i] = v;
    }
    return n;
}

static int finite_row(const float *v, int32_t d)
{
    for (int32_t i = 0; i < d; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* Index of the stored pattern nearest to v (patterns have equal norms, so the largest
 * overlap; a zero pattern from a constant image is compared by distance all the same). */
static int32_t nearest(const float *X, int32_t K, int32_t d, const float *v, double *cosine,
                       int32_t want)
{
    int32_t best = 0;
    double best_d = INFINITY, vn = 0.0;
    for (int32_t i = 0; i < d; i++)
        vn += (double)v[i] * v[i];
    for (int32_t mu = 0; mu < K; mu++) {
        const float *x = X + (size_t)mu * d;
        double dd = 0.0;
        for (int32_t i = 0; i < d; i++) {
            double t = (double)x[i] - v[i];
            dd += t * t;
        }
        if (dd < best_d) {
            best_d = dd;
            best = mu;
        }
    }
    if (cosine) {
        const float *x = X + (size_t)want * d;
        double dot = 0.0, xn = 0.0;
        for (int32_t i = 0; i < d; i++) {
            dot += (double)x[i] * v[i];
            xn += (double)x[i] * x[i];
        }
        *cosine = (vn > 0.0 && xn > 0.0) ? dot / sqrt(vn * xn) : 0.0;
    }
    return best;
}

/* ------------------------------------------------------------------ the SVG plot */

typedef struct image_plot {
    int32_t side, cols, K;
    double beta;
    const char *solver;
    const float *query_pix;  /* cols x d, pixels in [0, 1] (noise may leave them) */
    const float *retrieved;  /* cols x d, mapped back to pixels */
    const float *original;   /* cols x d, pixels */
} image_plot_t;

/* One image as a grid of grey rects: pixel values 0 .. 1 (clipped) black .. white. */
static void draw_image(FILE *out, const float *img, int32_t side, double x0, double y0,
                       double cell)
{
    const double lo = 0.0, hi = 1.0;
    fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#000000\"/>\n",
            x0, y0, cell * side, cell * side);
    for (int32_t r = 0; r < side; r++)
        for (int32_t c = 0; c < side; c++) {
            double t = (img[r * side + c] - lo) / (hi - lo);
            int g = (int)lround(255.0 * fmin(1.0, fmax(0.0, t)));
            if (g < 8)
                continue; /* black background already */
            fprintf(out,
                    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                    "fill=\"#%02x%02x%02x\"/>\n",
                    x0 + c * cell, y0 + r * cell, cell, cell, g, g, g);
        }
}

static void draw_images(FILE *out, const image_plot_t *p)
{
    const double cell = 84.0 / p->side, pad = 10.0, left = 90.0, top = 50.0;
    const double img = cell * p->side;
    const double w = left + p->cols * (img + pad) + pad, h = top + 3 * (img + pad) + 20.0;
    char title[200];
    snprintf(title, sizeof title, "Modern Hopfield retrieval: K = %d stored images, beta = %g, %s",
             (int)p->K, p->beta, p->solver);
    cli_svg_begin(out, w, h, " shape-rendering=\"crispEdges\"", title);
    static const char *const labels[] = {"query", "retrieved", "original"};
    for (int row = 0; row < 3; row++) {
        double y = top + row * (img + pad);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"end\">%s</text>\n",
                left - 10, y + img / 2 + 4, labels[row]);
        for (int32_t c = 0; c < p->cols; c++) {
            const float *src = row == 0 ? p->query_pix : row == 1 ? p->retrieved : p->original;
            draw_image(out, src + (size_t)c * p->side * p->side, p->side,
                       left + c * (img + pad), y, cell);
        }
    }
    fprintf(out, "</svg>\n");
}

/* ------------------------------------------------------------------ the command */

int cmd_retrieve(int argc, char **argv)
{
    retrieve_args_t a = {
        .split = "train",
        .patterns = "10,100,1000",
        .betas = "2,8,32,128",
        .queries = 100,
        .max_iter = 200,
        .mask = 0.3,
        .noise = 0.1,
        .tol = 1e-4,
        .seed = 1,
    };
    cli_list_t kinds = {0};
    const cli_opt_t opts[] = {
        cli_opt_data(&a.data, "directory of MNIST-style IDX files (required)",
                     "a directory of MNIST-style IDX files"),
        {.name = "split", .type = CLI_OPT_STRING, .dest = &a.split, .metavar = "NAME",
         .help = "file prefix: train or t10k (default: train)"},
        {.name = "patterns", .type = CLI_OPT_STRING, .dest = &a.patterns, .metavar = "K[,..]",
         .help = "stored images, the first K of the split (default: 10,100,1000)"},
        {.name = "beta", .type = CLI_OPT_STRING, .dest = &a.betas, .metavar = "B[,..]",
         .help = "inverse temperatures, > 0 (default: 2,8,32,128)"},
        {.name = "queries", .type = CLI_OPT_INT, .dest = &a.queries, .metavar = "Q",
         .help = "corrupted queries per K (default: 100)", .min = 1, .max = MAX_QUERIES},
        {.name = "mask", .type = CLI_OPT_DOUBLE, .dest = &a.mask, .metavar = "F",
         .help = "fraction of pixels set to 0 in a query, 0 .. 1 (default: 0.3)", .min = 0,
         .max = 1},
        {.name = "noise", .type = CLI_OPT_DOUBLE, .dest = &a.noise, .metavar = "S",
         .help = "standard deviation of the Gaussian pixel noise, 0 .. 10 (default: 0.1)",
         .min = 0, .max = 10},
        cli_opt_solvers(&kinds),
        cli_opt_tol(&a.tol, "relative residual tolerance (default: 1e-4)"),
        cli_opt_max_iter(&a.max_iter, "operator evaluations per query at most (default: 200)"),
        cli_opt_seed(&a.seed, "seed of the corruption (default: 1)"),
        {.name = "stability-check", .type = CLI_OPT_INT, .dest = &a.stability, .metavar = "N",
         .help = "N power iterations per converged query; the table's 'unstable' column counts "
                 "queries that converged to an unstable fixed point (default: 0, off: '-')",
         .min = 0, .max = 1000},
        cli_opt_threads(&a.threads),
        cli_opt_json(&a.json, "print JSON lines instead of the table"),
        cli_opt_flagged(cli_opt_plot(&a.plot, "draw queries, retrieved states and originals"),
                        CLI_NONEMPTY),
    };
    int rc = cli_parse_command(&help, opts, CLI_N_OPTS(opts), argc, argv);
    if (rc != CLI_PARSED)
        return rc;
    cli_set_threads(a.threads);
    double Ks[MAX_LIST], betas[MAX_LIST];
    int n_K = parse_numbers(Ks, "patterns", a.patterns, 1, 1 << 20, 1);
    if (n_K < 0)
        return CLI_EXIT_USAGE;
    int n_beta = parse_numbers(betas, "beta", a.betas, 0, 1e6, 0);
    if (n_beta < 0)
        return CLI_EXIT_USAGE;
    struct stat st;
    if (stat(a.data, &st) != 0) {
        cli_error("data directory %s: %s", a.data, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_error("data directory %s: not a directory", a.data);
        return CLI_EXIT_RUNTIME;
    }

    ham_dataset_t *ds = NULL;
    if ((rc = ham_dataset_load_dir(&ds, a.data, a.split, NULL)) != HAM_OK) {
        cli_error("%s", ham_last_error());
        return CLI_EXIT_RUNTIME;
    }
    const int64_t count = ham_dataset_count(ds);
    const int32_t d = ham_dataset_dim(ds);
    int32_t K_max = 0;
    for (int i = 0; i < n_K; i++) {
        if (Ks[i] > (double)count) {
            cli_error("--patterns %.0f: the %s split of %s holds only %lld images", Ks[i],
                      a.split, a.data, (long long)count);
            ham_dataset_free(ds);
            return CLI_EXIT_USAGE;
        }
        if ((int32_t)Ks[i] > K_max)
            K_max = (int32_t)Ks[i];
    }
    int32_t side = (int32_t)lround(sqrt((double)d));
    if (a.plot && side * side != d) {
        cli_error("--plot needs square images; these have %d pixels", (int)d);
        ham_dataset_free(ds);
        return CLI_EXIT_USAGE;
    }

    const int32_t Q = (int32_t)a.queries;
    int ret = CLI_EXIT_RUNTIME;
    float *pix = malloc((size_t)K_max * d * sizeof(float));
    float *X = malloc((size_t)K_max * d * sizeof(float));
    float *qpix = malloc((size_t)Q * d * sizeof(float));
    float *q = malloc((size_t)Q * d * sizeof(float));
    float *v = malloc((size_t)Q * d * sizeof(float));
    float *plot_v = malloc((size_t)PLOT_COLUMNS * d * sizeof(float));
    int32_t *want = malloc((size_t)Q * sizeof(int32_t));
    double *mean = malloc((size_t)d * sizeof(double));
    ham_model_t *model = NULL;
    ham_solver_t *solver = NULL;
    cli_svg_file_t plot = {0};
    if (!pix || !X || !qpix || !q || !v || !plot_v || !want || !mean) {
        cli_error("out of memory for %d images of %d pixels", (int)K_max, (int)d);
        goto done;
    }
    if ((rc = ham_dataset_get(pix, NULL, ds, 0, K_max)) != HAM_OK) {
        cli_error("reading %s: %s", a.data, ham_strerror(rc));
        goto done;
    }
    if (a.plot && cli_svg_file_open(&plot, a.plot) != 0)
        goto done;
    if (!a.json) {
        printf("Modern Hopfield retrieval: %s/%s, %lld images of %d pixels; %d queries per K, "
               "mask %g, noise %g, seed %llu\n",
               a.data, a.split, (long long)count, (int)d, (int)Q, a.mask, a.noise,
               (unsigned long long)a.seed);
        printf("patterns and queries centred on the stored images' mean and scaled to unit "
               "norm; tol %g, max-iter %lld\n\n",
               a.tol, (long long)a.max_iter);
        printf("%6s  %8s  %8s  %11s  %-8s  %8s  %10s  %7s  %10s  %13s  %9s  %8s\n", "K",
               "beta_s", "beta", "beta/beta_s", "solver", "accuracy", "query acc.", "overlap",
               "mean iters", "not converged", "ms", "unstable");
        printf("%6s  %8s  %8s  %11s  %-8s  %8s  %10s  %7s  %10s  %13s  %9s  %8s\n", "------",
               "--------", "--------", "-----------", "--------", "--------", "----------",
               "-------", "----------", "-------------", "---------", "--------");
    }
    int plotted = 0;
    for (int ik = 0; ik < n_K; ik++) {
        const int32_t K = (int32_t)Ks[ik];
        mhn_mean_image(mean, pix, K, d);
        mhn_normalise(X, pix, K, d, mean);
        double scale = 0.0; /* mean norm of the centred images, to draw states as pixels */
        for (int32_t mu = 0; mu < K; mu++) {
            double nrm = 0.0;
            for (int32_t i = 0; i < d; i++) {
                double t = pix[(size_t)mu * d + i] - mean[i];
                nrm += t * t;
            }
            scale += sqrt(nrm) / K;
        }
        /* the same corruption for every beta and solver of this K */
        mhn_rng_t rng;
        mhn_rng_seed(&rng, a.seed + (uint64_t)K * 0x9E3779B9ull);
        int query_ok = 0;
        for (int32_t j = 0; j < Q; j++) {
            want[j] = (int32_t)((int64_t)j * K / Q);
            float *qp = qpix + (size_t)j * d;
            memcpy(qp, pix + (size_t)want[j] * d, (size_t)d * sizeof(float));
            for (int32_t i = 0; i < d; i++) {
                if (mhn_uniform(&rng) < a.mask)
                    qp[i] = 0.0f;
                if (a.noise > 0.0)
                    qp[i] += (float)(a.noise * mhn_gaussian(&rng));
            }
        }
        mhn_normalise(q, qpix, Q, d, mean);
        for (int32_t j = 0; j < Q; j++)
            query_ok += nearest(X, K, d, q + (size_t)j * d, NULL, 0) == want[j];
        double beta_s;
        if ((rc = ham_mhn_beta_s(&beta_s, X, K, d)) != HAM_OK) {
            cli_error("beta_s for K = %d: %s", (int)K, ham_strerror(rc));
            goto done;
        }
        for (int ib = 0; ib < n_beta; ib++) {
            ham_solver_free(solver);
            ham_model_free(model);
            solver = NULL;
            if ((rc = ham_mhn_new(&model, X, K, d, betas[ib])) != HAM_OK) {
                cli_error("building the network (K = %d, beta %g): %s", (int)K, betas[ib],
                          ham_strerror(rc));
                goto done;
            }
            for (int is = 0; is < kinds.n; is++) {
                ham_solver_free(solver);
                solver = NULL;
                const int32_t kind = kinds.item[is];
                if (mhn_solver_new(&solver, model, kind, a.tol, a.max_iter, 1) != 0)
                    goto done;
                if (ham_solver_set_option(solver, HAM_OPT_STABILITY_CHECK,
                                          (double)a.stability) != HAM_OK) {
                    cli_error("--stability-check: %s", ham_last_error());
                    goto done;
                }
                memcpy(v, q, (size_t)Q * d * sizeof(float));
                double t0 = cli_now_ms();
                rc = ham_solver_solve(solver, v, Q, NULL);
                double ms = cli_now_ms() - t0;
                ham_solve_stats_t stats = {.size = sizeof stats};
                if (rc != HAM_OK || (rc = ham_solver_get_stats(&stats, solver)) != HAM_OK) {
                    const char *msg = ham_last_error();
                    cli_error("retrieval (K = %d, beta %g, %s): %s", (int)K, betas[ib],
                              ham_solver_kind_name(kind), *msg ? msg : ham_strerror(rc));
                    goto done;
                }
                int ok = 0;
                double overlap = 0.0;
                for (int32_t j = 0; j < Q; j++) {
                    double cosine;
                    const float *vj = v + (size_t)j * d;
                    if (!finite_row(vj, d)) /* a diverged query retrieves nothing */
                        continue;
                    ok += nearest(X, K, d, vj, &cosine, want[j]) == want[j];
                    overlap += cosine;
                }
                const char *name = ham_solver_kind_name(kind);
                int not_conv = stats.samples - stats.converged;
                char b[40];
                char unstable[16] = "-"; /* "-": not checked (--stability-check 0) */
                if (a.stability > 0)
                    snprintf(unstable, sizeof unstable, "%d", (int)stats.unstable);
                if (a.json)
                    printf("{\"patterns\": %d, \"beta\": %s, \"solver\": \"%s\", "
                           "\"accuracy\": %.4f, \"iters_mean\": %.4f, \"not_converged\": %d}\n",
                           (int)K, cli_json_float(b, sizeof b, betas[ib]), name, (double)ok / Q,
                           stats.iters_mean, not_conv);
                else
                    printf("%6d  %8.4g  %8.4g  %11.3f  %-8s  %8.3f  %10.3f  %7.3f  %10.2f  %13d  "
                           "%9.2f  %8s\n",
                           (int)K, beta_s, betas[ib], betas[ib] / beta_s, name, (double)ok / Q,
                           (double)query_ok / Q, overlap / Q, stats.iters_mean, not_conv, ms,
                           unstable);
                fflush(stdout);
                /* the plot: largest K (its first occurrence), largest beta, first solver */
                if (a.plot && is == 0 && K == K_max && !plotted) {
                    int largest = 1;
                    for (int jb = 0; jb < n_beta; jb++)
                        largest &= betas[jb] <= betas[ib];
                    if (largest) {
                        plotted = 1;
                        int32_t cols = Q < PLOT_COLUMNS ? Q : PLOT_COLUMNS;
                        float *orig = malloc((size_t)cols * d * sizeof(float));
                        float *qsel = malloc((size_t)cols * d * sizeof(float));
                        if (!orig || !qsel) {
                            free(orig);
                            free(qsel);
                            cli_error("out of memory for the plot");
                            goto done;
                        }
                        for (int32_t c = 0; c < cols; c++) {
                            int32_t j = (int32_t)((int64_t)c * Q / cols);
                            memcpy(qsel + (size_t)c * d, qpix + (size_t)j * d, (size_t)d * sizeof(float));
                            /* back to pixels with the stored images' mean norm */
                            for (int32_t i = 0; i < d; i++)
                                plot_v[(size_t)c * d + i] =
                                    (float)(mean[i] + scale * v[(size_t)j * d + i]);
                            memcpy(orig + (size_t)c * d, pix + (size_t)want[j] * d,
                                   (size_t)d * sizeof(float));
                        }
                        image_plot_t ctx = {side, cols, K, betas[ib], name, qsel, plot_v, orig};
                        draw_images(plot.out, &ctx);
                        free(orig);
                        free(qsel);
                        if (cli_svg_file_commit(&plot) != 0)
                            goto done;
                    }
                }
            }
        }
    }
    ret = CLI_EXIT_OK;
done:
    cli_svg_file_abort(&plot);
    ham_solver_free(solver);
    ham_model_free(model);
    ham_dataset_free(ds);
    free(pix);
    free(X);
    free(qpix);
    free(q);
    free(v);
    free(plot_v);
    free(want);
    free(mean);
    return ret;
}
