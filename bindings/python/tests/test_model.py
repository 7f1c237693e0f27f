"""Model: layers, Lagrangians, parameters, operators, files, references."""

import copy
import pickle

import numpy as np
import pytest

import hamdeq
from conftest import small_model
from reference import Reference


def test_new_model_layout():
    with hamdeq.Model([784, 512, 10]) as m:
        assert m.n_layers == 3 and m.sizes == (784, 512, 10)
        assert m.layer_size(1) == 512 and m.clamped_input
        assert m.state_dim(hamdeq.Operator.SYNC) == 522
        assert m.state_dim("even-odd") == 10
        assert m.state_offset("sync", 1) == 0 and m.state_offset("sync", 2) == 512
        assert m.state_offset("even-odd", 2) == 0
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.state_offset("even-odd", 1)      # layer 1 is not in the even-odd state
        assert e.value.status == hamdeq.ERR_INVALID
        with pytest.raises(IndexError):
            m.layer_size(3)
        # new models: zero weights and biases, shifted sigmoid, even-odd + Anderson
        assert not m.get_weights(0).any() and not m.get_bias(2).any()
        assert m.get_lagrangian(1) == (hamdeq.LAGRANGIAN_SHIFTED_SIGMOID, 0.0)
        d = m.get_defaults()
        assert d == (hamdeq.OPERATOR_EVEN_ODD, hamdeq.SOLVER_ANDERSON, 1e-4, 100)
    with hamdeq.Model([4, 3], clamped_input=False) as free:
        assert not free.clamped_input and free.state_dim("sync") == 7


@pytest.mark.parametrize("sizes", [[5], [0, 3], [3, -1], [2] * 65])
def test_invalid_sizes(sizes):
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Model(sizes)
    assert e.value.status == hamdeq.ERR_INVALID and e.value.name == "HAM_ERR_INVALID"
    assert e.value.message and e.value.function == "ham_model_new"


def test_xavier_is_deterministic_and_bounded():
    with hamdeq.Model([30, 20, 10]) as a, hamdeq.Model([30, 20, 10]) as b:
        a.init_xavier(7)
        b.init_xavier(7)
        for blk, (n, k) in enumerate([(30, 20), (20, 10)]):
            w = a.get_weights(blk)
            assert w.shape == (n, k) and w.dtype == np.float32
            np.testing.assert_array_equal(w, b.get_weights(blk))
            bound = np.sqrt(6.0 / (n + k))
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
            assert abs(w.mean()) < 0.1 * bound
        b.init_xavier(8)
        assert not np.array_equal(a.get_weights(0), b.get_weights(0))


def test_weights_and_biases_round_trip(rng):
    with hamdeq.Model([6, 4, 3]) as m:
        w = rng.normal(size=(4, 3))
        m.set_weights(1, w)           # float64 in: converted to float32
        np.testing.assert_array_equal(m.get_weights(1), w.astype(np.float32))
        m.set_weights(0, np.asfortranarray(rng.normal(size=(6, 4))))   # any layout
        b = rng.normal(size=3).astype(np.float32)
        m.set_bias(2, b)
        np.testing.assert_array_equal(m.get_bias(2), b)
        out = np.zeros(3, np.float32)
        assert m.get_bias(2, out=out) is out and np.array_equal(out, b)
        with pytest.raises(ValueError):
            m.set_weights(1, np.zeros((3, 4)))        # transposed: shape checked first
        with pytest.raises(ValueError):
            m.set_bias(2, np.zeros(4))
        with pytest.raises(IndexError):
            m.set_weights(2, np.zeros((3, 3)))
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.get_bias(0)                             # the clamped input has no bias
        assert e.value.status == hamdeq.ERR_INVALID
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.set_bias(1, [0, np.nan, 0, 0])
        assert e.value.status == hamdeq.ERR_NONFINITE
        with pytest.raises(TypeError):
            m.set_bias(1, ["a", "b", "c", "d"])
        with pytest.raises(TypeError):
            m.get_bias(1, out=np.zeros(4, np.float64))   # outputs are never converted


def test_lagrangians_by_member_int_and_name():
    with hamdeq.Model([3, 4, 5]) as m:
        m.set_lagrangian(1, "tanh")
        m.set_lagrangian(2, hamdeq.LagrangianKind.SOFTMAX, beta=2.5)
        assert m.get_lagrangian(1) == (hamdeq.LagrangianKind.TANH, 0.0)
        info = m.get_lagrangian(2)
        assert info.kind is hamdeq.LAGRANGIAN_SOFTMAX and info.param == 2.5
        m.set_lagrangian(0, 3)
        assert m.get_lagrangian(0).kind == hamdeq.LAGRANGIAN_IDENTITY
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.set_lagrangian(1, "no-such")
        assert e.value.status == hamdeq.ERR_UNKNOWN_LAGRANGIAN
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.set_lagrangian(2, "softmax", beta=-1)
        assert e.value.status == hamdeq.ERR_INVALID


