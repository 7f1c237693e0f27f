#!/usr/bin/env bash
# hamdeq train and eval on NumPy .npy files (--train-x/--train-y/--test-x/--test-y): the
# same images as IDX files, as uint8 .npy and as float32 .npy (pixel / 255, rounded as
# the library rounds it) give the same trained model and the same numbers; other shapes
# of the input layer; the usage and runtime errors (a float64 file names the NumPy line
# that converts it). The .npy files are written by Python's standard library: no NumPy
# needed; when NumPy is installed, files written by numpy.save are checked too.
# Usage: check_npy_cli.sh HAMDEQ PYTHON3
set -uo pipefail
hamdeq=$1
python=$2
# shellcheck source=SCRIPTDIR/cli_test_lib.sh
source "$(dirname "$0")/cli_test_lib.sh"

# 64 training and 40 test 28 x 28 images in 10 classes (check_cli.sh's, from
# cli_test_data.py), as an IDX directory and as .npy files of several dtypes.
"$python" - "$tmp" "$(dirname "$0")" <<'PY'
import gzip, os, random, struct, sys
d = sys.argv[1]
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[2])
from cli_test_data import images as draw
rng = random.Random(7)

def npy(path, descr, shape, body):
    """A .npy file, format 1.0: magic, header dict padded to 64 bytes, data."""
    dims = "%d," % shape[0] if len(shape) == 1 else ", ".join("%d" % s for s in shape)
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    head += " " * (63 - (10 + len(head)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + body)

os.makedirs(d + "/idx", exist_ok=True)
for split, n, npy_split in (("train", 64, "train"), ("t10k", 40, "test")):
    labels, px = draw(rng, n)
    with gzip.open("%s/idx/%s-images-idx3-ubyte.gz" % (d, split), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + px)
    with gzip.open("%s/idx/%s-labels-idx1-ubyte.gz" % (d, split), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(labels))
    s = npy_split
    npy("%s/%s_u8.npy" % (d, s), "|u1", (n, 28, 28), px)
    # float32 of pixel / 255: the double quotient rounded to float is the correctly
    # rounded float quotient the library computes for uint8 data
    npy("%s/%s_f32.npy" % (d, s), "<f4", (n, 784), struct.pack("<%df" % len(px), *[p / 255.0 for p in px]))
    npy("%s/%s_f64.npy" % (d, s), "<f8", (n, 784), struct.pack("<%dd" % len(px), *[p / 255.0 for p in px]))
    npy("%s/%s_y_i64.npy" % (d, s), "<i8", (n,), struct.pack("<%dq" % n, *labels))
    npy("%s/%s_y_i32.npy" % (d, s), "<i4", (n,), struct.pack("<%di" % n, *labels))
    npy("%s/%s_y_u8.npy" % (d, s), "|u1", (n,), bytes(labels))
    npy("%s/%s_y_f64.npy" % (d, s), "<f8", (n,), struct.pack("<%dd" % n, *labels))
    npy("%s/%s_y_short.npy" % (d, s), "<i8", (n - 1,), struct.pack("<%dq" % (n - 1), *labels[1:]))
    # 8 x 8 images (the first 64 pixels of each), 4 classes: another input layer
    small = b"".join(px[k * 784:k * 784 + 64] for k in range(n))
    npy("%s/%s_small.npy" % (d, s), "|u1", (n, 64), small)
    npy("%s/%s_y_small.npy" % (d, s), "|u1", (n,), bytes(c % 4 for c in labels))
PY

opts=(--layers 784,16,10 --batch 16 --epochs 1 --threads 1 --eval-batch 16 --quiet --json)
npy_u8=(--train-x "$tmp/train_u8.npy" --train-y "$tmp/train_y_i64.npy"
        --test-x "$tmp/test_u8.npy" --test-y "$tmp/test_y_u8.npy")
npy_f32=(--train-x "$tmp/train_f32.npy" --train-y "$tmp/train_y_i32.npy"
         --test-x "$tmp/test_f32.npy" --test-y "$tmp/test_y_i64.npy")

# ---- the same data three ways: the same numbers (sec_per_epoch aside)
same_as_idx() { # same_as_idx WHAT FILE: FILE's test_acc, iters_mean, not_converged = IDX's
    "$python" - "$tmp/idx.json" "$2" <<'PY' || fail "$1: not the numbers of the IDX run"
import json, sys
a, b = (json.loads(open(p).read()) for p in sys.argv[1:3])
keys = ("test_acc", "iters_mean", "not_converged")
assert [a[k] for k in keys] == [b[k] for k in keys], (a, b)
PY
}
expect 0 "" train --data "$tmp/idx" "${opts[@]}" --save "$tmp/idx.model"
cp "$tmp/out" "$tmp/idx.json"
expect 0 "" train "${npy_u8[@]}" "${opts[@]}" --save "$tmp/npy.model"
cp "$tmp/out" "$tmp/u8.json"
same_as_idx "train on uint8 .npy (N x 28 x 28, int64 and uint8 labels)" "$tmp/u8.json"
cmp -s "$tmp/idx.model" "$tmp/npy.model" || fail "IDX and uint8 .npy training saved different models"
expect 0 "" train "${npy_f32[@]}" "${opts[@]}"
cp "$tmp/out" "$tmp/f32.json"
same_as_idx "train on float32 .npy (N x 784, int32 and int64 labels)" "$tmp/f32.json"

# eval on .npy: the saved model's numbers, as on the IDX test split
expect 0 "" eval --model "$tmp/npy.model" --test-x "$tmp/test_f32.npy" \
    --test-y "$tmp/test_y_i32.npy" --batch 16 --threads 1 --json
cp "$tmp/out" "$tmp/eval.json"
same_as_idx "eval on float32 .npy" "$tmp/eval.json"
expect 0 "" eval --model "$tmp/npy.model" --test-x "$tmp/test_u8.npy" --test-y "$tmp/test_y_u8.npy"
grep -q "test split of $tmp/test_u8.npy: 40 samples" "$tmp/out" ||
    fail "eval table does not name the .npy file: $(head -3 "$tmp/out")"

# any N x D matching the input layer
expect 0 "" train --train-x "$tmp/train_small.npy" --train-y "$tmp/train_y_small.npy" \
    --test-x "$tmp/test_small.npy" --test-y "$tmp/test_y_small.npy" --layers 64,8,4 \
    --batch 16 --epochs 1 --threads 1 --quiet
grep -q "train_small.npy" "$tmp/out" || fail "train output does not name the .npy file"

# ---- usage errors: exit 2
expect 2 "data DIR is required" train --layers 784,16,10
expect 2 "data DIR is required" eval --model "$tmp/npy.model"
expect 2 "contradict" train --data "$tmp/idx" "${npy_u8[@]}"
expect 2 "contradict" eval --model "$tmp/npy.model" --data "$tmp/idx" \
    --test-x "$tmp/test_u8.npy" --test-y "$tmp/test_y_u8.npy"
expect 2 "train-y FILE is required" train --train-x "$tmp/train_u8.npy" \
    --test-x "$tmp/test_u8.npy" --test-y "$tmp/test_y_u8.npy"
expect 2 "test-x FILE is required" eval --model "$tmp/npy.model" --test-y "$tmp/test_y_u8.npy"
expect 2 "required together" train --train-x "$tmp/train_u8.npy" --train-y "$tmp/train_y_i64.npy"
expect 2 "unknown option" eval --model "$tmp/npy.model" --train-x "$tmp/train_u8.npy"
expect 2 "64 values but the model's input layer has 784" train --train-x "$tmp/train_small.npy" --train-y "$tmp/train_y_small.npy" \
    --test-x "$tmp/test_small.npy" --test-y "$tmp/test_y_small.npy"
expect 2 "64 values but the model's input layer has 784" eval --model "$tmp/npy.model" --test-x "$tmp/test_small.npy" \
    --test-y "$tmp/test_y_small.npy"
expect 2 "fewer than --batch" train "${npy_u8[@]}" --layers 784,16,10 --batch 65

# ---- runtime errors: exit 1; float64 is refused with the conversion to use
expect 1 "astype(numpy.float32)" train --train-x "$tmp/train_f64.npy" \
    --train-y "$tmp/train_y_i64.npy" --test-x "$tmp/test_u8.npy" --test-y "$tmp/test_y_u8.npy"
grep -q "'<f8' is not supported" "$tmp/err" || fail "float64 samples: $(cat "$tmp/err")"
expect 1 "astype(numpy.int64)" eval --model "$tmp/npy.model" --test-x "$tmp/test_u8.npy" \
    --test-y "$tmp/test_y_f64.npy"
expect 1 "No such file" eval --model "$tmp/npy.model" --test-x "$tmp/missing.npy" \
    --test-y "$tmp/test_y_u8.npy"
expect 1 "" train --train-x "$tmp/train_u8.npy" --train-y "$tmp/train_y_short.npy" \
    --test-x "$tmp/test_u8.npy" --test-y "$tmp/test_y_u8.npy"
expect 1 "not a .npy file" eval --model "$tmp/npy.model" --test-x "$tmp/idx.model" \
    --test-y "$tmp/test_y_u8.npy"

# ---- files written by numpy.save itself, when NumPy is installed (CI installs it)
if "$python" -c 'import numpy' 2>/dev/null; then
    "$python" - "$tmp" <<'PY' || fail "numpy could not rewrite the files"
import sys
import numpy as np
d = sys.argv[1]
for s in ("train", "test"):
    x = np.load(d + "/%s_u8.npy" % s)
    y = np.load(d + "/%s_y_i64.npy" % s)
    np.save(d + "/np_%s_x.npy" % s, x.astype(np.float32) / np.float32(255))
    np.save(d + "/np_%s_y.npy" % s, y)  # int64, NumPy's default integer
PY
    expect 0 "" train --train-x "$tmp/np_train_x.npy" --train-y "$tmp/np_train_y.npy" \
        --test-x "$tmp/np_test_x.npy" --test-y "$tmp/np_test_y.npy" "${opts[@]}"
    cp "$tmp/out" "$tmp/np.json"
    same_as_idx "train on numpy.save float32 files" "$tmp/np.json"
else
    echo "numpy is not installed: files written by numpy.save not checked"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all .npy CLI checks passed"
