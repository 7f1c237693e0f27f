/**
 * @file solver.h
 * @brief ham_solver_t: fixed-point solvers for `s = F(s)` or `s = G(s)` on a batch.
 *
 * A solver is bound to one model and one operator. Its workspace is sized on the first
 * solve (and grown only when a later solve has a larger batch); iterations never allocate.
 *
 * Convergence, per sample `k` (docs/math.md section 4): relative residual
 * `r_k = ||G(s_k) - s_k|| / ||G(s_k)||`; the built-in test accepts the sample when
 * `r_k < tol` or `||G(s_k) - s_k|| < atol` (::HAM_OPT_TOL, ::HAM_OPT_ATOL; atol is 0 by
 * default, so the test is purely relative), and ham_solver_set_conv_test() replaces it.
 * Its iteration count is the number of operator evaluations it took. Converged samples
 * are removed from the working batch, so they stop costing work. A sample whose residual
 * becomes NaN or infinite is reported as ::HAM_SAMPLE_DIVERGED (before any test is
 * asked); one that reaches the iteration limit as ::HAM_SAMPLE_MAX_ITER. The state
 * returned for every sample is the last operator output `G(s_k)`.
 *
 * Lifetime: a solver holds a reference to its model (ham_model_ref()), so the model may
 * be freed before the solver; the solver's free drops that reference.
 *
 * Callbacks (the iteration callback, the convergence test, a custom backend's) must not
 * unwind through the library: no C++ exception, `longjmp` or thread cancellation may
 * leave them (catch everything at the callback's boundary). Report failure with the
 * callback's return value instead: a non-zero return from ::ham_iter_callback_t, a
 * negative one from ::ham_conv_test_t, a non-zero (preferably negative ::ham_status_t)
 * one from a backend's `init`, `reset` or `step`. A `void`
 * callback (`fini`, `compact`) records the failure in its state or user data so that
 * the next `step` returns it.
 *
 * Threading: one thread at a time per solver; several solvers may share a model that
 * nobody modifies meanwhile. BLAS threading is the caller's to set, except that with
 * OpenBLAS products too small to gain from a second thread run on one (docs/api.md).
 */
#ifndef HAMDEQ_SOLVER_H
#define HAMDEQ_SOLVER_H

#include "common.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque solver handle. */
typedef struct ham_solver ham_solver_t;

/** Built-in solver backends. Values are pinned. */
typedef enum ham_solver_kind {
    HAM_SOLVER_PICARD = 0,   /**< damped Picard / forward Euler: `s <- (1-dt) s + dt G(s)` */
    HAM_SOLVER_ANDERSON = 1, /**< Anderson acceleration (Walker & Ni 2011) */
    HAM_SOLVER_BROYDEN = 2,  /**< limited-memory Broyden ("good" update, as in DEQs) */
    HAM_SOLVER_NEWTON = 3,   /**< Newton with a line search; dense Jacobian from JVPs and LAPACK
                                  LU on short states, matrix-free GMRES on long ones */
    HAM_SOLVER_CUSTOM = 100  /**< a user backend from ham_solver_new_custom() */
} ham_solver_kind_t;

/**
 * Options, set with ham_solver_set_option(). Values are pinned. Defaults and bounds
 * come from ham_solver_option_info(); integer options take integral doubles.
 */
