#!/usr/bin/env bash
# The MPI tests of hamdeq-mpi (docs/distributed.md), run by .ci/mpi.sh:
#   tests/mpi/run.sh BUILDDIR [DATA_DIR]
# DATA_DIR: an MNIST-style directory; default ../shared/data/mnist10k next to the
# checkout when it exists, else a generated 10-class set (2000 train, 500 test).
#  1. libhamdeq.so has no MPI symbol and no MPI library among its NEEDED entries;
#  2. equivalence: 20 steps of global batch 64 on 2 and on 3 ranks (uneven shards 21/21/22)
#     give the weights of 1 rank to a max relative difference < 1e-4 (per block,
#     max|a - b| / max|a|), and the same test accuracy within 0.1 point; rank 0 alone
#     prints (one JSON line). The configurations docs/distributed.md ("Equivalence")
#     claims: SGD with --fixed-iters or --tol 1e-6 (an update that is Lipschitz in the
#     gradient, and forward states that agree far below 1e-4 whatever their iteration
#     counts). Madam (the default) and Adam are sign-like at their first
#     steps (g / sqrt(v) = +-1 for any non-zero g), so the rounding noise of near-zero
#     gradient entries becomes full-size steps, and a tolerance stop turns a last-bit
#     difference into a whole iteration more or less; their differences are printed,
#     not asserted (bench/mpi_equivalence.sh measures them all);
#  3. one rank through the hook is bit for bit `hamdeq train` (one epoch, one BLAS thread;
#     and two epochs with --shuffle: the same permutation);
#  4. empty shards: --batch 2 on 3 ranks (rank 0 holds no sample of any step) equals one
#     rank with --batch 2; a set of 130 training samples (a last batch of 2, dropped) and
#     2 test samples (rank 0 evaluates none) on 3 ranks equals one rank;
#  5. failures end every rank non-zero with the failing rank's message, never a hang (each
#     under a timeout): at start-up (a bad path on every rank or on rank 1 alone) and
#     mid-run: a shard that cannot be read, a bad label, NaN inputs, weights that differ,
#     an out-of-memory checksum or evaluation on one rank (HAMDEQ_MPI_TEST_FAIL, a
#     test-only setting of hamdeq-mpi), and a --save that rank 0 cannot write after
#     training (a directory). These run with mpirun's abort-on-failure off
#     (orte_abort_on_non_zero_status 0) and each rank's exit status recorded by a wrapper,
#     so they show that every rank stops by itself. A rank that dies without a word
#     (exit:R:S) is the one case left to mpirun, which must end the others.
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

gen_data() { # DIR N_TRAIN N_TEST: a generated 10-class MNIST-style set
    python3 - "$@" <<'PY'
import os, random, struct, sys
out, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
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
    for suffix, shape, data in (("x", (n, 784), images), ("y", (n,), bytes(labels))):
        header = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % (shape,)
        header += " " * (63 - (10 + len(header)) % 64) + "\n"  # .npy 1.0, 64-byte aligned
        with open(os.path.join(out, "%s_%s.npy" % (name, suffix)), "wb") as f:
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
            f.write(data)
split("train", n_train)
split("t10k", n_test)
PY
}
if [ -z "$data" ]; then
    if [ -d "$root/../shared/data/mnist10k" ]; then
        data=$root/../shared/data/mnist10k
    else
        data=$tmp/data
        gen_data "$data" 2000 500
    fi
fi
tiny=$tmp/tiny
gen_data "$tiny" 130 2
echo "data: $data"

run_np() { # NP ARGS...: hamdeq-mpi on NP ranks, at most 10 minutes
    local np=$1
    shift
    timeout 600 "${mpirun[@]}" -np "$np" "$mpi" "$@"
}
field() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])' "$@"; }

equivalent() { # NAME NPS ARGS...: 1 rank vs each of NPS (e.g. "2 3") ranks, same ARGS
    local name=$1 nps=$2 np rel acc1 accn
    shift 2
    for np in 1 $nps; do
        run_np "$np" "$@" --quiet --json --save "$tmp/eq$np.model" >"$tmp/eq$np.json"
        lines=$(wc -l <"$tmp/eq$np.json")
        [ "$lines" -eq 1 ] && pass "$name, np $np: one JSON line" ||
            fail "$name, np $np: $lines lines on stdout"
    done
    for np in $nps; do
        read -r _ rel _ _ _ < <("$diff_tool" "$tmp/eq1.model" "$tmp/eq$np.model")
        acc1=$(field "$tmp/eq1.json" test_acc)
        accn=$(field "$tmp/eq$np.json" test_acc)
        echo "$name, np $np vs 1: max relative weight difference $rel; test accuracy $accn vs $acc1"
        python3 -c "import sys; sys.exit(0 if float('$rel') < 1e-4 else 1)" &&
            pass "$name, np $np: weights within 1e-4 of one rank" ||
            fail "$name, np $np: weights differ by $rel"
        python3 -c "import sys; sys.exit(0 if abs($accn - $acc1) <= 0.001 + 1e-12 else 1)" &&
            pass "$name, np $np: test accuracy within 0.1 point" ||
            fail "$name, np $np: accuracy $accn vs $acc1"
    done
}

