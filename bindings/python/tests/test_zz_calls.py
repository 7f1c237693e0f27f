"""Run last (pytest collects files in name order): with HAMDEQ_TRACE_CALLS=1 (ci.sh sets
it) the binding records every C function it looks up, and after the whole suite every
function of lib/hamdeq.map must have been called at least once by some test. Skipped when
tracing is off or when only part of the suite was selected."""

import os

import pytest

from hamdeq import _lib
from test_cdef import map_functions


def test_every_exported_function_was_called(repo, request):
    if os.environ.get("HAMDEQ_TRACE_CALLS") != "1":
        pytest.skip("HAMDEQ_TRACE_CALLS=1 not set")
    if os.environ.get("HAMDEQ_REQUIRE_ALL_CALLED") != "1":
        pytest.skip("HAMDEQ_REQUIRE_ALL_CALLED=1 not set (only meaningful for the whole suite)")
    called = _lib.lib.called
    missing = sorted(set(map_functions(repo)) - called)
    assert not missing, "exported functions no test called through the binding: %s" % missing