typedef enum ham_option {
    HAM_OPT_TOL = 0,               /**< relative residual tolerance: converged when
                                        `||G(s)-s|| < tol ||G(s)||`; default 1e-4, (0, 1) */
    HAM_OPT_MAX_ITER = 1,          /**< operator evaluations per sample; default 100, [1, 1e6] */
    HAM_OPT_WARM_START = 2,        /**< 1: start from the state passed in; default 0 (zeros) */
    HAM_OPT_DT = 3,                /**< Picard step / forward-Euler dt; default 1, (0, 1] */
    HAM_OPT_ANDERSON_M = 4,        /**< Anderson memory; default 4 (the paper's), [1, 32] */
    HAM_OPT_ANDERSON_BETA = 5,     /**< Anderson damping (mixing); default 1, (0, 1] */
    HAM_OPT_ANDERSON_LAMBDA = 6,   /**< Tikhonov regularisation of the Gram matrix, relative
                                        to its trace; default 1e-10, [0, 1] */
    HAM_OPT_ANDERSON_SAFEGUARD = 7,/**< 1: take the plain step when an Anderson step doubled
                                        the residual, and clear the history when the residual
                                        is 10% above the sample's best; default 1 */
    HAM_OPT_BROYDEN_M = 8,         /**< Broyden memory (rank-one updates kept); default 16, [1, 256] */
    HAM_OPT_NEWTON_LINESEARCH = 9, /**< 1: backtracking residual line search; default 1 */
    HAM_OPT_NEWTON_MAX_DIM = 10,   /**< largest state length for the dense Jacobian (longer
                                        states use GMRES); default 256, [1, 4096] */
    HAM_OPT_DIVERGENCE = 11,       /**< a sample with `||G(s)|| >` this is diverged; default
                                        1e30, [1, 3e38] */
    HAM_OPT_NEWTON_KRYLOV_DIM = 12,/**< most GMRES steps per Newton step; default 30, [1, 500] */
    HAM_OPT_NEWTON_FORCING = 13,   /**< GMRES relative tolerance; default 1e-2, (0, 1) */
    HAM_OPT_FIXED_ITERS = 14,      /**< 1: ignore the convergence test (TOL, ATOL or the
                                        user's) and run exactly MAX_ITER evaluations per
                                        sample (like-for-like with fixed-count codes); a
                                        diverged sample still stops; default 0 */
    HAM_OPT_ATOL = 15,             /**< absolute residual tolerance: also converged when
                                        `||G(s)-s|| < atol`, for fixed points at or near
                                        the origin; default 0 (off), [0, 3e38] */
    HAM_OPT_ATTRACTOR_SAFE = 16,   /**< Anderson, Broyden and Newton accept an accelerated
                                        step only while it keeps to the energy descent:
                                        in the plain step's half-space (Newton's first
                                        step and its GMRES steps: a narrower cone),
                                        Broyden's no longer than a trust region of a few
                                        plain steps, and, Newton with a dense Jacobian,
                                        where G's Jacobian is contractive; else the plain
                                        step, history reset (docs/math.md section 7), so
                                        they return the attractor energy descent reaches.
                                        1 on, 2 on and also the energy after G no higher
                                        than after the plain step (costlier), 0 off, -1
                                        auto: 1 for ::HAM_OPERATOR_EVEN_ODD, 0 for
                                        ::HAM_OPERATOR_SYNC (no descent guarantee);
                                        default -1, [-1, 2] */
    HAM_OPT_STABILITY_CHECK = 17   /**< power iterations (JVPs of G at the fixed point) to
                                        estimate each converged sample's spectral radius;
                                        >= 1 marks it ::HAM_SAMPLE_UNSTABLE, or, in
                                        attractor-safe mode, pushes it off the saddle and
                                        re-solves it with Picard steps; 0 off (default),
                                        [0, 1000] */
} ham_option_t;

/** Final status of one sample. Values are pinned. */
typedef enum ham_sample_status {
    HAM_SAMPLE_CONVERGED = 0, /**< the convergence test accepted it */
    HAM_SAMPLE_MAX_ITER = 1,  /**< iteration limit reached first */
    HAM_SAMPLE_DIVERGED = 2,  /**< residual or state became non-finite or too large */
    HAM_SAMPLE_UNSTABLE = 3   /**< converged, but to an unstable fixed point (a saddle):
                                   ::HAM_OPT_STABILITY_CHECK estimated the spectral radius
                                   of G's Jacobian there at >= 1 */
} ham_sample_status_t;

/** Summary of the last solve (size-prefixed: set `size = sizeof(ham_solve_stats_t)`). */
typedef struct ham_solve_stats {
    uint32_t size;          /**< set by the caller */
    int32_t samples;        /**< samples in the last solve */
    int32_t converged;      /**< samples with ::HAM_SAMPLE_CONVERGED */
    int32_t not_converged;  /**< samples with ::HAM_SAMPLE_MAX_ITER */
    int32_t diverged;       /**< samples with ::HAM_SAMPLE_DIVERGED */
    int32_t iters_max;      /**< largest per-sample iteration count */
    double iters_mean;      /**< mean per-sample iteration count (operator evaluations) */
    int64_t evaluations;    /**< operator evaluations summed over samples */
    int64_t jacobian_products; /**< Jacobian-vector products (one per tangent and sample),
                                    not counted as evaluations: Newton's extra cost and
                                    the stability check's power iterations */
    int32_t unstable;       /**< samples with ::HAM_SAMPLE_UNSTABLE (added in 0.1) */
    int32_t rejected_steps; /**< accelerated steps the attractor-safe mode refused (added
                                 in 0.1) */
} ham_solve_stats_t;

