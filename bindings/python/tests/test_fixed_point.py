"""The binding's fixed points against the NumPy reimplementation of F (docs/math.md)."""

import numpy as np
import pytest

import hamdeq
from conftest import small_model
from reference import Reference

LAGRANGIANS = {
    "default": {},
    "tanh+softmax": {1: ("tanh", 0.0), 2: ("softmax", 2.0)},
    "sigmoid+identity": {1: (hamdeq.LAGRANGIAN_SIGMOID, 0.0), 2: ("identity", 0.0)},
}


@pytest.mark.parametrize("lags", LAGRANGIANS.values(), ids=list(LAGRANGIANS))
def test_apply_equals_numpy_F(rng, lags):
    with small_model(hamdeq, (12, 9, 5), lagrangians=lags) as m:
        ref = Reference(m)
        x = rng.random((6, 12))
        s = rng.normal(0, 1, (6, m.state_dim(hamdeq.Operator.SYNC)))
        got = m.apply(s, x, op="sync")
        assert got.dtype == np.float32 and got.shape == s.shape
        np.testing.assert_allclose(got, ref.F(s.astype(np.float32), x.astype(np.float32)),
                                   rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("lags", LAGRANGIANS.values(), ids=list(LAGRANGIANS))
@pytest.mark.parametrize("kind", ["picard", "anderson", "broyden", "newton"])
def test_sync_fixed_point_equals_numpy_picard(rng, lags, kind):
    """A fixed point solved through the binding (synchronous F) is the fixed point that
    plain float64 NumPy iteration of F reaches, and satisfies s = F(s) in NumPy."""
    with small_model(hamdeq, (12, 9, 5), lagrangians=lags) as m:
        ref = Reference(m)
        x = rng.random((7, 12)).astype(np.float32)
        expected = ref.picard(x)
        with hamdeq.Solver(m, "sync", kind, tol=1e-6, max_iter=500) as solver:
            s = solver.solve(x)
            st = solver.stats()
        assert st.converged == st.samples == 7
        np.testing.assert_allclose(s, expected, rtol=1e-4, atol=1e-5)
        res = np.linalg.norm(ref.F(s, x) - s, axis=1) / np.linalg.norm(s, axis=1)
        assert res.max() < 1e-5


def test_even_odd_fixed_point_is_the_same(rng):
    """The even-odd operator G has the fixed points of F: the full state rebuilt from an
    even-odd solve is a fixed point of the NumPy F."""
    with small_model(hamdeq, (10, 8, 6, 4), lagrangians={2: ("tanh", 0.0)}) as m:
        ref = Reference(m)
        x = rng.random((5, 10)).astype(np.float32)
        with hamdeq.Solver(m, hamdeq.OPERATOR_EVEN_ODD, hamdeq.SOLVER_ANDERSON,
                           tol=1e-6, max_iter=500) as solver:
            eo = solver.solve(x)
        assert eo.shape == (5, m.state_dim("even-odd"))
        full = m.eo_to_full(eo, x)
        np.testing.assert_allclose(full, ref.picard(x), rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(m.full_to_eo(full), eo)


def test_energy_equals_numpy(rng):
    lags = {1: ("tanh", 0.0), 2: ("softmax", 1.5)}
    with small_model(hamdeq, (12, 9, 5), lagrangians=lags) as m:
        ref = Reference(m)
        x = rng.random((4, 12)).astype(np.float32)
        s = rng.normal(0, 1, (4, m.state_dim("sync"))).astype(np.float32)
        e = m.energy(s, x)
        assert e.dtype == np.float64 and e.shape == (4,)
        np.testing.assert_allclose(e, ref.energy(s, x), rtol=1e-5, atol=1e-5)


def test_energy_decreases_along_picard_on_G(rng):
    """Picard on G with dt = 1 is block-coordinate descent (docs/math.md section 2)."""
    with small_model(hamdeq, (12, 9, 5)) as m:
        x = rng.random((3, 12)).astype(np.float32)
        energies = []

        def record(info):
            full = m.eo_to_full(info.state, x[info.sample])
            energies.append(m.energy(full, x[info.sample]))

        with hamdeq.Solver(m, "even-odd", "picard", tol=1e-7, max_iter=50,
                           fixed_iters=1) as solver:
            solver.set_callback(record)
            solver.solve(x)
        e = np.array(energies)
        assert len(e) == 50
        assert np.all(np.diff(e, axis=0) <= 1e-5 * np.abs(e[:-1]) + 1e-6)