def test_names_round_trip():
    for k in hamdeq.LagrangianKind:
        name = hamdeq.lagrangian_name(k)
        assert name
        if k != hamdeq.LAGRANGIAN_CUSTOM:
            assert hamdeq.lagrangian_from_name(name) == k
    assert hamdeq.lagrangian_name(55) is None
    for k in hamdeq.SolverKind:
        if k != hamdeq.SOLVER_CUSTOM:
            assert hamdeq.solver_kind_from_name(hamdeq.solver_kind_name(k)) == k
    assert [hamdeq.operator_name(o) for o in hamdeq.Operator] == ["sync", "even-odd"]
    assert hamdeq.operator_from_name("even-odd") is hamdeq.OPERATOR_EVEN_ODD
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.operator_from_name("diagonal")
    assert e.value.status == hamdeq.ERR_UNKNOWN_OPERATOR
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.solver_kind_from_name("bisection")
    assert e.value.status == hamdeq.ERR_UNKNOWN_SOLVER


def test_defaults_round_trip():
    with hamdeq.Model([3, 2]) as m:
        m.set_defaults("sync", "newton", 1e-6, 250)
        assert m.get_defaults() == (hamdeq.OPERATOR_SYNC, hamdeq.SOLVER_NEWTON, 1e-6, 250)
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.set_defaults("sync", "newton", 2.0, 10)
        assert e.value.status == hamdeq.ERR_INVALID


def _same_model(a, b):
    assert a.sizes == b.sizes and a.clamped_input == b.clamped_input
    for blk in range(a.n_layers - 1):
        np.testing.assert_array_equal(a.get_weights(blk), b.get_weights(blk))
    for l in range(1 if a.clamped_input else 0, a.n_layers):
        np.testing.assert_array_equal(a.get_bias(l), b.get_bias(l))
        assert a.get_lagrangian(l) == b.get_lagrangian(l)
    assert a.get_defaults() == b.get_defaults()


def test_file_and_buffer_round_trip(tmp_path):
    lags = {1: ("tanh", 0.0), 2: ("softmax", 3.0)}
    with small_model(hamdeq, (8, 6, 4), lagrangians=lags) as m:
        m.set_defaults("sync", "broyden", 1e-5, 77)
        path = tmp_path / "m.ham"
        m.save(path)
        data = m.to_bytes()
        assert path.read_bytes() == data            # a buffer holds exactly a file's bytes
        with hamdeq.Model.load(path) as a, hamdeq.Model.from_bytes(data) as b:
            _same_model(m, a)
            _same_model(m, b)
            assert b.to_bytes() == data             # bit-exact round trip
        c = pickle.loads(pickle.dumps(m))
        _same_model(m, c)
        c.close()


