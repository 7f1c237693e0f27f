"""Every enum and option of the C API as named constants.

Each C enum is an ``enum.IntEnum`` whose members are the C values (pinned by the ABI
policy), so a member can be passed wherever the C API takes an ``int32_t``, and every
member is also exported at module level under its C name without the ``HAM_`` prefix
(``hamdeq.OPT_TOL is hamdeq.Option.TOL``). Values read back from the library are
converted to members when known and left as plain ints otherwise, since a newer library
may return values these constants do not know.

tests/test_cdef.py checks every member against the headers.
"""

import enum

from ._cdef import HAM_LOAD_DEFAULT_MAX_BYTES, HAM_MAX_LAYERS


class Status(enum.IntEnum):
    """ham_status_t: what every fallible call returns."""
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


class LagrangianKind(enum.IntEnum):
    """ham_lagrangian_kind_t."""
    SHIFTED_SIGMOID = 0
    SIGMOID = 1
    TANH = 2
    IDENTITY = 3
    SOFTMAX = 4
    CUSTOM = 100


class ModelFlags(enum.IntEnum):
    """ham_model_flags_t: the flags of ham_model_new()."""
    FREE_INPUT = 0
    CLAMPED_INPUT = 1


class Operator(enum.IntEnum):
    """ham_operator_t: the operator whose fixed point is solved."""
    SYNC = 0
    EVEN_ODD = 1


class SolverKind(enum.IntEnum):
    """ham_solver_kind_t."""
    PICARD = 0
    ANDERSON = 1
    BROYDEN = 2
    NEWTON = 3
    CUSTOM = 100


class Option(enum.IntEnum):
    """ham_option_t: solver options (docs/api.md, "Solver options")."""
    TOL = 0
    MAX_ITER = 1
    WARM_START = 2
    DT = 3
    ANDERSON_M = 4
    ANDERSON_BETA = 5
    ANDERSON_LAMBDA = 6
    ANDERSON_SAFEGUARD = 7
    BROYDEN_M = 8
    NEWTON_LINESEARCH = 9
    NEWTON_MAX_DIM = 10
    DIVERGENCE = 11
    NEWTON_KRYLOV_DIM = 12
    NEWTON_FORCING = 13
    FIXED_ITERS = 14
    ATOL = 15
    ATTRACTOR_SAFE = 16
    STABILITY_CHECK = 17
    THREADS = 18


class SampleStatus(enum.IntEnum):
    """ham_sample_status_t: the outcome of one sample of a solve."""
    CONVERGED = 0
    MAX_ITER = 1
    DIVERGED = 2
    UNSTABLE = 3


class Loss(enum.IntEnum):
    """ham_loss_t."""
    MSE = 0
    CROSS_ENTROPY = 1


class Optimizer(enum.IntEnum):
    """ham_optimizer_t."""
    SGD = 0
    ADAM = 1
    MADAM = 2


class Gradient(enum.IntEnum):
    """ham_gradient_t."""
    IMPLICIT = 0
    RECURRENT = 1


class TrainOption(enum.IntEnum):
    """ham_train_option_t: trainer options (docs/api.md, "Training")."""
    LOSS = 0
    OPTIMIZER = 1
    LR = 2
    MOMENTUM = 3
    ADAM_BETA1 = 4
    ADAM_BETA2 = 5
    ADAM_EPS = 6
    MADAM_SCALE = 7
    MADAM_GBOUND = 8
    MADAM_BIASES = 9
    GRADIENT = 10
    BACKWARD_SOLVER = 11
    BACKWARD_ITERS = 12
    BACKWARD_TOL = 13
    THREADS = 14


# (enum class, prefix of its C names after "HAM_") for the module-level aliases and the
# header check.
ENUMS = [
    (Status, ""),
    (LagrangianKind, "LAGRANGIAN_"),
    (ModelFlags, "MODEL_"),
    (Operator, "OPERATOR_"),
    (SolverKind, "SOLVER_"),
    (Option, "OPT_"),
    (SampleStatus, "SAMPLE_"),
    (Loss, "LOSS_"),
    (Optimizer, "OPTIMIZER_"),
    (Gradient, "GRADIENT_"),
    (TrainOption, "TRAIN_"),
]

MAX_LAYERS = HAM_MAX_LAYERS
LOAD_DEFAULT_MAX_BYTES = HAM_LOAD_DEFAULT_MAX_BYTES

__all__ = [cls.__name__ for cls, _ in ENUMS] + ["MAX_LAYERS", "LOAD_DEFAULT_MAX_BYTES"]

for _cls, _prefix in ENUMS:
    for _member in _cls:
        globals()[_prefix + _member.name] = _member
        __all__.append(_prefix + _member.name)
del _cls, _prefix, _member


def as_member(cls, value):
    """``cls(value)`` when the value is known, the plain int otherwise."""
    try:
        return cls(value)
    except ValueError:
        return int(value)
