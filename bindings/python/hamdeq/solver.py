"""Solver: ham_solver_t, its callbacks, custom backends, and MHN minima."""

import collections
import dataclasses
import threading

import numpy as np

from . import _arrays as A
from . import _names
from ._handle import Handle
from ._lib import ffi, lib
from .constants import Operator, Option, SolverKind, as_member
from .errors import check, error_status, has_pending, record
from .model import Model, python_lagrangians_alive

__all__ = ["Solver", "SolverBackend", "Step", "IterInfo", "ConvInfo", "SolveStats", "Samples",
           "OptionInfo", "MinimaResult"]

OptionInfo = collections.namedtuple("OptionInfo", "default min max")
OptionInfo.__doc__ = "Default and bounds of an option (ham_solver_option_info)."
Samples = collections.namedtuple("Samples", "iterations residual status")
Samples.__doc__ = ("Per-sample results of the last solve: int32 evaluation counts, float64 "
                   "relative residuals, int32 SampleStatus values.")


@dataclasses.dataclass(frozen=True)
class SolveStats:
    """Summary of the last solve (ham_solve_stats_t)."""
    samples: int
    converged: int
    not_converged: int
    diverged: int
    iters_max: int
    iters_mean: float
    evaluations: int
    jacobian_products: int
    unstable: int = 0        #: samples with SampleStatus.UNSTABLE
    rejected_steps: int = 0  #: accelerated steps the attractor-safe mode refused

    @classmethod
    def _read(cls, fn, name, p):
        st = ffi.new("ham_solve_stats_t *")
        st.size = ffi.sizeof("ham_solve_stats_t")
        check(fn(st, p), name)
        return cls(st.samples, st.converged, st.not_converged, st.diverged, st.iters_max,
                   st.iters_mean, st.evaluations, st.jacobian_products, st.unstable,
                   st.rejected_steps)


@dataclasses.dataclass(frozen=True)
class MinimaResult:
    """What Solver.find_minima() found (ham_mhn_minima_t, the minima and the assignment)."""
    starts: int
    converged: int
    n_minima: int
    saddles: int
    mean_attractor: int
    mean_basin: int
    iters_max: int
    iters_mean: float
    minima: np.ndarray   #: (min(capacity, n_minima), dim) float32, in order of discovery
    assign: np.ndarray   #: (starts,) int32: minimum index, -1 not converged, -2 saddle


class _Expiring:
    """A view of C memory handed to a callback, valid only during that call."""

    _valid = True

    def _alive(self):
        if not self._valid:
            raise RuntimeError("%s is only valid during the callback" % type(self).__name__)


class IterInfo(_Expiring):
    """What the iteration callback sees (ham_iter_info_t). The scalars are plain
    attributes; the arrays are copied out of C on first access, during the call only."""

    def __init__(self, p):
        self._p = p
        self.iteration = p.iteration
        self.active = p.active
        self.dim = p.dim

    def _arr(self, field, shape, dtype):
        self._alive()
        return A.view(getattr(self._p, field), shape, dtype, False).copy()

    @property
    def sample(self):
        """Original indices of the samples still iterating (int32, ``active``)."""
        return self._arr("sample", (self.active,), np.int32)

    @property
    def residual(self):
        """Their relative residuals (float64)."""
        return self._arr("residual", (self.active,), np.float64)

    @property
    def iterations(self):
        """Their evaluation counts so far (int32)."""
        return self._arr("iterations", (self.active,), np.int32)

    @property
    def state(self):
        """Current iterates ``s`` (float32, ``active x dim``)."""
        return self._arr("state", (self.active, self.dim), np.float32)

    @property
    def output(self):
        """Operator outputs ``G(s)`` (float32, ``active x dim``)."""
        return self._arr("output", (self.active, self.dim), np.float32)


