"""Loading libhamdeq.so.0 through cffi's ABI mode (no compiler needed at import time).

The library is ``$HAMDEQ_LIBRARY`` when that is set (a path, or a name for the dynamic
loader), otherwise the soname ``libhamdeq.so.0`` found by the dynamic loader
(``LD_LIBRARY_PATH``, the ld.so cache, ...).
"""

import os

import cffi

from ._cdef import API_MAJOR, API_MINOR, CDEF

SONAME = "libhamdeq.so.0"

ffi = cffi.FFI()
ffi.cdef(CDEF)


def _load():
    name = os.environ.get("HAMDEQ_LIBRARY") or SONAME
    try:
        raw = ffi.dlopen(name)
    except OSError as e:
        raise ImportError(
            "hamdeq: cannot load libhamdeq (%s): %s; set HAMDEQ_LIBRARY to the path of "
            "libhamdeq.so.0 or install the library" % (name, e)) from e
    version = raw.ham_version()
    major, minor = version // 10000, version // 100 % 100
    # The 0.x ABI only grows: a library of the same major and at least this minor has
    # every function declared here.
    if major != API_MAJOR or minor < API_MINOR:
        raise ImportError("hamdeq: %s is libhamdeq %s; this binding needs %d.%d or a later "
                          "%d.x" % (name, ffi.string(raw.ham_version_string()).decode(),
                                    API_MAJOR, API_MINOR, API_MAJOR))
    return raw, name


class _TracingLib:
    """Stands in for the cffi library object and records the names of the functions the
    binding looks up (HAMDEQ_TRACE_CALLS=1; the test suite uses it to check that every
    exported function was called through the binding)."""

    def __init__(self, raw):
        object.__setattr__(self, "_raw", raw)
        object.__setattr__(self, "called", set())

    def __getattr__(self, name):
        value = getattr(self._raw, name)
        if name.startswith("ham_") and callable(value):
            self.called.add(name)
        return value


raw_lib, library_name = _load()
lib = _TracingLib(raw_lib) if os.environ.get("HAMDEQ_TRACE_CALLS") == "1" else raw_lib


def cstr(p):
    """A library-owned C string as str (None for NULL)."""
    if p == ffi.NULL:
        return None
    return ffi.string(p).decode("utf-8", "replace")
