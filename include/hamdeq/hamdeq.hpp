/**
 * @file hamdeq.hpp
 * @brief Header-only C++ layer (C++11 and later) over the libhamdeq C API (namespace
 * `hamdeq`).
 *
 * Nothing here is compiled into the library: this header calls the C functions of
 * <hamdeq/hamdeq.h> and links against libhamdeq like any C program.
 *
 * - **Errors** are exceptions: every C call that fails throws hamdeq::error, carrying the
 *   status, its name (`"HAM_ERR_NULL"`) and the message of ham_last_error(), read right
 *   after the failing call on the same thread.
 * - **Sizes are checked before C sees them**: arrays are passed as hamdeq::span (a
 *   pointer and a size; built implicitly from `{pointer, size}`, `std::vector`,
 *   `std::array` and C arrays), and a size that does not match the model throws
 *   hamdeq::error with status Status::dimension (message starting with "hamdeq.hpp: ")
 *   without calling the library. The batch is the state's size over the state length.
 * - **Handles are RAII**: Model is reference-counted as the C model is (a copy is
 *   ham_model_ref(), a deep copy is Model::clone()); Solver, Trainer and Dataset are
 *   move-only. Trainer::solver() is a borrowed SolverView, valid while the trainer lives.
 *   As in C, solvers and trainers hold their own reference to the model, so any
 *   destruction order is valid.
 * - **Enums** are `enum class` over the pinned `int32_t` values of the C headers (checked
 *   by static_assert).
 * - **Callbacks** (the iteration callback, the convergence test, custom Lagrangians and
 *   solver backends) are C++ callables or classes. An exception thrown by one is caught
 *   in the C trampoline (nothing ever unwinds through C), stored, the C call is stopped
 *   the way the C API documents, and the exception is rethrown when the C call has
 *   returned. Custom Lagrangians return no status: their exception is kept in the
 *   object (CustomLagrangian::rethrow_if_failed()) and the samples it reached diverge.
 *
 * Threading is the C API's (docs/api.md): one thread at a time per Solver, Trainer and
 * non-const Model use; Model copies share one model.
 *
 * Requires C++11 or later (tests/hamdeq_hpp.cpp is built as C++11 and C++17); compiles
 * cleanly with -Wall -Wextra -pedantic -Werror.
 */
#ifndef HAMDEQ_HAMDEQ_HPP
#define HAMDEQ_HAMDEQ_HPP

#include "hamdeq.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace hamdeq {

// ---------------------------------------------------------------------------------------
// Enumerations over the pinned C values
// ---------------------------------------------------------------------------------------

/** Status codes (::ham_status_t). */
enum class Status : int32_t {
    ok = HAM_OK,
    null = HAM_ERR_NULL,
    invalid = HAM_ERR_INVALID,
    dimension = HAM_ERR_DIMENSION,
    nomem = HAM_ERR_NOMEM,
    nonfinite = HAM_ERR_NONFINITE,
    unknown_lagrangian = HAM_ERR_UNKNOWN_LAGRANGIAN,
    unknown_solver = HAM_ERR_UNKNOWN_SOLVER,
    unknown_operator = HAM_ERR_UNKNOWN_OPERATOR,
    unknown_option = HAM_ERR_UNKNOWN_OPTION,
    unsupported = HAM_ERR_UNSUPPORTED,
    struct_size = HAM_ERR_STRUCT_SIZE,
    cancelled = HAM_ERR_CANCELLED,
    numeric = HAM_ERR_NUMERIC,
    callback = HAM_ERR_CALLBACK,
    io = HAM_ERR_IO,
    format = HAM_ERR_FORMAT
};

/** Whether layer 0 is clamped to the input (::ham_model_flags_t). */
enum class Input : uint32_t {
    free = HAM_MODEL_FREE_INPUT,
    clamped = HAM_MODEL_CLAMPED_INPUT
};

/** The operator whose fixed point is solved (::ham_operator_t). */
enum class Operator : int32_t {
    sync = HAM_OPERATOR_SYNC,
    even_odd = HAM_OPERATOR_EVEN_ODD
};

/** Solver backends (::ham_solver_kind_t). */
enum class SolverKind : int32_t {
    picard = HAM_SOLVER_PICARD,
    anderson = HAM_SOLVER_ANDERSON,
    broyden = HAM_SOLVER_BROYDEN,
    newton = HAM_SOLVER_NEWTON,
    custom = HAM_SOLVER_CUSTOM
};

/** Solver options (::ham_option_t). */
enum class Option : int32_t {
    tol = HAM_OPT_TOL,
    max_iter = HAM_OPT_MAX_ITER,
    warm_start = HAM_OPT_WARM_START,
    dt = HAM_OPT_DT,
    anderson_m = HAM_OPT_ANDERSON_M,
    anderson_beta = HAM_OPT_ANDERSON_BETA,
    anderson_lambda = HAM_OPT_ANDERSON_LAMBDA,
    anderson_safeguard = HAM_OPT_ANDERSON_SAFEGUARD,
    broyden_m = HAM_OPT_BROYDEN_M,
    newton_linesearch = HAM_OPT_NEWTON_LINESEARCH,
    newton_max_dim = HAM_OPT_NEWTON_MAX_DIM,
    divergence = HAM_OPT_DIVERGENCE,
    newton_krylov_dim = HAM_OPT_NEWTON_KRYLOV_DIM,
    newton_forcing = HAM_OPT_NEWTON_FORCING,
    fixed_iters = HAM_OPT_FIXED_ITERS,
    atol = HAM_OPT_ATOL,
    attractor_safe = HAM_OPT_ATTRACTOR_SAFE,
    stability_check = HAM_OPT_STABILITY_CHECK
};

/** Layer Lagrangians (::ham_lagrangian_kind_t). */
enum class Lagrangian : int32_t {
    shifted_sigmoid = HAM_LAGRANGIAN_SHIFTED_SIGMOID,
    sigmoid = HAM_LAGRANGIAN_SIGMOID,
    tanh = HAM_LAGRANGIAN_TANH,
    identity = HAM_LAGRANGIAN_IDENTITY,
    softmax = HAM_LAGRANGIAN_SOFTMAX,
    custom = HAM_LAGRANGIAN_CUSTOM
};

/** Final status of one sample (::ham_sample_status_t). */
enum class SampleStatus : int32_t {
    converged = HAM_SAMPLE_CONVERGED,
    max_iter = HAM_SAMPLE_MAX_ITER,
    diverged = HAM_SAMPLE_DIVERGED,
    unstable = HAM_SAMPLE_UNSTABLE
};

/** Training losses (::ham_loss_t). */
enum class Loss : int32_t {
    mse = HAM_LOSS_MSE,
    cross_entropy = HAM_LOSS_CROSS_ENTROPY
};

/** Optimisers (::ham_optimizer_t). */
enum class Optimizer : int32_t {
    sgd = HAM_OPTIMIZER_SGD,
    adam = HAM_OPTIMIZER_ADAM,
    madam = HAM_OPTIMIZER_MADAM
};

/** How gradients are formed (::ham_gradient_t). */
enum class Gradient : int32_t {
    implicit = HAM_GRADIENT_IMPLICIT,
    recurrent = HAM_GRADIENT_RECURRENT
};

/** Trainer options (::ham_train_option_t). */
enum class TrainOption : int32_t {
    loss = HAM_TRAIN_LOSS,
    optimizer = HAM_TRAIN_OPTIMIZER,
    lr = HAM_TRAIN_LR,
    momentum = HAM_TRAIN_MOMENTUM,
    adam_beta1 = HAM_TRAIN_ADAM_BETA1,
    adam_beta2 = HAM_TRAIN_ADAM_BETA2,
    adam_eps = HAM_TRAIN_ADAM_EPS,
    madam_scale = HAM_TRAIN_MADAM_SCALE,
    madam_gbound = HAM_TRAIN_MADAM_GBOUND,
    madam_biases = HAM_TRAIN_MADAM_BIASES,
    gradient = HAM_TRAIN_GRADIENT,
    backward_solver = HAM_TRAIN_BACKWARD_SOLVER,
    backward_iters = HAM_TRAIN_BACKWARD_ITERS,
    backward_tol = HAM_TRAIN_BACKWARD_TOL
};

// The values are pinned by the C API; these fail to compile if a header ever disagrees.
static_assert(static_cast<int32_t>(Status::format) == -16, "pinned status value");
static_assert(static_cast<int32_t>(Operator::even_odd) == 1, "pinned operator value");
static_assert(static_cast<int32_t>(SolverKind::newton) == 3, "pinned solver value");
static_assert(static_cast<int32_t>(SolverKind::custom) == 100, "pinned solver value");
static_assert(static_cast<int32_t>(Option::atol) == 15, "pinned option value");
static_assert(static_cast<int32_t>(Lagrangian::softmax) == 4, "pinned Lagrangian value");
static_assert(static_cast<int32_t>(Lagrangian::custom) == 100, "pinned Lagrangian value");
static_assert(static_cast<int32_t>(SampleStatus::diverged) == 2, "pinned sample status");
static_assert(static_cast<int32_t>(Loss::cross_entropy) == 1, "pinned loss value");
static_assert(static_cast<int32_t>(Optimizer::madam) == 2, "pinned optimiser value");
static_assert(static_cast<int32_t>(Gradient::recurrent) == 1, "pinned gradient value");
static_assert(static_cast<int32_t>(TrainOption::backward_tol) == 13, "pinned option value");

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** Static English description of a status (ham_strerror()). */
inline const char *strerror(int status) noexcept { return ham_strerror(status); }
/** @overload */
inline const char *strerror(Status status) noexcept
{
    return ham_strerror(static_cast<int>(status));
}
/** Name of a status, e.g. "HAM_ERR_NULL" (ham_status_name()). */
inline const char *status_name(int status) noexcept { return ham_status_name(status); }
/** @overload */
inline const char *status_name(Status status) noexcept
{
    return ham_status_name(static_cast<int>(status));
}
/** This thread's message about its last failing libhamdeq call (ham_last_error()). */
inline std::string last_error() { return std::string(ham_last_error()); }

