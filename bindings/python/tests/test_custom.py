"""Lagrangians and solver backends written in Python."""

import gc
import weakref

import numpy as np
import pytest

import hamdeq
from conftest import small_model
from hamdeq import model as model_mod, solver as solver_mod


class Tanh(hamdeq.Lagrangian):
    """log cosh, the built-in "tanh" kind, in Python."""
    name = "py-tanh"

    def __init__(self):
        self.calls = 0

    def value(self, s):
        self.calls += 1
        s = s.astype(np.float64)
        return float(np.sum(np.abs(s) + np.log1p(np.exp(-2 * np.abs(s))) - np.log(2)))

    def activation(self, s):
        self.calls += 1
        return np.tanh(s)

    def hvp(self, s, g, v):
        self.calls += 1
        return (1 - g * g) * v


def test_python_lagrangian_gives_the_builtin_fixed_point(rng):
    x = rng.random((4, 12))
    with small_model(hamdeq, lagrangians={1: ("tanh", 0)}) as builtin, \
            small_model(hamdeq) as custom:
        lag = Tanh()
        custom.set_custom_lagrangian(1, lag)
        assert custom.get_lagrangian(1).kind is hamdeq.LAGRANGIAN_CUSTOM
        for op in ("sync", "even-odd"):
            with hamdeq.Solver(builtin, op, "newton", tol=1e-6) as a, \
                    hamdeq.Solver(custom, op, "newton", tol=1e-6) as b:
                np.testing.assert_allclose(b.solve(x), a.solve(x), rtol=1e-5, atol=1e-6)
                # Newton's Jacobian products go through hvp
                assert b.stats().jacobian_products > 0
        full = np.random.default_rng(1).normal(size=(3, 14))
        np.testing.assert_allclose(custom.energy(full, x[:3]), builtin.energy(full, x[:3]),
                                   rtol=1e-5)
        assert lag.calls > 0
        with pytest.raises(hamdeq.HamDeqError) as e:
            custom.to_bytes()                     # callbacks cannot be saved
        assert e.value.status == hamdeq.ERR_UNSUPPORTED


def test_python_lagrangian_is_released_by_the_last_model():
    lag = Tanh()
    ref = weakref.ref(lag)
    m = small_model(hamdeq)
    m.set_custom_lagrangian(1, lag)
    clone = m.clone()                              # shares the user data
    solver = hamdeq.Solver(clone, "sync", "picard")
    del lag
    m.close()
    clone.close()
    gc.collect()
    assert ref() is not None                       # the solver still holds the clone
    solver.solve(np.zeros((1, 12)))
    solver.close()                                 # last holder: destroy runs here
    gc.collect()
    assert ref() is None
    assert not model_mod._live_lagrangians


def test_replacing_a_python_lagrangian_releases_it():
    lag = Tanh()
    ref = weakref.ref(lag)
    with small_model(hamdeq) as m:
        m.set_custom_lagrangian(2, lag)
        del lag
        m.set_lagrangian(2, "identity")
        gc.collect()
        assert ref() is None


def test_garbage_collected_model_frees_its_c_model():
    """__del__ is the fallback: an unreferenced wrapper frees the C model, which
    releases the Python Lagrangian (observable through the destructor)."""
    lag = Tanh()
    ref = weakref.ref(lag)
    m = small_model(hamdeq)
    m.set_custom_lagrangian(1, lag)
    del lag, m
    gc.collect()
    assert ref() is None


class Failing(Tanh):
    def activation(self, s):
        raise ZeroDivisionError("inside the Lagrangian")


def test_python_lagrangian_exception_is_reraised(rng):
    with small_model(hamdeq) as m:
        m.set_custom_lagrangian(1, Failing())
        with hamdeq.Solver(m, "sync", "anderson") as s:
            with pytest.raises(ZeroDivisionError, match="inside the Lagrangian"):
                s.solve(rng.random((2, 12)))
            assert s.stats().iters_max <= 2       # cancelled at once, not run to max_iter
        with pytest.raises(ZeroDivisionError):
            m.apply(np.zeros((1, 14)), np.zeros((1, 12)))
        with pytest.raises(ZeroDivisionError):
            m.energy(np.zeros((1, 14)), np.zeros((1, 12)))


def test_python_lagrangian_wrong_shape_is_reported(rng):
    class Short(Tanh):
        def activation(self, s):
            return np.tanh(s[:-1])

    with small_model(hamdeq) as m:
        m.set_custom_lagrangian(1, Short())
        with pytest.raises(ValueError, match="returned shape"):
            m.apply(np.zeros((1, 14)), np.zeros((1, 12)))


