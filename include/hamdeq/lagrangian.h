/**
 * @file lagrangian.h
 * @brief Layer Lagrangians: the built-in kinds and the size-prefixed struct for a custom one.
 *
 * A layer with state (membrane current) `s` has a convex Lagrangian `L(s)`, its activation
 * `g = grad L(s)` and Hessian `H(s)`. See docs/math.md section 3.
 */
#ifndef HAMDEQ_LAGRANGIAN_H
#define HAMDEQ_LAGRANGIAN_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Built-in Lagrangians. Values are pinned. */
typedef enum ham_lagrangian_kind {
    /** `(1/4) softplus(4(s-1/2))`, activation `sigmoid(4(s-1/2))`: the paper's. Default. */
    HAM_LAGRANGIAN_SHIFTED_SIGMOID = 0,
    /** `softplus(s)`, activation `sigmoid(s)`. */
    HAM_LAGRANGIAN_SIGMOID = 1,
    /** `log cosh(s)`, activation `tanh(s)`. */
    HAM_LAGRANGIAN_TANH = 2,
    /** `s.s/2`, activation `s`. */
    HAM_LAGRANGIAN_IDENTITY = 3,
    /** `(1/beta) log sum exp(beta s)`, activation `softmax(beta s)`; parameter: beta > 0. */
    HAM_LAGRANGIAN_SOFTMAX = 4,
    /** Set by ham_model_set_custom_lagrangian(); not accepted by ham_model_set_lagrangian(). */
    HAM_LAGRANGIAN_CUSTOM = 100
} ham_lagrangian_kind_t;

/**
 * A user-defined Lagrangian, registered with ham_model_set_custom_lagrangian().
 *
 * Set `size = sizeof(ham_lagrangian_def_t)` and zero-initialise the struct before filling
 * it (`ham_lagrangian_def_t d = {0}; d.size = sizeof d;`): a later library version may
 * append fields, and it rejects a struct whose unknown tail is not zero.
 * The struct is copied on registration; `name` must stay valid while the model lives.
 * Every callback works on one row (one sample) of `n` units and must be thread-safe if
 * the model is shared between threads.
 *
 * **User data.** Without `destroy`, `user` is borrowed: what it points to must outlive
 * every model that uses the layer (clones included). With `destroy`, a successful
 * registration hands `user` to the library: the registering model and its clones share
 * it, and `destroy(user)` is called exactly once, when the last of them lets go of it
 * (the layer's Lagrangian is replaced, or the last of those models is freed; that may
 * happen inside ham_solver_free() or ham_trainer_free() of a handle that held the last
 * reference, on whatever thread makes that call). A registration that fails takes
 * nothing: `destroy` is not called and `user` is still the caller's. Each successful
 * registration is one handover, so registering the same `user` twice (on two layers or
 * two models) calls `destroy(user)` twice: give each registration its own user data, or
 * count references inside it.
 *
 * **Callbacks must not unwind** through the library: no C++ exception, `longjmp` or
 * thread cancellation may leave a callback (catch everything at its boundary); the
 * library's own state would be left inconsistent and memory leaked. The callbacks here
 * return no status. To report a failure, write NaN into the output (`value` returning
 * NaN, a NaN activation or product): the samples it reaches end as
 * ::HAM_SAMPLE_DIVERGED rather than converged. To stop a solve as a whole, record the
 * failure in the user data and have the solver's iteration callback
 * (ham_solver_set_callback()) return non-zero, which ends the solve with
 * ::HAM_ERR_CANCELLED.
 */
typedef struct ham_lagrangian_def {
    uint32_t size;  /**< sizeof(ham_lagrangian_def_t) as compiled by the caller */
    uint32_t flags; /**< reserved, must be 0 */
    const char *name; /**< short name for messages and tables (may be NULL) */
    /** `L(s)` for one row. Required. */
    double (*value)(const float *s, int32_t n, void *user);
    /** `g = grad L(s)` for one row. Required. */
    void (*activation)(float *g, const float *s, int32_t n, void *user);
    /** `out = H(s) v` for one row, given `s` and its activation `g`. Required. */
    void (*hvp)(float *out, const float *s, const float *g, const float *v, int32_t n, void *user);
    void *user; /**< passed unchanged to every callback */
    /** Destructor of `user`, called once by the last holder; NULL: `user` is borrowed.
     *  Must not call into the library with a handle that is being freed. Optional. */
    void (*destroy)(void *user);
} ham_lagrangian_def_t;

/**
 * @brief Short static name of a built-in Lagrangian kind ("shifted-sigmoid", "sigmoid",
 * "tanh", "identity", "softmax", "custom").
 * @param kind a ::ham_lagrangian_kind_t value
 * @return the name, a static string; NULL for an unknown kind (not an error:
 *   ham_last_error() is left as it was).
 */
HAM_API const char *ham_lagrangian_name(int32_t kind);

/**
 * @brief Parses a name as printed by ham_lagrangian_name() (not "custom").
 * @param[out] kind the ::ham_lagrangian_kind_t; left unchanged on failure
 * @param name the name, e.g. "shifted-sigmoid" (compared exactly, case included)
 * @return ::HAM_OK, ::HAM_ERR_NULL (`kind` or `name`), ::HAM_ERR_UNKNOWN_LAGRANGIAN (no
 *   built-in kind has that name; "custom" included).
 */
HAM_API int ham_lagrangian_from_name(int32_t *kind, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_LAGRANGIAN_H */
