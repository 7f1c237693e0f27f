"""
    HamDeq

Julia binding of libhamdeq (Hierarchical Associative Memories solved as Deep Equilibrium
Models) over `ccall`.

- The library is `ENV["LIBHAMDEQ"]` when set (a path or a name), else the soname
  `libhamdeq.so.0` found by the system's loader.
- Every failing C call throws [`HamDeqError`](@ref) with the status, its name and the
  library's message (`ham_last_error`, read right after the call on the same thread).
- Handles ([`Model`](@ref), [`Solver`](@ref), [`Trainer`](@ref), [`Dataset`](@ref)) are
  mutable objects freed by a finalizer or, earlier, by `close`. Models are
  reference-counted in C: [`share`](@ref) takes another reference, [`clone`](@ref) copies.
- Batches are `Matrix{Float32}` of size `dim x batch` (one column per sample): exactly C's
  row-major `batch x dim`, passed without copies. A `Vector{Float32}` is one sample.
- Layers, weight blocks and sample indices are 1-based here (C's are 0-based); class labels
  are the data's values (0-based, as in the files).
"""
module HamDeq

export HamDeqError, Model, Solver, Trainer, Dataset, CustomLagrangian, CustomBackend,
       IterInfo, ConvInfo, StepContext,
       share, clone, n_layers, layer_size, layer_sizes, has_clamped_input,
       set_lagrangian!, set_custom_lagrangian!, lagrangian, init_xavier!,
       weights, set_weights!, bias, set_bias!, state_dim, state_range,
       apply, apply!, jvp, vjp, energy, eo_to_full, full_to_eo,
       set_defaults!, defaults, save, load_model, save_buffer, load_buffer,
       set_option!, get_option, option_info, set_callback!, set_conv_test!,
       solve!, stats, samples, solver_model, solver_kind, solver_operator,
       forward_solver, gradient!, step!, set_reduce!, weight_grad, bias_grad, backward_stats,
       load_idx, load_npy, load_dir, dim, has_labels, n_classes, getbatch, gather,
       mhn_model, mhn_energy, mhn_beta_s, mhn_hessian_min, find_minima,
       rows, apply_step!, rethrow_if_failed,
       status_name, strerror, last_error, version, version_string,
       lagrangian_name, lagrangian_from_name, solver_kind_name, solver_kind_from_name,
       operator_name, operator_from_name,
       Status, ModelFlags, Operator, SolverKind, SolverOption, Lagrangian, SampleStatus,
       Loss, Optimizer, Gradient, TrainOption

# ---------------------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------------------

const DEFAULT_LIBRARY = "libhamdeq.so.0"
const LIBPATH = Ref{String}(DEFAULT_LIBRARY)

"""The library every `ccall` uses: `ENV["LIBHAMDEQ"]` or `libhamdeq.so.0`, fixed at load."""
libhamdeq() = LIBPATH[]

function __init__()
    LIBPATH[] = get(ENV, "LIBHAMDEQ", DEFAULT_LIBRARY)
    return nothing
end

# ---------------------------------------------------------------------------------------
# Pinned enumerations (names are the C names without the HAM_ prefix;
# bindings/julia/check_ccalls.py checks every value against the headers)
# ---------------------------------------------------------------------------------------

@enum Status::Int32 begin
    OK = 0
    ERR_NULL = -1
    ERR_INVALID = -2
    ERR_DIMENSION = -3
    ERR_NOMEM = -4
    ERR_NONFINITE = -5
    ERR_UNKNOWN_LAGRANGIAN = -6
    ERR_UNKNOWN_SOLVER = -7
    ERR_UNKNOWN_OPERATOR = -8
    ERR_UNKNOWN_OPTION = -9
    ERR_UNSUPPORTED = -10
    ERR_STRUCT_SIZE = -11
    ERR_CANCELLED = -12
    ERR_NUMERIC = -13
    ERR_CALLBACK = -14
    ERR_IO = -15
    ERR_FORMAT = -16
end

@enum ModelFlags::UInt32 begin
    MODEL_FREE_INPUT = 0
    MODEL_CLAMPED_INPUT = 1
end

@enum Operator::Int32 begin
    OPERATOR_SYNC = 0
    OPERATOR_EVEN_ODD = 1
end

@enum SolverKind::Int32 begin
    SOLVER_PICARD = 0
    SOLVER_ANDERSON = 1
    SOLVER_BROYDEN = 2
    SOLVER_NEWTON = 3
    SOLVER_CUSTOM = 100
end

@enum SolverOption::Int32 begin
    OPT_TOL = 0
    OPT_MAX_ITER = 1
    OPT_WARM_START = 2
    OPT_DT = 3
    OPT_ANDERSON_M = 4
    OPT_ANDERSON_BETA = 5
    OPT_ANDERSON_LAMBDA = 6
    OPT_ANDERSON_SAFEGUARD = 7
    OPT_BROYDEN_M = 8
    OPT_NEWTON_LINESEARCH = 9
    OPT_NEWTON_MAX_DIM = 10
    OPT_DIVERGENCE = 11
    OPT_NEWTON_KRYLOV_DIM = 12
    OPT_NEWTON_FORCING = 13
    OPT_FIXED_ITERS = 14
    OPT_ATOL = 15
    OPT_ATTRACTOR_SAFE = 16
    OPT_STABILITY_CHECK = 17
    OPT_THREADS = 18
end

@enum Lagrangian::Int32 begin
    LAGRANGIAN_SHIFTED_SIGMOID = 0
    LAGRANGIAN_SIGMOID = 1
    LAGRANGIAN_TANH = 2
    LAGRANGIAN_IDENTITY = 3
    LAGRANGIAN_SOFTMAX = 4
    LAGRANGIAN_CUSTOM = 100
end

@enum SampleStatus::Int32 begin
    SAMPLE_CONVERGED = 0
    SAMPLE_MAX_ITER = 1
    SAMPLE_DIVERGED = 2
    SAMPLE_UNSTABLE = 3
end

@enum Loss::Int32 begin
    LOSS_MSE = 0
    LOSS_CROSS_ENTROPY = 1
end

@enum Optimizer::Int32 begin
    OPTIMIZER_SGD = 0
    OPTIMIZER_ADAM = 1
    OPTIMIZER_MADAM = 2
end

@enum Gradient::Int32 begin
    GRADIENT_IMPLICIT = 0
    GRADIENT_RECURRENT = 1
end

@enum TrainOption::Int32 begin
    TRAIN_LOSS = 0
    TRAIN_OPTIMIZER = 1
    TRAIN_LR = 2
    TRAIN_MOMENTUM = 3
    TRAIN_ADAM_BETA1 = 4
    TRAIN_ADAM_BETA2 = 5
    TRAIN_ADAM_EPS = 6
    TRAIN_MADAM_SCALE = 7
    TRAIN_MADAM_GBOUND = 8
    TRAIN_MADAM_BIASES = 9
    TRAIN_GRADIENT = 10
    TRAIN_BACKWARD_SOLVER = 11
    TRAIN_BACKWARD_ITERS = 12
    TRAIN_BACKWARD_TOL = 13
    TRAIN_THREADS = 14
end

for E in (:Status, :ModelFlags, :Operator, :SolverKind, :SolverOption, :Lagrangian,
          :SampleStatus, :Loss, :Optimizer, :Gradient, :TrainOption)
    for v in instances(getfield(@__MODULE__, E))
        @eval export $(Symbol(v))
    end
end

"""Most layers a model may have (`HAM_MAX_LAYERS`)."""
const MAX_LAYERS = 64

# ---------------------------------------------------------------------------------------
# C structs (layout mirrors the headers; the checker compares field types)
# ---------------------------------------------------------------------------------------

# C struct: ham_lagrangian_def_t
struct LagrangianDefC
    size::UInt32
    flags::UInt32
    name::Ptr{UInt8}
    value::Ptr{Cvoid}
    activation::Ptr{Cvoid}
    hvp::Ptr{Cvoid}
    user::Ptr{Cvoid}
    destroy::Ptr{Cvoid}
end

# C struct: ham_solve_stats_t
struct SolveStatsC
    size::UInt32
    samples::Int32
    converged::Int32
    not_converged::Int32
    diverged::Int32
    iters_max::Int32
    iters_mean::Cdouble
    evaluations::Int64
    jacobian_products::Int64
    unstable::Int32
    rejected_steps::Int32