def test_bad_custom_lagrangian_registration():
    with small_model(hamdeq) as m:
        with pytest.raises(TypeError):
            m.set_custom_lagrangian(1, object())
        with pytest.raises(hamdeq.HamDeqError) as e:
            m.set_custom_lagrangian(7, Tanh())
        assert e.value.status == hamdeq.ERR_INVALID
        assert not model_mod._live_lagrangians   # a failed registration takes nothing


class PyPicard(hamdeq.SolverBackend):
    """Damped Picard, s <- (1-dt) s + dt G(s), as the built-in backend does it."""
    name = "py-picard"

    def __init__(self, dt=1.0):
        self.dt = dt
        self.log = []

    def init(self, dim, max_rows):
        self.log.append(("init", dim, max_rows))
        return {"dim": dim}

    def fini(self, state):
        self.log.append(("fini",))

    def reset(self, state, rows):
        self.log.append(("reset", rows))

    def step(self, state, step, s, gs):
        assert s.shape == gs.shape == (step.rows, step.dim) == (s.shape[0], state["dim"])
        s *= 1 - self.dt
        s += self.dt * gs
        return 0

    def compact(self, state, keep):
        self.log.append(("compact", list(keep)))


def test_python_backend_matches_builtin_picard(rng):
    x = rng.random((6, 12))
    with small_model(hamdeq) as m:
        for op in ("sync", "even-odd"):
            be = PyPicard(dt=0.7)
            with hamdeq.Solver(m, op, "picard", tol=1e-5, dt=0.7) as a, \
                    hamdeq.Solver.custom(m, be, op=op, tol=1e-5) as b:
                assert b.kind is hamdeq.SOLVER_CUSTOM
                np.testing.assert_allclose(b.solve(x), a.solve(x), rtol=1e-5, atol=1e-6)
                np.testing.assert_array_equal(b.samples().iterations, a.samples().iterations)
            assert be.log[0][0] == "init" and be.log[-1] == ("fini",)
            assert ("reset", 6) in be.log
            assert any(e[0] == "compact" for e in be.log)   # converged rows were removed
    assert not solver_mod._live_backends                    # destroyed by ham_solver_free


class NewtonLike(hamdeq.SolverBackend):
    """A step that evaluates the operator itself through step.apply and hands G(new s)
    back (return value 1)."""

    def step(self, state, step, s, gs):
        s[...] = gs
        step.apply(s, out=gs)
        return 1


def test_backend_step_apply(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard", tol=1e-5) as a, \
            hamdeq.Solver.custom(m, NewtonLike(), op="sync", tol=1e-5) as b:
        x = rng.random((3, 12))
        np.testing.assert_allclose(b.solve(x), a.solve(x), rtol=1e-4, atol=1e-5)


class Raising(hamdeq.SolverBackend):
    def __init__(self, where):
        self.where = where

    def init(self, dim, max_rows):
        if self.where == "init":
            raise KeyError("init failed")

    def step(self, state, step, s, gs):
        if self.where == "step":
            raise KeyError("step failed")
        if self.where == "status":
            raise hamdeq.HamDeqError(hamdeq.ERR_NUMERIC, "my own status")
        if self.where == "apply":
            step.apply(s[:1])                     # wrong shape: ValueError in Python
        s[...] = gs


@pytest.mark.parametrize("where,exc", [("init", KeyError), ("step", KeyError),
                                       ("status", hamdeq.HamDeqError), ("apply", ValueError)])
def test_backend_exceptions_are_reraised(rng, where, exc):
    with small_model(hamdeq) as m, hamdeq.Solver.custom(m, Raising(where), op="sync") as s:
        with pytest.raises(exc) as e:
            s.solve(rng.random((2, 12)))
        if where == "status":
            assert e.value.status == hamdeq.ERR_NUMERIC


def test_step_context_expires(rng):
    kept = []

    class Keep(hamdeq.SolverBackend):
        def step(self, state, step, s, gs):
            kept.append(step)
            s[...] = gs

    with small_model(hamdeq) as m, hamdeq.Solver.custom(m, Keep(), op="sync") as s:
        s.solve(rng.random((1, 12)))
    with pytest.raises(RuntimeError, match="only valid during"):
        kept[0].apply(np.zeros((1, 14)))


def test_backend_without_step_is_refused():
    with small_model(hamdeq) as m:
        with pytest.raises(TypeError):
            hamdeq.Solver.custom(m, object())
        with pytest.raises(hamdeq.HamDeqError) as e:
            hamdeq.Solver.custom(m, PyPicard(), op=5)
        assert e.value.status == hamdeq.ERR_UNKNOWN_OPERATOR
    assert not solver_mod._live_backends
