"""A NumPy reimplementation of the HAM of docs/math.md (sections 1-3), in float64, read
from a model only through its weights, biases and Lagrangians."""

import numpy as np


def softplus(z):
    return np.logaddexp(0.0, z)


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def activation(kind, beta, s):
    """g = grad L(s), row-wise (docs/math.md section 3)."""
    name = int(kind)
    if name == 0:   # shifted-sigmoid
        return sigmoid(4.0 * (s - 0.5))
    if name == 1:   # sigmoid
        return sigmoid(s)
    if name == 2:   # tanh
        return np.tanh(s)
    if name == 3:   # identity
        return s.copy()
    if name == 4:   # softmax
        z = beta * s
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError("no reference for Lagrangian kind %r" % kind)


def lagrangian(kind, beta, s):
    """L(s) per row."""
    name = int(kind)
    if name == 0:
        return 0.25 * softplus(4.0 * (s - 0.5)).sum(-1)
    if name == 1:
        return softplus(s).sum(-1)
    if name == 2:
        return (np.abs(s) + np.log1p(np.exp(-2.0 * np.abs(s))) - np.log(2.0)).sum(-1)
    if name == 3:
        return 0.5 * (s * s).sum(-1)
    if name == 4:
        z = beta * s
        m = z.max(axis=-1, keepdims=True)
        return (m[..., 0] + np.log(np.exp(z - m).sum(-1))) / beta
    raise ValueError(kind)


class Reference:
    """The model's parameters as float64 arrays."""

    def __init__(self, model):
        self.sizes = model.sizes
        self.L = len(self.sizes)
        self.clamped = model.clamped_input
        self.W = [model.get_weights(b).astype(np.float64) for b in range(self.L - 1)]
        first = 1 if self.clamped else 0
        self.free = list(range(first, self.L))
        self.b = {l: model.get_bias(l).astype(np.float64) for l in self.free}
        self.lag = [model.get_lagrangian(l) for l in range(self.L)]

    def g(self, l, s):
        kind, beta = self.lag[l]
        return activation(kind, beta, s)

    def split(self, full):
        """Full state (batch, sum of free sizes) -> {layer: (batch, N_l)}."""
        out, off = {}, 0
        for l in self.free:
            out[l] = full[:, off:off + self.sizes[l]]
            off += self.sizes[l]
        return out

    def join(self, layers):
        return np.concatenate([layers[l] for l in self.free], axis=1)

    def activations(self, layers, x):
        g = {l: self.g(l, s) for l, s in layers.items()}
        if self.clamped:
            g[0] = self.g(0, np.asarray(x, np.float64))
        return g

    def F(self, full, x=None):
        """The synchronous operator F_l(s) = W_{l-1}' g_{l-1} + W_l g_{l+1} + b_l."""
        layers = self.split(np.asarray(full, np.float64))
        g = self.activations(layers, x)
        out = {}
        for l in self.free:
            acc = np.broadcast_to(self.b[l], layers[l].shape).copy()
            if l - 1 >= 0:
                acc += g[l - 1] @ self.W[l - 1]
            if l + 1 < self.L:
                acc += g[l + 1] @ self.W[l].T
            out[l] = acc
        return self.join(out)

    def energy(self, full, x=None):
        """E(s; x) = sum_free [s.g - L(s) - b.g] - sum_l g_l' W_l g_{l+1}."""
        layers = self.split(np.asarray(full, np.float64))
        g = self.activations(layers, x)
        e = np.zeros(next(iter(layers.values())).shape[0])
        for l in self.free:
            kind, beta = self.lag[l]
            s = layers[l]
            e += (s * g[l]).sum(-1) - lagrangian(kind, beta, s) - g[l] @ self.b[l]
        for l in range(self.L - 1):
            e -= ((g[l] @ self.W[l]) * g[l + 1]).sum(-1)
        return e

    def picard(self, x, tol=1e-12, max_iter=100000):
        """The fixed point of F by plain synchronous iteration from zero, in float64."""
        batch = x.shape[0] if x is not None else 1
        s = np.zeros((batch, sum(self.sizes[l] for l in self.free)))
        for _ in range(max_iter):
            fs = self.F(s, x)
            if np.max(np.linalg.norm(fs - s, axis=1) / np.maximum(np.linalg.norm(fs, axis=1),
                                                                   1e-300)) < tol:
                return fs
            s = fs
        raise AssertionError("the NumPy Picard iteration did not converge")
