#!/usr/bin/env bash
# Checks of the hamdeq tool's contract: exit codes (0 ok, 1 runtime, 2 usage), one
# error line on stderr, nothing on stdout on failure, exact JSON keys, and no crash on
# malformed IDX files. Usage: check_cli.sh HAMDEQ PYTHON3
set -uo pipefail
hamdeq=$1
python=$2
# shellcheck source=SCRIPTDIR/cli_test_lib.sh
source "$(dirname "$0")/cli_test_lib.sh"

small=(solve --layers "4,3,2" --batch 2 --solvers picard)

# ---- help and version
expect 0 "" --version
grep -q "^hamdeq [0-9]" "$tmp/out" || fail "--version output: $(cat "$tmp/out")"
expect 0 "" --help
grep -q "solve" "$tmp/out" || fail "--help does not list solve"
expect 0 "" solve --help
grep -q -- "--layers" "$tmp/out" || fail "solve --help does not list --layers"
expect 0 "" help solve

# ---- usage errors: exit 2
"$hamdeq" >"$tmp/out" 2>"$tmp/err"
rc=$?
{ [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q "^Usage" "$tmp/err"; } ||
    fail "hamdeq without a command: exit $rc, expected 2 and usage on stderr"
expect 2 "unknown command" bogus
expect 2 "unknown option" --bogus
expect 2 "unknown option" solve --bogus
expect 2 "needs a value" solve --layers
expect 2 "needs 2 to" solve --layers 784
expect 2 "not a comma-separated" solve --layers 784,,10
expect 2 "not an integer" solve --layers 784,abc,10
expect 2 "not an integer" solve --layers 784,-5,10
expect 2 "not an integer" solve --layers 784,0,10
expect 2 "not an integer" solve --layers 99999999999,10
expect 2 "unknown Lagrangian" solve --lagrangian foo
expect 2 "one name for every layer" solve --lagrangian sigmoid,tanh
expect 2 "finite number" solve --beta nan
expect 2 "beta" solve --layers 4,3,2 --lagrangian softmax --beta -1
expect 2 "batch" solve --batch 0
expect 2 "integer" solve --batch 1e3
expect 2 "tol" solve --tol 0
expect 2 "tol" solve --tol 2
expect 2 "max-iter" solve --max-iter 0
expect 2 "unknown name" solve --operators sync,foo
expect 2 "unknown name" solve --solvers picard,foo
expect 2 "non-negative" solve --seed -1
expect 2 "unexpected argument" solve positional
expect 2 "takes no value" solve --json=1
expect 2 "model" solve --layers 100000,100000,10 --batch 1

# ---- runtime errors: exit 1, one line, for missing or malformed files
expect 1 "No such file" "${small[@]}" --input "$tmp/missing.idx"
expect 1 "not a regular file" "${small[@]}" --input "$tmp"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abcdefgh' >"$tmp/ok.idx"
gzip -c "$tmp/ok.idx" >"$tmp/ok.idx.gz"
head -c 20 "$tmp/ok.idx.gz" >"$tmp/truncated.idx.gz"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abcde' >"$tmp/truncated.idx"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abcdefghX' >"$tmp/trailing.idx"
printf 'P5\n28 28\n255\n' >"$tmp/magic.idx"
printf '\x00\x00\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff' >"$tmp/absurd.idx"
printf '\x00\x00\x08\x03\x7f\xff\xff\xff\x00\x00\x10\x00\x00\x00\x10\x00' >"$tmp/huge.idx"
printf '\x00\x00\x08\x01\x00\x00\x00\x02ab' >"$tmp/labels.idx"
printf '\x00\x00\x0d\x03\x00\x00\x00\x02' >"$tmp/float.idx"
printf '\x00\x00\x08\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02' >"$tmp/zero.idx"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00' >"$tmp/header.idx"
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbagegarbage' >"$tmp/corrupt.gz"
: >"$tmp/empty.idx"
expect 1 "truncated" "${small[@]}" --input "$tmp/truncated.idx"
expect 1 "truncated" "${small[@]}" --input "$tmp/truncated.idx.gz"
expect 1 "trailing" "${small[@]}" --input "$tmp/trailing.idx"
expect 1 "not an IDX file" "${small[@]}" --input "$tmp/magic.idx"
expect 1 "absurd IDX dimensions" "${small[@]}" --input "$tmp/absurd.idx"
expect 1 "absurd IDX dimensions" "${small[@]}" --input "$tmp/huge.idx"
expect 1 "labels" "${small[@]}" --input "$tmp/labels.idx"
expect 1 "unsigned bytes" "${small[@]}" --input "$tmp/float.idx"
expect 1 "is 0" "${small[@]}" --input "$tmp/zero.idx"
expect 1 "truncated" "${small[@]}" --input "$tmp/header.idx"
expect 1 "corrupt gzip" "${small[@]}" --input "$tmp/corrupt.gz"
expect 1 "truncated" "${small[@]}" --input "$tmp/empty.idx"
# a well-formed file that does not fit the flags is a usage error
expect 2 "pixels" solve --batch 2 --input "$tmp/ok.idx"
expect 2 "fewer than --batch" solve --layers 4,3,2 --batch 3 --input "$tmp/ok.idx"

# ---- success: raw and gzipped IDX give the same numbers; JSON has the exact keys
expect 0 "" "${small[@]}" --input "$tmp/ok.idx" --json
cut -d, -f1-5 "$tmp/out" >"$tmp/raw.json"
expect 0 "" "${small[@]}" --input "$tmp/ok.idx.gz" --json
cut -d, -f1-5 "$tmp/out" >"$tmp/gz.json"
cmp -s "$tmp/raw.json" "$tmp/gz.json" || fail "raw and gzipped IDX inputs differ"

expect 0 "" solve --layers 16,12,8,4 --batch 8 --json
"$python" - "$tmp/out" <<'PY' || fail "JSON lines do not have the exact keys"
import json, sys
keys = ["operator", "solver", "samples", "iters_mean", "not_converged", "ms"]
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 8, "expected 8 lines (2 operators x 4 solvers), got %d" % len(lines)
seen = set()
for line in lines:
    obj = json.loads(line)
    assert list(obj) == keys, obj
    assert obj["operator"] in ("sync", "even-odd") and obj["solver"] in ("picard", "anderson", "broyden", "newton")
    assert isinstance(obj["samples"], int) and obj["samples"] == 8
    assert isinstance(obj["iters_mean"], float) and isinstance(obj["ms"], float)
    assert isinstance(obj["not_converged"], int) and 0 <= obj["not_converged"] <= 8
    seen.add((obj["operator"], obj["solver"]))
assert len(seen) == 8
PY

expect 0 "" solve --layers 16,12,8 --batch 4 --lagrangian shifted-sigmoid,tanh,softmax --beta 2 \
    --operators even-odd --solvers anderson,newton --threads 1 --repeat 2
grep -q "even-odd  newton" "$tmp/out" || fail "table lacks the even-odd newton row: $(cat "$tmp/out")"

# ---- train / eval / bench on a tiny synthetic IDX dataset (64 train, 40 test samples)
data="$tmp/data"
mkdir -p "$data" "$tmp/empty"
"$python" - "$data" "$(dirname "$0")" <<'PY'
import gzip, random, struct, sys
d = sys.argv[1]
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[2])
from cli_test_data import images as draw
rng = random.Random(7)
def write(split, n, gz):
    labels, px = draw(rng, n)
    images = struct.pack(">IIII", 0x803, n, 28, 28) + px
    lab = struct.pack(">II", 0x801, n) + bytes(labels)
    op = (lambda p: gzip.open(p + ".gz", "wb")) if gz else (lambda p: open(p, "wb"))
    with op("%s/%s-images-idx3-ubyte" % (d, split)) as f:
        f.write(images)
    with op("%s/%s-labels-idx1-ubyte" % (d, split)) as f:
        f.write(lab)
