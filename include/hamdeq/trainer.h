/**
 * @file trainer.h
 * @brief ham_trainer_t: training a HAM through its fixed point (docs/math.md section 5).
 *
 * Each step solves the forward fixed point `s* = G(s*)` (or `F`) on a batch, takes the
 * loss on the output layer, solves the adjoint fixed point
 * `lambda = J(s*)^T lambda + dLoss/ds*`, forms `dLoss/dtheta = (dG/dtheta)^T lambda`
 * with BLAS, and updates the model's weights and biases with the chosen optimiser.
 *
 * The trainer holds a reference to the model (ham_model_ref()) and modifies it; nothing
 * else may use the model while a step runs. The model and the trainer may be freed in
 * either order. With one BLAS thread a training run is bit-for-bit reproducible.
 */
#ifndef HAMDEQ_TRAINER_H
#define HAMDEQ_TRAINER_H

#include "common.h"
#include "model.h"
#include "solver.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque trainer handle. */
typedef struct ham_trainer ham_trainer_t;

/** Losses on the output layer `s_y` (`B` samples, one-hot targets `y`). Values pinned. */
typedef enum ham_loss {
    HAM_LOSS_MSE = 0,          /**< `0.5 sum (s_y - y)^2 / B` (the paper's) */
    HAM_LOSS_CROSS_ENTROPY = 1 /**< `-sum log softmax(s_y)[label] / B` */
} ham_loss_t;

/** Optimisers. Values pinned. */
typedef enum ham_optimizer {
    HAM_OPTIMIZER_SGD = 0,  /**< SGD with (heavy-ball) momentum */
    HAM_OPTIMIZER_ADAM = 1, /**< Adam (Kingma & Ba 2015) */
    HAM_OPTIMIZER_MADAM = 2 /**< Madam (Bernstein et al. 2020), as the paper used it */
} ham_optimizer_t;

/** How gradients are formed. Values pinned. */
typedef enum ham_gradient {
    /** Implicit differentiation: the adjoint fixed point solved by the backward solver. */
    HAM_GRADIENT_IMPLICIT = 0,
    /** Recurrent backpropagation (Almeida-Pineda): `lambda <- J^T lambda + dLoss/ds*`
     *  from `lambda = dLoss/ds*`, a fixed number of Picard steps, no acceleration. */
    HAM_GRADIENT_RECURRENT = 1
} ham_gradient_t;

/**
 * Trainer options, set with ham_trainer_set_option(). Values pinned; defaults and
 * bounds from ham_trainer_option_info(). The forward solver's own options (tolerance,
 * iterations, Anderson memory, ...) are set on ham_trainer_solver().
 */
typedef enum ham_train_option {
    HAM_TRAIN_LOSS = 0,            /**< ::ham_loss_t; default MSE */
    HAM_TRAIN_OPTIMIZER = 1,       /**< ::ham_optimizer_t; default MADAM */
    HAM_TRAIN_LR = 2,              /**< learning rate; default 0.01, (0, 10] */
    HAM_TRAIN_MOMENTUM = 3,        /**< SGD momentum; default 0.9, [0, 1) */
    HAM_TRAIN_ADAM_BETA1 = 4,      /**< default 0.9, [0, 1) */
    HAM_TRAIN_ADAM_BETA2 = 5,      /**< default 0.999, [0, 1); also Madam's EMA of g^2 */
    HAM_TRAIN_ADAM_EPS = 6,        /**< default 1e-8, [0, 1] */
    HAM_TRAIN_MADAM_SCALE = 7,     /**< weights bounded by this x their initial RMS; 1024 */
    HAM_TRAIN_MADAM_GBOUND = 8,    /**< normalised gradient clipped to +-this; default 10 */
    HAM_TRAIN_MADAM_BIASES = 9,    /**< biases under Madam: 0 frozen (the paper: a
                                        multiplicative update never moves a zero), 1 an
                                        additive normalised step (lr * clip(g / rms)); default 0 */
    HAM_TRAIN_GRADIENT = 10,       /**< ::ham_gradient_t; default IMPLICIT */
    HAM_TRAIN_BACKWARD_SOLVER = 11,/**< ::ham_solver_kind_t for the adjoint (PICARD,
                                        ANDERSON or BROYDEN), or -1 (default): the forward
                                        solver's kind when it is one of those, else ANDERSON */
    HAM_TRAIN_BACKWARD_ITERS = 12, /**< adjoint iterations; default 8 (the paper's), [1, 1e6] */
    HAM_TRAIN_BACKWARD_TOL = 13,   /**< 0: run exactly BACKWARD_ITERS; > 0: stop each sample
                                        at this relative residual (BACKWARD_ITERS is then a
                                        cap); default 0, [0, 1) */
    HAM_TRAIN_THREADS = 14         /**< threads a step's forward and adjoint solves split
                                        the batch over (::HAM_OPT_THREADS, whose rules
                                        apply), and the optimiser's update its parameters
                                        over (parts of at least 32768; elementwise, so the
                                        same values as one pass); the parameter gradients
                                        stay on the calling thread and BLAS's. 0: the machine's
                                        online cores; default 1, [0, 256]. Setting it also
                                        sets ::HAM_OPT_THREADS of ham_trainer_solver() to
                                        the same value; setting that option on that solver
                                        afterwards changes the forward solves only (the
                                        adjoint solves keep this one). */
} ham_train_option_t;

