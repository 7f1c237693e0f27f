/**
 * @file data.h
 * @brief ham_dataset_t: labelled image data read from IDX (MNIST family, raw or gzip) or
 * NumPy .npy files, kept compactly in memory and handed out as float batches.
 *
 * Pixels stored as uint8 stay uint8 in memory (a 60,000-image Fashion-MNIST training set
 * is 47 MB, not 188) and are scaled to [0, 1] (divided by 255) when a batch is copied
 * out; float32 data is kept and handed out as is.
 *
 * On failure, ham_last_error() says what is wrong with which file. A dataset is read-only
 * after loading and may be shared by threads.
 */
#ifndef HAMDEQ_DATA_H
#define HAMDEQ_DATA_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque dataset handle. */
typedef struct ham_dataset ham_dataset_t;

/** Default of ham_load_options_t.max_bytes: 2 GiB. */
#define HAM_LOAD_DEFAULT_MAX_BYTES ((uint64_t)1 << 31)

/**
 * Options of the dataset loaders: a size-prefixed struct. Zero it, set `size` to
 * `sizeof(ham_load_options_t)` and the fields you want; a zero field means its default.
 * Passing NULL instead of a struct gives every default.
 */
typedef struct ham_load_options {
    /** `sizeof(ham_load_options_t)` as the caller was compiled with it. */
    uint32_t size;
    /** Reserved: must be 0. */
    uint32_t flags;
    /**
     * Most bytes one load may allocate for the data: every buffer whose size the files
     * decide (pixel or sample data, labels, a .npy header) is counted against it before it
     * is allocated, including buffers freed before the load returns, so the load's peak
     * stays below it. A load that would need more fails with ::HAM_ERR_NOMEM and a message
     * that names the limit, before allocating beyond it. Not counted: fixed-size state
     * (the handle, zlib's buffers: under 1 MiB). 0: ::HAM_LOAD_DEFAULT_MAX_BYTES (2 GiB);
     * `UINT64_MAX`: no limit beyond the format's own (2^32 values).
     */
    uint64_t max_bytes;
} ham_load_options_t;

/**
 * @brief Loads images (and optionally labels) from IDX files, raw or gzip-compressed
 * (detected from the content, not the name).
 *
 * A path that names something other than a regular file (a FIFO, a device, a
 * directory) is refused without blocking. A forged header never causes an allocation
 * larger than the file can fill (raw files) or than `options->max_bytes` (any file).
 * @param[out] dataset the new dataset; NULL on failure
 * @param images path of an IDX file of unsigned bytes with 2 or more dimensions
 *   (n x rows x cols ...): each sample is flattened
 * @param labels path of an IDX file of n unsigned bytes, or NULL
 * @param options the load's limits, or NULL for the defaults (see ::ham_load_options_t)
 * @return ::HAM_OK;
 *   ::HAM_ERR_NULL (dataset or images is NULL);
 *   ::HAM_ERR_STRUCT_SIZE (options->size below the first version's, or a non-zero field
 *   unknown to this library); ::HAM_ERR_INVALID (options->flags not 0);
 *   ::HAM_ERR_IO (cannot open or read, not a regular file);
 *   ::HAM_ERR_FORMAT (bad magic, unsupported element type, wrong number of dimensions,
 *   truncated, corrupt gzip data, data after the declared elements, count mismatch
 *   between images and labels, absurd dimensions: more than 2^31 - 1 values per sample
 *   or 2^32 in all);
 *   ::HAM_ERR_NOMEM (out of memory, or the data needs more than options->max_bytes).
 */
HAM_API int ham_dataset_load_idx(ham_dataset_t **dataset, const char *images,
                                 const char *labels, const ham_load_options_t *options);

/**
 * @brief Loads samples (and optionally labels) from NumPy .npy files (format 1.0-3.0,
 * C order, little-endian; gzip-compressed files are accepted too).
 * @param[out] dataset the new dataset; NULL on failure
 * @param samples `<f4` (float32, finite) or `|u1` (uint8; `<u1` and `u1` also accepted)
 *   array with 2 or more dimensions; each sample (first axis) is flattened
 * @param labels 1-D array of `|u1`, `<i4` or `<i8` class indices in [0, 2^31 - 1), or NULL
 * @param options the load's limits, or NULL for the defaults (see ::ham_load_options_t)
 * @return as ham_dataset_load_idx(); Fortran order, big-endian or other dtypes, NaN or
 *   infinite samples and labels out of range are ::HAM_ERR_FORMAT.
 */
HAM_API int ham_dataset_load_npy(ham_dataset_t **dataset, const char *samples,
                                 const char *labels, const ham_load_options_t *options);

/**
 * @brief Loads one split of an MNIST-style directory: `DIR/{split}-images-idx3-ubyte` and
 * `DIR/{split}-labels-idx1-ubyte`, each with or without `.gz`.
 * @param[out] dataset the new dataset; NULL on failure
 * @param dir the directory
 * @param split "train" or "t10k" (any name is accepted and used as the file prefix)
 * @param options the load's limits, or NULL for the defaults (see ::ham_load_options_t)
 * @return as ham_dataset_load_idx() (::HAM_ERR_NULL also for a NULL dir or split);
 *   ::HAM_ERR_IO names the file when neither form exists.
 */
HAM_API int ham_dataset_load_dir(ham_dataset_t **dataset, const char *dir, const char *split,
                                 const ham_load_options_t *options);

/** @brief Frees a dataset; NULL is a no-op. */
HAM_API void ham_dataset_free(ham_dataset_t *dataset);

/** @brief Number of samples (0 for NULL). */
HAM_API int64_t ham_dataset_count(const ham_dataset_t *dataset);

/** @brief Values per sample, e.g. 784 for 28 x 28 images (0 for NULL). */
HAM_API int32_t ham_dataset_dim(const ham_dataset_t *dataset);

/** @brief 1 if the dataset has labels, 0 otherwise. */
HAM_API int32_t ham_dataset_has_labels(const ham_dataset_t *dataset);

/** @brief Number of classes: largest label + 1 (0 without labels). */
HAM_API int32_t ham_dataset_n_classes(const ham_dataset_t *dataset);

/**
 * @brief Copies samples `first .. first+count-1` out as floats (uint8 data divided by 255).
 * @param x `count x dim` floats
 * @param labels `count` labels, or NULL (must be NULL for an unlabelled dataset)
 * @return ::HAM_OK, ::HAM_ERR_NULL, ::HAM_ERR_INVALID (range outside the data, count <= 0,
 *   labels requested from an unlabelled dataset).
 */
HAM_API int ham_dataset_get(float *x, int32_t *labels, const ham_dataset_t *dataset,
                            int64_t first, int32_t count);

/**
 * @brief Same as ham_dataset_get() for an arbitrary list of sample indices (shuffled
 * mini-batches). Every index is checked before anything is written.
 * @return ::HAM_OK, ::HAM_ERR_NULL (x, dataset or indices), ::HAM_ERR_INVALID (count <= 0,
 *   an index outside the data, labels requested from an unlabelled dataset).
 */
HAM_API int ham_dataset_gather(float *x, int32_t *labels, const ham_dataset_t *dataset,
                               const int64_t *indices, int32_t count);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_DATA_H */