/**
 * The exception every failure throws: a libhamdeq status, its name and a message.
 *
 * For a failing C call the message is ham_last_error() read right after the call; for a
 * size check of this header it starts with "hamdeq.hpp: " and the status is
 * Status::dimension (or Status::invalid for a count that does not fit in int32_t).
 * what() is "NAME: message".
 */
class error : public std::runtime_error {
public:
    error(int status, const std::string &message)
        : std::runtime_error(std::string(ham_status_name(status)) + ": " + message),
          status_(status), name_(ham_status_name(status)), message_(message)
    {
    }
    /** The status as the enum. */
    Status status() const noexcept { return static_cast<Status>(status_); }
    /** The status as the C int. */
    int code() const noexcept { return status_; }
    /** The status's name, e.g. "HAM_ERR_DIMENSION". */
    const std::string &name() const noexcept { return name_; }
    /** The message alone (ham_last_error() or the header's own). */
    const std::string &message() const noexcept { return message_; }

private:
    int status_;
    std::string name_;
    std::string message_;
};

namespace detail {

/** std::make_unique for C++11 (it came with C++14). */
template <class T, class... Args> std::unique_ptr<T> make_unique(Args &&...args)
{
    return std::unique_ptr<T>(new T(std::forward<Args>(args)...));
}

/** Throws hamdeq::error for a negative status, reading ham_last_error() first. */
inline void check(int status)
{
    if (status < 0)
        throw error(status, ham_last_error());
}

[[noreturn]] inline void dim_error(const std::string &msg)
{
    throw error(HAM_ERR_DIMENSION, "hamdeq.hpp: " + msg);
}

[[noreturn]] inline void invalid_error(const std::string &msg)
{
    throw error(HAM_ERR_INVALID, "hamdeq.hpp: " + msg);
}

inline void expect_size(const char *fn, const char *what, std::size_t got, std::size_t want)
{
    if (got != want)
        dim_error(std::string(fn) + ": " + what + " has " + std::to_string(got) +
                  " values, expected " + std::to_string(want));
}

inline int32_t to_i32(const char *fn, const char *what, std::size_t n)
{
    if (n > static_cast<std::size_t>(std::numeric_limits<int32_t>::max()))
        invalid_error(std::string(fn) + ": " + what + " (" + std::to_string(n) +
                      ") does not fit in int32_t");
    return static_cast<int32_t>(n);
}

/** The batch of `n` values in rows of `dim`: n must be a positive multiple of dim. */
inline int32_t batch_of(const char *fn, const char *what, std::size_t n, int32_t dim)
{
    if (dim <= 0)
        invalid_error(std::string(fn) + ": state length " + std::to_string(dim));
    if (n == 0 || n % static_cast<std::size_t>(dim) != 0)
        dim_error(std::string(fn) + ": " + what + " has " + std::to_string(n) +
                  " values, not a positive multiple of the row length " + std::to_string(dim));
    return to_i32(fn, "batch", n / static_cast<std::size_t>(dim));
}

inline std::string str_or_empty(const char *s) { return s ? std::string(s) : std::string(); }

} // namespace detail

// ---------------------------------------------------------------------------------------
// span: a pointer and a size (std::span is C++20)
// ---------------------------------------------------------------------------------------

/**
 * A contiguous array the caller owns: a pointer and a count of elements. Built
 * implicitly from `{pointer, count}`, a `std::vector`, a `std::array` or a C array (and
 * span<T> converts to span<const T>). An empty span is passed to C as NULL.
 */
template <class T> class span {
public:
    using element_type = T;
    using value_type = typename std::remove_cv<T>::type;

    constexpr span() noexcept = default;
    constexpr span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <std::size_t N> constexpr span(T (&a)[N]) noexcept : data_(a), size_(N) {}
    template <class U, class A,
              class = typename std::enable_if<
                  std::is_convertible<U (*)[], T (*)[]>::value>::type>
    span(std::vector<U, A> &v) noexcept : data_(v.data()), size_(v.size())
    {
    }
    template <class U, class A,
              class = typename std::enable_if<
                  std::is_convertible<const U (*)[], T (*)[]>::value>::type>
    span(const std::vector<U, A> &v) noexcept : data_(v.data()), size_(v.size())
    {
    }
    template <class U, std::size_t N,
              class = typename std::enable_if<
                  std::is_convertible<U (*)[], T (*)[]>::value>::type>
    constexpr span(std::array<U, N> &a) noexcept : data_(a.data()), size_(N)
    {
    }
    template <class U, std::size_t N,
              class = typename std::enable_if<
                  std::is_convertible<const U (*)[], T (*)[]>::value>::type>
    constexpr span(const std::array<U, N> &a) noexcept : data_(a.data()), size_(N)
    {
    }
    template <class U, class = typename std::enable_if<
                           std::is_convertible<U (*)[], T (*)[]>::value>::type>
    constexpr span(const span<U> &o) noexcept : data_(o.data()), size_(o.size())
    {
    }

    constexpr T *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr T *begin() const noexcept { return data_; }
    constexpr T *end() const noexcept { return data_ + size_; }
    /** The pointer C gets: NULL for an empty span. */
    constexpr T *c_ptr() const noexcept { return size_ ? data_ : nullptr; }

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------
// Version, names, option information
// ---------------------------------------------------------------------------------------

/** Version of the loaded library as 10000*major + 100*minor + patch (ham_version()). */
inline uint32_t version() noexcept { return ham_version(); }
/** Version of the loaded library as a string such as "0.1.0" (ham_version_string()). */
inline std::string version_string() { return std::string(ham_version_string()); }

/** Name of a Lagrangian kind ("shifted-sigmoid", ...); "" for an unknown kind. */
inline std::string lagrangian_name(Lagrangian kind)
{
    return detail::str_or_empty(ham_lagrangian_name(static_cast<int32_t>(kind)));
}
/** Parses a Lagrangian name (ham_lagrangian_from_name()); throws on an unknown name. */
inline Lagrangian lagrangian_from_name(const std::string &name)
{
    int32_t k = 0;
    detail::check(ham_lagrangian_from_name(&k, name.c_str()));
    return static_cast<Lagrangian>(k);
}
/** Name of a solver kind ("picard", ...); "" for an unknown kind. */
inline std::string solver_kind_name(SolverKind kind)
{
    return detail::str_or_empty(ham_solver_kind_name(static_cast<int32_t>(kind)));
}
/** Parses a solver name (ham_solver_kind_from_name()). */
inline SolverKind solver_kind_from_name(const std::string &name)
{
    int32_t k = 0;
    detail::check(ham_solver_kind_from_name(&k, name.c_str()));
    return static_cast<SolverKind>(k);
}
/** Name of an operator ("sync", "even-odd"); "" for an unknown one. */
inline std::string operator_name(Operator op)
{
    return detail::str_or_empty(ham_operator_name(static_cast<int32_t>(op)));
}
/** Parses an operator name (ham_operator_from_name()). */
inline Operator operator_from_name(const std::string &name)
{
    int32_t k = 0;
    detail::check(ham_operator_from_name(&k, name.c_str()));
    return static_cast<Operator>(k);
}

/** Default and bounds of an option. */
struct OptionInfo {
    double default_value = 0;
    double min = 0;
    double max = 0;
};

/** Default and bounds of a solver option (ham_solver_option_info()). */
inline OptionInfo option_info(Option option)
{
    OptionInfo i;
    detail::check(ham_solver_option_info(&i.default_value, &i.min, &i.max,
                                         static_cast<int32_t>(option)));
    return i;
}

/** Default and bounds of a trainer option (ham_trainer_option_info()). */
inline OptionInfo option_info(TrainOption option)
{
    OptionInfo i;
    detail::check(ham_trainer_option_info(&i.default_value, &i.min, &i.max,
                                          static_cast<int32_t>(option)));
    return i;
}

// ---------------------------------------------------------------------------------------
// Custom Lagrangians
// ---------------------------------------------------------------------------------------

/**
 * A user-defined Lagrangian (::ham_lagrangian_def_t): derive, implement value(),
 * activation() and hvp() for one row, and register it with
 * Model::set_custom_lagrangian(), which shares ownership of the object with the model
 * (and its clones) until the last of them lets go.
 *
 * The callbacks may run on several threads at once when solvers in several threads share
 * the model. An exception thrown by one of them does not unwind through the library: it
 * is caught, its output is set to NaN (so the samples it reached end as
 * SampleStatus::diverged, and a training step fails), and the first such exception is
 * kept: rethrow_if_failed() rethrows and clears it.
 */
class CustomLagrangian {
public:
    explicit CustomLagrangian(std::string name = std::string()) : name_(std::move(name)) {}
    virtual ~CustomLagrangian() = default;
    CustomLagrangian(const CustomLagrangian &) = delete;
    CustomLagrangian &operator=(const CustomLagrangian &) = delete;

    /** `L(s)` for one row. */
    virtual double value(span<const float> s) = 0;
    /** `g = grad L(s)` for one row. */
    virtual void activation(span<float> g, span<const float> s) = 0;
    /** `out = H(s) v` for one row, given `s` and its activation `g`. */
    virtual void hvp(span<float> out, span<const float> s, span<const float> g,
                     span<const float> v) = 0;

    /** The short name given at construction ("" for none). */
    const std::string &name() const noexcept { return name_; }
    /** Whether a callback threw since the last rethrow_if_failed(). */
    bool failed() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return static_cast<bool>(failure_);
    }
    /** Rethrows (and forgets) the first exception a callback threw, if any. */
    void rethrow_if_failed()
    {
        std::exception_ptr e;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            std::swap(e, failure_);
        }
        if (e)
            std::rethrow_exception(e);
    }

    /** @cond internal: records a callback's exception (first one wins). */
    void record_failure_(std::exception_ptr e) noexcept
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!failure_)
            failure_ = std::move(e);
    }
    /** @endcond */

