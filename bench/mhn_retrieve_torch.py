#!/usr/bin/env python3
"""The mhn_retrieve case of `hamdeq bench --perf` written the obvious way in PyTorch.

A Modern Hopfield network stores the first K train images of an MNIST-style directory
(default: all 60,000 Fashion-MNIST ones) and retrieves the first Q t10k images (default:
all 10,000). As in tools/perf_mhn.c and docs/mhn.md: patterns and queries are centred on
the patterns' mean image (in double) and scaled to unit norm; beta = 2 beta_s with
beta_s = 1 / lambda_max(Cov(X)) (uniform weights, population covariance); each query
starts from itself and iterates

    v <- X softmax(beta X^T v)        (two GEMMs and a softmax, B queries at a time)

until its relative residual ||G(v) - v|| / ||G(v)|| < 1e-4, when G(v) is its result,
or 200 evaluations; converged queries leave the batch (libhamdeq's solver retires them
the same way). A pass over the queries is timed after a warm-up of one batch; passes
repeat until --budget seconds are spent (at least one) and the median is kept.

For each --threads setting (default: 1 and 2) it prints one JSON line; the last line,
"best": true, repeats the faster one. Flops are counted as by hamdeq: 4 K d per query and
evaluation; --sgemm-gflops gives the rate to compare with (default: torch.mm of 2048^3
float32 at the same thread setting, best of 5 after a warm-up).

Usage: /usr/bin/python3 bench/mhn_retrieve_torch.py [--data DIR] [--patterns K]
       [--queries Q] [--batch B] [--threads 1,2] [--budget SEC] [--sgemm-gflops G]
"""
import argparse
import ctypes
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

# As ../shared/bench/torch_peer.py: keep freed temporaries in the heap (glibc mmaps every
# block over 128 KiB and unmaps it again on free, and the page faults dominate otherwise).
try:
    _libc = ctypes.CDLL("libc.so.6")
    _libc.mallopt(-3, 1 << 25)  # M_MMAP_THRESHOLD = 32 MiB (glibc's maximum)
    _libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
except OSError:
    pass

TOL = 1e-4
MAX_ITER = 200
BETA_FACTOR = 2.0


def read_images(directory, split, count):
    """The first `count` (0: all) images of DIR/{split}-images-idx3-ubyte[.gz], / 255."""
    base = os.path.join(directory, "%s-images-idx3-ubyte" % split)
    if os.path.exists(base):
        with open(base, "rb") as f:
            raw = f.read()
    else:
        with gzip.open(base + ".gz", "rb") as f:
            raw = f.read()
    if raw[2] != 8:
        sys.exit("%s: not unsigned-byte IDX data" % base)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    n, d = dims[0], int(np.prod(dims[1:]))
    if count > n:
        sys.exit("%s: %d images, fewer than asked (%d)" % (base, n, count))
    n = count or n
    pix = np.frombuffer(raw, dtype=np.uint8, count=n * d, offset=4 + 4 * ndim)
    return pix.reshape(n, d).astype(np.float32) / np.float32(255.0)


def normalise(pix, mean):
    """Rows centred on `mean` and scaled to unit norm, in double, returned as float32."""
    t = pix.astype(np.float64) - mean
    nrm = np.sqrt((t * t).sum(axis=1, keepdims=True))
    nrm[nrm == 0.0] = np.inf  # a row equal to the mean becomes 0
    return (t / nrm).astype(np.float32)


def beta_s_of(X):
    y = X.astype(np.float64)
    y -= y.mean(axis=0)
    cov = y.T @ y / X.shape[0]
    return 1.0 / float(np.linalg.eigvalsh(cov)[-1])


