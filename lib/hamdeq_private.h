/* Private structs and ops tables of libhamdeq. Nothing here is ABI. */
#ifndef HAMDEQ_PRIVATE_H
#define HAMDEQ_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "hamdeq/hamdeq.h"

#define HAMP_MSG_LEN 256

/* ------------------------------------------------------------------ errors (error.c) */

/* Formats a detail message into buf (HAMP_MSG_LEN bytes) and returns status, so that
 * failures read `return hamp_fail(m->msg, HAM_ERR_INVALID, "layer %d", l);`. */
int hamp_fail(char *buf, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------- Lagrangians (lagrangian_*.c) */

typedef struct hamp_lagrangian hamp_lagrangian_t;

/* Every function works on `rows` contiguous rows of `n` units. The activation and the
 * Hessian-vector product of an additive Lagrangian are elementwise, so callers may also
 * pass rows*n as one long row. `hvp` takes `mult` tangent rows per state row: tangent
 * row r uses state row r / mult (Newton's Jacobian needs many tangents per sample). */
typedef struct hamp_lagrangian_ops {
    const char *name;
    int additive;
    double (*value)(const hamp_lagrangian_t *self, const float *s, int32_t n);
    void (*activation)(const hamp_lagrangian_t *self, float *g, const float *s, int32_t rows,
                       int32_t n);
    void (*hvp)(const hamp_lagrangian_t *self, float *out, const float *s, const float *g,
                const float *v, int32_t rows, int32_t mult, int32_t n);
} hamp_lagrangian_ops_t;

struct hamp_lagrangian {
    const hamp_lagrangian_ops_t *ops;
    int32_t kind;
    double beta;                 /* softmax inverse temperature */
    ham_lagrangian_def_t custom; /* copy of the user's definition (kind CUSTOM) */
};

extern const hamp_lagrangian_ops_t hamp_lagrangian_shifted_sigmoid;
extern const hamp_lagrangian_ops_t hamp_lagrangian_sigmoid;
extern const hamp_lagrangian_ops_t hamp_lagrangian_tanh;
extern const hamp_lagrangian_ops_t hamp_lagrangian_identity;
extern const hamp_lagrangian_ops_t hamp_lagrangian_softmax;
extern const hamp_lagrangian_ops_t hamp_lagrangian_custom;

/* ------------------------------------------------------- state layouts (layout.c) */

/* Which layers make up one operator's state, and which it recomputes on the way. */
typedef struct hamp_layout {
    int32_t dim;                       /* state length per sample */
    int32_t n_state;                   /* layers in the state, increasing */
    int32_t state[HAM_MAX_LAYERS];
    int32_t n_inner;                   /* free layers recomputed inside the operator */
    int32_t inner[HAM_MAX_LAYERS];
    int32_t offset[HAM_MAX_LAYERS];    /* offset of a layer in the state, -1 if absent */
} hamp_layout_t;

/* ---------------------------------------------------------------- model (model.c) */

struct ham_model {
    int32_t n_layers;
    int32_t clamped;                     /* layer 0 clamped to the input */
    int32_t size[HAM_MAX_LAYERS];
    hamp_lagrangian_t lag[HAM_MAX_LAYERS];
    float *W[HAM_MAX_LAYERS];            /* W[l]: size[l] x size[l+1], l < n_layers-1 */
    float *b[HAM_MAX_LAYERS];            /* NULL for the clamped layer */
    hamp_layout_t layout[2];             /* indexed by ham_operator_t */
    int32_t default_op, default_solver;  /* solver defaults, saved in model files */
    double default_tol;
    int32_t default_max_iter;
    char msg[HAMP_MSG_LEN];
};

void hamp_layout_build(ham_model_t *m);
int hamp_layer_free(const ham_model_t *m, int32_t l);
int hamp_check_finite(const float *a, size_t n);

/* ----------------------------------------------------- evaluation workspace (eval.c) */

/* Buffers for evaluating an operator on up to `cap` rows, with up to `cap * mult_cap`
 * tangent rows. After an apply, s[l] and g[l] of every free layer the operator touched
 * hold the linearisation point that jvp/vjp use. */
typedef struct hamp_eval {
    int32_t cap, mult_cap;
    float *s[HAM_MAX_LAYERS], *g[HAM_MAX_LAYERS];
    float *ta[HAM_MAX_LAYERS], *tb[HAM_MAX_LAYERS]; /* tangent scratch */
    float *drive;   /* cap x size[1]: g_0(x) W_0 + b_1 for a clamped model */
    float *g0;      /* cap x size[0]: g_0(x), kept for energy and training */
    float *rhs;     /* cap x rhs_width: the adjoint's constant term (adjoint solvers only) */
    int32_t rhs_width;
    int have_drive, have_g0; /* drive and g0 hold rows (compaction moves only those) */
    /* Thin blocks (hamp_block_thin), arranged for thin.c by hamp_eval_pack: */
    float *pad[HAM_MAX_LAYERS]; /* the narrow product's B, rows padded to 16 floats:
                                   W_l (N_{l+1} thin) or W_l' (N_l thin) */
    float *wt[HAM_MAX_LAYERS];  /* W_l' (N_{l+1} x N_l) when N_{l+1} is thin */
    int packed;                 /* pad and wt hold the weights of the current solve */
    /* The input's deviation d = g0 - rho(0), column-compressed (input_sparse.c): */
    int32_t *nz_ptr;            /* N_0 + 1 offsets per pixel into nz_row and nz_val */
    int32_t *nz_row;            /* rows of the non-zero entries */
    float *nz_val;              /* their values */
    int32_t *nz_cur;            /* N_0 scratch */
    int32_t *nz_rptr, *nz_col;  /* the same entries by rows: offsets per row, pixels */
    float *nz_rval;             /* and values */
    float nz_c0;                /* rho(0) */
    int32_t nz_rows;            /* rows it was built for */
    int nz_valid;               /* built, and the rows not moved since */
} hamp_eval_t;

int hamp_eval_init(hamp_eval_t *e, const ham_model_t *m, int32_t cap, int32_t mult_cap);
void hamp_eval_free(hamp_eval_t *e);
/* Computes g0 and drive for rows of x (clamped models only). */
void hamp_eval_set_input(hamp_eval_t *e, const ham_model_t *m, const float *x, int32_t rows);
/* Copies the drive of rows computed in another workspace (a solve needs no g0): a copy
 * costs far less than the N_0 x N_1 product, which the trainer's solves would repeat. */
void hamp_eval_copy_drive(hamp_eval_t *e, const ham_model_t *m, const hamp_eval_t *src,
                          int32_t rows);
/* Copies the linearisation point (s and g of every free layer) of rows from another
 * workspace; the copy has no input (drive, g0): the adjoint operators never read it. */
void hamp_eval_copy_point(hamp_eval_t *e, const ham_model_t *m, const hamp_eval_t *src,
                          int32_t rows);
/* Arranges the thin blocks' weights for thin.c (once per solve: weights change between
 * solves); until then, and for workspaces never packed, products go through BLAS. */
void hamp_eval_pack(hamp_eval_t *e, const ham_model_t *m);
/* Sparse input (input_sparse.c): alloc sizes the compressed d = g0 - rho(0) for cap rows
 * in an initialised workspace (additive input Lagrangians only; only the trainer's, which
 * takes the parameter gradients); build compresses g0's rows, and returns 1, when they
 * are sparse enough; grad then sets gW0 = g0' adj (adj: rows x N_1). */
int hamp_input_sparse_alloc(hamp_eval_t *e, const ham_model_t *m, int32_t cap);
int hamp_input_sparse_build(hamp_eval_t *e, const ham_model_t *m, int32_t rows);
void hamp_input_sparse_grad(const hamp_eval_t *e, const ham_model_t *m, const float *adj,
                            int32_t rows, float *gW0);
/* Keeps rows keep[0..n) of drive and g0, moved to the front. */
void hamp_eval_compact(hamp_eval_t *e, const ham_model_t *m, const int32_t *keep, int32_t n);

/* --------------------------------------------- operators (operator*.c, vtables) */

typedef struct hamp_operator_ops hamp_operator_ops_t;

struct hamp_operator_ops {
    const char *name;
    int32_t kind;
    /* For an adjoint operator u -> J(s*)^T u + rhs: the operator it is the adjoint of. */
    const hamp_operator_ops_t *base;
    /* out = Op(s) on rows; leaves the linearisation point in e. */
    void (*apply)(const ham_model_t *m, hamp_eval_t *e, float *out, const float *s,
                  int32_t rows);
    /* out = J v and out = J^T v at the last applied point; v holds rows*mult rows. */
    void (*jvp)(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                int32_t rows, int32_t mult);
    void (*vjp)(const ham_model_t *m, hamp_eval_t *e, float *out, const float *v,
                int32_t rows, int32_t mult);
};

extern const hamp_operator_ops_t hamp_operator_sync;
extern const hamp_operator_ops_t hamp_operator_even_odd;
extern const hamp_operator_ops_t hamp_operator_sync_adjoint;
extern const hamp_operator_ops_t hamp_operator_even_odd_adjoint;
const hamp_operator_ops_t *hamp_operator_get(int32_t op);

/* The engine both operators share (operator_layered.c): a state class `state` whose
 * layers are read from s, an inner class recomputed exactly from it, and the output
 * `F_l` of every state layer from its neighbours' activations. */
void hamp_layered_inner(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                        const float *s, int32_t rows);
void hamp_layered_apply(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                        float *out, const float *s, int32_t rows);
void hamp_layered_jvp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                      float *out, const float *v, int32_t rows, int32_t mult);
void hamp_layered_vjp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                      float *out, const float *v, int32_t rows, int32_t mult);
/* Parameter gradients at the last applied point: with adjoint `lambda` (rows x dim) on the
 * operator's output, sets gW[l] = dL/dW_l and gb[l] = dL/db_l, L = <lambda, Op(s)>. */
