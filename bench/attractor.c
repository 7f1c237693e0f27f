/* Issue 10's measurements: which fixed point Anderson, Broyden and Newton return, with
 * and without HAM_OPT_ATTRACTOR_SAFE, against the attractor energy descent reaches.
 *
 * Reference: even-odd Picard at tol 1e-6, max 1000 evaluations. Every other solve uses the
 * same tolerance and limit and default options otherwise (attractor mode as stated).
 * Agreement: output layer within 1e-3 relative of the reference, on samples where both
 * converged. Evaluations: operator evaluations plus JVPs, per sample. "unstable": converged
 * samples whose spectral radius of G' (50 power iterations, ham_model_jvp) is >= 1.
 * Modes: off (HAM_OPT_ATTRACTOR_SAFE = 0), safe (1, the even-odd default), E (2: also the
 * energy test), chk (1 with HAM_OPT_STABILITY_CHECK = 50: unstable samples pushed off and
 * re-solved; "flagged" counts those still reported HAM_SAMPLE_UNSTABLE).
 *
 *   attractor MODEL LAGRANGIANS IMAGES N     (MODEL: a .ham file or xavier:L0,L1,..:SEED;
 *                                             LAGRANGIANS: - or a comma list) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hamdeq/hamdeq.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != HAM_OK) {                                                               \
            fprintf(stderr, "%s: %s (%s)\n", #call, ham_strerror(rc_), ham_last_error());  \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

static ham_model_t *make_model(const char *spec)
{
    ham_model_t *m = NULL;
    if (strncmp(spec, "xavier:", 7) == 0) {
        int32_t sizes[16], n = 0;
        const char *p = spec + 7;
        while (*p && *p != ':') {
            sizes[n++] = (int32_t)strtol(p, (char **)&p, 10);
            if (*p == ',')
                p++;
        }
        uint64_t seed = *p == ':' ? strtoull(p + 1, NULL, 10) : 1;
        CHECK(ham_model_new(&m, n, sizes, HAM_MODEL_CLAMPED_INPUT));
        CHECK(ham_model_init_xavier(m, seed));
    } else {
        CHECK(ham_model_load(&m, spec));
    }
    return m;
}

static void set_lagrangians(ham_model_t *m, const char *list)
{
    if (strcmp(list, "-") == 0)
        return;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    int32_t l = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","), l++) {
        int32_t kind;
        if (strcmp(t, "ss") == 0)
            kind = HAM_LAGRANGIAN_SHIFTED_SIGMOID;
        else
            CHECK(ham_lagrangian_from_name(&kind, t));
        CHECK(ham_model_set_lagrangian(m, l, kind, 1.0));
    }
}

typedef struct result {
    float *state;
    int32_t *status, *iters;
    ham_solve_stats_t st;
} result_t;

static void solve(result_t *res, const ham_model_t *m, int32_t op, int32_t kind, double safe,
                  double check, int32_t n, const float *x, int32_t dim)
{
    ham_solver_t *sv = NULL;
    CHECK(ham_solver_new(&sv, m, op, kind));
    CHECK(ham_solver_set_option(sv, HAM_OPT_TOL, 1e-6));
    CHECK(ham_solver_set_option(sv, HAM_OPT_MAX_ITER, 1000));
    if (safe != -2)
        CHECK(ham_solver_set_option(sv, HAM_OPT_ATTRACTOR_SAFE, safe));
    CHECK(ham_solver_set_option(sv, HAM_OPT_STABILITY_CHECK, check));
    res->state = calloc((size_t)n * dim, sizeof(float));
    res->status = calloc((size_t)n, sizeof(int32_t));
    res->iters = calloc((size_t)n, sizeof(int32_t));
    CHECK(ham_solver_solve(sv, res->state, n, x));
    CHECK(ham_solver_get_samples(res->iters, NULL, res->status, sv, n));
    res->st.size = sizeof res->st;
    CHECK(ham_solver_get_stats(&res->st, sv));
    ham_solver_free(sv);
}

/* Spectral radius of G' per sample, 50 power iterations; 1 when >= 1. */
static int32_t count_unstable(const ham_model_t *m, const result_t *r, int32_t n,
                              const float *x, int32_t dim)
{
    float *v = malloc((size_t)n * dim * sizeof(float)), *w = malloc((size_t)n * dim * sizeof(float));
    double *prev = calloc((size_t)n, sizeof(double)), *rho = calloc((size_t)n, sizeof(double));
    for (size_t i = 0; i < (size_t)n * dim; i++)
        v[i] = (float)(((i * 2654435761u) >> 8) % 1000) / 1000.0f - 0.4995f;
    for (int t = 0; t < 50; t++) {
        CHECK(ham_model_jvp(w, m, HAM_OPERATOR_EVEN_ODD, n, x, r->state, v));
        for (int32_t k = 0; k < n; k++) {
            double nv = 0.0, nw = 0.0;
            for (int32_t i = 0; i < dim; i++) {
                nv += (double)v[(size_t)k * dim + i] * v[(size_t)k * dim + i];
                nw += (double)w[(size_t)k * dim + i] * w[(size_t)k * dim + i];
            }
            double ratio = nv > 0 ? sqrt(nw / nv) : 0.0;
            rho[k] = t ? sqrt(prev[k] * ratio) : ratio;
            prev[k] = ratio;
            double s = nw > 0 ? 1.0 / sqrt(nw) : 1.0;
            for (int32_t i = 0; i < dim; i++)
                v[(size_t)k * dim + i] = (float)(w[(size_t)k * dim + i] * s);
        }
    }
    int32_t u = 0;
    for (int32_t k = 0; k < n; k++)
        u += r->status[k] == HAM_SAMPLE_CONVERGED && !(rho[k] < 1.0);
    free(v);
    free(w);
    free(prev);
    free(rho);
    return u;
}

