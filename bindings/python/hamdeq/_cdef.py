"""C declarations of the libhamdeq 0.1 public API, for cffi's ABI mode.

Written by hand from include/hamdeq/*.h (without comments, HAM_API and the include
guards). tests/test_cdef.py preprocesses the real headers with the C compiler at test time
and fails when a prototype, a struct layout or an enum value here differs from them, or
when a function exported by lib/hamdeq.map is missing.
"""

CDEF = r"""
/* common.h */
typedef enum ham_status {
    HAM_OK = 0,
    HAM_ERR_NULL = -1,
    HAM_ERR_INVALID = -2,
    HAM_ERR_DIMENSION = -3,
    HAM_ERR_NOMEM = -4,
    HAM_ERR_NONFINITE = -5,
    HAM_ERR_UNKNOWN_LAGRANGIAN = -6,
    HAM_ERR_UNKNOWN_SOLVER = -7,
    HAM_ERR_UNKNOWN_OPERATOR = -8,
    HAM_ERR_UNKNOWN_OPTION = -9,
    HAM_ERR_UNSUPPORTED = -10,
    HAM_ERR_STRUCT_SIZE = -11,
    HAM_ERR_CANCELLED = -12,
    HAM_ERR_NUMERIC = -13,
    HAM_ERR_CALLBACK = -14,
    HAM_ERR_IO = -15,
    HAM_ERR_FORMAT = -16
} ham_status_t;

const char *ham_strerror(int status);
const char *ham_status_name(int status);
const char *ham_last_error(void);
uint32_t ham_version(void);
const char *ham_version_string(void);

/* lagrangian.h */
typedef enum ham_lagrangian_kind {
    HAM_LAGRANGIAN_SHIFTED_SIGMOID = 0,
    HAM_LAGRANGIAN_SIGMOID = 1,
    HAM_LAGRANGIAN_TANH = 2,
    HAM_LAGRANGIAN_IDENTITY = 3,
    HAM_LAGRANGIAN_SOFTMAX = 4,
    HAM_LAGRANGIAN_CUSTOM = 100
} ham_lagrangian_kind_t;

typedef struct ham_lagrangian_def {
    uint32_t size;
    uint32_t flags;
    const char *name;
    double (*value)(const float *s, int32_t n, void *user);
    void (*activation)(float *g, const float *s, int32_t n, void *user);
    void (*hvp)(float *out, const float *s, const float *g, const float *v, int32_t n, void *user);
    void *user;
    void (*destroy)(void *user);
} ham_lagrangian_def_t;

const char *ham_lagrangian_name(int32_t kind);
int ham_lagrangian_from_name(int32_t *kind, const char *name);

/* model.h */
typedef struct ham_model ham_model_t;

#define HAM_MAX_LAYERS 64

typedef enum ham_model_flags {
    HAM_MODEL_FREE_INPUT = 0,
    HAM_MODEL_CLAMPED_INPUT = 1
} ham_model_flags_t;

typedef enum ham_operator {
    HAM_OPERATOR_SYNC = 0,
    HAM_OPERATOR_EVEN_ODD = 1
} ham_operator_t;

int ham_model_new(ham_model_t **model, int32_t n_layers, const int32_t *sizes, uint32_t flags);
ham_model_t *ham_model_ref(ham_model_t *model);
void ham_model_free(ham_model_t *model);
int ham_model_clone(ham_model_t **out, const ham_model_t *model);
int32_t ham_model_n_layers(const ham_model_t *model);
int32_t ham_model_layer_size(const ham_model_t *model, int32_t layer);
int32_t ham_model_has_clamped_input(const ham_model_t *model);
int ham_model_set_lagrangian(ham_model_t *model, int32_t layer, int32_t kind, double param);
int ham_model_set_custom_lagrangian(ham_model_t *model, int32_t layer,
                                    const ham_lagrangian_def_t *def);
int ham_model_get_lagrangian(int32_t *kind, double *param, const ham_model_t *model,
                             int32_t layer);
int ham_model_init_xavier(ham_model_t *model, uint64_t seed);
int ham_model_get_weights(float *out, const ham_model_t *model, int32_t block, size_t count);
int ham_model_set_weights(ham_model_t *model, int32_t block, const float *w, size_t count);
int ham_model_get_bias(float *out, const ham_model_t *model, int32_t layer, size_t count);
int ham_model_set_bias(ham_model_t *model, int32_t layer, const float *b, size_t count);
int ham_model_state_dim(int32_t *dim, const ham_model_t *model, int32_t op);
int ham_model_state_offset(int32_t *offset, const ham_model_t *model, int32_t op, int32_t layer);
int ham_model_apply(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                    const float *x, const float *s);
int ham_model_jvp(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                  const float *x, const float *s, const float *v);
int ham_model_vjp(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                  const float *x, const float *s, const float *v);
int ham_model_energy(double *energy, const ham_model_t *model, int32_t batch, const float *x,
                     const float *full);
int ham_model_eo_to_full(float *full, const ham_model_t *model, int32_t batch, const float *x,
                         const float *eo);
int ham_model_full_to_eo(float *eo, const ham_model_t *model, int32_t batch, const float *full);
int ham_model_set_defaults(ham_model_t *model, int32_t op, int32_t solver, double tol,
                           int32_t max_iter);
int ham_model_get_defaults(int32_t *op, int32_t *solver, double *tol, int32_t *max_iter,
                           const ham_model_t *model);
int ham_model_save(const ham_model_t *model, const char *path);
int ham_model_load(ham_model_t **model, const char *path);
int ham_model_save_buffer(void *buf, size_t *size, const ham_model_t *model);
int ham_model_load_buffer(ham_model_t **model, const void *buf, size_t size);

/* solver.h */
typedef struct ham_solver ham_solver_t;

typedef enum ham_solver_kind {
    HAM_SOLVER_PICARD = 0,
    HAM_SOLVER_ANDERSON = 1,
    HAM_SOLVER_BROYDEN = 2,
    HAM_SOLVER_NEWTON = 3,
    HAM_SOLVER_CUSTOM = 100
} ham_solver_kind_t;

typedef enum ham_option {
    HAM_OPT_TOL = 0,
    HAM_OPT_MAX_ITER = 1,
    HAM_OPT_WARM_START = 2,
    HAM_OPT_DT = 3,
    HAM_OPT_ANDERSON_M = 4,
    HAM_OPT_ANDERSON_BETA = 5,
    HAM_OPT_ANDERSON_LAMBDA = 6,
    HAM_OPT_ANDERSON_SAFEGUARD = 7,
    HAM_OPT_BROYDEN_M = 8,
    HAM_OPT_NEWTON_LINESEARCH = 9,
    HAM_OPT_NEWTON_MAX_DIM = 10,
    HAM_OPT_DIVERGENCE = 11,
    HAM_OPT_NEWTON_KRYLOV_DIM = 12,
    HAM_OPT_NEWTON_FORCING = 13,
    HAM_OPT_FIXED_ITERS = 14,
    HAM_OPT_ATOL = 15,
    HAM_OPT_ATTRACTOR_SAFE = 16,
    HAM_OPT_STABILITY_CHECK = 17,
    HAM_OPT_THREADS = 18
} ham_option_t;

typedef enum ham_sample_status {
    HAM_SAMPLE_CONVERGED = 0,
    HAM_SAMPLE_MAX_ITER = 1,
    HAM_SAMPLE_DIVERGED = 2,
    HAM_SAMPLE_UNSTABLE = 3
} ham_sample_status_t;

typedef struct ham_solve_stats {
    uint32_t size;
    int32_t samples;
    int32_t converged;
    int32_t not_converged;
    int32_t diverged;
    int32_t iters_max;
    double iters_mean;
    int64_t evaluations;
    int64_t jacobian_products;
    int32_t unstable;
    int32_t rejected_steps;
} ham_solve_stats_t;

typedef struct ham_iter_info {
    uint32_t size;
    int32_t iteration;
    int32_t active;
    const int32_t *sample;
    const double *residual;
    const int32_t *iterations;
    int32_t dim;
    const float *state;
    const float *output;
} ham_iter_info_t;

typedef int (*ham_iter_callback_t)(const ham_iter_info_t *info, void *user);

typedef struct ham_conv_info {
    uint32_t size;
    int32_t sample;
    int32_t iterations;
    int32_t dim;
    const float *state;
    const float *output;
    double residual_norm;
    double output_norm;
    double tol;
    double atol;
} ham_conv_info_t;

typedef int (*ham_conv_test_t)(const ham_conv_info_t *info, void *user);

typedef struct ham_step ham_step_t;

typedef struct ham_solver_def {
    uint32_t size;
    uint32_t flags;
    const char *name;
    int (*init)(void **state, int32_t dim, int32_t max_rows, void *user);
    void (*fini)(void *state, void *user);
    int (*reset)(void *state, int32_t rows, void *user);
    int (*step)(void *state, ham_step_t *step, float *s, float *gs, int32_t rows, void *user);
    void (*compact)(void *state, const int32_t *keep, int32_t n_keep, void *user);
    void *user;
    void (*destroy)(void *user);
} ham_solver_def_t;

int ham_step_apply(ham_step_t *step, float *out, const float *s);
int32_t ham_step_rows(const ham_step_t *step);
int32_t ham_step_dim(const ham_step_t *step);

int ham_solver_new(ham_solver_t **solver, const ham_model_t *model, int32_t op, int32_t kind);
int ham_solver_new_custom(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                          const ham_solver_def_t *def);
void ham_solver_free(ham_solver_t *solver);
const char *ham_solver_kind_name(int32_t kind);
int ham_solver_kind_from_name(int32_t *kind, const char *name);
const char *ham_operator_name(int32_t op);
int ham_operator_from_name(int32_t *op, const char *name);
int ham_solver_option_info(double *def, double *min, double *max, int32_t option);
int ham_solver_set_option(ham_solver_t *solver, int32_t option, double value);
int ham_solver_get_option(double *value, const ham_solver_t *solver, int32_t option);
int ham_solver_set_callback(ham_solver_t *solver, ham_iter_callback_t callback, void *user);
int ham_solver_set_conv_test(ham_solver_t *solver, ham_conv_test_t test, void *user);
const ham_model_t *ham_solver_model(const ham_solver_t *solver);
int32_t ham_solver_kind(const ham_solver_t *solver);
int32_t ham_solver_operator(const ham_solver_t *solver);
int ham_solver_solve(ham_solver_t *solver, float *state, int32_t batch, const float *x);
int ham_solver_get_stats(ham_solve_stats_t *stats, const ham_solver_t *solver);
int ham_solver_get_samples(int32_t *iterations, double *residual, int32_t *status,
                           const ham_solver_t *solver, int32_t batch);

/* trainer.h */
typedef struct ham_trainer ham_trainer_t;

typedef enum ham_loss {
    HAM_LOSS_MSE = 0,
    HAM_LOSS_CROSS_ENTROPY = 1
} ham_loss_t;

typedef enum ham_optimizer {
    HAM_OPTIMIZER_SGD = 0,
    HAM_OPTIMIZER_ADAM = 1,
    HAM_OPTIMIZER_MADAM = 2
} ham_optimizer_t;

typedef enum ham_gradient {
    HAM_GRADIENT_IMPLICIT = 0,
    HAM_GRADIENT_RECURRENT = 1
} ham_gradient_t;

typedef enum ham_train_option {
    HAM_TRAIN_LOSS = 0,
    HAM_TRAIN_OPTIMIZER = 1,
    HAM_TRAIN_LR = 2,
    HAM_TRAIN_MOMENTUM = 3,
    HAM_TRAIN_ADAM_BETA1 = 4,
    HAM_TRAIN_ADAM_BETA2 = 5,
    HAM_TRAIN_ADAM_EPS = 6,
    HAM_TRAIN_MADAM_SCALE = 7,
    HAM_TRAIN_MADAM_GBOUND = 8,
    HAM_TRAIN_MADAM_BIASES = 9,
    HAM_TRAIN_GRADIENT = 10,
    HAM_TRAIN_BACKWARD_SOLVER = 11,
    HAM_TRAIN_BACKWARD_ITERS = 12,
    HAM_TRAIN_BACKWARD_TOL = 13,
    HAM_TRAIN_THREADS = 14
} ham_train_option_t;

int ham_trainer_new(ham_trainer_t **trainer, ham_model_t *model, int32_t op, int32_t kind);
void ham_trainer_free(ham_trainer_t *trainer);
ham_solver_t *ham_trainer_solver(ham_trainer_t *trainer);
int ham_trainer_option_info(double *def, double *min, double *max, int32_t option);
int ham_trainer_set_option(ham_trainer_t *trainer, int32_t option, double value);
int ham_trainer_get_option(double *value, const ham_trainer_t *trainer, int32_t option);
int ham_trainer_gradient(ham_trainer_t *trainer, double *loss, int32_t *correct, int32_t batch,
                         const float *x, const int32_t *labels);
int ham_trainer_step(ham_trainer_t *trainer, double *loss, int32_t *correct, int32_t batch,
                     const float *x, const int32_t *labels);
int ham_trainer_get_weight_grad(float *out, const ham_trainer_t *trainer, int32_t block,
                                size_t count);
int ham_trainer_get_bias_grad(float *out, const ham_trainer_t *trainer, int32_t layer,
                              size_t count);
typedef int (*ham_reduce_fn)(float *grad, size_t len, double *counts, int32_t n_counts,
                             void *user);

int ham_trainer_set_reduce(ham_trainer_t *trainer, ham_reduce_fn fn, void *user);
int ham_trainer_backward_stats(ham_solve_stats_t *stats, const ham_trainer_t *trainer);

/* data.h */
typedef struct ham_dataset ham_dataset_t;

typedef struct ham_load_options {
    uint32_t size;
    uint32_t flags;
    uint64_t max_bytes;
} ham_load_options_t;

int ham_dataset_load_idx(ham_dataset_t **dataset, const char *images, const char *labels,
                         const ham_load_options_t *options);
int ham_dataset_load_npy(ham_dataset_t **dataset, const char *samples, const char *labels,
                         const ham_load_options_t *options);
int ham_dataset_load_dir(ham_dataset_t **dataset, const char *dir, const char *split,
                         const ham_load_options_t *options);
void ham_dataset_free(ham_dataset_t *dataset);
int64_t ham_dataset_count(const ham_dataset_t *dataset);
int32_t ham_dataset_dim(const ham_dataset_t *dataset);
int32_t ham_dataset_has_labels(const ham_dataset_t *dataset);
int32_t ham_dataset_n_classes(const ham_dataset_t *dataset);
int ham_dataset_get(float *x, int32_t *labels, const ham_dataset_t *dataset, int64_t first,
                    int32_t count);
int ham_dataset_gather(float *x, int32_t *labels, const ham_dataset_t *dataset,
                       const int64_t *indices, int32_t count);

/* mhn.h */
int ham_mhn_new(ham_model_t **model, const float *patterns, int32_t n_patterns, int32_t dim,
                double beta);
int ham_mhn_energy(double *energy, const ham_model_t *model, int32_t batch, const float *v);
int ham_mhn_beta_s(double *beta_s, const float *patterns, int32_t n_patterns, int32_t dim);
int ham_mhn_hessian_min(double *lambda_min, const ham_model_t *model, int32_t batch,
                        const float *v);

typedef struct ham_mhn_minima {
    uint32_t size;
    int32_t starts;
    int32_t converged;
    int32_t minima;
    int32_t saddles;
    int32_t mean_attractor;
    int32_t mean_basin;
    int32_t iters_max;
    double iters_mean;
} ham_mhn_minima_t;

int ham_mhn_find_minima(ham_mhn_minima_t *result, float *minima, int32_t capacity,
                        int32_t *assign, ham_solver_t *solver, const float *starts,
                        int32_t n_starts, double cluster_tol);
"""

# Object-like macros of the headers that cffi's cdef cannot hold (a cast) or that are
# only compile-time facts; tests/test_cdef.py checks them against the preprocessor.
HAM_MAX_LAYERS = 64
HAM_LOAD_DEFAULT_MAX_BYTES = 1 << 31
# The API level these declarations describe (the version node of lib/hamdeq.map).
API_MAJOR = 0
API_MINOR = 1