void hamp_layered_param_vjp(const ham_model_t *m, const hamp_layout_t *lay, hamp_eval_t *e,
                            const float *lambda, int32_t rows, float **gW, float **gb);

/* --------------------------------------------------------- BLAS/LAPACK (linalg.c) */

/* C = alpha * op(A) op(B) + beta * C, row-major. */
void hamp_sgemm(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                int32_t ldc);
/* Products with a thin weight block (thin.c): one side of at most HAMP_THIN units, both
 * layers free. dst = init + src (rows x k) B, where init is NULL (zero: dst is not read),
 * dst itself (ldi = ldd), another rows x n matrix, or one row for all (ldi = 0).
 * narrow: n <= 16, B given as bpad (k x 16, padded rows). axpy: B (k x n, leading
 * dimension ldb), k small. */
#define HAMP_THIN 16
int hamp_block_thin(const ham_model_t *m, int32_t l);
void hamp_thin_narrow(int32_t rows, int32_t n, int32_t k, const float *src, int32_t lds,
                      const float *bpad, const float *init, int32_t ldi, float *dst,
                      int32_t ldd);
void hamp_thin_axpy(int32_t rows, int32_t n, int32_t k, const float *src, int32_t lds,
                    const float *b, int32_t ldb, const float *init, int32_t ldi, float *dst,
                    int32_t ldd);

