/**
 * @file model.h
 * @brief ham_model_t: a layered Hierarchical Associative Memory (HAM).
 *
 * Layers `l = 0 .. L-1` of sizes `N_l`; adjacent layers are coupled by one weight block
 * `W_l` (`N_l x N_{l+1}`, row-major float), free layers have biases `b_l`. With
 * ::HAM_MODEL_CLAMPED_INPUT, layer 0 is the input: its activation is fixed to `g_0(x)`
 * and it is not part of any state. See docs/math.md.
 *
 * States are row-major float batches, one row per sample:
 * - the *full* (synchronous) state concatenates the free layers in increasing order;
 * - the *even-odd* state concatenates the free layers of the parity class that holds the
 *   output layer `L-1`; the other class is recomputed from it (ham_model_eo_to_full()).
 *
 * Lifetime: a model is reference-counted. ham_model_new(), ham_model_clone(),
 * ham_model_load() and ham_mhn_new() return a model holding one reference, the caller's;
 * ham_model_ref() takes another and ham_model_free() drops one; the model is destroyed
 * when the last is dropped. Every solver and trainer made for a model holds its own
 * reference, so handles may be freed in any order (as a garbage collector's finalizers
 * run): `ham_model_free(model)` right after ham_solver_new() leaves the solver usable,
 * and the model goes with the solver. A reference shares the model, it does not copy it:
 * a change made through any holder is seen by all.
 *
 * Threading: a model may be read by several threads at once (solvers may share it) as
 * long as no thread modifies it. The reference count is atomic: threads may take and
 * drop references to one model concurrently, each dropping only references it holds.
 */
#ifndef HAMDEQ_MODEL_H
#define HAMDEQ_MODEL_H

#include "common.h"
#include "lagrangian.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque model handle. */
typedef struct ham_model ham_model_t;

/** Most layers a model may have. */
#define HAM_MAX_LAYERS 64

/** Flags for ham_model_new(). */
typedef enum ham_model_flags {
    HAM_MODEL_FREE_INPUT = 0,   /**< every layer is free (e.g. Modern Hopfield retrieval) */
    HAM_MODEL_CLAMPED_INPUT = 1 /**< layer 0 is clamped to the input `x` */
} ham_model_flags_t;

/** The operator whose fixed point is solved. Values are pinned. */
typedef enum ham_operator {
    HAM_OPERATOR_SYNC = 0,    /**< synchronous `F` on the full state */
    HAM_OPERATOR_EVEN_ODD = 1 /**< even-odd `G` on the output's parity class */
} ham_operator_t;

/**
 * @brief Creates a model with the given layer sizes.
 *
 * Every layer starts with the shifted-sigmoid Lagrangian, zero weights and zero biases;
 * call ham_model_init_xavier() for the paper's initialisation.
 * @param[out] model the new model; set to NULL on failure
 * @param n_layers number of layers, 2 .. ::HAM_MAX_LAYERS
 * @param sizes `n_layers` positive layer sizes
 * @param flags ::HAM_MODEL_CLAMPED_INPUT or ::HAM_MODEL_FREE_INPUT
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (layer count, size <= 0, unknown
 *   flag, a weight block of more than 2^31 - 1 entries, or a state of more than 2^31 - 1
 *   values: the free layers' sizes added up; every derived size is checked before
 *   anything is allocated), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_new(ham_model_t **model, int32_t n_layers, const int32_t *sizes,
                          uint32_t flags);

/**
 * @brief Takes one more reference to a model (atomically; any thread).
 *
 * Each reference is dropped with its own ham_model_free(). The caller must already hold
 * a reference (its own, or through a handle it knows is alive).
 * @param model the model, or NULL
 * @return `model` itself; NULL for NULL (which is not an error: ham_last_error() is left
 *   as it was).
 */
HAM_API ham_model_t *ham_model_ref(ham_model_t *model);

/**
 * @brief Drops one reference to a model; the last one frees it. NULL is a no-op.
 *
 * Solvers and trainers hold their own references, so they may be freed before or after
 * the model. Freeing the model releases its custom Lagrangians' user data (see
 * ::ham_lagrangian_def_t) unless a clone still shares it.
 * @param model the model, or NULL
 */
HAM_API void ham_model_free(ham_model_t *model);

/**
 * @brief Deep copy of a model (weights, biases, Lagrangians, solver defaults).
 *
 * The copy is a new model with its own reference count of 1, independent of `model`
 * except that a custom Lagrangian's user data is shared, not copied: its destructor
 * runs once, when the last model using it lets go (see ::ham_lagrangian_def_t).
 * @param[out] out the copy; NULL on failure
 * @param model the model to copy
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_clone(ham_model_t **out, const ham_model_t *model);

/** @brief Number of layers, or 0 for NULL. */
HAM_API int32_t ham_model_n_layers(const ham_model_t *model);

