/* hamdeq phase: the inverse-temperature phase transition of a Modern Hopfield network
 * storing a regular simplex of patterns (docs/mhn.md). For each beta of a sweep,
 * retrieval runs from many random starts and the distinct minima reached are counted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mhn_util.h"
#include "svg_file.h"

#define MAX_PATTERNS 1024
#define MAX_DIM 1024
#define MAX_VALUES (1L << 24) /* starts x dim: the solves keep a few arrays this size */
#define MAX_STEPS 10000
#define MAX_STARTS 100000

typedef struct phase_args {
    int64_t patterns, dim, steps, starts, max_iter;
    double norm, beta_min, beta_max, tol, cluster_tol, start_radius;
    uint64_t seed;
    const char *plot;
    int json;
} phase_args_t;

/* One beta of the sweep. */
typedef struct phase_row {
    double beta;
    ham_mhn_minima_t res;
} phase_row_t;

static const cli_command_spec_t help = {
    .usage = "hamdeq phase [options]",
    .description =
        "Stores N equidistant patterns of norm R in a Modern Hopfield network (a regular\n"
        "simplex: centred one-hot vectors, scaled to norm R, embedded in D >= N-1 dimensions\n"
        "and rotated by a random orthogonal matrix from --seed), sweeps the inverse\n"
        "temperature beta over K linearly spaced values from A to B (both included), and\n"
        "at each beta runs retrieval from S random starts (uniform in the ball of radius R,\n"
        "or F R with --start-radius; the same starts at every beta). The fixed points\n"
        "reached are clustered; a cluster is a minimum when the energy's Hessian is\n"
        "positive definite there. Prints, per beta, the distinct minima and whether the\n"
        "mean attractor (the pattern mean, here the origin) is among them, then\n"
        "beta_s = 1/lambda_max(Cov(X)) (= (N-1)/R^2) and the smallest swept beta at which\n"
        "pattern-specific minima were found.\n",
    .notes = "JSON lines (--json) have exactly these keys, in this order: one object per beta\n"
             "  {\"beta\": float, \"distinct_minima\": int, \"mean_attractor\": bool}\n"
             "then one summary object\n"
             "  {\"beta_s\": float, \"beta_pattern_minima\": float}\n"
             "(beta_pattern_minima is null when no beta of the sweep had pattern minima).\n",
    .examples = "hamdeq phase --patterns 5 --dim 8 --beta-min 1 --beta-max 8 --beta-steps 15\n"
                "hamdeq phase --patterns 5 --dim 8 --norm 2 --json --plot phase.svg\n",
};

/* The simplex: pattern mu is e_mu - 1/N in R^N, written in the orthonormal Helmert basis
 * of the sum-zero subspace (N-1 coordinates), scaled to norm R, padded to D and rotated
 * by a random orthogonal D x D matrix (Gram-Schmidt of a Gaussian matrix). */
static int make_simplex(float *X, int32_t n, int32_t d, double r, mhn_rng_t *rng)
{
    double *y = calloc((size_t)n * d, sizeof(double));
    double *q = malloc((size_t)d * d * sizeof(double));
    if (!y || !q) {
        free(y);
        free(q);
        return -1;
    }
    /* Helmert vector k (k = 1 .. N-1): (1, .., 1, -k, 0, ..) / sqrt(k (k+1)), k ones */
    double scale = r / sqrt((double)(n - 1) / n);
    for (int32_t k = 1; k < n; k++) {
        double h = 1.0 / sqrt((double)k * (k + 1));
        for (int32_t mu = 0; mu <= k; mu++)
            y[(size_t)mu * d + (k - 1)] = scale * (mu < k ? h : -k * h);
    }
    for (size_t i = 0; i < (size_t)d * d; i++)
        q[i] = mhn_gaussian(rng);
    for (int32_t i = 0; i < d; i++) { /* rows of q made orthonormal */
        double *qi = q + (size_t)i * d;
        for (int pass = 0; pass < 2; pass++)
            for (int32_t j = 0; j < i; j++) {
                const double *qj = q + (size_t)j * d;
                double dot = 0.0;
                for (int32_t t = 0; t < d; t++)
                    dot += qi[t] * qj[t];
                for (int32_t t = 0; t < d; t++)
                    qi[t] -= dot * qj[t];
            }
        double nrm = 0.0;
        for (int32_t t = 0; t < d; t++)
            nrm += qi[t] * qi[t];
        nrm = sqrt(nrm);
        for (int32_t t = 0; t < d; t++)
            qi[t] /= nrm;
    }
    for (int32_t mu = 0; mu < n; mu++)
        for (int32_t i = 0; i < d; i++) {
            double acc = 0.0;
            for (int32_t t = 0; t < d; t++)
                acc += q[(size_t)i * d + t] * y[(size_t)mu * d + t];
            X[(size_t)mu * d + i] = (float)acc;
        }
    free(y);
    free(q);
    return 0;
}