/** What a per-iteration callback sees (size-prefixed, read `size` before new fields). */
typedef struct ham_iter_info {
    uint32_t size;                /**< sizeof the struct the library filled */
    int32_t iteration;            /**< 0-based driver iteration */
    int32_t active;               /**< samples still iterating, before this check */
    const int32_t *sample;        /**< `active` original sample indices */
    const double *residual;       /**< `active` relative residuals, aligned with `sample` */
    const int32_t *iterations;    /**< `active` per-sample evaluation counts so far */
    int32_t dim;                  /**< state length */
    const float *state;           /**< `active x dim` current iterates s, rows as `sample` */
    const float *output;          /**< `active x dim` operator outputs G(s) */
} ham_iter_info_t;

/**
 * Called once per driver iteration after the residuals are computed. It must not unwind
 * (C++ throw, `longjmp`) through the library; return non-zero instead. It is also the
 * way to stop a solve when a callback that returns no status (a custom Lagrangian's)
 * recorded a failure in its user data.
 * @param info this iteration's samples, valid during the call only
 * @param user the pointer given to ham_solver_set_callback()
 * @return 0 to go on; non-zero stops the solve with ::HAM_ERR_CANCELLED.
 */
typedef int (*ham_iter_callback_t)(const ham_iter_info_t *info, void *user);

/**
 * What a convergence test sees: one sample at one driver iteration (size-prefixed, read
 * `size` before new fields). Valid only during the call.
 */
typedef struct ham_conv_info {
    uint32_t size;        /**< sizeof the struct the library filled */
    int32_t sample;       /**< original index of the sample in the batch */
    int32_t iterations;   /**< operator evaluations the sample has used so far */
    int32_t dim;          /**< state length */
    const float *state;   /**< `dim` floats: the current iterate s */
    const float *output;  /**< `dim` floats: G(s), the state returned if accepted */
    double residual_norm; /**< `||G(s) - s||` (finite) */
    double output_norm;   /**< `||G(s)||` (finite; 0 only when `s = G(s) = 0`) */
    double tol;           /**< the solver's ::HAM_OPT_TOL */
    double atol;          /**< the solver's ::HAM_OPT_ATOL */
} ham_conv_info_t;

/**
 * A convergence test, installed with ham_solver_set_conv_test() in place of the built-in
 * one (as SUNDIALS' SUNNonlinSolSetConvTestFn). Called for every sample still iterating
 * once per driver iteration, after the iteration callback, unless the sample diverged.
 * It must not call into the same solver.
 * @param info the sample being tested, valid during the call only
 * @param user the pointer given to ham_solver_set_conv_test()
 * @return 1 (or any positive value): converged, the sample is retired with `G(s)`;
 *   0: go on (the sample still stops at ::HAM_OPT_MAX_ITER); negative: abort the solve,
 *   which returns this value when it is a libhamdeq status and ::HAM_ERR_CALLBACK
 *   otherwise.
 */
typedef int (*ham_conv_test_t)(const ham_conv_info_t *info, void *user);

/** Context handed to a custom backend's step (valid only during that call). */
typedef struct ham_step ham_step_t;

/**
 * A user-defined solver backend for ham_solver_new_custom(). Zero-initialise it and set
 * `size = sizeof(ham_solver_def_t)`; it is copied. The driver evaluates the operator,
 * tests convergence and removes finished samples; the backend only proposes the next
 * iterate. All per-sample data the backend keeps must be indexed by row, and `compact`
 * must move it when rows are removed. No callback may call back into the same solver
 * except through the ham_step_* functions, and none may unwind through the library
 * (see the file's notes): `init`, `reset` and `step` report failure by returning a
 * negative ::ham_status_t (kept as the solve's status) or another non-zero value
 * (reported as ::HAM_ERR_CALLBACK); `compact` records a failure in the state for the
 * next `step` to return.
 *
 * **User data.** Without `destroy`, `user` is borrowed and must outlive the solver. With
 * `destroy`, a successful ham_solver_new_custom() hands `user` to the solver, and
 * ham_solver_free() calls `destroy(user)` exactly once, after the last `fini`. A
 * ham_solver_new_custom() that fails takes nothing: `destroy` is not called and `user`
 * stays the caller's.
 */
