#!/usr/bin/env bash
# The MPI tests of hamdeq-mpi (docs/distributed.md), run by .ci/mpi.sh:
#   tests/mpi/run.sh BUILDDIR [DATA_DIR]
# DATA_DIR: an MNIST-style directory; default ../shared/data/mnist10k next to the
# checkout when it exists, else a generated 10-class set (2000 train, 500 test).
#  1. libhamdeq.so has no MPI symbol and no MPI library among its NEEDED entries;
#  2. equivalence: 20 steps of global batch 64 on 2 and on 3 ranks (uneven shards 21/21/22)
#     give the weights of 1 rank to a max relative difference < 1e-4 (per block,
#     max|a - b| / max|a|), and the same test accuracy within 0.1 point; rank 0 alone
#     prints (one JSON line). SGD with --fixed-iters: an update that is Lipschitz in the
#     gradient and the same iteration counts. Madam and Adam (sign-like at their first
#     steps: g / sqrt(v) = +-1 for any non-zero g) turn the rounding noise of near-zero
#     gradient entries into full-size steps, and a tolerance stop turns it into a whole
#     iteration more or less; their differences are printed, not asserted
#     (docs/distributed.md, "Equivalence");
#  3. one rank through the hook is bit for bit `hamdeq train` (one epoch, one BLAS thread;
#     and two epochs with --shuffle: the same permutation);
#  4. failures end every rank non-zero with the failing rank's message, never a hang: a bad
#     path on all ranks, a bad path on rank 1 alone, weights that differ across ranks,
#     --batch smaller than the ranks.
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${2:-}
mpi=$build/tools/mpi/hamdeq-mpi
ham=$build/tools/hamdeq
diff_tool=$build/tests/mpi/model_diff
lib=$build/lib/libhamdeq.so
for f in "$mpi" "$ham" "$diff_tool" "$lib"; do
    [ -e "$f" ] || { echo "tests/mpi/run.sh: $f missing (configure with -Dmpi=enabled)" >&2; exit 1; }
done
mpirun=(mpirun --allow-run-as-root --oversubscribe)
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

echo "=== 1. no MPI in libhamdeq.so"
if nm -D "$lib" | grep -iE '(^| )(p?mpi_|ompi_|opal_|orte_)' >"$tmp/nm"; then
    fail "MPI symbols in $lib: $(head -3 "$tmp/nm" | tr '\n' ' ')"
else
    pass "nm -D $lib: no MPI symbol"
fi
if readelf -d "$lib" | grep NEEDED | grep -iE 'mpi|open-pal|open-rte'; then
    fail "$lib needs an MPI library"
else
    pass "readelf -d $lib: no MPI library needed"
fi

if [ -z "$data" ]; then
    if [ -d "$root/../shared/data/mnist10k" ]; then
        data=$root/../shared/data/mnist10k
    else
        data=$tmp/data
        python3 - "$data" <<'PY'
