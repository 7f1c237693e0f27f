"""Trainer: options, gradients, steps, the borrowed solver, and 1 epoch of MNIST."""

import gc
import os
import subprocess
import time

import numpy as np
import pytest

import hamdeq
from conftest import small_model

DOC_DEFAULTS = {  # docs/api.md, "Training"
    "LOSS": 0, "OPTIMIZER": 2, "LR": 0.01, "MOMENTUM": 0.9, "ADAM_BETA1": 0.9,
    "ADAM_BETA2": 0.999, "ADAM_EPS": 1e-8, "MADAM_SCALE": 1024, "MADAM_GBOUND": 10,
    "MADAM_BIASES": 0, "GRADIENT": 0, "BACKWARD_SOLVER": -1, "BACKWARD_ITERS": 8,
    "BACKWARD_TOL": 0, "THREADS": 1,
}


def test_option_defaults_match_the_docs():
    assert set(DOC_DEFAULTS) == {o.name for o in hamdeq.TrainOption}
    with small_model(hamdeq) as m, hamdeq.Trainer(m) as t:
        for o in hamdeq.TrainOption:
            assert hamdeq.Trainer.option_info(o).default == pytest.approx(DOC_DEFAULTS[o.name])
            assert t.get_option(o) == pytest.approx(DOC_DEFAULTS[o.name])
        t.configure(loss=hamdeq.LOSS_CROSS_ENTROPY, optimizer="adam", lr=0.5)
        assert t.get_option("loss") == hamdeq.LOSS_CROSS_ENTROPY
        assert t.get_option(hamdeq.TRAIN_OPTIMIZER) == hamdeq.OPTIMIZER_ADAM
        with pytest.raises(hamdeq.HamDeqError) as e:
            t.set_option("lr", 11)
        assert e.value.status == hamdeq.ERR_INVALID
        with pytest.raises(hamdeq.HamDeqError) as e:
            hamdeq.Trainer.option_info(77)
        assert e.value.status == hamdeq.ERR_UNKNOWN_OPTION


def test_trainer_needs_a_clamped_input():
    with hamdeq.Model([4, 3], clamped_input=False) as m:
        with pytest.raises(hamdeq.HamDeqError) as e:
            hamdeq.Trainer(m, "even-odd", "anderson")
        assert e.value.status == hamdeq.ERR_UNSUPPORTED


def loss_of(trainer, x, y):
    return trainer.gradient(x, y).loss


def test_gradient_matches_finite_differences(rng):
    """The implicit gradient through the fixed point, against central differences of the
    loss with the forward and adjoint solves run tight."""
    with small_model(hamdeq, (8, 6, 4), seed=5) as m, \
            hamdeq.Trainer(m, "sync", "anderson", backward_tol=1e-7, backward_iters=500) as t:
        t.solver.configure(tol=1e-7, max_iter=1000)
        x = rng.random((5, 8))
        y = rng.integers(0, 4, 5)
        before = m.to_bytes()
        r = t.gradient(x, y)
        assert m.to_bytes() == before             # gradient() does not change the model
        assert 0 <= r.correct <= 5 and r.loss > 0
        gw = t.weight_grad(1)
        gb = t.bias_grad(2)
        assert gw.shape == (6, 4) and gb.shape == (4,)
        bs = t.backward_stats()
        assert bs.samples == 5 and bs.converged == 5
        w = m.get_weights(1).astype(np.float64)
        h = 1e-2
        for (i, j) in [(0, 0), (2, 3), (5, 1)]:
            wp, wm = w.copy(), w.copy()
            wp[i, j] += h
            wm[i, j] -= h
            m.set_weights(1, wp)
            lp = loss_of(t, x, y)
            m.set_weights(1, wm)
            lm = loss_of(t, x, y)
            m.set_weights(1, w)
            assert gw[i, j] == pytest.approx((lp - lm) / (2 * h), rel=0.05, abs=2e-4)
        b = m.get_bias(2).astype(np.float64)
        for j in range(4):
            bp, bm = b.copy(), b.copy()
            bp[j] += h
            bm[j] -= h
            m.set_bias(2, bp)
            lp = loss_of(t, x, y)
            m.set_bias(2, bm)
            lm = loss_of(t, x, y)
            m.set_bias(2, b)
            assert gb[j] == pytest.approx((lp - lm) / (2 * h), rel=0.05, abs=2e-4)


