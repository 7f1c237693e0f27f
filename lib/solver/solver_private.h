/* Layer solver: the driver, its options and the backends. Builds on operator. Nothing here is ABI. */
#ifndef HAMDEQ_SOLVER_PRIVATE_H
#define HAMDEQ_SOLVER_PRIVATE_H

#include <math.h>

#include "operator/operator_private.h"

/* ------------------------------------------------ solver driver and backends */

typedef struct hamp_solver_ops hamp_solver_ops_t;
typedef struct hamp_conv_ops hamp_conv_ops_t;

/* The first published sizes of the solver's size-prefixed structs. */
#define HAMP_SOLVE_STATS_V1 (offsetof(ham_solve_stats_t, jacobian_products) + sizeof(int64_t))
#define HAMP_SOLVER_DEF_V1 (offsetof(ham_solver_def_t, destroy) + sizeof(void (*)(void *)))

struct ham_step {
    ham_solver_t *solver;
    int32_t rows;
};

/* Options, stored in the solver in the order of ham_option_t; HAMP_OPT_LAST_ is its
 * last value (options.c asserts that the two agree; lib/mhn/minima.c, which sees only
 * the public API, copies options 0 .. HAM_OPT_THREADS: move it too). */
#define HAMP_OPT_LAST_ HAM_OPT_THREADS
#define HAMP_N_OPTIONS 19
void hamp_solver_default_options(double *opt);

/* One chunk of a batch split over threads (split.c): its solver, and its failure. */
typedef struct hamp_chunk {
    ham_solver_t *child;     /* a private solver like the parent, with its own workspace */
    int rc;                  /* the chunk's status in the last split solve */
    char msg[HAMP_MSG_LEN];  /* its error message (thread-local where it was set) */
} hamp_chunk_t;

struct ham_solver {
    const ham_model_t *model;
    const hamp_operator_ops_t *op;
    const hamp_layout_t *layout;
    int32_t dim;
    int32_t kind;
    const hamp_solver_ops_t *backend;
    void *backend_state;
    ham_solver_def_t custom;            /* the user's backend (kind CUSTOM) */
    double opt[HAMP_N_OPTIONS];
    ham_iter_callback_t callback;
    void *callback_user;
    ham_conv_test_t conv_test;          /* the user's convergence test (NULL: built-in) */
    void *conv_user;

    /* workspace, sized for cap rows on the first solve, grown only by a larger batch */
    int32_t cap;
    int32_t backend_cap;                /* rows the backend state was made for */
    double backend_opt[HAMP_N_OPTIONS]; /* options the backend state was made with */
    hamp_eval_t eval;
    float *s, *gs;                      /* working rows: iterate and G(iterate) */
    int32_t *row_sample;                /* working row -> original sample index */
    int32_t *row_iters;                 /* operator evaluations so far, per working row */
    double *row_resid;                  /* last relative residual, per working row */
    double *row_fnorm;                  /* last ||G(s) - s||, per working row (backends) */
    double *row_gnorm;                  /* last ||G(s)||, per working row */
    int32_t *keep;                      /* compaction scratch */
    int64_t jvp_rows;                   /* tangent rows pushed through JVPs this solve */
    int attractor;                      /* this solve is attractor-safe (resolved option) */
    int attractor_energy;               /* ... and compares energies (option value 2) */
    double *row_energy;                 /* energy after the last G, per working row, when
                                           attractor-safe (hamp_operator_energy) */
    int64_t rejections;                 /* accelerated steps refused this solve */
    float *stab_v, *stab_w;             /* stability check: power-iteration vectors */
    double *stab_rho;                   /* stability check: spectral radius estimates */

    /* results of the last solve, per original sample */
    int32_t batch;
    int32_t *iters;
    double *resid;
    int32_t *status;
    ham_solve_stats_t stats;

    ham_step_t step;

    /* HAM_OPT_THREADS (split.c): workers and per-chunk solvers, made on first use. The
     * workers are *pool_at's: the solver's own `pool`, or the one it shares with the
     * solves and updates of its trainer (hamp_solver_share_pool) */
    hamp_pool_t *pool;
    hamp_pool_t **pool_at;
    hamp_chunk_t *chunks;
    int32_t n_chunks;
    int serial_input;                   /* a chunk's solver: its drive on its own thread */
};