/**
 * @brief Creates a trainer for `model` whose forward solves use operator `op` and solver
 * `kind` (see ham_solver_new()).
 *
 * The trainer takes a reference to the model, dropped by ham_trainer_free(); steps modify
 * the model in place, and every other holder sees the change.
 * @param[out] trainer the new trainer; NULL on failure
 * @param model the model to train (clamped input)
 * @param op ::HAM_OPERATOR_SYNC or ::HAM_OPERATOR_EVEN_ODD
 * @param kind a built-in ::ham_solver_kind_t for the forward solves
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPERATOR, ::HAM_ERR_UNKNOWN_SOLVER,
 *   ::HAM_ERR_UNSUPPORTED (a model without a clamped input: there is nothing to train on),
 *   ::HAM_ERR_NOMEM.
 */
HAM_API int ham_trainer_new(ham_trainer_t **trainer, ham_model_t *model, int32_t op,
                            int32_t kind);

/**
 * @brief Frees a trainer and its solvers, and drops its reference to the model (which is
 * freed if that was the last); NULL is a no-op.
 * @param trainer the trainer, or NULL
 */
HAM_API void ham_trainer_free(ham_trainer_t *trainer);

/**
 * @brief The forward solver, to set its options and read its stats.
 *
 * The pointer is **borrowed**: it stays valid exactly until ham_trainer_free(trainer),
 * and the same pointer is returned on every call. The caller must not pass it to
 * ham_solver_free() and must not use it after the trainer is freed; a binding that wraps
 * it keeps the trainer's wrapper alive as long as the solver's. It holds its own
 * reference to the model, so freeing the model does not invalidate it.
 * @param trainer the trainer
 * @return the trainer's solver; NULL for NULL (not an error: ham_last_error() is left as
 *   it was).
 */
HAM_API ham_solver_t *ham_trainer_solver(ham_trainer_t *trainer);

/**
 * @brief Default and bounds of a trainer option (any pointer may be NULL). Thread-safe:
 * it reads a static table.
 * @param[out] def the default value (may be NULL)
 * @param[out] min the lower bound (may be NULL)
 * @param[out] max the upper bound (may be NULL); whether a bound is open or closed is in
 *   the table of docs/api.md
 * @param option a ::ham_train_option_t
 * @return ::HAM_OK or ::HAM_ERR_UNKNOWN_OPTION.
 */
HAM_API int ham_trainer_option_info(double *def, double *min, double *max, int32_t option);

/**
 * @brief Sets a trainer option; it applies from the next step. Changing the optimiser
 * resets its state. On failure the option keeps its value.
 * @param trainer the trainer
 * @param option a ::ham_train_option_t
 * @param value the new value, within the option's bounds (ham_trainer_option_info());
 *   integral for an integer option (the enum-valued ones included)
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPTION, ::HAM_ERR_INVALID (out of
 *   bounds, NaN, or not integral for an integer option).
 */
HAM_API int ham_trainer_set_option(ham_trainer_t *trainer, int32_t option, double value);