/** @brief Size of layer `layer`, or 0 when the model is NULL or the layer out of range. */
HAM_API int32_t ham_model_layer_size(const ham_model_t *model, int32_t layer);

/** @brief 1 if layer 0 is clamped to the input, 0 otherwise (and for NULL). */
HAM_API int32_t ham_model_has_clamped_input(const ham_model_t *model);

/**
 * @brief Sets the Lagrangian of one layer.
 *
 * A custom Lagrangian the layer had is released (its user data destroyed unless a clone
 * still uses it); on failure the layer keeps its Lagrangian.
 * @param model the model
 * @param layer the layer, `0 .. n_layers-1`
 * @param kind a built-in ::ham_lagrangian_kind_t (not ::HAM_LAGRANGIAN_CUSTOM)
 * @param param inverse temperature beta for ::HAM_LAGRANGIAN_SOFTMAX (finite, > 0);
 *   ignored by the other kinds
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (layer, beta),
 *   ::HAM_ERR_UNKNOWN_LAGRANGIAN.
 */
HAM_API int ham_model_set_lagrangian(ham_model_t *model, int32_t layer, int32_t kind,
                                     double param);

/**
 * @brief Gives one layer a user-defined Lagrangian (copied; see ::ham_lagrangian_def_t).
 *
 * On success the model takes `def->user` when `def->destroy` is set, and a custom
 * Lagrangian the layer had before is released. On failure nothing changes: the layer
 * keeps its Lagrangian, `def->destroy` is not called and `def->user` stays the caller's.
 * @param model the model
 * @param layer the layer, `0 .. n_layers-1`
 * @param def the definition (size-prefixed)
 * @return ::HAM_OK, ::HAM_ERR_NULL (model, def, or a required callback),
 *   ::HAM_ERR_STRUCT_SIZE, ::HAM_ERR_INVALID (layer, flags), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_set_custom_lagrangian(ham_model_t *model, int32_t layer,
                                            const ham_lagrangian_def_t *def);

/**
 * @brief Reads the Lagrangian of one layer.
 * @param[out] kind its ::ham_lagrangian_kind_t
 * @param[out] param beta for softmax, 0 otherwise (may be NULL)
 * @param model the model
 * @param layer the layer, `0 .. n_layers-1`
 * @return ::HAM_OK, ::HAM_ERR_NULL (kind or model), ::HAM_ERR_INVALID (layer).
 */
HAM_API int ham_model_get_lagrangian(int32_t *kind, double *param, const ham_model_t *model,
                                     int32_t layer);

/**
 * @brief Xavier-uniform initialisation of every weight block (`U(-a, a)`,
 * `a = sqrt(6 / (N_l + N_{l+1}))`) and zero biases, from a seed.
 *
 * The stream is a fixed xoshiro256** generator: the same seed gives the same weights
 * on every platform and run.
 * @param model the model
 * @param seed the generator's seed
 * @return ::HAM_OK, ::HAM_ERR_NULL.
 */
HAM_API int ham_model_init_xavier(ham_model_t *model, uint64_t seed);

/**
 * @brief Copies weight block `W_block` (`N_block x N_{block+1}`, row-major) out.
 * @param count number of floats in `out`; must equal `N_block * N_{block+1}`
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (block), ::HAM_ERR_DIMENSION (count).
 */
HAM_API int ham_model_get_weights(float *out, const ham_model_t *model, int32_t block,
                                  size_t count);

/** @brief Sets weight block `W_block` from `count` finite floats (see ham_model_get_weights()).
 *  @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (block), ::HAM_ERR_DIMENSION (count),
 *  ::HAM_ERR_NONFINITE (NaN or infinity in `w`; the block is left as it was). */
HAM_API int ham_model_set_weights(ham_model_t *model, int32_t block, const float *w,
                                  size_t count);

/**
 * @brief Copies the bias of a free layer out (`count` must equal its size).
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (layer out of range, or the clamped
 *   input layer, which has no bias), ::HAM_ERR_DIMENSION (count).
 */
HAM_API int ham_model_get_bias(float *out, const ham_model_t *model, int32_t layer,
                               size_t count);

/** @brief Sets the bias of a free layer from `count` finite floats.
 *  @return as ham_model_get_bias(), plus ::HAM_ERR_NONFINITE (NaN or infinity in `b`; the
 *  bias is left as it was). */
HAM_API int ham_model_set_bias(ham_model_t *model, int32_t layer, const float *b, size_t count);