end

# C struct: ham_iter_info_t
struct IterInfoC
    size::UInt32
    iteration::Int32
    active::Int32
    sample::Ptr{Int32}
    residual::Ptr{Cdouble}
    iterations::Ptr{Int32}
    dim::Int32
    state::Ptr{Float32}
    output::Ptr{Float32}
end

# C struct: ham_conv_info_t
struct ConvInfoC
    size::UInt32
    sample::Int32
    iterations::Int32
    dim::Int32
    state::Ptr{Float32}
    output::Ptr{Float32}
    residual_norm::Cdouble
    output_norm::Cdouble
    tol::Cdouble
    atol::Cdouble
end

# C struct: ham_solver_def_t
struct SolverDefC
    size::UInt32
    flags::UInt32
    name::Ptr{UInt8}
    init::Ptr{Cvoid}
    fini::Ptr{Cvoid}
    reset::Ptr{Cvoid}
    step::Ptr{Cvoid}
    compact::Ptr{Cvoid}
    user::Ptr{Cvoid}
    destroy::Ptr{Cvoid}
end

# C struct: ham_mhn_minima_t
struct MhnMinimaC
    size::UInt32
    starts::Int32
    converged::Int32
    minima::Int32
    saddles::Int32
    mean_attractor::Int32
    mean_basin::Int32
    iters_max::Int32
    iters_mean::Cdouble
end

# C struct: ham_load_options_t
struct LoadOptionsC
    size::UInt32
    flags::UInt32
    max_bytes::UInt64
end

_zero_stats() = SolveStatsC(UInt32(sizeof(SolveStatsC)), 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0)

# ---------------------------------------------------------------------------------------
# Errors and names
# ---------------------------------------------------------------------------------------

"""
    HamDeqError(status, name, message)

A libhamdeq failure: `status` is the negative `ham_status_t`, `name` its name
(`"HAM_ERR_DIMENSION"`), `message` what `ham_last_error()` said about the call.
"""
struct HamDeqError <: Exception
    status::Int32
    name::String
    message::String
end

Base.showerror(io::IO, e::HamDeqError) = print(io, "HamDeqError: ", e.name, ": ", e.message)

_cstr(p::Ptr{UInt8}) = p == C_NULL ? "" : unsafe_string(p)

"""Name of a status code, e.g. `"HAM_ERR_NULL"`."""
status_name(status::Integer) =
    _cstr(ccall((:ham_status_name, libhamdeq()), Ptr{UInt8}, (Cint,), status))
status_name(status::Status) = status_name(Integer(status))

"""Static English description of a status code."""
strerror(status::Integer) =
    _cstr(ccall((:ham_strerror, libhamdeq()), Ptr{UInt8}, (Cint,), status))
strerror(status::Status) = strerror(Integer(status))

"""This thread's message about its last failing libhamdeq call."""
last_error() = _cstr(ccall((:ham_last_error, libhamdeq()), Ptr{UInt8}, ()))

"""Version of the loaded library as `10000*major + 100*minor + patch`."""
version() = Int(ccall((:ham_version, libhamdeq()), UInt32, ()))

"""Version of the loaded library as a string such as `"0.1.0"`."""
version_string() = _cstr(ccall((:ham_version_string, libhamdeq()), Ptr{UInt8}, ()))

# Throws for a negative status, reading the message first (no yield point in between, so
# the task is still on the thread that made the call).
@inline function check(status::Integer)
    if status < 0
        msg = last_error()
        throw(HamDeqError(Int32(status), status_name(status), msg))
    end
    return nothing
end

lagrangian_name(kind::Lagrangian) =
    _cstr(ccall((:ham_lagrangian_name, libhamdeq()), Ptr{UInt8}, (Int32,), Integer(kind)))

function lagrangian_from_name(name::AbstractString)
    k = Ref{Int32}(0)
    check(ccall((:ham_lagrangian_from_name, libhamdeq()), Cint, (Ref{Int32}, Cstring), k, name))
    return Lagrangian(k[])
end

solver_kind_name(kind::SolverKind) =
    _cstr(ccall((:ham_solver_kind_name, libhamdeq()), Ptr{UInt8}, (Int32,), Integer(kind)))

function solver_kind_from_name(name::AbstractString)
    k = Ref{Int32}(0)
    check(ccall((:ham_solver_kind_from_name, libhamdeq()), Cint, (Ref{Int32}, Cstring), k, name))
    return SolverKind(k[])
end

operator_name(op::Operator) =
    _cstr(ccall((:ham_operator_name, libhamdeq()), Ptr{UInt8}, (Int32,), Integer(op)))

function operator_from_name(name::AbstractString)
    k = Ref{Int32}(0)
    check(ccall((:ham_operator_from_name, libhamdeq()), Cint, (Ref{Int32}, Cstring), k, name))
    return Operator(k[])
end

"""
    option_info(opt::SolverOption) -> (default, min, max)
    option_info(opt::TrainOption)  -> (default, min, max)
"""
function option_info(opt::SolverOption)
    d = Ref{Cdouble}(0); lo = Ref{Cdouble}(0); hi = Ref{Cdouble}(0)
    check(ccall((:ham_solver_option_info, libhamdeq()), Cint,
                (Ref{Cdouble}, Ref{Cdouble}, Ref{Cdouble}, Int32), d, lo, hi, Integer(opt)))
    return (default = d[], min = lo[], max = hi[])
end

function option_info(opt::TrainOption)
    d = Ref{Cdouble}(0); lo = Ref{Cdouble}(0); hi = Ref{Cdouble}(0)
    check(ccall((:ham_trainer_option_info, libhamdeq()), Cint,
                (Ref{Cdouble}, Ref{Cdouble}, Ref{Cdouble}, Int32), d, lo, hi, Integer(opt)))
    return (default = d[], min = lo[], max = hi[])
end

# ---------------------------------------------------------------------------------------
# Array helpers: Float32 batches, dim x batch, no copies
# ---------------------------------------------------------------------------------------

const Batch32 = Union{Vector{Float32},Matrix{Float32}}

# The batch of a dim x batch matrix (or one sample as a vector), checked.
_batch(A, dim::Integer, what::AbstractString) =
    throw(ArgumentError("$what must be a Matrix{Float32} (dim x batch) or a Vector{Float32}, " *
                        "not a $(typeof(A))"))
function _batch(A::Batch32, dim::Integer, what::AbstractString)
    if A isa Vector
        length(A) == dim ||
            throw(DimensionMismatch("$what has $(length(A)) values, expected $dim"))
        return Int32(1)
    end
    size(A, 1) == dim ||
        throw(DimensionMismatch("$what has $(size(A, 1)) rows, expected the state length $dim"))
    size(A, 2) >= 1 || throw(DimensionMismatch("$what has no columns (samples)"))
    size(A, 2) <= typemax(Int32) || throw(ArgumentError("$what: batch too large"))
    return Int32(size(A, 2))
end

_same_shape(out, A, what) = size(out) == size(A) ||
    throw(DimensionMismatch("$what has size $(size(out)), expected $(size(A))"))

_like(A::Vector{Float32}, rows::Integer) = Vector{Float32}(undef, rows)
_like(A::Matrix{Float32}, rows::Integer) = Matrix{Float32}(undef, rows, size(A, 2))

# ---------------------------------------------------------------------------------------
# Custom Lagrangians
# ---------------------------------------------------------------------------------------

"""
    CustomLagrangian(value, activation!, hvp!; name = "")

A user-defined Lagrangian for one row of `n` units: `value(s) -> Float64` (`L(s)`),
`activation!(g, s)` (`g = grad L(s)`), `hvp!(out, s, g, v)` (`out = H(s) v`). The
vectors are views of C memory, valid during the call only. An exception thrown by one of
them writes NaN into its output (the samples it reaches diverge) and is kept:
[`rethrow_if_failed`](@ref) rethrows it.
"""
mutable struct CustomLagrangian
    value::Any
    activation::Any
    hvp::Any
    name::String
    failure::Any
    CustomLagrangian(value, activation!, hvp!; name::AbstractString = "") =
        new(value, activation!, hvp!, String(name), nothing)
end

"""Rethrows (and forgets) the first exception a custom Lagrangian's callback threw."""
function rethrow_if_failed(l::CustomLagrangian)
    f = l.failure
    l.failure = nothing
    f === nothing || throw(f)
    return nothing
