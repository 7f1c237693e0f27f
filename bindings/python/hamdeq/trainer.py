"""Trainer: ham_trainer_t, training a HAM through its fixed point."""

import collections
import weakref

import numpy as np

from . import _arrays as A
from . import _names
from ._handle import Handle
from ._lib import ffi, lib
from .errors import check, record
from .solver import OptionInfo, Solver, SolveStats, _SolverState, _sync_iter_callback

__all__ = ["Trainer", "StepResult"]

StepResult = collections.namedtuple("StepResult", "loss correct")
StepResult.__doc__ = "Mean loss over a batch and the number of samples whose argmax is their label."


class _ReduceState:
    """The Python reduction installed on a trainer, and the handle C passes back to it."""

    def __init__(self, fn):
        self.fn = fn
        self.handle = ffi.new_handle(self)


@ffi.callback("int(float *, size_t, double *, int32_t, void *)", error=lib.HAM_ERR_CALLBACK)
def _reduce_trampoline(grad, length, counts, n_counts, user):
    try:
        fn = ffi.from_handle(user).fn
        g = A.view(grad, (int(length),), np.float32, True) if grad != ffi.NULL else None
        c = A.view(counts, (int(n_counts),), np.float64, True)
        rc = fn(g, c)
        return 0 if rc is None else int(rc)
    except BaseException as e:
        record(e)
        return lib.HAM_ERR_CALLBACK