/**
 * @brief Reads a trainer option.
 * @param[out] value the option's current value
 * @param trainer the trainer
 * @param option a ::ham_train_option_t
 * @return ::HAM_OK, ::HAM_ERR_NULL (`value` or `trainer`), ::HAM_ERR_UNKNOWN_OPTION.
 */
HAM_API int ham_trainer_get_option(double *value, const ham_trainer_t *trainer, int32_t option);

/**
 * @brief Computes the loss and the gradient of every weight block and bias on a batch,
 * without changing the model (read them with ham_trainer_get_weight_grad() and
 * ham_trainer_get_bias_grad()).
 * @param trainer the trainer
 * @param[out] loss the mean loss over the batch (may be NULL)
 * @param[out] correct samples whose `argmax s_y` is their label (may be NULL)
 * @param batch samples, > 0; with a reduction set, also 0: this process holds no sample
 *   of the global batch (`x` and `labels` may be NULL) and contributes zeros and count 0
 * @param x `batch x N_0` inputs
 * @param labels `batch` class indices in `[0, N_{L-1})`
 * With a reduction set (ham_trainer_set_reduce()) the loss, the count and the gradient
 * are global, and a failure on any process fails the call everywhere (a process that
 * cannot produce its batch still calls, with `batch` -1, and so fails the step on every
 * process instead of leaving them waiting).
 * @return ::HAM_OK, ::HAM_ERR_NULL (`trainer`, `x` or `labels`), ::HAM_ERR_INVALID
 *   (batch, a label out of range), ::HAM_ERR_NOMEM, ::HAM_ERR_NUMERIC (the loss is not
 *   finite because samples diverged in the forward solve, or the adjoint diverged), or
 *   the forward solve's error as ham_solver_solve() returns it: ::HAM_ERR_NONFINITE (NaN
 *   or infinity in `x`), ::HAM_ERR_CANCELLED (the iteration callback of
 *   ham_trainer_solver()), a convergence test's status or ::HAM_ERR_CALLBACK (also: the reduction failed, or
 *   another process did). After a
 *   failure there is no gradient to read until the next successful call.
 */
HAM_API int ham_trainer_gradient(ham_trainer_t *trainer, double *loss, int32_t *correct,
                                 int32_t batch, const float *x, const int32_t *labels);

/**
 * @brief One training step: ham_trainer_gradient(), then one optimiser update of the model's
 * weights and biases (only when the gradient succeeded: a failed step leaves the model as
 * it was).
 * @param trainer the trainer
 * @param[out] loss the mean loss over the batch before the update (may be NULL)
 * @param[out] correct samples whose `argmax s_y` is their label, before the update (may be
 *   NULL)
 * @param batch samples, > 0 (or 0 with a reduction set: see ham_trainer_gradient())
 * @param x `batch x N_0` inputs
 * @param labels `batch` class indices in `[0, N_{L-1})`
 * @return as ham_trainer_gradient().
 */
HAM_API int ham_trainer_step(ham_trainer_t *trainer, double *loss, int32_t *correct,
                             int32_t batch, const float *x, const int32_t *labels);

/**
 * @brief Gradient of weight block `block` from the last successful ham_trainer_gradient()
 * or ham_trainer_step().
 * @param[out] out `count` floats, row-major like the block
 * @param trainer the trainer
 * @param block the block, `0 .. n_layers-2`
 * @param count number of floats in `out`; must equal `N_block * N_{block+1}`
 * @return ::HAM_OK, ::HAM_ERR_NULL (`out` or `trainer`), ::HAM_ERR_INVALID (block out of
 *   range, or no gradient: none computed yet, or the last call failed),
 *   ::HAM_ERR_DIMENSION (count).
 */
HAM_API int ham_trainer_get_weight_grad(float *out, const ham_trainer_t *trainer, int32_t block,
                                        size_t count);

/**
 * @brief Gradient of the bias of free layer `layer` from the last successful
 * ham_trainer_gradient() or ham_trainer_step().
 * @param[out] out `count` floats
 * @param trainer the trainer
 * @param layer a free layer (not the clamped input layer)
 * @param count number of floats in `out`; must equal the layer's size
 * @return ::HAM_OK, ::HAM_ERR_NULL (`out` or `trainer`), ::HAM_ERR_INVALID (layer out of
 *   range or without a bias, or no gradient: none computed yet, or the last call failed),
 *   ::HAM_ERR_DIMENSION (count).
 */