/* Solves A X = B in place (A n x n, B n x nrhs, row-major doubles); 0 on success. */
int hamp_dgesv(int32_t n, int32_t nrhs, double *a, int32_t *ipiv, double *b);
/* Solves A x = b in place for one right-hand side, A n x n column-major; never allocates,
 * so solver iterations may call it. 0 on success, -1 when A is singular. */
int hamp_dgesv_small(int32_t n, double *a, int32_t *ipiv, double *b);
/* Eigenvalues (ascending) of a symmetric n x n row-major matrix, destroyed; 0 on success. */
int hamp_dsyev_values(int32_t n, double *a, double *w);

/* ----------------------------------------------------------- random numbers (rng.c) */

typedef struct hamp_rng {
    uint64_t s[4];
} hamp_rng_t;

void hamp_rng_seed(hamp_rng_t *r, uint64_t seed);
uint64_t hamp_rng_next(hamp_rng_t *r);
double hamp_rng_uniform(hamp_rng_t *r); /* [0, 1) with 53 random bits */

/* ------------------------------------------------ solver driver and backends */

typedef struct hamp_solver_ops hamp_solver_ops_t;

struct ham_step {
    ham_solver_t *solver;
    int32_t rows;
};

/* Options, stored in the solver in the order of ham_option_t. */
#define HAMP_N_OPTIONS 15
void hamp_solver_default_options(double *opt);

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
    int32_t *keep;                      /* compaction scratch */
    int64_t jvp_rows;                   /* tangent rows pushed through JVPs this solve */

    /* results of the last solve, per original sample */
    int32_t batch;
    int32_t *iters;
    double *resid;
    int32_t *status;
    ham_solve_stats_t stats;

    ham_step_t step;
    char msg[HAMP_MSG_LEN];
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

/* Evaluate G on the working rows from a backend (counts one evaluation per row). */
void hamp_solver_apply(ham_solver_t *sv, float *out, const float *s, int32_t rows);
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

/* ------------------------------------------------------------ training (trainer.c) */

/* Loss on the output layer (loss.c): returns the mean loss, writes dLoss/ds into grad
 * (rows x dim, zero outside the output slice [offset, offset + n_out)). */
double hamp_loss(float *grad, int32_t *correct, int32_t kind, const float *state, int32_t dim,
                 int32_t offset, int32_t n_out, const int32_t *labels, int32_t rows);

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

#define HAMP_N_TRAIN_OPTIONS 14
void hamp_trainer_default_options(double *opt);