echo "=== 2. equivalence: 20 steps, global batch 64, 1 vs 2 vs 3 ranks"
equivalent "sgd, fixed iterations" "2 3" --data "$data" --batch 64 --epochs 1 --steps 20 \
    --optimizer sgd --fixed-iters
equivalent "sgd, tolerance 1e-6" "2 3" --data "$data" --batch 64 --epochs 1 --steps 20 \
    --optimizer sgd --tol 1e-6

echo "--- for information: the default Madam with a tolerance, 2 ranks vs 1 (not asserted)"
for np in 1 2; do
    run_np "$np" --data "$data" --batch 64 --epochs 1 --steps 20 --quiet --json \
        --save "$tmp/madam$np.model" >"$tmp/madam$np.json"
done
read -r _ rel _ _ _ < <("$diff_tool" "$tmp/madam1.model" "$tmp/madam2.model")
echo "madam, np 2 vs 1: max relative weight difference $rel; test accuracy" \
    "$(field "$tmp/madam2.json" test_acc) vs $(field "$tmp/madam1.json" test_acc)"

echo "=== 3. one rank through the hook == hamdeq train, bit for bit (one epoch)"
"$ham" train --data "$data" --batch 64 --epochs 1 --quiet --json --save "$tmp/plain.model" \
    >"$tmp/plain.json"
run_np 1 --data "$data" --batch 64 --epochs 1 --quiet --json --save "$tmp/one.model" \
    >"$tmp/one.json"
read -r _ rel _ same _ < <("$diff_tool" "$tmp/plain.model" "$tmp/one.model")
[ "$same" = 1 ] && pass "np 1: the weights of hamdeq train, bit for bit" ||
    fail "np 1 vs hamdeq train: max relative difference $rel"
[ "$(field "$tmp/plain.json" test_acc)" = "$(field "$tmp/one.json" test_acc)" ] &&
    pass "np 1: the test accuracy of hamdeq train" || fail "np 1: test accuracy differs"

"$ham" train --data "$data" --batch 64 --epochs 2 --shuffle --quiet --json \
    --save "$tmp/plain-shuffle.model" >/dev/null
run_np 1 --data "$data" --batch 64 --epochs 2 --shuffle --quiet --json \
    --save "$tmp/one-shuffle.model" >/dev/null
read -r _ rel _ same _ < <("$diff_tool" "$tmp/plain-shuffle.model" "$tmp/one-shuffle.model")
[ "$same" = 1 ] && pass "np 1 --shuffle: the weights of hamdeq train --shuffle, bit for bit" ||
    fail "np 1 --shuffle vs hamdeq train --shuffle: max relative difference $rel"

echo "=== 4. empty shards"
equivalent "--batch 2 on 3 ranks" "3" --data "$data" --batch 2 --epochs 1 --steps 20 \
    --optimizer sgd --fixed-iters
equivalent "130 samples (last batch of 2), 2 test samples" "2 3" --data "$tiny" \
    --batch 64 --epochs 2 --optimizer sgd --fixed-iters
equivalent "130 samples, --batch 4 (last batch of 2) on 3 ranks" "3" --data "$tiny" \
    --batch 4 --epochs 1 --optimizer sgd --fixed-iters
equivalent "the same from .npy files (--train-x ...)" "3" --train-x "$tiny/train_x.npy" \
    --train-y "$tiny/train_y.npy" --test-x "$tiny/t10k_x.npy" --test-y "$tiny/t10k_y.npy" \
    --batch 4 --epochs 1 --optimizer sgd --fixed-iters