class ConvInfo(_Expiring):
    """What a convergence test sees for one sample (ham_conv_info_t)."""

    def __init__(self, p):
        self._p = p
        self.sample = p.sample
        self.iterations = p.iterations
        self.dim = p.dim
        self.residual_norm = p.residual_norm
        self.output_norm = p.output_norm
        self.tol = p.tol
        self.atol = p.atol

    @property
    def residual(self):
        """The relative residual ``||G(s)-s|| / ||G(s)||`` (inf when ``G(s) = 0 != s``)."""
        if self.output_norm > 0:
            return self.residual_norm / self.output_norm
        return 0.0 if self.residual_norm == 0 else float("inf")

    @property
    def state(self):
        """The current iterate ``s`` (float32 copy)."""
        self._alive()
        return A.view(self._p.state, (self.dim,), np.float32, False).copy()

    @property
    def output(self):
        """``G(s)``, the state returned if the sample is accepted (float32 copy)."""
        self._alive()
        return A.view(self._p.output, (self.dim,), np.float32, False).copy()


class _SolverState:
    """Python-side state of one C solver: the callables installed on it and the lock. A
    trainer's borrowed solver keeps its state in the trainer, so every wrapper of it
    shares one."""

    def __init__(self):
        self.lock = threading.Lock()
        self.callback = None       # the user's iteration callback
        self.conv_test = None      # the user's convergence test
        self.iter_installed = False
        self.handle = ffi.new_handle(self)


@ffi.callback("int(const ham_iter_info_t *, void *)", error=1)
def _iter_trampoline(info, user):
    try:
        # an exception a Python Lagrangian recorded during this solve cancels it
        if has_pending():
            return 1
        fn = ffi.from_handle(user).callback
        if fn is None:
            return 0
        view = IterInfo(info)
        try:
            stop = fn(view)
        finally:
            view._valid = False
        return 1 if stop else 0
    except BaseException as e:
        record(e)
        return 1


@ffi.callback("int(const ham_conv_info_t *, void *)", error=lib.HAM_ERR_CALLBACK)
def _conv_trampoline(info, user):
    try:
        view = ConvInfo(info)
        try:
            verdict = ffi.from_handle(user).conv_test(view)
        finally:
            view._valid = False
        if verdict is True:
            return 1
        if verdict is False or verdict is None:
            return 0
        verdict = int(verdict)
        return verdict if verdict < 0 else (1 if verdict > 0 else 0)
    except BaseException as e:
        record(e)
        return error_status(e)


def _sync_iter_callback(ptr, st):
    """Installs the iteration trampoline on a C solver when it has work (a user callback,
    or Python Lagrangians whose exceptions should cancel the solve early), removes it
    otherwise."""
    want = st.callback is not None or python_lagrangians_alive()
    if want != st.iter_installed:
        if want:
            rc = lib.ham_solver_set_callback(ptr, _iter_trampoline, st.handle)
        else:
            rc = lib.ham_solver_set_callback(ptr, ffi.NULL, ffi.NULL)
        check(rc, "ham_solver_set_callback")
        st.iter_installed = want


class Step(_Expiring):
    """The context handed to a custom backend's step() (``ham_step_t``), valid only
    during that call."""

    def __init__(self, p):
        self._ptr = p

    @property
    def rows(self):
        self._alive()
        return lib.ham_step_rows(self._ptr)

    @property
    def dim(self):
        self._alive()
        return lib.ham_step_dim(self._ptr)

    def apply(self, s, out=None):
        """``G(s)`` on the step's current rows (one evaluation each; ``ham_step_apply``)."""
        self._alive()
        shape = (lib.ham_step_rows(self._ptr), lib.ham_step_dim(self._ptr))
        s = A.matrix(s, shape, "s")
        res = A.out(out, shape, "out")
        check(lib.ham_step_apply(self._ptr, A.ptr(res), A.ptr(s)), "ham_step_apply")
        return res