def test_steps_reduce_the_loss(rng):
    with small_model(hamdeq, (8, 16, 3), seed=2, biases=False) as m, \
            hamdeq.Trainer(m, "even-odd", "anderson", optimizer="adam", lr=0.05) as t:
        x = rng.random((24, 8))
        y = (x[:, 0] > x[:, 1]).astype(np.int64) + (x[:, 2] > 0.8)
        first = t.step(x, y)
        for _ in range(30):
            last = t.step(x, y)
        assert last.loss < 0.5 * first.loss and last.correct > first.correct
        with pytest.raises(ValueError, match="expected 24 values"):
            t.step(x, y[:-1])
        with pytest.raises(TypeError):
            t.step(x, y.astype(np.float64))
        with pytest.raises(hamdeq.HamDeqError) as e:
            t.step(x, np.full(24, 3))                 # label out of range
        assert e.value.status == hamdeq.ERR_INVALID


def test_borrowed_solver_keeps_its_trainer_alive(rng):
    m = small_model(hamdeq)
    t = hamdeq.Trainer(m, "even-odd", "picard")
    s = t.solver
    assert s.borrowed and t.solver is s
    assert (s.kind, s.operator) == (hamdeq.SOLVER_PICARD, hamdeq.OPERATOR_EVEN_ODD)
    del t, m
    gc.collect()
    s.set_option("max_iter", 33)                  # the trainer is still alive behind it
    assert s.get_option("max_iter") == 33
    assert s.solve(rng.random((2, 12))).shape == (2, 5)
    trainer = s._owner
    s.close()                                     # only this wrapper: the trainer frees it
    assert trainer.solver.get_option("max_iter") == 33
    iters = []
    trainer.solver.set_callback(lambda info: iters.append(info.iteration))
    gc.collect()                                  # the callback survives its wrapper
    trainer.step(rng.random((4, 12)), [0, 1, 2, 3])
    assert iters
    s2 = trainer.solver
    trainer.close()
    assert s2.closed
    with pytest.raises(ValueError, match="closed Solver"):
        s2.get_option("tol")


def test_trainer_step_callback_exception(rng):
    with small_model(hamdeq) as m, hamdeq.Trainer(m) as t:
        def cb(info):
            raise KeyError("stop training")
        t.solver.set_callback(cb)
        with pytest.raises(KeyError):
            t.step(rng.random((2, 12)), [1, 2])


def grad_len(m):
    sizes = m.sizes
    return (sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
            + sum(sizes[1:]))                    # small_model: a bias on every free layer


def test_identity_reduction_is_bit_for_bit_no_reduction(rng):
    """A reduction that leaves its arguments unchanged (one process) takes the same steps
    as no reduction, bit for bit; it sees the documented calls and counts."""
    x = rng.random((7, 12))
    y = rng.integers(0, 5, 7)
    calls = []

    def identity(grad, counts):
        assert counts.dtype == np.float64 and counts.shape == (4,)
        calls.append(None if grad is None else (grad.dtype, grad.shape))
        calls.append(counts.copy())

    with small_model(hamdeq) as a, small_model(hamdeq) as b, \
            hamdeq.Trainer(a, optimizer="adam") as ta, hamdeq.Trainer(b, optimizer="adam") as tb:
        assert a.to_bytes() == b.to_bytes()
        tb.set_reduce(identity)
        for _ in range(3):
            ra, rb = ta.step(x, y), tb.step(x, y)
            assert ra == rb
        assert a.to_bytes() == b.to_bytes()
        assert len(calls) == 12
        assert calls[0] is None and calls[2] == (np.float32, (grad_len(b),))
        first, second = calls[9], calls[11]          # the last step's
        assert list(first) == [0, 0, 7, 0]
        assert second[1] == rb.correct and second[2] == 7 and second[3] == 0
        assert second[0] / 7 == pytest.approx(rb.loss)
        ga, gb = ta.gradient(x, y), tb.gradient(x, y)
        assert ga == gb and len(calls) == 16
        for blk in range(a.n_layers - 1):
            assert np.array_equal(ta.weight_grad(blk), tb.weight_grad(blk))
        tb.set_reduce(None)                          # removed: no more calls
        ta.step(x, y), tb.step(x, y)
        assert len(calls) == 16 and a.to_bytes() == b.to_bytes()