private:
    std::string name_;
    mutable std::mutex mutex_;
    std::exception_ptr failure_;
};

namespace detail {

using LagrangianHolder = std::shared_ptr<CustomLagrangian>;

inline void fill_nan(float *p, int32_t n) noexcept
{
    for (int32_t i = 0; i < n; i++)
        p[i] = std::numeric_limits<float>::quiet_NaN();
}

inline double lagrangian_value(const float *s, int32_t n, void *user) noexcept
{
    CustomLagrangian *l = static_cast<LagrangianHolder *>(user)->get();
    try {
        return l->value(span<const float>(s, static_cast<std::size_t>(n)));
    } catch (...) {
        l->record_failure_(std::current_exception());
        return std::numeric_limits<double>::quiet_NaN();
    }
}

inline void lagrangian_activation(float *g, const float *s, int32_t n, void *user) noexcept
{
    CustomLagrangian *l = static_cast<LagrangianHolder *>(user)->get();
    const std::size_t un = static_cast<std::size_t>(n);
    try {
        l->activation(span<float>(g, un), span<const float>(s, un));
    } catch (...) {
        l->record_failure_(std::current_exception());
        fill_nan(g, n);
    }
}

inline void lagrangian_hvp(float *out, const float *s, const float *g, const float *v,
                           int32_t n, void *user) noexcept
{
    CustomLagrangian *l = static_cast<LagrangianHolder *>(user)->get();
    const std::size_t un = static_cast<std::size_t>(n);
    try {
        l->hvp(span<float>(out, un), span<const float>(s, un), span<const float>(g, un),
               span<const float>(v, un));
    } catch (...) {
        l->record_failure_(std::current_exception());
        fill_nan(out, n);
    }
}

inline void lagrangian_destroy(void *user) noexcept
{
    delete static_cast<LagrangianHolder *>(user);
}

} // namespace detail

// ---------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------

/** A layer's Lagrangian: its kind and its parameter (beta for softmax, else 0). */
struct LagrangianInfo {
    Lagrangian kind = Lagrangian::shifted_sigmoid;
    double param = 0;
};

/** The solver a model is meant to be run with (ham_model_set_defaults()). */
struct Defaults {
    Operator op = Operator::even_odd;
    SolverKind solver = SolverKind::anderson;
    double tol = 1e-4;
    int32_t max_iter = 100;
};

/**
 * A layered Hierarchical Associative Memory (::ham_model_t), reference-counted.
 *
 * Copying a Model takes another reference to the same model (ham_model_ref()): copies
 * share weights and every change. clone() makes an independent deep copy. The destructor
 * drops this object's reference. A default-constructed or moved-from Model is empty
 * (get() is NULL); calls on it throw Status::null.
 *
 * Arrays are row-major batches, one row per sample; the batch is deduced from the state
 * array's size. `x` is the `batch x N_0` input of a clamped model and must be empty for
 * a free-input one.
 */
class Model {
public:
    /** An empty model handle. */
    Model() noexcept = default;

    /** A new model with the given layer sizes (ham_model_new()). */
    Model(span<const int32_t> sizes, Input input)
    {
        detail::check(ham_model_new(&h_, detail::to_i32("Model", "layer count", sizes.size()),
                                    sizes.c_ptr(), static_cast<uint32_t>(input)));
    }
    /** @overload */
    Model(std::initializer_list<int32_t> sizes, Input input)
        : Model(span<const int32_t>(sizes.begin(), sizes.size()), input)
    {
    }

    /** Takes over one reference the caller holds (`h` may be NULL). */
    static Model adopt(ham_model_t *h) noexcept
    {
        Model m;
        m.h_ = h;
        return m;
    }
    /** Takes a new reference to a model someone else holds (ham_model_ref()). */
    static Model borrow(const ham_model_t *h) noexcept
    {
        return adopt(ham_model_ref(const_cast<ham_model_t *>(h)));
    }

    /** A Modern Hopfield network storing the rows of `patterns`, each `dim` long
     *  (ham_mhn_new()). */
    static Model mhn(span<const float> patterns, int32_t dim, double beta)
    {
        const int32_t n = detail::batch_of("Model::mhn", "patterns", patterns.size(), dim);
        Model m;
        detail::check(ham_mhn_new(&m.h_, patterns.data(), n, dim, beta));
        return m;
    }

    /** Loads a model file (ham_model_load()). */
    static Model load(const std::string &path)
    {
        Model m;
        detail::check(ham_model_load(&m.h_, path.c_str()));
        return m;
    }

    /** Decodes a model from memory (ham_model_load_buffer()). */
    static Model load_buffer(const void *data, std::size_t size)
    {
        Model m;
        detail::check(ham_model_load_buffer(&m.h_, data, size));
        return m;
    }
    /** @overload */
    static Model load_buffer(span<const unsigned char> bytes)
    {
        return load_buffer(bytes.c_ptr(), bytes.size());
    }

    /** Another reference to the same model (ham_model_ref()). */
    Model(const Model &o) noexcept : h_(ham_model_ref(o.h_)) {}
    Model(Model &&o) noexcept : h_(o.h_) { o.h_ = nullptr; }
    Model &operator=(const Model &o) noexcept
    {
        if (this != &o) {
            ham_model_t *n = ham_model_ref(o.h_);
            ham_model_free(h_);
            h_ = n;
        }
        return *this;
    }
    Model &operator=(Model &&o) noexcept
    {
        if (this != &o) {
            ham_model_free(h_);
            h_ = o.h_;
            o.h_ = nullptr;
        }
        return *this;
    }
    /** Drops this reference (ham_model_free()). */
    ~Model() { ham_model_free(h_); }

    /** The C handle (borrowed). */
    ham_model_t *get() const noexcept { return h_; }
    /** Gives up this object's reference to the caller, leaving the Model empty. */
    ham_model_t *release() noexcept
    {
        ham_model_t *h = h_;
        h_ = nullptr;
        return h;
    }
    explicit operator bool() const noexcept { return h_ != nullptr; }

    /** An independent deep copy (ham_model_clone()). */
    Model clone() const
    {
        Model m;
        detail::check(ham_model_clone(&m.h_, h_));
        return m;
    }

    /** Number of layers (0 for an empty Model). */
    int32_t n_layers() const noexcept { return ham_model_n_layers(h_); }
    /** Size of a layer (0 when out of range). */
    int32_t layer_size(int32_t layer) const noexcept { return ham_model_layer_size(h_, layer); }
    /** All layer sizes. */
    std::vector<int32_t> sizes() const
    {
        std::vector<int32_t> s(static_cast<std::size_t>(n_layers()));
        for (std::size_t i = 0; i < s.size(); i++)
            s[i] = layer_size(static_cast<int32_t>(i));
        return s;
    }
    /** Whether layer 0 is clamped to the input. */
    bool clamped_input() const noexcept { return ham_model_has_clamped_input(h_) != 0; }

    /** Sets a layer's built-in Lagrangian (`param`: beta for softmax). */
    void set_lagrangian(int32_t layer, Lagrangian kind, double param = 0)
    {
        detail::check(ham_model_set_lagrangian(h_, layer, static_cast<int32_t>(kind), param));
    }
    /** Gives a layer a user-defined Lagrangian; the model shares ownership of it. */
    void set_custom_lagrangian(int32_t layer, std::shared_ptr<CustomLagrangian> lagrangian)
    {
        if (!lagrangian)
            throw error(HAM_ERR_NULL, "hamdeq.hpp: Model::set_custom_lagrangian: no Lagrangian");
        auto holder = detail::make_unique<detail::LagrangianHolder>(std::move(lagrangian));
        ham_lagrangian_def_t def = ham_lagrangian_def_t();
        def.size = sizeof def;
        def.flags = 0;
        def.name = (*holder)->name().empty() ? nullptr : (*holder)->name().c_str();
        def.value = &detail::lagrangian_value;
        def.activation = &detail::lagrangian_activation;
        def.hvp = &detail::lagrangian_hvp;
        def.user = holder.get();
        def.destroy = &detail::lagrangian_destroy;
        // A failed registration takes nothing: the holder is then freed here.
        detail::check(ham_model_set_custom_lagrangian(h_, layer, &def));
        holder.release(); // the model owns it now: destroy() deletes it
    }
    /** A layer's Lagrangian and parameter (ham_model_get_lagrangian()). */
    LagrangianInfo lagrangian(int32_t layer) const
    {
        int32_t k = 0;
        LagrangianInfo i;
        detail::check(ham_model_get_lagrangian(&k, &i.param, h_, layer));
        i.kind = static_cast<Lagrangian>(k);
        return i;
    }

