/* Shared helpers of the Check suites: a deterministic random source, random model
 * builders, a table of problems that every solver runs, finite differences, norms. */
#ifndef HAMDEQ_TEST_UTIL_H
#define HAMDEQ_TEST_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include <hamdeq/hamdeq.h>

/* Every ham_* call in a test goes through this: on failure it names the status. */
#define TU_OK(call)                                                                        \
    do {                                                                                   \
        int tu_rc_ = (call);                                                               \
        ck_assert_msg(tu_rc_ == HAM_OK, "%s returned %s (%s)", #call,                      \
                      ham_status_name(tu_rc_), ham_strerror(tu_rc_));                       \
    } while (0)

/* Checks an exact status code; for an error, also that the call set ham_last_error() to
 * a message of its own: an older failure's message is planted first and must be gone.
 * Every TU_RC of the suite so checks the error channel of the call it makes. */
#define TU_RC(expected, call)                                                              \
    do {                                                                                   \
        tu_plant_stale_error();                                                            \
        int tu_rc_ = (call);                                                               \
        ck_assert_msg(tu_rc_ == (expected), "%s returned %s, expected %s", #call,          \
                      ham_status_name(tu_rc_), ham_status_name(expected));                  \
        if ((expected) < 0)                                                                \
            tu_check_fresh_error(#call);                                                   \
    } while (0)

/* Makes ham_last_error() hold a message that names TU_STALE_MARKER. */
#define TU_STALE_MARKER "tu-stale-marker"
void tu_plant_stale_error(void);
/* Fails unless ham_last_error() is one non-empty line that is not the planted one. */
void tu_check_fresh_error(const char *call);

/* ------------------------------------------------------------------ random numbers */

/* splitmix64: independent of the library's generator, so tests do not share its bugs. */
typedef struct tu_rng {
    uint64_t s;
} tu_rng_t;

void tu_rng_seed(tu_rng_t *r, uint64_t seed);
double tu_uniform(tu_rng_t *r); /* [0, 1) */
void tu_fill(float *a, size_t n, tu_rng_t *r, double lo, double hi);

/* ------------------------------------------------------------------ allocation */

float *tu_floats(size_t n);   /* zeroed; ck_assert on failure */
double *tu_doubles(size_t n); /* zeroed */

/* ------------------------------------------------------------------ models */

#define TU_MAX_LAYERS 8
#define TU_DEFAULT_LAG (-1) /* keep the model's default (shifted sigmoid) */

/* One model and batch in the table every solver and operator runs. */
typedef struct tu_problem {
    const char *name;
    int32_t n_layers;
    int32_t sizes[TU_MAX_LAYERS];
    uint32_t flags;                /* HAM_MODEL_CLAMPED_INPUT or HAM_MODEL_FREE_INPUT */
    int32_t lag[TU_MAX_LAYERS];    /* per-layer kind; 0 means shifted sigmoid too */
    double beta[TU_MAX_LAYERS];    /* softmax inverse temperature */
    double wscale;                 /* Xavier weights are multiplied by this */
    double bscale;                 /* biases uniform in [-bscale, bscale] */
    uint64_t seed;
    int32_t batch;
} tu_problem_t;

extern const tu_problem_t tu_problems[];
extern const int tu_n_problems;
/* The clamped 3-, 5- and 7-layer shifted-sigmoid problems are the first three rows. */
#define TU_N_LAYERED 3

/* Builds a problem's model: Xavier from the seed, scaled, random biases, Lagrangians. */
ham_model_t *tu_problem_model(const tu_problem_t *p);
/* Inputs for a problem (uniform pixels in [0, 1]); NULL for a free-input model. The
 * caller frees. */
float *tu_problem_inputs(const tu_problem_t *p, const ham_model_t *m);

/* A clamped shifted-sigmoid model with Xavier weights from seed, multiplied by wscale. */
ham_model_t *tu_model_new(int32_t n_layers, const int32_t *sizes, uint32_t flags,
                          uint64_t seed, double wscale);
/* Multiplies every weight block by a factor. */
void tu_model_scale_weights(ham_model_t *m, double factor);
/* Random biases in [-scale, scale] on every free layer. */
void tu_model_random_biases(ham_model_t *m, uint64_t seed, double scale);

int32_t tu_dim(const ham_model_t *m, int32_t op);

/* ------------------------------------------------------------------ vectors */

double tu_dot(const float *a, const float *b, size_t n);
double tu_norm(const float *a, size_t n);
double tu_norm_d(const double *a, size_t n);
/* ||a - b|| / max(||a||, ||b||, 1e-30). */
double tu_rel_diff(const float *a, const float *b, size_t n);
/* ||a - b|| (a double, b float). */
double tu_diff_df(const double *a, const float *b, size_t n);

/* ------------------------------------------------------------------ finite differences */

/* A double-valued function of a float vector, and a float-vector-valued one. */
typedef double (*tu_scalar_fn)(const float *s, void *ctx);
typedef void (*tu_vector_fn)(float *out, const float *s, void *ctx);

/* Central-difference gradient of f at s (n entries) into grad; s is perturbed and
 * restored. The step actually taken (after rounding to float) is used. */
void tu_fd_gradient(double *grad, float *s, size_t n, double h, tu_scalar_fn f, void *ctx);
/* Central difference of f along v: out (n_out) = (f(s + h v) - f(s - h v)) / 2h, with
 * the float-rounded perturbation's actual size along v. */
void tu_fd_directional(double *out, size_t n_out, const float *s, const float *v, size_t n,
                       double h, tu_vector_fn f, void *ctx);
/* Central difference of ham_model_apply along v, for a batch. */
void tu_fd_apply(double *out, const ham_model_t *m, int32_t op, int32_t batch, const float *x,
                 const float *s, const float *v, double h);

/* ------------------------------------------------------------------ solving */

/* Solves with a built-in solver; returns the status. state is batch x dim. st may be NULL. */
int tu_solve(float *state, const ham_model_t *m, int32_t op, int32_t kind, int32_t batch,
             const float *x, double tol, int32_t max_iter, ham_solve_stats_t *st);

/* Statistics of the last solve (size set, struct zeroed first). */
void tu_stats(ham_solve_stats_t *st, const ham_solver_t *sv);

/* ------------------------------------------------------------------ suites */

/* A TCase with a generous timeout (Check's default of 4 s is too short under ASan). */
TCase *tu_tcase(const char *name);
/* Runs a suite and returns the process exit status. */
int tu_run(Suite *s);

#endif /* HAMDEQ_TEST_UTIL_H */