struct ham_trainer {
    ham_model_t *model;
    int32_t op, kind;
    const hamp_layout_t *layout;
    ham_solver_t *fwd;                /* public: ham_trainer_solver() */
    ham_solver_t *bwd;                /* the adjoint solver, rebuilt when its kind changes */
    int32_t bwd_kind;
    double opt[HAMP_N_TRAIN_OPTIONS];
    int32_t cap;
    float *s_star, *rhs, *lambda, *scratch; /* cap x dim */
    hamp_eval_t eval;                 /* linearisation for the parameter gradients */
    float *gW[HAM_MAX_LAYERS], *gb[HAM_MAX_LAYERS];
    int have_grad;
    hamp_optimizer_t optim;
    char msg[HAMP_MSG_LEN];
};

/* Small helpers shared by backends (vec.c). */
double hamp_dot(const float *a, const float *b, int32_t n);
double hamp_nrm2(const float *a, int32_t n);
/* *diff2 = ||g - s||^2 and (g2 not NULL) *g2 = ||g||^2, in double. */
void hamp_diff_norms2(double *diff2, double *g2, const float *g, const float *s, int32_t n);
/* Moves rows keep[0..n) (increasing, keep[i] >= i) of a rows x width array to the front. */
void hamp_compact_rows(float *a, size_t width, const int32_t *keep, int32_t n);
void hamp_compact_rows_d(double *a, size_t width, const int32_t *keep, int32_t n);
void hamp_compact_rows_i(int32_t *a, size_t width, const int32_t *keep, int32_t n);

/* ------------------------------ datasets and files (dataset.c, data_*.c, model_file.c) */

/* Writes a one-line message into a caller's buffer (err may be NULL, err_len its size)
 * and returns status: how loaders, which have no handle yet, report failures. */
int hamp_errbuf(char *err, size_t err_len, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Most values (count x dim) a data file may declare. Memory is only allocated as data
 * arrives; this bounds the arithmetic and what a forged header can ask for. */
#define HAMP_DATA_MAX_VALUES ((uint64_t)1 << 32)

struct ham_dataset {
    int64_t count;
    int32_t dim;
    int32_t n_classes; /* largest label + 1; 0 without labels */
    uint8_t *u8;       /* count x dim pixels (scaled by 1/255 on the way out), or NULL */
    float *f32;        /* count x dim values, or NULL: exactly one of u8, f32 is set */
    int32_t *labels;   /* count labels in [0, INT32_MAX), or NULL */
};

/* Makes a dataset of buffers it takes over (freed on failure too). */
int hamp_dataset_wrap(ham_dataset_t **out, int64_t count, int32_t dim, uint8_t *u8, float *f32,
                      int32_t *labels);

/* A file read through zlib: gzip or raw, detected from the content (data_file.c). */
struct gzFile_s;
typedef struct hamp_rfile {
    const char *path;
    struct gzFile_s *gz;
    int direct;    /* 1: a raw file, whose size bounds what a header may claim */
    uint64_t size; /* bytes on disk */
    uint64_t pos;  /* (decompressed) bytes read so far */
    char *err;     /* the caller's message buffer */
    size_t err_len;
} hamp_rfile_t;

int hamp_rfile_open(hamp_rfile_t *f, const char *path, char *err, size_t err_len);
/* Reads exactly len bytes (HAM_ERR_FORMAT "truncated" if the data ends first). */
int hamp_rfile_read(hamp_rfile_t *f, void *buf, size_t len, const char *what);
/* Reads a declared body of len bytes into a new malloc'd buffer: checked against a raw
 * file's size first, grown as data arrives from a gzip stream. */
int hamp_rfile_read_body(hamp_rfile_t *f, void **out, uint64_t len, const char *what);
/* HAM_ERR_FORMAT if data follows; also makes zlib verify a gzip trailer. */
int hamp_rfile_expect_end(hamp_rfile_t *f);
void hamp_rfile_close(hamp_rfile_t *f); /* no-op on a closed or failed-to-open file */

/* Little-endian byte order, whatever the host's. */
static inline uint16_t hamp_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t hamp_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t hamp_le64(const unsigned char *p)
{
    return (uint64_t)hamp_le32(p) | (uint64_t)hamp_le32(p + 4) << 32;
}
static inline void hamp_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline void hamp_put_le64(unsigned char *p, uint64_t v)
{
    hamp_put_le32(p, (uint32_t)v);
    hamp_put_le32(p + 4, (uint32_t)(v >> 32));
}
/* Floats read as little-endian bytes to host order, in place (nothing to do on LE). */
void hamp_le_floats(float *x, size_t n);

#endif /* HAMDEQ_PRIVATE_H */
