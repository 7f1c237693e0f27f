#!/usr/bin/env python3
"""train: train a 784-512-10 HAM for one epoch on an MNIST-style directory, save it,
reload it and evaluate it on the directory's test split; print the accuracy.

    HAMDEQ_LIBRARY=build/lib/libhamdeq.so.0 PYTHONPATH=bindings/python \
        python3 bindings/python/examples/train.py ../shared/data/mnist10k [--epochs N]

The paper's settings (docs/math.md section 5): shifted sigmoid, Xavier weights (seed 1),
even-odd operator + Anderson, tolerance 1e-4 and at most 40 forward iterations, 8
adjoint iterations, MSE loss, Madam, batch 64 in the files' order.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

import hamdeq

BATCH = 64


def evaluate(model, data, batch=500):
    """Test accuracy and mean iterations with the model's recorded solver defaults."""
    d = model.get_defaults()
    out_layer = model.n_layers - 1
    correct = 0
    iters = 0.0
    with hamdeq.Solver(model, d.op, d.solver, tol=d.tol, max_iter=d.max_iter) as solver:
        off = model.state_offset(d.op, out_layer)
        for first in range(0, len(data), batch):
            x, y = data.get(first, min(batch, len(data) - first))
            s = solver.solve(x)[:, off:off + model.layer_size(out_layer)]
            correct += int(np.sum(s.argmax(axis=1) == y))
            iters += solver.samples().iterations.sum()
    return correct / len(data), iters / len(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--save", help="model file to write (default: a temporary file)")
    args = ap.parse_args(argv)

    with hamdeq.Dataset.load_dir(args.data, "train") as train, \
            hamdeq.Dataset.load_dir(args.data, "t10k") as test, \
            hamdeq.Model([train.dim, 512, train.n_classes]) as model:
        model.init_xavier(1)
        model.set_defaults("even-odd", "anderson", 1e-4, 40)
        t0 = time.monotonic()
        with hamdeq.Trainer(model, "even-odd", "anderson", backward_iters=8) as trainer:
            trainer.solver.configure(tol=1e-4, max_iter=40)
            steps = len(train) // BATCH          # the last partial batch is dropped
            for epoch in range(args.epochs):
                loss = 0.0
                correct = 0
                for b in range(steps):
                    x, y = train.get(b * BATCH, BATCH)
                    r = trainer.step(x, y)
                    loss += r.loss
                    correct += r.correct
                print("epoch %d: %d steps of %d, loss %.5f, train accuracy %.2f%%"
                      % (epoch + 1, steps, BATCH, loss / steps, 100.0 * correct / (steps * BATCH)))
        print("trained in %.1f s" % (time.monotonic() - t0))

        with tempfile.TemporaryDirectory() as tmp:
            path = args.save or os.path.join(tmp, "model.ham")
            model.save(path)
            size = os.path.getsize(path)
            with hamdeq.Model.load(path) as loaded:
                same = all(np.array_equal(model.get_weights(k), loaded.get_weights(k))
                           for k in range(model.n_layers - 1))
                print("saved %s (%d bytes) and reloaded it: %s" % (
                    "to " + path if args.save else "a model file", size,
                    "identical weights" if same else "WEIGHTS DIFFER"))
                acc, iters = evaluate(loaded, test)
        print("test accuracy %.2f%% on %d samples (%.2f iterations per sample)"
              % (100.0 * acc, len(test), iters))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
