/* Layer core: the model, its Lagrangians, state layouts and the evaluation workspace.
 * Builds on common only. Nothing here is ABI. */
#ifndef HAMDEQ_CORE_PRIVATE_H
#define HAMDEQ_CORE_PRIVATE_H

#include <stdatomic.h>

#include "common/common_private.h"

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

/* A custom Lagrangian's user data and its destructor, shared by every layer copy made of
 * one registration (model clones copy layers): destroy(user) runs once, when the last copy
 * lets go. The count is atomic because clones may be freed on different threads. */
typedef struct hamp_user_ref {
    atomic_size_t refs;
    void *user;
    void (*destroy)(void *user);
} hamp_user_ref_t;

struct hamp_lagrangian {
    const hamp_lagrangian_ops_t *ops;
    int32_t kind;
    double beta;                 /* softmax inverse temperature */
    ham_lagrangian_def_t custom; /* copy of the user's definition (kind CUSTOM) */
    hamp_user_ref_t *owner;      /* holder of custom.user, NULL when custom.destroy is */
};

/* Makes a custom Lagrangian from a checked definition; *lag is untouched on failure
 * (HAM_ERR_NOMEM: the holder of the user data could not be allocated). */
int hamp_lagrangian_custom_init(hamp_lagrangian_t *lag, const ham_lagrangian_def_t *def);
/* One more layer copy shares lag's user data (a clone's copy of the layer). */
void hamp_lagrangian_retain(const hamp_lagrangian_t *lag);
/* The layer lets go of its Lagrangian (destroying the user data with the last copy);
 * *lag is left zeroed. */
void hamp_lagrangian_release(hamp_lagrangian_t *lag);

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
    atomic_size_t refs;                  /* holders: the caller's, solvers', trainers' */
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
};

void hamp_layout_build(ham_model_t *m);
/* Length of the full (synchronous) state of a model with these layers: the sum of the
 * free layers' sizes, which bounds the even-odd state too. ham_model_new refuses more
 * than INT32_MAX. */
int64_t hamp_state_len(const int32_t *sizes, int32_t n_layers, int clamped);
/* Take and drop one reference to a model, for the handles that hold it (solvers,
 * trainers): the same as ham_model_ref() and ham_model_free(), on a const pointer. */
const ham_model_t *hamp_model_retain(const ham_model_t *m);
void hamp_model_release(const ham_model_t *m);
int hamp_layer_free(const ham_model_t *m, int32_t l);

/* The first published size of ham_lagrangian_def_t: smaller sizes are refused. */
#define HAMP_LAGRANGIAN_DEF_V1                                                              \
    (offsetof(ham_lagrangian_def_t, destroy) + sizeof(void (*)(void *)))

/* 1 for an operator the model keeps a layout for (::ham_operator_t). */
static inline int hamp_operator_valid(int32_t op)
{
    return op == HAM_OPERATOR_SYNC || op == HAM_OPERATOR_EVEN_ODD;
}
/* 1 for a built-in solver kind: the model's saved defaults name one (the solver layer,
 * above this one, implements them). */
static inline int hamp_solver_kind_valid(int32_t kind)
{
    return kind >= HAM_SOLVER_PICARD && kind <= HAM_SOLVER_NEWTON;
}
/* Weights in block l (N_l x N_{l+1}). */
size_t hamp_block_len(const ham_model_t *m, int32_t l);
/* 1 when weight block l has a thin side and both its layers are free (thin.c kernels). */
int hamp_block_thin(const ham_model_t *m, int32_t l);

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
} hamp_eval_t;

int hamp_eval_init(hamp_eval_t *e, const ham_model_t *m, int32_t cap, int32_t mult_cap);
void hamp_eval_free(hamp_eval_t *e);
/* Computes g0 and drive for rows of x (clamped models only). _serial: on the calling
 * thread only (hamp_sgemm_serial), for a worker thread that solves a chunk. */
void hamp_eval_set_input(hamp_eval_t *e, const ham_model_t *m, const float *x, int32_t rows);
void hamp_eval_set_input_serial(hamp_eval_t *e, const ham_model_t *m, const float *x,
                                int32_t rows);
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
/* Keeps rows keep[0..n) of drive and g0, moved to the front. */
void hamp_eval_compact(hamp_eval_t *e, const ham_model_t *m, const int32_t *keep, int32_t n);

#endif /* HAMDEQ_CORE_PRIVATE_H */