/* A backend. Backends keep per-row history and never allocate in step. */
struct hamp_solver_ops {
    const char *name;
    int (*init)(ham_solver_t *sv, void **state, int32_t dim, int32_t cap);
    void (*fini)(ham_solver_t *sv, void *state);
    int (*reset)(ham_solver_t *sv, void *state, int32_t rows);
    /* Returns 0, HAMP_STEP_G_READY, HAMP_STEP_SWAP, or a negative status. */
    int (*step)(ham_solver_t *sv, void *state, float *s, float *gs, int32_t rows);
    void (*compact)(ham_solver_t *sv, void *state, const int32_t *keep, int32_t n_keep);
    /* Tangent rows per working row the backend's JVPs need (NULL: 1). */
    int32_t (*tangents)(const ham_solver_t *sv);
};

#define HAMP_STEP_G_READY 1
#define HAMP_STEP_SWAP 2 /* the next iterate is gs: the driver swaps s and gs (built-ins only) */

extern const hamp_solver_ops_t hamp_solver_picard;
extern const hamp_solver_ops_t hamp_solver_anderson;
extern const hamp_solver_ops_t hamp_solver_broyden;
extern const hamp_solver_ops_t hamp_solver_newton;
extern const hamp_solver_ops_t hamp_solver_custom;

/* An internal solver of the adjoint fixed point u = J(s*)^T u + rhs of operator `op`. */
int hamp_solver_new_adjoint(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                            int32_t kind);
/* Solves it for a batch: linearised at the point `lin` holds (a workspace the base operator
 * was applied to at s*, rows in batch order), starts from zero (or from rhs when
 * warm_from_rhs), writes the solution into lambda. */
int hamp_solver_solve_adjoint(ham_solver_t *sv, float *lambda, int32_t batch,
                              const hamp_eval_t *lin, const float *rhs, int warm_from_rhs);
/* ham_solver_solve with the input drive taken from `input` (hamp_eval_set_input done
 * there for the same x) instead of computed again. */
int hamp_solver_solve_with_input(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                                 const hamp_eval_t *input);

/* Solves rows on this solver's own thread: the forward fixed point with the input drive
 * computed from x or copied from `input` (the part of ham_solver_solve after its checks),
 * or the adjoint one linearised at `lin` (as hamp_solver_solve_adjoint). */
int hamp_solver_forward_rows(ham_solver_t *sv, float *state, int32_t rows, const float *x,
                             const hamp_eval_t *input);
int hamp_solver_adjoint_rows(ham_solver_t *sv, float *lambda, int32_t rows,
                             const hamp_eval_t *lin, const float *rhs, int warm_from_rhs);
/* A solver with the parent's model, operator and backend (a chunk's, split.c). */
int hamp_solver_child_new(ham_solver_t **child, const ham_solver_t *parent);
/* The last solve's statistics from its per-sample results, jvp_rows and rejections. */
void hamp_solver_finish_stats(ham_solver_t *sv);

/* Threads over samples (split.c). The number of chunks a solve of `batch` rows is split
 * into (1: not split), from HAM_OPT_THREADS and the rules of the option's documentation. */
int32_t hamp_split_threads(const ham_solver_t *sv, int32_t batch);
/* Solves the batch in T chunks on the solver's pool and merges the results into sv: a
 * forward solve (rhs NULL) whose drive each chunk computes from its rows of x, or copies
 * from src's when x is NULL; or the adjoint linearised at src. */
int hamp_split_solve(ham_solver_t *sv, float *state, int32_t batch, const float *x,
                     const hamp_eval_t *src, const float *rhs, int warm_from_rhs, int32_t T);
/* Joins the workers and frees the chunks' solvers. */
void hamp_split_free(ham_solver_t *sv);
/* The pool sv's split solves run on: its own, or the one given to it. */
hamp_pool_t **hamp_solver_pool(ham_solver_t *sv);
/* Makes sv run its split solves on *pool (owned by the caller, which outlives sv's
 * solves): one set of workers for a trainer's forward and adjoint solves, its drive and
 * its update, so that a step's runs find the same threads and their rows' caches. */