typedef struct ham_solver_def {
    uint32_t size;    /**< sizeof(ham_solver_def_t) */
    uint32_t flags;   /**< reserved, must be 0 */
    const char *name; /**< short name (may be NULL) */
    /** Allocate state for states of length `dim` and up to `max_rows` rows. Required. */
    int (*init)(void **state, int32_t dim, int32_t max_rows, void *user);
    /** Free the state. Required. */
    void (*fini)(void *state, void *user);
    /** Forget all history before a solve of `rows` rows. Optional. */
    int (*reset)(void *state, int32_t rows, void *user);
    /**
     * Replace each row of `s` (`rows x dim`) by the next iterate, given `gs = G(s)`.
     * May evaluate the operator through ham_step_apply(). Return 0, 1 when it left
     * `G(new s)` in `gs` (saving the driver an evaluation), or a negative status. Required.
     */
    int (*step)(void *state, ham_step_t *step, float *s, float *gs, int32_t rows, void *user);
    /** Keep rows `keep[0..n_keep)` (increasing) and move them to rows `0..n_keep). Optional. */
    void (*compact)(void *state, const int32_t *keep, int32_t n_keep, void *user);
    void *user; /**< passed unchanged to every callback */
    /** Destructor of `user`, called once by ham_solver_free(); NULL: `user` is borrowed.
     *  Optional. */
    void (*destroy)(void *user);
} ham_solver_def_t;

/**
 * @brief Evaluates the solver's operator, `out = G(s)` (or `F(s)`), on the step's current
 * rows; each row counts as one operator evaluation of its sample. Only valid inside a
 * custom backend's `step`.
 * @param step the context passed to `step`
 * @param[out] out `rows x dim` floats (ham_step_rows(), ham_step_dim())
 * @param s `rows x dim` states
 * @return ::HAM_OK, ::HAM_ERR_NULL (`step`, `out` or `s`).
 */
HAM_API int ham_step_apply(ham_step_t *step, float *out, const float *s);
/**
 * @brief Number of rows (samples still iterating) of the current step.
 * @param step the context passed to a custom backend's `step`, or NULL
 * @return the rows, > 0; 0 for NULL.
 */
HAM_API int32_t ham_step_rows(const ham_step_t *step);
/**
 * @brief State length of the current step.
 * @param step the context passed to a custom backend's `step`, or NULL
 * @return the state length (ham_model_state_dim() of the solver's operator); 0 for NULL.
 */
HAM_API int32_t ham_step_dim(const ham_step_t *step);

/**
 * @brief Creates a solver for `model`.
 *
 * The solver takes a reference to the model (ham_model_ref()), dropped by
 * ham_solver_free(): the caller may free its own reference at any time. The model is
 * shared, not copied: changes made to it later are seen by the solver.
 * @param[out] solver the new solver; NULL on failure
 * @param model the model (not modified by solves)
 * @param op ::HAM_OPERATOR_SYNC or ::HAM_OPERATOR_EVEN_ODD
 * @param kind a built-in ::ham_solver_kind_t
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPERATOR, ::HAM_ERR_UNKNOWN_SOLVER,
 *   ::HAM_ERR_NOMEM.
 */
HAM_API int ham_solver_new(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                           int32_t kind);

/**
 * @brief Creates a solver with a user backend (see ::ham_solver_def_t).
 *
 * Holds a reference to the model as ham_solver_new() does. On success the solver takes
 * `def->user` when `def->destroy` is set; on failure it takes nothing (`destroy` is not
 * called).
 * @param[out] solver the new solver; NULL on failure
 * @param model the model
 * @param op ::HAM_OPERATOR_SYNC or ::HAM_OPERATOR_EVEN_ODD
 * @param def the backend (size-prefixed; copied)
 * @return ::HAM_OK, ::HAM_ERR_NULL (solver, model, def, or a required callback),
 *   ::HAM_ERR_STRUCT_SIZE, ::HAM_ERR_INVALID (flags), ::HAM_ERR_UNKNOWN_OPERATOR,
 *   ::HAM_ERR_NOMEM.
 */
