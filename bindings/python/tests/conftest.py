"""Test setup: the package from this checkout, the library from a build directory.

Environment (ci.sh sets all of them):
  HAMDEQ_LIBRARY    libhamdeq.so.0 to test (default: BUILD/lib/libhamdeq.so.0 of
                    HAMDEQ_BUILDDIR, else the repository's build/)
  HAMDEQ_BUILDDIR   the meson build directory (its include/hamdeq/version.h and
                    tools/hamdeq are used when present)
  HAMDEQ_DATA       an MNIST-style directory (default: ../shared/data/mnist10k next to
                    the repository); tests that need it are skipped without it
  HAMDEQ_TRACE_CALLS=1  record which C functions the binding calls (test_zz_calls.py)
"""

import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
PKG_ROOT = HERE.parent                 # bindings/python
REPO = PKG_ROOT.parent.parent          # the repository root

# One BLAS thread: results are then bit-for-bit reproducible (the trainer's promise), and
# the test machines are shared. Must be set before libopenblas is loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

BUILDDIR = pathlib.Path(os.environ.get("HAMDEQ_BUILDDIR", REPO / "build")).resolve()
if not os.environ.get("HAMDEQ_LIBRARY"):
    candidate = BUILDDIR / "lib" / "libhamdeq.so.0"
    if candidate.exists():
        os.environ["HAMDEQ_LIBRARY"] = str(candidate)

sys.path.insert(0, str(PKG_ROOT))

import pytest  # noqa: E402


def data_dir():
    d = pathlib.Path(os.environ.get("HAMDEQ_DATA", REPO.parent / "shared" / "data" / "mnist10k"))
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if all((d / n).exists() or (d / (n + ".gz")).exists() for n in names):
        return d
    return None


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def builddir():
    return BUILDDIR


@pytest.fixture(scope="session")
def mnist_dir():
    d = data_dir()
    if d is None:
        pytest.skip("no MNIST-style data (set HAMDEQ_DATA or provide ../shared/data/mnist10k)")
    return d


@pytest.fixture
def rng():
    import numpy as np
    return np.random.default_rng(12345)


def small_model(hamdeq, sizes=(12, 9, 5), seed=3, biases=True, lagrangians=None):
    """A small clamped model with Xavier weights, random biases and optional Lagrangians."""
    import numpy as np
    m = hamdeq.Model(sizes)
    m.init_xavier(seed)
    r = np.random.default_rng(seed)
    if biases:
        for layer in range(1, len(sizes)):
            m.set_bias(layer, r.normal(0, 0.3, sizes[layer]))
    for layer, (kind, beta) in (lagrangians or {}).items():
        m.set_lagrangian(layer, kind, beta)
    return m
