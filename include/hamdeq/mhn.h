/**
 * @file mhn.h
 * @brief Modern Hopfield networks (MHN) as 2-layer HAMs: construction from stored
 * patterns, energy, the inverse temperature at which the mean attractor loses stability,
 * and the distinct minima reached from many starts. See docs/math.md section 6 and
 * docs/mhn.md.
 *
 * An MHN here is an ordinary ::ham_model_t with ::HAM_MODEL_FREE_INPUT and two layers:
 * layer 0 the hidden layer (softmax Lagrangian, inverse temperature `beta`, one unit per
 * stored pattern), layer 1 the visible layer (identity Lagrangian, `dim` units), and
 * weight block `W_0 = X^T` (`n_patterns x dim`: the patterns as rows). The even-odd state
 * is the visible layer `v` (the output layer's parity class), and the even-odd operator is
 * exactly the Modern Hopfield update
 *
 *     G(v) = X softmax(beta X^T v).
 *
 * Retrieval is a solve of `v = G(v)` from the query: ::HAM_OPT_WARM_START = 1 and the
 * query as the initial state, with any built-in solver. The mean of centred patterns is
 * a fixed point at the origin, which a purely relative residual cannot certify: give
 * such solves an absolute tolerance (::HAM_OPT_ATOL) on the patterns' scale.
 */
#ifndef HAMDEQ_MHN_H
#define HAMDEQ_MHN_H

#include "common.h"
#include "model.h"
#include "solver.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Creates a Modern Hopfield network storing `n_patterns` patterns.
 *
 * The result is a normal model (layout above) with zero biases and solver defaults
 * even-odd / Anderson; every model and solver function applies to it.
 * @param[out] model the new model; NULL on failure
 * @param patterns `n_patterns x dim` floats, row-major: one stored pattern per row
 *   (copied)
 * @param n_patterns number of stored patterns, >= 1
 * @param dim length of a pattern (visible units), >= 1
 * @param beta inverse temperature of the softmax, finite and > 0
 * @return ::HAM_OK, ::HAM_ERR_NULL (model or patterns), ::HAM_ERR_INVALID (n_patterns or
 *   dim < 1, more than 2^31 - 1 weights, `n_patterns + dim` more than 2^31 - 1 (the state),
 *   beta not finite or <= 0), ::HAM_ERR_NONFINITE
 *   (a pattern holds NaN or infinity), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_mhn_new(ham_model_t **model, const float *patterns, int32_t n_patterns,
                        int32_t dim, double beta);

/**
 * @brief Energy of visible states, one value per sample, in double precision:
 *
 *     E(v) = -(1/beta) log sum_mu exp(beta (x_mu . v + b_h,mu)) + v.v/2 - b_v . v
 *
 * (the biases `b_h`, `b_v` are zero in a model from ham_mhn_new()). The log-sum-exp is
 * evaluated stably. This equals ham_model_energy() of the full state
 * ham_model_eo_to_full(v), and the even-odd update never increases it.
 * @param[out] energy `batch` doubles
 * @param model a 2-layer free-input model with a softmax layer 0 and an identity layer 1
 *   (as built by ham_mhn_new())
 * @param batch number of samples, > 0
 * @param v `batch x dim` visible states
 * @return ::HAM_OK, ::HAM_ERR_NULL (`energy`, `model` or `v`), ::HAM_ERR_INVALID (batch),
 *   ::HAM_ERR_UNSUPPORTED (the model does not have the MHN layout), ::HAM_ERR_NONFINITE
 *   (NaN or infinity in `v`), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_mhn_energy(double *energy, const ham_model_t *model, int32_t batch,
                           const float *v);

/**
 * @brief The inverse temperature at which the mean attractor loses stability,
 * `beta_s = 1 / lambda_max(Cov(X))`.
 *
 * `Cov(X) = (1/N) sum_mu (x_mu - m)(x_mu - m)^T`, `m` the pattern mean, is the
 * covariance of the patterns under uniform weights; its largest eigenvalue comes from
 * LAPACK's symmetric eigensolver, on the `dim x dim` matrix or, when `n_patterns < dim`,
 * on the `N x N` Gram form (same non-zero eigenvalues). For `N` equidistant patterns of
 * norm `r` and pairwise cosine `c`, `beta_s = N / (r^2 (1 - c))`: `N - 1` for unit-norm
 * regular-simplex patterns.
 * @param[out] beta_s the threshold; `+INFINITY` when every pattern is the same (a single
 *   pattern included): the mean is then stable at every beta
 * @param patterns `n_patterns x dim` floats, row-major
 * @param n_patterns number of patterns `N`, >= 1
 * @param dim length of a pattern, >= 1
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (n_patterns or dim < 1, or a
 *   `dim x dim` / `N x N` matrix too large to form), ::HAM_ERR_NONFINITE,
 *   ::HAM_ERR_NOMEM, ::HAM_ERR_NUMERIC (the eigensolver failed).
 */
HAM_API int ham_mhn_beta_s(double *beta_s, const float *patterns, int32_t n_patterns,
                           int32_t dim);

