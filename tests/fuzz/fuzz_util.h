/* Shared by the fuzz harnesses (tests/fuzz/README.md): a regular file holding given
 * bytes, for the loaders that take paths, and the checks every failing call must pass. */
#ifndef HAMDEQ_FUZZ_UTIL_H
#define HAMDEQ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point, defined by each harness; fuzz_replay.c calls it when the
 * harness is built as a plain program. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs that loaded (a model, a dataset) so far: the replay checks that the seed
 * corpus still reaches past the loaders' checks. */
extern long fz_loaded;

/* One reusable in-memory regular file (memfd; a temporary file where memfd is missing):
 * fz_file_set replaces its content and returns a path that opens it. */
typedef struct fz_file {
    int fd;
    char path[64];
} fz_file_t;

const char *fz_file_set(fz_file_t *f, const uint8_t *data, size_t size);

/* Aborts (a finding) unless rc is a known status and, for a failure, ham_last_error() is
 * one non-empty line. `what` names the call. */
void fz_check_status(int rc, const char *what);

/* Aborts with a message: a property the harness checks does not hold. */
void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* The options a harness input selects with two bits: the default limit, 64 bytes,
 * 4 KiB, or no limit. Returns NULL for the default (passing NULL, as most callers do). */
struct ham_load_options;
const struct ham_load_options *fz_load_options(unsigned selector);

/* Reads samples back from a loaded dataset (up to 1024, evenly spread, the last one
 * included) and checks them: finite values, labels in [0, n_classes), consistent counts. */
struct ham_dataset;
void fz_check_dataset(const struct ham_dataset *ds, int labelled);

/* Splits a framed input: byte 0 flags (bit 0: a second file; bits 1-2: the limit
 * selector), bytes 1-2 the first file's length (little-endian, clamped), then the first
 * file, then the second. Returns 0 when the input is shorter than the 3-byte frame. */
typedef struct fz_frame {
    unsigned flags;
    const uint8_t *first, *second;
    size_t first_len, second_len;
} fz_frame_t;

int fz_split(fz_frame_t *fr, const uint8_t *data, size_t size);

/* One dataset-loader input (fuzz_idx.c, fuzz_npy.c): split the frame into the data file
 * and, with flag bit 0, the labels file, load them with `load`, require a known status
 * with a one-line message (only FORMAT or NOMEM), and check what loads. */
typedef int (*fz_dataset_loader_t)(struct ham_dataset **dataset, const char *data,
                                   const char *labels, const struct ham_load_options *options);
int fz_dataset_one(const uint8_t *data, size_t size, fz_dataset_loader_t load,
                   const char *name);

#endif /* HAMDEQ_FUZZ_UTIL_H */