class SolverBackend:
    """Base class of a solver backend written in Python, for Solver.custom().

    The driver evaluates the operator, tests convergence and removes finished rows; the
    backend only proposes the next iterate. ``s`` and ``gs`` are writeable float32 views
    of C memory (``rows x dim``), valid during the call only. Exceptions never reach C:
    init/reset/step report them as their status (a HamDeqError's own status, else
    HAM_ERR_CALLBACK); an exception in compact() or fini() makes the next step fail; the
    binding re-raises the first one after the C call returns.
    """

    #: short name for the library's messages (None: unnamed)
    name = None

    def init(self, dim, max_rows):
        """Returns the state for states of length ``dim``, up to ``max_rows`` rows."""
        return None

    def fini(self, state):
        """Releases a state made by init()."""

    def reset(self, state, rows):
        """Forgets all history before a solve of ``rows`` rows (optional)."""

    def step(self, state, step, s, gs):
        """Replaces each row of ``s`` by the next iterate, given ``gs = G(s)``. May
        evaluate the operator with ``step.apply``. Returns 0 (or None), or 1 when it left
        ``G(new s)`` in ``gs``."""
        raise NotImplementedError

    def compact(self, state, keep):
        """Keeps rows ``keep`` (increasing int32) and moves them to rows ``0..len(keep)``
        (optional)."""


class _BackendHolder:
    """User data of one custom solver: kept until the library's destroy()."""

    def __init__(self, backend):
        self.backend = backend
        name = getattr(backend, "name", None)
        self.name = ffi.new("char[]", name.encode()) if name else ffi.NULL
        self.states = {}         # address of a state handle -> (python state, handle)
        self.failed = None       # an exception from compact/fini, for the next step
        self.handle = ffi.new_handle(self)


_live_backends = {}
_backends_lock = threading.Lock()


def _defined(backend, method):
    """True when the backend overrides an optional method of SolverBackend (or, for a
    duck-typed backend, has it)."""
    fn = getattr(type(backend), method, None)
    if fn is None:
        return callable(getattr(backend, method, None))
    return fn is not getattr(SolverBackend, method, None)


@ffi.callback("int(void **, int32_t, int32_t, void *)", error=lib.HAM_ERR_CALLBACK)
def _be_init(state_pp, dim, max_rows, user):
    try:
        holder = ffi.from_handle(user)
        st = holder.backend.init(dim, max_rows)
        box = [st]
        h = ffi.new_handle(box)
        holder.states[int(ffi.cast("uintptr_t", h))] = (box, h)
        state_pp[0] = h
        return 0
    except BaseException as e:
        record(e)
        return error_status(e)


def _state_of(holder, sp):
    return holder.states[int(ffi.cast("uintptr_t", sp))][0][0]


@ffi.callback("void(void *, void *)")
def _be_fini(sp, user):
    try:
        holder = ffi.from_handle(user)
        if sp == ffi.NULL:
            return
        box, _ = holder.states.pop(int(ffi.cast("uintptr_t", sp)))
        holder.backend.fini(box[0])
    except BaseException as e:
        try:
            ffi.from_handle(user).failed = e
        except BaseException:
            pass
        record(e)


@ffi.callback("int(void *, int32_t, void *)", error=lib.HAM_ERR_CALLBACK)
def _be_reset(sp, rows, user):
    try:
        holder = ffi.from_handle(user)
        holder.backend.reset(_state_of(holder, sp), rows)
        return 0
    except BaseException as e:
        record(e)
        return error_status(e)


@ffi.callback("int(void *, ham_step_t *, float *, float *, int32_t, void *)",
              error=lib.HAM_ERR_CALLBACK)