import os, random, struct, sys
out = sys.argv[1]
os.makedirs(out)
rng = random.Random(7)
def split(name, n):
    labels = [rng.randrange(10) for _ in range(n)]
    images = bytearray()
    for y in labels:  # class y: a bright 7x7 patch at its own place, plus noise
        img = [rng.randrange(60) for _ in range(784)]
        r0, c0 = 3 + 7 * (y // 4), 3 + 7 * (y % 4)
        for r in range(r0, r0 + 7):
            for c in range(c0, c0 + 7):
                img[r * 28 + c] = 200 + rng.randrange(56)
        images += bytes(img)
    with open(os.path.join(out, name + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images)
    with open(os.path.join(out, name + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(labels))
split("train", 2000)
split("t10k", 500)
PY
    fi
fi
echo "data: $data"

run_np() { # NP ARGS...: hamdeq-mpi on NP ranks, at most 10 minutes
    local np=$1
    shift
    timeout 600 "${mpirun[@]}" -np "$np" "$mpi" "$@"
}
field() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])' "$@"; }

echo "=== 2. equivalence: 20 steps, global batch 64, 1 vs 2 vs 3 ranks"
for np in 1 2 3; do
    run_np "$np" --data "$data" --batch 64 --epochs 1 --steps 20 --optimizer sgd \
        --fixed-iters --quiet --json --save "$tmp/np$np.model" >"$tmp/np$np.json"
    lines=$(wc -l <"$tmp/np$np.json")
    [ "$lines" -eq 1 ] && pass "np $np: one JSON line" || fail "np $np: $lines lines on stdout"
done
for np in 2 3; do
    read -r _ rel _ _ < <("$diff_tool" "$tmp/np1.model" "$tmp/np$np.model")
    acc1=$(field "$tmp/np1.json" test_acc)
    accn=$(field "$tmp/np$np.json" test_acc)
    echo "np $np vs 1: max relative weight difference $rel; test accuracy $accn vs $acc1"
    python3 -c "import sys; sys.exit(0 if float('$rel') < 1e-4 else 1)" &&
        pass "np $np: weights within 1e-4 of one rank" || fail "np $np: weights differ by $rel"
    python3 -c "import sys; sys.exit(0 if abs($accn - $acc1) <= 0.001 + 1e-12 else 1)" &&
        pass "np $np: test accuracy within 0.1 point" || fail "np $np: accuracy $accn vs $acc1"
done

echo "--- for information: the default Madam with a tolerance, 2 ranks vs 1 (not asserted)"
for np in 1 2; do
    run_np "$np" --data "$data" --batch 64 --epochs 1 --steps 20 --quiet --json \
        --save "$tmp/madam$np.model" >"$tmp/madam$np.json"
done
read -r _ rel _ _ < <("$diff_tool" "$tmp/madam1.model" "$tmp/madam2.model")
echo "madam, np 2 vs 1: max relative weight difference $rel; test accuracy" \
    "$(field "$tmp/madam2.json" test_acc) vs $(field "$tmp/madam1.json" test_acc)"

echo "=== 3. one rank through the hook == hamdeq train, bit for bit (one epoch)"
"$ham" train --data "$data" --batch 64 --epochs 1 --quiet --json --save "$tmp/plain.model" \
    >"$tmp/plain.json"
run_np 1 --data "$data" --batch 64 --epochs 1 --quiet --json --save "$tmp/one.model" \
    >"$tmp/one.json"
read -r _ rel _ same < <("$diff_tool" "$tmp/plain.model" "$tmp/one.model")
[ "$same" = 1 ] && pass "np 1: the weights of hamdeq train, bit for bit" ||
    fail "np 1 vs hamdeq train: max relative difference $rel"
[ "$(field "$tmp/plain.json" test_acc)" = "$(field "$tmp/one.json" test_acc)" ] &&
    pass "np 1: the test accuracy of hamdeq train" || fail "np 1: test accuracy differs"

"$ham" train --data "$data" --batch 64 --epochs 2 --shuffle --quiet --json \
    --save "$tmp/plain-shuffle.model" >/dev/null
run_np 1 --data "$data" --batch 64 --epochs 2 --shuffle --quiet --json \
    --save "$tmp/one-shuffle.model" >/dev/null
read -r _ rel _ same < <("$diff_tool" "$tmp/plain-shuffle.model" "$tmp/one-shuffle.model")
[ "$same" = 1 ] && pass "np 1 --shuffle: the weights of hamdeq train --shuffle, bit for bit" ||
    fail "np 1 --shuffle vs hamdeq train --shuffle: max relative difference $rel"

echo "=== 4. failures: every rank non-zero, the failing rank's message, no hang"
expect_fail() { # NAME PATTERN COMMAND...: non-zero (not a timeout), PATTERN on stderr
    local name=$1 pattern=$2 rc=0
    shift 2
    timeout 120 "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "$name: exit 0"
    elif [ "$rc" -eq 124 ]; then
        fail "$name: hung (killed after 120 s)"
    elif ! grep -qE "$pattern" "$tmp/err"; then
        fail "$name: no '$pattern' on stderr: $(head -5 "$tmp/err")"
    else
        pass "$name: exit $rc, $(grep -E "$pattern" "$tmp/err" | head -1)"
    fi
}
expect_fail "bad path, every rank" "error: .*/nonexistent" \
    "${mpirun[@]}" -np 2 "$mpi" --data /nonexistent --epochs 1
expect_fail "bad path on rank 1 alone" "rank 1/2\]: error: .*/nonexistent" \
    "${mpirun[@]}" -np 1 "$mpi" --data "$data" --steps 3 --quiet : \
    -np 1 "$mpi" --data /nonexistent --steps 3 --quiet
expect_fail "weights that differ across ranks" "weights differ across ranks" \
    "${mpirun[@]}" -np 1 "$mpi" --data "$data" --steps 3 --lr 0.01 --quiet : \
    -np 1 "$mpi" --data "$data" --steps 3 --lr 0.02 --quiet
expect_fail "--batch below the ranks" "batch 2 is smaller than the 3 ranks" \
    "${mpirun[@]}" -np 3 "$mpi" --data "$data" --batch 2 --steps 1

if [ "$failures" -ne 0 ]; then
    echo "tests/mpi/run.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "tests/mpi/run.sh: all checks passed"