write("train", 64, True)
write("t10k", 40, False)
PY
tiny=(--data "$data" --layers 784,16,10 --batch 16 --epochs 1 --threads 1 --eval-batch 16)

expect 0 "" train --help
grep -q -- "--variant" "$tmp/out" || fail "train --help does not list --variant"
expect 0 "" eval --help
expect 0 "" bench --help

expect 0 "" train "${tiny[@]}" --save "$tmp/m.model" --json
cp "$tmp/out" "$tmp/train.json"
expect 0 "" eval --model "$tmp/m.model" --data "$data" --batch 16 --threads 1 --json --plot "$tmp/eval.svg"
cp "$tmp/out" "$tmp/eval.json"
"$python" - "$tmp/train.json" "$tmp/eval.json" "$tmp/eval.svg" <<'PY' || fail "train/eval JSON or plot"
import json, sys
import xml.etree.ElementTree as ET
t = open(sys.argv[1]).read().splitlines()
e = open(sys.argv[2]).read().splitlines()
assert len(t) == 1 and len(e) == 1, (t, e)
t, e = json.loads(t[0]), json.loads(e[0])
assert list(t) == ["variant", "epochs", "test_acc", "iters_mean", "not_converged", "sec_per_epoch"], t
assert t["variant"] == "ham-eo-deq" and t["epochs"] == 1, t
assert type(t["test_acc"]) is float and 0.0 <= t["test_acc"] <= 1.0, t
assert type(t["iters_mean"]) is float and t["iters_mean"] >= 1.0, t
assert type(t["not_converged"]) is int and type(t["sec_per_epoch"]) is float, t
assert list(e) == ["test_acc", "iters_mean", "not_converged"], e
# the saved model, evaluated with its saved defaults, gives the numbers train printed
assert (e["test_acc"], e["iters_mean"], e["not_converged"]) == \
       (t["test_acc"], t["iters_mean"], t["not_converged"]), (t, e)