/**
 * @brief Length of one sample's state for an operator.
 * @param[out] dim the full state length (::HAM_OPERATOR_SYNC) or the even-odd one
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPERATOR.
 */
HAM_API int ham_model_state_dim(int32_t *dim, const ham_model_t *model, int32_t op);

/**
 * @brief Where layer `layer` starts inside one sample's state of operator `op`.
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPERATOR, ::HAM_ERR_INVALID (layer
 *   out of range, or not part of that state).
 */
HAM_API int ham_model_state_offset(int32_t *offset, const ham_model_t *model, int32_t op,
                                   int32_t layer);

/**
 * @brief Applies an operator: `out = F(s)` (sync) or `out = G(s)` (even-odd).
 * @param out `batch x dim` floats (dim from ham_model_state_dim())
 * @param batch number of samples, > 0
 * @param x `batch x N_0` inputs for a clamped model, NULL otherwise
 * @param s `batch x dim` states
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (batch, x given to a free-input
 *   model), ::HAM_ERR_UNKNOWN_OPERATOR, ::HAM_ERR_NONFINITE, ::HAM_ERR_NOMEM.
 * Allocates a workspace per call: solvers use a preallocated one instead.
 */
HAM_API int ham_model_apply(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                            const float *x, const float *s);

/** @brief Jacobian-vector product `out = J(s) v` of an operator, one tangent `v` per sample.
 *  @return as ham_model_apply() (::HAM_ERR_NULL also for `v`, ::HAM_ERR_NONFINITE also for
 *  NaN or infinity in `v`). */
HAM_API int ham_model_jvp(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                          const float *x, const float *s, const float *v);

/** @brief Vector-Jacobian product `out = J(s)^T v` of an operator, one `v` per sample.
 *  @return as ham_model_jvp(). */
HAM_API int ham_model_vjp(float *out, const ham_model_t *model, int32_t op, int32_t batch,
                          const float *x, const float *s, const float *v);

/**
 * @brief Energy `E(s; x)` of full states (docs/math.md section 1), one value per sample,
 * accumulated in double precision.
 * @param[out] energy `batch` doubles
 * @param full `batch x dim(HAM_OPERATOR_SYNC)` states
 * @return ::HAM_OK, ::HAM_ERR_NULL (energy, model, full, or x for a clamped model),
 *   ::HAM_ERR_INVALID (batch, x given to a free-input model), ::HAM_ERR_NONFINITE (NaN or
 *   infinity in `x` or `full`), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_energy(double *energy, const ham_model_t *model, int32_t batch,
                             const float *x, const float *full);

/**
 * @brief Full state from an even-odd state: the other parity class is set to its exact
 * conditional optimum `F_other(s_eo)` (the first half-step of `G`).
 * @return ::HAM_OK, ::HAM_ERR_NULL (full, model, eo, or x for a clamped model),
 *   ::HAM_ERR_INVALID (batch, x given to a free-input model), ::HAM_ERR_NONFINITE (NaN or
 *   infinity in `x` or `eo`), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_eo_to_full(float *full, const ham_model_t *model, int32_t batch,
                                 const float *x, const float *eo);

/** @brief Even-odd state taken out of a full state (a copy of the state class's layers).
 *  @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (batch). */
HAM_API int ham_model_full_to_eo(float *eo, const ham_model_t *model, int32_t batch,
                                 const float *full);

/**
 * @brief Records the solver a model is meant to be run with (saved in model files).
 * New models default to ::HAM_OPERATOR_EVEN_ODD, ::HAM_SOLVER_ANDERSON (values of
 * ::ham_solver_kind_t), tolerance 1e-4 and 100 iterations.
 * @param op an operator, @param solver a built-in solver kind,
 * @param tol in (0, 1), @param max_iter >= 1
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_UNKNOWN_OPERATOR, ::HAM_ERR_UNKNOWN_SOLVER,
 *   ::HAM_ERR_INVALID.
 */
HAM_API int ham_model_set_defaults(ham_model_t *model, int32_t op, int32_t solver, double tol,
                                   int32_t max_iter);

/** @brief Reads the solver defaults (any output may be NULL).
 *  @return ::HAM_OK, ::HAM_ERR_NULL (model). */
HAM_API int ham_model_get_defaults(int32_t *op, int32_t *solver, double *tol, int32_t *max_iter,
                                   const ham_model_t *model);