/* Starts uniform in the ball of radius r in d dimensions. */
static void make_starts(float *S, int32_t count, int32_t d, double r, mhn_rng_t *rng)
{
    for (int32_t k = 0; k < count; k++) {
        float *s = S + (size_t)k * d;
        double nrm = 0.0;
        for (int32_t i = 0; i < d; i++) {
            double g = mhn_gaussian(rng);
            s[i] = (float)g;
            nrm += g * g;
        }
        double rad = r * pow(mhn_uniform(rng), 1.0 / d) / (nrm > 0.0 ? sqrt(nrm) : 1.0);
        for (int32_t i = 0; i < d; i++)
            s[i] = (float)(s[i] * rad);
    }
}

/* ------------------------------------------------------------------ the SVG plot */

typedef struct plot_ctx {
    const phase_row_t *rows;
    int32_t n_rows, n_patterns, dim;
    double norm, beta_s, beta_pattern;
} plot_ctx_t;

#define PW 760.0
#define PH 440.0
#define PL 70.0
#define PR 30.0
#define PT 50.0
#define PB 60.0

static void draw_phase(FILE *out, const plot_ctx_t *c)
{
    double bmin = c->rows[0].beta, bmax = c->rows[c->n_rows - 1].beta;
    if (isfinite(c->beta_s)) {
        bmin = fmin(bmin, c->beta_s);
        bmax = fmax(bmax, c->beta_s);
    }
    if (!(bmax > bmin)) {
        bmin *= 0.9;
        bmax = bmax * 1.1 + 1e-12;
    }
    int32_t ymax = 1;
    for (int32_t i = 0; i < c->n_rows; i++)
        if (c->rows[i].res.minima > ymax)
            ymax = c->rows[i].res.minima;
    ymax += 1;
    const double x0 = PL, x1 = PW - PR, y0 = PH - PB, y1 = PT;
#define XP(b) (x0 + ((b) - bmin) / (bmax - bmin) * (x1 - x0))
#define YP(v) (y0 - (double)(v) / ymax * (y0 - y1))
    char title[160];
    snprintf(title, sizeof title,
             "Modern Hopfield network: %d simplex patterns, norm %g, in %d dimensions",
             (int)c->n_patterns, c->norm, (int)c->dim);
    cli_svg_begin(out, PW, PH, "", title);
    /* axes, ticks, labels */
    fprintf(out, "<g stroke=\"#333333\" stroke-width=\"1\" fill=\"none\">\n"
                 "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
                 "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n</g>\n",
            x0, y0, x1, y0, x0, y0, x0, y1);
    for (int32_t k = 0; k <= ymax; k += (ymax > 12 ? (ymax + 5) / 6 : 1)) {
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n",
                x0, YP(k), x1, YP(k));
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%d</text>\n",
                x0 - 6, YP(k) + 4, (int)k);
    }
    for (int t = 0; t <= 8; t++) {
        double b = bmin + (bmax - bmin) * t / 8.0;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%.3g</text>\n",
                XP(b), y0 + 16, b);
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\">"
                 "inverse temperature beta</text>\n",
            (x0 + x1) / 2, PH - 18);
    fprintf(out, "<text x=\"18\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" "
                 "transform=\"rotate(-90 18 %.1f)\">distinct minima</text>\n",
            (y0 + y1) / 2, (y0 + y1) / 2);
    /* beta_s and the first beta with pattern minima */
    if (isfinite(c->beta_s)) {
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
                     "stroke-dasharray=\"6,4\"/>\n",
                XP(c->beta_s), y0, XP(c->beta_s), y1);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#d62728\">beta_s = "
                     "%.4g</text>\n",
                XP(c->beta_s) + 4, y1 + 12, c->beta_s);
    }
    if (isfinite(c->beta_pattern)) {
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2ca02c\" "
                     "stroke-dasharray=\"2,3\"/>\n",
                XP(c->beta_pattern), y0, XP(c->beta_pattern), y1);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#2ca02c\" "
                     "text-anchor=\"end\">pattern minima from %.4g</text>\n",
                XP(c->beta_pattern) - 4, y1 + 28, c->beta_pattern);
    }
    /* the series: a line through the counts, filled dots where the mean is a minimum */
    fprintf(out, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
    for (int32_t i = 0; i < c->n_rows; i++)
        fprintf(out, "%s%.1f,%.1f", i ? " " : "", XP(c->rows[i].beta), YP(c->rows[i].res.minima));
    fprintf(out, "\"/>\n");
    for (int32_t i = 0; i < c->n_rows; i++)
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" stroke=\"#1f77b4\" fill=\"%s\"/>\n",
                XP(c->rows[i].beta), YP(c->rows[i].res.minima),
                c->rows[i].res.mean_attractor >= 0 ? "#1f77b4" : "#ffffff");
    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" stroke=\"#1f77b4\" fill=\"#1f77b4\"/>\n"
                 "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">mean attractor among the minima"
                 "</text>\n"
                 "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" stroke=\"#1f77b4\" fill=\"#ffffff\"/>\n"
                 "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">mean attractor not found</text>\n",
            x1 - 220, y1 + 50, x1 - 210, y1 + 54, x1 - 220, y1 + 68, x1 - 210, y1 + 72);
    fprintf(out, "</svg>\n");