def test_two_identical_processes_give_the_mean(rng):
    """Doubling everything stands for two processes on the same batch: the global mean
    gradient and loss are the local ones, the correct count doubles."""
    x = rng.random((5, 12))
    y = rng.integers(0, 5, 5)

    def double(grad, counts):
        if grad is not None:
            grad *= 2
        counts *= 2

    with small_model(hamdeq) as a, small_model(hamdeq) as b, \
            hamdeq.Trainer(a) as ta, hamdeq.Trainer(b) as tb:
        tb.set_reduce(double)
        ra, rb = ta.gradient(x, y), tb.gradient(x, y)
        assert rb.loss == pytest.approx(ra.loss, rel=1e-6) and rb.correct == 2 * ra.correct
        for blk in range(a.n_layers - 1):
            np.testing.assert_allclose(tb.weight_grad(blk), ta.weight_grad(blk), rtol=1e-5,
                                       atol=1e-7)


def test_failing_reduction_fails_the_step(rng):
    x = rng.random((3, 12))
    y = [0, 1, 2]
    with small_model(hamdeq) as m, hamdeq.Trainer(m) as t:
        before = m.to_bytes()
        for when in (0, 1):                          # the first call, then the second
            n = []

            def fail(grad, counts):
                n.append(1)
                return 1 if len(n) > when else 0
            t.set_reduce(fail)
            with pytest.raises(hamdeq.HamDeqError) as e:
                t.step(x, y)
            assert e.value.status == hamdeq.ERR_CALLBACK and len(n) == when + 1
            assert m.to_bytes() == before            # no update
            with pytest.raises(hamdeq.HamDeqError):
                t.weight_grad(0)                     # no gradient after a failed call

        def boom(grad, counts):
            if grad is not None:
                raise ZeroDivisionError("reduction failed")
        t.set_reduce(boom)
        with pytest.raises(ZeroDivisionError):
            t.step(x, y)
        assert m.to_bytes() == before
        with pytest.raises(TypeError):
            t.set_reduce(42)
        t.set_reduce(None)
        t.step(x, y)
        assert m.to_bytes() != before


def evaluate(model, data, tol=1e-4, max_iter=40, batch=500):
    correct = 0
    with hamdeq.Solver(model, "even-odd", "anderson", tol=tol, max_iter=max_iter) as s:
        off = model.state_offset("even-odd", model.n_layers - 1)
        for first in range(0, len(data), batch):
            x, y = data.get(first, min(batch, len(data) - first))
            out = s.solve(x)[:, off:off + model.sizes[-1]]
            correct += int(np.sum(out.argmax(1) == y))
    return correct / len(data)


def test_one_epoch_of_mnist(mnist_dir, builddir, tmp_path):
    """1 epoch over the whole train split (8,000 digits of mnist10k: no subset needed,
    about a second), the paper's settings (784-512-10, even-odd + Anderson, tol 1e-4, 40
    forward / 8 backward iterations, MSE, Madam, batch 64, fixed order); then save,
    reload, evaluate on the test split. With one BLAS thread, the model must be
    bit-for-bit the one the C tool `hamdeq train` produces with the same settings."""
    t0 = time.monotonic()
    with hamdeq.Dataset.load_dir(mnist_dir, "train") as train, \
            hamdeq.Dataset.load_dir(mnist_dir, "t10k") as test, \
            hamdeq.Model([784, 512, 10]) as model:
        assert train.dim == 784 and train.n_classes == 10
        model.init_xavier(1)
        with hamdeq.Trainer(model, "even-odd", "anderson", backward_iters=8) as trainer:
            trainer.solver.configure(tol=1e-4, max_iter=40)
            B = 64
            correct = 0
            for b in range(len(train) // B):
                x, y = train.get(b * B, B)
                correct += trainer.step(x, y).correct
        train_acc = correct / (len(train) // B * B)
        model.set_defaults("even-odd", "anderson", 1e-4, 40)
        path = tmp_path / "mnist.ham"
        model.save(path)
        with hamdeq.Model.load(path) as loaded:
            acc = evaluate(loaded, test)
        assert train_acc > 0.4 and acc > 0.7, (train_acc, acc)
        tool = builddir / "tools" / "hamdeq"
        if tool.exists() and os.environ.get("OPENBLAS_NUM_THREADS") == "1":
            ref = tmp_path / "tool.ham"
            # --threads 1: the library's default here, whose sums the tool's must match
            subprocess.run([str(tool), "train", "--data", str(mnist_dir), "--epochs", "1",
                            "--threads", "1", "--quiet", "--save", str(ref)], check=True,
                           capture_output=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
            with hamdeq.Model.load(ref) as c:
                for blk in range(2):
                    np.testing.assert_array_equal(model.get_weights(blk), c.get_weights(blk))
    assert time.monotonic() - t0 < 30