HAM_API int ham_solver_new_custom(ham_solver_t **solver, const ham_model_t *model, int32_t op,
                                  const ham_solver_def_t *def);

/**
 * @brief Frees a solver; NULL is a no-op.
 *
 * A custom backend's `fini` runs on its state, then `destroy(user)` if the definition has
 * one; then the solver's reference to the model is dropped (freeing the model if it was
 * the last). Never call it on the solver of a trainer (ham_trainer_solver()).
 * @param solver the solver, or NULL
 */
HAM_API void ham_solver_free(ham_solver_t *solver);

/**
 * @brief Short static name of a built-in solver kind.
 * @param kind a ::ham_solver_kind_t value
 * @return "picard", "anderson", "broyden" or "newton"; NULL for any other value,
 *   ::HAM_SOLVER_CUSTOM included (not an error: ham_last_error() is left as it was).
 */
HAM_API const char *ham_solver_kind_name(int32_t kind);
/**
 * @brief Parses a name as printed by ham_solver_kind_name().
 * @param[out] kind the ::ham_solver_kind_t; left unchanged on failure
 * @param name the name (compared exactly, case included)
 * @return ::HAM_OK, ::HAM_ERR_NULL (`kind` or `name`), ::HAM_ERR_UNKNOWN_SOLVER.
 */
HAM_API int ham_solver_kind_from_name(int32_t *kind, const char *name);
/**
 * @brief Short static name of an operator.
 * @param op a ::ham_operator_t value
 * @return "sync" or "even-odd"; NULL for any other value (not an error).
 */
HAM_API const char *ham_operator_name(int32_t op);
/**
 * @brief Parses a name as printed by ham_operator_name().
 * @param[out] op the ::ham_operator_t; left unchanged on failure
 * @param name the name (compared exactly, case included)
 * @return ::HAM_OK, ::HAM_ERR_NULL (`op` or `name`), ::HAM_ERR_UNKNOWN_OPERATOR.
 */
HAM_API int ham_operator_from_name(int32_t *op, const char *name);

/**
 * @brief Default and bounds of an option (any pointer may be NULL). Thread-safe: it reads
 * a static table.
 * @param[out] def the default value (may be NULL)
 * @param[out] min the lower bound (may be NULL)
 * @param[out] max the upper bound (may be NULL); whether a bound is open or closed is in
 *   the table of docs/api.md
 * @param option a ::ham_option_t
 * @return ::HAM_OK or ::HAM_ERR_UNKNOWN_OPTION.
 */
HAM_API int ham_solver_option_info(double *def, double *min, double *max, int32_t option);

/**
 * @brief Sets an option; it applies from the next solve. On failure the option keeps its
 * value.
 * @param solver the solver
 * @param option a ::ham_option_t
 * @param value the new value, within the option's bounds (ham_solver_option_info());
 *   integral for an integer option
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPTION, ::HAM_ERR_INVALID (out of
 *   bounds, NaN, or not integral for an integer option).
 */
HAM_API int ham_solver_set_option(ham_solver_t *solver, int32_t option, double value);

/**
 * @brief Reads an option.
 * @param[out] value the option's current value
 * @param solver the solver
 * @param option a ::ham_option_t
 * @return ::HAM_OK, ::HAM_ERR_NULL (`value` or `solver`), ::HAM_ERR_UNKNOWN_OPTION.
 */
HAM_API int ham_solver_get_option(double *value, const ham_solver_t *solver, int32_t option);

/**
 * @brief Installs (or with NULL removes) the per-iteration callback.
 * @param solver the solver
 * @param callback called once per driver iteration; must not unwind through the library
 *   (return non-zero to stop instead); NULL removes it
 * @param user passed to the callback; borrowed: it must stay valid while the callback is
 *   installed (the solver never frees it)
 * @return ::HAM_OK, ::HAM_ERR_NULL.
 */
HAM_API int ham_solver_set_callback(ham_solver_t *solver, ham_iter_callback_t callback,
                                    void *user);

/**
 * @brief Replaces the built-in convergence test (`r < tol` or `||G(s)-s|| < atol`) by
 * `test`, or restores it when `test` is NULL.
 *
 * The per-sample residual ham_solver_get_samples() reports stays the relative one, and a
 * sample whose residual is NaN or infinite is still diverged without asking the test.
 * ::HAM_OPT_FIXED_ITERS = 1 overrides the test too. The test runs on the solving
 * thread; it must return (not unwind, see the top of this file) and must not allocate
 * per call if the solve is to stay allocation-free.
 * @param solver the solver
 * @param test the test, or NULL for the built-in one
 * @param user passed unchanged to `test` (ignored when `test` is NULL)
 * @return ::HAM_OK, ::HAM_ERR_NULL (solver).
 */