    /** Xavier-uniform weights and zero biases from a seed. */
    void init_xavier(uint64_t seed) { detail::check(ham_model_init_xavier(h_, seed)); }

    /** Number of floats in weight block `block` (`N_block x N_{block+1}`). */
    std::size_t weight_count(int32_t block) const
    {
        return static_cast<std::size_t>(layer_size(block)) *
               static_cast<std::size_t>(layer_size(block + 1));
    }
    /** Copies weight block `block` into `out` (size checked). */
    void get_weights(span<float> out, int32_t block) const
    {
        check_block("Model::get_weights", block, out.size());
        detail::check(ham_model_get_weights(out.c_ptr(), h_, block, out.size()));
    }
    /** Weight block `block` as a new vector. */
    std::vector<float> weights(int32_t block) const
    {
        std::vector<float> w(weight_count(block));
        get_weights(w, block);
        return w;
    }
    /** Sets weight block `block` (size checked). */
    void set_weights(int32_t block, span<const float> w)
    {
        check_block("Model::set_weights", block, w.size());
        detail::check(ham_model_set_weights(h_, block, w.c_ptr(), w.size()));
    }
    /** Copies a free layer's bias into `out` (size checked). */
    void get_bias(span<float> out, int32_t layer) const
    {
        check_layer("Model::get_bias", layer, out.size());
        detail::check(ham_model_get_bias(out.c_ptr(), h_, layer, out.size()));
    }
    /** A free layer's bias as a new vector. */
    std::vector<float> bias(int32_t layer) const
    {
        std::vector<float> b(static_cast<std::size_t>(std::max<int32_t>(layer_size(layer), 0)));
        get_bias(b, layer);
        return b;
    }
    /** Sets a free layer's bias (size checked). */
    void set_bias(int32_t layer, span<const float> b)
    {
        check_layer("Model::set_bias", layer, b.size());
        detail::check(ham_model_set_bias(h_, layer, b.c_ptr(), b.size()));
    }

    /** Length of one sample's state for an operator. */
    int32_t state_dim(Operator op) const
    {
        int32_t d = 0;
        detail::check(ham_model_state_dim(&d, h_, static_cast<int32_t>(op)));
        return d;
    }
    /** Where a layer starts inside one sample's state of `op`. */
    int32_t state_offset(Operator op, int32_t layer) const
    {
        int32_t o = 0;
        detail::check(ham_model_state_offset(&o, h_, static_cast<int32_t>(op), layer));
        return o;
    }

    /** `out = F(s)` or `G(s)` for every row of `s` (ham_model_apply()). */
    void apply(span<float> out, Operator op, span<const float> x, span<const float> s) const
    {
        const int32_t b = state_batch("Model::apply", op, s, out.size());
        detail::check(ham_model_apply(out.data(), h_, static_cast<int32_t>(op), b,
                                      input("Model::apply", x, b), s.data()));
    }
    /** @overload returning a new vector */
    std::vector<float> apply(Operator op, span<const float> x, span<const float> s) const
    {
        std::vector<float> out(s.size());
        apply(out, op, x, s);
        return out;
    }
    /** Jacobian-vector product `out = J(s) v`, one tangent per row (ham_model_jvp()). */
    void jvp(span<float> out, Operator op, span<const float> x, span<const float> s,
             span<const float> v) const
    {
        const int32_t b = state_batch("Model::jvp", op, s, out.size());
        detail::expect_size("Model::jvp", "v", v.size(), s.size());
        detail::check(ham_model_jvp(out.data(), h_, static_cast<int32_t>(op), b,
                                    input("Model::jvp", x, b), s.data(), v.data()));
    }
    /** @overload returning a new vector */
    std::vector<float> jvp(Operator op, span<const float> x, span<const float> s,
                           span<const float> v) const
    {
        std::vector<float> out(s.size());
        jvp(out, op, x, s, v);
        return out;
    }
    /** Vector-Jacobian product `out = J(s)^T v` (ham_model_vjp()). */
    void vjp(span<float> out, Operator op, span<const float> x, span<const float> s,
             span<const float> v) const
    {
        const int32_t b = state_batch("Model::vjp", op, s, out.size());
        detail::expect_size("Model::vjp", "v", v.size(), s.size());
        detail::check(ham_model_vjp(out.data(), h_, static_cast<int32_t>(op), b,
                                    input("Model::vjp", x, b), s.data(), v.data()));
    }
    /** @overload returning a new vector */
    std::vector<float> vjp(Operator op, span<const float> x, span<const float> s,
                           span<const float> v) const
    {
        std::vector<float> out(s.size());
        vjp(out, op, x, s, v);
        return out;
    }
    /** Energy of full states, one double per row (ham_model_energy()). */
    void energy(span<double> out, span<const float> x, span<const float> full) const
    {
        const int32_t b = detail::batch_of("Model::energy", "full", full.size(),
                                           state_dim(Operator::sync));
        detail::expect_size("Model::energy", "energy", out.size(), static_cast<std::size_t>(b));
        detail::check(ham_model_energy(out.data(), h_, b, input("Model::energy", x, b),
                                       full.data()));
    }
    /** @overload returning a new vector */
    std::vector<double> energy(span<const float> x, span<const float> full) const
    {
        const int32_t d = state_dim(Operator::sync);
        std::vector<double> e(d > 0 ? full.size() / static_cast<std::size_t>(d) : 0);
        energy(e, x, full);
        return e;
    }
    /** Full states from even-odd states (ham_model_eo_to_full()). */
    void eo_to_full(span<float> full, span<const float> x, span<const float> eo) const
    {
        const int32_t b = detail::batch_of("Model::eo_to_full", "eo", eo.size(),
                                           state_dim(Operator::even_odd));
        detail::expect_size("Model::eo_to_full", "full", full.size(),
                            static_cast<std::size_t>(b) *
                                static_cast<std::size_t>(state_dim(Operator::sync)));
        detail::check(ham_model_eo_to_full(full.data(), h_, b, input("Model::eo_to_full", x, b),
                                           eo.data()));
    }
    /** @overload returning a new vector */
    std::vector<float> eo_to_full(span<const float> x, span<const float> eo) const
    {
        const int32_t de = state_dim(Operator::even_odd);
        std::vector<float> full(de > 0 ? eo.size() / static_cast<std::size_t>(de) *
                                             static_cast<std::size_t>(state_dim(Operator::sync))
                                       : 0);
        eo_to_full(full, x, eo);
        return full;
    }
    /** Even-odd states taken out of full states (ham_model_full_to_eo()). */
    void full_to_eo(span<float> eo, span<const float> full) const
    {
        const int32_t b = detail::batch_of("Model::full_to_eo", "full", full.size(),
                                           state_dim(Operator::sync));
        detail::expect_size("Model::full_to_eo", "eo", eo.size(),
                            static_cast<std::size_t>(b) *
                                static_cast<std::size_t>(state_dim(Operator::even_odd)));
        detail::check(ham_model_full_to_eo(eo.data(), h_, b, full.data()));
    }
    /** @overload returning a new vector */
    std::vector<float> full_to_eo(span<const float> full) const
    {
        const int32_t ds = state_dim(Operator::sync);
        std::vector<float> eo(ds > 0 ? full.size() / static_cast<std::size_t>(ds) *
                                           static_cast<std::size_t>(state_dim(Operator::even_odd))
                                     : 0);
        full_to_eo(eo, full);
        return eo;
    }

    /** Records the solver the model is meant to be run with. */
    void set_defaults(const Defaults &d)
    {
        detail::check(ham_model_set_defaults(h_, static_cast<int32_t>(d.op),
                                             static_cast<int32_t>(d.solver), d.tol, d.max_iter));
    }
    /** The recorded solver defaults. */
    Defaults defaults() const
    {
        int32_t op = 0, solver = 0;
        Defaults d;
        detail::check(ham_model_get_defaults(&op, &solver, &d.tol, &d.max_iter, h_));
        d.op = static_cast<Operator>(op);
        d.solver = static_cast<SolverKind>(solver);
        return d;
    }

    /** Saves the model to a file, atomically (ham_model_save()). */
    void save(const std::string &path) const { detail::check(ham_model_save(h_, path.c_str())); }
    /** Bytes save_buffer() needs. */
    std::size_t buffer_size() const
    {
        std::size_t n = 0;
        detail::check(ham_model_save_buffer(nullptr, &n, h_));
        return n;
    }
    /** Encodes the model into `buf`; returns the bytes written (throws Status::dimension
     *  when `capacity` is too small). */
    std::size_t save_buffer(void *buf, std::size_t capacity) const
    {
        std::size_t n = capacity;
        detail::check(ham_model_save_buffer(buf, &n, h_));
        return n;
    }
    /** The model file's bytes, in memory (ham_model_save_buffer()). */
    std::vector<unsigned char> save_buffer() const
    {
        std::vector<unsigned char> b(buffer_size());
        b.resize(save_buffer(b.data(), b.size()));
        return b;
    }

