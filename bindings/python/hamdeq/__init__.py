"""hamdeq: Python binding of libhamdeq (Hierarchical Associative Memories solved as Deep
Equilibrium Models with even-odd splitting), on cffi's ABI mode.

    import numpy as np, hamdeq
    with hamdeq.Model([784, 512, 10]) as model:
        model.init_xavier(1)
        with hamdeq.Solver(model, "even-odd", "anderson", tol=1e-4) as solver:
            states = solver.solve(np.random.rand(8, 784))

The library is loaded from ``$HAMDEQ_LIBRARY``, else by its soname ``libhamdeq.so.0``.
See README.md for the conventions (arrays, errors, callbacks, lifetimes, threads).
"""

from . import constants
from ._lib import cstr as _cstr, ffi, library_name
from ._lib import lib  # the raw cffi library, for what the wrappers do not cover
from ._names import (lagrangian_from_name, lagrangian_name, operator_from_name, operator_name,
                     solver_kind_from_name, solver_kind_name)
from .constants import *  # noqa: F401,F403 - the enums and their C-named aliases
from .dataset import Dataset
from .errors import HamDeqError, status_name, strerror
from .model import LagrangianInfo, Lagrangian, Model, SolverDefaults, mhn_beta_s
from .solver import (ConvInfo, IterInfo, MinimaResult, OptionInfo, Samples, SolveStats, Solver,
                     SolverBackend, Step)
from .trainer import StepResult, Trainer

__version__ = "0.1.0"


def version():
    """Version of the loaded library as (major, minor, patch) (``ham_version``)."""
    v = lib.ham_version()
    return (v // 10000, v // 100 % 100, v % 100)


def version_string():
    """Version of the loaded library as a string such as "0.1.0" (``ham_version_string``)."""
    return _cstr(lib.ham_version_string())


def last_error():
    """This thread's message about its most recent failing call (``ham_last_error``); the
    binding already puts it into every HamDeqError."""
    return _cstr(lib.ham_last_error())


__all__ = constants.__all__ + [
    "HamDeqError", "Model", "Solver", "Trainer", "Dataset", "Lagrangian", "SolverBackend",
    "Step", "IterInfo", "ConvInfo", "SolveStats", "Samples", "OptionInfo", "MinimaResult",
    "LagrangianInfo", "SolverDefaults", "StepResult", "mhn_beta_s", "version",
    "version_string", "last_error", "strerror", "status_name", "operator_name",
    "operator_from_name", "solver_kind_name", "solver_kind_from_name", "lagrangian_name",
    "lagrangian_from_name", "library_name", "ffi",
]
