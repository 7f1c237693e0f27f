"""Dataset: ham_dataset_t, labelled samples read from IDX or .npy files."""

import os

import numpy as np

from . import _arrays as A
from ._handle import Handle
from ._lib import ffi, lib
from .errors import check

__all__ = ["Dataset"]


def _options(max_bytes):
    if max_bytes is None:
        return ffi.NULL
    o = ffi.new("ham_load_options_t *")
    o.size = ffi.sizeof("ham_load_options_t")
    o.max_bytes = int(max_bytes)
    return o


def _path(p):
    return ffi.NULL if p is None else os.fsencode(p)


class Dataset(Handle):
    """Labelled samples read from files (``ham_dataset_t``); read-only, shareable by
    threads. Built by load_idx(), load_npy() or load_dir(). ``max_bytes`` caps what one
    load may allocate (None or 0: the library's default, 2 GiB; ``2**64 - 1``: no cap)."""

    def _release(self, ptr):
        lib.ham_dataset_free(ptr)

    def __init__(self):
        raise TypeError("use Dataset.load_idx(), load_npy() or load_dir()")

    @classmethod
    def _load(cls, fn, name, a, b, max_bytes):
        out = ffi.new("ham_dataset_t **")
        check(fn(out, a, b, _options(max_bytes)), name)
        self = cls.__new__(cls)
        self._wrap(out[0])
        return self

    @classmethod
    def load_idx(cls, images, labels=None, max_bytes=None):
        """IDX files (raw or gzip), images and optionally labels."""
        return cls._load(lib.ham_dataset_load_idx, "ham_dataset_load_idx", os.fsencode(images),
                         _path(labels), max_bytes)

    @classmethod
    def load_npy(cls, samples, labels=None, max_bytes=None):
        """NumPy .npy files (float32 or uint8 samples; uint8/int32/int64 labels)."""
        return cls._load(lib.ham_dataset_load_npy, "ham_dataset_load_npy", os.fsencode(samples),
                         _path(labels), max_bytes)

    @classmethod
    def load_dir(cls, directory, split="train", max_bytes=None):
        """One split of an MNIST-style directory (``{split}-images-idx3-ubyte[.gz]`` and
        ``{split}-labels-idx1-ubyte[.gz]``)."""
        return cls._load(lib.ham_dataset_load_dir, "ham_dataset_load_dir",
                         os.fsencode(directory), str(split).encode(), max_bytes)

    def __len__(self):
        return lib.ham_dataset_count(self._p())

    @property
    def count(self):
        """Number of samples."""
        return lib.ham_dataset_count(self._p())

    @property
    def dim(self):
        """Values per sample (784 for 28 x 28 images)."""
        return lib.ham_dataset_dim(self._p())

    @property
    def has_labels(self):
        return bool(lib.ham_dataset_has_labels(self._p()))

    @property
    def n_classes(self):
        """Largest label + 1 (0 without labels)."""
        return lib.ham_dataset_n_classes(self._p())

    def _outs(self, count, labels, out):
        x = A.out(out, (count, self.dim), "out")
        want = self.has_labels if labels is None else bool(labels)
        lab = np.empty(count, np.int32) if want else None
        return x, lab

    def get(self, first=0, count=None, labels=None, out=None):
        """Samples ``first .. first+count-1`` as ``(x float32 (count, dim), labels int32 or
        None)``; uint8 data is divided by 255. ``labels``: None fetches them when the
        dataset has them."""
        first = int(first)
        if count is None:
            count = len(self) - first
        count = int(count)
        if not 1 <= count <= A.INT32_MAX:
            raise ValueError("count: expected 1 to 2^31-1 samples, got %d" % count)
        x, lab = self._outs(count, labels, out)
        check(lib.ham_dataset_get(A.ptr(x), A.ptr(lab, "int32_t[]"), self._p(), first, count),
              "ham_dataset_get")
        return x, lab

    def gather(self, indices, labels=None, out=None):
        """The samples at ``indices`` (any order, repeats allowed), as get()."""
        idx = A.ints(indices, "indices", np.int64)
        if not 1 <= idx.size <= A.INT32_MAX:
            raise ValueError("indices: expected 1 to 2^31-1 indices, got %d" % idx.size)
        x, lab = self._outs(idx.size, labels, out)
        check(lib.ham_dataset_gather(A.ptr(x), A.ptr(lab, "int32_t[]"), self._p(),
                                     A.ptr(idx, "int64_t[]"), idx.size), "ham_dataset_gather")
        return x, lab
