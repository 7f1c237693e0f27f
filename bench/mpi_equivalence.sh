#!/usr/bin/env bash
# Issue 13's equivalence figures (docs/distributed.md, "Equivalence"): STEPS steps of
# global batch BATCH with hamdeq-mpi on 1, 2 and 3 ranks (one BLAS thread each), and on
# 1 rank with 2 BLAS threads, for every optimiser with fixed forward iterations and with
# the forward tolerance (1e-4, the default; "tol6": 1e-6). For each, the max relative weight difference against
# 1 rank with 1 thread (per block, max|a - b| / max|a|, tests/mpi/model_diff) and the test
# accuracies; in parentheses, how many of the 407,050 parameters (784-512-10) differ at
# all. Prints a markdown table. CI does not run this (tests/mpi/run.sh asserts the
# configurations that docs/distributed.md claims).
#
# Then bench/shard_rows.c on the untrained model: which rows of a shard solve to other
# last bits than in the whole batch.
#
# Usage: bench/mpi_equivalence.sh [BUILDDIR]   (configured with -Dmpi=enabled; a
#   relative BUILDDIR, from the source root)
# Environment: DATA (default ../shared/data/mnist10k), STEPS (20), BATCH (64),
#   OPTIMIZERS ("sgd adam madam"), MODES ("fixed tol": any of fixed, tol, tol6)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${DATA:-../shared/data/mnist10k}
steps=${STEPS:-20}
batch=${BATCH:-64}
mpi=$build/tools/mpi/hamdeq-mpi
diff_tool=$build/tests/mpi/model_diff
for f in "$mpi" "$diff_tool"; do
    [ -x "$f" ] || { echo "bench/mpi_equivalence.sh: $f missing (-Dmpi=enabled, tests=true)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpirun=(mpirun --allow-run-as-root --oversubscribe)
acc() { python3 -c 'import json,sys; print("%.2f%%" % (100 * json.load(open(sys.argv[1]))["test_acc"]))' "$1"; }

echo "| optimiser | forward | 2 ranks | 3 ranks | 1 rank, 2 BLAS threads | test accuracy: 1 / 2 / 3 ranks / 2 threads |"
echo "|---|---|---:|---:|---:|---|"
for opt in ${OPTIMIZERS:-sgd adam madam}; do
    for mode in ${MODES:-fixed tol}; do
        args=(--data "$data" --batch "$batch" --epochs 1 --steps "$steps" --optimizer "$opt"
              --quiet --json)
        case $mode in
        fixed) args+=(--fixed-iters) ; fwd="fixed 40 iterations" ;;
        tol) fwd="tolerance 1e-4" ;;
        tol6) args+=(--tol 1e-6) ; fwd="tolerance 1e-6" ;;
        esac
        for np in 1 2 3; do
            OPENBLAS_NUM_THREADS=1 "${mpirun[@]}" -x OPENBLAS_NUM_THREADS -np "$np" "$mpi" \
                "${args[@]}" --save "$tmp/np$np.model" >"$tmp/np$np.json"
        done
        OPENBLAS_NUM_THREADS=2 "${mpirun[@]}" -x OPENBLAS_NUM_THREADS -np 1 "$mpi" \
            "${args[@]}" --threads 2 --save "$tmp/t2.model" >"$tmp/t2.json"
        row="| $opt | $fwd |"
        for m in np2 np3 t2; do
            read -r _ rel _ _ _ ndiff _ < <("$diff_tool" "$tmp/np1.model" "$tmp/$m.model")
            row+=" $(printf '%.1e' "$rel") ($ndiff) |"
        done
        row+=" $(acc "$tmp/np1.json") / $(acc "$tmp/np2.json") / $(acc "$tmp/np3.json") / $(acc "$tmp/t2.json") |"
        echo "$row"
    done
done

# Where a per-sample difference comes from: one sample's solve, alone or in a batch.
ham=$build/tools/hamdeq
${CC:-cc} -O2 -o "$tmp/shard_rows" bench/shard_rows.c -Iinclude -Iinclude/hamdeq \
    -I"$build/include/hamdeq" -L"$build/lib" -Wl,-rpath,"$PWD/$build/lib" -lhamdeq -lm
OPENBLAS_NUM_THREADS=1 "$ham" train --data "$data" --epochs 0 --save "$tmp/init.model" \
    --quiet --json >/dev/null
echo
for fixed in 1 0; do
    echo '```text'
    OPENBLAS_NUM_THREADS=1 "$tmp/shard_rows" "$tmp/init.model" "$data" "$fixed"
    echo '```'
done
