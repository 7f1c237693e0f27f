"""Status codes, messages and the library's identity."""

import pickle

import pytest

import hamdeq


def test_every_status_has_its_name_and_text():
    for st in hamdeq.Status:
        assert hamdeq.status_name(st) == "HAM_" + st.name
        assert hamdeq.strerror(st) and hamdeq.strerror(st) != "unknown status"
    assert hamdeq.status_name(-999) == "HAM_UNKNOWN"
    assert hamdeq.strerror(-999) == "unknown status"


def test_error_carries_status_name_and_message():
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Model([3, 0])
    err = e.value
    assert err.status == hamdeq.ERR_INVALID == -2
    assert err.name == "HAM_ERR_INVALID"
    assert err.message == hamdeq.last_error() and err.message   # the library's own detail
    assert err.function == "ham_model_new"
    assert "HAM_ERR_INVALID" in str(err) and err.message in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert (again.status, again.message, again.function) == (err.status, err.message,
                                                             err.function)
    generic = hamdeq.HamDeqError(hamdeq.ERR_IO)
    assert generic.message == hamdeq.strerror(hamdeq.ERR_IO)


def test_version():
    major, minor, patch = hamdeq.version()
    assert (major, minor) >= (0, 1) and major == 0
    assert hamdeq.version_string() == "%d.%d.%d" % (major, minor, patch)
    assert hamdeq.library_name.endswith("libhamdeq.so.0")


def test_enum_reads_tolerate_unknown_values():
    from hamdeq.constants import as_member
    assert as_member(hamdeq.SolverKind, 1) is hamdeq.SOLVER_ANDERSON
    assert as_member(hamdeq.SolverKind, 57) == 57