end

# C callback: ham_lagrangian_def_t.value
function _lag_value(s::Ptr{Float32}, n::Int32, user::Ptr{Cvoid})::Cdouble
    l = unsafe_pointer_to_objref(user)::CustomLagrangian
    try
        return Cdouble(l.value(unsafe_wrap(Array, s, Int(n))))
    catch err
        l.failure === nothing && (l.failure = err)
        return NaN
    end
end

# C callback: ham_lagrangian_def_t.activation
function _lag_activation(g::Ptr{Float32}, s::Ptr{Float32}, n::Int32, user::Ptr{Cvoid})::Cvoid
    l = unsafe_pointer_to_objref(user)::CustomLagrangian
    gv = unsafe_wrap(Array, g, Int(n))
    try
        l.activation(gv, unsafe_wrap(Array, s, Int(n)))
    catch err
        l.failure === nothing && (l.failure = err)
        fill!(gv, NaN32)
    end
    return nothing
end

# C callback: ham_lagrangian_def_t.hvp
function _lag_hvp(out::Ptr{Float32}, s::Ptr{Float32}, g::Ptr{Float32}, v::Ptr{Float32},
                  n::Int32, user::Ptr{Cvoid})::Cvoid
    l = unsafe_pointer_to_objref(user)::CustomLagrangian
    ov = unsafe_wrap(Array, out, Int(n))
    try
        l.hvp(ov, unsafe_wrap(Array, s, Int(n)), unsafe_wrap(Array, g, Int(n)),
               unsafe_wrap(Array, v, Int(n)))
    catch err
        l.failure === nothing && (l.failure = err)
        fill!(ov, NaN32)
    end
    return nothing
end

# ---------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------

struct _Adopt end

"""
    Model(sizes; clamped = true)

A layered HAM with the given layer sizes (layer 1 is the input when `clamped`). Freed by
its finalizer or `close`; other holders (solvers, trainers, [`share`](@ref)d copies) keep
the C model alive by their own reference.
"""
mutable struct Model
    ptr::Ptr{Cvoid}
    # Julia objects C points to (custom Lagrangians), shared by every wrapper of this C
    # model and inherited by clones: they stay reachable while any wrapper is.
    roots::Vector{Any}
    function Model(::_Adopt, ptr::Ptr{Cvoid}, roots::Vector{Any})
        m = new(ptr, roots)
        finalizer(_free_model!, m)
        return m
    end
end

function _free_model!(m::Model)
    p = m.ptr
    m.ptr = C_NULL
    ccall((:ham_model_free, libhamdeq()), Cvoid, (Ptr{Cvoid},), p)
    return nothing
end

Base.close(m::Model) = _free_model!(m)
Base.isopen(m::Model) = m.ptr != C_NULL
Base.cconvert(::Type{Ptr{Cvoid}}, m::Model) = m
Base.unsafe_convert(::Type{Ptr{Cvoid}}, m::Model) = m.ptr

function Model(sizes::AbstractVector{<:Integer}; clamped::Bool = true)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    sz = Vector{Int32}(sizes)
    flags = clamped ? MODEL_CLAMPED_INPUT : MODEL_FREE_INPUT
    check(ccall((:ham_model_new, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Int32, Ptr{Int32}, UInt32),
                out, Int32(length(sz)), sz, UInt32(Integer(flags))))
    return Model(_Adopt(), out[], Any[])
end

"""Another wrapper holding its own reference to the same C model (`ham_model_ref`)."""
function share(m::Model)
    p = ccall((:ham_model_ref, libhamdeq()), Ptr{Cvoid}, (Ptr{Cvoid},), m)
    p == C_NULL && throw(HamDeqError(Int32(ERR_NULL), "HAM_ERR_NULL", "closed model"))
    return Model(_Adopt(), p, m.roots)
end

"""An independent deep copy (`ham_model_clone`); custom Lagrangians are shared."""
function clone(m::Model)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_model_clone, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Ptr{Cvoid}), out, m))
    return Model(_Adopt(), out[], copy(m.roots))
end

n_layers(m::Model) = Int(ccall((:ham_model_n_layers, libhamdeq()), Int32, (Ptr{Cvoid},), m))

"""Size of layer `layer` (1-based); 0 when out of range."""
layer_size(m::Model, layer::Integer) =
    Int(ccall((:ham_model_layer_size, libhamdeq()), Int32, (Ptr{Cvoid}, Int32), m, layer - 1))

layer_sizes(m::Model) = [layer_size(m, l) for l in 1:n_layers(m)]

has_clamped_input(m::Model) =
    ccall((:ham_model_has_clamped_input, libhamdeq()), Int32, (Ptr{Cvoid},), m) != 0

"""Sets the built-in Lagrangian of layer `layer` (`param`: beta for softmax)."""
function set_lagrangian!(m::Model, layer::Integer, kind::Lagrangian, param::Real = 0.0)
    check(ccall((:ham_model_set_lagrangian, libhamdeq()), Cint, (Ptr{Cvoid}, Int32, Int32, Cdouble),
                m, layer - 1, Integer(kind), param))
    return m
end

"""Gives layer `layer` a [`CustomLagrangian`](@ref); the model keeps it reachable."""
function set_custom_lagrangian!(m::Model, layer::Integer, l::CustomLagrangian)
    name = l.name
    def = Ref(LagrangianDefC(UInt32(sizeof(LagrangianDefC)), UInt32(0),
                             isempty(name) ? Ptr{UInt8}(C_NULL) : pointer(name),
                             @cfunction(_lag_value, Cdouble, (Ptr{Float32}, Int32, Ptr{Cvoid})),
                             @cfunction(_lag_activation, Cvoid,
                                        (Ptr{Float32}, Ptr{Float32}, Int32, Ptr{Cvoid})),
                             @cfunction(_lag_hvp, Cvoid,
                                        (Ptr{Float32}, Ptr{Float32}, Ptr{Float32}, Ptr{Float32},
                                         Int32, Ptr{Cvoid})),
                             pointer_from_objref(l), C_NULL))
    # `user` is borrowed by C (no destroy): rooting `l` (and its name) in the model's
    # roots keeps it alive as long as any wrapper of this model or of its clones.
    GC.@preserve l name begin
        check(ccall((:ham_model_set_custom_lagrangian, libhamdeq()), Cint,
                    (Ptr{Cvoid}, Int32, Ref{LagrangianDefC}), m, layer - 1, def))
    end
    push!(m.roots, l)
    return m
end

"""The Lagrangian of layer `layer`: `(kind, param)`."""
function lagrangian(m::Model, layer::Integer)
    k = Ref{Int32}(0)
    p = Ref{Cdouble}(0)
    check(ccall((:ham_model_get_lagrangian, libhamdeq()), Cint,
                (Ref{Int32}, Ref{Cdouble}, Ptr{Cvoid}, Int32), k, p, m, layer - 1))
    return (kind = Lagrangian(k[]), param = p[])
end

"""Xavier-uniform weights and zero biases from `seed`."""
function init_xavier!(m::Model, seed::Integer)
    check(ccall((:ham_model_init_xavier, libhamdeq()), Cint, (Ptr{Cvoid}, UInt64), m, UInt64(seed)))
    return m
end

"""Weight block `block` (1-based, between layers `block` and `block+1`) as an
`N_block x N_{block+1}` matrix (a copy)."""
function weights(m::Model, block::Integer)
    a, b = layer_size(m, block), layer_size(m, block + 1)
    raw = Matrix{Float32}(undef, b, a) # C's row-major a x b, seen column-major
    check(ccall((:ham_model_get_weights, libhamdeq()), Cint, (Ptr{Float32}, Ptr{Cvoid}, Int32, Csize_t),
                raw, m, block - 1, length(raw)))
    return permutedims(raw)
end

"""Sets weight block `block` from an `N_block x N_{block+1}` matrix."""
function set_weights!(m::Model, block::Integer, W::AbstractMatrix{<:Real})
    a, b = layer_size(m, block), layer_size(m, block + 1)
    size(W) == (a, b) || a == 0 ||
        throw(DimensionMismatch("weights have size $(size(W)), expected ($a, $b)"))
    raw = Matrix{Float32}(permutedims(W))
    check(ccall((:ham_model_set_weights, libhamdeq()), Cint, (Ptr{Cvoid}, Int32, Ptr{Float32}, Csize_t),
                m, block - 1, raw, length(raw)))
    return m