static double mean_evals(const result_t *r)
{
    return (double)(r->st.evaluations + r->st.jacobian_products) / r->st.samples;
}

static int argmax(const float *a, int32_t n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (a[i] > a[b])
            b = i;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: attractor MODEL LAGRANGIANS IMAGES N\n");
        return 2;
    }
    ham_model_t *m = make_model(argv[1]);
    set_lagrangians(m, argv[2]);
    int32_t n = atoi(argv[4]);
    ham_dataset_t *ds = NULL;
    CHECK(ham_dataset_load_idx(&ds, argv[3], NULL, NULL));
    float *x = malloc((size_t)n * ham_dataset_dim(ds) * sizeof(float));
    CHECK(ham_dataset_get(x, NULL, ds, 0, n));
    int32_t dim, off, L = ham_model_n_layers(m), ny = ham_model_layer_size(m, L - 1);
    CHECK(ham_model_state_dim(&dim, m, HAM_OPERATOR_EVEN_ODD));
    CHECK(ham_model_state_offset(&off, m, HAM_OPERATOR_EVEN_ODD, L - 1));

    result_t ref;
    solve(&ref, m, HAM_OPERATOR_EVEN_ODD, HAM_SOLVER_PICARD, -2, 0, n, x, dim);
    printf("%-8s %-4s %9s %9s %7s %6s %9s %7s %8s %8s %7s\n", "solver", "mode", "both conv",
           "agree", "agree%", "labels", "evals", "vs ref", "unstable", "refused", "flagged");
    printf("%-8s %-4s %9d %9s %7s %6s %9.1f %7s %8d %8s %7s\n", "picard", "ref",
           ref.st.converged, "-", "-", "-", mean_evals(&ref), "100%",
           count_unstable(m, &ref, n, x, dim), "-", "-");
    const int32_t kinds[3] = {HAM_SOLVER_ANDERSON, HAM_SOLVER_BROYDEN, HAM_SOLVER_NEWTON};
    for (int k = 0; k < 3; k++)
        for (int mode = 0; mode <= 3; mode++) {
            static const char *const names[4] = {"off", "safe", "E", "chk"};
            int safe = mode == 3 ? 1 : mode;
            result_t r;
            solve(&r, m, HAM_OPERATOR_EVEN_ODD, kinds[k], safe, mode == 3 ? 50 : 0, n, x, dim);
            int both = 0, agree = 0, labels = 0;
            for (int32_t i = 0; i < n; i++) {
                if (ref.status[i] != HAM_SAMPLE_CONVERGED || r.status[i] != HAM_SAMPLE_CONVERGED)
                    continue;
                both++;
                const float *a = ref.state + (size_t)i * dim + off, *b = r.state + (size_t)i * dim + off;
                double d2 = 0, n2 = 0;
                for (int32_t j = 0; j < ny; j++) {
                    d2 += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
                    n2 += (double)a[j] * a[j];
                }
                agree += sqrt(d2) <= 1e-3 * sqrt(n2);
                labels += argmax(a, ny) != argmax(b, ny);
            }
            char flagged[16] = "-";
            if (mode == 3)
                snprintf(flagged, sizeof flagged, "%d", (int)r.st.unstable);
            printf("%-8s %-4s %9d %9d %6.1f%% %6d %9.1f %6.0f%% %8d %8d %7s\n",
                   ham_solver_kind_name(kinds[k]), names[mode], both, agree,
                   both ? 100.0 * agree / both : 0.0, labels, mean_evals(&r),
                   100.0 * mean_evals(&r) / mean_evals(&ref), count_unstable(m, &r, n, x, dim),
                   (int)r.st.rejected_steps, flagged);
            free(r.state);
            free(r.status);
            free(r.iters);
        }
    free(ref.state);
    free(ref.status);
    free(ref.iters);
    free(x);
    ham_dataset_free(ds);
    ham_model_free(m);
    return 0;
}