def retrieve_batch(X, Xt, beta, v):
    """Solves the rows of v (b x d, a fresh tensor); returns (results, evaluations, queries
    stopped at MAX_ITER)."""
    b = v.shape[0]
    out = torch.empty_like(v)
    idx = torch.arange(b)
    evals, iters, not_conv = 0, 0, 0
    while idx.numel() > 0:
        g = torch.softmax(beta * (v @ Xt), dim=1) @ X
        iters += 1
        evals += idx.numel()
        res = torch.linalg.vector_norm(g - v, dim=1) / torch.linalg.vector_norm(g, dim=1)
        done = res < TOL
        if iters >= MAX_ITER:
            not_conv += int((~done).sum())
            done = torch.ones_like(done)
        if bool(done.any()):
            out[idx[done]] = g[done]
            keep = ~done
            idx, v = idx[keep], g[keep]
        else:
            v = g
    return out, evals, not_conv


def retrieve_pass(X, Xt, beta, q, batch):
    evals = not_conv = 0
    t0 = time.perf_counter()
    for first in range(0, q.shape[0], batch):
        _, e, n = retrieve_batch(X, Xt, beta, q[first:first + batch].clone())
        evals += e
        not_conv += n
    return time.perf_counter() - t0, evals, not_conv


def sgemm_rate(n=2048):
    a = torch.rand(n, n)
    b = torch.rand(n, n)
    best = 0.0
    for r in range(6):
        t0 = time.perf_counter()
        torch.mm(a, b)
        dt = time.perf_counter() - t0
        if r > 0:
            best = max(best, 2.0 * n ** 3 / dt / 1e9)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--patterns", type=int, default=0, help="first K train images (0: all)")
    ap.add_argument("--queries", type=int, default=0, help="first Q t10k images (0: all)")
    ap.add_argument("--batch", type=int, default=1024, help="queries per solve (hamdeq's)")
    ap.add_argument("--threads", default="1,2", help="comma list of torch thread counts")
    ap.add_argument("--budget", type=float, default=3.0)
    ap.add_argument("--sgemm-gflops", type=float, default=0.0)
    a = ap.parse_args()

    pix = read_images(a.data, "train", a.patterns)
    qpix = read_images(a.data, "t10k", a.queries)
    mean = pix.astype(np.float64).mean(axis=0)
    Xn = normalise(pix, mean)
    qn = normalise(qpix, mean)
    beta_s = beta_s_of(Xn)
    beta = BETA_FACTOR * beta_s
    X = torch.from_numpy(Xn)
    Xt = X.t().contiguous()
    q = torch.from_numpy(qn)
    K, d = X.shape
    Q = q.shape[0]
    batch = min(a.batch, Q)
    print("mhn_retrieve (PyTorch %s): %d patterns, %d queries, %d values; beta_s %.6g, beta %.6g; "
          "batch %d" % (torch.__version__, K, Q, d, beta_s, beta, batch), file=sys.stderr)
    results = []
    for t in [int(x) for x in a.threads.split(",")]:
        torch.set_num_threads(t)
        rate = a.sgemm_gflops or sgemm_rate()
        with torch.no_grad():
            retrieve_batch(X, Xt, beta, q[:batch].clone())  # warm-up
            passes = []
            spent = 0.0
            while not passes or spent < a.budget:
                passes.append(retrieve_pass(X, Xt, beta, q, batch))
                spent += passes[-1][0]
        sec, evals, not_conv = sorted(passes)[(len(passes) - 1) // 2]
        gflops = 4.0 * K * d * evals / sec / 1e9
        r = {"case": "mhn_retrieve", "peer": "torch", "threads": t, "patterns": K, "queries": Q,
             "dim": d, "beta": beta, "batch": batch, "ms": 1e3 * sec, "gflops": gflops,
             "queries_per_sec": Q / sec, "sgemm_gflops": rate, "sgemm_fraction": gflops / rate,
             "iters_mean": evals / Q, "not_converged": not_conv, "passes": len(passes)}
        results.append(r)
        print(json.dumps(r), flush=True)
    best = dict(min(results, key=lambda r: r["ms"]))
    best["best"] = True
    print(json.dumps(best), flush=True)


if __name__ == "__main__":
    main()
