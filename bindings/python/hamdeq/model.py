"""Model: ham_model_t, its custom Lagrangians, and the Modern Hopfield constructors."""

import collections
import os
import threading

import numpy as np

from . import _arrays as A
from . import _names
from ._handle import Handle
from ._lib import ffi, lib
from .constants import LagrangianKind, ModelFlags, Operator, SolverKind, as_member
from .errors import check, record

__all__ = ["Model", "Lagrangian", "LagrangianInfo", "SolverDefaults", "mhn_beta_s"]

LagrangianInfo = collections.namedtuple("LagrangianInfo", "kind param")
LagrangianInfo.__doc__ = "A layer's Lagrangian: its LagrangianKind and beta (0 but for softmax)."
SolverDefaults = collections.namedtuple("SolverDefaults", "op solver tol max_iter")
SolverDefaults.__doc__ = "The solver a model is meant to be run with (saved in model files)."


class Lagrangian:
    """Base class (optional: any object with these methods will do) of a Lagrangian
    written in Python, for Model.set_custom_lagrangian().

    Each method gets one row (one sample) of ``n`` units as float32 arrays (copies), and
    is called once per row per evaluation, so a Python
    Lagrangian is slow: it is meant for experiments and tests. An exception raised here
    does not reach C: the output is filled with NaN (the sample then diverges), the solve
    or step is cancelled at the next iteration, and the exception is raised by the
    binding's call once the C call has returned.
    """

    #: short name for the library's messages (None: unnamed)
    name = None

    def value(self, s):
        """``L(s)`` (a float)."""
        raise NotImplementedError

    def activation(self, s):
        """``g = grad L(s)``, ``n`` values."""
        raise NotImplementedError

    def hvp(self, s, g, v):
        """``H(s) v`` given ``s`` and its activation ``g``, ``n`` values."""
        raise NotImplementedError


class _LagrangianHolder:
    """The user data of one registration: kept alive here until the library calls its
    destructor (which it does once, when the last model using it lets go)."""

    __slots__ = ("obj", "name", "handle", "__weakref__")

    def __init__(self, obj):
        self.obj = obj
        name = getattr(obj, "name", None)
        self.name = ffi.new("char[]", name.encode()) if name else ffi.NULL
        self.handle = ffi.new_handle(self)


_live_lagrangians = {}
_live_lock = threading.Lock()


def python_lagrangians_alive():
    """True while some model has a Lagrangian written in Python (the solvers then watch
    for their exceptions at every iteration, to cancel the solve early)."""
    return bool(_live_lagrangians)


def _row(p, n):
    # a copy: the callback may keep it, and the C row is reused right after the call
    return A.view(p, (n,), np.float32, writeable=False).copy()


def _fill(p, n, result, what):
    outv = A.view(p, (n,), np.float32, writeable=True)
    try:
        arr = np.asarray(result, dtype=np.float64)
        if arr.shape != (n,):
            raise ValueError("custom Lagrangian %s returned shape %s, expected (%d,)"
                             % (what, arr.shape, n))
        outv[:] = arr
    except BaseException:
        outv[:] = np.nan
        raise


@ffi.callback("double(const float *, int32_t, void *)", error=float("nan"))
def _lag_value(s, n, user):
    try:
        return float(ffi.from_handle(user).obj.value(_row(s, n)))
    except BaseException as e:  # noqa: B902 - nothing may unwind into C
        record(e)
        return float("nan")


@ffi.callback("void(float *, const float *, int32_t, void *)")
def _lag_activation(g, s, n, user):
    try:
        _fill(g, n, ffi.from_handle(user).obj.activation(_row(s, n)), "activation")
    except BaseException as e:
        try:
            A.view(g, (n,), np.float32, True)[:] = np.nan
        except BaseException:
            pass
        record(e)


@ffi.callback("void(float *, const float *, const float *, const float *, int32_t, void *)")
def _lag_hvp(out, s, g, v, n, user):
    try:
        _fill(out, n, ffi.from_handle(user).obj.hvp(_row(s, n), _row(g, n), _row(v, n)), "hvp")
    except BaseException as e:
        try:
            A.view(out, (n,), np.float32, True)[:] = np.nan
        except BaseException:
            pass
        record(e)


@ffi.callback("void(void *)")
def _lag_destroy(user):
    try:
        holder = ffi.from_handle(user)
        with _live_lock:
            _live_lagrangians.pop(id(holder), None)
    except BaseException as e:
        record(e)