    /** MHN energy of visible states, one per row (ham_mhn_energy()). */
    void mhn_energy(span<double> out, span<const float> v) const
    {
        const int32_t b = mhn_batch("Model::mhn_energy", v, out.size());
        detail::check(ham_mhn_energy(out.data(), h_, b, v.data()));
    }
    /** @overload returning a new vector */
    std::vector<double> mhn_energy(span<const float> v) const
    {
        std::vector<double> e(mhn_rows(v));
        mhn_energy(e, v);
        return e;
    }
    /** Smallest Hessian eigenvalue of the MHN energy at visible states
     *  (ham_mhn_hessian_min()). */
    void mhn_hessian_min(span<double> out, span<const float> v) const
    {
        const int32_t b = mhn_batch("Model::mhn_hessian_min", v, out.size());
        detail::check(ham_mhn_hessian_min(out.data(), h_, b, v.data()));
    }
    /** @overload returning a new vector */
    std::vector<double> mhn_hessian_min(span<const float> v) const
    {
        std::vector<double> e(mhn_rows(v));
        mhn_hessian_min(e, v);
        return e;
    }
    /** Length of an MHN's visible state (layer 1), checking the MHN layout's shape. */
    int32_t mhn_dim() const
    {
        if (!h_)
            throw error(HAM_ERR_NULL, "hamdeq.hpp: empty Model");
        if (n_layers() != 2 || clamped_input())
            throw error(HAM_ERR_UNSUPPORTED,
                        "hamdeq.hpp: not a Modern Hopfield network (2 free layers)");
        return layer_size(1);
    }

private:
    ham_model_t *h_ = nullptr;

    void check_block(const char *fn, int32_t block, std::size_t n) const
    {
        // Out-of-range blocks (and an empty Model) are left to the library's own check.
        if (h_ && block >= 0 && block + 1 < n_layers())
            detail::expect_size(fn, "weights", n, weight_count(block));
    }
    void check_layer(const char *fn, int32_t layer, std::size_t n) const
    {
        if (h_ && layer >= 0 && layer < n_layers())
            detail::expect_size(fn, "bias", n, static_cast<std::size_t>(layer_size(layer)));
    }
    int32_t state_batch(const char *fn, Operator op, span<const float> s,
                        std::size_t out_size) const
    {
        const int32_t b = detail::batch_of(fn, "s", s.size(), state_dim(op));
        detail::expect_size(fn, "out", out_size, s.size());
        return b;
    }
    /** The input pointer for a batch: `batch x N_0` floats for a clamped model, none
     *  otherwise. */
    const float *input(const char *fn, span<const float> x, int32_t batch) const
    {
        if (clamped_input()) {
            detail::expect_size(fn, "x", x.size(),
                                static_cast<std::size_t>(batch) *
                                    static_cast<std::size_t>(layer_size(0)));
            return x.data();
        }
        if (!x.empty())
            detail::dim_error(std::string(fn) + ": x has " + std::to_string(x.size()) +
                              " values, but the model has no clamped input (pass {})");
        return nullptr;
    }
    std::size_t mhn_rows(span<const float> v) const
    {
        const int32_t d = mhn_dim();
        return d > 0 ? v.size() / static_cast<std::size_t>(d) : 0;
    }
    int32_t mhn_batch(const char *fn, span<const float> v, std::size_t out_size) const
    {
        const int32_t b = detail::batch_of(fn, "v", v.size(), mhn_dim());
        detail::expect_size(fn, "out", out_size, static_cast<std::size_t>(b));
        return b;
    }
};

/** `beta_s = 1 / lambda_max(Cov(X))` of patterns `dim` long (ham_mhn_beta_s()). */
inline double mhn_beta_s(span<const float> patterns, int32_t dim)
{
    const int32_t n = detail::batch_of("mhn_beta_s", "patterns", patterns.size(), dim);
    double b = 0;
    detail::check(ham_mhn_beta_s(&b, patterns.data(), n, dim));
    return b;
}

// ---------------------------------------------------------------------------------------
// Solver
// ---------------------------------------------------------------------------------------

/** Summary of the last solve (::ham_solve_stats_t). */
struct SolveStats {
    int32_t samples = 0;
    int32_t converged = 0;
    int32_t not_converged = 0;
    int32_t diverged = 0;
    int32_t iters_max = 0;
    double iters_mean = 0;
    int64_t evaluations = 0;
    int64_t jacobian_products = 0;
    int32_t unstable = 0;
    int32_t rejected_steps = 0;

    static SolveStats from_c(const ham_solve_stats_t &s) noexcept
    {
        SolveStats r;
        r.samples = s.samples;
        r.converged = s.converged;
        r.not_converged = s.not_converged;
        r.diverged = s.diverged;
        r.iters_max = s.iters_max;
        r.iters_mean = s.iters_mean;
        r.evaluations = s.evaluations;
        r.jacobian_products = s.jacobian_products;
        r.unstable = s.unstable;
        r.rejected_steps = s.rejected_steps;
        return r;
    }
};

/** Per-sample results of the last solve. */
struct Samples {
    std::vector<int32_t> iterations;
    std::vector<double> residual;
    std::vector<SampleStatus> status;
};

/** What the iteration callback sees (a view of ::ham_iter_info_t, valid during the call). */
class IterInfo {
public:
    explicit IterInfo(const ham_iter_info_t &i) noexcept : i_(i) {}
    int32_t iteration() const noexcept { return i_.iteration; }
    int32_t active() const noexcept { return i_.active; }
    int32_t dim() const noexcept { return i_.dim; }
    /** `active` original sample indices. */
    span<const int32_t> sample() const noexcept { return {i_.sample, n()}; }
    /** `active` relative residuals, aligned with sample(). */
    span<const double> residual() const noexcept { return {i_.residual, n()}; }
    /** `active` per-sample evaluation counts so far. */
    span<const int32_t> iterations() const noexcept { return {i_.iterations, n()}; }
    /** `active x dim` current iterates. */
    span<const float> state() const noexcept { return {i_.state, n() * d()}; }
    /** `active x dim` operator outputs. */
    span<const float> output() const noexcept { return {i_.output, n() * d()}; }
    const ham_iter_info_t &raw() const noexcept { return i_; }

private:
    const ham_iter_info_t &i_;
    std::size_t n() const noexcept { return i_.active > 0 ? static_cast<std::size_t>(i_.active) : 0; }
    std::size_t d() const noexcept { return i_.dim > 0 ? static_cast<std::size_t>(i_.dim) : 0; }
};

/** What a convergence test sees (a view of ::ham_conv_info_t, valid during the call). */
class ConvInfo {
public:
    explicit ConvInfo(const ham_conv_info_t &i) noexcept : i_(i) {}
    int32_t sample() const noexcept { return i_.sample; }
    int32_t iterations() const noexcept { return i_.iterations; }
    int32_t dim() const noexcept { return i_.dim; }
    span<const float> state() const noexcept { return {i_.state, d()}; }
    span<const float> output() const noexcept { return {i_.output, d()}; }
    double residual_norm() const noexcept { return i_.residual_norm; }
    double output_norm() const noexcept { return i_.output_norm; }
    double tol() const noexcept { return i_.tol; }
    double atol() const noexcept { return i_.atol; }
    const ham_conv_info_t &raw() const noexcept { return i_; }

private:
    const ham_conv_info_t &i_;
    std::size_t d() const noexcept { return i_.dim > 0 ? static_cast<std::size_t>(i_.dim) : 0; }
};

/** The iteration callback: return true to go on, false to stop the solve (which then
 *  throws Status::cancelled). An exception it throws stops the solve and is rethrown. */
using IterCallback = std::function<bool(const IterInfo &)>;
/** A convergence test: return true when the sample has converged. An exception it throws
 *  aborts the solve and is rethrown. */
using ConvTest = std::function<bool(const ConvInfo &)>;

/** The context of a custom backend's step (::ham_step_t, valid during the step only). */
class Step {
public:
    explicit Step(ham_step_t *s) noexcept : s_(s) {}
    int32_t rows() const noexcept { return ham_step_rows(s_); }
    int32_t dim() const noexcept { return ham_step_dim(s_); }
    /** `out = G(s)` on the step's rows (sizes checked: `rows x dim` each). */
    void apply(span<float> out, span<const float> s) const
    {
        const std::size_t n = static_cast<std::size_t>(rows()) * static_cast<std::size_t>(dim());
        detail::expect_size("Step::apply", "out", out.size(), n);
        detail::expect_size("Step::apply", "s", s.size(), n);
        detail::check(ham_step_apply(s_, out.data(), s.data()));
    }
    ham_step_t *get() const noexcept { return s_; }

private:
    ham_step_t *s_;
};

/**
 * A user-defined solver backend (::ham_solver_def_t) for Solver's custom constructor.
 * The driver evaluates the operator, tests convergence and removes finished rows; the
 * backend proposes the next iterate. Per-row data must be indexed by row and moved by
 * compact(). An exception thrown by init(), reset(), step() or compact() stops the solve
 * (as ::HAM_ERR_CALLBACK in C) and is rethrown by Solver::solve().
 */