end

"""The bias of free layer `layer`."""
function bias(m::Model, layer::Integer)
    b = Vector{Float32}(undef, layer_size(m, layer))
    check(ccall((:ham_model_get_bias, libhamdeq()), Cint, (Ptr{Float32}, Ptr{Cvoid}, Int32, Csize_t),
                b, m, layer - 1, length(b)))
    return b
end

function set_bias!(m::Model, layer::Integer, b::AbstractVector{<:Real})
    n = layer_size(m, layer)
    length(b) == n || n == 0 ||
        throw(DimensionMismatch("bias has $(length(b)) values, expected $n"))
    v = Vector{Float32}(b)
    check(ccall((:ham_model_set_bias, libhamdeq()), Cint, (Ptr{Cvoid}, Int32, Ptr{Float32}, Csize_t),
                m, layer - 1, v, length(v)))
    return m
end

"""Length of one sample's state for operator `op`."""
function state_dim(m::Model, op::Operator)
    d = Ref{Int32}(0)
    check(ccall((:ham_model_state_dim, libhamdeq()), Cint, (Ref{Int32}, Ptr{Cvoid}, Int32),
                d, m, Integer(op)))
    return Int(d[])
end

"""The rows of layer `layer` inside one sample's state of `op` (1-based range)."""
function state_range(m::Model, op::Operator, layer::Integer)
    o = Ref{Int32}(0)
    check(ccall((:ham_model_state_offset, libhamdeq()), Cint, (Ref{Int32}, Ptr{Cvoid}, Int32, Int32),
                o, m, Integer(op), layer - 1))
    return (o[] + 1):(o[] + layer_size(m, layer))
end

# x for a batch: N_1 x batch inputs of a clamped model, `nothing` for a free-input one.
# `mp` is a C model pointer the caller keeps alive.
function _input(mp::Ptr{Cvoid}, x, batch::Int32)
    if ccall((:ham_model_has_clamped_input, libhamdeq()), Int32, (Ptr{Cvoid},), mp) != 0
        x === nothing && throw(ArgumentError("a clamped model needs inputs x"))
        n0 = ccall((:ham_model_layer_size, libhamdeq()), Int32, (Ptr{Cvoid}, Int32), mp, 0)
        _batch(x, n0, "x") == batch ||
            throw(DimensionMismatch("x has $(size(x, 2)) samples, the state $batch"))
        return x
    end
    x === nothing || throw(ArgumentError("the model has no clamped input: pass x = nothing"))
    return Ptr{Float32}(C_NULL)
end
_input(m::Model, x, batch::Int32) = _input(m.ptr, x, batch) # m is rooted by the caller's ccall

"""`out = F(s)` (sync) or `G(s)` (even-odd), column by column."""
function apply!(out::Batch32, m::Model, op::Operator, x, s::Batch32)
    b = _batch(s, state_dim(m, op), "s")
    _same_shape(out, s, "out")
    xa = _input(m, x, b)
    check(ccall((:ham_model_apply, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Int32, Ptr{Float32}, Ptr{Float32}),
                out, m, Integer(op), b, xa, s))
    return out
end
apply(m::Model, op::Operator, x, s::Batch32) = apply!(similar(s), m, op, x, s)

"""Jacobian-vector product `J(s) v`, one tangent column per sample."""
function jvp(m::Model, op::Operator, x, s::Batch32, v::Batch32)
    b = _batch(s, state_dim(m, op), "s")
    _same_shape(v, s, "v")
    out = similar(s)
    xa = _input(m, x, b)
    check(ccall((:ham_model_jvp, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Int32, Ptr{Float32}, Ptr{Float32}, Ptr{Float32}),
                out, m, Integer(op), b, xa, s, v))
    return out
end

"""Vector-Jacobian product `J(s)' v`, one column per sample."""
function vjp(m::Model, op::Operator, x, s::Batch32, v::Batch32)
    b = _batch(s, state_dim(m, op), "s")
    _same_shape(v, s, "v")
    out = similar(s)
    xa = _input(m, x, b)
    check(ccall((:ham_model_vjp, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Int32, Ptr{Float32}, Ptr{Float32}, Ptr{Float32}),
                out, m, Integer(op), b, xa, s, v))
    return out
end

"""Energy of full (sync) states, one `Float64` per column."""
function energy(m::Model, x, full::Batch32)
    b = _batch(full, state_dim(m, OPERATOR_SYNC), "full")
    e = Vector{Cdouble}(undef, b)
    xa = _input(m, x, b)
    check(ccall((:ham_model_energy, libhamdeq()), Cint,
                (Ptr{Cdouble}, Ptr{Cvoid}, Int32, Ptr{Float32}, Ptr{Float32}), e, m, b, xa, full))
    return e
end

"""Full states from even-odd states."""
function eo_to_full(m::Model, x, eo::Batch32)
    b = _batch(eo, state_dim(m, OPERATOR_EVEN_ODD), "eo")
    full = _like(eo, state_dim(m, OPERATOR_SYNC))
    xa = _input(m, x, b)
    check(ccall((:ham_model_eo_to_full, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Ptr{Float32}, Ptr{Float32}), full, m, b, xa, eo))
    return full
end

"""Even-odd states taken out of full states."""
function full_to_eo(m::Model, full::Batch32)
    b = _batch(full, state_dim(m, OPERATOR_SYNC), "full")
    eo = _like(full, state_dim(m, OPERATOR_EVEN_ODD))
    check(ccall((:ham_model_full_to_eo, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Ptr{Float32}), eo, m, b, full))
    return eo
end

"""Records the solver the model is meant to be run with."""
function set_defaults!(m::Model; op::Operator = OPERATOR_EVEN_ODD,
                       solver::SolverKind = SOLVER_ANDERSON, tol::Real = 1e-4,
                       max_iter::Integer = 100)
    check(ccall((:ham_model_set_defaults, libhamdeq()), Cint,
                (Ptr{Cvoid}, Int32, Int32, Cdouble, Int32),
                m, Integer(op), Integer(solver), tol, max_iter))
    return m
end

function defaults(m::Model)
    op = Ref{Int32}(0); kind = Ref{Int32}(0); tol = Ref{Cdouble}(0); it = Ref{Int32}(0)
    check(ccall((:ham_model_get_defaults, libhamdeq()), Cint,
                (Ref{Int32}, Ref{Int32}, Ref{Cdouble}, Ref{Int32}, Ptr{Cvoid}), op, kind, tol, it, m))
    return (op = Operator(op[]), solver = SolverKind(kind[]), tol = tol[], max_iter = Int(it[]))
end

"""Saves the model to `path`, atomically."""
function save(m::Model, path::AbstractString)
    check(ccall((:ham_model_save, libhamdeq()), Cint, (Ptr{Cvoid}, Cstring), m, path))
    return nothing
end

"""Loads a model file."""
function load_model(path::AbstractString)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_model_load, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Cstring), out, path))
    return Model(_Adopt(), out[], Any[])
end

"""The model file's bytes, in memory."""
function save_buffer(m::Model)
    n = Ref{Csize_t}(0)
    check(ccall((:ham_model_save_buffer, libhamdeq()), Cint, (Ptr{Cvoid}, Ref{Csize_t}, Ptr{Cvoid}),
                C_NULL, n, m))
    buf = Vector{UInt8}(undef, n[])
    check(ccall((:ham_model_save_buffer, libhamdeq()), Cint, (Ptr{Cvoid}, Ref{Csize_t}, Ptr{Cvoid}),
                buf, n, m))
    resize!(buf, n[])
    return buf
end

"""Decodes a model from the bytes of [`save_buffer`](@ref) or of a model file."""
function load_buffer(bytes::AbstractVector{UInt8})
    buf = Vector{UInt8}(bytes)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_model_load_buffer, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Ptr{Cvoid}, Csize_t),
                out, buf, length(buf)))
    return Model(_Adopt(), out[], Any[])
end

# ---------------------------------------------------------------------------------------
# Modern Hopfield networks
# ---------------------------------------------------------------------------------------

"""A Modern Hopfield network storing the columns of `patterns` (`dim x n_patterns`)."""
function mhn_model(patterns::Matrix{Float32}, beta::Real)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_mhn_new, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Ptr{Float32}, Int32, Int32, Cdouble),
                out, patterns, Int32(size(patterns, 2)), Int32(size(patterns, 1)), beta))
    return Model(_Adopt(), out[], Any[])