class Model(Handle):
    """A layered Hierarchical Associative Memory (``ham_model_t``).

    ``Model(sizes, clamped_input=True)`` creates a model with the given layer sizes (input
    first), every layer with the shifted-sigmoid Lagrangian, zero weights and biases:
    call init_xavier() for the paper's initialisation. Models are reference-counted in C:
    a Solver or Trainer holds its own reference, so closing the Model (or dropping it)
    while they live is valid.
    """

    def _release(self, ptr):
        lib.ham_model_free(ptr)

    def __init__(self, sizes, clamped_input=True):
        sizes = [int(n) for n in sizes]
        arr = ffi.new("int32_t[]", sizes) if sizes else ffi.NULL
        flags = ModelFlags.CLAMPED_INPUT if clamped_input else ModelFlags.FREE_INPUT
        out = ffi.new("ham_model_t **")
        check(lib.ham_model_new(out, len(sizes), arr, flags), "ham_model_new")
        self._wrap(out[0])

    @classmethod
    def _own(cls, ptr):
        """Wraps a pointer that carries one reference of its own."""
        self = cls.__new__(cls)
        self._wrap(ptr)
        return self

    @classmethod
    def _from_out(cls, fn, name, *args):
        out = ffi.new("ham_model_t **")
        check(fn(out, *args), name)
        return cls._own(out[0])

    # -- files and buffers ----------------------------------------------------------------

    @classmethod
    def load(cls, path):
        """Loads a model file (``ham_model_load``)."""
        return cls._from_out(lib.ham_model_load, "ham_model_load", os.fsencode(path))

    @classmethod
    def from_bytes(cls, data):
        """Decodes a model from the bytes of to_bytes() or of a model file
        (``ham_model_load_buffer``)."""
        buf = memoryview(data).cast("B")
        cbuf = ffi.from_buffer(buf) if buf.nbytes else ffi.NULL
        return cls._from_out(lib.ham_model_load_buffer, "ham_model_load_buffer", cbuf,
                             buf.nbytes)

    def save(self, path):
        """Writes the model file atomically (``ham_model_save``)."""
        check(lib.ham_model_save(self._p(), os.fsencode(path)), "ham_model_save")

    def to_bytes(self):
        """The bytes of a model file, in memory (``ham_model_save_buffer``)."""
        p = self._p()
        size = ffi.new("size_t *")
        check(lib.ham_model_save_buffer(ffi.NULL, size, p), "ham_model_save_buffer")
        buf = bytearray(size[0])
        check(lib.ham_model_save_buffer(ffi.from_buffer(buf), size, p), "ham_model_save_buffer")
        return bytes(buf[:size[0]])

    def __reduce__(self):
        return (Model.from_bytes, (self.to_bytes(),))

    # -- references -----------------------------------------------------------------------

    def clone(self):
        """An independent deep copy (``ham_model_clone``)."""
        return Model._from_out(lib.ham_model_clone, "ham_model_clone", self._p())

    def share(self):
        """Another Model wrapper of the *same* C model, holding a reference of its own
        (``ham_model_ref``): changes through either are seen by both, and each is closed
        on its own."""
        return Model._own(lib.ham_model_ref(self._p()))

    # -- layers ---------------------------------------------------------------------------

    @property
    def n_layers(self):
        return lib.ham_model_n_layers(self._p())

    def layer_size(self, layer):
        """Size of one layer; IndexError out of range."""
        n = lib.ham_model_layer_size(self._p(), int(layer))
        if n == 0:
            raise IndexError("layer %d out of range (%d layers)" % (layer, self.n_layers))
        return n

    @property
    def sizes(self):
        """The layer sizes, input first."""
        p = self._p()
        return tuple(lib.ham_model_layer_size(p, l) for l in range(lib.ham_model_n_layers(p)))

    @property
    def clamped_input(self):
        """True when layer 0 is clamped to the input x."""
        return bool(lib.ham_model_has_clamped_input(self._p()))

    def set_lagrangian(self, layer, kind, beta=0.0):
        """Gives a layer a built-in Lagrangian (a LagrangianKind or its name); ``beta`` is
        the softmax's inverse temperature, ignored by the other kinds."""
        check(lib.ham_model_set_lagrangian(self._p(), int(layer), _names.lagrangian_kind(kind),
                                           float(beta)), "ham_model_set_lagrangian")

    def set_custom_lagrangian(self, layer, lagrangian):
        """Gives a layer a Lagrangian written in Python (see Lagrangian). The object is
        kept alive until the last model using it (clones included) lets go of it."""
        for m in ("value", "activation", "hvp"):
            if not callable(getattr(lagrangian, m, None)):
                raise TypeError("a custom Lagrangian needs a callable %s()" % m)
        holder = _LagrangianHolder(lagrangian)
        d = ffi.new("ham_lagrangian_def_t *")
        d.size = ffi.sizeof("ham_lagrangian_def_t")
        d.name = holder.name
        d.value = _lag_value
        d.activation = _lag_activation
        d.hvp = _lag_hvp
        d.user = holder.handle
        d.destroy = _lag_destroy
        with _live_lock:
            _live_lagrangians[id(holder)] = holder
        try:
            check(lib.ham_model_set_custom_lagrangian(self._p(), int(layer), d),
                  "ham_model_set_custom_lagrangian")
        except BaseException:
            # a failed registration takes nothing: the holder is still ours
            with _live_lock:
                _live_lagrangians.pop(id(holder), None)
            raise

    def get_lagrangian(self, layer):
        """The layer's LagrangianInfo(kind, param)."""
        kind = ffi.new("int32_t *")
        param = ffi.new("double *")
        check(lib.ham_model_get_lagrangian(kind, param, self._p(), int(layer)),
              "ham_model_get_lagrangian")
        return LagrangianInfo(as_member(LagrangianKind, kind[0]), param[0])

    # -- parameters -----------------------------------------------------------------------

    def init_xavier(self, seed):
        """Xavier-uniform weights from a seed (same weights on every platform), zero biases."""
        check(lib.ham_model_init_xavier(self._p(), int(seed)), "ham_model_init_xavier")

    def _block_shape(self, block):
        sizes = self.sizes
        if not 0 <= int(block) < len(sizes) - 1:
            raise IndexError("weight block %d out of range (%d blocks)" % (block, len(sizes) - 1))
        return (sizes[block], sizes[block + 1])

    def get_weights(self, block, out=None):
        """Weight block ``W_block`` as a ``(N_block, N_block+1)`` float32 array."""
        shape = self._block_shape(block)
        res = A.out(out, shape, "out")
        check(lib.ham_model_get_weights(A.ptr(res), self._p(), int(block), res.size),
              "ham_model_get_weights")
        return res

    def set_weights(self, block, w):
        """Sets weight block ``W_block`` from a ``(N_block, N_block+1)`` array."""
        arr = A.matrix(w, self._block_shape(block), "w")
        check(lib.ham_model_set_weights(self._p(), int(block), A.ptr(arr), arr.size),
              "ham_model_set_weights")

    def _bias_len(self, layer):
        return self.layer_size(layer)

    def get_bias(self, layer, out=None):
        """The bias of a free layer (float32, its size)."""
        res = A.out(out, (self._bias_len(layer),), "out")
        check(lib.ham_model_get_bias(A.ptr(res), self._p(), int(layer), res.size),
              "ham_model_get_bias")
        return res

    def set_bias(self, layer, b):
        """Sets the bias of a free layer."""
        arr = A.matrix(b, (self._bias_len(layer),), "b")
        check(lib.ham_model_set_bias(self._p(), int(layer), A.ptr(arr), arr.size),
              "ham_model_set_bias")

    # -- states and operators ---------------------------------------------------------------

    def state_dim(self, op=Operator.EVEN_ODD):
        """Length of one sample's state for an operator."""
        dim = ffi.new("int32_t *")
        check(lib.ham_model_state_dim(dim, self._p(), _names.operator(op)), "ham_model_state_dim")
        return dim[0]

    def state_offset(self, op, layer):
        """Where a layer starts inside one sample's state of an operator."""
        off = ffi.new("int32_t *")
        check(lib.ham_model_state_offset(off, self._p(), _names.operator(op), int(layer)),
              "ham_model_state_offset")
        return off[0]

    def _x(self, x, batch):
        """The input batch of a clamped model (None for a free-input one), checked."""
        if self.clamped_input:
            if x is None:
                raise ValueError("x: this model has a clamped input: pass x, shape (batch, %d)"
                                 % self.layer_size(0))
            return A.batch(x, self.layer_size(0), "x", batch)[0]
        if x is not None:
            raise ValueError("x: this model has a free input: x must be None")
        return None

    def _states(self, name, s, op, nbatch=None):
        return A.batch(s, self.state_dim(op), name, nbatch)

    def apply(self, s, x=None, op=Operator.SYNC, out=None):
        """``F(s)`` (sync) or ``G(s)`` (even-odd) of a batch of states."""
        op = _names.operator(op)
        s, b, one = self._states("s", s, op)
        xa = self._x(x, b)
        res = A.out(out, s.shape[1:] if one else s.shape, "out")
        check(lib.ham_model_apply(A.ptr(res), self._p(), op, b, A.ptr(xa), A.ptr(s)),
              "ham_model_apply")
        return res

    def _product(self, fn, name, s, v, x, op, out):
        op = _names.operator(op)
        s, b, one = self._states("s", s, op)
        v = self._states("v", v, op, b)[0]
        xa = self._x(x, b)
        res = A.out(out, s.shape[1:] if one else s.shape, "out")
        check(fn(A.ptr(res), self._p(), op, b, A.ptr(xa), A.ptr(s), A.ptr(v)), name)
        return res

    def jvp(self, s, v, x=None, op=Operator.SYNC, out=None):
        """Jacobian-vector products ``J(s) v``, one tangent per sample."""
        return self._product(lib.ham_model_jvp, "ham_model_jvp", s, v, x, op, out)

    def vjp(self, s, v, x=None, op=Operator.SYNC, out=None):
        """Vector-Jacobian products ``J(s)^T v``, one per sample."""
        return self._product(lib.ham_model_vjp, "ham_model_vjp", s, v, x, op, out)

    def energy(self, full, x=None):
        """Energy ``E(s; x)`` of full (synchronous) states: float64, one per sample."""
        s, b, one = self._states("full", full, Operator.SYNC)
        xa = self._x(x, b)
        res = np.empty(b, dtype=np.float64)
        check(lib.ham_model_energy(A.ptr(res, "double[]"), self._p(), b, A.ptr(xa), A.ptr(s)),
              "ham_model_energy")
        return res[0] if one else res

    def eo_to_full(self, eo, x=None, out=None):
        """Full states from even-odd ones (the other class at its conditional optimum)."""
        s, b, one = self._states("eo", eo, Operator.EVEN_ODD)
        xa = self._x(x, b)
        dim = self.state_dim(Operator.SYNC)
        res = A.out(out, (dim,) if one else (b, dim), "out")
        check(lib.ham_model_eo_to_full(A.ptr(res), self._p(), b, A.ptr(xa), A.ptr(s)),
              "ham_model_eo_to_full")
        return res

    def full_to_eo(self, full, out=None):
        """Even-odd states taken out of full ones."""
        s, b, one = self._states("full", full, Operator.SYNC)
        dim = self.state_dim(Operator.EVEN_ODD)
        res = A.out(out, (dim,) if one else (b, dim), "out")
        check(lib.ham_model_full_to_eo(A.ptr(res), self._p(), b, A.ptr(s)), "ham_model_full_to_eo")
        return res

    # -- solver defaults ------------------------------------------------------------------

    def set_defaults(self, op, solver, tol, max_iter):
        """Records the solver the model is meant to be run with (saved in model files)."""
        check(lib.ham_model_set_defaults(self._p(), _names.operator(op), _names.solver_kind(solver),
                                         float(tol), int(max_iter)), "ham_model_set_defaults")

    def get_defaults(self):
        """SolverDefaults(op, solver, tol, max_iter)."""
        op = ffi.new("int32_t *")
        kind = ffi.new("int32_t *")
        tol = ffi.new("double *")
        it = ffi.new("int32_t *")
        check(lib.ham_model_get_defaults(op, kind, tol, it, self._p()), "ham_model_get_defaults")
        return SolverDefaults(as_member(Operator, op[0]), as_member(SolverKind, kind[0]),
                              tol[0], it[0])

    # -- Modern Hopfield networks -------------------------------------------------------------

    @classmethod
    def mhn(cls, patterns, beta):
        """A Modern Hopfield network storing the rows of ``patterns`` (``ham_mhn_new``)."""
        arr = A.f32(patterns, "patterns")
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError("patterns: expected shape (n_patterns, dim), got %s" % (arr.shape,))
        return cls._from_out(lib.ham_mhn_new, "ham_mhn_new", A.ptr(arr), arr.shape[0],
                             arr.shape[1], float(beta))

    def _visible(self, v):
        sizes = self.sizes
        return A.batch(v, sizes[-1], "v")

    def mhn_energy(self, v):
        """Modern Hopfield energy of visible states (float64, one per sample)."""
        v, b, one = self._visible(v)
        res = np.empty(b, dtype=np.float64)
        check(lib.ham_mhn_energy(A.ptr(res, "double[]"), self._p(), b, A.ptr(v)), "ham_mhn_energy")
        return res[0] if one else res

    def mhn_hessian_min(self, v):
        """Smallest eigenvalue of the energy's Hessian at visible states (float64)."""
        v, b, one = self._visible(v)
        res = np.empty(b, dtype=np.float64)
        check(lib.ham_mhn_hessian_min(A.ptr(res, "double[]"), self._p(), b, A.ptr(v)),
              "ham_mhn_hessian_min")
        return res[0] if one else res


def mhn_beta_s(patterns):
    """``1 / lambda_max(Cov(X))`` of the pattern rows (``ham_mhn_beta_s``; inf when all
    patterns are equal)."""
    arr = A.f32(patterns, "patterns")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError("patterns: expected shape (n_patterns, dim), got %s" % (arr.shape,))
    out = ffi.new("double *")
    check(lib.ham_mhn_beta_s(out, A.ptr(arr), arr.shape[0], arr.shape[1]), "ham_mhn_beta_s")
    return out[0]