class CustomBackend {
public:
    virtual ~CustomBackend() = default;
    /** Prepare for states of length `dim` and up to `max_rows` rows. */
    virtual void init(int32_t dim, int32_t max_rows) = 0;
    /** Release what init() prepared (called by the solver's destructor; must not throw). */
    virtual void fini() noexcept {}
    /** Forget all history before a solve of `rows` rows. */
    virtual void reset(int32_t /*rows*/) {}
    /** Replace each row of `s` by the next iterate, given `gs = G(s)` (`rows x dim`).
     *  Return true when `gs` now holds `G(new s)` (saves the driver an evaluation). */
    virtual bool step(Step &step, span<float> s, span<float> gs, int32_t rows) = 0;
    /** Keep rows `keep` (increasing) and move them to rows `0 .. keep.size()`. */
    virtual void compact(span<const int32_t> /*keep*/) {}
    /** Short name (may be empty). */
    virtual std::string name() const { return std::string(); }
};

namespace detail {

/** Callbacks of one C solver and the exception a callback left for the caller. Heap
 *  allocated so that its address (the C `user`) survives moves of the owner. */
struct SolverHooks {
    IterCallback iter;
    ConvTest conv;
    std::exception_ptr pending;

    void fail(std::exception_ptr e) noexcept
    {
        if (!pending)
            pending = std::move(e);
    }
    /** After a C call: rethrow a callback's exception, else throw for a negative status. */
    void finish(int status)
    {
        if (pending) {
            std::exception_ptr e;
            std::swap(e, pending);
            std::rethrow_exception(e);
        }
        check(status);
    }
};

inline int iter_trampoline(const ham_iter_info_t *info, void *user) noexcept
{
    auto *h = static_cast<SolverHooks *>(user);
    try {
        return h->iter(IterInfo(*info)) ? 0 : 1;
    } catch (...) {
        h->fail(std::current_exception());
        return 1; // stops the solve (HAM_ERR_CANCELLED); the exception is rethrown
    }
}

inline int conv_trampoline(const ham_conv_info_t *info, void *user) noexcept
{
    auto *h = static_cast<SolverHooks *>(user);
    try {
        return h->conv(ConvInfo(*info)) ? 1 : 0;
    } catch (...) {
        h->fail(std::current_exception());
        return HAM_ERR_CALLBACK; // aborts the solve; the exception is rethrown
    }
}

/** Owned by the C solver (its `user`, freed by `destroy`). */
struct BackendHolder {
    std::unique_ptr<CustomBackend> backend;
    std::string name;
    SolverHooks *hooks = nullptr;
    bool deferred_failure = false; // compact() threw: the next step() reports it
};

inline int backend_init(void **state, int32_t dim, int32_t max_rows, void *user) noexcept
{
    auto *h = static_cast<BackendHolder *>(user);
    *state = h;
    try {
        h->backend->init(dim, max_rows);
        return 0;
    } catch (...) {
        h->hooks->fail(std::current_exception());
        return HAM_ERR_CALLBACK;
    }
}

inline void backend_fini(void * /*state*/, void *user) noexcept
{
    static_cast<BackendHolder *>(user)->backend->fini();
}

inline int backend_reset(void * /*state*/, int32_t rows, void *user) noexcept
{
    auto *h = static_cast<BackendHolder *>(user);
    try {
        h->backend->reset(rows);
        return 0;
    } catch (...) {
        h->hooks->fail(std::current_exception());
        return HAM_ERR_CALLBACK;
    }
}

inline int backend_step(void * /*state*/, ham_step_t *step, float *s, float *gs, int32_t rows,
                        void *user) noexcept
{
    auto *h = static_cast<BackendHolder *>(user);
    if (h->deferred_failure) {
        h->deferred_failure = false;
        return HAM_ERR_CALLBACK;
    }
    try {
        Step st(step);
        const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(st.dim());
        return h->backend->step(st, span<float>(s, n), span<float>(gs, n), rows) ? 1 : 0;
    } catch (...) {
        h->hooks->fail(std::current_exception());
        return HAM_ERR_CALLBACK;
    }
}

inline void backend_compact(void * /*state*/, const int32_t *keep, int32_t n_keep,
                            void *user) noexcept
{
    auto *h = static_cast<BackendHolder *>(user);
    try {
        h->backend->compact(span<const int32_t>(keep, static_cast<std::size_t>(n_keep)));
    } catch (...) {
        h->hooks->fail(std::current_exception());
        h->deferred_failure = true;
    }
}

inline void backend_destroy(void *user) noexcept { delete static_cast<BackendHolder *>(user); }

} // namespace detail

/**
 * A non-owning view of a C solver: every solver operation. Solver derives from it, and
 * Trainer::solver() returns one for the trainer's forward solver (borrowed: valid while
 * the trainer lives, like a std::string_view).
 */
class SolverView {
public:
    SolverView() noexcept = default;
    SolverView(ham_solver_t *h, detail::SolverHooks *hooks) noexcept : h_(h), hooks_(hooks) {}

    ham_solver_t *get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

    /** Sets an option (integer options take integral doubles). */
    void set_option(Option option, double value)
    {
        detail::check(ham_solver_set_option(h_, static_cast<int32_t>(option), value));
    }
    /** Reads an option. */
    double option(Option option) const
    {
        double v = 0;
        detail::check(ham_solver_get_option(&v, h_, static_cast<int32_t>(option)));
        return v;
    }

    /** Installs the iteration callback (an empty function removes it). */
    void set_callback(IterCallback callback)
    {
        need_hooks("SolverView::set_callback");
        const bool on = static_cast<bool>(callback);
        hooks_->iter = std::move(callback);
        detail::check(ham_solver_set_callback(h_, on ? &detail::iter_trampoline : nullptr,
                                              on ? hooks_ : nullptr));
    }
    /** Replaces the convergence test (an empty function restores the built-in one). */
    void set_conv_test(ConvTest test)
    {
        need_hooks("SolverView::set_conv_test");
        const bool on = static_cast<bool>(test);
        hooks_->conv = std::move(test);
        detail::check(ham_solver_set_conv_test(h_, on ? &detail::conv_trampoline : nullptr,
                                               on ? hooks_ : nullptr));
    }

    /** The model (a new reference to it). */
    Model model() const { return Model::borrow(ham_solver_model(h_)); }
    /** The kind (SolverKind::custom for a user backend). */
    SolverKind kind() const noexcept { return static_cast<SolverKind>(ham_solver_kind(h_)); }
    /** The operator iterated. */
    Operator op() const noexcept { return static_cast<Operator>(ham_solver_operator(h_)); }
    /** Length of one sample's state. */
    int32_t state_dim() const
    {
        int32_t d = 0;
        detail::check(ham_model_state_dim(&d, ham_solver_model(h_), ham_solver_operator(h_)));
        return d;
    }

    /**
     * Solves the fixed point of every row of `state` (ham_solver_solve()): the batch is
     * `state.size() / state_dim()`, `x` holds `batch x N_0` inputs of a clamped model
     * ({} for a free-input one). `state` is the initial state under Option::warm_start and
     * the final one on return. Non-converged samples are not errors (see stats() and
     * samples()); a callback's exception is rethrown here.
     */
    void solve(span<float> state, span<const float> x = {})
    {
        if (!h_)
            throw error(HAM_ERR_NULL, "hamdeq.hpp: Solver::solve: empty solver");
        const ham_model_t *m = ham_solver_model(h_);
        const int32_t b = detail::batch_of("Solver::solve", "state", state.size(), state_dim());
        if (ham_model_has_clamped_input(m))
            detail::expect_size("Solver::solve", "x", x.size(),
                                static_cast<std::size_t>(b) *
                                    static_cast<std::size_t>(ham_model_layer_size(m, 0)));
        else if (!x.empty())
            detail::dim_error("Solver::solve: x given to a model without a clamped input");
        if (hooks_)
            hooks_->pending = nullptr;
        const int rc = ham_solver_solve(h_, state.data(), b, x.c_ptr());
        finish(rc);
    }

    /** Summary of the last solve. */
    SolveStats stats() const
    {
        ham_solve_stats_t s = ham_solve_stats_t();
        s.size = sizeof s;
        detail::check(ham_solver_get_stats(&s, h_));
        return SolveStats::from_c(s);
    }
    /** Per-sample results of the last solve into caller arrays (any may be empty; the
     *  others must hold one value per sample of the last solve). */
    void get_samples(span<int32_t> iterations, span<double> residual, span<int32_t> status) const
    {
        const std::size_t b = static_cast<std::size_t>(stats().samples);
        if (!iterations.empty())
            detail::expect_size("Solver::get_samples", "iterations", iterations.size(), b);
        if (!residual.empty())
            detail::expect_size("Solver::get_samples", "residual", residual.size(), b);
        if (!status.empty())
            detail::expect_size("Solver::get_samples", "status", status.size(), b);
        detail::check(ham_solver_get_samples(iterations.c_ptr(), residual.c_ptr(),
                                             status.c_ptr(), h_, static_cast<int32_t>(b)));
    }
    /** Per-sample results of the last solve. */
    Samples samples() const
    {
        const std::size_t b = static_cast<std::size_t>(stats().samples);
        Samples r;
        r.iterations.resize(b);
        r.residual.resize(b);
        std::vector<int32_t> st(b);
        get_samples(r.iterations, r.residual, st);
        r.status.reserve(b);
        for (int32_t v : st)
            r.status.push_back(static_cast<SampleStatus>(v));
        return r;
    }

protected:
    ham_solver_t *h_ = nullptr;
    detail::SolverHooks *hooks_ = nullptr;

