"""The common lifetime of the four handle types (Model, Solver, Trainer, Dataset)."""

import atexit
import contextlib
import threading

from ._lib import ffi

_exiting = False


@atexit.register
def _at_exit():
    # Handles still alive when the interpreter exits are left to the process's end: a
    # free then could call a Python destructor (a custom Lagrangian's or backend's)
    # while the interpreter is being torn down.
    global _exiting
    _exiting = True


class Handle:
    """An owned libhamdeq handle: freed by close(), by leaving a ``with`` block, or, as a
    fallback, when the wrapper is garbage-collected. After close() every method but
    close() raises ValueError."""

    _ptr = None

    def _wrap(self, ptr):
        self._ptr = ptr
        self._lock = threading.Lock()

    @property
    def closed(self):
        """True once close() has run."""
        return self._ptr is None

    def _p(self):
        p = self._ptr
        if p is None:
            raise ValueError("operation on a closed %s" % type(self).__name__)
        return p

    @contextlib.contextmanager
    def _busy(self):
        """One thread at a time per handle (docs/api.md, "Threading"). A second thread,
        or a callback calling back into the handle that is running it, gets
        RuntimeError instead of undefined behaviour in C."""
        p = self._p()
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("%s is in use by another thread or by the call running this "
                               "callback" % type(self).__name__)
        try:
            yield p
        finally:
            self._lock.release()

    def _release(self, ptr):
        """Frees the C handle (each subclass calls its ham_*_free)."""
        raise NotImplementedError

    def close(self):
        """Frees the C handle now (idempotent)."""
        if self._ptr is None:
            return
        with self._busy() as p:
            self._ptr = None
            self._release(p)
        from .errors import raise_pending
        raise_pending(0, "%s.close" % type(self).__name__)

    def __enter__(self):
        self._p()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        if _exiting or getattr(self, "_ptr", None) is None:
            return
        self.close()

    def __repr__(self):
        state = "closed" if self._ptr is None else "at 0x%x" % int(ffi.cast("uintptr_t", self._ptr))
        return "<hamdeq.%s %s>" % (type(self).__name__, state)
