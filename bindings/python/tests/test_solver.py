"""Solver: options, solves, per-sample results, the iteration callback and the
convergence test as Python callables."""

import threading

import numpy as np
import pytest

import hamdeq
from conftest import small_model
from reference import Reference

DOC_DEFAULTS = {  # docs/api.md, "Solver options"
    "TOL": (1e-4, 0, 1), "MAX_ITER": (100, 1, 1e6), "WARM_START": (0, 0, 1), "DT": (1, 0, 1),
    "ANDERSON_M": (4, 1, 32), "ANDERSON_BETA": (1, 0, 1), "ANDERSON_LAMBDA": (1e-10, 0, 1),
    "ANDERSON_SAFEGUARD": (1, 0, 1), "BROYDEN_M": (16, 1, 256), "NEWTON_LINESEARCH": (1, 0, 1),
    "NEWTON_MAX_DIM": (256, 1, 4096), "DIVERGENCE": (1e30, 1, 3e38),
    "NEWTON_KRYLOV_DIM": (30, 1, 500), "NEWTON_FORCING": (1e-2, 0, 1),
    "FIXED_ITERS": (0, 0, 1), "ATOL": (0, 0, 3e38), "ATTRACTOR_SAFE": (-1, -1, 2),
    "STABILITY_CHECK": (0, 0, 1000),
    "THREADS": (1, 0, 256),
}


def test_option_info_matches_the_docs():
    assert set(DOC_DEFAULTS) == {o.name for o in hamdeq.Option}
    for o in hamdeq.Option:
        info = hamdeq.Solver.option_info(o)
        assert info == pytest.approx(DOC_DEFAULTS[o.name], rel=1e-6), o
    assert hamdeq.Solver.option_info("max-iter") == hamdeq.Solver.option_info(1)
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Solver.option_info(99)
    assert e.value.status == hamdeq.ERR_UNKNOWN_OPTION
    with pytest.raises(ValueError, match="unknown solver option"):
        hamdeq.Solver.option_info("tolerance")


def test_options_set_get_and_bounds():
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "anderson", tol=1e-6) as s:
        assert s.kind is hamdeq.SOLVER_ANDERSON and s.operator is hamdeq.OPERATOR_SYNC
        assert s.get_option(hamdeq.OPT_TOL) == 1e-6
        s.configure(max_iter=17, anderson_m=6)
        assert s.get_option("MAX_ITER") == 17 and s.get_option(hamdeq.Option.ANDERSON_M) == 6
        opts = s.options()
        assert opts[hamdeq.OPT_MAX_ITER] == 17 and len(opts) == len(hamdeq.Option)
        for bad in [("tol", 0.0), ("tol", float("nan")), ("max_iter", 2.5), ("anderson_m", 33)]:
            with pytest.raises(hamdeq.HamDeqError) as e:
                s.set_option(*bad)
            assert e.value.status == hamdeq.ERR_INVALID
        assert s.get_option("tol") == 1e-6 and s.get_option("anderson_m") == 6   # unchanged
        with pytest.raises(hamdeq.HamDeqError) as e:
            s.set_option(42, 1.0)
        assert e.value.status == hamdeq.ERR_UNKNOWN_OPTION


def test_attractor_safe_and_stability_check(rng):
    """The options added in 0.1: the stability check's power iterations are counted as
    Jacobian products, and the stats count unstable samples and refused steps."""
    assert hamdeq.SampleStatus.UNSTABLE == 3 and hamdeq.SAMPLE_UNSTABLE == 3
    assert hamdeq.OPT_ATTRACTOR_SAFE == 16 and hamdeq.OPT_STABILITY_CHECK == 17
    x = rng.random((6, 12))
    with small_model(hamdeq) as m, hamdeq.Solver(m, "even-odd", "anderson", tol=1e-6,
                                                 max_iter=300) as s:
        assert s.get_option("attractor_safe") == -1 and s.get_option("stability-check") == 0
        s.solve(x)
        plain = s.stats()
        s.configure(attractor_safe=2, stability_check=20)
        assert s.get_option(hamdeq.OPT_ATTRACTOR_SAFE) == 2
        s.solve(x)
        st = s.stats()
        it, res, status = s.samples()
        assert st.samples == 6
        assert st.unstable == np.sum(status == hamdeq.SAMPLE_UNSTABLE)
        assert st.converged + st.not_converged + st.diverged + st.unstable == 6
        assert st.rejected_steps >= 0
        assert st.jacobian_products > plain.jacobian_products
        for bad in [("attractor_safe", 3), ("attractor_safe", -2), ("stability_check", 1001)]:
            with pytest.raises(hamdeq.HamDeqError) as e:
                s.set_option(*bad)
            assert e.value.status == hamdeq.ERR_INVALID