    void finish(int rc)
    {
        if (hooks_)
            hooks_->finish(rc);
        else
            detail::check(rc);
    }

private:
    void need_hooks(const char *fn) const
    {
        if (!h_ || !hooks_)
            throw error(HAM_ERR_NULL, std::string("hamdeq.hpp: ") + fn + ": empty solver");
    }
};

/** A solver that owns its C handle (::ham_solver_t), move-only. */
class Solver : public SolverView {
public:
    Solver() noexcept = default;

    /** A built-in solver for `model` (ham_solver_new()); it holds its own reference. */
    Solver(const Model &model, Operator op, SolverKind kind)
        : own_hooks_(detail::make_unique<detail::SolverHooks>())
    {
        hooks_ = own_hooks_.get();
        detail::check(ham_solver_new(&h_, model.get(), static_cast<int32_t>(op),
                                     static_cast<int32_t>(kind)));
    }

    /** A solver with a user backend (ham_solver_new_custom()); the solver owns it. */
    Solver(const Model &model, Operator op, std::unique_ptr<CustomBackend> backend)
        : own_hooks_(detail::make_unique<detail::SolverHooks>())
    {
        hooks_ = own_hooks_.get();
        if (!backend)
            throw error(HAM_ERR_NULL, "hamdeq.hpp: Solver: no backend");
        auto holder = detail::make_unique<detail::BackendHolder>();
        holder->name = backend->name();
        holder->backend = std::move(backend);
        holder->hooks = hooks_;
        ham_solver_def_t def = ham_solver_def_t();
        def.size = sizeof def;
        def.flags = 0;
        def.name = holder->name.empty() ? nullptr : holder->name.c_str();
        def.init = &detail::backend_init;
        def.fini = &detail::backend_fini;
        def.reset = &detail::backend_reset;
        def.step = &detail::backend_step;
        def.compact = &detail::backend_compact;
        def.user = holder.get();
        def.destroy = &detail::backend_destroy;
        detail::check(ham_solver_new_custom(&h_, model.get(), static_cast<int32_t>(op), &def));
        holder.release(); // the solver owns it now: destroy() deletes it
    }

    Solver(const Solver &) = delete;
    Solver &operator=(const Solver &) = delete;
    Solver(Solver &&o) noexcept : SolverView(o.h_, o.hooks_), own_hooks_(std::move(o.own_hooks_))
    {
        o.h_ = nullptr;
        o.hooks_ = nullptr;
    }
    Solver &operator=(Solver &&o) noexcept
    {
        if (this != &o) {
            ham_solver_free(h_);
            h_ = o.h_;
            hooks_ = o.hooks_;
            own_hooks_ = std::move(o.own_hooks_);
            o.h_ = nullptr;
            o.hooks_ = nullptr;
        }
        return *this;
    }
    /** Frees the solver (ham_solver_free()); its model reference goes with it. */
    ~Solver() { ham_solver_free(h_); }

    /** A view of this solver (valid while it lives). */
    SolverView view() const noexcept { return SolverView(h_, hooks_); }

private:
    std::unique_ptr<detail::SolverHooks> own_hooks_;
};

// ---------------------------------------------------------------------------------------
// Modern Hopfield networks: find_minima
// ---------------------------------------------------------------------------------------

/** What mhn_find_minima() found (::ham_mhn_minima_t) and the minima themselves. */
struct MhnMinima {
    int32_t starts = 0;
    int32_t converged = 0;
    int32_t minima = 0;
    int32_t saddles = 0;
    int32_t mean_attractor = -1;
    int32_t mean_basin = 0;
    int32_t iters_max = 0;
    double iters_mean = 0;
    /** `min(capacity, minima) x dim` minima in order of discovery. */
    std::vector<float> points;
    /** Per start: the index of its minimum, -1 not converged, -2 a saddle. */
    std::vector<int32_t> assign;
};

/**
 * Solves retrieval from every row of `starts` (visible states) with a solver of an MHN
 * model and counts the distinct minima (ham_mhn_find_minima()). `capacity` bounds the
 * minima returned (default: one per start, which is every one).
 */
inline MhnMinima mhn_find_minima(const SolverView &solver, span<const float> starts,
                                 double cluster_tol, int32_t capacity = -1)
{
    const Model m = solver.model();
    const int32_t dim = m.mhn_dim();
    const int32_t n = detail::batch_of("mhn_find_minima", "starts", starts.size(), dim);
    if (capacity < 0)
        capacity = n;
    MhnMinima r;
    std::vector<float> pts(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(dim));
    r.assign.resize(static_cast<std::size_t>(n));
    ham_mhn_minima_t c = ham_mhn_minima_t();
    c.size = sizeof c;
    detail::check(ham_mhn_find_minima(&c, pts.empty() ? nullptr : pts.data(), capacity,
                                      r.assign.data(), solver.get(), starts.data(), n,
                                      cluster_tol));
    r.starts = c.starts;
    r.converged = c.converged;
    r.minima = c.minima;
    r.saddles = c.saddles;
    r.mean_attractor = c.mean_attractor;
    r.mean_basin = c.mean_basin;
    r.iters_max = c.iters_max;
    r.iters_mean = c.iters_mean;
    pts.resize(static_cast<std::size_t>(std::min(capacity, c.minima)) *
               static_cast<std::size_t>(dim));
    r.points = std::move(pts);
    return r;
}

// ---------------------------------------------------------------------------------------
// Trainer
// ---------------------------------------------------------------------------------------

/** Loss and accuracy of one gradient or step. */
struct StepResult {
    double loss = 0;
    int32_t correct = 0;
};

/**
 * A gradient reduction across processes (::ham_reduce_fn), set with
 * Trainer::set_reduce(): it must replace `grad` and `counts` in place by their
 * element-wise sums over every process and return true. Returning false fails the step
 * with Status::callback; an exception fails it too and is rethrown by the step. Called
 * twice per step: first with an empty `grad`, then with the flat gradient; `counts` holds
 * 4 doubles (loss sum, correct, samples, failed).
 */
using ReduceFn = std::function<bool(span<float> grad, span<double> counts)>;

namespace detail {

/** Owned by a Trainer (heap allocated so that its address, the C `user`, survives
 *  moves); exceptions go to the trainer's hooks. */
struct ReduceHolder {
    ReduceFn fn;
    SolverHooks *hooks = nullptr;
};

inline int reduce_trampoline(float *grad, std::size_t len, double *counts, int32_t n_counts,
                             void *user) noexcept
{
    auto *h = static_cast<ReduceHolder *>(user);
    try {
        const std::size_t nc = n_counts > 0 ? static_cast<std::size_t>(n_counts) : 0;
        return h->fn(span<float>(grad, grad ? len : 0), span<double>(counts, nc)) ? 0 : 1;
    } catch (...) {
        if (h->hooks)
            h->hooks->fail(std::current_exception());
        return HAM_ERR_CALLBACK;
    }
}

} // namespace detail

/**
 * Trains a clamped model through its fixed point (::ham_trainer_t), move-only. The
 * trainer holds its own reference to the model and modifies it in place: every Model
 * copy sees the steps (Model has reference semantics, hence the const reference).
 */
class Trainer {
public:
    Trainer() noexcept = default;
    /** ham_trainer_new(): forward solves with operator `op` and solver `kind`. */
    Trainer(const Model &model, Operator op, SolverKind kind)
        : hooks_(detail::make_unique<detail::SolverHooks>())
    {
        detail::check(ham_trainer_new(&h_, model.get(), static_cast<int32_t>(op),
                                      static_cast<int32_t>(kind)));
    }
    Trainer(const Trainer &) = delete;
    Trainer &operator=(const Trainer &) = delete;
    Trainer(Trainer &&o) noexcept
        : h_(o.h_), hooks_(std::move(o.hooks_)), reduce_(std::move(o.reduce_))
    {
        o.h_ = nullptr;
    }
    Trainer &operator=(Trainer &&o) noexcept
    {
        if (this != &o) {
            ham_trainer_free(h_);
            h_ = o.h_;
            hooks_ = std::move(o.hooks_);
            reduce_ = std::move(o.reduce_);
            o.h_ = nullptr;
        }
        return *this;
    }
    /** Frees the trainer and its solvers (ham_trainer_free()). */
    ~Trainer() { ham_trainer_free(h_); }

    ham_trainer_t *get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

    /** The forward solver, borrowed: valid until this trainer is destroyed or moved from
     *  (ham_trainer_solver()). Its callbacks' exceptions are rethrown by step() and
     *  gradient(). */
    SolverView solver() const noexcept
    {
        return SolverView(ham_trainer_solver(h_), h_ ? hooks_.get() : nullptr);
    }
    /** The model being trained (a new reference). */
    Model model() const { return solver().model(); }

    void set_option(TrainOption option, double value)
    {
        detail::check(ham_trainer_set_option(h_, static_cast<int32_t>(option), value));
    }
    double option(TrainOption option) const
    {
        double v = 0;
        detail::check(ham_trainer_get_option(&v, h_, static_cast<int32_t>(option)));
        return v;
    }