HAM_API int ham_solver_set_conv_test(ham_solver_t *solver, ham_conv_test_t test, void *user);

/**
 * @brief The model a solver was created for.
 * @param solver the solver
 * @return the model, borrowed: the solver's reference keeps it alive while the solver
 *   lives (take one of your own with ham_model_ref() to keep it longer); NULL when
 *   `solver` is NULL.
 */
HAM_API const ham_model_t *ham_solver_model(const ham_solver_t *solver);

/**
 * @brief The kind of a solver.
 * @param solver the solver
 * @return a ::ham_solver_kind_t value (::HAM_SOLVER_CUSTOM for a user backend), or -1
 *   when `solver` is NULL.
 */
HAM_API int32_t ham_solver_kind(const ham_solver_t *solver);

/**
 * @brief The operator a solver iterates.
 * @param solver the solver
 * @return ::HAM_OPERATOR_SYNC or ::HAM_OPERATOR_EVEN_ODD, or -1 when `solver` is NULL.
 */
HAM_API int32_t ham_solver_operator(const ham_solver_t *solver);

/**
 * @brief Solves the fixed point for a batch.
 * @param solver the solver
 * @param[in,out] state `batch x dim` floats: the initial state when ::HAM_OPT_WARM_START is 1
 *   (otherwise ignored), the final state of every sample on return
 * @param batch number of samples, > 0
 * @param x `batch x N_0` inputs in the activation's domain for a clamped model, NULL otherwise
 * @return ::HAM_OK when the solve ran (samples that did not converge are reported by
 *   ham_solver_get_stats() and ham_solver_get_samples(), not by the status),
 *   ::HAM_ERR_NULL (`solver`, `state`, or `x` for a clamped model), ::HAM_ERR_INVALID
 *   (batch <= 0, `x` given to a free-input model), ::HAM_ERR_NONFINITE (NaN/Inf in `x`
 *   or in a warm start), ::HAM_ERR_NOMEM (the workspace), ::HAM_ERR_CANCELLED (the
 *   iteration callback returned non-zero), the negative ::ham_status_t returned by the
 *   convergence test or a custom backend's `init`, `reset` or `step`, or
 *   ::HAM_ERR_CALLBACK for any other failing value they return.
 *   On failure `state` may hold partial results. After ::HAM_ERR_CANCELLED, or a failure
 *   of the convergence test or of a backend's `step`, every sample's final state is in
 *   `state`, and the statistics and per-sample results describe the solve up to where it
 *   stopped (the unfinished samples as ::HAM_SAMPLE_MAX_ITER).
 */
HAM_API int ham_solver_solve(ham_solver_t *solver, float *state, int32_t batch, const float *x);

/**
 * @brief Summary of the last solve (zeros before the first one).
 * @param[in,out] stats `stats->size` set by the caller to `sizeof(ham_solve_stats_t)`; a
 *   struct from newer headers is filled as far as this library knows, its tail zeroed
 * @param solver the solver
 * @return ::HAM_OK, ::HAM_ERR_NULL (`stats` or `solver`), ::HAM_ERR_STRUCT_SIZE
 *   (`stats->size` smaller than the first release's struct).
 */
HAM_API int ham_solver_get_stats(ham_solve_stats_t *stats, const ham_solver_t *solver);

/**
 * @brief Per-sample results of the last solve. Any output may be NULL.
 * @param[out] iterations `batch` operator-evaluation counts
 * @param[out] residual `batch` final relative residuals
 * @param[out] status `batch` ::ham_sample_status_t values
 * @param solver the solver
 * @param batch must equal the last solve's batch
 * @return ::HAM_OK, ::HAM_ERR_NULL (`solver`), ::HAM_ERR_DIMENSION (`batch` is not the
 *   last solve's, or no solve has run).
 */
HAM_API int ham_solver_get_samples(int32_t *iterations, double *residual, int32_t *status,
                                   const ham_solver_t *solver, int32_t batch);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_SOLVER_H */