def test_solver_uses_model_defaults():
    with small_model(hamdeq) as m:
        with hamdeq.Solver(m) as s:
            assert (s.operator, s.kind) == (hamdeq.OPERATOR_EVEN_ODD, hamdeq.SOLVER_ANDERSON)
        m.set_defaults("sync", "broyden", 1e-3, 10)
        with hamdeq.Solver(m) as s, hamdeq.Solver(m, kind="picard") as p:
            assert (s.operator, s.kind) == (hamdeq.OPERATOR_SYNC, hamdeq.SOLVER_BROYDEN)
            assert (p.operator, p.kind) == (hamdeq.OPERATOR_SYNC, hamdeq.SOLVER_PICARD)
            assert s.state_dim == 14 and s.model.sizes == m.sizes


def test_stats_and_samples_agree(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "even-odd", "picard", max_iter=6) as s:
        x = rng.random((9, 12))
        s.solve(x)
        st = s.stats()
        it, res, status = s.samples()
        assert st.samples == 9 == len(it)
        assert st.iters_max == it.max() and st.iters_mean == pytest.approx(it.mean())
        assert st.evaluations == it.sum()
        assert st.converged == np.sum(status == hamdeq.SAMPLE_CONVERGED)
        assert st.not_converged == np.sum(status == hamdeq.SAMPLE_MAX_ITER)
        assert st.unstable == np.sum(status == hamdeq.SAMPLE_UNSTABLE) == 0
        assert st.rejected_steps == 0                 # Picard: no accelerated steps
        assert np.all(res[status == hamdeq.SAMPLE_CONVERGED] < 1e-4)
        with pytest.raises(hamdeq.HamDeqError) as e:
            s.samples(batch=5)               # must equal the last solve's batch
        assert e.value.status in (hamdeq.ERR_DIMENSION, hamdeq.ERR_INVALID)


def test_warm_start_and_in_place(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "anderson", tol=1e-6) as s:
        x = rng.random((4, 12))
        fp = s.solve(x)
        cold = s.stats().iters_mean
        s.set_option("warm_start", 1)
        state = fp.copy()
        out = s.solve(x, state=state, out=state)        # in place
        assert out is state
        assert s.stats().iters_mean < cold and s.stats().iters_max <= 2
        np.testing.assert_allclose(state, fp, rtol=1e-5, atol=1e-6)
        # state is copied when out is not given: the caller's array is untouched
        start = np.zeros((4, 14))
        res = s.solve(x, state=start)
        assert not start.any() and np.allclose(res, fp, atol=1e-5)
        one = s.solve(x[0], state=fp[0])
        assert one.shape == (14,)
        with pytest.raises(ValueError):
            s.solve(x, state=np.zeros((3, 14)))
        with pytest.raises(TypeError):
            s.solve(x, state=start, out=start)           # float64 cannot be solved in place


def test_free_input_model_needs_a_batch_or_state():
    patterns = np.eye(3, 5)
    with hamdeq.Model.mhn(patterns, 8.0) as m, hamdeq.Solver(m, "even-odd", "picard") as s:
        out = s.solve(batch=2)
        assert out.shape == (2, 5)
        with pytest.raises(ValueError, match="pass x, state or batch"):
            s.solve()
        with pytest.raises(ValueError, match="free input"):
            s.solve(np.zeros((2, 5)))