/**
 * @brief Smallest eigenvalue of the energy's Hessian at visible states,
 * `lambda_min(I - beta Cov_p(X))` with `p = softmax(beta (X^T v + b_h))` and `Cov_p` the
 * covariance of the patterns under the weights `p`. A fixed point is a strict local
 * minimum when it is positive, a saddle when it is negative.
 * @param[out] lambda_min `batch` doubles
 * @param model an MHN model, as for ham_mhn_energy()
 * @param batch number of samples, > 0
 * @param v `batch x dim` visible states
 * @return as ham_mhn_energy(), plus ::HAM_ERR_INVALID (a covariance matrix too large to
 *   form, as for ham_mhn_beta_s()), ::HAM_ERR_NOMEM and ::HAM_ERR_NUMERIC.
 */
HAM_API int ham_mhn_hessian_min(double *lambda_min, const ham_model_t *model, int32_t batch,
                                const float *v);

/** What ham_mhn_find_minima() found (size-prefixed: set `size = sizeof(ham_mhn_minima_t)`;
 *  a struct from newer headers is filled as far as this library knows, its tail zeroed). */
typedef struct ham_mhn_minima {
    uint32_t size;          /**< set by the caller */
    int32_t starts;         /**< starts solved */
    int32_t converged;      /**< starts that reached a fixed point (see ham_mhn_find_minima()) */
    int32_t minima;         /**< distinct strict local minima among those fixed points */
    int32_t saddles;        /**< distinct fixed points that are not minima (Hessian not
                                 positive definite) */
    int32_t mean_attractor; /**< index of the minimum at the pattern mean, or -1 */
    int32_t mean_basin;     /**< starts that reached the mean attractor */
    int32_t iters_max;      /**< largest per-start solver iteration count */
    double iters_mean;      /**< mean per-start solver iteration count */
} ham_mhn_minima_t;

/**
 * @brief Solves retrieval from many starts and counts the distinct minima reached.
 *
 * Let `r` be the largest pattern norm (1 if every pattern is zero). The starts are
 * solved on an internal solver of the same kind and operator as `solver`, with its
 * options, except ::HAM_OPT_WARM_START = 1 (the starts are the initial states),
 * ::HAM_OPT_FIXED_ITERS = 0, and ::HAM_OPT_ATOL = `max(atol, tol * r)` (`tol`, `atol`:
 * `solver`'s ::HAM_OPT_TOL and ::HAM_OPT_ATOL). `solver` itself is not modified (options,
 * statistics and per-sample results stay as they were) and its iteration callback and
 * convergence test are not called. A start has *converged* when that solver's built-in
 * test accepted it: with the default atol = 0, at the first iterate `s` with
 * `||G(s) - s|| < tol * max(||G(s)||, r)`, so that a fixed point near the origin (the
 * mean of centred patterns), where the purely relative residual cannot get small, is
 * judged on the patterns' scale; its state is `v = G(s)`. Converged states closer than
 * `cluster_tol * r` to an earlier fixed point are the same fixed point (greedy
 * clustering in start order, so the numbering is deterministic). Each distinct fixed
 * point is a minimum when ham_mhn_hessian_min() is positive there, a saddle otherwise.
 * The mean attractor is the minimum within `cluster_tol * r` of the pattern mean
 * `(1/N) sum_mu x_mu` (the closest if several).
 *
 * Allocates its workspace and the internal solver per call (the solves themselves do
 * not allocate).
 * @param[out] result counts (`result->size` set by the caller)
 * @param[out] minima the first `min(capacity, result->minima)` minima, `dim` floats each,
 *   in order of discovery; may be NULL when `capacity` is 0
 * @param capacity rows `minima` can hold, >= 0
 * @param[out] assign `n_starts` values (may be NULL): the index of the minimum start `i`
 *   reached, -1 when it did not converge, -2 when it reached a saddle
 * @param solver a built-in solver (not ham_solver_new_custom()) of an MHN model (as for
 *   ham_mhn_energy()), operator ::HAM_OPERATOR_EVEN_ODD (the state is `v`) or
 *   ::HAM_OPERATOR_SYNC (the hidden layer is initialised from each start; the test is
 *   then on the state `[h, v]`)
 * @param starts `n_starts x dim` visible starting states
 * @param n_starts >= 1
 * @param cluster_tol in (0, 1]
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (n_starts, capacity, cluster_tol,
 *   `minima` NULL with a positive capacity, a covariance too large to form),
 *   ::HAM_ERR_STRUCT_SIZE,
 *   ::HAM_ERR_UNSUPPORTED (not an MHN, or a custom solver), ::HAM_ERR_NONFINITE (in
 *   `starts`), ::HAM_ERR_NOMEM, ::HAM_ERR_NUMERIC, or what ham_solver_solve() returned.
 */
HAM_API int ham_mhn_find_minima(ham_mhn_minima_t *result, float *minima, int32_t capacity,
                                int32_t *assign, ham_solver_t *solver, const float *starts,
                                int32_t n_starts, double cluster_tol);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_MHN_H */