end

"""`beta_s = 1 / lambda_max(Cov(X))` of the columns of `patterns`."""
function mhn_beta_s(patterns::Matrix{Float32})
    b = Ref{Cdouble}(0)
    check(ccall((:ham_mhn_beta_s, libhamdeq()), Cint, (Ref{Cdouble}, Ptr{Float32}, Int32, Int32),
                b, patterns, Int32(size(patterns, 2)), Int32(size(patterns, 1))))
    return b[]
end

function _mhn_dim(mp::Ptr{Cvoid})
    nl = ccall((:ham_model_n_layers, libhamdeq()), Int32, (Ptr{Cvoid},), mp)
    clamped = ccall((:ham_model_has_clamped_input, libhamdeq()), Int32, (Ptr{Cvoid},), mp)
    (nl == 2 && clamped == 0) || throw(HamDeqError(Int32(ERR_UNSUPPORTED), "HAM_ERR_UNSUPPORTED",
                                                   "not a Modern Hopfield network"))
    return Int(ccall((:ham_model_layer_size, libhamdeq()), Int32, (Ptr{Cvoid}, Int32), mp, 1))
end
_mhn_dim(m::Model) = GC.@preserve m _mhn_dim(m.ptr)

"""MHN energy of visible states (columns of `v`)."""
function mhn_energy(m::Model, v::Batch32)
    b = _batch(v, _mhn_dim(m), "v")
    e = Vector{Cdouble}(undef, b)
    check(ccall((:ham_mhn_energy, libhamdeq()), Cint, (Ptr{Cdouble}, Ptr{Cvoid}, Int32, Ptr{Float32}),
                e, m, b, v))
    return e
end

"""Smallest eigenvalue of the MHN energy's Hessian at visible states."""
function mhn_hessian_min(m::Model, v::Batch32)
    b = _batch(v, _mhn_dim(m), "v")
    e = Vector{Cdouble}(undef, b)
    check(ccall((:ham_mhn_hessian_min, libhamdeq()), Cint, (Ptr{Cdouble}, Ptr{Cvoid}, Int32, Ptr{Float32}),
                e, m, b, v))
    return e
end

# ---------------------------------------------------------------------------------------
# Callbacks
# ---------------------------------------------------------------------------------------

"""What the iteration callback sees. Arrays view C memory valid during the call only."""
struct IterInfo
    iteration::Int              # 0-based driver iteration
    sample::Vector{Int}         # 1-based sample indices of the active samples (a copy)
    residual::Vector{Cdouble}   # relative residuals (view)
    iterations::Vector{Int32}   # evaluations so far (view)
    state::Matrix{Float32}      # dim x active current iterates (view)
    output::Matrix{Float32}     # dim x active operator outputs (view)
end

"""What a convergence test sees (views valid during the call only)."""
struct ConvInfo
    sample::Int                 # 1-based
    iterations::Int
    state::Vector{Float32}
    output::Vector{Float32}
    residual_norm::Float64
    output_norm::Float64
    tol::Float64
    atol::Float64
end

# Callbacks of one C solver and the exception a callback left for the caller.
mutable struct SolverHooks
    iter::Any
    conv::Any
    pending::Any
    reduce::Any            # a Trainer's gradient reduction (set_reduce!)
    SolverHooks() = new(nothing, nothing, nothing, nothing)
end

_fail!(h::SolverHooks, err) = (h.pending === nothing && (h.pending = err); nothing)

function _finish!(h::SolverHooks, status::Integer)
    if h.pending !== nothing
        err = h.pending
        h.pending = nothing
        throw(err)
    end
    check(status)
end

# Top-level trampolines: `user` is the rooted SolverHooks; nothing unwinds into C.
# C callback: ham_iter_callback_t
function _iter_trampoline(info::Ptr{IterInfoC}, user::Ptr{Cvoid})::Cint
    h = unsafe_pointer_to_objref(user)::SolverHooks
    try
        i = unsafe_load(info)
        n = Int(i.active); d = Int(i.dim)
        ii = IterInfo(Int(i.iteration), Int.(unsafe_wrap(Array, i.sample, n)) .+ 1,
                      unsafe_wrap(Array, i.residual, n), unsafe_wrap(Array, i.iterations, n),
                      unsafe_wrap(Array, i.state, (d, n)), unsafe_wrap(Array, i.output, (d, n)))
        return h.iter(ii) === false ? Cint(1) : Cint(0)
    catch err
        _fail!(h, err)
        return Cint(1) # stops the solve (HAM_ERR_CANCELLED); solve! rethrows err
    end
end

# C callback: ham_conv_test_t
function _conv_trampoline(info::Ptr{ConvInfoC}, user::Ptr{Cvoid})::Cint
    h = unsafe_pointer_to_objref(user)::SolverHooks
    try
        c = unsafe_load(info)
        d = Int(c.dim)
        ci = ConvInfo(Int(c.sample) + 1, Int(c.iterations), unsafe_wrap(Array, c.state, d),
                      unsafe_wrap(Array, c.output, d), c.residual_norm, c.output_norm, c.tol, c.atol)
        return h.conv(ci) ? Cint(1) : Cint(0)
    catch err
        _fail!(h, err)
        return Cint(Integer(ERR_CALLBACK)) # aborts the solve; solve! rethrows err
    end
end

# ---------------------------------------------------------------------------------------
# Custom solver backends
# ---------------------------------------------------------------------------------------

"""
    CustomBackend(step; init = (dim, max_rows) -> nothing, reset = nothing,
                  compact = nothing, name = "")

A user solver backend. `step(ctx::StepContext, s, gs)` replaces each column of `s`
(`dim x rows`) by the next iterate given `gs = G(s)` and returns `true` when it left
`G(new s)` in `gs`; `reset(rows)` forgets history; `compact(keep)` keeps the columns
`keep` (1-based, increasing) and moves them to `1:length(keep)`. An exception thrown by
any of them stops the solve and is rethrown by [`solve!`](@ref).
"""
struct CustomBackend
    step::Any
    init::Any
    reset::Any
    compact::Any
    name::String
    CustomBackend(step; init = (dim, rows) -> nothing, reset = nothing, compact = nothing,
                  name::AbstractString = "") = new(step, init, reset, compact, String(name))
end

mutable struct BackendHolder
    backend::CustomBackend
    hooks::SolverHooks
    deferred::Bool # compact threw: the next step reports it
end

"""The context of a custom backend's step (valid during the step only)."""
struct StepContext
    ptr::Ptr{Cvoid}
end

rows(c::StepContext) = Int(ccall((:ham_step_rows, libhamdeq()), Int32, (Ptr{Cvoid},), c.ptr))
dim(c::StepContext) = Int(ccall((:ham_step_dim, libhamdeq()), Int32, (Ptr{Cvoid},), c.ptr))

"""`out = G(s)` on the step's rows (`dim x rows` each)."""
function apply_step!(c::StepContext, out::Matrix{Float32}, s::Matrix{Float32})
    size(out) == size(s) == (dim(c), rows(c)) ||
        throw(DimensionMismatch("step arrays must be $(dim(c)) x $(rows(c))"))
    check(ccall((:ham_step_apply, libhamdeq()), Cint, (Ptr{Cvoid}, Ptr{Float32}, Ptr{Float32}),
                c.ptr, out, s))
    return out
end

# C callback: ham_solver_def_t.init
function _backend_init(state::Ptr{Ptr{Cvoid}}, d::Int32, max_rows::Int32, user::Ptr{Cvoid})::Cint
    h = unsafe_pointer_to_objref(user)::BackendHolder
    unsafe_store!(state, user)
    try
        h.backend.init(Int(d), Int(max_rows))
        return Cint(0)
    catch err
        _fail!(h.hooks, err)
        return Cint(Integer(ERR_CALLBACK))
    end
end

# fini may run inside a finalizer (ham_solver_free): it calls no user code.
# C callback: ham_solver_def_t.fini
_backend_fini(state::Ptr{Cvoid}, user::Ptr{Cvoid})::Cvoid = nothing

