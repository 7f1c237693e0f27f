#!/usr/bin/env python3
"""retrieve: solve a batch of a 784-512-10 HAM with the even-odd operator and Anderson
acceleration, and print what each sample took (examples/retrieve.c through the Python
binding: same model, same inputs, same output).

    HAMDEQ_LIBRARY=build/lib/libhamdeq.so.0 PYTHONPATH=bindings/python \
        python3 bindings/python/examples/retrieve.py
"""

import sys

import numpy as np

import hamdeq

BATCH = 8


def inputs(batch, n):
    """The C example's "pixels" in [0, 1): rng = rng * 1664525 + 1013904223 (mod 2^32)."""
    out = np.empty(batch * n, np.float32)
    rng = 12345
    for i in range(out.size):
        rng = (rng * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = np.float32(rng >> 8) / np.float32(16777216.0)
    return out.reshape(batch, n)


def main():
    # The paper's model: shifted sigmoid everywhere (the default), Xavier weights.
    with hamdeq.Model([784, 512, 10]) as model:
        model.init_xavier(1)
        x = inputs(BATCH, 784)
        with hamdeq.Solver(model, hamdeq.OPERATOR_EVEN_ODD, hamdeq.SOLVER_ANDERSON,
                           tol=1e-4) as solver:
            # the even-odd state holds only the output layer: 10 floats per sample
            state = solver.solve(x)
            iters, resid, status = solver.samples()
            stats = solver.stats()
    names = {hamdeq.SAMPLE_CONVERGED: "converged", hamdeq.SAMPLE_MAX_ITER: "max-iter",
             hamdeq.SAMPLE_DIVERGED: "diverged"}
    print("libhamdeq %s: 784-512-10, even-odd + Anderson, tol 1e-4" % hamdeq.version_string())
    print("sample  iterations  residual   status     argmax")
    for k in range(BATCH):
        print("%6d  %10d  %.2e  %-9s  %6d"
              % (k, iters[k], resid[k], names[status[k]], int(np.argmax(state[k]))))
    print("mean %.2f iterations, %d of %d converged" % (stats.iters_mean, stats.converged,
                                                        stats.samples))
    return 0 if stats.converged == stats.samples else 1


if __name__ == "__main__":
    sys.exit(main())