root = ET.parse(sys.argv[3]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
assert root.findall(".//{http://www.w3.org/2000/svg}polyline"), "no curve"
PY
ls "$tmp"/*.tmp* >/dev/null 2>&1 && fail "a temporary file was left behind"

expect 0 "" train "${tiny[@]}" --variant ham --fixed-iters --iters-fwd 12 --compare --quiet
for v in "ham \*" ham-deq ham-eo ham-eo-deq ham-eo-newton "authors' count"; do
    grep -q "^$v" "$tmp/out" || grep -q "$v" "$tmp/out" || fail "train --compare lacks '$v': $(cat "$tmp/out")"
done
expect 0 "" train "${tiny[@]}" --operator sync --solver broyden --shuffle --loss ce \
    --optimizer adam --lr 0.001 --json --quiet
grep -q '"variant": "sync+broyden"' "$tmp/out" || fail "explicit operator/solver: $(cat "$tmp/out")"

expect 0 "" bench "${tiny[@]}" --variants ham,ham-eo-newton --json --quiet
"$python" - "$tmp/out" <<'PY' || fail "bench JSON lines"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
keys = ["variant", "epochs", "test_acc", "iters_mean", "not_converged", "sec_per_epoch"]
objs = [json.loads(l) for l in lines]
assert [list(o) for o in objs] == [keys, keys], objs
assert [o["variant"] for o in objs] == ["ham", "ham-eo-newton"], objs
PY
expect 0 "" bench --data "$data" --layers 784,16,10 --epochs 0 --plot "$tmp/bench.svg"
grep -q "^HAM-EO-DEQ " "$tmp/out" || fail "bench table lacks HAM-EO-DEQ: $(cat "$tmp/out")"
"$python" -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); assert len(r.findall(".//{http://www.w3.org/2000/svg}polyline")) == 5' \
    "$tmp/bench.svg" || fail "bench --plot: not an SVG with 5 curves"
expect 0 "" bench --data "$data" --layers 784,16,10 --epochs 0 --variants ham --markdown
grep -q "^| HAM | sync + picard |" "$tmp/out" || fail "bench --markdown: $(cat "$tmp/out")"

# bench --perf (the performance suite, docs/performance.md): one JSON line per model,
# case, variant and mode with exactly the documented keys; the machine's measurements on
# stderr; the table; usage errors
expect 0 "" bench --perf --data "$data" --layers-list 784,16,10:784,8,6,10 \
    --variants ham,ham-eo-deq --perf-cases fwd_b1,train_epoch --reps 2 --epoch-reps 1 \
    --budget 0 --json
"$python" - "$tmp/out" <<'PY' || fail "bench --perf JSON lines: $(cat "$tmp/out")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
keys = ["case", "variant", "layers", "fixed_iters", "ms", "gflops"]
assert len(objs) == 2 * 2 * 2 * 2, objs  # models x cases x variants x modes
for o in objs:
    assert list(o) == keys, o
    assert o["case"] in ("fwd_b1", "train_epoch") and o["variant"] in ("ham", "ham-eo-deq"), o
    assert type(o["fixed_iters"]) is bool, o
    assert type(o["ms"]) is float and o["ms"] > 0 and type(o["gflops"]) is float, o
assert {o["layers"] for o in objs} == {"784,16,10", "784,8,6,10"}, objs
assert {o["fixed_iters"] for o in objs} == {True, False}, objs
PY
grep -q "sgemm" "$tmp/err" || fail "bench --perf --json: no sgemm rate on stderr"
expect 0 "" bench --perf --data "$data" --layers-list 784,16,10 --variants ham \
    --perf-cases fwd_b1 --modes early --reps 1
grep -q "fwd_b1 .* ham .* early" "$tmp/out" || fail "bench --perf table: $(cat "$tmp/out")"
expect 2 "perf-cases" bench --perf --data "$data" --perf-cases fwd_b2
expect 2 "modes" bench --perf --data "$data" --modes sometimes
expect 2 "layers-list" bench --perf --data "$data" --layers-list 784,16,10:
expect 2 "fewer than 64" bench --perf --data "$data" --perf-cases fwd_b64
expect 2 "784 values" bench --perf --data "$data" --layers-list 100,16,10

# train / eval / bench errors
printf 'not a model' >"$tmp/garbage.model"
head -c 100 "$tmp/m.model" >"$tmp/truncated.model"
mkdir -p "$tmp/bad"
cp "$data"/train-* "$tmp/bad/"
printf '\x00\x00\x08\x01\x00\x00\x00\x05abcde' >"$tmp/bad/t10k-labels-idx1-ubyte"
cp "$data/t10k-images-idx3-ubyte" "$tmp/bad/"
expect 2 "data DIR is required" train --layers 784,16,10
expect 1 "No such file" train --data "$tmp/missing"
expect 1 "not a directory" train --data "$tmp/ok.idx"
expect 1 "train" train --data "$tmp/empty"
expect 1 "" train --data "$tmp/bad" --layers 784,16,10
expect 2 "unknown variant" train "${tiny[@]}" --variant foo
expect 2 "unknown operator" train "${tiny[@]}" --operator foo
expect 2 "unknown solver" train "${tiny[@]}" --solver foo
expect 2 "unknown value" train "${tiny[@]}" --loss foo
expect 2 "unknown value" train "${tiny[@]}" --optimizer foo
expect 2 "unknown value" train "${tiny[@]}" --backward newton
expect 2 "contradict" train "${tiny[@]}" --tol 1e-3 --fixed-iters
expect 2 "tol" train "${tiny[@]}" --tol 1
expect 2 "lr" train "${tiny[@]}" --lr -1
expect 2 "epochs" train "${tiny[@]}" --epochs -1
expect 2 "784 values" train --data "$data" --layers 100,16,10
expect 2 "output layer" train --data "$data" --layers 784,16,5
expect 2 "fewer than --batch" train --data "$data" --layers 784,16,10 --batch 65
expect 1 "cannot write" train "${tiny[@]}" --save "$tmp/missing/m.model"
expect 2 "model FILE is required" eval --data "$data"
expect 2 "data DIR is required" eval --model "$tmp/m.model"
expect 1 "" eval --model "$tmp/missing.model" --data "$data"
expect 1 "" eval --model "$tmp/garbage.model" --data "$data"
expect 1 "" eval --model "$tmp/truncated.model" --data "$data"
expect 1 "No such file" eval --model "$tmp/m.model" --data "$tmp/missing"
expect 2 "unknown variant" eval --model "$tmp/m.model" --data "$data" --variant foo
expect 1 "cannot write" eval --model "$tmp/m.model" --data "$data" --json --plot "$tmp/missing/p.svg"
expect 2 "unknown variant" bench --data "$data" --variants ham,foo
expect 2 "contradict" bench --data "$data" --json --markdown
expect 2 "784 values" bench --data "$data" --layers 100,16,10 --epochs 0

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
