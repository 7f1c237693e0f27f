/* Layer train: the trainer, losses, optimisers and the sparse input gradient.
 * Builds on solver. Nothing here is ABI. */
#ifndef HAMDEQ_TRAIN_PRIVATE_H
#define HAMDEQ_TRAIN_PRIVATE_H

#include "solver/solver_private.h"

/* ------------------------------------------------------------ training (trainer.c) */

/* Loss on the output layer (loss.c): returns the SUM of the per-sample losses, writes
 * inv_b x dLoss_i/ds into grad (rows x dim, zero outside the output slice
 * [offset, offset + n_out)); inv_b is 1/rows for a mean over this batch, 1/B for a mean
 * over a global batch of B samples spread over processes. */
double hamp_loss(float *grad, int32_t *correct, int32_t kind, const float *state, int32_t dim,
                 int32_t offset, int32_t n_out, const int32_t *labels, int32_t rows,
                 double inv_b);

/* The counters a reduction hook sums (ham_reduce_fn, include/hamdeq/trainer.h). */
enum { HAMP_COUNT_LOSS, HAMP_COUNT_CORRECT, HAMP_COUNT_SAMPLES, HAMP_COUNT_FAILED,
       HAMP_N_COUNTS };

#define HAMP_MAX_PARAMS (2 * HAM_MAX_LAYERS)

/* Optimiser state (optimizer.c): moment buffers per parameter array. */
typedef struct hamp_optimizer {
    int32_t n_params;
    int64_t t;                       /* steps taken */
    size_t len[HAMP_MAX_PARAMS];
    float *m1[HAMP_MAX_PARAMS];      /* SGD velocity / Adam first moment */
    float *m2[HAMP_MAX_PARAMS];      /* Adam and Madam second moment */
    double bound[HAMP_MAX_PARAMS];   /* Madam's |p| bound, fixed at the first step */
} hamp_optimizer_t;

int hamp_optimizer_init(hamp_optimizer_t *o, float *const *params, const size_t *lens,
                        int32_t n_params);
void hamp_optimizer_free(hamp_optimizer_t *o);
void hamp_optimizer_reset(hamp_optimizer_t *o);
void hamp_sgd_update(float *p, const float *g, float *v, size_t n, double lr, double mu);
void hamp_adam_update(float *p, const float *g, float *m1, float *m2, size_t n, double lr,
                      double beta1, double beta2, double eps, int64_t t);
double hamp_madam_bound(const float *p, size_t n, double scale);
void hamp_madam_update(float *p, const float *g, float *m2, size_t n, double lr, double beta2,
                       double gbound, double bound, int64_t t, int additive);

/* ------------------------------------------------ sparse input gradient (input_sparse.c) */

/* The input's deviation d = g0 - rho(0), column-compressed, for dL/dW_0 = g0' A on
 * mostly-zero inputs. Owned by the trainer, which alone takes parameter gradients. */
typedef struct hamp_sparse_input {
    int32_t *nz_ptr;           /* N_0 + 1 offsets per pixel into nz_row and nz_val */
    int32_t *nz_row;           /* rows of the non-zero entries */
    float *nz_val;             /* their values */
    int32_t *nz_cur;           /* N_0 scratch */
    int32_t *nz_rptr, *nz_col; /* the same entries by rows: offsets per row, pixels */
    float *nz_rval;            /* and values */
    float nz_c0;               /* rho(0) */
    const float *g0;           /* the rows of g_0(x) the gradient is taken for */
} hamp_sparse_input_t;

/* Sizes it for cap rows (additive input Lagrangians only: otherwise it stays empty and
 * hamp_input_sparse_grad declines). */
int hamp_input_sparse_alloc(hamp_sparse_input_t *sp, const ham_model_t *m, int32_t cap);
void hamp_input_sparse_free(hamp_sparse_input_t *sp);
/* A hamp_param_grad_t input hook: with sp's g0 (rows x N_0) sparse enough, sets
 * gW0 = g0' adj and returns 1; returns 0 (nothing written) otherwise. */
int hamp_input_sparse_grad(void *sp, const ham_model_t *m, const float *adj, int32_t rows,
                           float *gW0);

#define HAMP_N_TRAIN_OPTIONS 15
void hamp_trainer_default_options(double *opt);

struct ham_trainer {
    ham_model_t *model;
    int32_t op, kind;
    const hamp_operator_ops_t *ops;   /* the forward operator, for gradients */
    const hamp_layout_t *layout;
    ham_solver_t *fwd;                /* public: ham_trainer_solver() */
    ham_solver_t *bwd;                /* the adjoint solver, rebuilt when its kind changes */
    int32_t bwd_kind;
    double opt[HAMP_N_TRAIN_OPTIONS];
    int32_t cap;
    float *s_star, *rhs, *lambda, *scratch; /* cap x dim */
    hamp_eval_t eval;                 /* linearisation for the parameter gradients */
    hamp_sparse_input_t sparse;       /* the input block's gradient on sparse inputs */
    float *gW[HAM_MAX_LAYERS], *gb[HAM_MAX_LAYERS];
    int have_grad;
    hamp_optimizer_t optim;
    ham_reduce_fn reduce;             /* data-parallel gradient reduction, or NULL */
    void *reduce_user;
    float *flat;                      /* flat_len: every gW, then every gb, for reduce */
    size_t flat_len;
    hamp_pool_t *pool;                /* HAM_TRAIN_THREADS: the workers of both solvers
                                         (hamp_solver_share_pool), the drive, the update */
};

#endif /* HAMDEQ_TRAIN_PRIVATE_H */