# C callback: ham_solver_def_t.reset
function _backend_reset(state::Ptr{Cvoid}, nrows::Int32, user::Ptr{Cvoid})::Cint
    h = unsafe_pointer_to_objref(user)::BackendHolder
    h.backend.reset === nothing && return Cint(0)
    try
        h.backend.reset(Int(nrows))
        return Cint(0)
    catch err
        _fail!(h.hooks, err)
        return Cint(Integer(ERR_CALLBACK))
    end
end

# C callback: ham_solver_def_t.step
function _backend_step(state::Ptr{Cvoid}, step::Ptr{Cvoid}, s::Ptr{Float32}, gs::Ptr{Float32},
                       nrows::Int32, user::Ptr{Cvoid})::Cint
    h = unsafe_pointer_to_objref(user)::BackendHolder
    if h.deferred
        h.deferred = false
        return Cint(Integer(ERR_CALLBACK))
    end
    try
        c = StepContext(step)
        d = dim(c)
        S = unsafe_wrap(Array, s, (d, Int(nrows)))
        GS = unsafe_wrap(Array, gs, (d, Int(nrows)))
        return h.backend.step(c, S, GS) === true ? Cint(1) : Cint(0)
    catch err
        _fail!(h.hooks, err)
        return Cint(Integer(ERR_CALLBACK))
    end
end

# C callback: ham_solver_def_t.compact
function _backend_compact(state::Ptr{Cvoid}, keep::Ptr{Int32}, n_keep::Int32, user::Ptr{Cvoid})::Cvoid
    h = unsafe_pointer_to_objref(user)::BackendHolder
    h.backend.compact === nothing && return nothing
    try
        h.backend.compact(Int.(unsafe_wrap(Array, keep, Int(n_keep))) .+ 1)
    catch err
        _fail!(h.hooks, err)
        h.deferred = true
    end
    return nothing
end

# ---------------------------------------------------------------------------------------
# Solver
# ---------------------------------------------------------------------------------------

"""
    Solver(model, op, kind::SolverKind)
    Solver(model, op, backend::CustomBackend)

A fixed-point solver for `model` (it holds its own reference to the C model). Freed by its
finalizer or `close`. The solver of a [`Trainer`](@ref) ([`forward_solver`](@ref)) is
borrowed: it keeps the trainer alive, `close` on it only forgets the pointer, and closing
the trainer invalidates it.
"""
mutable struct Solver
    ptr::Ptr{Cvoid}
    model::Model          # keeps the model's Julia roots reachable
    hooks::SolverHooks    # `user` of the callbacks (rooted here)
    backend::Any          # BackendHolder of a custom backend (rooted here), or nothing
    owner::Any            # the Trainer of a borrowed solver, or nothing
    function Solver(::_Adopt, ptr, model, hooks, backend, owner)
        s = new(ptr, model, hooks, backend, owner)
        owner === nothing && finalizer(_free_solver!, s)
        return s
    end
end

function _free_solver!(s::Solver)
    p = s.ptr
    s.ptr = C_NULL
    s.owner === nothing &&
        ccall((:ham_solver_free, libhamdeq()), Cvoid, (Ptr{Cvoid},), p)
    return nothing
end

Base.close(s::Solver) = _free_solver!(s)
Base.isopen(s::Solver) = s.ptr != C_NULL
Base.cconvert(::Type{Ptr{Cvoid}}, s::Solver) = s
Base.unsafe_convert(::Type{Ptr{Cvoid}}, s::Solver) = s.ptr

function Solver(m::Model, op::Operator, kind::SolverKind)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_solver_new, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Ptr{Cvoid}, Int32, Int32),
                out, m, Integer(op), Integer(kind)))
    return Solver(_Adopt(), out[], m, SolverHooks(), nothing, nothing)
end

function Solver(m::Model, op::Operator, backend::CustomBackend)
    hooks = SolverHooks()
    holder = BackendHolder(backend, hooks, false)
    name = backend.name
    def = Ref(SolverDefC(UInt32(sizeof(SolverDefC)), UInt32(0),
                         isempty(name) ? Ptr{UInt8}(C_NULL) : pointer(name),
                         @cfunction(_backend_init, Cint, (Ptr{Ptr{Cvoid}}, Int32, Int32, Ptr{Cvoid})),
                         @cfunction(_backend_fini, Cvoid, (Ptr{Cvoid}, Ptr{Cvoid})),
                         @cfunction(_backend_reset, Cint, (Ptr{Cvoid}, Int32, Ptr{Cvoid})),
                         @cfunction(_backend_step, Cint,
                                    (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Float32}, Ptr{Float32}, Int32,
                                     Ptr{Cvoid})),
                         @cfunction(_backend_compact, Cvoid, (Ptr{Cvoid}, Ptr{Int32}, Int32, Ptr{Cvoid})),
                         pointer_from_objref(holder), C_NULL))
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve holder name begin
        check(ccall((:ham_solver_new_custom, libhamdeq()), Cint,
                    (Ref{Ptr{Cvoid}}, Ptr{Cvoid}, Int32, Ref{SolverDefC}), out, m, Integer(op), def))
    end
    # `user` is borrowed by C (no destroy): the Solver roots the holder (and the name).
    return Solver(_Adopt(), out[], m, hooks, holder, nothing)
end

set_option!(s::Solver, opt::SolverOption, value::Real) =
    (check(ccall((:ham_solver_set_option, libhamdeq()), Cint, (Ptr{Cvoid}, Int32, Cdouble),
                 s, Integer(opt), value)); s)

function get_option(s::Solver, opt::SolverOption)
    v = Ref{Cdouble}(0)
    check(ccall((:ham_solver_get_option, libhamdeq()), Cint, (Ref{Cdouble}, Ptr{Cvoid}, Int32),
                v, s, Integer(opt)))
    return v[]
end

"""
    set_callback!(solver, f)       # f(info::IterInfo); return false to stop
    set_callback!(solver, nothing) # remove it

The iteration callback. Returning `false` stops the solve (`ERR_CANCELLED`); an exception
it throws stops the solve and is rethrown by [`solve!`](@ref).
"""
function set_callback!(s::Solver, f)
    s.hooks.iter = f
    cb = f === nothing ? C_NULL : @cfunction(_iter_trampoline, Cint, (Ptr{IterInfoC}, Ptr{Cvoid}))
    check(ccall((:ham_solver_set_callback, libhamdeq()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}),
                s, cb, f === nothing ? C_NULL : pointer_from_objref(s.hooks)))
    return s
end

"""
    set_conv_test!(solver, f)       # f(info::ConvInfo) -> Bool (converged)
    set_conv_test!(solver, nothing) # the built-in test again

An exception thrown by `f` aborts the solve and is rethrown by [`solve!`](@ref).
"""
function set_conv_test!(s::Solver, f)
    s.hooks.conv = f
    cb = f === nothing ? C_NULL : @cfunction(_conv_trampoline, Cint, (Ptr{ConvInfoC}, Ptr{Cvoid}))
    check(ccall((:ham_solver_set_conv_test, libhamdeq()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}),
                s, cb, f === nothing ? C_NULL : pointer_from_objref(s.hooks)))
    return s
end

"""The solver's model (a new wrapper holding its own reference)."""
function solver_model(s::Solver)
    q = GC.@preserve s ccall((:ham_model_ref, libhamdeq()), Ptr{Cvoid}, (Ptr{Cvoid},),
                             _solver_model_ptr(s))
    return Model(_Adopt(), q, s.model.roots)
end

solver_kind(s::Solver) = SolverKind(ccall((:ham_solver_kind, libhamdeq()), Int32, (Ptr{Cvoid},), s))
solver_operator(s::Solver) = Operator(ccall((:ham_solver_operator, libhamdeq()), Int32, (Ptr{Cvoid},), s))

"""
    solve!(solver, state, x = nothing) -> state

Solves the fixed point of every column of `state` (`dim x batch`, `Float32`, in place: the
initial state under `OPT_WARM_START`, the result on return). `x` is the `N_1 x batch`
input of a clamped model, `nothing` for a free-input one. A callback's exception is
rethrown here.
"""
function solve!(s::Solver, state::Batch32, x = nothing)
    # `mp` is borrowed from `s`, which the last ccall below keeps alive until it returns.
    mp = _solver_model_ptr(s)
    op = ccall((:ham_solver_operator, libhamdeq()), Int32, (Ptr{Cvoid},), s)
    b = _batch(state, _state_dim(mp, op), "state")
    xa = _input(mp, x, b)
    s.hooks.pending = nothing
    rc = ccall((:ham_solver_solve, libhamdeq()), Cint,
               (Ptr{Cvoid}, Ptr{Float32}, Int32, Ptr{Float32}), s, state, b, xa)
    _finish!(s.hooks, rc)
    return state