def _be_step(sp, stp, s, gs, rows, user):
    try:
        holder = ffi.from_handle(user)
        if holder.failed is not None:
            exc, holder.failed = holder.failed, None
            raise exc
        step = Step(stp)
        dim = lib.ham_step_dim(stp)
        try:
            rc = holder.backend.step(_state_of(holder, sp), step,
                                     A.view(s, (rows, dim), np.float32, True),
                                     A.view(gs, (rows, dim), np.float32, True))
        finally:
            step._valid = False
        if rc is None or rc is False:
            return 0
        rc = int(rc)
        if rc not in (0, 1):
            raise ValueError("a backend's step() returns 0, 1 or None, not %r" % rc)
        return rc
    except BaseException as e:
        record(e)
        return error_status(e)


@ffi.callback("void(void *, const int32_t *, int32_t, void *)")
def _be_compact(sp, keep, n_keep, user):
    try:
        holder = ffi.from_handle(user)
        holder.backend.compact(_state_of(holder, sp),
                               A.view(keep, (n_keep,), np.int32, False).copy())
    except BaseException as e:
        try:
            ffi.from_handle(user).failed = e
        except BaseException:
            pass


@ffi.callback("void(void *)")
def _be_destroy(user):
    try:
        holder = ffi.from_handle(user)
        with _backends_lock:
            _live_backends.pop(id(holder), None)
    except BaseException as e:
        record(e)