HAM_API int ham_trainer_get_bias_grad(float *out, const ham_trainer_t *trainer, int32_t layer,
                                      size_t count);

/**
 * A gradient reduction across processes (data-parallel training, docs/distributed.md),
 * set with ham_trainer_set_reduce(). It must replace `grad[0 .. len)` and
 * `counts[0 .. n_counts)` in place by their element-wise sums over every process taking
 * part, each process receiving the same sums, and return 0; any other value fails the
 * step with ::HAM_ERR_CALLBACK. It is called twice per ham_trainer_gradient() or
 * ham_trainer_step(), in the same order on every process:
 *  1. before the solves, with `grad` NULL and `len` 0: the trainer learns the global
 *     batch, by which every process then scales its loss, so that the summed gradients
 *     are the mean over the global batch;
 *  2. after the gradient, with the flat gradient: every weight block `W_0 .. W_{L-2}`
 *     (each as ham_model_get_weights() lays it out), then the bias of every layer that
 *     has one, in layer order (as ham_model_get_bias()); `len` is their total length.
 *
 * Both calls pass `n_counts` = 4 doubles: `counts[0]` the sum of the per-sample losses,
 * `counts[1]` the samples classified correctly, `counts[2]` the samples, `counts[3]` 1 if
 * this process failed in this step (its message is in its ham_last_error()), else 0; in
 * the first call `counts[0]` and `counts[1]` are 0. When the summed failures are
 * non-zero every process fails the step (a process that did not fail returns
 * ::HAM_ERR_CALLBACK), so a failure never leaves the others waiting in the reduction.
 * With MPI: `MPI_Allreduce(MPI_IN_PLACE, ...)` with `MPI_SUM` on `MPI_FLOAT` and
 * `MPI_DOUBLE` (tools/mpi/hamdeq_mpi.c).
 * @param grad the flat gradient, or NULL in the first call
 * @param len floats in grad (0 in the first call)
 * @param counts the step's counters, summed in place
 * @param n_counts doubles in counts (4)
 * @param user the pointer given to ham_trainer_set_reduce()
 * @return 0 on success, anything else on failure
 */
typedef int (*ham_reduce_fn)(float *grad, size_t len, double *counts, int32_t n_counts,
                             void *user);

/**
 * @brief Sets (or, with `fn` NULL, removes) the gradient reduction of data-parallel
 * training: every later ham_trainer_gradient() and ham_trainer_step() passes its
 * gradient and counters through `fn` (see ::ham_reduce_fn) before the optimiser, and
 * reports global figures: `loss` the mean over the global batch, `correct` the global
 * count, and the gradients read by ham_trainer_get_weight_grad() the global mean.
 *
 * With every process holding the same model and options, P processes whose batches
 * together form one global batch of B samples take the same step as one process on that
 * batch, up to the order of float sums. A process may hold none of them (batch 0, when
 * B < P); the step fails everywhere only when the global batch is empty. With a single process (a reduction that leaves
 * its arguments unchanged) a step is bit-for-bit the step without a reduction.
 * @param trainer the trainer
 * @param fn the reduction, or NULL to train on the local batch alone
 * @param user passed to fn as its last argument
 * @return ::HAM_OK, ::HAM_ERR_NULL (trainer), ::HAM_ERR_NOMEM (the flat gradient buffer).
 */
HAM_API int ham_trainer_set_reduce(ham_trainer_t *trainer, ham_reduce_fn fn, void *user);

/**
 * @brief Statistics of the last adjoint solve (size-prefixed, like the forward's, which
 * ham_solver_get_stats() of ham_trainer_solver() gives).
 * @param[in,out] stats `stats->size` set by the caller to `sizeof(ham_solve_stats_t)`
 * @param trainer the trainer
 * @return ::HAM_OK, ::HAM_ERR_NULL (`stats` or `trainer`), ::HAM_ERR_INVALID (no adjoint
 *   solve yet: no gradient or step has got past its forward solve), ::HAM_ERR_STRUCT_SIZE.
 */
HAM_API int ham_trainer_backward_stats(ham_solve_stats_t *stats, const ham_trainer_t *trainer);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_TRAINER_H */