def test_iteration_callback_sees_the_iterations(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard", tol=1e-5) as s:
        x = rng.random((5, 12)).astype(np.float32)
        ref = Reference(m)
        seen = []

        def cb(info):
            seen.append((info.iteration, info.active, info.sample, info.iterations.copy()))
            # output is G(s) of state, row by row, as the NumPy F computes it
            np.testing.assert_allclose(info.output, ref.F(info.state, x[info.sample]),
                                       rtol=1e-4, atol=1e-5)
            assert info.residual.shape == (info.active,) and info.dim == 14
            return None

        s.set_callback(cb)
        s.solve(x)
        it, _, _ = s.samples()
        assert [v[0] for v in seen] == list(range(len(seen)))
        assert seen[0][1] == 5 and sorted(seen[0][2]) == [0, 1, 2, 3, 4]
        assert len(seen) == it.max()
        s.set_callback(None)
        seen.clear()
        s.solve(x)
        assert not seen


def test_callback_stops_the_solve(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard", tol=1e-7) as s:
        calls = []
        s.set_callback(lambda info: calls.append(info.iteration) or info.iteration == 2)
        with pytest.raises(hamdeq.HamDeqError) as e:
            s.solve(rng.random((3, 12)))
        assert e.value.status == hamdeq.ERR_CANCELLED and calls == [0, 1, 2]


class Boom(Exception):
    pass


def test_callback_exception_is_reraised(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard") as s:
        kept = []

        def cb(info):
            kept.append(info)
            if info.iteration == 1:
                raise Boom("from the callback")

        s.set_callback(cb)
        with pytest.raises(Boom, match="from the callback") as e:
            s.solve(rng.random((3, 12)))
        notes = getattr(e.value, "__notes__", None)      # Python 3.11+: the C status noted
        assert notes is None or "HAM_ERR_CANCELLED" in notes[0]
        with pytest.raises(RuntimeError, match="only valid during the callback"):
            kept[0].state
        assert kept[0].iteration == 0          # the scalars stay readable
        # the solver is still usable, and nothing is left pending for the next call
        s.set_callback(None)
        assert s.solve(rng.random((3, 12))).shape == (3, 14)


def test_callback_cannot_reenter_its_solver(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard") as s:
        s.set_callback(lambda info: s.get_option("tol"))
        with pytest.raises(RuntimeError, match="in use"):
            s.solve(rng.random((2, 12)))


def test_convergence_test_replaces_the_builtin(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard", tol=1e-4) as s:
        x = rng.random((4, 12))
        infos = []

        def test(info):
            infos.append((info.sample, info.iterations, info.residual, info.tol, info.atol))
            assert info.state.shape == (14,) and info.output.shape == (14,)
            return info.iterations >= 3 + info.sample

        s.set_conv_test(test)
        s.solve(x)
        it, res, status = s.samples()
        np.testing.assert_array_equal(it, [3, 4, 5, 6])
        assert np.all(status == hamdeq.SAMPLE_CONVERGED)
        assert all(t == 1e-4 and a == 0.0 for *_, t, a in infos)
        # the reported residual stays the relative one
        last = {smp: r for smp, _, r, _, _ in infos}
        np.testing.assert_allclose(res, [last[k] for k in range(4)], rtol=1e-6)
        s.set_conv_test(None)                          # the built-in test again
        s.solve(x)
        _, res, status = s.samples()
        assert np.all(res < 1e-4) and np.all(status == hamdeq.SAMPLE_CONVERGED)


def test_convergence_test_aborts(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "anderson") as s:
        s.set_conv_test(lambda info: hamdeq.ERR_NUMERIC if info.iterations == 2 else 0)
        with pytest.raises(hamdeq.HamDeqError) as e:
            s.solve(rng.random((2, 12)))
        assert e.value.status == hamdeq.ERR_NUMERIC and "sample" in e.value.message
        s.set_conv_test(lambda info: -1000)            # not a status: HAM_ERR_CALLBACK
        with pytest.raises(hamdeq.HamDeqError) as e:
            s.solve(rng.random((2, 12)))
        assert e.value.status == hamdeq.ERR_CALLBACK

        def bad(info):
            raise Boom("from the test")

        s.set_conv_test(bad)
        with pytest.raises(Boom):
            s.solve(rng.random((2, 12)))
        with pytest.raises(TypeError):
            s.set_conv_test(42)


def test_solvers_in_threads_share_a_model(rng):
    """Two solvers of one model in two threads (docs/api.md: allowed while nobody
    modifies the model); each thread's results equal a serial solve."""
    with small_model(hamdeq) as m:
        xs = [rng.random((16, 12)) for _ in range(2)]
        with hamdeq.Solver(m, "sync", "anderson", tol=1e-6) as s:
            expected = [s.solve(x) for x in xs]
        results = [None, None]

        def work(k):
            with hamdeq.Solver(m, "sync", "anderson", tol=1e-6) as s:
                for _ in range(20):
                    results[k] = s.solve(xs[k])

        threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for k in range(2):
            np.testing.assert_array_equal(results[k], expected[k])


def test_one_solver_from_two_threads_is_refused(rng):
    with small_model(hamdeq) as m, hamdeq.Solver(m, "sync", "picard") as s:
        entered, release = threading.Event(), threading.Event()
        errors = []

        def slow(info):
            entered.set()
            release.wait(5)

        s.set_callback(slow)
        t = threading.Thread(target=lambda: s.solve(rng.random((1, 12)), ))
        t.start()
        assert entered.wait(5)
        try:
            s.get_option("tol")
        except RuntimeError as e:
            errors.append(e)
        release.set()
        t.join()
        assert errors and "in use" in str(errors[0])
