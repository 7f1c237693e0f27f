"""Modern Hopfield networks through the binding, against NumPy."""

import numpy as np
import pytest

import hamdeq


def simplex(n, dim):
    """n unit-norm patterns with pairwise cosine -1/(n-1), in dim >= n dimensions."""
    e = np.eye(n) - 1.0 / n
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, dim)))
    return (e @ q[:n]).astype(np.float32)


def np_energy(X, beta, v):
    z = beta * v @ X.T.astype(np.float64)
    m = z.max(1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(z - m).sum(1))) / beta
    return -lse + 0.5 * (v * v).sum(1)


def test_mhn_model_layout_and_energy(rng):
    X = rng.normal(size=(5, 8)).astype(np.float32)
    with hamdeq.Model.mhn(X, 2.0) as m:
        assert m.sizes == (5, 8) and not m.clamped_input
        assert m.get_lagrangian(0) == (hamdeq.LAGRANGIAN_SOFTMAX, 2.0)
        assert m.get_lagrangian(1).kind is hamdeq.LAGRANGIAN_IDENTITY
        np.testing.assert_array_equal(m.get_weights(0), X)
        v = rng.normal(size=(4, 8))
        np.testing.assert_allclose(m.mhn_energy(v), np_energy(X, 2.0, v), rtol=1e-5, atol=1e-5)
        # G(v) = X^T softmax(beta X v)
        z = 2.0 * v @ X.T
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        np.testing.assert_allclose(m.apply(v, op="even-odd"), p @ X, rtol=1e-5, atol=1e-6)
        # the MHN energy is the model energy of the full state
        np.testing.assert_allclose(m.mhn_energy(v), m.energy(m.eo_to_full(v)), rtol=1e-5,
                                   atol=1e-5)
    with hamdeq.Model([3, 4]) as other:
        with pytest.raises(hamdeq.HamDeqError) as e:
            other.mhn_energy(np.zeros((1, 4)))
        assert e.value.status == hamdeq.ERR_UNSUPPORTED


def test_beta_s():
    X = simplex(5, 8)
    assert hamdeq.mhn_beta_s(X) == pytest.approx(4.0, rel=1e-4)    # N - 1 for a unit simplex
    assert hamdeq.mhn_beta_s(np.ones((3, 4))) == float("inf")
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.mhn_beta_s([[0.0, np.nan]])
    assert e.value.status == hamdeq.ERR_NONFINITE
    with pytest.raises(ValueError):
        hamdeq.mhn_beta_s(np.zeros(4))


def test_retrieval_and_minima():
    X = simplex(5, 8)
    with hamdeq.Model.mhn(X, 20.0) as m, \
            hamdeq.Solver(m, "even-odd", "anderson", tol=1e-6, warm_start=1) as s:
        noisy = X + 0.1 * np.random.default_rng(3).normal(size=X.shape)
        v = s.solve(state=noisy)
        assert np.all(s.samples().status == hamdeq.SAMPLE_CONVERGED)
        np.testing.assert_allclose(v, X, atol=1e-3)                # each pattern retrieved
        assert np.all(m.mhn_hessian_min(v) > 0)                    # strict local minima
        starts = np.concatenate([noisy, X * 0.9, -0.01 * X])
        before = s.options()
        r = s.find_minima(starts, cluster_tol=1e-2)
        assert s.options() == before                               # the solver is untouched
        assert r.starts == 15 and r.n_minima == 5 and r.minima.shape == (5, 8)
        assert r.assign.shape == (15,)
        # every found minimum is a pattern, and the noisy starts went to their own
        d = np.linalg.norm(r.minima[:, None, :] - X[None], axis=2)
        assert np.all(d.min(1) < 1e-2)
        assert sorted(d.argmin(1)) == list(range(5))
        assert [d[a].argmin() for a in r.assign[:5]] == list(range(5))
        r2 = s.find_minima(starts, cluster_tol=1e-2, capacity=2)
        assert r2.n_minima == 5 and r2.minima.shape == (2, 8)
    # below beta_s the mean is the only attractor
    with hamdeq.Model.mhn(X, 2.0) as m, hamdeq.Solver(m, "even-odd", "anderson") as s:
        r = s.find_minima(X * 0.9 + 0.05, cluster_tol=1e-2)
        assert r.n_minima == 1 and r.mean_attractor == 0 and r.mean_basin == 5
        assert np.all(m.mhn_hessian_min(r.minima) > 0)