class Trainer(Handle):
    """Trains a clamped-input model (``ham_trainer_t``).

    ``Trainer(model, op=None, kind=None, **options)``: forward solves with operator ``op``
    and solver ``kind`` (None: the model's defaults, as for Solver); keyword options are
    trainer options (configure()). The trainer holds its own reference to the model and
    modifies it at every step(). Its forward solver is ``trainer.solver``, borrowed from
    the trainer (it keeps the trainer alive).
    """

    def _release(self, ptr):
        lib.ham_trainer_free(ptr)

    def __init__(self, model, op=None, kind=None, **options):
        mp = model._p()
        if op is None or kind is None:
            d = model.get_defaults()
            op = d.op if op is None else op
            kind = d.solver if kind is None else kind
        out = ffi.new("ham_trainer_t **")
        check(lib.ham_trainer_new(out, mp, _names.operator(op), _names.solver_kind(kind)),
              "ham_trainer_new")
        self._wrap(out[0])
        # shared with every wrapper of the borrowed solver: one lock (a step runs that
        # solver) and its installed callbacks, kept alive as long as the trainer
        self._solver_state = _SolverState()
        self._lock = self._solver_state.lock
        self._solver_ref = None
        self._sizes = model.sizes
        self._reduce = None
        if options:
            self.configure(**options)

    @property
    def solver(self):
        """The forward solver (borrowed: valid while the trainer is open; the wrapper
        keeps the trainer alive). Set its options (tolerance, iterations, ...) here."""
        s = self._solver_ref() if self._solver_ref is not None else None
        if s is None or s.closed:
            ptr = lib.ham_trainer_solver(self._p())
            s = Solver._borrowed(ptr, self, self._solver_state)
            self._solver_ref = weakref.ref(s)
        return s

    def close(self):
        """Frees the trainer (and with it its solver: wrappers of it are closed too)."""
        s = self._solver_ref() if self._solver_ref is not None else None
        super().close()
        if s is not None:
            s._ptr = None
            s._owner = None

    # -- options --------------------------------------------------------------------------

    @staticmethod
    def option_info(option):
        """OptionInfo(default, min, max) of a trainer option."""
        d, lo, hi = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
        check(lib.ham_trainer_option_info(d, lo, hi, _names.train_option(option)),
              "ham_trainer_option_info")
        return OptionInfo(d[0], lo[0], hi[0])

    def set_option(self, option, value):
        """Sets a trainer option (a TrainOption, an int or its name: "lr", "loss", ...).
        The enum-valued ones also take names: loss "mse" / "cross-entropy", optimizer
        "sgd" / "adam" / "madam", gradient "implicit" / "recurrent", backward_solver a
        solver kind name."""
        option = _names.train_option(option)
        if isinstance(value, str):
            value = _names.train_option_value(option, value)
        with self._busy() as p:
            check(lib.ham_trainer_set_option(p, option, float(value)), "ham_trainer_set_option")

    def get_option(self, option):
        """Reads a trainer option (a float)."""
        out = ffi.new("double *")
        with self._busy() as p:
            check(lib.ham_trainer_get_option(out, p, _names.train_option(option)),
                  "ham_trainer_get_option")
        return out[0]

    def configure(self, **options):
        """Sets several trainer options by name: ``configure(lr=0.01, loss=Loss.MSE)``."""
        for name, value in options.items():
            self.set_option(name, value)
        return self

    # -- training -------------------------------------------------------------------------

    def _batch(self, x, labels):
        xa, b, one = A.batch(x, self._sizes[0], "x")
        la = A.ints(labels, "labels", np.int32, b)
        return xa, la, b

    def _run(self, fn, name, x, labels):
        xa, la, b = self._batch(x, labels)
        loss = ffi.new("double *")
        correct = ffi.new("int32_t *")
        with self._busy() as p:
            _sync_iter_callback(lib.ham_trainer_solver(p), self._solver_state)
            check(fn(p, loss, correct, b, A.ptr(xa), A.ptr(la, "int32_t[]")), name)
        return StepResult(loss[0], correct[0])

    def gradient(self, x, labels):
        """Loss and gradients on a batch without changing the model; read the gradients
        with weight_grad() and bias_grad()."""
        return self._run(lib.ham_trainer_gradient, "ham_trainer_gradient", x, labels)

    def step(self, x, labels):
        """One training step on a batch (gradient, then one optimiser update)."""
        return self._run(lib.ham_trainer_step, "ham_trainer_step", x, labels)

    def weight_grad(self, block, out=None):
        """Gradient of weight block ``block`` from the last gradient() or step()."""
        if not 0 <= int(block) < len(self._sizes) - 1:
            raise IndexError("weight block %d out of range" % block)
        res = A.out(out, (self._sizes[block], self._sizes[block + 1]), "out")
        with self._busy() as p:
            check(lib.ham_trainer_get_weight_grad(A.ptr(res), p, int(block), res.size),
                  "ham_trainer_get_weight_grad")
        return res

    def bias_grad(self, layer, out=None):
        """Gradient of the bias of free layer ``layer`` from the last gradient() or step()."""
        if not 0 <= int(layer) < len(self._sizes):
            raise IndexError("layer %d out of range" % layer)
        res = A.out(out, (self._sizes[layer],), "out")
        with self._busy() as p:
            check(lib.ham_trainer_get_bias_grad(A.ptr(res), p, int(layer), res.size),
                  "ham_trainer_get_bias_grad")
        return res

    def set_reduce(self, fn):
        """Installs (or, with None, removes) the gradient reduction of data-parallel
        training (``ham_trainer_set_reduce``, docs/distributed.md).

        ``fn(grad, counts)`` is called twice per gradient() or step(): first with ``grad``
        None, then with the flat float32 gradient (every weight block, then every bias, in
        layer order); ``counts`` is 4 float64 (loss sum, correct, samples, failed). It
        must replace both, in place, by their element-wise sums over every process, and
        return None or 0; any other value fails the step with ERR_CALLBACK, and so does
        an exception, which the step then re-raises. The arrays
        are views of C memory, valid only during the call."""
        if fn is not None and not callable(fn):
            raise TypeError("reduce function must be callable or None")
        st = _ReduceState(fn) if fn is not None else None
        with self._busy() as p:
            if st is None:
                check(lib.ham_trainer_set_reduce(p, ffi.NULL, ffi.NULL), "ham_trainer_set_reduce")
            else:
                check(lib.ham_trainer_set_reduce(p, _reduce_trampoline, st.handle),
                      "ham_trainer_set_reduce")
            self._reduce = st   # kept alive as long as C may call it

    def backward_stats(self):
        """SolveStats of the last step's adjoint solve."""
        with self._busy() as p:
            return SolveStats._read(lib.ham_trainer_backward_stats, "ham_trainer_backward_stats", p)
