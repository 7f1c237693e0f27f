#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/README.md).

  python3 tests/fuzz/make_corpus.py [OUT_DIR]      (default: tests/fuzz/corpus)

Deterministic: the same files every run, so the committed corpus is this script's output
(re-run it and commit the result after changing it). Python's standard library only.

- corpus/model: valid model files (docs/model-format.md) of every Lagrangian, both
  clampings, every default operator and solver, 2 to 6 layers; one with a bad CRC.
- corpus/idx: framed inputs for fuzz_idx (fuzz_util.h): images alone and with labels,
  raw and gzip, 1-4 dimensions, the four load-limit selectors.
- corpus/npy: framed inputs for fuzz_npy: format 1.0, 2.0 and 3.0, every accepted dtype
  ('<f4', '|u1', '<u1', 'u1', '|B'; labels '|u1', '<i4', '<i8'), gzip.
"""
import gzip
import os
import random
import struct
import sys
import zlib

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
rng = random.Random(20240611)


def write(kind, name, data):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    # mtime 0: the same bytes every run
    return gzip.compress(data, compresslevel=9, mtime=0)


# ------------------------------------------------------------------ model files

MAGIC = b"\x89HAM\r\n\x1a\n"
SOFTMAX = 4


def model(sizes, clamped, kinds, betas, op, solver, max_iter=50, tol=1e-4, scale=0.5):
    n = len(sizes)
    body = b""
    for l in range(n):
        param = betas[l] if kinds[l] == SOFTMAX else 0.0
        body += struct.pack("<Iid", sizes[l], kinds[l], param)
    for l in range(n - 1):
        w = [rng.uniform(-scale, scale) for _ in range(sizes[l] * sizes[l + 1])]
        body += struct.pack("<%df" % len(w), *w)
    for l in range(n):
        if clamped and l == 0:
            continue
        b = [rng.uniform(-0.1, 0.1) for _ in range(sizes[l])]
        body += struct.pack("<%df" % len(b), *b)
    length = 48 + len(body) + 4
    head = MAGIC + struct.pack("<IIQIiiid", 1, 1 if clamped else 0, length, n, op, solver,
                               max_iter, tol)
    data = head + body
    return data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)


def models():
    k = 0
    shapes = [([1, 1], True), ([4, 3, 2], True), ([3, 2], False), ([5, 4, 3, 2], True),
              ([2, 3, 2, 3, 2], False), ([6, 5, 4, 3, 2, 2], True), ([8, 3], False)]
    for sizes, clamped in shapes:
        for op in (0, 1):
            for solver in (0, 1, 2, 3):
                kinds = [rng.randrange(5) for _ in sizes]
                betas = [rng.choice([0.5, 1.0, 4.0, 20.0]) for _ in sizes]
                data = model(sizes, clamped, kinds, betas, op, solver,
                             max_iter=rng.choice([1, 5, 50]), tol=rng.choice([1e-4, 1e-2]))
                write("model", "m%02d-%s-op%d-s%d" % (k, "x".join(map(str, sizes)), op, solver),
                      data)
                k += 1
    # a Modern Hopfield layout (softmax hidden patterns, identity visible), free input
    write("model", "mhn-4x6", model([4, 6], False, [SOFTMAX, 3], [8.0, 0.0], 1, 1))
    # the smallest model, and one with a damaged checksum
    small = model([1, 1], True, [0, 0], [0, 0], 1, 1)
    write("model", "smallest", small)
    write("model", "bad-crc", small[:-1] + bytes([small[-1] ^ 1]))


# ------------------------------------------------------------------ IDX


def idx(dims, body=None, type_code=0x08):
    n = 1
    for d in dims:
        n *= d
    if body is None:
        body = bytes(rng.randrange(256) for _ in range(n))
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def frame(first, second=None, limit=0):
    flags = (1 if second is not None else 0) | (limit & 3) << 1
    return bytes([flags]) + struct.pack("<H", len(first) if second is not None else 0) + first + (
        second or b"")


def idx_inputs():
    cases = [
        ("img-3d", idx([3, 4, 4]), None),
        ("img-2d", idx([5, 7]), None),
        ("img-4d", idx([2, 2, 3, 2]), None),
        ("img-lab", idx([4, 3, 3]), idx([4], bytes([0, 1, 2, 1]))),
        ("img-lab-9", idx([6, 2, 2]), idx([6], bytes([9, 0, 3, 3, 8, 1]))),
        ("img-lab-mismatch", idx([3, 2, 2]), idx([2], bytes([0, 1]))),
        ("img-int32", idx([2, 2], bytes(16), type_code=0x0C), None),
        ("img-truncated", idx([4, 4, 4])[:-5], None),
    ]
    for name, img, lab in cases:
        for limit in (0, 3):
            write("idx", "%s-raw-l%d" % (name, limit), frame(img, lab, limit))
            write("idx", "%s-gz-l%d" % (name, limit),
                  frame(gz(img), gz(lab) if lab is not None else None, limit))
    write("idx", "mixed-raw-gz", frame(idx([3, 5]), gz(idx([3], bytes([2, 0, 1])))))
    # a body larger than the 64-byte and the 4 KiB limits
    big = idx([40, 8, 8])
    for limit in (1, 2):
        write("idx", "big-gz-l%d" % limit, frame(gz(big), None, limit))
    # a body of 2 MiB in a gzip file of a few KB: the body buffer grows past its first
    # 1 MiB while the data arrives
    write("idx", "grows-gz", frame(gz(idx([2, 1024, 1024], bytes(2 << 20))),
                                  gz(idx([2], bytes([1, 0])))))
    # gzip of a declared huge body (the limit refuses it from the header)
    write("idx", "declares-huge-gz", frame(gz(bytes([0, 0, 8, 3]) + struct.pack(">III", 1000, 1000, 1000) + bytes(512))))


# ------------------------------------------------------------------ .npy


def npy(major, descr, shape, body, fortran=False):
    dict_text = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False",
        ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    pre = 10 if major == 1 else 12
    hl = len(dict_text) + 1
    while (pre + hl) % 64:
        hl += 1
    header = dict_text.encode() + b" " * (hl - len(dict_text) - 1) + b"\n"
    lenfield = struct.pack("<H", hl) if major == 1 else struct.pack("<I", hl)
    return b"\x93NUMPY" + bytes([major, 0]) + lenfield + header + body


def floats(n):
    return struct.pack("<%df" % n, *[rng.uniform(-2, 2) for _ in range(n)])


def npy_inputs():
    k = 0
    for major in (1, 2, 3):
        for descr in ("<f4", "|u1", "<u1", "u1", "|B"):
            shape = rng.choice([(3, 4), (2, 2, 3), (5, 1)])
            n = 1
            for s in shape:
                n *= s
            body = floats(n) if descr == "<f4" else bytes(rng.randrange(256) for _ in range(n))
            samples = npy(major, descr, shape, body)
            lab_descr = rng.choice(["|u1", "<i4", "<i8"])
            labs = [rng.randrange(7) for _ in range(shape[0])]
            lab_body = (bytes(labs) if lab_descr == "|u1" else
                        struct.pack("<%d%s" % (len(labs), "i" if lab_descr == "<i4" else "q"), *labs))
            labels = npy(major, lab_descr, (shape[0],), lab_body)
            write("npy", "v%d-%s-%02d" % (major, descr.strip("<|"), k), frame(samples))
            write("npy", "v%d-%s-lab-%02d" % (major, descr.strip("<|"), k), frame(samples, labels))
            write("npy", "v%d-%s-gz-%02d" % (major, descr.strip("<|"), k),
                  frame(gz(samples), gz(labels), 3))
            k += 1
    write("npy", "fortran", frame(npy(1, "<f4", (2, 3), floats(6), fortran=True)))
    # labels out of range: negative, and 2^31 - 1
    samples = npy(1, "|u1", (2, 3), bytes(6))
    write("npy", "label-negative", frame(samples, npy(1, "<i4", (2,), struct.pack("<2i", 1, -1))))
    write("npy", "label-int32max",
          frame(samples, npy(2, "<i8", (2,), struct.pack("<2q", 0, 2147483647))))
    write("npy", "big-l2", frame(npy(1, "|u1", (64, 80), bytes(5120)), None, 2))


models()
idx_inputs()
npy_inputs()
for kind in ("model", "idx", "npy"):
    print("%s: %d files" % (kind, len(os.listdir(os.path.join(out, kind)))))