#undef XP
#undef YP
}

/* ------------------------------------------------------------------ the command */

int cmd_phase(int argc, char **argv)
{
    phase_args_t a = {
        .patterns = 5,
        .dim = 8,
        .steps = 15,
        .starts = 300,
        .max_iter = 5000,
        .norm = 1.0,
        .beta_min = NAN, /* unset: the parser only stores finite values */
        .beta_max = NAN,
        .tol = 1e-6,
        .cluster_tol = 1e-2,
        .start_radius = 1.0,
        .seed = 1,
    };
    int32_t kind = HAM_SOLVER_PICARD;
    const cli_opt_t opts[] = {
        {.name = "patterns", .type = CLI_OPT_INT, .dest = &a.patterns, .metavar = "N",
         .help = "stored patterns, 2 .. 1024 (default: 5)", .min = 2, .max = MAX_PATTERNS},
        {.name = "dim", .type = CLI_OPT_INT, .dest = &a.dim, .metavar = "D",
         .help = "pattern dimension, N-1 .. 1024 (default: 8)", .min = 1, .max = MAX_DIM},
        {.name = "norm", .type = CLI_OPT_DOUBLE, .dest = &a.norm, .metavar = "R",
         .help = "norm of every pattern, > 0 (default: 1)", .min = 0, .max = 1e6,
         .flags = CLI_OPEN_MIN},
        {.name = "beta-min", .type = CLI_OPT_DOUBLE, .dest = &a.beta_min, .metavar = "A",
         .help = "first beta of the sweep, > 0 (default: beta_s / 4)"},
        {.name = "beta-max", .type = CLI_OPT_DOUBLE, .dest = &a.beta_max, .metavar = "B",
         .help = "last beta of the sweep, >= A (default: 2 beta_s)"},
        {.name = "beta-steps", .type = CLI_OPT_INT, .dest = &a.steps, .metavar = "K",
         .help = "betas in the sweep, linearly spaced, ends included (default: 15)", .min = 1,
         .max = MAX_STEPS},
        {.name = "starts", .type = CLI_OPT_INT, .dest = &a.starts, .metavar = "S",
         .help = "random starts per beta (default: 300)", .min = 1, .max = MAX_STARTS},
        {.name = "start-radius", .type = CLI_OPT_DOUBLE, .dest = &a.start_radius,
         .metavar = "F",
         .help = "starts are uniform in the ball of radius F R, 0 < F <= 100 (default: 1)",
         .min = 0, .max = 100, .flags = CLI_OPEN_MIN},
        cli_opt_seed(&a.seed, "seed of the rotation and the starts (default: 1)"),
        /* phase's contract (check_mhn_cli.sh) calls a bad solver an "unknown name" */
        cli_opt_flagged(cli_opt_solver(&kind, "picard, anderson, broyden or newton (default: "
                                              "picard)"),
                        CLI_SAY_NAME),
        cli_opt_tol(&a.tol, "residual tolerance, relative to the pattern norm near the origin "
                            "(default: 1e-6)"),
        cli_opt_max_iter(&a.max_iter, "operator evaluations per start at most (default: 5000)"),
        {.name = "cluster-tol", .type = CLI_OPT_DOUBLE, .dest = &a.cluster_tol, .metavar = "C",
         .help = "fixed points closer than C R are one (default: 0.01)", .min = 0, .max = 1,
         .flags = CLI_OPEN_MIN},
        cli_opt_json(&a.json, "print JSON lines instead of the table"),
        cli_opt_flagged(cli_opt_plot(&a.plot, "also draw distinct minima against beta, beta_s "
                                              "marked"),
                        CLI_NONEMPTY),
    };
    int rc = cli_parse_command(&help, opts, CLI_N_OPTS(opts), argc, argv);
    if (rc != CLI_PARSED)
        return rc;
    const int32_t n = (int32_t)a.patterns, d = (int32_t)a.dim;
    if (d < n - 1) {
        cli_error("--dim %d is too small for a simplex of %d patterns (needs at least %d)",
                  (int)d, (int)n, (int)n - 1);
        return CLI_EXIT_USAGE;
    }
    if (a.starts * d > MAX_VALUES) {
        cli_error("--starts %lld x --dim %d is more than %ld values; use fewer starts",
                  (long long)a.starts, (int)d, (long)MAX_VALUES);
        return CLI_EXIT_USAGE;
    }

    int ret = CLI_EXIT_RUNTIME;
    float *X = malloc((size_t)n * d * sizeof(float));
    float *S = malloc((size_t)a.starts * d * sizeof(float));
    phase_row_t *rows = calloc((size_t)a.steps, sizeof *rows);
    ham_model_t *model = NULL;
    ham_solver_t *solver = NULL;
    cli_svg_file_t plot = {0};
    mhn_rng_t rng;
    mhn_rng_seed(&rng, a.seed);
    if (!X || !S || !rows || make_simplex(X, n, d, a.norm, &rng) != 0) {
        cli_error("out of memory");
        goto done;
    }
    make_starts(S, (int32_t)a.starts, d, a.start_radius * a.norm, &rng);
    double beta_s;
    if ((rc = ham_mhn_beta_s(&beta_s, X, n, d)) != HAM_OK) {
        cli_error("beta_s: %s", ham_strerror(rc));
        goto done;
    }
    int have_min = !isnan(a.beta_min), have_max = !isnan(a.beta_max);
    double bmin = have_min ? a.beta_min : beta_s / 4, bmax = have_max ? a.beta_max : 2 * beta_s;
    if (!have_max && have_min && bmax < bmin)
        bmax = bmin;
    if (!(bmin > 0.0) || !isfinite(bmax) || bmax < bmin || (a.steps == 1 && have_max && bmax != bmin)) {
        cli_error("the beta range needs 0 < --beta-min <= --beta-max (one step: equal), got %g .. %g",
                  bmin, bmax);
        ret = CLI_EXIT_USAGE;
        goto done;
    }

    if (a.plot && cli_svg_file_open(&plot, a.plot) != 0)
        goto done;
    if (!a.json) {
        printf("Modern Hopfield phase sweep: %d simplex patterns of norm %g in %d dimensions; "
               "%d starts per beta in a ball of radius %g, solver %s, tol %g\n",
               (int)n, a.norm, (int)d, (int)a.starts, a.start_radius * a.norm,
               ham_solver_kind_name(kind), a.tol);
        printf("beta_s = 1/lambda_max(Cov(X)) = %.6g   (analysis: (N-1)/R^2 = %.6g)\n\n", beta_s,
               (n - 1) / (a.norm * a.norm));
        printf("%10s  %10s  %9s  %14s  %15s  %10s  %7s  %10s\n", "beta", "beta/beta_s",
               "converged", "distinct minima", "mean attractor", "mean basin", "saddles",
               "mean iters");
        printf("%10s  %10s  %9s  %14s  %15s  %10s  %7s  %10s\n", "----------", "----------",
               "---------", "--------------", "---------------", "----------", "-------",
               "----------");
    }
    double beta_pattern = INFINITY;
    for (int64_t k = 0; k < a.steps; k++) {
        double beta = a.steps == 1 ? bmin : bmin + (bmax - bmin) * (double)k / (double)(a.steps - 1);
        phase_row_t *row = &rows[k];
        row->beta = beta;
        row->res.size = sizeof row->res;
        ham_model_free(model);
        ham_solver_free(solver);
        model = NULL;
        solver = NULL;
        if ((rc = ham_mhn_new(&model, X, n, d, beta)) != HAM_OK) {
            cli_error("building the network at beta %g: %s", beta, ham_strerror(rc));
            goto done;
        }
        if (mhn_solver_new(&solver, model, kind, a.tol, a.max_iter, 0) != 0)
            goto done;
        rc = ham_mhn_find_minima(&row->res, NULL, 0, NULL, solver, S, (int32_t)a.starts,
                                 a.cluster_tol);
        if (rc != HAM_OK) {
            const char *msg = ham_last_error();
            cli_error("retrieval at beta %g: %s", beta, *msg ? msg : ham_strerror(rc));
            goto done;
        }
        const ham_mhn_minima_t *r = &row->res;
        int mean = r->mean_attractor >= 0;
        if (r->minima - mean > 0 && !isfinite(beta_pattern))
            beta_pattern = beta;
        if (a.json) {
            char b[40];
            printf("{\"beta\": %s, \"distinct_minima\": %d, \"mean_attractor\": %s}\n",
                   cli_json_float(b, sizeof b, beta), (int)r->minima, mean ? "true" : "false");
        } else {
            char basin[32];
            snprintf(basin, sizeof basin, "%.2f%%", 100.0 * r->mean_basin / r->starts);
            printf("%10.4g  %10.3f  %9d  %14d  %15s  %10s  %7d  %10.1f\n", beta, beta / beta_s,
                   (int)r->converged, (int)r->minima, mean ? "yes" : "no", mean ? basin : "-",
                   (int)r->saddles, r->iters_mean);
        }
        fflush(stdout);
    }
    if (a.json) {
        char b1[40], b2[40];
        printf("{\"beta_s\": %s, \"beta_pattern_minima\": %s}\n",
               cli_json_float(b1, sizeof b1, beta_s), cli_json_float(b2, sizeof b2, beta_pattern));
    } else {
        printf("\nbeta_s (mean attractor loses stability): %.6g\n", beta_s);
        if (isfinite(beta_pattern))
            printf("pattern-specific minima first found at beta = %.6g (%.3f beta_s)\n",
                   beta_pattern, beta_pattern / beta_s);
        else
            printf("no pattern-specific minima found in the sweep\n");
        double last_mean = -1.0;
        for (int64_t k = 0; k < a.steps; k++)
            if (rows[k].res.mean_attractor >= 0)
                last_mean = rows[k].beta;
        if (last_mean > 0.0)
            printf("mean attractor last found at beta = %.6g (%.3f beta_s)\n", last_mean,
                   last_mean / beta_s);
        if (last_mean > 0.0 && isfinite(beta_pattern) && beta_pattern <= last_mean)
            printf("coexistence (mean and pattern minima): beta %.6g .. %.6g\n", beta_pattern,
                   last_mean);
    }
    if (a.plot) {
        plot_ctx_t ctx = {rows, (int32_t)a.steps, n, d, a.norm, beta_s, beta_pattern};
        draw_phase(plot.out, &ctx);
        if (cli_svg_file_commit(&plot) != 0)
            goto done;
    }
    ret = CLI_EXIT_OK;
done:
    cli_svg_file_abort(&plot);
    ham_solver_free(solver);
    ham_model_free(model);
    free(rows);
    free(S);
    free(X);
    return ret;
}