void hamp_solver_share_pool(ham_solver_t *sv, hamp_pool_t **pool);

/* Convergence: measures the working rows and judges them, one entry per kind of test
 * (convergence.c). The driver calls only these; it never reads a residual itself. */
struct hamp_conv_ops {
    const char *name;
    /* Fills row_fnorm = ||G(s) - s||, row_gnorm = ||G(s)|| and row_resid (the relative
     * residual, NaN when a norm is not finite or ||G(s)|| > HAM_OPT_DIVERGENCE) of the
     * working rows from sv->s and sv->gs. */
    void (*measure)(ham_solver_t *sv, int32_t rows);
    /* The verdict on working row r at driver iteration it: HAMP_CONV_GO_ON,
     * HAMP_CONV_CONVERGED, HAMP_CONV_DIVERGED, or a negative status (message set) that
     * aborts the solve. */
    int (*test)(ham_solver_t *sv, int32_t r, int32_t it);
};

#define HAMP_CONV_GO_ON 0
#define HAMP_CONV_CONVERGED 1
#define HAMP_CONV_DIVERGED 2

extern const hamp_conv_ops_t hamp_conv_builtin; /* r < tol or ||G(s) - s|| < atol */
extern const hamp_conv_ops_t hamp_conv_user;    /* the user's ham_conv_test_t */
extern const hamp_conv_ops_t hamp_conv_fixed;   /* HAM_OPT_FIXED_ITERS: never converged */
/* The test a solve with the solver's current options and hook uses. */
const hamp_conv_ops_t *hamp_conv_select(const ham_solver_t *sv);

/* Attractor-safe mode: 1 when `e_new` (an accelerated proposal's energy after G) is
 * above `e_ref` (the energy after the plain step) by more than rounding (a relative
 * 1e-6: float32 states put the energies' noise orders of magnitude below it). */
static inline int hamp_energy_rises(double e_new, double e_ref)
{
    return !(e_new <= e_ref + 1e-6 * (1.0 + fabs(e_ref)));
}

/* Evaluate G on the working rows from a backend (counts one evaluation per row). */
void hamp_solver_apply(ham_solver_t *sv, float *out, const float *s, int32_t rows);
/* Evaluate G on all working rows (the workspace ends linearised at every row's point),
 * counting the evaluation only for rows r with count[r] != 0. */
void hamp_solver_apply_counted(ham_solver_t *sv, float *out, const float *s, int32_t rows,
                               const unsigned char *count);
/* Operator evaluations working row r may still use before HAM_OPT_MAX_ITER (>= 0). */
int32_t hamp_solver_evals_left(const ham_solver_t *sv, int32_t r);
/* J v / J^T v at the point of the last hamp_solver_apply (v: rows*mult rows). */
void hamp_solver_jvp(ham_solver_t *sv, float *out, const float *v, int32_t rows, int32_t mult);

/* Batched GMRES for (I - J) d = b on the working rows (krylov_gmres.c). */
typedef struct hamp_gmres {
    int32_t dim, cap, kmax;
    float *V;        /* cap x (kmax+1) x dim Krylov bases */
    double *H;       /* cap x (kmax+1) x kmax Hessenberg matrices */
    double *cs, *sn; /* cap x kmax Givens rotations */
    double *rhs;     /* cap x (kmax+1) rotated right-hand sides */
    double *beta;    /* cap initial residual norms */
    float *w, *jw;   /* cap x dim JVP input and output */
    double *wd;      /* dim scratch */
    int32_t *k;      /* Krylov steps each row took */
} hamp_gmres_t;

int hamp_gmres_init(hamp_gmres_t *g, int32_t dim, int32_t cap, int32_t kmax);
void hamp_gmres_free(hamp_gmres_t *g);
/* Approximately solves (I - J) d = b per row, to ||residual|| <= rtol ||b|| or kmax
 * steps; returns the number of batched JVPs taken. */
int32_t hamp_gmres_solve(hamp_gmres_t *g, ham_solver_t *sv, float *d, const float *b,
                         int32_t rows, double rtol);

#endif /* HAMDEQ_SOLVER_PRIVATE_H */
