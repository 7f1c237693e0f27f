"""HamDeqError and the handling of exceptions raised inside callbacks.

No Python exception may unwind through libhamdeq's C frames (docs/api.md, "Callbacks").
Every callback the binding installs catches everything (BaseException included) at the C
boundary, records it here for the calling thread, and reports failure to the library by
its return value (or by NaN, for a Lagrangian). The binding's wrapper of the C call then
re-raises the recorded exception, with its original traceback, once the call returns.
"""

import threading

from ._lib import cstr, lib

__all__ = ["HamDeqError", "status_name", "strerror"]


class HamDeqError(Exception):
    """A libhamdeq call failed.

    Attributes:
        status: the negative status code (an int; ``hamdeq.Status(e.status)`` when known)
        name: its enum name, e.g. ``"HAM_ERR_DIMENSION"``
        message: the library's one-line detail (``ham_last_error()``), or the generic
            text of the status (``ham_strerror()``) when the library gave none
        function: the C function that failed, when known
    """

    def __init__(self, status, message=None, function=None):
        self.status = int(status)
        self.name = cstr(lib.ham_status_name(self.status))
        text = cstr(lib.ham_strerror(self.status))
        self.message = message if message else text
        self.function = function
        where = "%s: " % function if function else ""
        if function and self.message.startswith(function + ":"):
            where = ""
        super().__init__("%s%s (%s, %d)" % (where, self.message, self.name, self.status))

    def __reduce__(self):
        return (_rebuild, (self.status, self.message, self.function))


def _rebuild(status, message, function):
    return HamDeqError(status, message, function)


def strerror(status):
    """Static English text of a status code (``ham_strerror``)."""
    return cstr(lib.ham_strerror(int(status)))


def status_name(status):
    """Enum name of a status code, e.g. ``"HAM_ERR_NULL"`` (``ham_status_name``)."""
    return cstr(lib.ham_status_name(int(status)))


_tls = threading.local()


def record(exc):
    """Keeps the first exception a callback raised during the current C call."""
    if getattr(_tls, "pending", None) is None:
        _tls.pending = exc


def has_pending():
    """True when a callback recorded an exception during the current C call."""
    return getattr(_tls, "pending", None) is not None


def take_pending():
    exc = getattr(_tls, "pending", None)
    _tls.pending = None
    return exc


def raise_pending(status=0, function=None):
    """Re-raises an exception recorded by a callback during the C call just returned."""
    exc = take_pending()
    if exc is not None:
        if status < 0 and hasattr(exc, "add_note"):
            exc.add_note("libhamdeq: %s returned %s because of this exception"
                         % (function or "the call", status_name(status)))
        raise exc


def check(status, function=None):
    """Raises for a negative status: first an exception a callback recorded, else a
    HamDeqError with ham_last_error(), read at once on this thread."""
    if status < 0:
        message = cstr(lib.ham_last_error())
        raise_pending(status, function)
        raise HamDeqError(status, message, function)
    raise_pending(status, function)
    return status


def error_status(exc):
    """The status a callback returns for an exception: a HamDeqError's own status (the
    library passes libhamdeq statuses through), HAM_ERR_CALLBACK otherwise."""
    if isinstance(exc, HamDeqError) and exc.status < 0:
        return exc.status
    return lib.HAM_ERR_CALLBACK