echo "=== 5. failures: every rank non-zero, the failing rank's message, no hang"
# Each rank's own exit status, whatever mpirun does with it.
cat >"$tmp/rank.sh" <<'SH'
#!/bin/sh
"$@"
rc=$?
echo "tests/mpi/rank.sh: rank ${OMPI_COMM_WORLD_RANK:-?} exit $rc" >&2
exit $rc
SH
chmod +x "$tmp/rank.sh"
check_run() { # NAME PATTERN RC ERRFILE: not a timeout, PATTERN on stderr
    local name=$1 pattern=$2 rc=$3
    if [ "$rc" -eq 124 ]; then
        fail "$name: hung (killed after 120 s)"
        return 1
    elif ! grep -qE "$pattern" "$tmp/err"; then
        fail "$name: no '$pattern' on stderr: $(head -5 "$tmp/err")"
        return 1
    fi
}
# NAME NP PATTERN [VAR=VALUE...] -- MPIRUN-ARGS...: every one of the NP ranks exits
# non-zero by itself (mpirun's abort-on-failure off), PATTERN on stderr, within 120 s.
expect_fail() {
    local name=$1 np=$2 pattern=$3 rc=0 r bad=""
    shift 3
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" timeout 120 "${mpirun[@]}" --mca orte_abort_on_non_zero_status 0 \
        -x HAMDEQ_MPI_TEST_FAIL "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    check_run "$name" "$pattern" "$rc" || return 0
    for r in $(seq 0 $((np - 1))); do
        grep -qE "rank $r exit [1-9]" "$tmp/err" || bad+=" $r"
    done
    if [ -n "$bad" ]; then
        fail "$name: rank(s)$bad did not exit non-zero: $(grep 'rank.sh' "$tmp/err" | tr '\n' ' ')"
    else
        pass "$name: all $np ranks exit non-zero; $(grep -E "$pattern" "$tmp/err" | head -1)"
    fi
}
w=("$tmp/rank.sh" "$mpi")
none=HAMDEQ_MPI_TEST_FAIL=
expect_fail "bad path, every rank" 2 "error: .*/nonexistent" $none -- \
    -np 2 "${w[@]}" --data /nonexistent --epochs 1
expect_fail "bad path on rank 1 alone" 2 "rank 1/2\]: error: .*/nonexistent" $none -- \
    -np 1 "${w[@]}" --data "$data" --steps 3 --quiet : \
    -np 1 "${w[@]}" --data /nonexistent --steps 3 --quiet
expect_fail "weights that differ across ranks" 2 "weights differ across ranks" $none -- \
    -np 1 "${w[@]}" --data "$data" --steps 3 --lr 0.01 --quiet : \
    -np 1 "${w[@]}" --data "$data" --steps 3 --lr 0.02 --quiet
mid=(--data "$tiny" --batch 16 --epochs 2 --quiet)
expect_fail "rank 1 cannot read its shard at step 3" 2 \
    "rank 1/2\]: error: reading training batch 2: ham_dataset_get" \
    HAMDEQ_MPI_TEST_FAIL=read:1:3 -- -np 2 "${w[@]}" "${mid[@]}"
expect_fail "a bad label on rank 2 at step 11 (epoch 2)" 3 \
    "rank 2/3\]: error: epoch 2, step 3: label 1000 of sample 0 is outside" \
    HAMDEQ_MPI_TEST_FAIL=label:2:11 -- -np 3 "${w[@]}" "${mid[@]}"
expect_fail "NaN inputs on rank 0 at step 5" 3 "rank 0/3\]: error: epoch 1, step 5: .*NaN" \
    HAMDEQ_MPI_TEST_FAIL=nan:0:5 -- -np 3 "${w[@]}" "${mid[@]}"
expect_fail "out of memory for the checksum on rank 1 after epoch 1" 2 \
    "rank 1/2\]: error: cannot read the weights for their checksum" \
    HAMDEQ_MPI_TEST_FAIL=checksum:1:1 -- -np 2 "${w[@]}" "${mid[@]}"
expect_fail "out of memory for the test evaluation on rank 2" 3 \
    "rank 2/3\]: error: out of memory for the test evaluation" \
    HAMDEQ_MPI_TEST_FAIL=eval:2 -- -np 3 "${w[@]}" "${mid[@]}"
mkdir "$tmp/a-directory"
expect_fail "rank 0 cannot write --save after training" 2 \
    "rank 0/2\]: error: --save .*a-directory" $none -- \
    -np 2 "${w[@]}" "${mid[@]}" --save "$tmp/a-directory"
expect_fail "a bad test-only setting" 2 "HAMDEQ_MPI_TEST_FAIL=bogus" \
    HAMDEQ_MPI_TEST_FAIL=bogus -- -np 2 "${w[@]}" "${mid[@]}"
for np in 2 3; do # a rank that vanishes: mpirun (abort-on-failure on) ends the others
    rc=0
    HAMDEQ_MPI_TEST_FAIL=exit:1:3 timeout 120 "${mpirun[@]}" -x HAMDEQ_MPI_TEST_FAIL \
        -np "$np" "$mpi" "${mid[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if check_run "rank 1 of $np dies at step 3" "rank 1/$np\]: error: step 3: exiting" "$rc"; then
        [ "$rc" -ne 0 ] && pass "rank 1 of $np dies at step 3: mpirun exits $rc" ||
            fail "rank 1 of $np dies at step 3: mpirun exits 0"
    fi
done

if [ "$failures" -ne 0 ]; then
    echo "tests/mpi/run.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "tests/mpi/run.sh: all checks passed"