    /** Loss and gradients on a batch, without changing the model (ham_trainer_gradient()):
     *  `x` is `batch x N_0`, `labels` has `batch` class indices. */
    StepResult gradient(span<const float> x, span<const int32_t> labels)
    {
        return run(&ham_trainer_gradient, "Trainer::gradient", x, labels);
    }
    /** One training step (ham_trainer_step()). */
    StepResult step(span<const float> x, span<const int32_t> labels)
    {
        return run(&ham_trainer_step, "Trainer::step", x, labels);
    }

    /** Gradient of weight block `block` from the last gradient or step, into `out`. */
    void get_weight_grad(span<float> out, int32_t block) const
    {
        const Model m = model_view();
        if (m && block >= 0 && block + 1 < m.n_layers())
            detail::expect_size("Trainer::get_weight_grad", "out", out.size(),
                                m.weight_count(block));
        detail::check(ham_trainer_get_weight_grad(out.c_ptr(), h_, block, out.size()));
    }
    std::vector<float> weight_grad(int32_t block) const
    {
        std::vector<float> g(model_view().weight_count(block));
        get_weight_grad(g, block);
        return g;
    }
    /** Gradient of a free layer's bias from the last gradient or step, into `out`. */
    void get_bias_grad(span<float> out, int32_t layer) const
    {
        const Model m = model_view();
        if (m && layer >= 0 && layer < m.n_layers())
            detail::expect_size("Trainer::get_bias_grad", "out", out.size(),
                                static_cast<std::size_t>(m.layer_size(layer)));
        detail::check(ham_trainer_get_bias_grad(out.c_ptr(), h_, layer, out.size()));
    }
    std::vector<float> bias_grad(int32_t layer) const
    {
        std::vector<float> g(static_cast<std::size_t>(std::max(model_view().layer_size(layer), 0)));
        get_bias_grad(g, layer);
        return g;
    }
    /** Sets the gradient reduction of data-parallel training (ham_trainer_set_reduce());
     *  an empty `fn` removes it. See ReduceFn. */
    void set_reduce(ReduceFn fn)
    {
        if (!fn) {
            detail::check(ham_trainer_set_reduce(h_, nullptr, nullptr));
            reduce_.reset();
            return;
        }
        auto holder = detail::make_unique<detail::ReduceHolder>();
        holder->fn = std::move(fn);
        holder->hooks = hooks_.get();
        detail::check(ham_trainer_set_reduce(h_, &detail::reduce_trampoline, holder.get()));
        reduce_ = std::move(holder);
    }
    /** Removes the gradient reduction (ham_trainer_set_reduce() with NULL). */
    void clear_reduce() { set_reduce(ReduceFn()); }

    /** Statistics of the last step's adjoint solve. */
    SolveStats backward_stats() const
    {
        ham_solve_stats_t s = ham_solve_stats_t();
        s.size = sizeof s;
        detail::check(ham_trainer_backward_stats(&s, h_));
        return SolveStats::from_c(s);
    }

private:
    ham_trainer_t *h_ = nullptr;
    std::unique_ptr<detail::SolverHooks> hooks_;
    std::unique_ptr<detail::ReduceHolder> reduce_;

    Model model_view() const { return h_ ? model() : Model(); }

    StepResult run(int (*fn)(ham_trainer_t *, double *, int32_t *, int32_t, const float *,
                             const int32_t *),
                   const char *name, span<const float> x, span<const int32_t> labels)
    {
        if (!h_)
            throw error(HAM_ERR_NULL, std::string("hamdeq.hpp: ") + name + ": empty trainer");
        const Model m = model();
        const int32_t b = detail::to_i32(name, "batch", labels.size());
        if (b == 0)
            detail::dim_error(std::string(name) + ": no labels");
        detail::expect_size(name, "x", x.size(),
                            labels.size() * static_cast<std::size_t>(m.layer_size(0)));
        StepResult r;
        hooks_->pending = nullptr;
        const int rc = fn(h_, &r.loss, &r.correct, b, x.data(), labels.data());
        hooks_->finish(rc);
        return r;
    }
};

// ---------------------------------------------------------------------------------------
// Dataset
// ---------------------------------------------------------------------------------------

/** Limits of the dataset loaders (::ham_load_options_t); 0 means the default. */
struct LoadOptions {
    /** Most bytes one load may allocate; 0: 2 GiB; UINT64_MAX: no limit. */
    uint64_t max_bytes = 0;
};

/** A batch copied out of a Dataset. */
struct Batch {
    std::vector<float> x;        // count x dim
    std::vector<int32_t> labels; // count, or empty for an unlabelled dataset
};

/** Labelled samples read from IDX or .npy files (::ham_dataset_t), move-only. */
class Dataset {
public:
    Dataset() noexcept = default;

    /** IDX images (and labels; "" for none), raw or gzip (ham_dataset_load_idx()). */
    static Dataset load_idx(const std::string &images, const std::string &labels = std::string(),
                            const LoadOptions &opts = LoadOptions())
    {
        Dataset d;
        const ham_load_options_t o = c_options(opts);
        detail::check(ham_dataset_load_idx(&d.h_, images.c_str(),
                                           labels.empty() ? nullptr : labels.c_str(), &o));
        return d;
    }
    /** NumPy .npy samples (and labels; "" for none) (ham_dataset_load_npy()). */
    static Dataset load_npy(const std::string &samples, const std::string &labels = std::string(),
                            const LoadOptions &opts = LoadOptions())
    {
        Dataset d;
        const ham_load_options_t o = c_options(opts);
        detail::check(ham_dataset_load_npy(&d.h_, samples.c_str(),
                                           labels.empty() ? nullptr : labels.c_str(), &o));
        return d;
    }
    /** One split ("train", "t10k") of an MNIST-style directory (ham_dataset_load_dir()). */
    static Dataset load_dir(const std::string &dir, const std::string &split,
                            const LoadOptions &opts = LoadOptions())
    {
        Dataset d;
        const ham_load_options_t o = c_options(opts);
        detail::check(ham_dataset_load_dir(&d.h_, dir.c_str(), split.c_str(), &o));
        return d;
    }

    Dataset(const Dataset &) = delete;
    Dataset &operator=(const Dataset &) = delete;
    Dataset(Dataset &&o) noexcept : h_(o.h_) { o.h_ = nullptr; }
    Dataset &operator=(Dataset &&o) noexcept
    {
        if (this != &o) {
            ham_dataset_free(h_);
            h_ = o.h_;
            o.h_ = nullptr;
        }
        return *this;
    }
    ~Dataset() { ham_dataset_free(h_); }

    ham_dataset_t *get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

    int64_t count() const noexcept { return ham_dataset_count(h_); }
    int32_t dim() const noexcept { return ham_dataset_dim(h_); }
    bool has_labels() const noexcept { return ham_dataset_has_labels(h_) != 0; }
    int32_t n_classes() const noexcept { return ham_dataset_n_classes(h_); }

    /** Samples `first ..` into `x` (`count x dim`; count = x.size() / dim) and, unless
     *  empty, `labels` (`count`) (ham_dataset_get()). */
    void get(span<float> x, span<int32_t> labels, int64_t first) const
    {
        const int32_t n = rows("Dataset::get", x, labels);
        detail::check(ham_dataset_get(x.data(), labels.c_ptr(), h_, first, n));
    }
    /** `count` samples from `first` as a new batch (labels when the dataset has them). */
    Batch get(int64_t first, int32_t count) const
    {
        Batch b = alloc(count);
        get(b.x, b.labels, first);
        return b;
    }
    /** The samples at `indices` into `x` and `labels` (ham_dataset_gather()). */
    void gather(span<float> x, span<int32_t> labels, span<const int64_t> indices) const
    {
        const int32_t n = rows("Dataset::gather", x, labels);
        detail::expect_size("Dataset::gather", "indices", indices.size(),
                            static_cast<std::size_t>(n));
        detail::check(ham_dataset_gather(x.data(), labels.c_ptr(), h_, indices.data(), n));
    }
    /** The samples at `indices` as a new batch. */
    Batch gather(span<const int64_t> indices) const
    {
        Batch b = alloc(detail::to_i32("Dataset::gather", "count", indices.size()));
        gather(b.x, b.labels, indices);
        return b;
    }

private:
    ham_dataset_t *h_ = nullptr;

    static ham_load_options_t c_options(const LoadOptions &opts) noexcept
    {
        ham_load_options_t o = ham_load_options_t();
        o.size = sizeof o;
        o.flags = 0;
        o.max_bytes = opts.max_bytes;
        return o;
    }
    int32_t rows(const char *fn, span<float> x, span<int32_t> labels) const
    {
        if (!h_)
            throw error(HAM_ERR_NULL, std::string("hamdeq.hpp: ") + fn + ": empty dataset");
        const int32_t n = detail::batch_of(fn, "x", x.size(), dim());
        if (!labels.empty())
            detail::expect_size(fn, "labels", labels.size(), static_cast<std::size_t>(n));
        return n;
    }
    Batch alloc(int32_t count) const
    {
        if (count <= 0)
            detail::dim_error("Dataset: count " + std::to_string(count) + " is not positive");
        Batch b;
        b.x.resize(static_cast<std::size_t>(count) * static_cast<std::size_t>(std::max(dim(), 0)));
        if (has_labels())
            b.labels.resize(static_cast<std::size_t>(count));
        return b;
    }
};

} // namespace hamdeq

#endif /* HAMDEQ_HAMDEQ_HPP */
