/**
 * @file common.h
 * @brief Export macro, version, status codes and error strings shared by every libhamdeq object.
 *
 * Every fallible call returns an `int` status: ::HAM_OK (0) on success, a negative
 * ::ham_status_t on failure, and then ham_last_error() says what failed.
 */
#ifndef HAMDEQ_COMMON_H
#define HAMDEQ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"

/** @def HAM_API
 *  Marks a function exported by libhamdeq; every other symbol of the library is hidden. */
#if defined(_WIN32) && defined(HAMDEQ_BUILDING)
#define HAM_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define HAM_API __attribute__((visibility("default")))
#else
#define HAM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Status codes returned by every fallible libhamdeq call: ::HAM_OK (0) or a negative
 * error. Values are pinned forever: a code is never renumbered or reused, and new codes
 * take the next free negative value. ham_strerror() and ham_status_name() describe them.
 */
typedef enum ham_status {
    HAM_OK = 0, /**< success */
    HAM_ERR_NULL = -1, /**< a required pointer argument is NULL */
    HAM_ERR_INVALID = -2, /**< an argument or option value is out of its documented range */
    HAM_ERR_DIMENSION = -3, /**< array sizes or dimensions do not match the model */
    HAM_ERR_NOMEM = -4, /**< out of memory */
    HAM_ERR_NONFINITE = -5, /**< the input contains NaN or infinity */
    HAM_ERR_UNKNOWN_LAGRANGIAN = -6, /**< unknown Lagrangian kind */
    HAM_ERR_UNKNOWN_SOLVER = -7, /**< unknown solver kind */
    HAM_ERR_UNKNOWN_OPERATOR = -8, /**< unknown operator kind */
    HAM_ERR_UNKNOWN_OPTION = -9, /**< unknown option */
    HAM_ERR_UNSUPPORTED = -10, /**< the operation is not supported by this model or solver */
    HAM_ERR_STRUCT_SIZE = -11, /**< a size-prefixed struct has an unknown size or a non-zero unknown tail */
    HAM_ERR_CANCELLED = -12, /**< the user callback asked to stop */
    HAM_ERR_NUMERIC = -13, /**< a numerical routine failed */
    HAM_ERR_CALLBACK = -14, /**< a user-supplied callback reported failure */
    HAM_ERR_IO = -15, /**< an input/output operation failed */
    HAM_ERR_FORMAT = -16 /**< a file is malformed, truncated or of an unsupported version */
} ham_status_t;

/**
 * @brief Static English description of a status code.
 * @param status a ::ham_status_t value (any int is accepted)
 * @return never NULL; "unknown status" for values libhamdeq does not define.
 * Thread-safe.
 */
HAM_API const char *ham_strerror(int status);

/**
 * @brief Name of a status code, e.g. "HAM_ERR_NULL".
 * @param status a ::ham_status_t value (any int is accepted)
 * @return never NULL: a static string; "HAM_UNKNOWN" for undefined values.
 * Thread-safe.
 */
HAM_API const char *ham_status_name(int status);

/**
 * @brief The calling thread's message about its most recent failing libhamdeq call.
 *
 * Every call that returns a negative status sets it, on the thread that made the call,
 * to one line about that failure (which argument, which file, which sample); calls that
 * succeed leave it as it was. Read it right after the failing call, on the same thread.
 * @return never NULL; "" when this thread has had no failure. The string is owned by
 *   the library and valid until this thread's next failing call.
 */
HAM_API const char *ham_last_error(void);

/**
 * @brief Version of the loaded library as 10000*major + 100*minor + patch.
 *
 * Compare it with ::HAM_VERSION_NUMBER, the version of the headers compiled against.
 * Thread-safe.
 * @return e.g. 100 for 0.1.0; never fails.
 */
HAM_API uint32_t ham_version(void);

/**
 * @brief Version of the loaded library as a string. Thread-safe.
 * @return a static string such as "0.1.0" (::HAM_VERSION_STRING of the library's own
 *   build); never NULL.
 */
HAM_API const char *ham_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* HAMDEQ_COMMON_H */
