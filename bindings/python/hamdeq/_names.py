"""Kinds, operators and options given as members, ints or names."""

from ._lib import cstr, ffi, lib
from .constants import (Gradient, LagrangianKind, Loss, Operator, Optimizer, Option, SolverKind,
                        TrainOption, as_member)
from .errors import check


def _parse(value, from_name, fname, cls, what):
    if isinstance(value, str):
        out = ffi.new("int32_t *")
        check(from_name(out, value.encode()), fname)
        return as_member(cls, out[0])
    if isinstance(value, bool) or not isinstance(value, int):
        # enum members are ints; anything else (floats, None) is a mistake
        raise TypeError("%s: expected a %s, an int or a name, got %r" % (what, cls.__name__, value))
    return value


def operator(op):
    """Operator member, int, or "sync" / "even-odd"."""
    return _parse(op, lib.ham_operator_from_name, "ham_operator_from_name", Operator,
                  "operator")


def solver_kind(kind):
    """SolverKind member, int, or "picard" / "anderson" / "broyden" / "newton"."""
    return _parse(kind, lib.ham_solver_kind_from_name, "ham_solver_kind_from_name", SolverKind,
                  "solver kind")


def lagrangian_kind(kind):
    """LagrangianKind member, int, or a name such as "tanh"."""
    return _parse(kind, lib.ham_lagrangian_from_name, "ham_lagrangian_from_name",
                  LagrangianKind, "Lagrangian kind")


def _option(option, cls, what):
    if isinstance(option, str):
        try:
            return cls[option.upper().replace("-", "_")]
        except KeyError:
            raise ValueError("unknown %s %r (known: %s)"
                             % (what, option, ", ".join(m.name.lower() for m in cls))) from None
    if isinstance(option, bool) or not isinstance(option, int):
        raise TypeError("%s: expected a %s, an int or a name, got %r"
                        % (what, cls.__name__, option))
    return option


def solver_option(option):
    """Option member, int, or its name in any case ("tol", "MAX_ITER", "anderson-m")."""
    return _option(option, Option, "solver option")


def train_option(option):
    """TrainOption member, int, or its name ("lr", "backward_iters")."""
    return _option(option, TrainOption, "trainer option")


_VALUE_ENUMS = {TrainOption.LOSS: Loss, TrainOption.OPTIMIZER: Optimizer,
                TrainOption.GRADIENT: Gradient}


def train_option_value(option, name):
    """The value of an enum-valued trainer option given by name."""
    if option == TrainOption.BACKWARD_SOLVER:
        return solver_kind(name)
    cls = _VALUE_ENUMS.get(option)
    if cls is None:
        raise TypeError("trainer option %s takes a number, not %r"
                        % (as_member(TrainOption, option).name.lower(), name))
    try:
        return cls[name.upper().replace("-", "_")]
    except KeyError:
        raise ValueError("unknown %s %r (known: %s)" % (cls.__name__, name, ", ".join(
            m.name.lower().replace("_", "-") for m in cls))) from None


def operator_name(op):
    """ham_operator_name: "sync", "even-odd", or None for an unknown value."""
    return cstr(lib.ham_operator_name(int(op)))


def operator_from_name(name):
    """ham_operator_from_name; HamDeqError (HAM_ERR_UNKNOWN_OPERATOR) for an unknown name."""
    return operator(str(name))


def solver_kind_name(kind):
    """ham_solver_kind_name: "picard", "anderson", "broyden", "newton", or None."""
    return cstr(lib.ham_solver_kind_name(int(kind)))


def solver_kind_from_name(name):
    """ham_solver_kind_from_name; HamDeqError (HAM_ERR_UNKNOWN_SOLVER) for an unknown name."""
    return solver_kind(str(name))


def lagrangian_name(kind):
    """ham_lagrangian_name: "shifted-sigmoid", ..., "custom", or None."""
    return cstr(lib.ham_lagrangian_name(int(kind)))


def lagrangian_from_name(name):
    """ham_lagrangian_from_name; HamDeqError (HAM_ERR_UNKNOWN_LAGRANGIAN) for an unknown
    name (and for "custom")."""
    return lagrangian_kind(str(name))