/**
 * @brief Saves a model to a file in the versioned binary format of docs/model-format.md
 * (layer sizes, clamping, Lagrangians and their parameters, solver defaults, weights,
 * biases, CRC-32 checksum; little-endian).
 *
 * The file is written atomically: to a temporary file `PATH.XXXXXX` (six characters
 * from `[A-Za-z0-9]`) in the same directory, flushed with fsync, renamed over `path`, and
 * the directory fsynced, so a crash mid-save leaves the previous file intact and readers
 * never see a half-written one. A save that fails removes its temporary file; a process
 * killed during a save (or a power loss) may leave that one temporary file behind, never
 * under `path` itself: delete stale `PATH.XXXXXX` files when no save is running. A
 * replaced file keeps its permissions; a new one gets 0666 less the umask. The file
 * holds exactly the bytes of ham_model_save_buffer().
 *
 * `path` must be new, a regular file or a symbolic link (the link is replaced by the
 * file; its target is left as it was). Anything else, a directory, a FIFO, a device
 * (as root, `/dev/null` would otherwise be replaced by a regular file) or a socket, is
 * refused with ::HAM_ERR_IO before anything is written.
 * @param model the model to save
 * @param path the file to create or replace
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_IO (empty path, not a regular file or
 *   symbolic link, cannot create, write, fsync or rename the file, or fsync its
 *   directory: then the new file is in place but its rename may not be durable),
 *   ::HAM_ERR_UNSUPPORTED (a layer has a custom Lagrangian, whose callbacks cannot be
 *   saved), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_save(const ham_model_t *model, const char *path);

/**
 * @brief Loads a model saved by ham_model_save().
 *
 * Opens `path` without blocking and refuses anything but a regular file (::HAM_ERR_IO),
 * checks the magic, version and declared length against the file's size before reading
 * the rest, then decodes the whole file as ham_model_load_buffer() does.
 * @param[out] model the new model; NULL on failure
 * @param path the model file
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_IO, ::HAM_ERR_FORMAT (bad magic, unsupported
 *   format version, truncated, checksum mismatch, impossible sizes or values),
 *   ::HAM_ERR_NOMEM. Never crashes on a damaged file.
 */
HAM_API int ham_model_load(ham_model_t **model, const char *path);

/**
 * @brief Encodes a model into memory: the exact bytes ham_model_save() writes to a file
 * (docs/model-format.md), for embedding, bindings and transport without a file system.
 *
 * Call it once with `buf` NULL to learn the size, allocate, and call it again:
 * @code
 * size_t n = 0;
 * ham_model_save_buffer(NULL, &n, model);
 * void *buf = malloc(n);
 * ham_model_save_buffer(buf, &n, model);
 * @endcode
 * @param[out] buf where the encoding is written, or NULL to query the size only
 * @param[in,out] size with `buf` NULL: set to the bytes the model needs (its value on
 *   entry is ignored). With `buf`: on entry the capacity of `buf`; on success the bytes
 *   written; when the capacity is too small, set to the bytes needed (nothing is written).
 *   Left unchanged by the other errors.
 * @param model the model to encode
 * @return ::HAM_OK, ::HAM_ERR_NULL (`size` or `model`), ::HAM_ERR_DIMENSION (`*size` is
 *   smaller than the encoding; `*size` now holds its length), ::HAM_ERR_UNSUPPORTED (a
 *   layer has a custom Lagrangian, whose callbacks cannot be saved), ::HAM_ERR_NOMEM (the
 *   encoding is longer than `SIZE_MAX`: only where `size_t` is narrower than 64 bits).
 */
HAM_API int ham_model_save_buffer(void *buf, size_t *size, const ham_model_t *model);

/**
 * @brief Decodes a model from memory: the bytes of ham_model_save_buffer() or of a
 * model file.
 *
 * Applies every check of ham_model_load() (magic, format version, declared length, which
 * must equal `size`, so trailing bytes are refused; CRC-32; field ranges; layer sizes
 * that add up to `size`; finite weights and biases). It never reads outside
 * `[buf, buf + size)`, never crashes on any input, needs no alignment of `buf`, and
 * allocates only what the layer sizes need once they are checked against `size`, so a
 * forged header cannot make it allocate more than the buffer could fill. `buf` is
 * borrowed for the call only. Messages (ham_last_error()) start with "model buffer: ".
 * @param[out] model the new model; NULL on failure
 * @param buf the encoding; may be NULL only when `size` is 0
 * @param size length of the encoding in bytes
 * @return ::HAM_OK, ::HAM_ERR_NULL (`model`, or `buf` with `size` > 0), ::HAM_ERR_FORMAT
 *   (bad magic, unsupported format version, truncated or padded, checksum mismatch,
 *   impossible sizes or values), ::HAM_ERR_NOMEM.
 */
HAM_API int ham_model_load_buffer(ham_model_t **model, const void *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_MODEL_H */