def test_load_errors(tmp_path):
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Model.load(tmp_path / "missing.ham")
    assert e.value.status == hamdeq.ERR_IO and "missing.ham" in e.value.message
    with hamdeq.Model([3, 2]) as m:
        data = bytearray(m.to_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Model.from_bytes(bytes(data))
    assert e.value.status == hamdeq.ERR_FORMAT
    assert e.value.message.startswith("model buffer: ")
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Model.from_bytes(b"")
    assert e.value.status == hamdeq.ERR_FORMAT
    with pytest.raises(hamdeq.HamDeqError) as e:
        with hamdeq.Model([3, 2]) as m:
            m.save(tmp_path)                        # a directory
    assert e.value.status == hamdeq.ERR_IO


def test_clone_is_independent_and_share_is_not(rng):
    with small_model(hamdeq) as m:
        w = m.get_weights(0)
        c = m.clone()
        s = m.share()
        m.set_weights(0, rng.normal(size=w.shape))
        np.testing.assert_array_equal(c.get_weights(0), w)          # the copy kept its own
        np.testing.assert_array_equal(s.get_weights(0), m.get_weights(0))   # same model
        m.close()
        assert s.get_weights(0).shape == w.shape    # s holds its own reference
        s.close()
        c.close()
        with pytest.raises(ValueError, match="closed Model"):
            s.get_weights(0)


def test_jvp_and_vjp_are_adjoint_and_match_finite_differences(rng):
    with small_model(hamdeq, (7, 6, 5), lagrangians={1: ("tanh", 0.0)}) as m:
        for op in ("sync", "even-odd"):
            dim = m.state_dim(op)
            x = rng.random((3, 7))
            s = rng.normal(0, 0.5, (3, dim))
            v = rng.normal(size=(3, dim))
            u = rng.normal(size=(3, dim))
            jv = m.jvp(s, v, x, op=op)
            vjp = m.vjp(s, u, x, op=op)
            np.testing.assert_allclose((jv * u).sum(1), (v * vjp).sum(1), rtol=1e-4, atol=1e-5)
            h = 1e-2
            fd = (m.apply(s + h * v, x, op=op).astype(np.float64) -
                  m.apply(s - h * v, x, op=op)) / (2 * h)
            np.testing.assert_allclose(jv, fd, rtol=2e-2, atol=2e-3)


def test_eo_full_conversions(rng):
    with small_model(hamdeq, (6, 5, 4, 3)) as m:
        ref = Reference(m)
        x = rng.random((2, 6))
        eo = rng.normal(size=(2, m.state_dim("even-odd")))
        full = m.eo_to_full(eo, x)
        assert full.shape == (2, m.state_dim("sync"))
        np.testing.assert_array_equal(m.full_to_eo(full), eo.astype(np.float32))
        # the other class (layer 2 here: the output 3 has odd parity) is F of the state's
        layers = ref.split(full.astype(np.float64))
        np.testing.assert_allclose(layers[2], ref.split(ref.F(full, x.astype(np.float32)))[2],
                                   rtol=1e-5, atol=1e-6)
        # a single sample in, a single sample out
        assert m.eo_to_full(eo[0], x[0]).shape == (m.state_dim("sync"),)
        assert np.ndim(m.energy(full[0], x[0])) == 0


def test_input_checks_before_c(rng):
    with small_model(hamdeq, (6, 5, 4)) as m:
        s = np.zeros((2, 9))
        with pytest.raises(ValueError, match="clamped input"):
            m.apply(s)
        with pytest.raises(ValueError, match="values per sample"):
            m.apply(np.zeros((2, 8)), np.zeros((2, 6)))
        with pytest.raises(ValueError, match="expected 2 samples"):
            m.apply(s, np.zeros((3, 6)))
        with pytest.raises(ValueError):
            m.apply(np.zeros((0, 9)), np.zeros((0, 6)))
        with pytest.raises(ValueError):
            m.apply(np.zeros((2, 9, 1)), np.zeros((2, 6)))
        with pytest.raises(TypeError):
            m.apply(s.astype(bool), np.zeros((2, 6)))
        with pytest.raises(TypeError):
            m.apply(s, np.zeros((2, 6)), out=np.zeros((2, 9)))      # float64 out
        with pytest.raises(TypeError):
            m.apply(s, np.zeros((2, 6)), out=np.zeros((9, 2), np.float32).T)   # not C order
        with pytest.raises(ValueError):
            m.apply(s, np.zeros((2, 6)), out=np.zeros((2, 10), np.float32))
        ro = np.zeros((2, 9), np.float32)
        ro.flags.writeable = False
        with pytest.raises(TypeError, match="read-only"):
            m.apply(s, np.zeros((2, 6)), out=ro)
        # non-contiguous and integer inputs are converted (copied), with the same result
        x = rng.random((2, 12))[:, ::2]
        a = m.apply(s, x)
        np.testing.assert_array_equal(a, m.apply(s.astype(np.float32), np.ascontiguousarray(
            x, dtype=np.float32)))
        assert np.array_equal(m.apply(np.zeros((2, 9), np.int64), x), a)
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.apply(s, np.full((2, 6), np.inf))
        assert e.value.status == hamdeq.ERR_NONFINITE
    with hamdeq.Model([3, 2], clamped_input=False) as free:
        with pytest.raises(ValueError, match="free input"):
            free.apply(np.zeros(5), np.zeros(3))


def test_closed_model_raises():
    m = hamdeq.Model([3, 2])
    m.close()
    m.close()                          # idempotent
    assert m.closed and "closed" in repr(m)
    for call in (lambda: m.sizes, lambda: m.get_weights(0), lambda: m.to_bytes(),
                 lambda: hamdeq.Solver(m), lambda: m.clone()):
        with pytest.raises(ValueError, match="closed Model"):
            call()
    with pytest.raises(ValueError):
        with m:
            pass


def test_copy_module_uses_bytes():
    with small_model(hamdeq, (4, 3)) as m:
        c = copy.copy(m)               # through __reduce__: an independent model
        _same_model(m, c)
        c.close()
