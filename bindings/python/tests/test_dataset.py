"""Dataset: IDX and .npy files written here, read back through the binding."""

import gzip
import struct

import numpy as np
import pytest

import hamdeq


def write_idx(path, arr, compress=False):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(">%dI" % arr.ndim, *arr.shape)
    data = head + arr.tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


@pytest.fixture
def digits(rng):
    images = rng.integers(0, 256, (20, 4, 3), dtype=np.uint8)
    images[0, 0, 0] = 255
    labels = rng.integers(0, 7, 20, dtype=np.uint8)
    labels[3] = 6
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_idx(tmp_path, digits, compress):
    images, labels = digits
    write_idx(tmp_path / "img", images, compress)
    write_idx(tmp_path / "lab", labels, compress)
    with hamdeq.Dataset.load_idx(tmp_path / "img", tmp_path / "lab") as d:
        assert (len(d), d.count, d.dim, d.has_labels, d.n_classes) == (20, 20, 12, True, 7)
        x, y = d.get()
        assert x.dtype == np.float32 and x.shape == (20, 12) and y.dtype == np.int32
        np.testing.assert_array_equal(x, images.reshape(20, 12) / np.float32(255))
        assert x[0, 0] == 1.0                         # exactly: 255 gives 1.0f
        np.testing.assert_array_equal(y, labels)
        x, y = d.get(5, 3)
        np.testing.assert_array_equal(y, labels[5:8])
        x, y = d.gather([19, 0, 19])
        np.testing.assert_array_equal(y, labels[[19, 0, 19]])
        np.testing.assert_array_equal(x[1], images[0].reshape(-1) / np.float32(255))
        x, y = d.get(0, 2, labels=False)
        assert y is None and x.shape == (2, 12)
        for bad in [(19, 2), (-1, 1), (0, 0)]:
            with pytest.raises((hamdeq.HamDeqError, ValueError)):
                d.get(*bad)
        with pytest.raises(hamdeq.HamDeqError) as e:
            d.gather([0, 20])
        assert e.value.status == hamdeq.ERR_INVALID
        with pytest.raises(TypeError):
            d.gather([0.5])


def test_unlabelled_and_npy(tmp_path, rng):
    x = rng.random((6, 2, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(6, dtype=np.int64) % 4)
    with hamdeq.Dataset.load_npy(tmp_path / "x.npy", tmp_path / "y.npy") as d:
        assert d.dim == 10 and d.n_classes == 4
        xs, ys = d.get()
        np.testing.assert_array_equal(xs, x.reshape(6, 10))   # float32 kept as is
        np.testing.assert_array_equal(ys, np.arange(6) % 4)
    with hamdeq.Dataset.load_npy(tmp_path / "x.npy") as d:
        assert not d.has_labels and d.n_classes == 0
        xs, ys = d.get()
        assert ys is None
        with pytest.raises(hamdeq.HamDeqError) as e:
            d.get(0, 1, labels=True)
        assert e.value.status == hamdeq.ERR_INVALID
    np.save(tmp_path / "bad.npy", x.astype(np.float64))
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Dataset.load_npy(tmp_path / "bad.npy")
    assert e.value.status == hamdeq.ERR_FORMAT and "bad.npy" in e.value.message


def test_load_dir_and_errors(tmp_path, digits):
    images, labels = digits
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with hamdeq.Dataset.load_dir(tmp_path, "t10k") as d:
        assert len(d) == 20 and d.get(3, 1)[1][0] == 6
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Dataset.load_dir(tmp_path, "train")
    assert e.value.status == hamdeq.ERR_IO and "train-images" in e.value.message
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Dataset.load_dir(tmp_path, "t10k", max_bytes=100)   # 240 bytes of pixels
    assert e.value.status == hamdeq.ERR_NOMEM
    with hamdeq.Dataset.load_dir(tmp_path, "t10k", max_bytes=2**64 - 1) as d:
        assert len(d) == 20
    write_idx(tmp_path / "short", labels[:5])
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Dataset.load_idx(tmp_path / "t10k-labels-idx1-ubyte", None)   # 1-D images
    assert e.value.status == hamdeq.ERR_FORMAT
    write_idx(tmp_path / "img", images)
    with pytest.raises(hamdeq.HamDeqError) as e:
        hamdeq.Dataset.load_idx(tmp_path / "img", tmp_path / "short")          # counts differ
    assert e.value.status == hamdeq.ERR_FORMAT
    with pytest.raises(TypeError):
        hamdeq.Dataset()


def test_closed_dataset(tmp_path, digits):
    write_idx(tmp_path / "img", digits[0])
    d = hamdeq.Dataset.load_idx(tmp_path / "img")
    d.close()
    with pytest.raises(ValueError, match="closed Dataset"):
        len(d)
