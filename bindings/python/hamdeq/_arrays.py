"""NumPy arrays in and out of C.

Policy (README.md, "Arrays"):

- arrays the library only reads (inputs, states to start from, weights, labels) may be any
  real numeric array-like: they are converted to a C-contiguous float32 (int32 for
  labels, int64 for indices) array, copying only when the dtype or the layout differs;
  booleans, complex numbers and objects are refused with TypeError;
- arrays the library writes (the optional ``out=`` arguments) are never converted: they
  must already be C-contiguous, writeable ``numpy.ndarray`` of exactly float32 (TypeError
  otherwise), since results written into a copy would be lost;
- every shape is checked against the model before C sees the pointer (ValueError): the
  C API takes bare pointers and cannot check lengths itself. A batch is ``(batch, dim)``;
  a 1-D array of length ``dim`` is one sample, and the result is then 1-D too.
"""

import numpy as np

from ._lib import ffi

INT32_MAX = 2**31 - 1


def _numeric(a, name):
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError("%s: expected a real numeric array, got dtype %s" % (name, arr.dtype))
    return arr


def f32(a, name):
    """A read-only input as a C-contiguous float32 array (a copy only when needed)."""
    return np.ascontiguousarray(_numeric(a, name), dtype=np.float32)


def batch(a, dim, name, nbatch=None):
    """(array of shape (batch, dim), batch, was_1d) for an input batch."""
    arr = f32(a, name)
    one = arr.ndim == 1
    if one:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError("%s: expected shape (batch, %d) or (%d,), got %s"
                         % (name, dim, dim, arr.shape))
    if arr.shape[1] != dim:
        raise ValueError("%s: expected %d values per sample, got shape %s"
                         % (name, dim, arr.shape if not one else (arr.shape[1],)))
    if arr.shape[0] < 1 or arr.shape[0] > INT32_MAX:
        raise ValueError("%s: a batch needs 1 to 2^31-1 samples, got %d" % (name, arr.shape[0]))
    if nbatch is not None and arr.shape[0] != nbatch:
        raise ValueError("%s: expected %d samples, got %d" % (name, nbatch, arr.shape[0]))
    return arr, arr.shape[0], one


def matrix(a, shape, name):
    """An input of exactly this shape (a 1-D shape also accepts the flat length)."""
    arr = f32(a, name)
    if arr.shape != tuple(shape):
        raise ValueError("%s: expected shape %s, got %s" % (name, tuple(shape), arr.shape))
    return arr


def out(arr, shape, name, dtype=np.float32):
    """An output array: allocated, or the caller's, which must fit exactly."""
    shape = tuple(shape)
    if arr is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(arr, np.ndarray):
        raise TypeError("%s: expected a numpy.ndarray, got %s" % (name, type(arr).__name__))
    if arr.dtype != dtype:
        raise TypeError("%s: expected dtype %s, got %s (output arrays are never converted)"
                        % (name, np.dtype(dtype), arr.dtype))
    if not arr.flags.c_contiguous:
        raise TypeError("%s: expected a C-contiguous array" % name)
    if not arr.flags.writeable:
        raise TypeError("%s: the array is read-only" % name)
    if arr.shape != shape:
        raise ValueError("%s: expected shape %s, got %s" % (name, shape, arr.shape))
    return arr


def ints(a, name, dtype, n=None):
    """Labels (int32) or indices (int64): integers only, range-checked before casting."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise TypeError("%s: expected integers, got dtype %s" % (name, arr.dtype))
    arr = arr.reshape(-1) if arr.ndim == 0 else arr
    if arr.ndim != 1:
        raise ValueError("%s: expected a 1-D array, got shape %s" % (name, arr.shape))
    if n is not None and arr.shape[0] != n:
        raise ValueError("%s: expected %d values, got %d" % (name, n, arr.shape[0]))
    info = np.iinfo(dtype)
    if arr.size and arr.dtype != dtype and (arr.min() < info.min or arr.max() > info.max):
        raise ValueError("%s: values outside the range of %s" % (name, np.dtype(dtype)))
    return np.ascontiguousarray(arr, dtype=dtype)


def ptr(arr, ctype="float[]"):
    """A C pointer into a NumPy array's buffer (valid while the array lives)."""
    if arr is None:
        return ffi.NULL
    return ffi.from_buffer(ctype, arr)


def view(p, shape, dtype, writeable):
    """A NumPy view of C memory (only valid while the C side keeps it)."""
    n = int(np.prod(shape))
    if n == 0:
        return np.empty(shape, dtype=dtype)
    a = np.frombuffer(ffi.buffer(p, n * np.dtype(dtype).itemsize), dtype=dtype).reshape(shape)
    if not writeable:
        a.flags.writeable = False
    return a