end

# The C model of a solver, borrowed (valid while the solver lives, even after the Model
# wrapper was closed: the solver holds its own reference).
function _solver_model_ptr(s::Solver)
    p = ccall((:ham_solver_model, libhamdeq()), Ptr{Cvoid}, (Ptr{Cvoid},), s)
    p == C_NULL && throw(HamDeqError(Int32(ERR_NULL), "HAM_ERR_NULL", "closed solver"))
    return p
end

function _state_dim(mp::Ptr{Cvoid}, op::Integer)
    d = Ref{Int32}(0)
    check(ccall((:ham_model_state_dim, libhamdeq()), Cint, (Ref{Int32}, Ptr{Cvoid}, Int32),
                d, mp, op))
    return Int(d[])
end

_stats(c::SolveStatsC) = (samples = Int(c.samples), converged = Int(c.converged),
                          not_converged = Int(c.not_converged), diverged = Int(c.diverged),
                          iters_max = Int(c.iters_max), iters_mean = c.iters_mean,
                          evaluations = Int(c.evaluations),
                          jacobian_products = Int(c.jacobian_products),
                          unstable = Int(c.unstable), rejected_steps = Int(c.rejected_steps))

"""Summary of the last solve (a NamedTuple)."""
function stats(s::Solver)
    r = Ref(_zero_stats())
    check(ccall((:ham_solver_get_stats, libhamdeq()), Cint, (Ref{SolveStatsC}, Ptr{Cvoid}), r, s))
    return _stats(r[])
end

"""Per-sample results of the last solve: `(iterations, residual, status)`."""
function samples(s::Solver)
    b = stats(s).samples
    it = Vector{Int32}(undef, b); res = Vector{Cdouble}(undef, b); st = Vector{Int32}(undef, b)
    check(ccall((:ham_solver_get_samples, libhamdeq()), Cint,
                (Ptr{Int32}, Ptr{Cdouble}, Ptr{Int32}, Ptr{Cvoid}, Int32), it, res, st, s, b))
    return (iterations = it, residual = res, status = SampleStatus.(st))
end

"""
    find_minima(solver, starts; cluster_tol = 0.05, capacity = size(starts, 2))

Solves MHN retrieval from every column of `starts` and counts the distinct minima.
Returns the counts, the minima found (`dim x min(capacity, minima)`) and, per start, the
1-based index of its minimum (0: not converged, -1: a saddle).
"""
function find_minima(s::Solver, starts::Matrix{Float32}; cluster_tol::Real = 0.05,
                     capacity::Integer = size(starts, 2))
    d = GC.@preserve s _mhn_dim(_solver_model_ptr(s))
    n = _batch(starts, d, "starts")
    pts = Matrix{Float32}(undef, d, capacity)
    assign = Vector{Int32}(undef, n)
    r = Ref(MhnMinimaC(UInt32(sizeof(MhnMinimaC)), 0, 0, 0, 0, 0, 0, 0, 0.0))
    check(ccall((:ham_mhn_find_minima, libhamdeq()), Cint,
                (Ref{MhnMinimaC}, Ptr{Float32}, Int32, Ptr{Int32}, Ptr{Cvoid}, Ptr{Float32}, Int32, Cdouble),
                r, capacity == 0 ? Ptr{Float32}(C_NULL) : pts, Int32(capacity), assign, s, starts, n,
                cluster_tol))
    c = r[]
    return (starts = Int(c.starts), converged = Int(c.converged), minima = Int(c.minima),
            saddles = Int(c.saddles),
            mean_attractor = c.mean_attractor < 0 ? 0 : Int(c.mean_attractor) + 1,
            mean_basin = Int(c.mean_basin), iters_max = Int(c.iters_max), iters_mean = c.iters_mean,
            points = pts[:, 1:min(capacity, Int(c.minima))],
            assign = [Int(a) + 1 for a in assign])
end

# ---------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------

"""
    Trainer(model, op, kind)

Trains a clamped model in place through its fixed point (the trainer holds its own
reference to the C model; every wrapper of that model sees the steps).
"""
mutable struct Trainer
    ptr::Ptr{Cvoid}
    model::Model
    hooks::SolverHooks     # the forward solver's callbacks
    view::Any              # the borrowed forward Solver, once asked for
    function Trainer(::_Adopt, ptr, model)
        t = new(ptr, model, SolverHooks(), nothing)
        finalizer(_free_trainer!, t)
        return t
    end
end

function _free_trainer!(t::Trainer)
    p = t.ptr
    t.ptr = C_NULL
    t.view === nothing || (t.view.ptr = C_NULL) # the borrowed solver dies with the trainer
    ccall((:ham_trainer_free, libhamdeq()), Cvoid, (Ptr{Cvoid},), p)
    return nothing
end

Base.close(t::Trainer) = _free_trainer!(t)
Base.isopen(t::Trainer) = t.ptr != C_NULL
Base.cconvert(::Type{Ptr{Cvoid}}, t::Trainer) = t
Base.unsafe_convert(::Type{Ptr{Cvoid}}, t::Trainer) = t.ptr

function Trainer(m::Model, op::Operator, kind::SolverKind)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_trainer_new, libhamdeq()), Cint, (Ref{Ptr{Cvoid}}, Ptr{Cvoid}, Int32, Int32),
                out, m, Integer(op), Integer(kind)))
    return Trainer(_Adopt(), out[], m)
end

"""The trainer's forward solver, borrowed (the same object on every call)."""
function forward_solver(t::Trainer)
    if t.view === nothing
        p = ccall((:ham_trainer_solver, libhamdeq()), Ptr{Cvoid}, (Ptr{Cvoid},), t)
        p == C_NULL && throw(HamDeqError(Int32(ERR_NULL), "HAM_ERR_NULL", "closed trainer"))
        t.view = Solver(_Adopt(), p, t.model, t.hooks, nothing, t)
    end
    return t.view::Solver
end

set_option!(t::Trainer, opt::TrainOption, value::Real) =
    (check(ccall((:ham_trainer_set_option, libhamdeq()), Cint, (Ptr{Cvoid}, Int32, Cdouble),
                 t, Integer(opt), value)); t)

function get_option(t::Trainer, opt::TrainOption)
    v = Ref{Cdouble}(0)
    check(ccall((:ham_trainer_get_option, libhamdeq()), Cint, (Ref{Cdouble}, Ptr{Cvoid}, Int32),
                v, t, Integer(opt)))
    return v[]
end

# Size of layer `layer` (1-based) of the trainer's C model (alive while the trainer is).
function _trainer_layer_size(t::Trainer, layer::Integer)
    n = GC.@preserve t begin
        sp = ccall((:ham_trainer_solver, libhamdeq()), Ptr{Cvoid}, (Ptr{Cvoid},), t)
        sp == C_NULL && throw(HamDeqError(Int32(ERR_NULL), "HAM_ERR_NULL", "closed trainer"))
        mp = ccall((:ham_solver_model, libhamdeq()), Ptr{Cvoid}, (Ptr{Cvoid},), sp)
        ccall((:ham_model_layer_size, libhamdeq()), Int32, (Ptr{Cvoid}, Int32), mp, layer - 1)
    end
    return Int(n)
end

function _train_args(t::Trainer, x::Matrix{Float32}, labels::AbstractVector{<:Integer})
    b = _batch(x, _trainer_layer_size(t, 1), "x")
    length(labels) == b ||
        throw(DimensionMismatch("$(length(labels)) labels for $b samples"))
    return b, Vector{Int32}(labels)
end

"""Loss and gradients on a batch without changing the model: `(loss, correct)`."""
function gradient!(t::Trainer, x::Matrix{Float32}, labels::AbstractVector{<:Integer})
    b, lab = _train_args(t, x, labels)
    loss = Ref{Cdouble}(0); correct = Ref{Int32}(0)
    t.hooks.pending = nothing
    rc = ccall((:ham_trainer_gradient, libhamdeq()), Cint,
               (Ptr{Cvoid}, Ref{Cdouble}, Ref{Int32}, Int32, Ptr{Float32}, Ptr{Int32}),
               t, loss, correct, b, x, lab)
    _finish!(t.hooks, rc)
    return (loss = loss[], correct = Int(correct[]))