class Solver(Handle):
    """A fixed-point solver of one model and one operator (``ham_solver_t``).

    ``Solver(model, op=None, kind=None, **options)``: ``op`` and ``kind`` are members,
    ints or names ("even-odd", "anderson"); None takes the model's recorded defaults
    (Model.get_defaults(); even-odd and Anderson for a new model). Keyword options are
    set as by configure(). The solver holds its own reference to the model.
    """

    def __init__(self, model, op=None, kind=None, **options):
        mp = model._p()
        if op is None or kind is None:
            d = model.get_defaults()
            op = d.op if op is None else op
            kind = d.solver if kind is None else kind
        out = ffi.new("ham_solver_t **")
        check(lib.ham_solver_new(out, mp, _names.operator(op), _names.solver_kind(kind)),
              "ham_solver_new")
        self._setup(out[0], _SolverState(), None)
        if options:
            self.configure(**options)

    @classmethod
    def custom(cls, model, backend, op=Operator.EVEN_ODD, **options):
        """A solver whose iterations are proposed by a Python backend (SolverBackend)."""
        for m in ("init", "fini", "step"):
            if not callable(getattr(backend, m, None)):
                raise TypeError("a solver backend needs a callable %s()" % m)
        holder = _BackendHolder(backend)
        d = ffi.new("ham_solver_def_t *")
        d.size = ffi.sizeof("ham_solver_def_t")
        d.name = holder.name
        d.init = _be_init
        d.fini = _be_fini
        d.reset = _be_reset if _defined(backend, "reset") else ffi.NULL
        d.step = _be_step
        d.compact = _be_compact if _defined(backend, "compact") else ffi.NULL
        d.user = holder.handle
        d.destroy = _be_destroy
        with _backends_lock:
            _live_backends[id(holder)] = holder
        out = ffi.new("ham_solver_t **")
        try:
            check(lib.ham_solver_new_custom(out, model._p(), _names.operator(op), d),
                  "ham_solver_new_custom")
        except BaseException:
            with _backends_lock:
                _live_backends.pop(id(holder), None)
            raise
        self = cls.__new__(cls)
        self._setup(out[0], _SolverState(), None)
        if options:
            self.configure(**options)
        return self

    @classmethod
    def _borrowed(cls, ptr, trainer, state):
        self = cls.__new__(cls)
        self._setup(ptr, state, trainer)
        return self

    def _setup(self, ptr, state, owner):
        self._wrap(ptr)
        self._state = state
        self._lock = state.lock
        self._owner = owner   # a borrowed solver keeps its trainer alive
        mp = lib.ham_solver_model(ptr)
        self._op = lib.ham_solver_operator(ptr)
        dim = ffi.new("int32_t *")
        check(lib.ham_model_state_dim(dim, mp, self._op), "ham_model_state_dim")
        self._dim = dim[0]
        self._clamped = bool(lib.ham_model_has_clamped_input(mp))
        self._n0 = lib.ham_model_layer_size(mp, 0)
        self._ny = lib.ham_model_layer_size(mp, lib.ham_model_n_layers(mp) - 1)

    def _release(self, ptr):
        if self._owner is None:
            lib.ham_solver_free(ptr)

    def close(self):
        """Frees the solver. On a trainer's (borrowed) solver it only closes this
        wrapper: the trainer frees the solver."""
        super().close()
        self._owner = None

    # -- what it solves -------------------------------------------------------------------

    @property
    def model(self):
        """The solver's model, as a new Model wrapper holding its own reference."""
        return Model._own(lib.ham_model_ref(lib.ham_solver_model(self._p())))

    @property
    def kind(self):
        """The SolverKind (SolverKind.CUSTOM for a Python backend)."""
        return as_member(SolverKind, lib.ham_solver_kind(self._p()))

    @property
    def operator(self):
        """The Operator it iterates."""
        return as_member(Operator, lib.ham_solver_operator(self._p()))

    @property
    def state_dim(self):
        """Length of one sample's state."""
        self._p()
        return self._dim

    @property
    def borrowed(self):
        """True for a trainer's solver (Trainer.solver)."""
        return self._owner is not None

    # -- options --------------------------------------------------------------------------

    @staticmethod
    def option_info(option):
        """OptionInfo(default, min, max) of an option (``ham_solver_option_info``)."""
        d, lo, hi = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
        check(lib.ham_solver_option_info(d, lo, hi, _names.solver_option(option)),
              "ham_solver_option_info")
        return OptionInfo(d[0], lo[0], hi[0])

    def set_option(self, option, value):
        """Sets an option (an Option, an int or its name: "tol", "max_iter", ...)."""
        with self._busy() as p:
            check(lib.ham_solver_set_option(p, _names.solver_option(option), float(value)),
                  "ham_solver_set_option")

    def get_option(self, option):
        """Reads an option (a float)."""
        out = ffi.new("double *")
        with self._busy() as p:
            check(lib.ham_solver_get_option(out, p, _names.solver_option(option)),
                  "ham_solver_get_option")
        return out[0]

    def configure(self, **options):
        """Sets several options by name: ``configure(tol=1e-6, max_iter=200)``."""
        for name, value in options.items():
            self.set_option(name, value)
        return self

    def options(self):
        """Every option this binding knows, ``{Option: value}``."""
        return {o: self.get_option(o) for o in Option}

    # -- callbacks ------------------------------------------------------------------------

    def set_callback(self, callback):
        """Installs ``callback(info: IterInfo)``, called once per driver iteration; a true
        return value stops the solve (HamDeqError HAM_ERR_CANCELLED). None removes it.
        An exception it raises also stops the solve and is re-raised by solve()."""
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable or None")
        with self._busy():
            self._state.callback = callback
            _sync_iter_callback(self._ptr, self._state)

    def set_conv_test(self, test):
        """Replaces the built-in convergence test by ``test(info: ConvInfo)``, which
        returns True/1 (converged), False/0/None (go on) or a negative int (abort the
        solve with that status, HAM_ERR_CALLBACK when it is not a libhamdeq status).
        An exception aborts the solve too and is re-raised. None restores the built-in
        test."""
        if test is not None and not callable(test):
            raise TypeError("test must be callable or None")
        with self._busy() as p:
            if test is None:
                check(lib.ham_solver_set_conv_test(p, ffi.NULL, ffi.NULL),
                      "ham_solver_set_conv_test")
            else:
                check(lib.ham_solver_set_conv_test(p, _conv_trampoline, self._state.handle),
                      "ham_solver_set_conv_test")
            self._state.conv_test = test

    # -- solving --------------------------------------------------------------------------

    def solve(self, x=None, state=None, batch=None, out=None):
        """Solves the fixed points of a batch and returns the states.

        Args:
            x: ``(batch, N_0)`` inputs of a clamped-input model (None for a free one)
            state: ``(batch, dim)`` initial states, used when Option.WARM_START is 1
                (otherwise the solve starts from zeros, as in C)
            batch: the batch size, when neither x nor state gives it
            out: a float32 C-contiguous ``(batch, dim)`` array to write the result into
                (it may be ``state`` itself, to solve in place)
        Returns:
            the ``(batch, dim)`` float32 states (``(dim,)`` when x, or else state, is 1-D)
        """
        self._p()
        one = False
        xa = s = None
        if self._clamped:
            if x is None:
                raise ValueError("x: the model has a clamped input: pass x, shape (batch, %d)"
                                 % self._n0)
            xa, batch, one = A.batch(x, self._n0, "x", batch)
        elif x is not None:
            raise ValueError("x: the model has a free input: x must be None")
        if state is not None:
            if state is out:
                A.out(out, out.shape, "out")   # the in-place array must be writeable float32
            s, batch, one_s = A.batch(state, self._dim, "state", batch)
            one = one if xa is not None else one_s
        if batch is None:
            raise ValueError("solve: pass x, state or batch")
        batch = int(batch)
        if not 1 <= batch <= A.INT32_MAX:
            raise ValueError("batch: expected 1 to 2^31-1 samples, got %d" % batch)
        res = A.out(out, (self._dim,) if one else (batch, self._dim), "out")
        if s is not None and state is not out:
            res.reshape(batch, self._dim)[...] = s
        with self._busy() as p:
            _sync_iter_callback(p, self._state)
            check(lib.ham_solver_solve(p, A.ptr(res), batch, A.ptr(xa)), "ham_solver_solve")
        return res

    def stats(self):
        """SolveStats of the last solve."""
        with self._busy() as p:
            return SolveStats._read(lib.ham_solver_get_stats, "ham_solver_get_stats", p)

    def samples(self, batch=None):
        """Samples(iterations, residual, status) of the last solve (``batch`` defaults to
        its size)."""
        if batch is None:
            batch = self.stats().samples
        it = np.empty(batch, np.int32)
        res = np.empty(batch, np.float64)
        status = np.empty(batch, np.int32)
        with self._busy() as p:
            check(lib.ham_solver_get_samples(A.ptr(it, "int32_t[]"), A.ptr(res, "double[]"),
                                             A.ptr(status, "int32_t[]"), p, int(batch)),
                  "ham_solver_get_samples")
        return Samples(it, res, status)

    # -- Modern Hopfield networks ------------------------------------------------------------

    def find_minima(self, starts, cluster_tol=1e-3, capacity=None):
        """Solves retrieval of an MHN model from many visible starts and counts the
        distinct minima (``ham_mhn_find_minima``); the solver itself is left unchanged.
        ``capacity``: most minima to return (default: one per start)."""
        self._p()
        vdim = self._ny
        st, n, _ = A.batch(starts, vdim, "starts")
        cap = n if capacity is None else int(capacity)
        if cap < 0:
            raise ValueError("capacity must be >= 0")
        minima = np.empty((cap, vdim), np.float32)
        assign = np.empty(n, np.int32)
        r = ffi.new("ham_mhn_minima_t *")
        r.size = ffi.sizeof("ham_mhn_minima_t")
        with self._busy() as p:
            check(lib.ham_mhn_find_minima(r, A.ptr(minima) if cap else ffi.NULL, cap,
                                          A.ptr(assign, "int32_t[]"), p, A.ptr(st), n,
                                          float(cluster_tol)), "ham_mhn_find_minima")
        return MinimaResult(r.starts, r.converged, r.minima, r.saddles, r.mean_attractor,
                            r.mean_basin, r.iters_max, r.iters_mean,
                            minima[:min(cap, r.minima)].copy(), assign)