end

"""One training step: `(loss, correct)` of the batch before the update."""
function step!(t::Trainer, x::Matrix{Float32}, labels::AbstractVector{<:Integer})
    b, lab = _train_args(t, x, labels)
    loss = Ref{Cdouble}(0); correct = Ref{Int32}(0)
    t.hooks.pending = nothing
    rc = ccall((:ham_trainer_step, libhamdeq()), Cint,
               (Ptr{Cvoid}, Ref{Cdouble}, Ref{Int32}, Int32, Ptr{Float32}, Ptr{Int32}),
               t, loss, correct, b, x, lab)
    _finish!(t.hooks, rc)
    return (loss = loss[], correct = Int(correct[]))
end

"""Gradient of weight block `block` (`N_block x N_{block+1}`) from the last gradient or step."""
function weight_grad(t::Trainer, block::Integer)
    a, b = _trainer_layer_size(t, block), _trainer_layer_size(t, block + 1)
    raw = Matrix{Float32}(undef, b, a)
    check(ccall((:ham_trainer_get_weight_grad, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Csize_t), raw, t, block - 1, length(raw)))
    return permutedims(raw)
end

"""Gradient of the bias of free layer `layer` from the last gradient or step."""
function bias_grad(t::Trainer, layer::Integer)
    g = Vector{Float32}(undef, _trainer_layer_size(t, layer))
    check(ccall((:ham_trainer_get_bias_grad, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Cvoid}, Int32, Csize_t), g, t, layer - 1, length(g)))
    return g
end

# C callback: ham_reduce_fn
function _reduce_trampoline(grad::Ptr{Float32}, len::Csize_t, counts::Ptr{Cdouble},
                            n_counts::Int32, user::Ptr{Cvoid})::Cint
    h = unsafe_pointer_to_objref(user)::SolverHooks
    try
        g = grad == C_NULL ? Float32[] : unsafe_wrap(Array, grad, Int(len))
        c = unsafe_wrap(Array, counts, Int(max(n_counts, 0)))
        return h.reduce(g, c) === false ? Cint(1) : Cint(0)
    catch err
        _fail!(h, err)
        return Cint(Integer(ERR_CALLBACK)) # fails the step; step!/gradient! rethrow err
    end
end

"""
    set_reduce!(trainer, f)       # f(grad::Vector{Float32}, counts::Vector{Float64})
    set_reduce!(trainer, nothing) # train on the local batch alone

The gradient reduction of data-parallel training (`ham_trainer_set_reduce`): `f` must
replace `grad` and `counts` in place by their element-wise sums over every process. It is
called twice per step, first with an empty `grad`, then with the flat gradient; `counts`
holds 4 values (loss sum, correct, samples, failed). Returning `false` fails the step with
`ERR_CALLBACK`; an exception fails it too and is rethrown by [`step!`](@ref) and
[`gradient!`](@ref).
"""
function set_reduce!(t::Trainer, f)
    cb = f === nothing ? C_NULL :
        @cfunction(_reduce_trampoline, Cint, (Ptr{Float32}, Csize_t, Ptr{Cdouble}, Int32, Ptr{Cvoid}))
    check(ccall((:ham_trainer_set_reduce, libhamdeq()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}),
                t, cb, f === nothing ? C_NULL : pointer_from_objref(t.hooks)))
    t.hooks.reduce = f
    return t
end

"""Statistics of the last step's adjoint solve."""
function backward_stats(t::Trainer)
    r = Ref(_zero_stats())
    check(ccall((:ham_trainer_backward_stats, libhamdeq()), Cint, (Ref{SolveStatsC}, Ptr{Cvoid}), r, t))
    return _stats(r[])
end

# ---------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------

"""Labelled samples read from IDX or .npy files; `length(d)` samples of `dim(d)` values."""
mutable struct Dataset
    ptr::Ptr{Cvoid}
    function Dataset(::_Adopt, ptr::Ptr{Cvoid})
        d = new(ptr)
        finalizer(_free_dataset!, d)
        return d
    end
end

function _free_dataset!(d::Dataset)
    p = d.ptr
    d.ptr = C_NULL
    ccall((:ham_dataset_free, libhamdeq()), Cvoid, (Ptr{Cvoid},), p)
    return nothing
end

Base.close(d::Dataset) = _free_dataset!(d)
Base.isopen(d::Dataset) = d.ptr != C_NULL
Base.cconvert(::Type{Ptr{Cvoid}}, d::Dataset) = d
Base.unsafe_convert(::Type{Ptr{Cvoid}}, d::Dataset) = d.ptr

_load_options(max_bytes::Integer) = Ref(LoadOptionsC(UInt32(sizeof(LoadOptionsC)), UInt32(0),
                                                     UInt64(max_bytes)))
function _cpath(p)
    p === nothing && return Ptr{UInt8}(C_NULL)
    s = String(p)
    '\0' in s && throw(ArgumentError("path contains a NUL character"))
    return s
end

"""IDX images (and labels, or `nothing`), raw or gzip."""
function load_idx(images::AbstractString, labels = nothing; max_bytes::Integer = 0)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    lab = _cpath(labels)
    check(ccall((:ham_dataset_load_idx, libhamdeq()), Cint,
                (Ref{Ptr{Cvoid}}, Cstring, Ptr{UInt8}, Ref{LoadOptionsC}),
                out, images, lab, _load_options(max_bytes)))
    return Dataset(_Adopt(), out[])
end

"""NumPy .npy samples (and labels, or `nothing`)."""
function load_npy(samples::AbstractString, labels = nothing; max_bytes::Integer = 0)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    lab = _cpath(labels)
    check(ccall((:ham_dataset_load_npy, libhamdeq()), Cint,
                (Ref{Ptr{Cvoid}}, Cstring, Ptr{UInt8}, Ref{LoadOptionsC}),
                out, samples, lab, _load_options(max_bytes)))
    return Dataset(_Adopt(), out[])
end

"""One split (`"train"`, `"t10k"`) of an MNIST-style directory."""
function load_dir(dir::AbstractString, split::AbstractString; max_bytes::Integer = 0)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ham_dataset_load_dir, libhamdeq()), Cint,
                (Ref{Ptr{Cvoid}}, Cstring, Cstring, Ref{LoadOptionsC}),
                out, dir, split, _load_options(max_bytes)))
    return Dataset(_Adopt(), out[])
end

Base.length(d::Dataset) = Int(ccall((:ham_dataset_count, libhamdeq()), Int64, (Ptr{Cvoid},), d))
dim(d::Dataset) = Int(ccall((:ham_dataset_dim, libhamdeq()), Int32, (Ptr{Cvoid},), d))
has_labels(d::Dataset) = ccall((:ham_dataset_has_labels, libhamdeq()), Int32, (Ptr{Cvoid},), d) != 0
n_classes(d::Dataset) = Int(ccall((:ham_dataset_n_classes, libhamdeq()), Int32, (Ptr{Cvoid},), d))

"""Samples `first:first+count-1` (1-based): `(x = dim x count, labels)` (labels empty
for an unlabelled dataset)."""
function getbatch(d::Dataset, first::Integer, count::Integer)
    x = Matrix{Float32}(undef, dim(d), count)
    lab = Vector{Int32}(undef, has_labels(d) ? count : 0)
    check(ccall((:ham_dataset_get, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Int32}, Ptr{Cvoid}, Int64, Int32),
                x, isempty(lab) ? Ptr{Int32}(C_NULL) : lab, d, Int64(first) - 1, Int32(count)))
    return (x = x, labels = lab)
end

"""The samples at `indices` (1-based)."""
function gather(d::Dataset, indices::AbstractVector{<:Integer})
    n = length(indices)
    idx = Int64[i - 1 for i in indices]
    x = Matrix{Float32}(undef, dim(d), n)
    lab = Vector{Int32}(undef, has_labels(d) ? n : 0)
    check(ccall((:ham_dataset_gather, libhamdeq()), Cint,
                (Ptr{Float32}, Ptr{Int32}, Ptr{Cvoid}, Ptr{Int64}, Int32),
                x, isempty(lab) ? Ptr{Int32}(C_NULL) : lab, d, idx, Int32(n)))
    return (x = x, labels = lab)
end

end # module
